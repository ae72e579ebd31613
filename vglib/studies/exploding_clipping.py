"""Exploding gradients and gradient clipping: the recurrent cliff, clipped training, fp16 underflow.

Torch and numpy only. The clipping functions here (:func:`global_norm`, :func:`clip_by_norm`,
:func:`clip_by_value`) are the chapter's written-out versions: they work on lists of gradient
tensors and are tested against torch's own ``torch.nn.utils.clip_grad_norm_`` and
``clip_grad_value_``. Training runs go through :func:`vglib.core.train`, with torch's
clipping functions in a hook; what clipping does to each layer is
:func:`vglib.core.clip_effect`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vglib import core

#: Clipping modes of :func:`train_exploding`.
CLIP_MODES = ("none", "norm", "value")
#: The steps :func:`rnn_cliff` takes from the cliff: unclipped, clipped by norm, by value.
STEP_KINDS = ("plain", "norm", "value")


# -- clipping, written out ---------------------------------------------------------------------
def global_norm(grads: Sequence[torch.Tensor]) -> float:
    """The 2-norm of all gradient entries taken together, ``sqrt(sum_i ||g_i||^2)``.

    Parameters
    ----------
    grads
        Gradient tensors of any shapes.
    """
    if len(grads) == 0:
        raise ValueError("grads must hold at least one tensor")
    return float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))


def clip_by_norm(
    grads: Sequence[torch.Tensor], max_norm: float, *, eps: float = 1e-6
) -> tuple[list[torch.Tensor], float]:
    """Rescale all gradients by one factor so that their global norm is at most ``max_norm``.

    The factor is ``min(1, max_norm / (norm + eps))``, as in ``torch.nn.utils.clip_grad_norm_``;
    the direction of the concatenated gradient is kept.

    Parameters
    ----------
    grads
        Gradient tensors of any shapes.
    max_norm
        Threshold on the global 2-norm, > 0.
    eps
        Guard against division by zero (torch uses 1e-6).

    Returns
    -------
    clipped, total_norm
        New tensors with the shapes of ``grads``, and the global norm before clipping.
    """
    max_norm = core.check_real("max_norm", max_norm, minimum=0.0, strict_minimum=True)
    total = global_norm(grads)
    coef = min(1.0, max_norm / (total + eps))
    return [g * coef for g in grads], total


def clip_by_value(grads: Sequence[torch.Tensor], clip_value: float) -> list[torch.Tensor]:
    """Clamp every gradient entry to ``[-clip_value, clip_value]`` (like ``clip_grad_value_``).

    Each entry is treated on its own, so the direction of the gradient changes whenever some
    entries are clamped and others are not.

    Parameters
    ----------
    grads
        Gradient tensors of any shapes.
    clip_value
        Threshold on the absolute value of each entry, > 0.
    """
    clip_value = core.check_real("clip_value", clip_value, minimum=0.0, strict_minimum=True)
    return [g.clamp(-clip_value, clip_value) for g in grads]


def gradient_angle(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> float:
    """Angle in degrees between two gradients, each given as a list of tensors (flattened).

    Computed in float64 as ``atan2`` of the components of ``b`` across and along ``a``
    (accurate for tiny angles, unlike ``acos`` of the cosine).
    """
    if len(a) != len(b) or len(a) == 0:
        raise ValueError("a and b must hold the same, non-zero number of tensors")
    u = torch.cat([t.detach().flatten() for t in a]).double()
    v = torch.cat([t.detach().flatten() for t in b]).double()
    if u.shape != v.shape:
        raise ValueError(f"a and b have different sizes: {u.numel()} and {v.numel()}")
    if not (u.norm() > 0 and v.norm() > 0):
        raise ValueError("the angle needs two non-zero gradients")
    # component of v along and across u: stable for tiny angles, unlike acos of a cosine
    unit = u / u.norm()
    along = v @ unit
    across = (v - along * unit).norm()
    return math.degrees(math.atan2(float(across), float(along)))


# -- the cliff of a one-unit recurrent network ---------------------------------------------
def cliff_loss(
    w: torch.Tensor, b: torch.Tensor, *, seq_len: int, x0: float = 0.5, target: float = 0.7
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``x_t = w * sigmoid(x_{t-1}) + b`` for ``seq_len`` steps; loss ``(x_T - target)^2``.

    The one-unit recurrent network of Pascanu, Mikolov and Bengio (2013), evaluated for many
    parameter pairs at once (each entry is an independent network).

    Parameters
    ----------
    w, b
        Recurrent weight and bias, tensors of the same shape ``(n,)``.
    seq_len
        Number of steps ``T``.
    x0, target
        Initial state and target for ``x_T``.

    Returns
    -------
    loss, x_T
        Both of shape ``(n,)``.
    """
    seq_len = core.check_int("seq_len", seq_len, minimum=1)
    x = torch.full_like(w, float(x0))
    for _ in range(seq_len):
        x = w * torch.sigmoid(x) + b
    return (x - target) ** 2, x


def cliff_gradients(
    w: torch.Tensor, b: torch.Tensor, *, seq_len: int, x0: float = 0.5, target: float = 0.7
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss and its gradient with respect to ``w`` and ``b`` by autograd, for every entry.

    The networks are independent, so one backward pass of the summed loss gives each
    network's own gradient.

    Returns
    -------
    loss, grad_w, grad_b
        Each of shape ``(n,)``, detached.
    """
    w = w.detach().clone().requires_grad_(True)
    b = b.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss, _ = cliff_loss(w, b, seq_len=seq_len, x0=x0, target=target)
        grad_w, grad_b = torch.autograd.grad(loss.sum(), (w, b))
    return loss.detach(), grad_w, grad_b


@dataclass(frozen=True)
class Cliff:
    """The loss of the one-unit recurrent network along ``w`` at a fixed bias, and one step.

    Attributes
    ----------
    w, loss, grad_norm
        Weight grid (refined around the cliff), the loss and the norm of the gradient with
        respect to ``(w, b)``, each of shape ``(n,)``.
    seq_len, bias, threshold, lr
        The settings.
    start
        ``(w, b)`` of the steepest grid point, where the step is taken, shape ``(2,)``.
    grad
        Gradient ``(dL/dw, dL/db)`` there, shape ``(2,)``.
    steps
        ``{"plain": ..., "norm": ..., "value": ...}``: the update ``-lr * g`` without clipping,
        with clipping by norm and by value, each of shape ``(2,)``.
    landing_loss
        The loss after each of the three steps.
    angles
        Angle in degrees between ``g`` and its clipped versions, ``{"norm": ..., "value": ...}``.
    """

    w: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    seq_len: int
    bias: float
    threshold: float
    lr: float
    start: np.ndarray
    grad: np.ndarray
    steps: dict[str, np.ndarray]
    landing_loss: dict[str, float]
    angles: dict[str, float]

    @property
    def start_loss(self) -> float:
        """The loss at :attr:`start`."""
        return float(self.loss[np.argmax(self.grad_norm)])

    def step_length(self, kind: str) -> float:
        """``||Δθ||`` of the step ``kind`` (``"plain"``, ``"norm"`` or ``"value"``)."""
        core.check_choice("kind", kind, STEP_KINDS)
        return float(np.linalg.norm(self.steps[kind]))

    def landing(self, kind: str) -> tuple[float, float]:
        """``(w, loss)`` where the step ``kind`` lands (its loss is taken at its new bias)."""
        core.check_choice("kind", kind, STEP_KINDS)
        return float(self.start[0] + self.steps[kind][0]), self.landing_loss[kind]


def _locate_jump(w: torch.Tensor, b: float, seq_len: int, x0: float, target: float) -> float:
    """Zoom in on the largest jump of ``x_T`` between neighbouring weights, 256 points a round."""
    for _ in range(7):  # each round shrinks the bracket 255-fold: 7 rounds reach float64's limit
        _, x = cliff_loss(w, torch.full_like(w, b), seq_len=seq_len, x0=x0, target=target)
        i = int(torch.argmax((x[1:] - x[:-1]).abs()))
        lo, hi = float(w[i]), float(w[i + 1])
        if hi - lo <= 4e-16 * max(abs(lo), 1.0):
            break
        w = torch.linspace(lo, hi, 256, dtype=torch.float64)
    return (lo + hi) / 2


@functools.cache
def rnn_cliff(
    seq_len: int,
    *,
    bias: float = -2.5,
    threshold: float = 1.0,
    lr: float = 0.1,
    x0: float = 0.5,
    target: float = 0.7,
    w_range: tuple[float, float] = (0.0, 10.0),
    num: int = 601,
) -> Cliff:
    """Sweep the recurrent weight of ``x_t = w * sigmoid(x_{t-1}) + b`` and take one step at the cliff.

    The grid is ``num`` evenly spaced weights plus 80 points packed around the weight where
    ``x_T`` jumps (found by bisection), so that the narrow cliff is resolved at every ``T``.
    All values are computed in float64 with autograd. Results are cached (the demo
    ``cliff_explorer`` and the chapter share them).

    Parameters
    ----------
    seq_len
        Number of recurrent steps ``T``.
    bias
        The fixed bias ``b`` of the slice (the gradient still includes ``dL/db``).
    threshold
        Clipping threshold: on the norm of ``(dL/dw, dL/db)``, or on each entry.
    lr
        Learning rate of the gradient-descent step taken at the steepest point.
    x0, target
        Initial state and target of ``x_T``.
    w_range
        Interval of recurrent weights.
    num
        Number of evenly spaced weights.

    Returns
    -------
    Cliff
    """
    seq_len = core.check_int("seq_len", seq_len, minimum=1, maximum=10_000)
    bias = core.check_real("bias", bias)
    threshold = core.check_real("threshold", threshold, minimum=0.0, strict_minimum=True)
    lr = core.check_real("lr", lr, minimum=0.0, strict_minimum=True)
    num = core.check_int("num", num, minimum=3)
    lo, hi = (core.check_real("w_range", v) for v in w_range)
    if not lo < hi:
        raise ValueError(f"w_range must be increasing, got {w_range!r}")
    with core.one_thread():
        grid = torch.linspace(lo, hi, num, dtype=torch.float64)
        jump = _locate_jump(grid, bias, seq_len, x0, target)
        offsets = torch.logspace(-15, math.log10((hi - lo) / num), 40, dtype=torch.float64)
        near = torch.cat([jump - offsets, jump + offsets])
        w = torch.cat([grid, near[(near > lo) & (near < hi)]]).sort().values
        loss, gw, gb = cliff_gradients(
            w, torch.full_like(w, bias), seq_len=seq_len, x0=x0, target=target
        )
        norm = torch.sqrt(gw**2 + gb**2)
        i = int(torch.argmax(norm))
        g = torch.stack([gw[i], gb[i]])
        (g_norm,), _ = clip_by_norm([g], threshold)
        (g_value,) = clip_by_value([g], threshold)
        start = torch.stack([w[i], torch.tensor(bias, dtype=torch.float64)])
        steps = {"plain": -lr * g, "norm": -lr * g_norm, "value": -lr * g_value}
        ends = torch.stack([start + s for s in steps.values()])
        landing, _ = cliff_loss(ends[:, 0], ends[:, 1], seq_len=seq_len, x0=x0, target=target)
    return Cliff(
        w=w.numpy(),
        loss=loss.numpy(),
        grad_norm=norm.numpy(),
        seq_len=seq_len,
        bias=bias,
        threshold=threshold,
        lr=lr,
        start=start.numpy(),
        grad=g.numpy(),
        steps={k: v.numpy() for k, v in steps.items()},
        landing_loss={k: float(v) for k, v in zip(steps, landing, strict=True)},
        angles={"norm": gradient_angle([g], [g_norm]), "value": gradient_angle([g], [g_value])},
    )


# -- training a network whose gradient explodes ---------------------------------------------
@dataclass(frozen=True)
class ClipRun:
    """One training run, one entry per step (up to and including the first non-finite loss).

    Attributes
    ----------
    mode, threshold, lr
        Clipping mode (one of :data:`CLIP_MODES`), its threshold and the learning rate.
    step
        Step numbers ``1, 2, ...``, shape ``(steps,)``.
    loss
        Mini-batch loss before the step's update, shape ``(steps,)``.
    grad_norm
        Global gradient norm before clipping, shape ``(steps,)``.
    clipped
        Whether clipping changed the gradient at that step, shape ``(steps,)``.
    angle
        Angle in degrees between the clipped and the original gradient, shape ``(steps,)``.
    first_nonfinite
        The first step whose loss or gradient is not finite (``None`` if none); training
        stops there.
    accuracy
        Accuracy on the whole data set after training (NaN if training diverged).
    """

    mode: str
    threshold: float | None
    lr: float
    step: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    clipped: np.ndarray
    angle: np.ndarray
    first_nonfinite: int | None
    accuracy: float

    @property
    def share_clipped(self) -> float:
        """Share of the steps taken at which clipping was active."""
        return float(self.clipped.mean())

    def final_loss(self, last: int = 20) -> float:
        """Mean loss over the last ``last`` steps; ``inf`` if training diverged."""
        if self.first_nonfinite is not None:
            return float("inf")
        return float(self.loss[-last:].mean())


def exploding_mlp(
    *, num_layers: int = 16, width: int = 32, gain: float = 1.2, seed: int = 0
) -> core.MLP:
    """A deep ReLU network whose gradient grows towards the input.

    Weights ``N(0, gain^2 * 2 / width)`` (He's variance times ``gain^2``), biases zero, so
    each layer multiplies the backward signal by about ``gain``.
    """
    gain = core.check_real("gain", gain, minimum=0.0, strict_minimum=True)
    width = core.check_int("width", width, minimum=1)
    std = gain * math.sqrt(2.0 / width)
    return core.build_mlp(
        2,
        2,
        num_layers=num_layers,
        width=width,
        activation="relu",
        init="normal",
        std=std,
        seed=seed,
    )


@core.one_thread()
def initial_gradient_norms(
    *, num_layers: int = 16, width: int = 32, gain: float = 1.2, batch: int = 256, seed: int = 0
) -> np.ndarray:
    """``||dL/dh_l||`` of every hidden layer of :func:`exploding_mlp` at initialization.

    Measured with :func:`vglib.core.measure_gradient_flow` on ``batch`` spiral points.

    Returns
    -------
    numpy.ndarray
        Shape ``(num_layers,)``, layer 1 (next to the input) first.
    """
    batch = core.check_int("batch", batch, minimum=1)
    X, y = core.make_spirals(batch, seed=seed)
    model = exploding_mlp(num_layers=num_layers, width=width, gain=gain, seed=seed)
    return core.measure_gradient_flow(model, X, y).grad_norm


class _ClipAndRecord(core.Hook):
    """Clip before the update, record what clipping did, stop at the first non-finite step."""

    def __init__(self, mode: str, threshold: float | None) -> None:
        self.mode, self.threshold = mode, threshold
        self.grad_norm: list[float] = []
        self.clipped: list[bool] = []
        self.angle: list[float] = []
        self.first_nonfinite: int | None = None

    def before_update(self, step: core.Step) -> None:
        params = list(step.model.parameters())
        if self.mode == "none":  # nothing to compare: skip the copy (a third of the step's time)
            total = float(torch.nn.utils.clip_grad_norm_(params, math.inf))
            finite = math.isfinite(step.loss.item()) and math.isfinite(total)
            changed, angle = False, 0.0 if finite else float("nan")
        else:
            original = [p.grad.detach().clone() for p in params]
            if self.mode == "value":
                torch.nn.utils.clip_grad_value_(params, self.threshold)
                total = global_norm(original)
            else:
                total = float(torch.nn.utils.clip_grad_norm_(params, self.threshold))
            new = [p.grad for p in params]
            finite = math.isfinite(step.loss.item()) and math.isfinite(total)
            changed = finite and any(
                not torch.equal(a, b) for a, b in zip(original, new, strict=True)
            )
            angle = gradient_angle(original, new) if finite else float("nan")
        self.grad_norm.append(total)
        self.clipped.append(changed)
        self.angle.append(angle)
        if not finite:
            self.first_nonfinite = step.number
            step.skip_update = step.stop = True


@core.one_thread()
def train_exploding(
    *,
    mode: str = "none",
    threshold: float | None = None,
    lr: float = 0.1,
    steps: int = 200,
    num_layers: int = 16,
    width: int = 32,
    gain: float = 1.2,
    batch_size: int = 64,
    seed: int = 0,
) -> ClipRun:
    """Train :func:`exploding_mlp` on the spirals with plain SGD, optionally clipping.

    :func:`vglib.core.train` with a hook that clips with torch's ``clip_grad_norm_`` or
    ``clip_grad_value_`` before ``optimizer.step()`` and records the gradient norm before
    clipping. Training stops at the first step whose loss or gradient norm is not finite
    (that step's update is not taken).

    Parameters
    ----------
    mode
        One of :data:`CLIP_MODES`.
    threshold
        Global-norm threshold (``"norm"``) or per-entry threshold (``"value"``); must be
        ``None`` for ``"none"``.
    lr
        SGD learning rate.
    steps
        Number of steps.
    num_layers, width, gain
        See :func:`exploding_mlp`.
    batch_size
        Examples per step, drawn with replacement from 512 spiral points
        (:func:`vglib.core.batches_with_replacement`, seed ``seed + 1``).
    seed
        Seed of the weights, the data and the batches.
    """
    core.check_choice("mode", mode, CLIP_MODES)
    if mode == "none":
        if threshold is not None:
            raise ValueError("threshold only applies to mode='norm' or mode='value'")
    else:
        if threshold is None:
            raise ValueError(f"mode={mode!r} needs a threshold, e.g. threshold=1.0")
        threshold = core.check_real("threshold", threshold, minimum=0.0, strict_minimum=True)
    lr = core.check_real("lr", lr, minimum=0.0, strict_minimum=True)
    steps = core.check_int("steps", steps, minimum=1)
    model = exploding_mlp(num_layers=num_layers, width=width, gain=gain, seed=seed)
    X, y = core.make_spirals(512, seed=seed)
    record = _ClipAndRecord(mode, threshold)
    history = core.train(
        model,
        batches=core.batches_with_replacement(X, y, batch_size, seed=seed + 1),
        steps=steps,
        optimizer="sgd",
        lr=lr,
        on_step=record,
        record_every=None,
    )
    diverged = record.first_nonfinite is not None
    return ClipRun(
        mode=mode,
        threshold=threshold,
        lr=lr,
        step=np.arange(1, history.steps_run + 1),
        loss=history.losses,
        grad_norm=np.asarray(record.grad_norm, dtype=float),
        clipped=np.asarray(record.clipped, dtype=bool),
        angle=np.asarray(record.angle, dtype=float),
        first_nonfinite=record.first_nonfinite,
        accuracy=float("nan") if diverged else core.accuracy(model, X, y),
    )


# -- low precision ---------------------------------------------------------------------------
def float16_limits() -> dict[str, float]:
    """float16's largest value, smallest normal and smallest subnormal number.

    Returns
    -------
    dict
        ``{"max": 65504, "tiny": 2**-14, "smallest_subnormal": 2**-24}``, read from
        ``torch.finfo`` (the subnormal one is ``tiny * eps``).
    """
    info = torch.finfo(torch.float16)
    return {
        "max": float(info.max),
        "tiny": float(info.tiny),
        "smallest_subnormal": float(info.tiny * info.eps),
    }


@dataclass(frozen=True)
class LowPrecision:
    """What casting each layer's weight gradient to a 16-bit format does to it.

    All shares are of the layer's non-zero float32 entries, shape ``(L,)``.

    Attributes
    ----------
    layer
        Layer numbers ``1..L``.
    grad_norm
        ``||dL/dW_l||`` in float32.
    zero
        ``{"float16": ..., "float16_scaled": ..., "bfloat16": ...}``: share of entries that
        become exactly zero. ``"float16_scaled"`` casts ``scale * g`` and divides by ``scale``
        in float32 afterwards (loss scaling).
    subnormal
        Share of entries that land in float16's subnormal range (fewer significant bits),
        without and with scaling: ``{"float16": ..., "float16_scaled": ...}``.
    rel_error
        Relative error of the layer's gradient norm after the round trip, per format.
    overflow
        Whether any scaled entry overflowed float16 (became inf).
    scale
        The loss scale.
    """

    layer: np.ndarray
    grad_norm: np.ndarray
    zero: dict[str, np.ndarray]
    subnormal: dict[str, np.ndarray]
    rel_error: dict[str, np.ndarray]
    overflow: bool
    scale: float


@core.one_thread()
def low_precision_gradients(
    model: core.MLP, X: torch.Tensor, y: torch.Tensor, *, scale: float = 2.0**16
) -> LowPrecision:
    """Compute the weight gradients in float32 and measure what 16-bit storage does to them.

    This isolates the storage format: the float32 gradient ``g`` is cast to float16 and to
    bfloat16; for loss scaling, ``scale * g`` (the gradient of ``scale * loss``) is cast to
    float16 and unscaled in float32.

    Parameters
    ----------
    model
        A network from :func:`vglib.core.build_mlp`.
    X, y
        A batch.
    scale
        The loss scale ``S`` (> 0).
    """
    core.check_batch(model, X, y)
    scale = core.check_real("scale", scale, minimum=0.0, strict_minimum=True)
    weights = [block.linear.weight for block in model.layers]
    with torch.enable_grad():
        grads = torch.autograd.grad(core.loss_fn(model(X), y), weights)
    tiny = torch.finfo(torch.float16).tiny
    zero: dict[str, list] = {"float16": [], "float16_scaled": [], "bfloat16": []}
    sub: dict[str, list] = {"float16": [], "float16_scaled": []}
    err: dict[str, list] = {"float16": [], "float16_scaled": [], "bfloat16": []}
    overflow = False
    for g in grads:
        g = g.detach().float()
        mask = g != 0
        trips = {
            "float16": g.half(),
            "float16_scaled": (g * scale).half(),
            "bfloat16": g.bfloat16(),
        }
        for name, h in trips.items():
            zero[name].append(float((h[mask] == 0).float().mean()))
            back = h.float() / (scale if name == "float16_scaled" else 1.0)
            err[name].append(float((back.norm() - g.norm()).abs() / g.norm()))
        for name in sub:
            h = trips[name][mask].float().abs()
            sub[name].append(float(((h > 0) & (h < tiny)).float().mean()))
        overflow = overflow or bool(torch.isinf(trips["float16_scaled"]).any())
    return LowPrecision(
        layer=np.arange(1, len(weights) + 1),
        grad_norm=np.array([g.norm().item() for g in grads]),
        zero={k: np.array(v) for k, v in zero.items()},
        subnormal={k: np.array(v) for k, v in sub.items()},
        rel_error={k: np.array(v) for k, v in err.items()},
        overflow=overflow,
        scale=scale,
    )


@dataclass(frozen=True)
class ScalerRun:
    """A few steps of float16 autocast training with ``torch.amp.GradScaler``.

    Attributes
    ----------
    step
        ``1..steps``, shape ``(steps,)``.
    scale
        The scale used for that step's backward pass, shape ``(steps,)``.
    skipped
        Whether the scaler skipped the optimizer step (inf/NaN found in the gradients).
    loss
        The step's loss (float32), shape ``(steps,)``.
    """

    step: np.ndarray
    scale: np.ndarray
    skipped: np.ndarray
    loss: np.ndarray


@core.one_thread()
def train_grad_scaler(
    model: core.MLP,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 30,
    lr: float = 0.05,
    init_scale: float = 2.0**16,
    growth_interval: int = 5,
    batch_size: int = 64,
    seed: int = 0,
) -> ScalerRun:
    """Train ``model`` in place with float16 autocast on the CPU and a ``GradScaler``.

    :func:`vglib.core.train` with ``scaler=`` and ``autocast=torch.float16``. A step counts
    as skipped when the scaler lowered its scale in ``update()``, which it does exactly when
    it found inf or NaN gradients and skipped ``optimizer.step()``.

    Parameters
    ----------
    model
        A network from :func:`vglib.core.build_mlp` (float32 weights).
    X, y
        Data set: inputs ``(n, in_features)``, labels ``(n,)``.
    steps, lr
        Number of SGD steps and learning rate.
    init_scale, growth_interval
        Passed to ``torch.amp.GradScaler("cpu", ...)``; the scale doubles after
        ``growth_interval`` steps without inf and halves at every step with one.
    batch_size, seed
        Batches of ``batch_size`` examples drawn with replacement
        (:func:`vglib.core.batches_with_replacement`) from the seed ``seed``.
    """
    core.check_batch(model, X, y)
    steps = core.check_int("steps", steps, minimum=1)
    lr = core.check_real("lr", lr, minimum=0.0, strict_minimum=True)
    init_scale = core.check_real("init_scale", init_scale, minimum=0.0, strict_minimum=True)
    growth_interval = core.check_int("growth_interval", growth_interval, minimum=1)
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=growth_interval)
    scales: list[float] = []
    history = core.train(
        model,
        batches=core.batches_with_replacement(X, y, batch_size, seed=seed),
        steps=steps,
        optimizer="sgd",
        lr=lr,
        scaler=scaler,
        autocast=torch.float16,
        # the scale this step's backward pass used (the scaler changes it in update())
        on_step=lambda step: scales.append(scaler.get_scale()),
        record_every=None,
    )
    return ScalerRun(
        step=np.arange(1, steps + 1),
        scale=np.array(scales, dtype=float),
        skipped=history.skipped,
        loss=history.losses,
    )
