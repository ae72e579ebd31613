"""Batch normalization by hand, and the measurements of the batch-norm chapter.

:func:`batchnorm_forward` is the transform of Ioffe and Szegedy (2015) written out, in
training and evaluation mode, with the running-statistics update of ``nn.BatchNorm1d``.
The other functions measure what batch norm does to a deep MLP from
:func:`vglib.core.build_mlp`: per-layer gradient norms with and without it, the backward
gain ``gamma / sigma_B`` of every batch-norm layer and the mean activation slope (what
actually carries the gradient through a deep sigmoid network with batch norm) --
:func:`bn_depth` is what the chapter's demo shows --, the growth of the gradient with depth
at initialization, its scale invariance, its cost per training step, and training curves
(with and without noise injected after it).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import torch

from vglib.core import (
    ACTIVATIONS,
    BN_POSITIONS,
    MLP,
    GradientFlow,
    StepTimer,
    TrainHistory,
    activation_slope,
    build_mlp,
    check_choice,
    check_int,
    check_real,
    loss_fn,
    make_spirals,
    make_teacher_regression,
    measure_gradient_flow,
    one_thread,
    shuffled_batches,
    train,
)

#: Where a network may (or may not) have batch norm, as used by :func:`gradient_profile`.
BN_MODES = ("none", "before", "after")


# -- the transform -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchNormOutput:
    """Result of :func:`batchnorm_forward`.

    Attributes
    ----------
    y
        Normalized, scaled and shifted output, shape ``(batch, features)``.
    running_mean, running_var
        Running statistics after the call, shape ``(features,)`` (unchanged in eval mode).
    """

    y: torch.Tensor
    running_mean: torch.Tensor
    running_var: torch.Tensor


def batchnorm_forward(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    *,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> BatchNormOutput:
    """Batch normalization of a ``(batch, features)`` tensor, written out.

    In training mode each feature is normalized with the mean and the biased variance of
    the batch, ``x_hat = (x - mean) / sqrt(var + eps)``, then ``y = gamma * x_hat + beta``;
    the running statistics move towards the batch's:
    ``running = (1 - momentum) * running + momentum * batch_stat``, where the running
    variance uses the *unbiased* batch variance (as ``nn.BatchNorm1d`` does). In evaluation
    mode the running statistics replace the batch's and are not changed.

    Parameters
    ----------
    x
        Input, shape ``(batch, features)``; training mode needs ``batch >= 2``.
    gamma, beta
        Learnable scale and shift, shape ``(features,)``.
    running_mean, running_var
        Running statistics, shape ``(features,)``; not modified in place.
    training
        Use batch statistics (``True``) or running statistics (``False``).
    momentum
        Weight of the new batch statistic in the running average, in ``[0, 1]``.
    eps
        Added to the variance for numerical safety.

    Returns
    -------
    BatchNormOutput
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError("x must be a 2-D tensor of shape (batch, features)")
    check_real("momentum", momentum, minimum=0.0, maximum=1.0)
    check_real("eps", eps, minimum=0.0)
    if training:
        n = x.shape[0]
        if n < 2:
            raise ValueError("training mode needs a batch of at least 2 examples")
        mean = x.mean(dim=0)
        var = x.var(dim=0, unbiased=False)
        new_mean = (1 - momentum) * running_mean + momentum * mean.detach()
        new_var = (1 - momentum) * running_var + momentum * var.detach() * n / (n - 1)
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean, running_var
    x_hat = (x - mean) / torch.sqrt(var + eps)
    return BatchNormOutput(gamma * x_hat + beta, new_mean, new_var)


# -- gradients through depth -----------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _teacher(batch: int, width: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    # full-rank inputs of the network's width: 2-D spirals would make every layer rank 2
    with one_thread():
        return make_teacher_regression(batch, in_features=width, seed=seed)


#: The precisions :func:`bn_profile` measures in, by name.
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _fresh(
    num_layers: int, activation: str, bn: str, width: int, batch: int, init: str, seed: int
) -> tuple[MLP, torch.Tensor, torch.Tensor]:
    """The network and data of :func:`gradient_profile` and :func:`bn_profile`."""
    check_choice("bn", bn, BN_MODES)
    check_choice("activation", activation, ACTIVATIONS)
    check_int("batch", batch, minimum=2)
    X, y = _teacher(batch, width, seed)
    with one_thread():
        model = build_mlp(
            width,
            1,
            num_layers=num_layers,
            width=width,
            activation=activation,
            init=init,
            batch_norm=bn != "none",
            bn_position="before" if bn == "none" else bn,
            seed=seed,
        )
    return model, X, y


@dataclass(frozen=True)
class BNProfile:
    """One forward and backward pass through a network, with what its batch norms did.

    Every array has shape ``(num_layers,)``, layer 1 (next to the input) first.

    Attributes
    ----------
    flow
        The :class:`~vglib.core.GradientFlow` of the pass (gradient norms, saturation ...).
    gain
        The backward gain of each layer's batch norm: the mean over units of
        ``gamma_j / sqrt(sigma_Bj**2 + eps)``, where ``sigma_Bj**2`` is the biased batch
        variance of unit ``j``'s input to the batch norm. Differentiating
        ``x_hat = (x - mu_B) / sigma_B`` shows that a training-mode batch norm multiplies the
        gradient flowing back through unit ``j`` by ``gamma_j / sigma_Bj`` (after projecting out
        the batch mean and the component along ``x_hat``). NaN for layers without batch norm.
    slope
        Mean over batch and units of the activation's slope ``phi'(z)`` at its input ``z``.
    """

    flow: GradientFlow
    gain: np.ndarray
    slope: np.ndarray

    @property
    def mean_slope(self) -> float:
        """Mean activation slope over every layer, example and unit."""
        return float(np.mean(self.slope))

    @property
    def gain_product(self) -> float:
        """Product of the gains of layers ``2 .. L``: the batch norms between ``h_L`` and ``h_1``.

        The gradient reaching ``h_1`` (layer 1's output) from ``h_L`` passes back through the
        batch norms of layers ``L`` down to 2, not through layer 1's own. NaN without batch norm.
        """
        return float(np.prod(self.gain[1:]))

    @property
    def max_saturation(self) -> float:
        """Largest share of saturated (example, unit) pairs in any layer; NaN if none saturate."""
        sat = self.flow.saturation
        return float(np.max(sat)) if np.all(np.isfinite(sat)) else float("nan")


def profile_model(model: MLP, X: torch.Tensor, y: torch.Tensor) -> BNProfile:
    """Measure ``model`` on ``(X, y)``: gradient flow, batch-norm gains and activation slopes.

    Batch norm layers use the model's current mode; in training mode (the mode of a fresh
    model) the gains are computed from the batch statistics of this very pass.

    Parameters
    ----------
    model
        A network from :func:`vglib.core.build_mlp`.
    X, y
        Inputs ``(batch, in_features)`` and targets, as for
        :func:`vglib.core.measure_gradient_flow`.

    Returns
    -------
    BNProfile
    """
    seen: list[torch.Tensor] = []  # one mean gain per batch norm, in forward order

    def record(module, inputs, output):
        x = inputs[0].detach()
        if module.training:
            var = x.var(dim=0, unbiased=False)
        else:
            var = module.running_var
        gamma = module.weight.detach() if module.affine else torch.ones_like(var)
        seen.append((gamma / torch.sqrt(var + module.eps)).mean())

    handles = [
        block.norm.register_forward_hook(record)
        for block in model.layers
        if isinstance(block.norm, torch.nn.BatchNorm1d)
    ]
    try:
        flow = measure_gradient_flow(model, X, y, bins=1)
    finally:
        for handle in handles:
            handle.remove()
    has_bn = [isinstance(block.norm, torch.nn.BatchNorm1d) for block in model.layers]
    gains = iter(seen[: sum(has_bn)])  # measure_gradient_flow ran one forward pass
    gain = np.array([float(next(gains)) if bn else np.nan for bn in has_bn], dtype=float)
    # the activations' inputs, from a second pass whose running-statistics update is undone
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    with torch.no_grad():
        _, pre, _ = model.forward_with_hidden(X)
        for name, b in model.named_buffers():
            b.copy_(buffers[name])
    slope = activation_slope(model.layers[0].act, torch.stack(pre))  # (layers, batch, width)
    return BNProfile(flow=flow, gain=gain, slope=slope.mean(dim=(1, 2)).double().numpy())


def bn_profile(
    num_layers: int,
    activation: str = "relu",
    bn: str = "none",
    *,
    width: int = 64,
    batch: int = 128,
    init: str = "xavier",
    dtype: str = "float32",
    seed: int = 0,
) -> BNProfile:
    """:func:`profile_model` of a fresh MLP, with or without batch norm, at initialization.

    The network and data are those of :func:`gradient_profile`; ``dtype="float64"`` measures
    the same network in double precision, where gradients of 1e-40 do not underflow to zero.

    Parameters
    ----------
    num_layers, activation, bn, width, batch, init, seed
        As for :func:`gradient_profile`.
    dtype
        One of :data:`DTYPES`.

    Returns
    -------
    BNProfile
        Measured in training mode (batch statistics), as during training.
    """
    torch_dtype = DTYPES[check_choice("dtype", dtype, DTYPES)]
    model, X, y = _fresh(num_layers, activation, bn, width, batch, init, seed)
    # many small operations: one thread is much faster on a loaded machine
    with one_thread():
        return profile_model(model.to(torch_dtype), X.to(torch_dtype), y.to(torch_dtype))


def gradient_profile(
    num_layers: int,
    activation: str = "relu",
    bn: str = "none",
    *,
    width: int = 64,
    batch: int = 128,
    init: str = "xavier",
    seed: int = 0,
) -> GradientFlow:
    """Per-layer gradient norms of a fresh MLP, with or without batch norm, at initialization.

    The data is :func:`vglib.core.make_teacher_regression` with ``width`` input features
    (full-rank inputs; a teacher network's outputs as targets, mean squared error).
    :func:`bn_profile` measures the same pass and adds the batch-norm gains and slopes.

    Parameters
    ----------
    num_layers
        Hidden layers.
    activation
        One of the activations of :func:`vglib.core.build_mlp`.
    bn
        One of :data:`BN_MODES`: no batch norm, or batch norm before or after the activation.
    width, batch
        Units per layer and examples in the batch.
    init
        Weight initialization (see :func:`vglib.core.build_mlp`).
    seed
        Seed for the weights and the data.

    Returns
    -------
    GradientFlow
        Measured in training mode (batch statistics), as during training.
    """
    model, X, y = _fresh(num_layers, activation, bn, width, batch, init, seed)
    # many small operations: one thread is much faster on a loaded machine
    with one_thread():
        return measure_gradient_flow(model, X, y, bins=1)


def growth_factor(grad_norm: np.ndarray, *, skip: int = 5) -> float:
    """Geometric-mean factor by which a gradient norm grows per layer towards the input.

    Fits ``log ||g_l||`` against ``l`` by least squares over layers ``1 .. L - skip`` (the
    top ``skip`` layers, next to the head, are left out as a transient) and returns
    ``exp(-slope)``: above 1 the gradient grows going back towards the input.

    Parameters
    ----------
    grad_norm
        Per-layer norms ``||dL/dh_l||``, shape ``(num_layers,)``, layer 1 first.
    skip
        Layers next to the output to leave out.
    """
    g = np.asarray(grad_norm, dtype=float)
    check_int("skip", skip, minimum=0, maximum=max(len(g) - 2, 0))
    g = np.maximum(g[: len(g) - skip], np.finfo(float).tiny)
    slope = np.polyfit(np.arange(len(g)), np.log(g), 1)[0]
    return float(np.exp(-slope))


# -- what the demo shows ----------------------------------------------------------------------------
@dataclass(frozen=True)
class BNDepth:
    """The three networks of :func:`bn_depth` side by side: without batch norm, with it before
    and with it after the activation.

    Every mapping is keyed by the setting of :data:`BN_MODES` (``"none"``, ``"before"``,
    ``"after"``); per-layer arrays have shape ``(num_layers,)``, layer 1 first.

    Attributes
    ----------
    num_layers, activation, width, batch
        The networks and the batch they were measured on.
    layer
        Layer numbers ``1 .. num_layers``.
    profiles
        The :class:`BNProfile` of each network.
    norms
        ``||dL/dh_l||`` per layer.
    ratio
        ``||dL/dh_1|| / ||dL/dh_L||``: layer 1's gradient over the last layer's (0 when the
        gradient underflows in float32 before it reaches layer 1).
    growth
        Geometric-mean growth of the gradient per layer towards the input, from
        :func:`growth_factor` leaving out the ``min(5, num_layers - 2)`` layers next to the
        output.
    gain
        Per-layer backward gain ``gamma / sigma_B`` of the batch norms (NaN without).
    gain_mean
        The mean gain over layers ``2 .. L`` (NaN without batch norm).
    gain_product
        The product of the gains over layers ``2 .. L`` (NaN without batch norm).
    slope
        Mean activation slope over every layer, example and unit.
    saturation
        Largest share of saturated units in any layer (NaN for activations that do not
        saturate).
    """

    num_layers: int
    activation: str
    width: int
    batch: int
    layer: np.ndarray
    profiles: dict[str, BNProfile]
    norms: dict[str, np.ndarray]
    ratio: dict[str, float]
    growth: dict[str, float]
    gain: dict[str, np.ndarray]
    gain_mean: dict[str, float]
    gain_product: dict[str, float]
    slope: dict[str, float]
    saturation: dict[str, float]


@functools.cache
def bn_depth(
    num_layers: int, activation: str, *, width: int = 64, batch: int = 128, seed: int = 0
) -> BNDepth:
    """:func:`bn_profile` of a fresh Xavier-initialized MLP in every setting of :data:`BN_MODES`.

    Cached: the chapter's cells reuse what its demo computed for the same values.

    Parameters
    ----------
    num_layers
        Hidden layers, at least 2 (the gains are averaged over layers 2 .. L).
    activation
        One of the activations of :func:`vglib.core.build_mlp`.
    width, batch
        Units per layer (and input features) and examples in the batch.
    seed
        Seed for the weights and the data.

    Returns
    -------
    BNDepth
    """
    check_int("num_layers", num_layers, minimum=2)
    profiles = {
        bn: bn_profile(num_layers, activation, bn, width=width, batch=batch, seed=seed)
        for bn in BN_MODES
    }
    skip = min(5, num_layers - 2)
    return BNDepth(
        num_layers=num_layers,
        activation=activation,
        width=width,
        batch=batch,
        layer=profiles["none"].flow.layer,
        profiles=profiles,
        norms={bn: p.flow.grad_norm for bn, p in profiles.items()},
        ratio={bn: float(p.flow.grad_norm[0] / p.flow.grad_norm[-1]) for bn, p in profiles.items()},
        growth={bn: growth_factor(p.flow.grad_norm, skip=skip) for bn, p in profiles.items()},
        gain={bn: p.gain for bn, p in profiles.items()},
        gain_mean={bn: float(np.mean(p.gain[1:])) for bn, p in profiles.items()},
        gain_product={bn: p.gain_product for bn, p in profiles.items()},
        slope={bn: p.mean_slope for bn, p in profiles.items()},
        saturation={bn: p.max_saturation for bn, p in profiles.items()},
    )


# -- scale invariance -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ScaleInvariance:
    """How ``linear -> batch norm`` responds to scaling the weights by ``c``.

    Attributes
    ----------
    c
        The factor.
    output_diff
        Largest absolute difference between the two outputs.
    input_grad_diff
        Largest absolute difference between the gradients with respect to the input.
    weight_grad_ratio
        ``||dL/dW|| / ||dL/d(cW)||``; equals ``c`` when the weight gradient is divided by ``c``.
    """

    c: float
    output_diff: float
    input_grad_diff: float
    weight_grad_ratio: float


def scale_invariance(
    c: float, *, batch: int = 64, fan_in: int = 32, width: int = 32, seed: int = 0
) -> ScaleInvariance:
    """Compare ``BN(W x)`` with ``BN(c W x)`` (training mode, float64) and their gradients.

    The loss is a fixed random linear function of the output, ``sum(R * y)``, so that the
    gradients are not trivially zero (the sum of a batch-normalized output is constant).

    Parameters
    ----------
    c
        Positive factor applied to ``W``.
    batch, fan_in, width
        Sizes of ``x`` ``(batch, fan_in)`` and ``W`` ``(width, fan_in)``.
    seed
        Seed for ``x``, ``W`` and ``R``.
    """
    check_real("c", c, minimum=0.0, strict_minimum=True)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    x = torch.randn(batch, fan_in, generator=gen, dtype=torch.float64)
    W = torch.randn(width, fan_in, generator=gen, dtype=torch.float64) / fan_in**0.5
    R = torch.randn(batch, width, generator=gen, dtype=torch.float64)
    gamma = torch.ones(width, dtype=torch.float64)
    beta = torch.zeros(width, dtype=torch.float64)
    zeros, ones = torch.zeros(width, dtype=torch.float64), torch.ones(width, dtype=torch.float64)
    results = []
    for weight in (W, c * W):
        xi = x.clone().requires_grad_(True)
        wi = weight.clone().requires_grad_(True)
        # eps = 0: with eps > 0 the invariance is exact only up to eps / var
        out = batchnorm_forward(xi @ wi.T, gamma, beta, zeros, ones, training=True, eps=0.0).y
        gx, gw = torch.autograd.grad((R * out).sum(), [xi, wi])
        results.append((out.detach(), gx, gw))
    (y1, gx1, gw1), (y2, gx2, gw2) = results
    return ScaleInvariance(
        c=float(c),
        output_diff=float((y1 - y2).abs().max()),
        input_grad_diff=float((gx1 - gx2).abs().max()),
        weight_grad_ratio=float(gw1.norm() / gw2.norm()),
    )


# -- cost ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepTimes:
    """Wall-clock seconds of training steps without and with batch norm, shape ``(repeats,)``.

    Attributes
    ----------
    plain
        Steps of the network without batch norm.
    batch_norm
        Steps of the same network with batch norm before every activation.
    """

    plain: np.ndarray
    batch_norm: np.ndarray

    @property
    def median_plain(self) -> float:
        """Median seconds per step without batch norm."""
        return float(np.median(self.plain))

    @property
    def median_batch_norm(self) -> float:
        """Median seconds per step with batch norm."""
        return float(np.median(self.batch_norm))


def step_time(
    *,
    num_layers: int = 10,
    width: int = 256,
    batch: int = 128,
    repeats: int = 40,
    warmup: int = 3,
    seed: int = 0,
) -> StepTimes:
    """Wall-clock seconds of full training steps (forward, backward, SGD update), one thread.

    Two ReLU networks of the same size (He initialization), one without and one with batch
    norm before every activation, take turns step by step, so that both see the same machine
    load. Each step is one :func:`vglib.core.train` step on the whole batch, timed by a
    :class:`StepTimer`.

    Parameters
    ----------
    num_layers, width, batch
        Size of the networks and of the batch (spirals points).
    repeats
        Timed steps per network.
    warmup
        Untimed steps per network before them.
    seed
        Seed for weights and data.

    Returns
    -------
    StepTimes
        Report medians: single steps are noisy on a shared machine.
    """
    check_int("repeats", repeats, minimum=1)
    check_int("warmup", warmup, minimum=0)
    X, y = make_spirals(batch, seed=seed)
    runs = []
    for bn in (False, True):
        model = build_mlp(
            2, 2, num_layers=num_layers, width=width, batch_norm=bn, init="he", seed=seed
        )
        runs.append((model, torch.optim.SGD(model.parameters(), lr=1e-3), StepTimer()))
    for _ in range(warmup + repeats):
        for model, optimizer, timer in runs:
            train(
                model,
                X,
                y,
                steps=1,
                optimizer=optimizer,
                batch_size=None,
                on_step=timer,
                record_every=None,
                progress=False,
            )
    plain, with_bn = (np.asarray(timer.seconds[warmup:]) for _, _, timer in runs)
    return StepTimes(plain=plain, batch_norm=with_bn)


# -- training ----------------------------------------------------------------------------------------
def _add_noise_hooks(model: MLP, noise: float, seed: int) -> list:
    """After every batch norm, in training mode, add per-step, per-unit random shift and scale."""
    gen = torch.Generator().manual_seed(seed)
    handles = []

    def hook(module, inputs, output):
        if not module.training:
            return output
        width = output.shape[1]
        scale = 1.0 + noise * torch.rand(width, generator=gen)
        shift = noise * (2 * torch.rand(width, generator=gen) - 1)
        return output * scale + shift

    for block in model.layers:
        handles.append(block.norm.register_forward_hook(hook))
    return handles


def train_compare(
    configs: dict[str, dict],
    *,
    num_layers: int = 10,
    width: int = 64,
    activation: str = "sigmoid",
    n_samples: int = 512,
    steps: int = 300,
    lr: float = 0.5,
    optimizer: str = "sgd",
    batch_size: int = 64,
    record_every: int = 20,
    seed: int = 0,
) -> dict[str, TrainHistory]:
    """Train the same MLP on spirals under several batch-norm settings.

    Parameters
    ----------
    configs
        ``{name: options}``, names of the caller's choosing; each ``options`` may hold ``bn``
        (one of :data:`BN_MODES`, default ``"none"``) and ``noise`` (default 0: the width of
        the random per-unit shift ``U(-noise, noise)`` and scale ``1 + U(0, noise)`` redrawn
        at every forward pass after every batch norm, as in Santurkar et al.'s "noisy" batch
        norm).
    num_layers, width, activation
        The network (Xavier initialization, the same seed for every setting).
    n_samples
        Spirals points.
    steps, lr, optimizer, batch_size, record_every
        As in :func:`vglib.core.train`.
    seed
        Seed for weights, data, batch order and noise.

    Returns
    -------
    dict
        ``{name: TrainHistory}``, in the order of ``configs``.
    """
    X, y = make_spirals(n_samples, seed=seed)
    out = {}
    for name, options in configs.items():
        bn = check_choice("bn", options.get("bn", "none"), BN_MODES)
        noise = check_real("noise", options.get("noise", 0.0), minimum=0.0)
        model = build_mlp(
            2,
            2,
            num_layers=num_layers,
            width=width,
            activation=activation,
            init="xavier",
            batch_norm=bn != "none",
            bn_position="before" if bn == "none" else bn,
            seed=seed,
        )
        if noise > 0 and bn == "none":
            raise ValueError("noise needs batch norm: use bn='before' or bn='after'")
        handles = _add_noise_hooks(model, noise, seed) if noise > 0 else []
        out[name] = train(
            model,
            X,
            y,
            steps=steps,
            lr=lr,
            optimizer=optimizer,
            batch_size=batch_size,
            record_every=record_every,
            seed=seed,
            progress=False,
        )
        for handle in handles:
            handle.remove()
    return out


@dataclass(frozen=True)
class LayerInput:
    """Statistics of a layer's input over batch and units (see :func:`next_layer_input`).

    Attributes
    ----------
    mean, std
        Mean and standard deviation.
    zero_share
        Share of exact zeros.
    negative_share
        Share of negative values.
    """

    mean: float
    std: float
    zero_share: float
    negative_share: float


@one_thread()
@torch.no_grad()
def next_layer_input(
    bn_position: str, *, num_layers: int = 4, width: int = 64, batch: int = 512, seed: int = 0
) -> LayerInput:
    """Statistics of what enters the last hidden layer's linear map in a fresh ReLU BN network.

    Parameters
    ----------
    bn_position
        One of ``("before", "after")`` the activation.
    num_layers, width, batch
        Network and batch size (He initialization, training-mode batch statistics, spirals
        points).
    seed
        Seed for weights and data.

    Returns
    -------
    LayerInput
        Of the last-but-one layer's output.
    """
    check_choice("bn_position", bn_position, BN_POSITIONS)
    check_int("num_layers", num_layers, minimum=2)
    model = build_mlp(
        2,
        2,
        num_layers=num_layers,
        width=width,
        init="he",
        batch_norm=True,
        bn_position=bn_position,
        seed=seed,
    )
    X, _ = make_spirals(batch, seed=seed)
    _, _, hidden = model.forward_with_hidden(X)
    h = hidden[-2]
    return LayerInput(
        mean=float(h.mean()),
        std=float(h.std()),
        zero_share=float((h == 0).float().mean()),
        negative_share=float((h < 0).float().mean()),
    )


@dataclass(frozen=True)
class ModeGap:
    """Mean loss of one model in training mode (batch statistics) and in evaluation mode.

    Attributes
    ----------
    train_mode
        Mean loss over mini-batches, each normalized with its own statistics.
    eval_mode
        Loss on the whole data set with the running statistics.
    """

    train_mode: float
    eval_mode: float


@one_thread()
@torch.no_grad()
def train_eval_gap(
    model: MLP, X: torch.Tensor, y: torch.Tensor, *, batch_size: int = 64, seed: int = 0
) -> ModeGap:
    """Loss of a batch-norm model on ``X`` in training mode and in evaluation mode.

    Training mode is evaluated on the mini-batches of one shuffled pass over ``X`` (the
    batches of :func:`vglib.core.shuffled_batches` with ``seed``, the last incomplete one
    dropped), like during training; the model's running statistics are restored afterwards
    and it is left in evaluation mode.

    Parameters
    ----------
    model
        A network from :func:`vglib.core.build_mlp`.
    X, y
        Inputs ``(n, in_features)`` and labels ``(n,)`` or targets ``(n, out)``.
    batch_size
        Examples per training-mode batch, from 2 to ``n``.
    seed
        Seed of the batch order.

    Returns
    -------
    ModeGap
    """
    check_int("batch_size", batch_size, minimum=2, maximum=len(X))
    batches = itertools.islice(shuffled_batches(X, y, batch_size, seed=seed), len(X) // batch_size)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    losses = [loss_fn(model(Xb), yb).item() for Xb, yb in batches]
    model.load_state_dict(state)
    model.eval()
    eval_loss = loss_fn(model(X), y).item()
    return ModeGap(train_mode=float(np.mean(losses)), eval_mode=float(eval_loss))
