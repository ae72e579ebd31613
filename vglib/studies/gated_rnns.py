"""Gated recurrent networks: gradients through time, an LSTM cell by hand, the adding problem.

Torch and numpy only. Every model is torch's own ``nn.RNN`` (tanh), ``nn.LSTM`` or ``nn.GRU``
with one layer, built under an explicit seed without touching the global random state.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vglib import core

#: The recurrent cells, as :func:`build_rnn` names them.
CELLS = ("rnn", "lstm", "gru")


def build_rnn(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    weight_scale: float | None = 1.0,
    forget_bias: float = 0.0,
    seed: int = 0,
) -> nn.RNNBase:
    """A one-layer ``nn.RNN`` (tanh), ``nn.LSTM`` or ``nn.GRU`` (``batch_first=True``).

    The recurrent weights of every gate block are redrawn as ``N(0, weight_scale**2 /
    hidden_size)``, so for the tanh RNN the spectral radius of ``W_hh`` is close to
    ``weight_scale`` (circular law); ``weight_scale=None`` keeps torch's default. Input
    weights and biases keep torch's default initialization, except the LSTM forget-gate
    bias, set to ``forget_bias`` (in ``bias_ih``; the matching part of ``bias_hh`` is
    zeroed).

    Parameters
    ----------
    cell
        ``"rnn"``, ``"lstm"`` or ``"gru"``.
    input_size, hidden_size
        Sizes of ``x_t`` and ``h_t``.
    weight_scale
        Standard deviation of the recurrent weights times ``sqrt(hidden_size)``, >= 0, or
        ``None`` for torch's default ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``.
    forget_bias
        LSTM forget-gate bias (ignored by the other cells).
    seed
        Seed of the weights; the global random state is left alone.
    """
    core.check_choice("cell", cell, CELLS)
    input_size = core.check_int("input_size", input_size, minimum=1)
    hidden_size = core.check_int("hidden_size", hidden_size, minimum=1)
    if weight_scale is not None:
        weight_scale = core.check_real("weight_scale", weight_scale, minimum=0.0)
    forget_bias = core.check_real("forget_bias", forget_bias)
    kind = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = kind(input_size, hidden_size, batch_first=True)
    with torch.no_grad():
        if weight_scale is not None:
            gen = torch.Generator().manual_seed(seed + 1)
            shape = model.weight_hh_l0.shape
            w = torch.randn(shape, generator=gen) * (weight_scale / hidden_size**0.5)
            model.weight_hh_l0.copy_(w)
        if cell == "lstm":
            h = hidden_size
            model.bias_ih_l0[h : 2 * h] = forget_bias
            model.bias_hh_l0[h : 2 * h] = 0.0
    return model


def _readout(hidden_size: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed + 2)
    return torch.randn(hidden_size, generator=gen) / hidden_size**0.5


def input_gradient_norms(model: nn.RNNBase, X: torch.Tensor, readout: torch.Tensor) -> np.ndarray:
    """``||dy_T / dx_t||`` for every time step ``t``, from one backward pass.

    ``y_T = readout . h_T`` is a scalar output read from the last hidden state. The
    sequences of a batch do not interact, so the gradient of the batch sum with respect to
    ``X`` holds every sequence's own gradient; the norm at step ``t`` is averaged over the
    batch.

    Parameters
    ----------
    model
        A one-layer ``batch_first`` recurrent network (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``).
    X
        Inputs, shape ``(batch, T, input_size)``.
    readout
        Readout vector, shape ``(hidden_size,)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(T,)``: entry ``t`` is the mean over the batch of ``||dy_T / dx_t||``.
    """
    X = X.detach().clone().requires_grad_(True)
    out, _ = model(X)
    y = out[:, -1, :] @ readout  # (batch,)
    (grad,) = torch.autograd.grad(y.sum(), X)
    return grad.norm(dim=2).mean(dim=0).numpy()


@dataclass(frozen=True)
class BPTTProfile:
    """``||dy_T / dx_t||`` of fresh tanh-RNN, LSTM and GRU networks on the same inputs.

    Attributes
    ----------
    seq_len, weight_scale, forget_bias, hidden_size
        The settings (see :func:`build_rnn`).
    t
        The time steps ``1..T``, shape ``(T,)``.
    norms
        ``{cell: norms}`` for every cell of :data:`CELLS`, each of shape ``(T,)``: entry
        ``t`` is the mean over the batch of ``||dy_T / dx_t||`` (computed in float64).
    """

    seq_len: int
    weight_scale: float
    forget_bias: float
    hidden_size: int
    t: np.ndarray
    norms: Mapping[str, np.ndarray]

    def ratio(self, cell: str) -> float:
        """``||dy_T / dx_1|| / ||dy_T / dx_T||``: how much of the gradient reaches the first input."""
        core.check_choice("cell", cell, CELLS)
        return float(self.norms[cell][0] / self.norms[cell][-1])


@functools.cache
def bptt_profile(
    seq_len: int,
    *,
    weight_scale: float = 1.0,
    forget_bias: float = 0.0,
    hidden_size: int = 32,
    input_size: int = 4,
    batch: int = 8,
    seed: int = 0,
) -> BPTTProfile:
    """``||dy_T / dx_t||`` of fresh tanh-RNN, LSTM and GRU networks on the same random inputs.

    Each network is :func:`build_rnn` with the same settings; :func:`input_gradient_norms`
    measures it. Results are cached (the demo ``bptt_explorer`` and the chapter share them).

    Parameters
    ----------
    seq_len
        Sequence length ``T``, >= 1.
    weight_scale, forget_bias
        See :func:`build_rnn`.
    hidden_size, input_size, batch
        Sizes; inputs are ``N(0, 1)``, shape ``(batch, T, input_size)``.
    seed
        Seed of the weights and the inputs.
    """
    seq_len = core.check_int("seq_len", seq_len, minimum=1)
    gen = torch.Generator().manual_seed(seed + 3)
    # float64: the long-range gradients fall far below float32's smallest number
    X = torch.randn(batch, seq_len, input_size, generator=gen, dtype=torch.float64)
    readout = _readout(hidden_size, seed).double()
    norms: dict[str, np.ndarray] = {}
    with core.one_thread():
        for cell in CELLS:
            model = build_rnn(
                cell,
                input_size,
                hidden_size,
                weight_scale=weight_scale,
                forget_bias=forget_bias,
                seed=seed,
            ).double()
            norms[cell] = input_gradient_norms(model, X, readout)
    return BPTTProfile(
        seq_len=seq_len,
        weight_scale=weight_scale,
        forget_bias=forget_bias,
        hidden_size=hidden_size,
        t=np.arange(1, seq_len + 1),
        norms=norms,
    )


def spectral_radius(W: torch.Tensor) -> float:
    """Largest absolute eigenvalue of a square matrix ``W`` (shape ``(n, n)``)."""
    return float(torch.linalg.eigvals(W.double()).abs().max())


def linear_backprop_norms(W: torch.Tensor, u: torch.Tensor, num_steps: int) -> np.ndarray:
    """Backpropagate through a linear RNN ``h_t = W h_{t-1} + x_t`` with autograd.

    With ``y = u . h_K``, the gradient with respect to ``h_{K-k}`` is ``(W^T)^k u``.

    Parameters
    ----------
    W
        Recurrent weights, shape ``(n, n)``.
    u
        Readout, shape ``(n,)``.
    num_steps
        ``K``, the number of recurrent steps.

    Returns
    -------
    numpy.ndarray
        Shape ``(K + 1,)``: entry ``k`` is ``||dy / dh_{K-k}||``.
    """
    num_steps = core.check_int("num_steps", num_steps, minimum=1)
    W = W.double()
    states = [torch.zeros(W.shape[0], dtype=W.dtype, requires_grad=True)]
    for _ in range(num_steps):
        states.append(W @ states[-1])
        states[-1].retain_grad()
    y = u.double() @ states[-1]
    y.backward()
    return np.array([states[num_steps - k].grad.norm().item() for k in range(num_steps + 1)])


@dataclass(frozen=True)
class LSTMStep:
    """One LSTM step: new states and gate values, each of shape ``(batch, hidden)``."""

    h: torch.Tensor
    c: torch.Tensor
    i: torch.Tensor
    f: torch.Tensor
    g: torch.Tensor
    o: torch.Tensor


def lstm_cell_step(
    x: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor,
    bias_hh: torch.Tensor,
) -> LSTMStep:
    """One LSTM step written out, in torch's gate order (input, forget, cell, output).

    ``c_t = f * c_{t-1} + i * g`` and ``h_t = o * tanh(c_t)``.

    Parameters
    ----------
    x
        Input, shape ``(batch, input_size)``.
    h, c
        Previous hidden and cell states, shape ``(batch, hidden)``.
    weight_ih, weight_hh
        Shapes ``(4 hidden, input_size)`` and ``(4 hidden, hidden)``.
    bias_ih, bias_hh
        Shape ``(4 hidden,)``.
    """
    z = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    zi, zf, zg, zo = z.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)
    c_new = f * c + i * g
    return LSTMStep(h=o * torch.tanh(c_new), c=c_new, i=i, f=f, g=g, o=o)


# -- the adding problem -----------------------------------------------------------------------
def make_adding(num: int, seq_len: int, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter and Schmidhuber 1997, in its common modern form).

    Each sequence has two channels: values ``U(0, 1)`` and a marker that is 1 at exactly two
    positions, one in the first half and one in the second half, 0 elsewhere. The target is
    the sum of the two marked values.

    Returns
    -------
    X, y
        Shapes ``(num, seq_len, 2)`` and ``(num,)``.
    """
    num = core.check_int("num", num, minimum=1)
    seq_len = core.check_int("seq_len", seq_len, minimum=2)
    gen = torch.Generator().manual_seed(seed)
    values = torch.rand(num, seq_len, generator=gen)
    half = seq_len // 2
    first = torch.randint(0, half, (num,), generator=gen)
    second = torch.randint(half, seq_len, (num,), generator=gen)
    marker = torch.zeros(num, seq_len)
    rows = torch.arange(num)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return torch.stack([values, marker], dim=2), y


def adding_baseline_mse() -> float:
    """MSE of always predicting the mean 1 in the adding problem: ``Var(U1 + U2) = 2/12 = 1/6``."""
    return 2.0 / 12.0


class SequenceRegressor(nn.Module):
    """A recurrent layer followed by a linear readout of the last hidden state."""

    def __init__(self, rnn: nn.RNNBase, *, seed: int = 0) -> None:
        super().__init__()
        self.rnn = rnn
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 4)
            self.head = nn.Linear(rnn.hidden_size, 1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X`` of shape ``(batch, T, input_size)`` -> predictions of shape ``(batch,)``."""
        out, _ = self.rnn(X)
        return self.head(out[:, -1, :]).squeeze(1)


@dataclass(frozen=True)
class AddingRun:
    """One training run on the adding problem.

    Attributes
    ----------
    cell, seq_len
        The recurrent cell and the sequence length.
    step
        Recorded steps, shape ``(records,)``.
    loss
        Training MSE averaged over the steps since the previous record, shape ``(records,)``.
    test_mse
        MSE on 1000 held-out sequences after training.
    """

    cell: str
    seq_len: int
    step: np.ndarray
    loss: np.ndarray
    test_mse: float


@core.one_thread()
def train_adding(
    cell: str,
    seq_len: int,
    *,
    steps: int = 300,
    hidden_size: int = 32,
    batch_size: int = 64,
    lr: float = 1e-2,
    forget_bias: float = 1.0,
    record_every: int = 10,
    seed: int = 0,
) -> AddingRun:
    """Train a one-layer recurrent regressor on the adding problem with Adam.

    :func:`vglib.core.train` on fresh batches of ``batch_size`` sequences per step
    (seeded); the held-out MSE is measured on 1000 other sequences. The recurrent weights
    use torch's default initialization except for the LSTM forget-gate bias.

    Parameters
    ----------
    cell
        One of :data:`CELLS`.
    seq_len
        Sequence length ``T``.
    steps, lr, batch_size
        Adam steps, learning rate and sequences per step.
    hidden_size
        Units of the recurrent layer.
    forget_bias
        LSTM forget-gate bias (ignored by the other cells).
    record_every
        Record the mean training MSE every this many steps.
    seed
        Seed of the weights and the data.
    """
    core.check_choice("cell", cell, CELLS)
    steps = core.check_int("steps", steps, minimum=1)
    rnn = build_rnn(cell, 2, hidden_size, weight_scale=None, forget_bias=forget_bias, seed=seed)
    model = SequenceRegressor(rnn, seed=seed)
    X_all, y_all = make_adding(steps * batch_size, seq_len, seed=seed + 100)
    batches = (
        (X_all[i * batch_size : (i + 1) * batch_size], y_all[i * batch_size : (i + 1) * batch_size])
        for i in range(steps)
    )
    history = core.train(
        model,
        batches=batches,
        steps=steps,
        optimizer="adam",
        lr=lr,
        loss="mse",
        record_every=record_every,
    )
    X_test, y_test = make_adding(1000, seq_len, seed=seed + 10_000)
    with torch.no_grad():
        test_mse = nn.functional.mse_loss(model(X_test), y_test).item()
    return AddingRun(cell, seq_len, history.step.astype(int), history.loss, test_mse)
