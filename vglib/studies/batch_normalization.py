"""Batch normalization by hand, and the measurements of the batch-norm chapter.

:func:`batchnorm_forward` is the transform of Ioffe and Szegedy (2015) written out, in
training and evaluation mode, with the running-statistics update of ``nn.BatchNorm1d``.
The other functions measure what batch norm does to a deep MLP from
:func:`vglib.compute.build_mlp`: per-layer gradient norms with and without it, the backward
gain ``gamma / sigma_B`` of every batch-norm layer and the mean activation slope (what
actually carries the gradient through a deep sigmoid network with batch norm), the growth
of the gradient with depth at initialization, its scale invariance, its cost per training
step, and training curves (with and without noise injected after it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from vglib._validate import check_choice, check_int, check_real
from vglib.compute._threads import one_thread
from vglib.compute.data import make_spirals, make_teacher_regression
from vglib.compute.measure import (
    GradientFlow,
    activation_slope,
    loss_fn,
    measure_gradient_flow,
)
from vglib.compute.models import ACTIVATIONS, BN_POSITIONS, MLP, build_mlp
from vglib.compute.train import TrainHistory, train

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
def _data(batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    return make_spirals(batch, seed=seed)


@lru_cache(maxsize=32)
def _teacher(batch: int, width: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    # full-rank inputs of the network's width: 2-D spirals would make every layer rank 2
    with one_thread():
        return make_teacher_regression(batch, in_features=width, seed=seed)


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
        The :class:`~vglib.compute.GradientFlow` of the pass (gradient norms, saturation ...).
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
        A network from :func:`vglib.compute.build_mlp`.
    X, y
        Inputs ``(batch, in_features)`` and targets, as for
        :func:`vglib.compute.measure_gradient_flow`.

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

    The data is :func:`vglib.compute.make_teacher_regression` with ``width`` input features
    (full-rank inputs; a teacher network's outputs as targets, mean squared error).
    :func:`bn_profile` measures the same pass and adds the batch-norm gains and slopes.

    Parameters
    ----------
    num_layers
        Hidden layers.
    activation
        One of the activations of :func:`vglib.compute.build_mlp`.
    bn
        One of :data:`BN_MODES`: no batch norm, or batch norm before or after the activation.
    width, batch
        Units per layer and examples in the batch.
    init
        Weight initialization (see :func:`vglib.compute.build_mlp`).
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
def step_time(
    *,
    num_layers: int = 10,
    width: int = 256,
    batch: int = 128,
    repeats: int = 40,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Wall-clock seconds of full training steps (forward, backward, SGD update), one thread.

    Two ReLU networks of the same size, one without and one with batch norm before every
    activation, take turns step by step, so that both see the same machine load.

    Parameters
    ----------
    num_layers, width, batch
        Size of the networks and of the batch.
    repeats
        Timed steps per network, after three untimed warm-up steps each.
    seed
        Seed for weights and data.

    Returns
    -------
    dict
        ``{"no BN": seconds, "BN": seconds}``, each of shape ``(repeats,)``; report medians.
    """
    check_int("repeats", repeats, minimum=1)
    X, y = _data(batch, seed)
    setups = {}
    for label, bn in (("no BN", False), ("BN", True)):
        model = build_mlp(
            2, 2, num_layers=num_layers, width=width, batch_norm=bn, init="he", seed=seed
        )
        setups[label] = (model, torch.optim.SGD(model.parameters(), lr=1e-3))
    times: dict[str, list[float]] = {label: [] for label in setups}
    with one_thread():
        for i in range(repeats + 3):
            for label, (model, opt) in setups.items():
                start = time.perf_counter()
                opt.zero_grad(set_to_none=True)
                loss_fn(model(X), y).backward()
                opt.step()
                if i >= 3:
                    times[label].append(time.perf_counter() - start)
    return {label: np.asarray(t) for label, t in times.items()}


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
        ``{label: options}``; each ``options`` may hold ``bn`` (one of :data:`BN_MODES`,
        default ``"none"``) and ``noise`` (default 0: the width of the random per-unit shift
        ``U(-noise, noise)`` and scale ``1 + U(0, noise)`` redrawn at every forward pass
        after every batch norm, as in Santurkar et al.'s "noisy" batch norm).
    num_layers, width, activation
        The network (Xavier initialization, the same seed for every setting).
    n_samples
        Spirals points.
    steps, lr, optimizer, batch_size, record_every
        As in :func:`vglib.compute.train`.
    seed
        Seed for weights, data, batch order and noise.

    Returns
    -------
    dict
        ``{label: TrainHistory}``.
    """
    X, y = make_spirals(n_samples, seed=seed)
    out = {}
    for label, options in configs.items():
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
        out[label] = train(
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


@one_thread()
@torch.no_grad()
def next_layer_input(
    bn_position: str, *, num_layers: int = 4, width: int = 64, batch: int = 512, seed: int = 0
) -> dict[str, float]:
    """Statistics of what enters the last hidden layer's linear map in a fresh ReLU BN network.

    Parameters
    ----------
    bn_position
        One of ``("before", "after")`` the activation.
    num_layers, width, batch
        Network and batch size (He initialization, training-mode batch statistics).
    seed
        Seed for weights and data.

    Returns
    -------
    dict
        ``mean``, ``std``, ``zero_share`` (share of exact zeros) and ``negative_share`` of the
        last-but-one layer's output over batch and units.
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
    X, _ = _data(batch, seed)
    _, _, hidden = model.forward_with_hidden(X)
    h = hidden[-2]
    return {
        "mean": float(h.mean()),
        "std": float(h.std()),
        "zero_share": float((h == 0).float().mean()),
        "negative_share": float((h < 0).float().mean()),
    }


@one_thread()
@torch.no_grad()
def train_eval_gap(
    model: MLP, X: torch.Tensor, y: torch.Tensor, *, batch_size: int = 64, seed: int = 0
) -> dict[str, float]:
    """Loss of a batch-norm model on ``X`` in training mode (batch statistics) and in eval mode.

    Training mode is evaluated on random mini-batches of ``batch_size`` (one shuffled pass,
    seeded by ``seed``), like during training; the model's running statistics are restored afterwards and it is left in
    eval mode.

    Returns
    -------
    dict
        ``train_mode`` and ``eval_mode`` mean losses.
    """
    check_int("batch_size", batch_size, minimum=2)
    order = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(seed))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    losses = []
    for start in range(0, X.shape[0] - batch_size + 1, batch_size):
        idx = order[start : start + batch_size]
        losses.append(loss_fn(model(X[idx]), y[idx]).item())
    model.load_state_dict(state)
    model.eval()
    eval_loss = loss_fn(model(X), y).item()
    return {"train_mode": float(np.mean(losses)), "eval_mode": float(eval_loss)}
