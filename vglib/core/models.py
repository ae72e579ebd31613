"""Deep multilayer perceptrons with a choice of activation, initialization, batch norm and skips."""

from __future__ import annotations

import math

import torch
from torch import nn

from vglib._validate import check_choice, check_int, check_real
from vglib.core.activations import ACTIVATIONS, make_activation

#: Initialization schemes understood by :func:`init_linear_`.
#:
#: * ``default`` -- whatever ``nn.Linear.reset_parameters`` does (weights and biases
#:   uniform in +-1/sqrt(fan_in)).
#: * ``standard`` -- Glorot and Bengio's "standard" heuristic: weights uniform in
#:   +-1/sqrt(fan_in), biases zero.
#: * ``normal`` -- weights N(0, std**2), biases zero; needs ``std``.
#: * ``xavier`` -- Glorot's normalized uniform init, variance 2 gain**2/(fan_in + fan_out).
#: * ``he`` -- He et al.'s normal init for ReLU, variance 2/fan_in.
#: * ``lecun`` -- normal, variance 1/fan_in (the init SELU assumes).
#: * ``orthogonal`` -- a (semi-)orthogonal matrix times ``gain``.
INITS = ("default", "standard", "normal", "xavier", "he", "lecun", "orthogonal")

BN_POSITIONS = ("before", "after")


def _check_init_args(init: str, std: float | None, gain: float) -> None:
    check_choice("init", init, INITS)
    if init == "normal":
        if std is None:
            raise ValueError("init='normal' needs a standard deviation: pass std=..., e.g. std=0.1")
        check_real("std", std, minimum=0.0, strict_minimum=True)
    elif std is not None:
        raise ValueError(f"std only applies to init='normal', not init={init!r}")
    check_real("gain", gain, minimum=0.0, strict_minimum=True)


@torch.no_grad()
def init_linear_(
    linear: nn.Linear, init: str, *, std: float | None = None, gain: float = 1.0
) -> nn.Linear:
    """Initialize ``linear`` in place with the scheme ``init`` (see :data:`INITS`).

    Parameters
    ----------
    linear
        The layer; its weight has shape ``(fan_out, fan_in)``.
    init
        One of :data:`INITS`.
    std
        Standard deviation of the weights, only for ``init="normal"``.
    gain
        Multiplier for ``xavier`` and ``orthogonal``.

    Returns
    -------
    nn.Linear
        The same layer, for chaining.
    """
    _check_init_args(init, std, gain)
    weight, bias = linear.weight, linear.bias
    if init == "default":
        linear.reset_parameters()
        return linear
    fan_in = weight.shape[1]
    if init == "standard":
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(weight, -bound, bound)
    elif init == "normal":
        nn.init.normal_(weight, 0.0, std)
    elif init == "xavier":
        nn.init.xavier_uniform_(weight, gain=gain)
    elif init == "he":
        nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
    elif init == "lecun":
        nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="linear")
    elif init == "orthogonal":
        nn.init.orthogonal_(weight, gain=gain)
    if bias is not None:
        bias.zero_()
    return linear


def weight_variance_scale(
    init: str, fan_in: int, fan_out: int, *, std: float | None = None, gain: float = 1.0
) -> tuple[float, float]:
    """Return ``(sigma_w2, sigma_b2)``: ``fan_in * Var(W_ij)`` and ``Var(b_i)`` under ``init``.

    These are the two numbers the mean-field variance recursion needs
    (see :func:`vglib.core.mean_field_profile`). For ``orthogonal`` the rows have
    norm ``gain``, which gives the same second moment as a variance of ``gain**2 / fan_in``
    when the matrix is square.
    """
    _check_init_args(init, std, gain)
    if init in ("default", "standard"):
        sigma_w2 = 1.0 / 3.0  # uniform on +-1/sqrt(n) has variance 1/(3n)
    elif init == "normal":
        sigma_w2 = fan_in * std**2
    elif init == "xavier":
        sigma_w2 = gain**2 * 2.0 * fan_in / (fan_in + fan_out)
    elif init == "he":
        sigma_w2 = 2.0
    elif init == "lecun":
        sigma_w2 = 1.0
    else:  # orthogonal
        sigma_w2 = gain**2 * min(1.0, fan_in / fan_out)
    sigma_b2 = 1.0 / (3.0 * fan_in) if init == "default" else 0.0
    return sigma_w2, sigma_b2


class Block(nn.Module):
    """One hidden layer: ``linear -> [batch norm] -> activation [-> batch norm]``, optionally
    added to its input (a residual connection)."""

    def __init__(
        self,
        in_features: int,
        width: int,
        activation: str,
        *,
        batch_norm: bool,
        bn_position: str,
        residual: bool,
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, width)
        self.norm = nn.BatchNorm1d(width) if batch_norm else nn.Identity()
        self.act = make_activation(activation)
        self.bn_position = bn_position
        self.residual = residual

    def forward_parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(z, h)``: the activation's input and the block's output, both ``(batch, width)``."""
        z = self.linear(x)
        if self.bn_position == "before":
            z = self.norm(z)
            out = self.act(z)
        else:
            out = self.norm(self.act(z))
        h = x + out if self.residual else out
        return z, h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_parts(x)[1]


class MLP(nn.Module):
    """A deep perceptron: ``num_layers`` hidden :class:`Block` s of equal ``width`` and a linear head.

    Build one with :func:`build_mlp`. Besides ``forward`` it offers
    :meth:`forward_with_hidden`, which also returns every hidden layer's pre-activations
    and outputs so that gradients with respect to them can be measured.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        num_layers: int,
        width: int,
        activation: str,
        *,
        batch_norm: bool = False,
        bn_position: str = "before",
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.activation = activation
        self.layers = nn.ModuleList(
            Block(
                in_features if i == 0 else width,
                width,
                activation,
                batch_norm=batch_norm,
                bn_position=bn_position,
                # the first block changes the width, so it cannot add its input
                residual=residual and i > 0,
            )
            for i in range(num_layers)
        )
        self.head = nn.Linear(width, out_features)

    @property
    def in_features(self) -> int:
        return self.layers[0].linear.in_features

    def linears(self) -> list[nn.Linear]:
        """Every linear layer, first hidden layer first and the head last."""
        return [block.linear for block in self.layers] + [self.head]

    def forward_with_hidden(
        self, X: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Run the network and keep the hidden values.

        Parameters
        ----------
        X
            Inputs, shape ``(batch, in_features)``.

        Returns
        -------
        out
            Outputs, shape ``(batch, out_features)``.
        pre
            Per hidden layer, the activation's input ``z_l``, shape ``(batch, width)``.
        hidden
            Per hidden layer, the block output ``h_l``, shape ``(batch, width)``.
        """
        pre, hidden = [], []
        h = X
        for block in self.layers:
            z, h = block.forward_parts(h)
            pre.append(z)
            hidden.append(h)
        return self.head(h), pre, hidden

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.forward_with_hidden(X)[0]


def build_mlp(
    in_features: int,
    out_features: int,
    *,
    num_layers: int,
    width: int = 64,
    activation: str = "relu",
    init: str = "default",
    std: float | None = None,
    gain: float = 1.0,
    batch_norm: bool = False,
    bn_position: str = "before",
    residual: bool = False,
    seed: int = 0,
) -> MLP:
    """Build a deep MLP with reproducible weights.

    Parameters
    ----------
    in_features, out_features
        Input and output sizes.
    num_layers
        Number of hidden layers (each linear + activation), at least 1.
    width
        Units per hidden layer.
    activation
        One of :data:`ACTIVATIONS`.
    init
        One of :data:`INITS`; applied to every linear layer, the head included.
    std, gain
        Extra arguments of ``init`` (see :func:`init_linear_`).
    batch_norm
        Insert ``nn.BatchNorm1d`` in every hidden layer.
    bn_position
        ``"before"`` the activation (as in Ioffe and Szegedy) or ``"after"`` it.
    residual
        Add each hidden layer's input to its output (all but the first layer).
    seed
        Seed for the weights. The global random state is left untouched.

    Returns
    -------
    MLP
        The model, in training mode.

    Examples
    --------
    >>> model = build_mlp(2, 2, num_layers=10, activation="sigmoid", init="xavier")
    >>> model(torch.zeros(5, 2)).shape
    torch.Size([5, 2])
    """
    check_int("in_features", in_features, minimum=1)
    check_int("out_features", out_features, minimum=1)
    check_int("num_layers", num_layers, minimum=1, maximum=1000)
    check_int("width", width, minimum=1)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("bn_position", bn_position, BN_POSITIONS)
    check_int("seed", seed)
    _check_init_args(init, std, gain)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MLP(
            in_features,
            out_features,
            num_layers,
            width,
            activation,
            batch_norm=batch_norm,
            bn_position=bn_position,
            residual=residual,
        )
        for linear in model.linears():
            init_linear_(linear, init, std=std, gain=gain)
    return model
