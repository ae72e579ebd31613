"""Initialization: symmetry, the variance recursion, the Jacobian spectrum and the edge of chaos.

Everything here builds on :func:`vglib.core.build_mlp` and the mean-field recursion of
:func:`vglib.core.mean_field_profile`. Weights are drawn with explicit
``torch.Generator`` objects, so the global random state is never touched. The demos'
measurements are :func:`weight_scale_profile`, :func:`edge_of_chaos_point` and
:func:`tanh_phase_diagram` (memoised).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vglib.core import (
    ACTIVATIONS,
    MLP,
    TrainHistory,
    build_mlp,
    check_batch,
    check_choice,
    check_int,
    check_mlp,
    check_real,
    gauss_hermite,
    histograms,
    loss_fn,
    make_activation,
    make_spirals,
    mean_field_profile,
    one_thread,
    train,
)

#: How :func:`reinit_` draws the weight matrices.
WEIGHT_KINDS = ("gaussian", "orthogonal", "constant")

#: Activations of :func:`square_stack`.
JACOBIAN_ACTIVATIONS = ("identity", "tanh", "relu")

#: The demos' networks: depth, width and spirals batch of :func:`weight_scale_profile` and
#: :func:`edge_of_chaos_point`.
DEMO_NUM_LAYERS = 30
DEMO_WIDTH = 128
DEMO_BATCH = 64

_NODES, _WEIGHTS = gauss_hermite()  # E[f(Z)] = f(_NODES) @ _WEIGHTS for Z ~ N(0, 1)


# -- re-initialising a network ----------------------------------------------------------------
def _orthogonal(rows: int, cols: int, gen: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """A Haar-random (semi-)orthogonal ``(rows, cols)`` matrix (QR with the sign fix)."""
    a = torch.randn(max(rows, cols), min(rows, cols), generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    return (q if rows >= cols else q.T).to(dtype)


@torch.no_grad()
def reinit_(
    model: MLP,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    weights: str = "gaussian",
    seed: int = 0,
) -> MLP:
    """Re-initialize every linear layer of ``model`` (head included) in place.

    Parameters
    ----------
    model
        A network from :func:`vglib.core.build_mlp`.
    sigma_w2
        ``fan_in * Var(W_ij)`` (the second moment ``fan_in * E[W_ij^2]`` for ``constant``).
    sigma_b2
        Variance of the biases, drawn ``N(0, sigma_b2)``; zero biases when 0.
    weights
        ``gaussian``: ``W_ij ~ N(0, sigma_w2 / fan_in)``; ``orthogonal``: a random
        (semi-)orthogonal matrix times ``sqrt(sigma_w2)`` (rows or columns of norm
        ``sqrt(sigma_w2)``); ``constant``: every entry ``sqrt(sigma_w2 / fan_in)``.
    seed
        Seed of the draw; the global random state is untouched.

    Returns
    -------
    MLP
        The same model.
    """
    check_mlp(model)
    check_real("sigma_w2", sigma_w2, minimum=0.0)
    check_real("sigma_b2", sigma_b2, minimum=0.0)
    check_choice("weights", weights, WEIGHT_KINDS)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    for linear in model.linears():
        fan_out, fan_in = linear.weight.shape
        if weights == "gaussian":
            w = torch.randn(fan_out, fan_in, generator=gen) * math.sqrt(sigma_w2 / fan_in)
        elif weights == "orthogonal":
            w = _orthogonal(fan_out, fan_in, gen, torch.float32) * math.sqrt(sigma_w2)
        else:
            w = torch.full((fan_out, fan_in), math.sqrt(sigma_w2 / fan_in))
        linear.weight.copy_(w)
        linear.bias.copy_(torch.randn(fan_out, generator=gen) * math.sqrt(sigma_b2))
    return model


# -- symmetry of a constant initialization ----------------------------------------------------
@dataclass(frozen=True)
class SymmetryCheck:
    """How different the units of each hidden layer are after training.

    Attributes
    ----------
    row_spread
        Per hidden layer, ``max_i max_j |W_ij - W_1j|``: 0 when every unit (row) is
        identical, shape ``(num_layers,)``.
    history
        The training record.
    """

    row_spread: np.ndarray
    history: TrainHistory


def row_spread(model: MLP) -> np.ndarray:
    """``max_i max_j |W_ij - W_1j|`` for every hidden layer's weight, shape ``(num_layers,)``."""
    return np.array(
        [(b.linear.weight - b.linear.weight[:1]).abs().max().item() for b in model.layers]
    )


def constant_init_symmetry(
    weights: str = "constant",
    *,
    sigma_w2: float = 1.0,
    num_layers: int = 3,
    width: int = 16,
    steps: int = 50,
    lr: float = 0.1,
    n_samples: int = 256,
    seed: int = 0,
) -> SymmetryCheck:
    """Train a tanh network on the spirals with plain SGD and measure whether its units differ.

    Parameters
    ----------
    weights
        One of :data:`WEIGHT_KINDS`; ``constant`` sets every weight to ``sqrt(sigma_w2/fan_in)``
        and every bias to zero.
    sigma_w2
        Weight scale, as in :func:`reinit_`.
    num_layers, width
        Hidden layers and their width.
    steps, lr
        Full-batch gradient-descent steps and learning rate.
    n_samples
        Points of the spirals data set.
    seed
        Seed of the weights and the data.

    Returns
    -------
    SymmetryCheck
    """
    check_int("steps", steps, minimum=1)
    X, y = make_spirals(n_samples, seed=seed)
    model = build_mlp(2, 2, num_layers=num_layers, width=width, activation="tanh", seed=seed)
    reinit_(model, sigma_w2, 0.0, weights=weights, seed=seed)
    with one_thread():
        history = train(
            model,
            X,
            y,
            steps=steps,
            lr=lr,
            optimizer="sgd",
            batch_size=n_samples,
            record_every=steps,
            seed=seed,
            progress=False,
        )
    return SymmetryCheck(row_spread=row_spread(model), history=history)


# -- per-layer statistics ---------------------------------------------------------------------
@dataclass(frozen=True)
class LayerProfile:
    """One forward/backward pass of a deep network, layer by layer, beside mean-field theory.

    Arrays have shape ``(num_layers,)`` unless noted; layer 1 is next to the input.

    Attributes
    ----------
    layer
        ``1 .. num_layers``.
    pre_rms
        Root mean square of the pre-activations ``z_l`` over batch and units: ``sqrt(q_l)``.
    act_std
        Standard deviation of the layer outputs ``h_l``.
    grad_norm
        ``||dL/dh_l||`` over the batch.
    theory_pre_rms
        Mean-field ``sqrt(q_l)``.
    theory_grad
        Mean-field gradient norms, anchored at the measured norm of the last layer.
    chi
        Mean-field backward gain of every layer, ``sigma_w2 E[phi'(z_l)^2]``.
    act_edges, act_counts
        Histograms of the outputs ``h_l``: edges ``(bins + 1,)``, counts ``(num_layers, bins)``.
    grad_edges, grad_counts
        The same for the gradients ``dL/dh_l``.
    loss
        Loss of the pass.
    """

    layer: np.ndarray
    pre_rms: np.ndarray
    act_std: np.ndarray
    grad_norm: np.ndarray
    theory_pre_rms: np.ndarray
    theory_grad: np.ndarray
    chi: np.ndarray
    act_edges: np.ndarray
    act_counts: np.ndarray
    grad_edges: np.ndarray
    grad_counts: np.ndarray
    loss: float

    @property
    def forward_ratio(self) -> float:
        """``q_L / q_1``: the measured pre-activation variance of the last over the first layer."""
        return float((self.pre_rms[-1] / self.pre_rms[0]) ** 2)

    @property
    def backward_ratio(self) -> float:
        """``||dL/dh_1||^2 / ||dL/dh_L||^2``: the gradient's second moment, first over last."""
        return float((self.grad_norm[0] / self.grad_norm[-1]) ** 2)

    @property
    def first_to_last(self) -> float:
        """``||dL/dh_1|| / ||dL/dh_L||``: how much of the gradient survives the trip to layer 1."""
        return float(self.grad_norm[0] / self.grad_norm[-1])

    @property
    def theory_first_to_last(self) -> float:
        """The mean-field prediction of :attr:`first_to_last`."""
        return float(self.theory_grad[0] / self.theory_grad[-1])


def profile_model(
    model: MLP,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    sigma_w2_first: float | None = None,
    bins: int = 40,
) -> LayerProfile:
    """Measure ``model`` on ``(X, y)`` and set the mean-field prediction beside it.

    Parameters
    ----------
    model
        A plain network from :func:`vglib.core.build_mlp` (no batch norm, no skips).
    X, y
        Inputs ``(batch, in_features)`` and integer labels ``(batch,)``.
    sigma_w2, sigma_b2
        The hidden layers' ``fan_in * Var(W)`` and ``Var(b)``, for the theory.
    sigma_w2_first
        The first layer's ``fan_in * Var(W)`` when it differs (default ``sigma_w2``).
    bins
        Histogram bins; 0 skips the histograms (they cost as much as the pass itself).

    Returns
    -------
    LayerProfile
    """
    check_mlp(model, plain=True)
    check_batch(model, X, y)
    check_int("bins", bins, minimum=0)
    with one_thread():
        return _profile_model(model, X, y, sigma_w2, sigma_b2, sigma_w2_first, bins)


def _profile_model(
    model: MLP,
    X: torch.Tensor,
    y: torch.Tensor,
    sigma_w2: float,
    sigma_b2: float,
    sigma_w2_first: float | None,
    bins: int,
) -> LayerProfile:
    with torch.enable_grad():
        out, pre, hidden = model.forward_with_hidden(X)
        value = loss_fn(out, y)
        grads = torch.autograd.grad(value, hidden)
    pre_t = torch.stack([z.detach() for z in pre])
    hid_t = torch.stack([h.detach() for h in hidden])
    grad_t = torch.stack(grads)
    num_layers = len(model.layers)
    field = mean_field_profile(
        model.activation,
        num_layers=num_layers,
        sigma_w2=sigma_w2,
        sigma_b2=sigma_b2,
        q_in=float((X**2).mean()),
        sigma_w2_first=sigma_w2_first,
    )
    grad_norm = grad_t.flatten(1).norm(dim=1).double().numpy()
    if bins:  # binned in float64: in float32 a spike of tiny values at 0 rounds into one bin
        act_edges, act_counts = histograms(hid_t.double(), bins)
        grad_edges, grad_counts = histograms(grad_t.double(), bins)
    else:  # skipped
        act_edges, act_counts = np.zeros(1), np.zeros((num_layers, 0))
        grad_edges, grad_counts = act_edges, act_counts
    return LayerProfile(
        layer=np.arange(1, num_layers + 1),
        pre_rms=pre_t.double().pow(2).mean(dim=(1, 2)).sqrt().numpy(),
        act_std=hid_t.double().std(dim=(1, 2)).numpy(),
        grad_norm=grad_norm,
        theory_pre_rms=np.sqrt(field.q),
        theory_grad=field.relative_grad_norms() * grad_norm[-1],
        chi=field.chi,
        act_edges=act_edges,
        act_counts=act_counts,
        grad_edges=grad_edges,
        grad_counts=grad_counts,
        loss=value.item(),
    )


def layer_profile(
    activation: str,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    weights: str = "gaussian",
    num_layers: int = 30,
    width: int = 128,
    batch: int = 256,
    bins: int = 40,
    seed: int = 0,
) -> LayerProfile:
    """Build a deep network with weights of scale ``sigma_w2`` and profile it on spirals.

    Every layer, the first and the head included, gets ``W_ij ~ N(0, sigma_w2 / fan_in)``
    (or the ``orthogonal``/``constant`` variant of :func:`reinit_`) and ``b_i ~ N(0, sigma_b2)``.

    Parameters
    ----------
    activation
        One of :data:`vglib.core.ACTIVATIONS`.
    sigma_w2, sigma_b2
        Weight and bias scale.
    weights
        One of :data:`WEIGHT_KINDS`.
    num_layers, width
        Depth and width of the hidden stack.
    batch
        Number of spirals points in the pass.
    bins
        Histogram bins; 0 skips them.
    seed
        Seed of data and weights.
    """
    check_choice("activation", activation, ACTIVATIONS)
    with one_thread():
        X, y = make_spirals(batch, seed=seed)
        model = build_mlp(
            2, 2, num_layers=num_layers, width=width, activation=activation, seed=seed
        )
        reinit_(model, sigma_w2, sigma_b2, weights=weights, seed=seed)
        return profile_model(model, X, y, sigma_w2=sigma_w2, sigma_b2=sigma_b2, bins=bins)


@functools.cache
def weight_scale_profile(sigma_w2: float, activation: str) -> LayerProfile:
    """The weight-scale demo: a deep network with ``W ~ N(0, sigma_w2 / fan_in)``, zero biases.

    :func:`layer_profile` of a :data:`DEMO_NUM_LAYERS`-layer network of width
    :data:`DEMO_WIDTH` on :data:`DEMO_BATCH` spirals points, without histograms. Memoised.

    Parameters
    ----------
    sigma_w2
        ``fan_in * Var(W)``, at least 0.
    activation
        One of :data:`vglib.core.ACTIVATIONS` (the demo offers tanh and relu).
    """
    return layer_profile(
        activation,
        sigma_w2,
        0.0,
        num_layers=DEMO_NUM_LAYERS,
        width=DEMO_WIDTH,
        batch=DEMO_BATCH,
        bins=0,
    )


def relu_variance_ratio(sigma_w2: float, num_layers: int) -> float:
    """Closed form of ``q_L / q_1`` (and of the gradient's ``g_1^2 / g_L^2``) for a ReLU stack.

    With zero biases, ``q_{l+1} = sigma_w2 * E[relu(z_l)^2] = sigma_w2 * q_l / 2`` because
    ``z_l`` is symmetric, and going back the squared gradient is multiplied by
    ``chi = sigma_w2 * P(z > 0) = sigma_w2 / 2``. Over ``num_layers - 1`` steps both give
    ``(sigma_w2 / 2) ** (num_layers - 1)``: ``2 ** -(L - 1)`` under Xavier's ``sigma_w2 = 1``
    (square layers), exactly 1 under He's ``sigma_w2 = 2``.
    """
    check_real("sigma_w2", sigma_w2, minimum=0.0)
    check_int("num_layers", num_layers, minimum=1)
    return (sigma_w2 / 2.0) ** (num_layers - 1)


# -- training a deep ReLU network (He et al.'s experiment, at CPU scale) ----------------------
def train_deep_relu(
    inits: tuple[str, ...] = ("xavier", "he"),
    *,
    num_layers: int = 30,
    width: int = 64,
    n_samples: int = 1000,
    steps: int = 400,
    lr: float = 0.02,
    optimizer: str = "momentum",
    batch_size: int = 64,
    record_every: int = 10,
    seed: int = 0,
) -> dict[str, TrainHistory]:
    """Train the same deep ReLU network on the spirals once per initialization.

    Parameters
    ----------
    inits
        Names from :data:`vglib.core.INITS` (no ``normal``).
    num_layers, width
        The network (He et al. 2015, Fig. 3, used 30 layers).
    n_samples
        Spirals points.
    steps, lr, optimizer, batch_size, record_every
        As in :func:`vglib.core.train`.
    seed
        Seed of data, weights and batch order.

    Returns
    -------
    dict
        ``{init: TrainHistory}``.
    """
    X, y = make_spirals(n_samples, seed=seed)
    histories = {}
    for init in inits:
        model = build_mlp(
            2, 2, num_layers=num_layers, width=width, activation="relu", init=init, seed=seed
        )
        with one_thread():
            histories[init] = train(
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
    return histories


# -- the input-output Jacobian ----------------------------------------------------------------
def square_stack(
    activation: str,
    weights: str,
    *,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    num_layers: int = 32,
    width: int = 128,
    seed: int = 0,
) -> nn.Sequential:
    """A deep square float64 network ``h -> phi(W h + b)``, ``num_layers`` times, no head.

    Parameters
    ----------
    activation
        One of :data:`JACOBIAN_ACTIVATIONS`.
    weights
        ``gaussian`` (``W_ij ~ N(0, sigma_w2 / width)``) or ``orthogonal`` (a Haar-random
        orthogonal matrix times ``sqrt(sigma_w2)``), as in :func:`reinit_`.
    sigma_w2, sigma_b2
        Weight and bias scale; biases ``b_i ~ N(0, sigma_b2)``.
    num_layers, width
        Depth and width.
    seed
        Seed of weights and biases; the global random state is untouched.

    Returns
    -------
    nn.Sequential
        ``Linear(width, width), activation`` pairs, float64; maps ``(..., width)`` to
        ``(..., width)``.
    """
    check_choice("activation", activation, JACOBIAN_ACTIVATIONS)
    check_choice("weights", weights, ("gaussian", "orthogonal"))
    check_real("sigma_w2", sigma_w2, minimum=0.0, strict_minimum=True)
    check_real("sigma_b2", sigma_b2, minimum=0.0)
    check_int("num_layers", num_layers, minimum=1)
    check_int("width", width, minimum=1)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    modules: list[nn.Module] = []
    for _ in range(num_layers):
        linear = nn.Linear(width, width, dtype=torch.float64)
        with torch.no_grad():
            if weights == "gaussian":
                w = torch.randn(width, width, generator=gen, dtype=torch.float64)
                linear.weight.copy_(w * math.sqrt(sigma_w2 / width))
            else:
                w = _orthogonal(width, width, gen, torch.float64)
                linear.weight.copy_(w * math.sqrt(sigma_w2))
            b = torch.randn(width, generator=gen, dtype=torch.float64)
            linear.bias.copy_(b * math.sqrt(sigma_b2))
        modules += [linear, make_activation(activation)]
    return nn.Sequential(*modules)


def square_stack_jacobian_singular_values(
    activation: str,
    weights: str,
    *,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    num_layers: int = 32,
    width: int = 128,
    q_in: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Singular values of the input-output Jacobian of a :func:`square_stack` at one input.

    The network maps ``x`` (``width`` coordinates, ``x_i ~ N(0, q_in)``, drawn with seed
    ``seed + 1``) through ``num_layers`` layers ``h = phi(W h + b)``; the Jacobian
    ``d h_L / d x`` is computed by ``torch.autograd.functional.jacobian`` in float64 and its
    singular values by ``torch.linalg.svdvals``.

    Parameters
    ----------
    activation, weights, sigma_w2, sigma_b2, num_layers, width, seed
        The network, as in :func:`square_stack`.
    q_in
        Variance of the input coordinates.

    Returns
    -------
    np.ndarray
        Singular values in descending order, shape ``(width,)``.
    """
    check_real("q_in", q_in, minimum=0.0)
    with one_thread():
        layers = square_stack(
            activation,
            weights,
            sigma_w2=sigma_w2,
            sigma_b2=sigma_b2,
            num_layers=num_layers,
            width=width,
            seed=seed,
        )
        gen = torch.Generator().manual_seed(seed + 1)
        x = torch.randn(width, generator=gen, dtype=torch.float64) * math.sqrt(q_in)
        jac = torch.autograd.functional.jacobian(layers, x, vectorize=True)
        return torch.linalg.svdvals(jac).numpy()


# -- mean-field fixed point and the edge of chaos (tanh) --------------------------------------
def _tanh_moments(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``E[tanh(z)^2]`` and ``E[tanh'(z)^2]`` for ``z ~ N(0, q)``, elementwise over ``q``."""
    t = np.tanh(np.sqrt(np.maximum(q, 0.0))[..., None] * _NODES)
    return (t**2) @ _WEIGHTS, ((1.0 - t**2) ** 2) @ _WEIGHTS


def tanh_fixed_point(sigma_w2: np.ndarray | float, sigma_b2: np.ndarray | float) -> np.ndarray:
    """The stable fixed point ``q*`` of ``q -> sigma_w2 E[tanh(z)^2] + sigma_b2``, ``z ~ N(0, q)``.

    Found by bisection (vectorised over broadcast ``sigma_w2``, ``sigma_b2``): the map is
    increasing and concave, so ``q*`` is its largest fixed point in
    ``[sigma_b2, sigma_w2 + sigma_b2]``; ``q* = 0`` when ``sigma_b2 = 0`` and ``sigma_w2 <= 1``.
    """
    w2, b2 = np.broadcast_arrays(np.asarray(sigma_w2, float), np.asarray(sigma_b2, float))
    if (w2 < 0).any() or (b2 < 0).any():
        raise ValueError("sigma_w2 and sigma_b2 must be at least 0")
    lo = np.maximum(b2, 1e-12)
    hi = w2 + b2 + 1e-12
    # f(q) = map(q) - q is > 0 just above q = 0 when a positive fixed point exists
    has_root = (w2 * _tanh_moments(lo)[0] + b2 - lo) > 0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = w2 * _tanh_moments(mid)[0] + b2 - mid > 0
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    q = 0.5 * (lo + hi)
    return np.where(has_root | (b2 > 0), q, 0.0)


def tanh_chi1(sigma_w2: np.ndarray | float, sigma_b2: np.ndarray | float) -> np.ndarray:
    """``chi_1 = sigma_w2 E[tanh'(z)^2]`` at the fixed point, ``z ~ N(0, q*)``.

    Going back through one layer of a deep tanh network multiplies the squared gradient
    norm by ``chi_1`` (Schoenholz et al. 2017): ordered phase below 1, chaotic above.
    """
    w2, b2 = np.broadcast_arrays(np.asarray(sigma_w2, float), np.asarray(sigma_b2, float))
    return w2 * _tanh_moments(tanh_fixed_point(w2, b2))[1]


def tanh_critical_sigma_w2(sigma_b2: np.ndarray | float) -> np.ndarray:
    """The ``sigma_w2`` where ``chi_1 = 1`` for each ``sigma_b2`` (the edge of chaos).

    Bisection on ``sigma_w2`` in ``[0.5, 20]``; ``chi_1`` grows with ``sigma_w2``.
    At ``sigma_b2 = 0`` the answer is exactly 1.
    """
    b2 = np.asarray(sigma_b2, float)
    if (b2 < 0).any() or (b2 > 5).any():
        raise ValueError("sigma_b2 must lie in [0, 5]")
    lo, hi = np.full(b2.shape, 0.5), np.full(b2.shape, 20.0)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        chaotic = tanh_chi1(mid, b2) > 1
        lo, hi = np.where(chaotic, lo, mid), np.where(chaotic, mid, hi)
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class EdgeOfChaos:
    """A deep tanh network at ``(sigma_w2, sigma_b2)``: measured gradients beside ``chi_1``.

    Attributes
    ----------
    profile
        The measured pass (:func:`layer_profile`, no histograms).
    sigma_w2, sigma_b2
        The network's weight and bias scale.
    chi1
        Mean-field ``chi_1`` (:func:`tanh_chi1`).
    measured_chi
        Measured per-layer growth of the squared gradient norm over the top two thirds of
        the layers: ``(||g_s|| / ||g_L||)^(2 / (L - s))`` with ``s = L // 3`` (layers
        numbered from 1; ``s = 10`` for ``L = 30``).
    """

    profile: LayerProfile
    sigma_w2: float
    sigma_b2: float
    chi1: float
    measured_chi: float

    @property
    def phase(self) -> str:
        """``"ordered"`` (``chi_1 < 0.98``), ``"chaotic"`` (``chi_1 > 1.02``) or ``"critical"``."""
        if self.chi1 < 0.98:
            return "ordered"
        return "chaotic" if self.chi1 > 1.02 else "critical"


@functools.cache
def edge_of_chaos_point(sigma_w2: float, sigma_b2: float) -> EdgeOfChaos:
    """The edge-of-chaos demo: a deep tanh network at ``(sigma_w2, sigma_b2)``, measured.

    :func:`layer_profile` of a :data:`DEMO_NUM_LAYERS`-layer tanh network of width
    :data:`DEMO_WIDTH` on :data:`DEMO_BATCH` spirals points, with ``chi_1`` and the measured
    per-layer growth of the squared gradient set beside each other. Memoised.

    Parameters
    ----------
    sigma_w2, sigma_b2
        ``fan_in * Var(W)`` (> 0) and ``Var(b)`` (at least 0).
    """
    profile = layer_profile(
        "tanh",
        sigma_w2,
        sigma_b2,
        num_layers=DEMO_NUM_LAYERS,
        width=DEMO_WIDTH,
        batch=DEMO_BATCH,
        bins=0,
    )
    g = profile.grad_norm
    start = DEMO_NUM_LAYERS // 3 - 1
    measured = (g[start] / g[-1]) ** (2.0 / (DEMO_NUM_LAYERS - 1 - start))
    return EdgeOfChaos(
        profile=profile,
        sigma_w2=sigma_w2,
        sigma_b2=sigma_b2,
        chi1=float(tanh_chi1(sigma_w2, sigma_b2)),
        measured_chi=float(measured),
    )


@dataclass(frozen=True)
class TanhPhaseDiagram:
    """``log2 chi_1`` of a deep tanh network over a grid, and its critical line ``chi_1 = 1``.

    Attributes
    ----------
    sigma_w2, sigma_b2
        The grid's axes, shapes ``(a,)`` and ``(b,)``.
    log2_chi1
        ``log2 chi_1`` at every grid point, shape ``(b, a)``: negative ordered, positive chaotic.
    line_sigma_b2, line_sigma_w2
        Points of the critical line, shape ``(m,)`` each.
    """

    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    log2_chi1: np.ndarray
    line_sigma_b2: np.ndarray
    line_sigma_w2: np.ndarray


@functools.cache
def tanh_phase_diagram() -> TanhPhaseDiagram:
    """The edge-of-chaos demo's background: ``sigma_w2`` in [0.4, 4.2], ``sigma_b2`` in [0, 0.42].

    Memoised: computed once per process.
    """
    w2 = np.linspace(0.4, 4.2, 77)
    b2 = np.linspace(0.0, 0.42, 43)
    log_chi = np.log2(tanh_chi1(w2[None, :], b2[:, None]))
    line_b2 = 0.42 * np.linspace(0.0, 1.0, 43) ** 2  # dense near 0, where the line is steep
    return TanhPhaseDiagram(
        sigma_w2=w2,
        sigma_b2=b2,
        log2_chi1=log_chi,
        line_sigma_b2=line_b2,
        line_sigma_w2=tanh_critical_sigma_w2(line_b2),
    )


# -- the initial loss ---------------------------------------------------------------------------
def _initial_logits(
    n_classes: int,
    *,
    num_layers: int,
    width: int,
    activation: str,
    init: str,
    n_samples: int,
    seed: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(n_samples, n_classes)`` of a fresh network on a balanced spirals set, and labels."""
    check_int("n_classes", n_classes, minimum=2)
    X, y = make_spirals(n_samples, n_classes=n_classes, seed=seed)
    model = build_mlp(
        2,
        n_classes,
        num_layers=num_layers,
        width=width,
        activation=activation,
        init=init,
        seed=seed,
    )
    with torch.no_grad():
        return model(X), y


def initial_losses(
    n_classes: int,
    head_scales: tuple[float, ...] = (0.0, 1.0, 10.0),
    *,
    num_layers: int = 6,
    width: int = 64,
    activation: str = "relu",
    init: str = "he",
    n_samples: int = 1000,
    seed: int = 0,
) -> dict[float, float]:
    """Cross-entropy at initialization on a balanced ``n_classes`` spirals set.

    The head (last linear layer) is multiplied by each factor in ``head_scales``; a factor 0
    makes every logit zero, so the loss is exactly ``ln(n_classes)``.

    Returns
    -------
    dict
        ``{head_scale: loss}``.
    """
    logits, y = _initial_logits(
        n_classes,
        num_layers=num_layers,
        width=width,
        activation=activation,
        init=init,
        n_samples=n_samples,
        seed=seed,
    )
    losses = {}
    for scale in head_scales:
        check_real("head_scale", scale, minimum=0.0)
        losses[scale] = loss_fn(scale * logits, y).item()
    return losses


def confidently_wrong(
    n_classes: int,
    head_scales: tuple[float, ...] = (0.0, 1.0, 10.0),
    *,
    confidence: float = 0.5,
    num_layers: int = 6,
    width: int = 64,
    activation: str = "relu",
    init: str = "he",
    n_samples: int = 1000,
    seed: int = 0,
) -> dict[float, float]:
    """Share of examples on which the untrained network of :func:`initial_losses` is confidently wrong.

    An example counts when the network gives a wrong class a probability above
    ``confidence`` (0.5 by default: the wrong class gets more than all the others together).
    An uninformed guess among ``n_classes`` balanced classes is wrong on a share of about
    ``(n_classes - 1) / n_classes`` of the data; a large head makes it confident there.

    Returns
    -------
    dict
        ``{head_scale: share}``, shares in ``[0, 1]``.
    """
    check_real("confidence", confidence, minimum=0.0, maximum=1.0)
    logits, y = _initial_logits(
        n_classes,
        num_layers=num_layers,
        width=width,
        activation=activation,
        init=init,
        n_samples=n_samples,
        seed=seed,
    )
    shares = {}
    for scale in head_scales:
        check_real("head_scale", scale, minimum=0.0)
        probs = torch.softmax(scale * logits.double(), dim=1)
        top, predicted = probs.max(dim=1)
        shares[scale] = ((predicted != y) & (top > confidence)).double().mean().item()
    return shares
