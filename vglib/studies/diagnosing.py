"""The diagnosing chapter's study: a gradient-flow monitor for any model, and a sick CNN to use it on.

* :class:`GradientFlowMonitor` attaches forward hooks to a model's weight layers (``Linear``,
  ``Conv1d/2d/3d``, ``RNN/LSTM/GRU``) and to its activation modules, and records at every
  :meth:`GradientFlowMonitor.step`:

  - the norm of each layer's weight gradient, ``||dL/dW_l||`` (read from ``.grad``);
  - the norm of the gradient reaching each layer's output, ``||dL/dh_l||`` (a tensor hook);
  - the update-to-data ratio ``||W_l(t) - W_l(t-1)|| / ||W_l(t-1)||``: the step the optimizer
    actually took, whatever the optimizer (SGD, momentum, Adam, weight decay ...);
  - the share of saturated and of dead units of the activation that follows each layer,
    with the definitions of :func:`vglib.core.measure_gradient_flow`.

* The chapter's data and model: :func:`make_bars` (noisy oriented bars, 16 x 16 grey images)
  and :func:`build_cnn` (a deep plain CNN, :class:`PlainCNN`).
* The chapter's runs: :data:`RUNS`, :func:`monitored_run` (one CNN trained under the monitor,
  cached) and :func:`monitor_frame` (one step of a run, what the demo shows);
  :func:`monitor_overhead` times a step with and without the monitor.

Usage, in a hand-written loop::

    with GradientFlowMonitor(model) as mon:
        for X, y in batches:
            opt.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            opt.step()
            mon.step(loss)
    record = mon.record()      # arrays of shape (num_steps, num_layers)

or as a hook of the course's training loop: ``core.train(model, X, y, on_step=mon)``.
Leaving the ``with`` block (or calling :meth:`GradientFlowMonitor.remove`) detaches every hook.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vglib import core

#: Module types watched as layers: their weights' gradients and updates are recorded.
LAYER_TYPES: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.RNNBase,  # nn.RNN, nn.LSTM, nn.GRU
)

#: Activation module types whose outputs are measured (saturation and dead units).
ACTIVATION_TYPES: tuple[type[nn.Module], ...] = (
    nn.Sigmoid,
    nn.Tanh,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Softplus,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
)

# module types whose slope does not depend on a module argument, by their name in the
# activation table (which knows their closed-form slopes and whether they saturate)
_TABLE_NAMES: dict[type[nn.Module], str] = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu"}

#: The quantities in a :class:`MonitorRecord` that are shaped ``(num_steps, num_layers)``.
QUANTITIES = ("grad_norm", "output_grad_norm", "update_ratio", "saturation", "dead")


def _type_names(types: Sequence[type]) -> str:
    return ", ".join(f"nn.{t.__name__}" for t in types)


def module_slope(module: nn.Module, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The slope of an activation module at its input ``z`` (output ``h``), elementwise, any shape.

    Sigmoid, tanh and ReLU modules take the closed forms of the activation table
    (:func:`vglib.core.activation`), which autograd itself uses (``h (1 - h)``, ``1 - h**2``,
    ``z > 0``): exact and cheap. Any other module (a ``LeakyReLU(0.1)``, a ``GELU``) goes
    through one autograd call, :func:`vglib.core.activation_slope`.
    """
    name = _TABLE_NAMES.get(type(module))
    if name is not None:
        return core.activation(name).slope(z, h)
    return core.activation_slope(module, z)


def _weights(module: nn.Module) -> list[nn.Parameter]:
    """A layer's weight tensors (not its biases): ``weight``, or ``weight_ih_l0``, ``weight_hh_l0`` ..."""
    return [p for name, p in module.named_parameters(recurse=False) if name.startswith("weight")]


@dataclass(frozen=True)
class MonitorRecord:
    """What a :class:`GradientFlowMonitor` saw; one row per step, one column per layer.

    Attributes
    ----------
    layer_names
        Qualified names of the watched layers (as in ``model.named_modules()``), in the
        order they ran in the first forward pass; length ``num_layers``.
    layer_kinds
        Their module types (``"Conv2d"``, ``"Linear"``, ``"GRU"`` ...).
    activation_names
        Type of the activation module that followed each layer (``""`` if none did).
    step
        Step numbers ``1 .. num_steps``, shape ``(num_steps,)``.
    loss
        The loss passed to :meth:`GradientFlowMonitor.step` (NaN if none), shape ``(num_steps,)``.
    grad_norm
        ``||dL/dW_l||``: Frobenius norm of the gradient of all the layer's weight tensors
        together (biases excluded), shape ``(num_steps, num_layers)``.
    output_grad_norm
        ``||dL/dh_l||``: Frobenius norm over the batch of the gradient reaching the layer's
        output (summed in squares over calls if the layer ran more than once).
    update_ratio
        ``||W_l(t) - W_l(t-1)|| / ||W_l(t-1)||``: the relative size of the step the
        optimizer took, over all the layer's weight tensors.
    weight_norm
        ``||W_l(t)||`` after the step.
    saturation
        Share of (example, unit, position) entries of the following activation whose slope
        is below ``saturation_threshold`` times the activation's largest slope. NaN where no
        saturating activation (sigmoid, tanh) followed the layer.
    dead
        Share of units (channels, for convolutions) whose activation slope was exactly zero
        for every example and position of the step's forward passes. NaN where no
        activation followed the layer.
    """

    layer_names: tuple[str, ...]
    layer_kinds: tuple[str, ...]
    activation_names: tuple[str, ...]
    step: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    output_grad_norm: np.ndarray
    update_ratio: np.ndarray
    weight_norm: np.ndarray
    saturation: np.ndarray
    dead: np.ndarray

    @property
    def num_layers(self) -> int:
        return len(self.layer_names)

    @property
    def num_steps(self) -> int:
        return len(self.step)

    def get(self, quantity: str) -> np.ndarray:
        """The ``(num_steps, num_layers)`` array of ``quantity`` (one of :data:`QUANTITIES`)."""
        return getattr(self, core.check_choice("quantity", quantity, QUANTITIES))


class _Stats:
    """Running activation statistics of one layer within one step."""

    def __init__(self) -> None:
        self.saturated = 0.0
        self.entries = 0.0
        self.alive: torch.Tensor | None = None
        self.out_grads: list[torch.Tensor] = []


class GradientFlowMonitor(core.Hook):
    """Record per-layer gradient flow of any ``nn.Module`` during training, through hooks.

    Parameters
    ----------
    model
        Any ``torch.nn.Module``.
    layers
        ``None`` watches every submodule of a type in :data:`LAYER_TYPES`. Otherwise a list of
        submodule names (as in ``model.named_modules()``) or the submodules themselves.
    saturation_threshold
        An activation entry counts as saturated when its slope is below this share of the
        activation's largest slope (1/4 for sigmoid, 1 for tanh), as in
        :func:`vglib.core.measure_gradient_flow`.
    output_grads
        Also record ``||dL/dh_l||`` with a tensor hook on every layer output.

    Notes
    -----
    Call :meth:`step` once per training step, after ``optimizer.step()``: it reads the
    gradients left in ``.grad``, the activation statistics gathered by the forward hooks
    since the previous call, and compares the weights with the copy it took at the previous
    call (or at attach time). Activations are attributed to the last watched layer that ran
    before them, so a ``Conv2d -> BatchNorm2d -> ReLU`` block counts as one layer. Only
    activation *modules* are seen: a ``torch.relu(...)`` call inside ``forward`` is invisible,
    and a layer's saturation and dead columns are then NaN. An in-place activation other than
    ``nn.ReLU(inplace=True)`` overwrites its input before the hook sees it; use the
    out-of-place version while monitoring. Forward passes under ``torch.no_grad()``
    (evaluation) are not counted.

    The monitor is also a :class:`vglib.core.Hook`: passed as ``on_step`` to
    :func:`vglib.core.train`, it calls :meth:`step` with the step's loss after every update.
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Sequence[str | nn.Module] | None = None,
        *,
        saturation_threshold: float = 0.1,
        output_grads: bool = True,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.saturation_threshold = core.check_real(
            "saturation_threshold", saturation_threshold, minimum=0.0, maximum=1.0
        )
        self.model = model
        self.output_grads = bool(output_grads)
        named = dict(model.named_modules())
        watchable = [name for name, m in named.items() if isinstance(m, LAYER_TYPES)]
        if layers is None:
            chosen = watchable
            if not chosen:
                raise ValueError(
                    f"model has no layer to watch; watched types are: {_type_names(LAYER_TYPES)}"
                )
        else:
            chosen = [self._resolve(model, named, watchable, layer) for layer in layers]
            if not chosen:
                raise ValueError("layers must name at least one layer, or be None to find them")
            if len(set(chosen)) != len(chosen):
                raise ValueError(f"layers lists a layer twice: {chosen}")
        self._modules = {name: named[name] for name in chosen}
        for name, module in self._modules.items():
            if not _weights(module):
                raise ValueError(f"layer {name!r} has no weight parameter to watch")
        self._order: list[str] = []  # execution order, filled by the first forward pass
        self._stats = {name: _Stats() for name in chosen}
        self._last: str | None = None
        self._activation_names: dict[str, str] = {}
        self._busy = False
        self._rows: dict[str, list] = {key: [] for key in (*QUANTITIES, "weight_norm", "loss")}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        for name, module in self._modules.items():
            self._handles.append(module.register_forward_hook(self._layer_hook(name)))
        for module in model.modules():
            if isinstance(module, ACTIVATION_TYPES):
                self._handles.append(module.register_forward_hook(self._activation_hook))
        self._previous = self.snapshot()
        self._attached = True

    # -- set-up ----------------------------------------------------------------------------
    @staticmethod
    def _resolve(
        model: nn.Module, named: dict, watchable: list[str], layer: str | nn.Module
    ) -> str:
        if isinstance(layer, nn.Module):
            for name, module in named.items():
                if module is layer:
                    layer = name
                    break
            else:
                raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model")
        if not isinstance(layer, str) or layer not in named:
            raise ValueError(
                f"layer {layer!r} is not a submodule of the model; "
                f"choose from: {', '.join(map(repr, watchable))}"
            )
        if not isinstance(named[layer], LAYER_TYPES):
            raise ValueError(
                f"layer {layer!r} is a {type(named[layer]).__name__}; watched types are: "
                f"{_type_names(LAYER_TYPES)} (layers of this model: {', '.join(map(repr, watchable))})"
            )
        return layer

    # -- hooks -----------------------------------------------------------------------------
    def _layer_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output) -> None:
            if not torch.is_grad_enabled():
                return
            if name not in self._order:
                self._order.append(name)
            self._last = name
            out = output[0] if isinstance(output, tuple) else output
            if self.output_grads and isinstance(out, torch.Tensor) and out.requires_grad:
                stats = self._stats[name]

                def grad_hook(grad: torch.Tensor) -> None:
                    stats.out_grads.append(grad.detach())  # norms are taken in step()

                out.register_hook(grad_hook)

        return hook

    def _activation_hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if self._last is None or self._busy or not torch.is_grad_enabled() or not inputs:
            return
        self._busy = True  # activation_slope calls the module again: do not measure that call
        try:
            self._measure_activation(module, inputs[0].detach(), output.detach())
        finally:
            self._busy = False

    def _measure_activation(self, module: nn.Module, z: torch.Tensor, h: torch.Tensor) -> None:
        stats = self._stats[self._last]
        self._activation_names.setdefault(self._last, type(module).__name__)
        kind = type(module)
        # a unit is one feature (dim 1): one channel of a convolution
        reduce = tuple(d for d in range(z.ndim) if d != 1) if z.ndim > 1 else (0,)
        if kind is nn.ReLU:  # slope is z > 0: skip building a float tensor
            alive = (z > 0).any(dim=reduce) if z.ndim > 1 else (z > 0).any()[None]
        else:
            slope = module_slope(module, z, h)
            name = _TABLE_NAMES.get(kind)
            if name is not None and core.activation(name).saturating:
                limit = core.saturation_limit(name, self.saturation_threshold)
                stats.saturated = stats.saturated + (slope < limit).sum()
                stats.entries += slope.numel()
            nonzero = slope != 0
            alive = nonzero.any(dim=reduce) if z.ndim > 1 else nonzero.any()[None]
        if stats.alive is None or stats.alive.shape != alive.shape:
            stats.alive = alive
        else:
            stats.alive = stats.alive | alive

    # -- recording -------------------------------------------------------------------------
    @torch.no_grad()
    def snapshot(self) -> dict[str, list[torch.Tensor]]:
        """A copy of every watched layer's weight tensors, ``{layer name: [tensors]}``."""
        return {
            name: [w.detach().clone() for w in _weights(m)] for name, m in self._modules.items()
        }

    def _layer_order(self) -> list[str]:
        rest = [name for name in self._modules if name not in self._order]
        return self._order + rest

    @torch.no_grad()
    def step(self, loss: float | torch.Tensor | None = None) -> None:
        """Record one training step; call it after ``optimizer.step()``.

        Parameters
        ----------
        loss
            The step's loss, stored in :attr:`MonitorRecord.loss` (optional).
        """
        if not self._attached:
            raise RuntimeError("this monitor was removed; create a new one to keep recording")
        names = list(self._modules)
        owner = [k for k, name in enumerate(names) for _ in self._previous[name]]
        before = [w for name in names for w in self._previous[name]]
        current = self.snapshot()
        after = [w for name in names for w in current[name]]
        grads = [w.grad for name in names for w in _weights(self._modules[name])]
        has_grad = [g is not None for g in grads]
        # one fused norm call per quantity; squared norms are summed per layer below
        sq = {
            "grad": torch.stack(torch._foreach_norm([g for g in grads if g is not None]))
            if any(has_grad)
            else torch.zeros(0),
            "delta": torch.stack(torch._foreach_norm(torch._foreach_sub(after, before))),
            "before": torch.stack(torch._foreach_norm(before)),
            "after": torch.stack(torch._foreach_norm(after)),
        }
        out_grads = [g for name in names for g in self._stats[name].out_grads]
        out_owner = [k for k, name in enumerate(names) for _ in self._stats[name].out_grads]
        if out_grads:
            sq["out"] = torch.stack(torch._foreach_norm(out_grads))
        sq = {key: (value.double() ** 2).tolist() for key, value in sq.items()}
        out_sq = [0.0] * len(names)
        for k, value in zip(out_owner, sq.get("out", []), strict=True):
            out_sq[k] += value
        per_layer = {key: [0.0] * len(names) for key in ("grad", "delta", "before", "after")}
        seen = [False] * len(names)
        grad_iter = iter(sq["grad"])
        for i, k in enumerate(owner):
            if has_grad[i]:
                per_layer["grad"][k] += next(grad_iter)
                seen[k] = True
            for key in ("delta", "before", "after"):
                per_layer[key][k] += sq[key][i]
        row: dict[str, dict[str, float]] = {key: {} for key in self._rows if key != "loss"}
        for k, name in enumerate(names):
            stats = self._stats[name]
            norm_before = per_layer["before"][k] ** 0.5
            row["grad_norm"][name] = per_layer["grad"][k] ** 0.5 if seen[k] else np.nan
            row["output_grad_norm"][name] = (
                out_sq[k] ** 0.5 if self.output_grads and name in self._order else np.nan
            )
            row["update_ratio"][name] = (
                per_layer["delta"][k] ** 0.5 / norm_before if norm_before > 0 else np.nan
            )
            row["weight_norm"][name] = per_layer["after"][k] ** 0.5
            row["saturation"][name] = (
                float(stats.saturated) / stats.entries if stats.entries else np.nan
            )
            row["dead"][name] = (
                float((~stats.alive).sum()) / stats.alive.numel()
                if stats.alive is not None
                else np.nan
            )
            self._stats[name] = _Stats()
        for key, values in row.items():
            self._rows[key].append(values)
        self._rows["loss"].append(float(loss) if loss is not None else np.nan)
        self._previous = current
        self._last = None

    def after_update(self, step: core.Step) -> None:
        """As a hook of :func:`vglib.core.train`: record the step that just updated the weights."""
        self.step(step.loss)

    def record(self) -> MonitorRecord:
        """Everything recorded so far, as numpy arrays (see :class:`MonitorRecord`)."""
        order = self._layer_order()
        num_steps = len(self._rows["loss"])

        def table(key: str) -> np.ndarray:
            out = np.full((num_steps, len(order)), np.nan)
            for t, values in enumerate(self._rows[key]):
                out[t] = [values[name] for name in order]
            return out

        return MonitorRecord(
            layer_names=tuple(order),
            layer_kinds=tuple(type(self._modules[name]).__name__ for name in order),
            activation_names=tuple(self._activation_names.get(name, "") for name in order),
            step=np.arange(1, num_steps + 1),
            loss=np.asarray(self._rows["loss"], dtype=float),
            grad_norm=table("grad_norm"),
            output_grad_norm=table("output_grad_norm"),
            update_ratio=table("update_ratio"),
            weight_norm=table("weight_norm"),
            saturation=table("saturation"),
            dead=table("dead"),
        )

    # -- detaching -------------------------------------------------------------------------
    def remove(self) -> None:
        """Detach every hook from the model (idempotent). The recording stays available."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._attached = False

    def __enter__(self) -> GradientFlowMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


# -- training with the monitor attached --------------------------------------------------------
@dataclass(frozen=True)
class MonitoredRun:
    """A training run recorded by a :class:`GradientFlowMonitor`.

    Attributes
    ----------
    record
        The per-step, per-layer record, arrays of shape ``(steps, num_layers)``.
    total_change
        ``||W_l(T) - W_l(0)|| / ||W_l(0)||`` after the last step, shape ``(num_layers,)``.
    weight_shrink
        ``||W_l(T)|| / ||W_l(0)||``, shape ``(num_layers,)``: below 1 the weights shrank.
    test_accuracy
        Accuracy on the held-out set after training (NaN without one).
    chance
        Accuracy of guessing, ``1 / num_classes``.
    """

    record: MonitorRecord
    total_change: np.ndarray
    weight_shrink: np.ndarray
    test_accuracy: float
    chance: float


@core.one_thread()
def train_monitored(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 200,
    lr: float = 0.05,
    optimizer: str = "momentum",
    weight_decay: float = 0.0,
    batch_size: int = 32,
    X_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    seed: int = 0,
) -> MonitoredRun:
    """Train a classifier in place with :func:`vglib.core.train` under a :class:`GradientFlowMonitor`.

    Parameters
    ----------
    model
        Any module mapping ``X[batch]`` to logits ``(batch, num_classes)``.
    X, y
        Training inputs ``(n, ...)`` and integer labels ``(n,)``.
    steps, lr, batch_size
        Number of optimizer steps, learning rate, examples per step (reshuffled each epoch,
        :func:`vglib.core.shuffled_batches`).
    optimizer
        One of :data:`vglib.core.OPTIMIZERS` (``momentum`` is SGD with momentum 0.9).
    weight_decay
        L2 penalty coefficient handed to the optimizer.
    X_test, y_test
        Optional held-out set for the final accuracy.
    seed
        Seed of the batch order; the global random state is untouched.

    Returns
    -------
    MonitoredRun
        The loss is the cross-entropy.
    """
    with GradientFlowMonitor(model) as mon:
        start = mon.snapshot()
        core.train(
            model,
            X,
            y,
            steps=steps,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            batch_size=batch_size,
            loss="cross_entropy",
            on_step=mon,
            record_every=None,
            seed=seed,
            progress=False,
        )
        end = mon.snapshot()
        record = mon.record()

    def norm(tensors: list[torch.Tensor]) -> float:
        return sum(float(t.pow(2).sum()) for t in tensors) ** 0.5

    names = record.layer_names
    change = [
        norm([a - b for a, b in zip(end[k], start[k], strict=True)]) / norm(start[k]) for k in names
    ]
    shrink = [norm(end[k]) / norm(start[k]) for k in names]
    test_acc = float("nan")
    if X_test is not None and y_test is not None:
        test_acc = core.accuracy(model, X_test, y_test)
    return MonitoredRun(
        record=record,
        total_change=np.array(change),
        weight_shrink=np.array(shrink),
        test_accuracy=test_acc,
        chance=1.0 / int(y.max().item() + 1),
    )


# -- what the monitor costs ------------------------------------------------------------------------
@dataclass(frozen=True)
class Overhead:
    """Median wall time of one training step with and without a monitor attached.

    Attributes
    ----------
    plain, monitored
        Median seconds per step (forward, backward, optimizer step, and ``mon.step()``).
    ratio
        ``monitored / plain``.
    repeats
        Steps timed for each variant.
    """

    plain: float
    monitored: float
    ratio: float
    repeats: int


@core.one_thread()
def monitor_overhead(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    repeats: int = 30,
    lr: float = 0.01,
) -> Overhead:
    """Time a training step on ``(X, y)`` with and without a :class:`GradientFlowMonitor`.

    Two copies of ``model`` (the model itself is not changed) take alternating steps of
    :func:`vglib.core.train`, one monitored and one not, so that a change in machine load
    hits both alike; the medians over ``repeats`` steps are compared. Runs on one torch thread.

    Parameters
    ----------
    model
        Any classifier module; copied.
    X, y
        One batch: inputs ``(batch, ...)`` and integer labels ``(batch,)``.
    repeats
        Timed steps per variant (after 3 untimed warm-up steps each).
    lr
        Learning rate of the plain SGD used for the steps.
    """
    core.check_int("repeats", repeats, minimum=1)
    models = (copy.deepcopy(model), copy.deepcopy(model))
    opts = [core.make_optimizer(m.parameters(), "sgd", lr) for m in models]
    timers = (core.StepTimer(), core.StepTimer())
    with GradientFlowMonitor(models[1]) as mon:
        hooks = ([timers[0]], [mon, timers[1]])  # the monitored step ends with mon.step()
        for _ in range(repeats + 3):
            for net, opt, on_step in zip(models, opts, hooks, strict=True):
                core.train(
                    net,
                    X,
                    y,
                    steps=1,
                    optimizer=opt,
                    batch_size=None,
                    loss="cross_entropy",
                    on_step=on_step,
                    record_every=None,
                    progress=False,
                )
    plain, monitored = (float(np.median(timer.seconds[3:])) for timer in timers)
    return Overhead(plain=plain, monitored=monitored, ratio=monitored / plain, repeats=repeats)


# -- the chapter's data and model: noisy oriented bars, a deep plain CNN -----------------------------
#: Initializations understood by :func:`build_cnn` (as in :func:`vglib.core.init_linear_`).
CNN_INITS = ("default", "he", "xavier")

#: Orientation of the bar of each class of :func:`make_bars` with four classes, in degrees.
BAR_ANGLES = (0.0, 45.0, 90.0, 135.0)


@core.one_thread()
def make_bars(
    n: int,
    *,
    size: int = 16,
    num_classes: int = 4,
    noise: float = 0.5,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy grey images of one bar each; the class is the bar's orientation.

    Class ``k`` of ``num_classes`` is a bar at angle ``180 * k / num_classes`` degrees
    (:data:`BAR_ANGLES` for four classes). Centre, length and thickness vary from image to
    image, and Gaussian pixel noise of standard deviation ``noise`` is added, so a classifier
    has to find the orientation, not memorise pixels. CPU-cheap and learnable.

    Parameters
    ----------
    n
        Number of images.
    size
        Images are ``size x size`` pixels.
    num_classes
        Number of orientations (classes), 2 to 8.
    noise
        Standard deviation of the pixel noise; the bar has intensity 1.
    seed
        Seed of a private generator; the global random state is untouched.

    Returns
    -------
    X
        Images, shape ``(n, 1, size, size)``, float32, standardised to mean 0 and
        standard deviation 1 over the data set.
    y
        Labels ``0 .. num_classes - 1``, shape ``(n,)``, int64, balanced.
    """
    core.check_int("n", n, minimum=1)
    core.check_int("size", size, minimum=8, maximum=128)
    core.check_int("num_classes", num_classes, minimum=2, maximum=8)
    core.check_real("noise", noise, minimum=0.0)
    gen = torch.Generator().manual_seed(core.check_int("seed", seed))
    y = torch.arange(n) % num_classes
    y = y[torch.randperm(n, generator=gen)]
    angle = math.pi * y.double() / num_classes + 0.08 * torch.randn(n, generator=gen).double()
    centre = (size - 1) / 2 + (size / 6) * (2 * torch.rand(n, 2, generator=gen).double() - 1)
    half_length = size * (0.25 + 0.12 * torch.rand(n, generator=gen).double())
    thickness = 0.8 + 0.6 * torch.rand(n, generator=gen).double()
    grid = torch.arange(size, dtype=torch.float64)
    rows, cols = torch.meshgrid(grid, grid, indexing="ij")  # (size, size)
    dx = cols[None] - centre[:, 0, None, None]
    dy = rows[None] - centre[:, 1, None, None]
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    along = dx * cos - dy * sin  # image rows grow downwards: angle counted anticlockwise
    across = dx * sin + dy * cos
    # soft edges: the bar is 1 inside, falls to 0 over about a pixel
    inside = torch.sigmoid(4 * (thickness[:, None, None] - across.abs()))
    inside = inside * torch.sigmoid(4 * (half_length[:, None, None] - along.abs()))
    images = inside + noise * torch.randn(n, size, size, generator=gen, dtype=torch.float64)
    images = (images - images.mean()) / images.std()
    return images.float().unsqueeze(1), y


class PlainCNN(nn.Module):
    """``num_layers`` blocks of ``Conv2d(3 x 3) -> [BatchNorm2d] -> activation``, then a linear head.

    Blocks ``pool_after`` are followed by 2 x 2 max pooling; the head averages each channel
    over the image (global average pooling). ``features`` is an ``nn.Sequential`` whose
    children are the convolutions, norms, activations and pools in execution order.
    """

    def __init__(
        self,
        *,
        num_layers: int,
        channels: int,
        activation: str,
        num_classes: int,
        batch_norm: bool,
        pool_after: tuple[int, ...],
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(num_layers):
            layers.append(nn.Conv2d(1 if i == 0 else channels, channels, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(channels))
            layers.append(core.make_activation(activation))
            if i + 1 in pool_after:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, num_classes)`` of images ``(batch, 1, H, W)``."""
        return self.head(self.features(X).mean(dim=(2, 3)))


@core.one_thread()
def build_cnn(
    *,
    num_layers: int = 8,
    channels: int = 8,
    activation: str = "relu",
    init: str = "default",
    batch_norm: bool = False,
    num_classes: int = 4,
    pool_after: tuple[int, ...] | None = None,
    seed: int = 0,
) -> PlainCNN:
    """A deep plain CNN for :func:`make_bars` images, with reproducible weights.

    Parameters
    ----------
    num_layers
        Number of convolutional blocks (3 x 3 convolutions, padding 1).
    channels
        Channels of every convolution.
    activation
        One of :data:`vglib.core.ACTIVATIONS`.
    init
        One of :data:`CNN_INITS`: ``"default"`` (PyTorch's: weights uniform in
        +-1/sqrt(fan_in) with fan_in = 9 x input channels), ``"he"`` (normal, variance
        2/fan_in, zero biases) or ``"xavier"`` (Glorot uniform, zero biases), applied by
        :func:`vglib.core.init_linear_` to the convolutions and the head.
    batch_norm
        Put ``BatchNorm2d`` between each convolution and its activation.
    num_classes
        Output size.
    pool_after
        Block numbers (1-based) followed by 2 x 2 max pooling; 16 x 16 inputs allow up to 4.
        ``None`` pools after blocks 1 and 2 (those that exist).
    seed
        Seed for the weights; the global random state is untouched.

    Returns
    -------
    PlainCNN
        Takes ``(batch, 1, H, W)`` images, returns ``(batch, num_classes)`` logits.
    """
    core.check_int("num_layers", num_layers, minimum=1, maximum=100)
    core.check_int("channels", channels, minimum=1)
    core.check_choice("activation", activation, core.ACTIVATIONS)
    core.check_choice("init", init, CNN_INITS)
    core.check_int("num_classes", num_classes, minimum=2)
    if pool_after is None:
        pool_after = tuple(block for block in (1, 2) if block <= num_layers)
    for block in pool_after:
        core.check_int("pool_after entry", block, minimum=1, maximum=num_layers)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(core.check_int("seed", seed))
        model = PlainCNN(
            num_layers=num_layers,
            channels=channels,
            activation=activation,
            num_classes=num_classes,
            batch_norm=batch_norm,
            pool_after=tuple(pool_after),
        )
        if init != "default":
            for module in model.modules():
                if isinstance(module, nn.Conv2d | nn.Linear):
                    core.init_linear_(module, init)
    return model


# -- the chapter's four runs ------------------------------------------------------------------------
#: Training steps of every run.
STEPS = 100
#: Depth of the CNNs (convolutional blocks).
NUM_LAYERS = 6


@dataclass(frozen=True)
class RunConfig:
    """One run of the chapter: a :func:`build_cnn` network and its optimizer settings.

    Attributes
    ----------
    activation, init, batch_norm
        The network (6 blocks of 8 channels, pooling after blocks 1 and 2, seed 0).
    lr, weight_decay
        SGD with momentum 0.9, batches of 32, :data:`STEPS` steps.
    """

    activation: str
    init: str
    batch_norm: bool
    lr: float
    weight_decay: float = 0.0

    @property
    def network(self) -> dict[str, object]:
        """The arguments of :func:`build_cnn` that set the network apart from the others."""
        return {"activation": self.activation, "init": self.init, "batch_norm": self.batch_norm}


#: The runs, by name (the names the demo offers): a sick one, a healthy one, and two that look
#: sick for other reasons.
RUNS: dict[str, RunConfig] = {
    "sigmoid, default init": RunConfig("sigmoid", "default", False, lr=0.05),
    "ReLU, He init, BN": RunConfig("relu", "he", True, lr=0.05),
    "ReLU+BN, lr / 100": RunConfig("relu", "he", True, lr=0.0005),
    "ReLU+BN, weight decay": RunConfig("relu", "he", True, lr=0.05, weight_decay=0.05),
}


@functools.cache
def bars_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The chapter's data: 1000 training and 200 held-out bar images (seed 0).

    Returns
    -------
    X_train, y_train, X_test, y_test
        Shapes ``(1000, 1, 16, 16)``, ``(1000,)``, ``(200, 1, 16, 16)``, ``(200,)``.
    """
    X, y = make_bars(1200, seed=0)
    return X[:1000], y[:1000], X[1000:], y[1000:]


@functools.cache
def monitored_run(run: str) -> MonitoredRun:
    """Train the CNN of ``run`` (a key of :data:`RUNS`) for :data:`STEPS` steps, once per process.

    Treat the result as read-only: it is shared between calls.
    """
    config = RUNS[core.check_choice("run", run, RUNS)]
    X, y, X_test, y_test = bars_data()
    model = build_cnn(
        num_layers=NUM_LAYERS, channels=8, pool_after=(1, 2), seed=0, **config.network
    )
    return train_monitored(
        model,
        X,
        y,
        steps=STEPS,
        lr=config.lr,
        weight_decay=config.weight_decay,
        optimizer="momentum",
        batch_size=32,
        X_test=X_test,
        y_test=y_test,
        seed=0,
    )


def layer_labels(names: Sequence[str]) -> list[str]:
    """Short names of a :class:`PlainCNN`'s layers: ``conv1 .. convN``, then ``head``.

    Parameters
    ----------
    names
        Layer names as in :attr:`MonitorRecord.layer_names` (``features.0``, ..., ``head``).
    """
    labels, conv = [], 0
    for name in names:
        if name.startswith("features"):
            conv += 1
            labels.append(f"conv{conv}")
        else:
            labels.append(name)
    return labels


@dataclass(frozen=True)
class MonitorFrame:
    """One step of a recorded run, with one recorded quantity chosen (the demo's frame).

    Attributes
    ----------
    run
        The whole recorded run.
    step
        The step, ``1 .. num_steps``.
    quantity
        One of :data:`QUANTITIES`, the one shown over all steps.
    """

    run: MonitoredRun
    step: int
    quantity: str

    @property
    def labels(self) -> list[str]:
        """Short layer names (:func:`layer_labels`), length ``num_layers``."""
        return layer_labels(self.run.record.layer_names)

    @property
    def values(self) -> np.ndarray:
        """The chosen quantity at every step, shape ``(num_steps, num_layers)``."""
        return self.run.record.get(self.quantity)

    @property
    def grad_norm(self) -> np.ndarray:
        """``||dL/dW_l||`` at this step, shape ``(num_layers,)``."""
        return self.run.record.grad_norm[self.step - 1]

    @property
    def update_ratio(self) -> np.ndarray:
        """``||W_l(t) - W_l(t-1)|| / ||W_l(t-1)||`` at this step, shape ``(num_layers,)``."""
        return self.run.record.update_ratio[self.step - 1]

    @property
    def loss(self) -> float:
        """The batch loss of this step."""
        return float(self.run.record.loss[self.step - 1])

    @property
    def dead(self) -> float:
        """Share of dead units at this step, averaged over the layers followed by an activation."""
        return float(np.nanmean(self.run.record.dead[self.step - 1]))

    @property
    def saturation(self) -> float:
        """Share of saturated units at this step, averaged over the layers followed by a
        saturating activation; NaN if there is none."""
        sat = self.run.record.saturation[self.step - 1]
        return float(np.nanmean(sat)) if np.isfinite(sat).any() else float("nan")


@functools.cache
def monitor_frame(step: int, run: str, quantity: str = "update_ratio") -> MonitorFrame:
    """Step ``step`` of :func:`monitored_run` ``(run)``, showing ``quantity`` over all steps.

    Parameters
    ----------
    step
        ``1 .. STEPS``.
    run
        A key of :data:`RUNS`.
    quantity
        One of :data:`QUANTITIES`.
    """
    core.check_int("step", step, minimum=1, maximum=STEPS)
    core.check_choice("quantity", quantity, QUANTITIES)
    return MonitorFrame(monitored_run(run), step, quantity)
