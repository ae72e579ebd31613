"""Gradient descent: loss surfaces, trajectories, stability, gradient noise and per-layer steps.

Torch and numpy only. Every optimizer here is torch's own (``torch.optim.SGD``/``Adam`` via
:func:`vglib.core.make_optimizer`), and every run goes through the course's one training loop
:func:`vglib.core.train`, so what the chapter shows is what PyTorch does.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn

from vglib.core import (
    MLP,
    OPTIMIZERS,
    Step,
    check_batch,
    check_choice,
    check_int,
    check_real,
    loss_fn,
    one_thread,
    train,
)

#: A loss above this (or a non-finite one) counts as diverged; the trajectory stops there.
DIVERGED_LOSS = 1e6


# -- 2-D surfaces -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quadratic:
    """``L(θ) = ½ (θ - θ*)ᵀ A (θ - θ*)`` with ``A = R diag(λ) Rᵀ``, a rotation by ``angle``.

    Parameters
    ----------
    eigenvalues
        ``(λ_min, λ_max)``, both positive: the curvatures along the two principal axes.
    angle
        Rotation of the principal axes in degrees.
    center
        The minimum ``θ*``.
    """

    eigenvalues: tuple[float, float] = (1.0, 10.0)
    angle: float = 30.0
    center: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if len(self.eigenvalues) != 2:
            raise ValueError(f"eigenvalues must be two numbers, got {self.eigenvalues!r}")
        for value in self.eigenvalues:
            check_real("eigenvalue", value, minimum=0.0, strict_minimum=True)
        check_real("angle", self.angle)

    @cached_property
    def matrix(self) -> torch.Tensor:
        """The Hessian ``A``, shape ``(2, 2)``, float64."""
        a = math.radians(self.angle)
        R = torch.tensor(
            [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=torch.float64
        )
        return R @ torch.diag(torch.tensor(self.eigenvalues, dtype=torch.float64)) @ R.T

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        """Loss at ``theta`` of shape ``(..., 2)``; returns shape ``(...)``."""
        d = theta - torch.tensor(self.center, dtype=theta.dtype)
        A = self.matrix.to(theta.dtype)
        return 0.5 * ((d @ A) * d).sum(dim=-1)


# -- descent on a loss of a parameter vector, through the one training loop --------------------
class _Point(nn.Module):
    """A parameter vector θ as a model whose output is θ itself (its input is ignored).

    With it :func:`vglib.core.train` runs an optimizer on a loss ``L(θ)`` given in closed form:
    the "data" are empty placeholders and the loss of the output is ``L(θ)``.
    """

    def __init__(self, theta: torch.Tensor) -> None:
        super().__init__()
        self.theta = nn.Parameter(theta)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.theta


_NO_DATA = (torch.empty(0), torch.empty(0))


def _descend(
    loss: Callable[[torch.Tensor], torch.Tensor],
    theta0: torch.Tensor,
    *,
    steps: int,
    lr: float,
    optimizer: str = "sgd",
    limit: float,
    visit: Callable[[int, torch.Tensor, float], None] | None = None,
) -> tuple[torch.Tensor, int | None]:
    """``steps`` full-batch optimizer steps on ``loss(θ)`` from ``theta0``, by :func:`vglib.core.train`.

    Before each update the loss at the current ``θ_t`` is checked: the run stops, without
    updating, at the first loss that is not finite or above ``limit``. ``visit(t, θ_t, loss)``
    sees every ``θ_t`` that passed the check. Returns the final ``θ`` (detached) and the ``t``
    at which the run stopped (``None`` if it did not).
    """
    point = _Point(theta0)
    stopped = None

    def check(step: Step) -> None:
        nonlocal stopped
        t, value = step.number - 1, step.loss.item()
        if not math.isfinite(value) or value > limit:
            stopped = t
            step.skip_update = step.stop = True
        elif visit is not None:
            visit(t, point.theta, value)

    train(
        point,
        batches=itertools.repeat(_NO_DATA),
        steps=steps,
        lr=lr,
        optimizer=optimizer,
        loss=lambda theta, _: loss(theta),
        on_step=check,
        record_every=None,
        progress=False,
    )
    return point.theta.detach(), stopped


# -- trajectories -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Trajectory:
    """Where an optimizer took a 2-parameter tensor.

    Attributes
    ----------
    positions
        ``θ_t`` for ``t = 0 .. steps``, shape ``(steps + 1, 2)``; NaN after divergence.
    losses
        ``L(θ_t)``, shape ``(steps + 1,)``; NaN after divergence.
    diverged_at
        First step whose loss exceeded :data:`DIVERGED_LOSS` or was not finite, else ``None``.
    """

    positions: np.ndarray
    losses: np.ndarray
    diverged_at: int | None

    @property
    def diverged(self) -> bool:
        """Whether the run stopped at a loss above :data:`DIVERGED_LOSS`."""
        return self.diverged_at is not None


@one_thread()
def trajectory(
    surface: Callable[[torch.Tensor], torch.Tensor],
    *,
    lr: float,
    steps: int,
    start: Sequence[float],
    optimizer: str = "sgd",
) -> Trajectory:
    """Run a torch optimizer on a 2-parameter tensor and record every position and loss.

    Parameters
    ----------
    surface
        A loss of a ``(2,)`` tensor, e.g. a :class:`Quadratic`.
    lr
        Learning rate η.
    steps
        Number of optimizer steps.
    start
        Starting point ``θ_0``, two numbers.
    optimizer
        One of :data:`vglib.core.OPTIMIZERS` (``momentum`` is SGD with momentum 0.9).

    Returns
    -------
    Trajectory
        The run stops at the first loss above :data:`DIVERGED_LOSS`; later entries are NaN.
    """
    check_real("lr", lr, minimum=0.0, strict_minimum=True)
    check_int("steps", steps, minimum=1)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    if len(start) != 2:
        raise ValueError(f"start must be two numbers, got {start!r}")
    positions = np.full((steps + 1, 2), np.nan)
    losses = np.full(steps + 1, np.nan)

    def record(t: int, theta: torch.Tensor, value: float) -> None:
        positions[t] = theta.detach().numpy()
        losses[t] = value

    # θ_0 .. θ_steps are each checked and recorded before their update: steps + 1 passes, the
    # last update is never looked at
    _, diverged_at = _descend(
        surface,
        torch.tensor([float(s) for s in start], dtype=torch.float64),
        steps=steps + 1,
        lr=lr,
        optimizer=optimizer,
        limit=DIVERGED_LOSS,
        visit=record,
    )
    return Trajectory(positions=positions, losses=losses, diverged_at=diverged_at)


def surface_grid(
    surface: Callable[[torch.Tensor], torch.Tensor],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    num: int = 101,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loss on a grid, for a contour plot: ``(x (num,), y (num,), loss (num, num))``."""
    check_int("num", num, minimum=2)
    x = np.linspace(*xlim, num)
    y = np.linspace(*ylim, num)
    xx, yy = np.meshgrid(x, y)
    pts = torch.tensor(np.stack([xx, yy], axis=-1), dtype=torch.float64)
    with torch.no_grad():
        return x, y, surface(pts).numpy()


# -- the descent explorer -----------------------------------------------------------------------
#: The explorer's ill-conditioned quadratic: curvatures 1 and 10, axes rotated by 30 degrees,
#: so gradient descent is stable for η < 2/10 and fastest at η = 2/11.
EXPLORER_SURFACE = Quadratic(eigenvalues=(1.0, 10.0), angle=30.0)
#: The explorer's starting points, by the name its control shows.
EXPLORER_STARTS = {"(-2.5, 1.5)": (-2.5, 1.5), "(2.5, 2.5)": (2.5, 2.5), "(0.5, -2.8)": (0.5, -2.8)}
#: The explorer's learning rates.
EXPLORER_LRS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.15, 0.18, 0.19, 0.205, 0.3)
#: The square ``[-3, 3]²`` the explorer draws.
EXPLORER_LIMITS = (-3.0, 3.0)


@dataclass(frozen=True)
class ExplorerRun:
    """One run of the descent explorer on :data:`EXPLORER_SURFACE`.

    Attributes
    ----------
    trajectory
        Where the optimizer went.
    lr, optimizer, steps
        The run's settings.
    grid_x, grid_y, grid_loss
        The surface on a ``121 x 121`` grid over :data:`EXPLORER_LIMITS`, for the contours:
        shapes ``(121,)``, ``(121,)``, ``(121, 121)``.
    """

    trajectory: Trajectory
    lr: float
    optimizer: str
    steps: int
    grid_x: np.ndarray
    grid_y: np.ndarray
    grid_loss: np.ndarray

    @property
    def steep_factor(self) -> float:
        """``1 - η λ_max``: what one plain gradient step does to the steep component."""
        return 1 - self.lr * EXPLORER_SURFACE.eigenvalues[1]

    @property
    def stability_limit(self) -> float:
        """``2 / λ_max``: plain gradient descent is stable below this learning rate."""
        return 2 / EXPLORER_SURFACE.eigenvalues[1]

    @property
    def loss_ratio(self) -> float:
        """Final loss over starting loss (NaN after divergence)."""
        return self.trajectory.losses[-1] / self.trajectory.losses[0]


@functools.cache
def _explorer_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return surface_grid(EXPLORER_SURFACE, EXPLORER_LIMITS, EXPLORER_LIMITS, num=121)


@functools.cache
def explorer_run(
    *, lr: float, optimizer: str = "sgd", steps: int = 50, start: str = "(-2.5, 1.5)"
) -> ExplorerRun:
    """Run ``optimizer`` on :data:`EXPLORER_SURFACE` from ``EXPLORER_STARTS[start]``.

    Parameters
    ----------
    lr
        Learning rate η.
    optimizer
        One of :data:`vglib.core.OPTIMIZERS`.
    steps
        Number of optimizer steps.
    start
        A key of :data:`EXPLORER_STARTS`.
    """
    check_choice("start", start, EXPLORER_STARTS)
    x, y, loss = _explorer_grid()
    path = trajectory(
        EXPLORER_SURFACE, lr=lr, steps=steps, start=EXPLORER_STARTS[start], optimizer=optimizer
    )
    return ExplorerRun(
        trajectory=path,
        lr=lr,
        optimizer=optimizer,
        steps=steps,
        grid_x=x,
        grid_y=y,
        grid_loss=loss,
    )


# -- stability of gradient descent on a quadratic ----------------------------------------------
@one_thread()
def hessian_eigenvalues(
    loss: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor
) -> np.ndarray:
    """Eigenvalues (ascending) of the Hessian of ``loss`` at ``theta`` (shape ``(p,)``).

    Uses ``torch.autograd.functional.hessian``; returns shape ``(p,)``.
    """
    if not isinstance(theta, torch.Tensor) or theta.ndim != 1:
        raise ValueError("theta must be a 1-D tensor of parameters")
    H = torch.autograd.functional.hessian(loss, theta.detach().double())
    return torch.linalg.eigvalsh(0.5 * (H + H.T)).numpy()


def _gd_run(
    loss: Callable[[torch.Tensor], torch.Tensor], theta0: torch.Tensor, lr: float, steps: int
) -> tuple[torch.Tensor, float, float]:
    """``steps`` steps of full-batch torch.optim.SGD: (final θ, start loss, final loss or inf).

    A loss that is not finite or above ``1e12`` times the starting one ends the run (``inf``).
    """
    theta = theta0.detach().double().clone()
    start = loss(theta).item()
    if steps > 0:
        theta, stopped = _descend(loss, theta, steps=steps, lr=lr, limit=1e12 * max(start, 1e-12))
        if stopped is not None:
            return theta, start, math.inf
    return theta, start, loss(theta).item()


@one_thread()
def divergence_threshold(
    loss: Callable[[torch.Tensor], torch.Tensor],
    theta0: torch.Tensor,
    *,
    lr_low: float,
    lr_high: float,
    steps: int = 2000,
    rtol: float = 1e-4,
) -> float:
    """Measure the largest learning rate at which full-batch ``torch.optim.SGD`` does not diverge.

    A run diverges when its loss after ``steps`` steps is larger than at the start (or not
    finite). Bisection between ``lr_low`` (must not diverge) and ``lr_high`` (must diverge)
    until the bracket is narrower than ``rtol`` times its midpoint.

    Parameters
    ----------
    loss
        Loss of a flat parameter vector of shape ``(p,)``.
    theta0
        Starting point, shape ``(p,)``.

    Returns
    -------
    float
        The midpoint of the final bracket.
    """
    check_real("lr_low", lr_low, minimum=0.0, strict_minimum=True)
    check_real("lr_high", lr_high, minimum=lr_low, strict_minimum=True)
    check_int("steps", steps, minimum=1)
    check_real("rtol", rtol, minimum=0.0, strict_minimum=True)

    def diverges(lr: float) -> bool:
        _, start, end = _gd_run(loss, theta0, lr, steps)
        return not end <= start

    if diverges(lr_low):
        raise ValueError(f"lr_low={lr_low} already diverges; choose a smaller one")
    if not diverges(lr_high):
        raise ValueError(f"lr_high={lr_high} does not diverge; choose a larger one")
    lo, hi = lr_low, lr_high
    while hi - lo > rtol * 0.5 * (hi + lo):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if diverges(mid) else (mid, hi)
    return 0.5 * (lo + hi)


@one_thread()
def convergence_rate(
    loss: Callable[[torch.Tensor], torch.Tensor],
    theta0: torch.Tensor,
    theta_star: torch.Tensor,
    *,
    lr: float,
    steps: int = 200,
    burn_in: int | None = None,
) -> float:
    """Measured contraction per step of full-batch SGD, ``(‖θ_T - θ*‖ / ‖θ_s - θ*‖)^(1/(T-s))``.

    Measured between step ``s = burn_in`` (default ``steps // 2``, so that the fast directions
    have died out) and ``T = steps``. On a quadratic this tends to ``max_i |1 - η λ_i|``
    (the slowest direction wins); ``inf`` if the run blew up. ``theta0`` and ``theta_star``
    have shape ``(p,)``.
    """
    check_real("lr", lr, minimum=0.0, strict_minimum=True)
    check_int("steps", steps, minimum=2)
    burn_in = (
        steps // 2
        if burn_in is None
        else check_int("burn_in", burn_in, minimum=0, maximum=steps - 1)
    )
    star = theta_star.detach().double()
    middle, _, value = _gd_run(loss, theta0, lr, burn_in)
    if not math.isfinite(value):
        return math.inf
    end, _, value = _gd_run(loss, middle, lr, steps - burn_in)
    if not math.isfinite(value):
        return math.inf
    ratio = (end - star).norm() / (middle - star).norm()
    return float(ratio.item() ** (1.0 / (steps - burn_in)))


@dataclass(frozen=True, eq=False)
class LeastSquares:
    """``L(θ) = ½ mean((Φ w + b - t)²)``: least squares on fixed features, a quadratic in θ.

    ``θ = (w, b)`` has shape ``(p,)`` with ``p = features + 1``. Its Hessian is the constant
    ``Φ̃ᵀ Φ̃ / n`` with ``Φ̃ = [Φ, 1]``.

    Attributes
    ----------
    features
        ``Φ``, shape ``(n, p - 1)``, float64.
    targets
        ``t``, shape ``(n,)``, float64.
    design
        ``Φ̃ = [Φ, 1]``, shape ``(n, p)``, float64 (computed once).
    """

    features: torch.Tensor
    targets: torch.Tensor

    @cached_property
    def design(self) -> torch.Tensor:
        """The design matrix ``[Φ, 1]``, shape ``(n, p)``, float64."""
        ones = torch.ones(self.features.shape[0], 1, dtype=torch.float64)
        return torch.cat([self.features.double(), ones], dim=1)

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        residual = self.design.to(theta.dtype) @ theta - self.targets.to(theta.dtype)
        return 0.5 * (residual**2).mean()

    def solution(self) -> torch.Tensor:
        """The minimiser ``θ*``, shape ``(p,)`` (by ``torch.linalg.lstsq``)."""
        return torch.linalg.lstsq(self.design, self.targets.double()[:, None]).solution[:, 0]

    @property
    def num_params(self) -> int:
        """``p``, the number of parameters (features and the bias)."""
        return self.features.shape[1] + 1


def polynomial_features(X: torch.Tensor, degree: int = 3) -> torch.Tensor:
    """All monomials ``x1^i x2^j`` with ``1 <= i + j <= degree`` of 2-D points.

    ``X`` has shape ``(n, 2)``; the result has shape ``(n, degree (degree + 3) / 2)``, float64.
    """
    check_int("degree", degree, minimum=1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {tuple(X.shape)}")
    x1, x2 = X[:, 0].double(), X[:, 1].double()
    cols = [x1**i * x2 ** (d - i) for d in range(1, degree + 1) for i in range(d, -1, -1)]
    return torch.stack(cols, dim=1)


def exact_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity in float64 without an epsilon floor: exact even for norms of 1e-12.

    (``torch.nn.functional.cosine_similarity`` clamps norms at 1e-8, which turns the
    cosine of two tiny gradients into roughly 0.)  0 if either vector is exactly zero.
    """
    a, b = a.reshape(-1).double(), b.reshape(-1).double()
    na, nb = a.norm(), b.norm()
    if na == 0 or nb == 0:
        return 0.0
    return float(((a / na) @ (b / nb)).item())


# -- mini-batch gradient noise ------------------------------------------------------------------
def flat_grad(model: MLP, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The gradient of the mean loss over ``(X, y)`` w.r.t. all parameters, flattened: ``(p,)``.

    Taken with ``torch.autograd.grad``, so no ``.grad`` is left on the model.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    with torch.enable_grad():
        grads = torch.autograd.grad(loss_fn(model(X), y), params)
    return torch.cat([g.reshape(-1) for g in grads])


def per_example_sq_norms(model: MLP, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``‖∇ℓ_i‖²`` of every example's own loss gradient, shape ``(n,)`` (``torch.func.vmap``)."""
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}

    def one(p, x, t):
        return loss_fn(functional_call(model, p, (x[None],)), t[None])

    grads = vmap(grad(one), in_dims=(None, 0, 0))(params, X, y)
    return sum(g.reshape(g.shape[0], -1).pow(2).sum(dim=1) for g in grads.values())


@dataclass(frozen=True)
class GradientNoise:
    """How far mini-batch gradients are from the full-batch gradient, per batch size.

    Attributes
    ----------
    batch_sizes
        Shape ``(k,)``.
    relative_error
        Root-mean-square of ``‖g_B - g‖ / ‖g‖`` over the sampled batches, shape ``(k,)``.
    cosine
        Mean cosine similarity between ``g_B`` and ``g``, shape ``(k,)``.
    predicted_error
        ``sqrt(tr Σ (n - B) / (B (n - 1))) / ‖g‖``: sampling theory for batches drawn without
        replacement, with ``tr Σ`` the per-example gradient variance, shape ``(k,)``.
    full_grad_norm
        ``‖g‖`` of the full-batch gradient.
    """

    batch_sizes: np.ndarray
    relative_error: np.ndarray
    cosine: np.ndarray
    predicted_error: np.ndarray
    full_grad_norm: float


@one_thread()
def gradient_noise(
    model: MLP,
    X: torch.Tensor,
    y: torch.Tensor,
    batch_sizes: Sequence[int],
    *,
    num_batches: int = 50,
    seed: int = 0,
) -> GradientNoise:
    """Compare mini-batch gradients with the full-batch gradient at the model's current weights.

    Parameters
    ----------
    model
        A network from :func:`vglib.core.build_mlp` (not changed).
    X, y
        The whole data set, ``(n, in_features)`` and ``(n,)``: its mean loss defines ``g``.
    batch_sizes
        Batch sizes ``B`` to try, each between 1 and ``n``.
    num_batches
        Batches drawn (without replacement within a batch) per size.
    seed
        Seed for the batch draws.
    """
    check_batch(model, X, y)
    n = X.shape[0]
    sizes = [check_int("batch size", b, minimum=1, maximum=n) for b in batch_sizes]
    check_int("num_batches", num_batches, minimum=1)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    g = flat_grad(model, X, y)
    g_norm = g.norm()
    # tr Σ = mean_i ‖∇ℓ_i‖² - ‖g‖² (population variance of the per-example gradients)
    sq = torch.cat(
        [per_example_sq_norms(model, X[i : i + 512], y[i : i + 512]) for i in range(0, n, 512)]
    )
    trace = (sq.mean() - g_norm**2).clamp(min=0.0).item()
    errors, cosines, predicted = [], [], []
    for b in sizes:
        err, cos = [], []
        for _ in range(num_batches):
            idx = torch.randperm(n, generator=gen)[:b]
            gb = flat_grad(model, X[idx], y[idx])
            err.append(((gb - g).norm() / g_norm).item() ** 2)
            cos.append(exact_cosine(gb, g))
        errors.append(math.sqrt(np.mean(err)))
        cosines.append(float(np.mean(cos)))
        fpc = (n - b) / (n - 1) if n > 1 else 0.0
        predicted.append(math.sqrt(trace * fpc / b) / g_norm.item())
    return GradientNoise(
        batch_sizes=np.array(sizes),
        relative_error=np.array(errors),
        cosine=np.array(cosines),
        predicted_error=np.array(predicted),
        full_grad_norm=g_norm.item(),
    )


# -- per-layer steps ----------------------------------------------------------------------------
@dataclass(frozen=True)
class WeightChange:
    """How far training moved each hidden layer's weights.

    Attributes
    ----------
    layer
        Layer numbers ``1 .. num_layers``, shape ``(num_layers,)``.
    relative_change
        ``‖W_l(T) - W_l(0)‖ / ‖W_l(0)‖``, shape ``(num_layers,)``.
    grad_norm
        ``‖∂L/∂W_l‖`` on the mini-batch of the first step :func:`vglib.core.train` records
        (step ``max(1, steps // 10)``), shape ``(num_layers,)``.
    grad_step
        That step's number.
    loss
        Mean mini-batch loss over the first and the last 10% of steps, shape ``(2,)``.
    model
        The trained copy (the model passed in is not changed).
    """

    layer: np.ndarray
    relative_change: np.ndarray
    grad_norm: np.ndarray
    grad_step: int
    loss: np.ndarray
    model: MLP


@one_thread()
def relative_weight_change(
    model: MLP,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    lr: float,
    optimizer: str = "sgd",
    batch_size: int = 32,
    seed: int = 0,
) -> WeightChange:
    """Train a copy of ``model`` with :func:`vglib.core.train` and measure each layer's move.

    Parameters
    ----------
    model
        A network from :func:`vglib.core.build_mlp`; it is copied, not changed.
    X, y
        Training data, ``(n, in_features)`` and ``(n,)``.
    steps, lr, optimizer, batch_size, seed
        As in :func:`vglib.core.train`.
    """
    check_batch(model, X, y)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    net = copy.deepcopy(model)
    before = [block.linear.weight.detach().clone() for block in net.layers]
    history = train(
        net,
        X,
        y,
        steps=steps,
        lr=lr,
        optimizer=optimizer,
        batch_size=batch_size,
        record_every=max(1, steps // 10),
        seed=seed,
        progress=False,
    )
    change = [
        ((block.linear.weight.detach() - w0).norm() / w0.norm()).item()
        for block, w0 in zip(net.layers, before, strict=True)
    ]
    return WeightChange(
        layer=np.arange(1, len(before) + 1),
        relative_change=np.array(change),
        grad_norm=history.weight_grad_norm[0],
        grad_step=int(history.step[0]),
        loss=np.array([history.loss[0], history.loss[-1]]),
        model=net,
    )


@one_thread()
def gradient_agreement(
    model: MLP,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 32,
    num_pairs: int = 50,
    seed: int = 0,
) -> np.ndarray:
    """Mean cosine similarity between two independent mini-batch gradients of each layer's weights.

    The two batches are disjoint, so ``batch_size`` is at most half the data set.
    Near 1: batches agree on the direction (signal); near 0: the direction is noise.
    Returns shape ``(num_layers,)``; the model is not changed.
    """
    check_batch(model, X, y)
    check_int("batch_size", batch_size, minimum=1, maximum=X.shape[0] // 2)
    check_int("num_pairs", num_pairs, minimum=1)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    weights = [block.linear.weight for block in model.layers]

    def layer_grads(idx):
        with torch.enable_grad():
            return torch.autograd.grad(loss_fn(model(X[idx]), y[idx]), weights)

    sims = np.zeros((num_pairs, len(weights)))
    for k in range(num_pairs):
        perm = torch.randperm(X.shape[0], generator=gen)
        a = layer_grads(perm[:batch_size])
        b = layer_grads(perm[batch_size : 2 * batch_size])
        sims[k] = [exact_cosine(ga, gb) for ga, gb in zip(a, b, strict=True)]
    return sims.mean(axis=0)


@one_thread()
def gradient_alignment(
    model: MLP,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 32,
    num_batches: int = 50,
    seed: int = 0,
) -> np.ndarray:
    """Mean cosine similarity between each layer's mini-batch gradient and its full-data gradient.

    The full-data gradient is the mean loss gradient over all of ``(X, y)``: the direction
    in which the training loss falls fastest. A cosine near 1 means that a mini-batch step on
    that layer points downhill on the whole training set; near 0, that it does not.
    Returns shape ``(num_layers,)``; the model is not changed.
    """
    check_batch(model, X, y)
    check_int("batch_size", batch_size, minimum=1, maximum=X.shape[0])
    check_int("num_batches", num_batches, minimum=1)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    weights = [block.linear.weight for block in model.layers]

    def layer_grads(Xb, yb):
        with torch.enable_grad():
            return torch.autograd.grad(loss_fn(model(Xb), yb), weights)

    full = layer_grads(X, y)
    sims = np.zeros((num_batches, len(weights)))
    for k in range(num_batches):
        idx = torch.randperm(X.shape[0], generator=gen)[:batch_size]
        sims[k] = [
            exact_cosine(g, f) for g, f in zip(layer_grads(X[idx], y[idx]), full, strict=True)
        ]
    return sims.mean(axis=0)
