"""A gradient-flow monitor for any ``torch.nn.Module``: per layer and per training step.

:class:`GradientFlowMonitor` attaches forward hooks to a model's weight layers (``Linear``,
``Conv1d/2d/3d``, ``RNN/LSTM/GRU``) and to its activation modules, and records at every
:meth:`GradientFlowMonitor.step`:

* the norm of each layer's weight gradient, ``||dL/dW_l||`` (read from ``.grad``);
* the norm of the gradient reaching each layer's output, ``||dL/dh_l||`` (a tensor hook);
* the update-to-data ratio ``||W_l(t) - W_l(t-1)|| / ||W_l(t-1)||``: the step the optimizer
  actually took, whatever the optimizer (SGD, momentum, Adam, weight decay ...);
* the share of saturated and of dead units of the activation that follows each layer,
  with the definitions of :func:`vglib.compute.measure_gradient_flow`.

Usage::

    with GradientFlowMonitor(model) as mon:
        for X, y in batches:
            opt.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            opt.step()
            mon.step(loss)
    record = mon.record()      # arrays of shape (num_steps, num_layers)

Leaving the ``with`` block (or calling :meth:`GradientFlowMonitor.remove`) detaches every hook.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vglib._validate import check_choice, check_int, check_real
from vglib.compute._threads import one_thread
from vglib.compute.measure import activation_slope, saturation_limit
from vglib.compute.models import SATURATING

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

#: The activations that can saturate, by module type (names as in ``models.SATURATING``).
_SATURATING_TYPES: dict[type[nn.Module], str] = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
assert set(_SATURATING_TYPES.values()) == set(SATURATING)

#: The quantities in a :class:`MonitorRecord` that are shaped ``(num_steps, num_layers)``.
QUANTITIES = ("grad_norm", "output_grad_norm", "update_ratio", "saturation", "dead")


def _type_names(types: Iterable[type]) -> str:
    return ", ".join(f"nn.{t.__name__}" for t in types)


def _slope(module: nn.Module, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The activation's slope at its input ``z`` (output ``h``), elementwise.

    Sigmoid, tanh and ReLU use the closed forms autograd itself uses (``h (1 - h)``,
    ``1 - h**2``, ``z > 0``), which is exact and cheap; any other activation goes through
    :func:`vglib.compute.measure.activation_slope` (one autograd call).
    """
    kind = type(module)
    if kind is nn.Sigmoid:
        return h * (1 - h)
    if kind is nn.Tanh:
        return 1 - h * h
    if kind is nn.ReLU:
        return (z > 0).to(z.dtype)
    return activation_slope(module, z)


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
        return getattr(self, check_choice("quantity", quantity, QUANTITIES))


class _Stats:
    """Running activation statistics of one layer within one step."""

    def __init__(self) -> None:
        self.saturated = 0.0
        self.entries = 0.0
        self.alive: torch.Tensor | None = None
        self.out_grads: list[torch.Tensor] = []


class GradientFlowMonitor:
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
        :func:`vglib.compute.measure_gradient_flow`.
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
        self.saturation_threshold = check_real(
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
        self._previous = self._snapshot()
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
            slope = _slope(module, z, h)
            if kind in _SATURATING_TYPES:
                limit = saturation_limit(_SATURATING_TYPES[kind], self.saturation_threshold)
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
    def _snapshot(self) -> dict[str, list[torch.Tensor]]:
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
        current = self._snapshot()
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
#: Optimizers understood by :func:`train_monitored`.
OPTIMIZERS = ("sgd", "momentum", "adam")


def _optimizer(
    params: Iterable[nn.Parameter], optimizer: str, lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_real("lr", lr, minimum=0.0, strict_minimum=True)
    check_real("weight_decay", weight_decay, minimum=0.0)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    momentum = 0.9 if optimizer == "momentum" else 0.0
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


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


@one_thread()
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
    """Train a classifier in place under a :class:`GradientFlowMonitor` (cross-entropy loss).

    Parameters
    ----------
    model
        Any module mapping ``X[batch]`` to logits ``(batch, num_classes)``.
    X, y
        Training inputs ``(n, ...)`` and integer labels ``(n,)``.
    steps, lr, batch_size
        Number of optimizer steps, learning rate, examples per step (reshuffled each epoch).
    optimizer
        One of :data:`OPTIMIZERS` (``momentum`` is SGD with momentum 0.9).
    weight_decay
        L2 penalty coefficient handed to the optimizer.
    X_test, y_test
        Optional held-out set for the final accuracy.
    seed
        Seed of the batch order; the global random state is untouched.
    """
    check_int("steps", steps, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor) or len(X) != len(y):
        raise ValueError("X and y must be tensors with one label per example")
    opt = _optimizer(model.parameters(), optimizer, lr, weight_decay)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    n = X.shape[0]
    order, cursor = torch.randperm(n, generator=gen), 0
    model.train()
    with GradientFlowMonitor(model) as mon:
        start = mon._snapshot()
        for _ in range(steps):
            if cursor + batch_size > n:
                order, cursor = torch.randperm(n, generator=gen), 0
            idx = order[cursor : cursor + batch_size]
            cursor += batch_size
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            mon.step(loss)
        end = mon._snapshot()
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
        model.eval()
        with torch.no_grad():
            test_acc = float((model(X_test).argmax(dim=1) == y_test).float().mean())
        model.train()
    return MonitoredRun(
        record=record,
        total_change=np.array(change),
        weight_shrink=np.array(shrink),
        test_accuracy=test_acc,
        chance=1.0 / int(y.max().item() + 1),
    )


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


@one_thread()
def monitor_overhead(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    repeats: int = 30,
    lr: float = 0.01,
) -> Overhead:
    """Time a training step on ``(X, y)`` with and without a :class:`GradientFlowMonitor`.

    Two copies of ``model`` (the model itself is not changed) take alternating steps, one
    monitored and one not, so that a change in machine load hits both alike; the medians
    over ``repeats`` steps are compared. Runs on one torch thread.

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
    check_int("repeats", repeats, minimum=1)
    plain_model, watched_model = copy.deepcopy(model), copy.deepcopy(model)
    opts = [torch.optim.SGD(m.parameters(), lr=lr) for m in (plain_model, watched_model)]
    times: list[list[float]] = [[], []]
    with GradientFlowMonitor(watched_model) as mon:
        for i in range(repeats + 3):
            for k, (net, opt) in enumerate(zip((plain_model, watched_model), opts, strict=True)):
                start = time.perf_counter()
                opt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(net(X), y)
                loss.backward()
                opt.step()
                if k == 1:
                    mon.step(loss)
                if i >= 3:
                    times[k].append(time.perf_counter() - start)
    plain, monitored = float(np.median(times[0])), float(np.median(times[1]))
    return Overhead(plain=plain, monitored=monitored, ratio=monitored / plain, repeats=repeats)
