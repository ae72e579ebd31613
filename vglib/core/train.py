"""The course's one training loop: readable, seeded, and open to hooks.

Every experiment that trains a network goes through :func:`train`. What differs between
chapters -- clipping the gradient, watching it with a monitor, scaling the loss, timing the
step, stopping at the first non-finite loss -- is a hook that the loop calls at each step,
not another loop. The loop itself is the one taught in the first chapter::

    for each step:
        take a batch
        zero the gradients
        loss = loss_fn(model(X_batch), y_batch)
        loss.backward()
        hooks: before_update(step)     # clip, inspect, decide to skip
        optimizer.step()               # unless a hook said skip
        hooks: after_update(step)      # monitor, time, decide to stop
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, SubsetRandomSampler, TensorDataset

from vglib._env import book_mode
from vglib._validate import check_choice, check_int, check_real
from vglib.core.measure import check_batch, loss_fn
from vglib.core.models import MLP
from vglib.core.threads import one_thread

#: Optimizer names understood by :func:`make_optimizer`.
OPTIMIZERS = ("sgd", "momentum", "adam")


def make_optimizer(
    params: Iterable[nn.Parameter], optimizer: str, lr: float, *, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """``sgd``, ``momentum`` (SGD with momentum 0.9) or ``adam``, all torch's own.

    Parameters
    ----------
    params
        The parameters to optimize.
    optimizer
        One of :data:`OPTIMIZERS`.
    lr
        Learning rate, > 0.
    weight_decay
        L2 penalty coefficient handed to the optimizer, >= 0.
    """
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_real("lr", lr, minimum=0.0, strict_minimum=True)
    check_real("weight_decay", weight_decay, minimum=0.0)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    momentum = 0.9 if optimizer == "momentum" else 0.0
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def shuffled_batches(
    X: torch.Tensor, y: torch.Tensor, batch_size: int, *, seed: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless mini-batches: the data set is shuffled once per epoch and cut into batches.

    A ``torch.utils.data.DataLoader`` over the data, with a seeded sampler: the same
    ``seed`` gives the same batches, and the global random state is left untouched. The last
    incomplete batch of an epoch is dropped.

    Parameters
    ----------
    X, y
        The data set, one row per example.
    batch_size
        Examples per batch, at most ``len(X)``.
    seed
        Seed of the batch order.
    """
    n = len(X)
    check_int("batch_size", batch_size, minimum=1, maximum=n)
    dataset = TensorDataset(X, y)
    # one permutation of range(n) per epoch, drawn from the seeded generator (RandomSampler
    # would draw a second, unused permutation per epoch, a stream we do not want to depend on)
    sampler = SubsetRandomSampler(range(n), generator=torch.Generator().manual_seed(seed))
    loader = DataLoader(
        dataset,
        # whole batches of indices at once: one indexing per batch, not one per example
        sampler=BatchSampler(sampler, batch_size, drop_last=True),
        batch_size=None,
        # the loader draws a seed for its workers at every epoch; it gets its own generator,
        # so that draw touches neither the sampler's order nor the global random state
        generator=torch.Generator(),
    )
    return itertools.chain.from_iterable(itertools.repeat(loader))


def batches_with_replacement(
    X: torch.Tensor, y: torch.Tensor, batch_size: int, *, seed: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless mini-batches of ``batch_size`` examples drawn with replacement.

    Each batch draws its indices with ``torch.randint`` from a generator seeded with
    ``seed``, so the same seed gives the same batches and the global random state is left
    alone.

    Parameters
    ----------
    X, y
        The data set, one row per example.
    batch_size
        Examples per batch, >= 1.
    seed
        Seed of the draws.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    gen = torch.Generator().manual_seed(seed)

    def draw() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            idx = torch.randint(0, X.shape[0], (batch_size,), generator=gen)
            yield X[idx], y[idx]

    return draw()


@dataclass
class Step:
    """What the hooks of :func:`train` see at one step.

    Attributes
    ----------
    number
        The step, from 1.
    model, optimizer
        The model being trained and its optimizer.
    X, y
        The step's batch.
    loss
        The batch loss, a detached scalar tensor (before the update).
    started
        ``time.perf_counter()`` when the step began (before the batch was drawn).
    skip_update
        A ``before_update`` hook sets it to skip the optimizer step.
    stop
        A hook sets it to end training after this step.
    info
        Free room for hooks to leave what they measured.
    """

    number: int
    model: nn.Module
    optimizer: torch.optim.Optimizer
    X: torch.Tensor
    y: torch.Tensor
    loss: torch.Tensor
    started: float
    skip_update: bool = False
    stop: bool = False
    info: dict[str, Any] = field(default_factory=dict)


class Hook:
    """Base class of :func:`train`'s hooks; override either method (both do nothing).

    A plain function ``f(step)`` passed as a hook is called as ``before_update``.
    """

    def before_update(self, step: Step) -> None:
        """After ``loss.backward()``, before ``optimizer.step()``: the gradients are fresh."""

    def after_update(self, step: Step) -> None:
        """After ``optimizer.step()`` (or after the skipped update)."""


class StepTimer(Hook):
    """A hook that records the wall-clock seconds of every step in :attr:`seconds`.

    A step is timed from :attr:`Step.started` (before its batch is drawn) to this hook's
    ``after_update``: forward, backward, the optimizer step and the hooks listed before it.
    """

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def after_update(self, step: Step) -> None:
        self.seconds.append(time.perf_counter() - step.started)


class _FunctionHook(Hook):
    def __init__(self, function: Callable[[Step], None]) -> None:
        self.function = function

    def before_update(self, step: Step) -> None:
        self.function(step)


def _hooks(on_step: Hook | Callable | Sequence | None) -> list[Hook]:
    if on_step is None:
        return []
    if isinstance(on_step, Hook) or callable(on_step):
        on_step = [on_step]
    hooks = []
    for hook in on_step:
        if isinstance(hook, Hook):
            hooks.append(hook)
        elif callable(hook):
            hooks.append(_FunctionHook(hook))
        else:
            raise ValueError(
                f"on_step takes Hook objects or functions of one Step, got {type(hook).__name__}"
            )
    return hooks


@dataclass(frozen=True)
class TrainHistory:
    """What happened during :func:`train`.

    Attributes
    ----------
    losses
        The batch loss at every step, before that step's update, shape ``(steps_run,)``.
    step
        Step number at each record, shape ``(records,)``.
    loss
        Mean batch loss over the steps since the previous record, shape ``(records,)``.
    accuracy
        Accuracy on the whole data set (evaluation mode) at each record, shape
        ``(records,)``; NaN for regression or streamed batches.
    weight_grad_norm
        ``||dL/dW_l||`` of every hidden layer at each recorded step, shape
        ``(records, num_layers)`` (for a vglib MLP; every weight matrix for other models).
    skipped
        Whether the step's update was skipped by a hook or the loss scaler, shape
        ``(steps_run,)``.
    """

    losses: np.ndarray
    step: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    weight_grad_norm: np.ndarray
    skipped: np.ndarray

    @property
    def steps_run(self) -> int:
        """How many steps ran (fewer than asked when a hook stopped training)."""
        return len(self.losses)


def _hidden_weights(model: nn.Module) -> list[torch.Tensor]:
    if isinstance(model, MLP):
        return [block.linear.weight for block in model.layers]
    return [p for name, p in model.named_parameters() if name.endswith("weight") and p.ndim >= 2]


@torch.no_grad()
def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Share of ``X`` classified as ``y``, in evaluation mode; the model's mode is restored."""
    was_training = model.training
    model.eval()
    acc = (model(X).argmax(dim=1) == y).float().mean().item()
    model.train(was_training)
    return acc


@one_thread()
def train(
    model: nn.Module,
    X: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    *,
    steps: int = 500,
    lr: float = 1e-3,
    optimizer: str | torch.optim.Optimizer = "adam",
    weight_decay: float = 0.0,
    batch_size: int | None = 64,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]] | None = None,
    loss: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    on_step: Hook | Callable[[Step], None] | Sequence | None = None,
    scaler: torch.amp.GradScaler | None = None,
    autocast: torch.dtype | None = None,
    record_every: int | None = 10,
    seed: int = 0,
    progress: bool | None = None,
) -> TrainHistory:
    """Train ``model`` in place and record its loss and per-layer gradient norms.

    Parameters
    ----------
    model
        Any ``nn.Module``; a vglib :class:`MLP` has its batches checked against its shape.
    X, y
        The data set: ``(n, ...)`` inputs; ``(n,)`` labels or ``(n, out)`` targets.
    steps
        Number of optimizer steps.
    lr, optimizer, weight_decay
        A name from :data:`OPTIMIZERS` with its learning rate and L2 penalty, or a ready
        ``torch.optim.Optimizer`` (then ``lr`` and ``weight_decay`` are not used).
    batch_size
        Examples per step, from :func:`shuffled_batches`; ``None`` uses the whole data set
        at every step (full-batch gradient descent).
    batches
        Instead of ``X, y``: any iterable of ``(X_batch, y_batch)`` pairs (a DataLoader, or
        fresh sequences drawn per step); it must last ``steps`` batches.
    loss
        ``"cross_entropy"``, ``"mse"``, ``None`` (picked by ``y``'s dtype, see
        :func:`loss_fn`), or a function ``loss(output, y) -> scalar tensor``.
    on_step
        A :class:`Hook`, a function of one :class:`Step` (called before the update), or a
        list of them, called in order.
    scaler
        A ``torch.amp.GradScaler``: the loss is scaled before ``backward``, the update goes
        through ``scaler.step`` (skipped on inf/NaN gradients) and ``scaler.update`` follows.
        Hooks then see scaled gradients (unscale them with ``scaler.unscale_(optimizer)``).
    autocast
        A dtype such as ``torch.float16``: the forward pass runs under
        ``torch.autocast("cpu", dtype=...)`` and the loss is taken in float32.
    record_every
        Record every this many steps (the first record is after step ``record_every``);
        ``None`` records nothing but the per-step losses.
    seed
        Seed of the batch order; the global random state is untouched.
    progress
        Show a progress bar; ``None`` shows one except while the book is built.
    """
    from tqdm.auto import tqdm

    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    steps = check_int("steps", steps, minimum=1)
    if record_every is not None:
        check_int("record_every", record_every, minimum=1, maximum=steps)
    seed = check_int("seed", seed)
    if (batches is None) == (X is None):
        raise ValueError("pass either the data set X, y or an iterable of batches, not both")
    if batches is None:
        if not isinstance(y, torch.Tensor):
            raise ValueError("y must be a tensor with one label or target per example of X")
        if isinstance(model, MLP):
            check_batch(model, X, y)
        elif not isinstance(X, torch.Tensor) or len(X) != len(y):
            raise ValueError("X and y must be tensors with one label per example")
        if batch_size is None:
            source: Iterator = itertools.repeat((X, y))
        else:
            source = shuffled_batches(X, y, batch_size, seed=seed)
    else:
        source = iter(batches)
    if isinstance(optimizer, torch.optim.Optimizer):
        opt = optimizer
    else:
        opt = make_optimizer(model.parameters(), optimizer, lr, weight_decay=weight_decay)
    hooks = _hooks(on_step)
    criterion = loss if callable(loss) else (lambda out, target: loss_fn(out, target, loss))
    evaluate = batches is None and not y.is_floating_point()
    weights = _hidden_weights(model)

    losses, skipped, running = [], [], []
    records: dict[str, list] = {"step": [], "loss": [], "accuracy": [], "weight_grad_norm": []}
    show = (not book_mode()) if progress is None else progress
    model.train()
    with torch.enable_grad():
        for number in tqdm(range(1, steps + 1), disable=not show, desc="training", leave=False):
            started = time.perf_counter()
            try:
                Xb, yb = next(source)
            except StopIteration:
                raise ValueError(f"batches ran out after {number - 1} of {steps} steps") from None
            opt.zero_grad(set_to_none=True)
            if autocast is None:
                value = criterion(model(Xb), yb)
            else:
                with torch.autocast("cpu", dtype=autocast):
                    out = model(Xb)
                value = criterion(out.float(), yb)
            (value if scaler is None else scaler.scale(value)).backward()
            step = Step(number, model, opt, Xb, yb, value.detach(), started)
            for hook in hooks:
                hook.before_update(step)
            losses.append(value.item())
            running.append(losses[-1])
            if record_every is not None and number % record_every == 0:
                records["step"].append(number)
                records["loss"].append(float(np.mean(running)))
                records["weight_grad_norm"].append(
                    [w.grad.norm().item() if w.grad is not None else 0.0 for w in weights]
                )
                records["accuracy"].append(accuracy(model, X, y) if evaluate else float("nan"))
                running = []
            if step.skip_update:
                pass
            elif scaler is not None:
                used = scaler.get_scale()
                scaler.step(opt)
                scaler.update()
                # the scaler lowers its scale exactly when it found inf/NaN and skipped
                step.skip_update = scaler.get_scale() < used
            else:
                opt.step()
            skipped.append(step.skip_update)
            for hook in hooks:
                hook.after_update(step)
            if step.stop:
                break
    return TrainHistory(
        losses=np.asarray(losses, dtype=float),
        step=np.asarray(records["step"], dtype=float),
        loss=np.asarray(records["loss"], dtype=float),
        accuracy=np.asarray(records["accuracy"], dtype=float),
        weight_grad_norm=np.asarray(records["weight_grad_norm"], dtype=float),
        skipped=np.asarray(skipped, dtype=bool),
    )
