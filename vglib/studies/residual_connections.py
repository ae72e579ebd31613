"""Residual networks: the identity path, branch scaling, degradation, pre- and post-norm.

The model here is a small *pre-activation* residual network of our own (rather than
:func:`vglib.core.build_mlp`, which has no branch scaling): an input layer, ``num_blocks``
blocks and a linear read-out,

.. math:: h_0 = W_{\\text{in}} x, \\qquad h_{l+1} = h_l + \\alpha_l\\, W_l\\,\\phi(h_l),
          \\qquad \\text{out} = W_{\\text{out}}\\, \\phi(h_L),

with :math:`\\phi` = ReLU and :math:`W_l \\sim \\mathcal{N}(0, \\sigma_w^2/n)`. The *plain*
network drops the skip: :math:`h_{l+1} = W_l\\,\\phi(h_l)`. The branch is uncorrelated with
:math:`h_l`, and :math:`\\mathbb{E}[\\phi(h)^2] = q/2` for units symmetric about zero (exact
for :math:`h_0`, a mean-field approximation later), so the mean second moment
:math:`q_l = \\mathbb{E}[h_l^2]` obeys

.. math:: q_{l+1} = c\\, q_l, \\qquad c = 1 + \\alpha^2 \\sigma_w^2 / 2
          \\quad (\\text{plain: } c = \\sigma_w^2/2),

and, under the usual independence approximation, the squared gradient norm grows by the same
factor ``c`` per block on its way back to the input (:func:`branch_factor`).
:func:`branch_profiles` measures all four kinds of network side by side (the chapter's demo).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vglib.core import (
    check_choice,
    check_int,
    check_real,
    make_spirals,
    make_teacher_regression,
    one_thread,
    train,
)

#: Kinds of network: no skip, and three residual branch scalings.
#:
#: * ``plain`` -- :math:`h_{l+1} = W_l \phi(h_l)`, no identity path;
#: * ``unscaled`` -- :math:`\alpha = 1`;
#: * ``scaled`` -- :math:`\alpha = 1/\sqrt{L}` for ``L`` blocks;
#: * ``zero`` -- a learnable scalar :math:`\alpha_l` initialized at 0 (SkipInit, De and Smith
#:   2020); at initialization the same function as Fixup's zero-initialized last branch layer.
BRANCHES = ("plain", "unscaled", "scaled", "zero")

#: What each kind of network in :data:`BRANCHES` is called in figures and tables.
BRANCH_LABELS = {
    "plain": "plain (no skip)",
    "unscaled": "residual, α = 1",
    "scaled": "residual, α = 1/√L",
    "zero": "residual, α = 0 (SkipInit)",
}

#: Where the layer normalization sits in a Transformer-style block.
NORM_POSITIONS = ("pre", "post")


def branch_alpha(branch: str, num_blocks: int) -> float:
    """Initial branch multiplier :math:`\\alpha` of ``branch`` (0 for ``plain``'s missing skip)."""
    check_choice("branch", branch, BRANCHES)
    check_int("num_blocks", num_blocks, minimum=1)
    return {"plain": 0.0, "unscaled": 1.0, "scaled": 1.0 / math.sqrt(num_blocks), "zero": 0.0}[
        branch
    ]


def branch_factor(branch: str, num_blocks: int, sigma_w2: float = 2.0) -> float:
    """Per-block growth ``c`` of the forward second moment (and of the squared gradient).

    ``plain``: :math:`\\sigma_w^2/2`; residual: :math:`1 + \\alpha^2\\sigma_w^2/2`, which is
    :math:`1 + \\alpha^2` under He initialization (:math:`\\sigma_w^2 = 2`).
    """
    alpha = branch_alpha(branch, num_blocks)
    check_real("sigma_w2", sigma_w2, minimum=0.0, strict_minimum=True)
    if branch == "plain":
        return sigma_w2 / 2.0
    return 1.0 + alpha**2 * sigma_w2 / 2.0


class _Linear(nn.Linear):
    """``nn.Linear`` without its default initialization (no draw from the global RNG)."""

    def reset_parameters(self) -> None:
        pass  # ResidualMLP sets every weight and bias from its own generator


class ResidualMLP(nn.Module):
    """A pre-activation residual MLP with one-layer ReLU branches, or its plain counterpart.

    Parameters
    ----------
    in_features, width, out_features
        Input, hidden and output sizes.
    num_blocks
        Number of blocks ``L`` (hidden-to-hidden layers).
    branch
        One of :data:`BRANCHES`.
    sigma_w2
        ``fan_in * Var(W)`` of the input and block weights (2 is He's choice); biases start at 0.
    seed
        Seed of the weights; the global random state is untouched.
    """

    def __init__(
        self,
        in_features: int,
        width: int,
        out_features: int,
        num_blocks: int,
        *,
        branch: str = "unscaled",
        sigma_w2: float = 2.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        check_int("in_features", in_features, minimum=1)
        check_int("width", width, minimum=1)
        check_int("out_features", out_features, minimum=1)
        alpha = branch_alpha(branch, num_blocks)
        check_real("sigma_w2", sigma_w2, minimum=0.0, strict_minimum=True)
        self.branch, self.num_blocks, self.sigma_w2 = branch, num_blocks, sigma_w2
        gen = torch.Generator().manual_seed(check_int("seed", seed))
        self.inp = _Linear(in_features, width)
        self.blocks = nn.ModuleList(_Linear(width, width) for _ in range(num_blocks))
        self.out = _Linear(width, out_features)
        with torch.no_grad():
            for layer in (self.inp, *self.blocks):
                fan_in = layer.weight.shape[1]
                layer.weight.normal_(0.0, math.sqrt(sigma_w2 / fan_in), generator=gen)
                layer.bias.zero_()
            self.out.weight.normal_(0.0, math.sqrt(1.0 / width), generator=gen)
            self.out.bias.zero_()
        alphas = torch.full((num_blocks,), alpha)
        if branch == "zero":
            self.alpha = nn.Parameter(alphas)  # SkipInit: a learnable scalar per block
        else:
            self.register_buffer("alpha", alphas)

    def block(self, i: int, h: torch.Tensor) -> torch.Tensor:
        """Block ``i`` (0-based) applied to ``h`` of shape ``(..., width)``."""
        branch = self.blocks[i](torch.relu(h))
        if self.branch == "plain":
            return branch
        return h + self.alpha[i] * branch

    def forward_with_hidden(self, X: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Output, shape ``(batch, out_features)``, and ``[h_0, ..., h_L]``, each ``(batch, width)``."""
        h = self.inp(X)
        hidden = [h]
        for i in range(self.num_blocks):
            h = self.block(i, h)
            hidden.append(h)
        return self.out(torch.relu(h)), hidden

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.forward_with_hidden(X)[0]


@dataclass(frozen=True)
class ResidualProfile:
    """Per-layer measurements of one network at initialization, with the closed form.

    All arrays have shape ``(num_blocks + 1,)`` and are indexed by ``layer`` = 0 (the input
    layer's output ``h_0``) to ``L`` (the last block's output).

    Attributes
    ----------
    branch
        The kind of network, one of :data:`BRANCHES`.
    layer
        Layer numbers ``0 .. L``.
    second_moment
        Measured mean of ``h_l**2`` over batch and units, ``q_l``.
    grad_norm
        Measured ``||dLoss/dh_l||`` over the batch.
    factor
        The per-block growth ``c`` of :func:`branch_factor`.
    theory_second_moment
        ``q_0 c^l``, anchored at the measured ``q_0``.
    theory_grad_norm
        ``||g_L|| c^((L - l) / 2)``, anchored at the measured top.
    """

    branch: str
    layer: np.ndarray
    second_moment: np.ndarray
    grad_norm: np.ndarray
    factor: float
    theory_second_moment: np.ndarray
    theory_grad_norm: np.ndarray

    @property
    def growth(self) -> float:
        """Measured ``q_L / q_0``."""
        return float(self.second_moment[-1] / self.second_moment[0])

    @property
    def first_to_last(self) -> float:
        """Measured ``||g_0|| / ||g_L||``."""
        return float(self.grad_norm[0] / self.grad_norm[-1])

    @property
    def relative_grad_norm(self) -> np.ndarray:
        """Measured ``||g_l|| / ||g_L||``: the gradient norm relative to the top's."""
        return self.grad_norm / self.grad_norm[-1]

    @property
    def relative_theory_grad_norm(self) -> np.ndarray:
        """The closed form ``c^((L - l) / 2)`` of :attr:`relative_grad_norm`."""
        return self.theory_grad_norm / self.grad_norm[-1]

    @property
    def relative_second_moment(self) -> np.ndarray:
        """Measured ``q_l / q_0``: the second moment relative to layer 0's."""
        return self.second_moment / self.second_moment[0]

    @property
    def relative_theory_second_moment(self) -> np.ndarray:
        """The closed form ``c^l`` of :attr:`relative_second_moment`."""
        return self.theory_second_moment / self.second_moment[0]


@functools.lru_cache(maxsize=8)
def _teacher_data(batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    # building the teacher costs more than a 50-block pass: reuse it between demo updates
    return make_teacher_regression(batch, in_features=8, seed=seed)


def residual_profile(
    branch: str,
    num_blocks: int,
    *,
    width: int = 128,
    sigma_w2: float = 2.0,
    batch: int = 128,
    seed: int = 0,
) -> ResidualProfile:
    """Measure forward second moments and gradient norms of a :class:`ResidualMLP` at init.

    The data are :func:`vglib.core.make_teacher_regression` (8 inputs) and the loss is the
    mean squared error, so the gradient is that of a real, learnable task.

    Parameters
    ----------
    branch
        One of :data:`BRANCHES`.
    num_blocks
        Number of blocks ``L``.
    width
        Units per hidden layer.
    sigma_w2
        ``fan_in * Var(W)`` of the input and block weights.
    batch
        Examples in the batch.
    seed
        Seed of the weights and the data.

    Returns
    -------
    ResidualProfile
    """
    X, y = _teacher_data(batch, seed)
    model = ResidualMLP(8, width, 1, num_blocks, branch=branch, sigma_w2=sigma_w2, seed=seed)
    with one_thread(), torch.enable_grad():
        out, hidden = model.forward_with_hidden(X)
        grads = torch.autograd.grad(nn.functional.mse_loss(out, y), hidden)
    q = np.array([float(h.detach().pow(2).mean()) for h in hidden])
    g = np.array([float(gr.norm()) for gr in grads])
    c = branch_factor(branch, num_blocks, sigma_w2)
    layer = np.arange(num_blocks + 1)
    return ResidualProfile(
        branch=branch,
        layer=layer,
        second_moment=q,
        grad_norm=g,
        factor=c,
        theory_second_moment=q[0] * c**layer,
        theory_grad_norm=g[-1] * c ** ((num_blocks - layer) / 2.0),
    )


@dataclass(frozen=True)
class BranchProfiles:
    """The plain network and the three residual ones of the same size, side by side.

    Attributes
    ----------
    num_blocks, sigma_w2, width, batch
        The networks and the batch they were measured on.
    profiles
        The :class:`ResidualProfile` of each kind of network, keyed by :data:`BRANCHES`.
    """

    num_blocks: int
    sigma_w2: float
    width: int
    batch: int
    profiles: dict[str, ResidualProfile]


@functools.cache
def branch_profiles(
    num_blocks: int, sigma_w2: float = 2.0, *, width: int = 128, batch: int = 64, seed: int = 0
) -> BranchProfiles:
    """:func:`residual_profile` of every kind of network in :data:`BRANCHES`, at one depth.

    Cached: the chapter's cells reuse what its demo computed for the same values.

    Parameters
    ----------
    num_blocks
        Number of blocks ``L``.
    sigma_w2
        ``fan_in * Var(W)`` of the input and block weights (2 is He's choice).
    width, batch
        Units per hidden layer and examples in the batch.
    seed
        Seed of the weights and the data.

    Returns
    -------
    BranchProfiles
    """
    profiles = {
        b: residual_profile(b, num_blocks, width=width, sigma_w2=sigma_w2, batch=batch, seed=seed)
        for b in BRANCHES
    }
    return BranchProfiles(num_blocks, sigma_w2, width, batch, profiles)


@dataclass(frozen=True)
class BlockJacobians:
    """Jacobians of a :class:`ResidualMLP`'s blocks at one input, by autograd.

    Attributes
    ----------
    blocks
        ``blocks[l]`` is :math:`\\partial h_{l+1}/\\partial h_l`, shape ``(L, width, width)``.
    branches
        ``branches[l]`` is the branch's own Jacobian :math:`\\alpha_l W_l D_l` (``D_l`` the
        ReLU slopes at ``h_l``; :math:`W_l D_l` for the plain network), so that
        ``blocks = I + branches`` for a residual network and ``blocks = branches`` for the
        plain one; shape ``(L, width, width)``.
    full
        :math:`\\partial h_L/\\partial h_0`, shape ``(width, width)``.
    """

    blocks: torch.Tensor
    branches: torch.Tensor
    full: torch.Tensor


@one_thread()
def block_jacobians(model: ResidualMLP, x: torch.Tensor) -> BlockJacobians:
    """Jacobians of every block and of the whole stack of ``model`` at one input.

    Parameters
    ----------
    model
        The network.
    x
        One input, shape ``(in_features,)``.

    Returns
    -------
    BlockJacobians
    """
    if x.dim() != 1 or x.shape[0] != model.inp.in_features:
        raise ValueError(f"x must have shape ({model.inp.in_features},), got {tuple(x.shape)}")
    jac = torch.autograd.functional.jacobian
    with torch.no_grad():
        _, hidden = model.forward_with_hidden(x[None])
    hs = [h[0] for h in hidden]
    blocks, branches = [], []
    for i in range(model.num_blocks):
        blocks.append(jac(lambda h, i=i: model.block(i, h), hs[i]))
        slope = (hs[i] > 0).to(hs[i].dtype)
        scale = 1.0 if model.branch == "plain" else model.alpha[i].detach()
        branches.append(scale * model.blocks[i].weight.detach() * slope)

    def stack(h: torch.Tensor) -> torch.Tensor:
        for i in range(model.num_blocks):
            h = model.block(i, h)
        return h

    return BlockJacobians(torch.stack(blocks), torch.stack(branches), jac(stack, hs[0]))


def stack_jacobian_singular_values(
    branch: str, num_blocks: int, *, width: int = 32, sigma_w2: float = 2.0, seed: int = 0
) -> np.ndarray:
    """Singular values of the whole stack's Jacobian :math:`\\partial h_L/\\partial h_0`.

    Taken at one spirals point (the first of :func:`vglib.core.make_spirals` with ``seed``),
    for a fresh :class:`ResidualMLP` with 2 inputs.

    Parameters
    ----------
    branch, num_blocks, width, sigma_w2
        The network, as for :func:`residual_profile`.
    seed
        Seed of the weights and of the input.

    Returns
    -------
    numpy.ndarray
        Shape ``(width,)``, largest first.
    """
    model = ResidualMLP(2, width, 1, num_blocks, branch=branch, sigma_w2=sigma_w2, seed=seed)
    x = make_spirals(8, seed=seed)[0][0]
    with one_thread():
        return torch.linalg.svdvals(block_jacobians(model, x).full).numpy()


# -- degradation -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingCurve:
    """One training run of :func:`train_residual`.

    Attributes
    ----------
    branch, num_blocks
        The network.
    loss
        Training loss (cross-entropy on the whole training set) before every step and after
        the last one, shape ``(steps + 1,)``.
    accuracy
        Training accuracy at the end.
    """

    branch: str
    num_blocks: int
    loss: np.ndarray
    accuracy: float


def train_residual(
    branch: str,
    num_blocks: int,
    *,
    width: int = 32,
    steps: int = 300,
    lr: float = 0.05,
    momentum: float = 0.9,
    n_samples: int = 512,
    sigma_w2: float = 2.0,
    seed: int = 0,
) -> TrainingCurve:
    """Train a :class:`ResidualMLP` on :func:`vglib.core.make_spirals`, full batch, SGD.

    :func:`vglib.core.train` with SGD with momentum on the whole training set, so the curve
    is the training loss itself; one more forward pass measures it after the last step.

    Parameters
    ----------
    branch, num_blocks, width, sigma_w2
        The network, as for :func:`residual_profile` (2 inputs, 2 outputs).
    steps, lr, momentum
        Number of full-batch SGD steps, learning rate and momentum.
    n_samples
        Spirals points (the training set).
    seed
        Seed of the weights and the data.

    Returns
    -------
    TrainingCurve
    """
    check_int("steps", steps, minimum=1)
    check_real("lr", lr, minimum=0.0, strict_minimum=True)
    check_real("momentum", momentum, minimum=0.0, maximum=1.0)
    X, y = make_spirals(n_samples, seed=seed)
    model = ResidualMLP(2, width, 2, num_blocks, branch=branch, sigma_w2=sigma_w2, seed=seed)
    history = train(
        model,
        X,
        y,
        steps=steps,
        optimizer=torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum),
        batch_size=None,
        loss="cross_entropy",
        record_every=None,
        progress=False,
    )
    with one_thread(), torch.no_grad():
        out = model(X)
        final = nn.functional.cross_entropy(out, y).item()
        accuracy = float((out.argmax(1) == y).float().mean())
    return TrainingCurve(branch, num_blocks, np.append(history.losses, final), accuracy)


def degradation_sweep(
    depths: Sequence[int] = (3, 30),
    branches: Sequence[str] = ("plain", "scaled"),
    lrs: Sequence[float] = (0.005, 0.02, 0.05),
    **kwargs,
) -> dict[tuple[str, int, float], TrainingCurve]:
    """:func:`train_residual` for every ``(branch, depth, lr)``.

    Parameters
    ----------
    depths, branches, lrs
        The numbers of blocks, kinds of network (:data:`BRANCHES`) and learning rates.
    **kwargs
        Passed on to :func:`train_residual`.

    Returns
    -------
    dict
        ``{(branch, num_blocks, lr): TrainingCurve}``.
    """
    return {
        (b, d, lr): train_residual(b, d, lr=lr, **kwargs)
        for b in branches
        for d in depths
        for lr in lrs
    }


def init_gradient_ratio(
    branch: str,
    num_blocks: int,
    *,
    width: int = 32,
    n_samples: int = 512,
    sigma_w2: float = 2.0,
    seed: int = 0,
) -> float:
    """``||dLoss/dh_0|| / ||dLoss/dh_L||`` of :func:`train_residual`'s network at initialization.

    The same network, data and loss as :func:`train_residual` (cross-entropy on
    :func:`vglib.core.make_spirals`, full batch) before its first step: far below 1 the
    gradient vanishes on its way to the first block, far above 1 it explodes.

    Parameters
    ----------
    branch, num_blocks, width, n_samples, sigma_w2, seed
        As for :func:`train_residual`.
    """
    X, y = make_spirals(n_samples, seed=seed)
    model = ResidualMLP(2, width, 2, num_blocks, branch=branch, sigma_w2=sigma_w2, seed=seed)
    with one_thread(), torch.enable_grad():
        out, hidden = model.forward_with_hidden(X)
        grads = torch.autograd.grad(nn.functional.cross_entropy(out, y), hidden)
    return float(grads[0].norm() / grads[-1].norm())


# -- pre-norm and post-norm --------------------------------------------------------------------
class NormBlockStack(nn.Module):
    """A stack of Transformer-style MLP blocks with layer normalization before or after the add.

    ``pre``: :math:`x_{l+1} = x_l + F_l(\\mathrm{LN}(x_l))` (plus a final LN before the
    read-out); ``post``: :math:`x_{l+1} = \\mathrm{LN}(x_l + F_l(x_l))`, as in the original
    Transformer. :math:`F_l` is Linear-ReLU-Linear with PyTorch's default initialization.

    Parameters
    ----------
    width
        Units of every block's input and output.
    num_blocks
        Number of blocks ``L``.
    position
        One of :data:`NORM_POSITIONS`.
    seed
        Seed of the weights; the global random state is untouched.
    """

    def __init__(self, width: int, num_blocks: int, *, position: str = "pre", seed: int = 0):
        super().__init__()
        self.position = check_choice("position", position, NORM_POSITIONS)
        check_int("width", width, minimum=1)
        check_int("num_blocks", num_blocks, minimum=1)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(check_int("seed", seed))
            self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(num_blocks))
            self.branches = nn.ModuleList(
                nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
                for _ in range(num_blocks)
            )
            self.final = nn.LayerNorm(width)
            self.head = nn.Linear(width, 1)

    def forward_with_hidden(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Output ``(batch, 1)`` and the inputs ``x_0 .. x_{L-1}`` of every block, each
        ``(batch, width)``, for ``x`` of shape ``(batch, width)``."""
        hidden = []
        for norm, branch in zip(self.norms, self.branches, strict=True):
            hidden.append(x)
            x = x + branch(norm(x)) if self.position == "pre" else norm(x + branch(x))
        if self.position == "pre":
            x = self.final(x)
        return self.head(x), hidden


@dataclass(frozen=True)
class NormProfile:
    """Gradient norms per block of a :class:`NormBlockStack` at initialization.

    Attributes
    ----------
    position
        One of :data:`NORM_POSITIONS`.
    block
        Block numbers ``1 .. L``, shape ``(L,)``.
    hidden_grad
        ``||dLoss/dx_l||`` at each block's input, shape ``(L,)``.
    param_grad
        Norm of the gradient of each block's two branch weight matrices together, shape
        ``(L,)``.
    """

    position: str
    block: np.ndarray
    hidden_grad: np.ndarray
    param_grad: np.ndarray


def norm_profile(
    position: str, num_blocks: int, *, width: int = 64, batch: int = 128, seed: int = 0
) -> NormProfile:
    """Measure a :class:`NormBlockStack` at init on a teacher regression task (MSE loss).

    Parameters
    ----------
    position
        One of :data:`NORM_POSITIONS`.
    num_blocks
        Number of blocks ``L``.
    width
        Units of every block (and input features of the task).
    batch
        Examples in the batch.
    seed
        Seed of the weights and the data.

    Returns
    -------
    NormProfile
    """
    model = NormBlockStack(width, num_blocks, position=position, seed=seed)
    X, y = make_teacher_regression(batch, in_features=width, seed=seed)
    X.requires_grad_(True)
    weights = [p for b in model.branches for p in (b[0].weight, b[2].weight)]
    with torch.enable_grad():
        out, hidden = model.forward_with_hidden(X)
        grads = torch.autograd.grad(nn.functional.mse_loss(out, y), [*hidden, *weights])
    hg = np.array([float(g.norm()) for g in grads[:num_blocks]])
    wg = grads[num_blocks:]
    pg = np.array(
        [
            math.hypot(float(wg[2 * i].norm()), float(wg[2 * i + 1].norm()))
            for i in range(num_blocks)
        ]
    )
    return NormProfile(position, np.arange(1, num_blocks + 1), hg, pg)
