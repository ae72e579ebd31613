"""The chain rule, measured: computational graphs, scalar chains, manual backprop, Jacobian products.

Everything here runs in float64 unless the caller's model says otherwise, so that a manual
computation and autograd can be compared to machine precision.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vglib.core import (
    ACTIVATIONS,
    MLP,
    build_mlp,
    check_batch,
    check_choice,
    check_int,
    check_mlp,
    check_real,
    loss_fn,
    mean_field_profile,
    one_thread,
)

#: Activations of the scalar chain :func:`scalar_chain` (``linear`` is the table's ``identity``).
CHAIN_ACTIVATIONS = ("linear", "sigmoid", "tanh")
_TABLE_NAME = {"linear": "identity", "sigmoid": "sigmoid", "tanh": "tanh"}

#: The weights the whisper-chain demo offers.
CHAIN_WEIGHTS = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.5, 2.0, 4.0)

#: Activations whose slope the activation table knows in closed form (``h (1 - h)``,
#: ``1 - h**2``, ``z > 0``, 1): the ones :func:`manual_backprop` and :func:`jacobian_chain`
#: handle. Their largest slope ``gamma = max |phi'|`` is the constant of the Jacobian-norm bound.
CLOSED_FORM_ACTIVATIONS = tuple(
    name for name, row in ACTIVATIONS.items() if row.closed_form is not None
)


# -- a small computational graph --------------------------------------------------------------
@dataclass(frozen=True)
class GraphNode:
    """One node of the worked computational graph.

    Attributes
    ----------
    name
        The node's symbol (``x``, ``a``, ...).
    expression
        How it is computed from its parents (``x * y``), or ``input``.
    value
        Its forward value.
    local
        The local derivatives ``d node / d parent`` as ``{parent: value}``.
    adjoint
        ``df/d node`` accumulated by the backward pass (sum over the node's children of the
        child's adjoint times the local derivative).
    """

    name: str
    expression: str
    value: float
    local: dict[str, float]
    adjoint: float


@dataclass(frozen=True)
class WorkedGraph:
    """The graph ``f = tanh(x * y + sin x)`` evaluated forward and backward by hand.

    Attributes
    ----------
    nodes
        The nodes in forward (topological) order: x, y, a = x*y, b = sin x, c = a + b, f = tanh c.
    autograd
        ``{"x": df/dx, "y": df/dy}`` from ``torch.autograd.grad`` in float64.
    """

    nodes: tuple[GraphNode, ...]
    autograd: dict[str, float]

    def node(self, name: str) -> GraphNode:
        """The node called ``name``."""
        names = [n.name for n in self.nodes]
        return self.nodes[names.index(check_choice("name", name, names))]

    @property
    def max_abs_difference(self) -> float:
        """Largest ``|manual - autograd|`` over the two input gradients."""
        return max(abs(self.node(k).adjoint - v) for k, v in self.autograd.items())


def worked_graph(x: float = 1.5, y: float = -0.8) -> WorkedGraph:
    """Forward values, local derivatives and the backward pass of ``f = tanh(x*y + sin x)``.

    ``x`` feeds two nodes (``a = x*y`` and ``b = sin x``), so its adjoint is a sum over two
    paths: the graph shows why backpropagation *adds* the contributions of a node's children.

    Parameters
    ----------
    x, y
        The inputs.

    Returns
    -------
    WorkedGraph
    """
    x = check_real("x", x)
    y = check_real("y", y)
    a = x * y
    b = float(np.sin(x))
    c = a + b
    f = float(np.tanh(c))
    # backward, from the output down: adjoint(node) = sum_children adjoint(child) * d child/d node
    f_bar = 1.0
    c_bar = f_bar * (1.0 - f**2)
    a_bar = c_bar * 1.0
    b_bar = c_bar * 1.0
    x_bar = a_bar * y + b_bar * float(np.cos(x))
    y_bar = a_bar * x
    nodes = (
        GraphNode("x", "input", x, {}, x_bar),
        GraphNode("y", "input", y, {}, y_bar),
        GraphNode("a", "x · y", a, {"x": y, "y": x}, a_bar),
        GraphNode("b", "sin x", b, {"x": float(np.cos(x))}, b_bar),
        GraphNode("c", "a + b", c, {"a": 1.0, "b": 1.0}, c_bar),
        GraphNode("f", "tanh c", f, {"c": 1.0 - f**2}, f_bar),
    )
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    gx, gy = torch.autograd.grad(torch.tanh(xt * yt + torch.sin(xt)), (xt, yt))
    return WorkedGraph(nodes=nodes, autograd={"x": gx.item(), "y": gy.item()})


# -- the scalar chain -------------------------------------------------------------------------
@dataclass(frozen=True)
class ScalarChain:
    """A chain ``h_l = phi(w * h_{l-1})``, ``l = 1..L``, and the gradient of ``h_L`` along it.

    Arrays indexed by layer have shape ``(L + 1,)`` with index 0 the input ``h_0``.

    Attributes
    ----------
    layer
        ``0, 1, ..., L``.
    h
        Forward values ``h_0 .. h_L``.
    factor
        Per-layer factor ``w * phi'(w * h_{l-1})`` for ``l = 1..L``, shape ``(L,)``.
    grad_autograd
        ``dh_L / dh_l`` for every ``l``, measured by ``torch.autograd.grad`` in float64.
    grad_product
        The closed form: the product of the factors of the layers above ``l``.
    weight, activation
        The chain's parameters.
    """

    layer: np.ndarray
    h: np.ndarray
    factor: np.ndarray
    grad_autograd: np.ndarray
    grad_product: np.ndarray
    weight: float
    activation: str

    @property
    def num_layers(self) -> int:
        """``L``, the number of layers."""
        return len(self.factor)

    @property
    def input_gradient(self) -> float:
        """``dh_L / dh_0`` by autograd: what reaches the bottom of the chain."""
        return float(self.grad_autograd[0])

    @property
    def max_rel_difference(self) -> float:
        """Largest relative gap between autograd and the closed-form product."""
        scale = np.maximum(np.abs(self.grad_product), np.finfo(float).tiny)
        return float(np.max(np.abs(self.grad_autograd - self.grad_product) / scale))


@functools.cache
def scalar_chain(
    num_layers: int, weight: float, activation: str = "linear", *, x0: float = 0.5
) -> ScalarChain:
    """Run a scalar chain forward, backpropagate through it with autograd, and compare.

    Parameters
    ----------
    num_layers
        ``L``, the number of layers (1 to 1000).
    weight
        ``w``, the same weight in every layer.
    activation
        One of :data:`CHAIN_ACTIVATIONS`.
    x0
        The input ``h_0``.

    Returns
    -------
    ScalarChain
        Forward values, per-layer factors, and ``dh_L/dh_l`` from autograd and from the
        product of factors. The result is cached (the whisper-chain demo shows it), so treat
        its arrays as read-only.

    Examples
    --------
    >>> chain = scalar_chain(50, 0.5)
    >>> round(chain.input_gradient / 0.5**50, 12)
    1.0
    """
    num_layers = check_int("num_layers", num_layers, minimum=1, maximum=1000)
    weight = check_real("weight", weight)
    phi = ACTIVATIONS[_TABLE_NAME[check_choice("activation", activation, CHAIN_ACTIVATIONS)]]
    x0 = check_real("x0", x0)
    unit = phi.module()
    hs = [torch.tensor(x0, dtype=torch.float64, requires_grad=True)]
    with torch.enable_grad():
        for _ in range(num_layers):
            hs.append(unit(weight * hs[-1]))
        grads = torch.autograd.grad(hs[-1], hs, allow_unused=True)
    h = np.array([v.item() for v in hs])
    grad_autograd = np.array([1.0 if g is None else g.item() for g in grads])
    # phi'(z_l) in closed form from the forward values z_l = w h_{l-1} and h_l = phi(z_l)
    slope = phi.slope(torch.from_numpy(weight * h[:-1]), torch.from_numpy(h[1:]))
    factor = weight * slope.numpy()
    # dh_L/dh_l = prod_{k = l+1..L} factor_k ; the empty product at l = L is 1
    grad_product = np.append(np.cumprod(factor[::-1])[::-1], 1.0)
    return ScalarChain(
        layer=np.arange(num_layers + 1),
        h=h,
        factor=factor,
        grad_autograd=grad_autograd,
        grad_product=grad_product,
        weight=weight,
        activation=activation,
    )


# -- manual backpropagation of an MLP ---------------------------------------------------------
@dataclass(frozen=True)
class Backprop:
    """Gradients of the mean loss of a batch with respect to every parameter and hidden layer.

    Attributes
    ----------
    loss
        The loss value.
    params
        ``{name: gradient}`` keyed like ``model.named_parameters()`` (``layers.0.linear.weight``,
        ..., ``head.bias``); each gradient has its parameter's shape.
    hidden
        ``dL/dh_l`` for every hidden layer, each of shape ``(batch, width)``.
    """

    loss: float
    params: dict[str, torch.Tensor]
    hidden: list[torch.Tensor]


def _check_plain(model: MLP) -> None:
    """A vglib MLP without batch norm or residuals, with a closed-form activation slope."""
    check_mlp(model, plain=True)
    check_choice("the model's activation", model.activation, CLOSED_FORM_ACTIVATIONS)


def manual_backprop(
    model: MLP, X: torch.Tensor, y: torch.Tensor, *, loss: str | None = None
) -> Backprop:
    """Backpropagation written out by hand: forward caches, then one matrix product per layer.

    Forward: ``z_l = h_{l-1} W_l^T + b_l``, ``h_l = phi(z_l)`` (caching ``h_{l-1}``, ``z_l``,
    ``h_l``), ``out = h_L W_head^T + b_head``. Backward, with ``delta = dL/dout``:
    ``dW_head = delta^T h_L``; then for ``l = L..1``: ``dL/dh_l = delta W_{l+1}``,
    ``delta_l = dL/dh_l * phi'(z_l)`` (elementwise), ``dW_l = delta_l^T h_{l-1}``,
    ``db_l = sum over the batch of delta_l``. No autograd is used.

    Parameters
    ----------
    model
        A plain network from :func:`vglib.core.build_mlp` (no batch norm, no residuals)
        whose activation is one of :data:`CLOSED_FORM_ACTIVATIONS`. Use ``model.double()`` for float64.
    X
        Inputs, shape ``(batch, in_features)``, same dtype as the model.
    y
        Integer labels, shape ``(batch,)`` (cross-entropy) or real targets,
        shape ``(batch, out_features)`` (mean squared error).
    loss
        ``"cross_entropy"``, ``"mse"`` or ``None`` to pick by ``y``'s dtype.

    Returns
    -------
    Backprop
    """
    _check_plain(model)
    check_batch(model, X, y)
    phi = ACTIVATIONS[model.activation]
    if loss is None:
        loss = "mse" if y.is_floating_point() else "cross_entropy"
    check_choice("loss", loss, ("cross_entropy", "mse"))
    with torch.no_grad():
        inputs, pre, outputs = [], [], []
        h = X
        for block in model.layers:
            W, b = block.linear.weight, block.linear.bias
            z = h @ W.T + b
            inputs.append(h)
            pre.append(z)
            h = block.act(z)
            outputs.append(h)
        out = h @ model.head.weight.T + model.head.bias
        if loss == "cross_entropy":
            log_p = torch.log_softmax(out, dim=1)
            value = -log_p[torch.arange(len(y)), y].mean()
            delta = (log_p.exp() - F.one_hot(y, out.shape[1]).to(out.dtype)) / len(y)
        else:
            target = y.reshape(out.shape)
            value = ((out - target) ** 2).mean()
            delta = 2.0 * (out - target) / out.numel()
        params = {"head.weight": delta.T @ h, "head.bias": delta.sum(0)}
        upstream = model.head.weight
        hidden = [torch.empty(0)] * len(model.layers)
        for i in reversed(range(len(model.layers))):
            grad_h = delta @ upstream  # dL/dh_l: back through the transposed weights
            hidden[i] = grad_h
            delta = grad_h * phi.slope(pre[i], outputs[i])  # closed form, e.g. 1 - h**2
            params[f"layers.{i}.linear.weight"] = delta.T @ inputs[i]
            params[f"layers.{i}.linear.bias"] = delta.sum(0)
            upstream = model.layers[i].linear.weight
    order = [name for name, _ in model.named_parameters()]
    return Backprop(loss=value.item(), params={k: params[k] for k in order}, hidden=hidden)


def autograd_backprop(
    model: MLP, X: torch.Tensor, y: torch.Tensor, *, loss: str | None = None
) -> Backprop:
    """The reference for :func:`manual_backprop`: the same gradients from ``torch.autograd.grad``.

    Parameters and return value as in :func:`manual_backprop`; the model's ``.grad`` fields
    are left untouched.
    """
    _check_plain(model)
    check_batch(model, X, y)
    names, tensors = zip(*model.named_parameters(), strict=True)
    with torch.enable_grad():
        out, _, hidden = model.forward_with_hidden(X)
        value = loss_fn(out, y, loss)
        grads = torch.autograd.grad(value, [*tensors, *hidden])
    return Backprop(
        loss=value.item(),
        params=dict(zip(names, grads[: len(names)], strict=True)),
        hidden=list(grads[len(names) :]),
    )


def max_abs_difference(a: Backprop, b: Backprop) -> float:
    """Largest absolute entry-wise difference between two :class:`Backprop` results."""
    diffs = [(a.params[k] - b.params[k]).abs().max().item() for k in a.params]
    diffs += [(p - q).abs().max().item() for p, q in zip(a.hidden, b.hidden, strict=True)]
    return float(max(diffs))


# -- Jacobian products through a vector network ------------------------------------------------
@dataclass(frozen=True)
class JacobianChain:
    """Jacobians of the hidden layers of one MLP at one input, and the bounds on their norms.

    Layer ``k`` maps ``h_{k-1}`` to ``h_k = phi(W_k h_{k-1} + b_k)``; its Jacobian is
    ``J_k = diag(phi'(z_k)) W_k``. For a distance ``d = 1 .. L-1``:

    * ``norm_from_first[d-1] = ||dh_{1+d}/dh_1||_2 = ||J_{1+d} ... J_2||_2``,
    * ``norm_to_last[d-1] = ||dh_L/dh_{L-d}||_2 = ||J_L ... J_{L-d+1}||_2``,

    and the matching ``product_*`` (product of the local norms ``||J_k||_2``, which bounds
    the norm by submultiplicativity) and ``bound_*`` (product of ``gamma ||W_k||_2``, which
    bounds each ``||J_k||_2`` because ``|phi'| <= gamma``).

    Attributes
    ----------
    distance
        ``1 .. L-1``, shape ``(L-1,)``.
    local_norm
        ``||J_k||_2`` for ``k = 1..L``, shape ``(L,)``.
    weight_norm
        ``||W_k||_2`` for ``k = 1..L``, shape ``(L,)``.
    gamma
        ``max |phi'|`` of the activation.
    norm_from_first, product_from_first, bound_from_first, norm_to_last, product_to_last, bound_to_last
        Shape ``(L-1,)`` each, as above.
    """

    distance: np.ndarray
    local_norm: np.ndarray
    weight_norm: np.ndarray
    gamma: float
    norm_from_first: np.ndarray
    product_from_first: np.ndarray
    bound_from_first: np.ndarray
    norm_to_last: np.ndarray
    product_to_last: np.ndarray
    bound_to_last: np.ndarray

    @property
    def num_layers(self) -> int:
        return len(self.local_norm)

    def decay_rate(self) -> float:
        """Least-squares slope of ``log ||dh_L/dh_{L-d}||_2`` against the distance ``d``."""
        return float(np.polyfit(self.distance, np.log(self.norm_to_last), 1)[0])

    @property
    def mean_log_local_norm(self) -> float:
        """Mean of ``log ||J_k||_2`` over the layers ``k = 2..L`` the products run through."""
        return float(np.mean(np.log(self.local_norm[1:])))

    @property
    def mean_log_bound(self) -> float:
        """Mean of ``log (gamma ||W_k||_2)`` over ``k = 2..L``."""
        return float(np.mean(np.log(self.gamma * self.weight_norm[1:])))


def local_jacobians(model: MLP, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per-layer Jacobians ``J_k = dh_k/dh_{k-1}`` at one input, computed by autograd.

    Parameters
    ----------
    model
        A plain MLP (see :func:`manual_backprop`).
    x
        One input, shape ``(in_features,)``.

    Returns
    -------
    jacobians
        ``J_1 .. J_L``; ``J_1`` has shape ``(width, in_features)``, the others ``(width, width)``.
    hidden
        ``h_0 = x, h_1, .., h_L``, each of shape ``(in_features,)`` or ``(width,)``.
    """
    _check_plain(model)
    if not isinstance(x, torch.Tensor) or x.shape != (model.in_features,):
        raise ValueError(f"x must be one input of shape ({model.in_features},)")
    jacobians, hidden = [], [x]
    with one_thread():
        for block in model.layers:
            h = hidden[-1].detach()
            width = block.linear.out_features
            # one backward pass gives the whole Jacobian: copy the input once per output unit,
            # and backpropagate output unit i of copy i; row i of the input gradient is dh_i/dh
            copies = h.expand(width, h.shape[0]).clone().requires_grad_(True)
            with torch.enable_grad():
                out = block(copies)
                (rows,) = torch.autograd.grad(out.diagonal().sum(), copies)
            jacobians.append(rows)
            hidden.append(out[0].detach())
    return jacobians, hidden


def end_to_end_jacobian(model: MLP, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """``dh_stop / dh_start`` by one autograd call through layers ``start+1 .. stop``.

    The reference against which the product of :func:`local_jacobians` is checked.
    Layers are numbered as in the text: ``h_0 = x``, ``1 <= stop <= L``, ``0 <= start < stop``.
    Returns a tensor of shape ``(width, width)`` (``(width, in_features)`` when ``start = 0``).
    """
    _check_plain(model)
    num_layers = len(model.layers)
    stop = check_int("stop", stop, minimum=1, maximum=num_layers)
    start = check_int("start", start, minimum=0, maximum=stop - 1)
    with torch.no_grad():
        h = x
        for block in model.layers[:start]:
            h = block(h)

    def through(v: torch.Tensor) -> torch.Tensor:
        for block in model.layers[start:stop]:
            v = block(v)
        return v

    with torch.enable_grad(), one_thread():
        return torch.autograd.functional.jacobian(through, h, vectorize=True)


def _spectral(matrices: list[torch.Tensor]) -> np.ndarray:
    return torch.linalg.matrix_norm(torch.stack(matrices), ord=2).numpy().astype(float)


def jacobian_chain(model: MLP, x: torch.Tensor) -> JacobianChain:
    """Spectral norms of the Jacobian products of a plain MLP and their two upper bounds.

    The local Jacobians are formed in closed form, ``J_k = diag(phi'(z_k)) W_k`` (cheap);
    :func:`local_jacobians` and :func:`end_to_end_jacobian` compute the same matrices with
    autograd, which is how the tests and the chapter check them.

    Parameters
    ----------
    model
        A plain MLP (see :func:`manual_backprop`) with at least 2 hidden layers.
    x
        One input, shape ``(in_features,)``.

    Returns
    -------
    JacobianChain
    """
    _check_plain(model)
    num_layers = len(model.layers)
    if num_layers < 2:
        raise ValueError("jacobian_chain needs num_layers >= 2 (products start at layer 2)")
    phi = ACTIVATIONS[model.activation]
    with torch.no_grad(), one_thread():
        jacobians, h = [], x
        for block in model.layers:  # J_k = diag(phi'(z_k)) W_k, from the cached z_k and h_k
            z = block.linear(h)
            h = block.act(z)
            slope = phi.slope(z, h)
            jacobians.append(slope[:, None] * block.linear.weight)
        weights = [block.linear.weight for block in model.layers]
        local_norm = np.array([torch.linalg.matrix_norm(J, ord=2).item() for J in jacobians])
        weight_norm = np.array([torch.linalg.matrix_norm(W, ord=2).item() for W in weights])
        from_first, to_last = [], []
        P = torch.eye(jacobians[0].shape[0], dtype=jacobians[0].dtype)
        for J in jacobians[1:]:  # P = J_{1+d} ... J_2
            P = J @ P
            from_first.append(P)
        Q = torch.eye(jacobians[0].shape[0], dtype=jacobians[0].dtype)
        for J in jacobians[:0:-1]:  # Q = J_L ... J_{L-d+1}
            Q = Q @ J
            to_last.append(Q)
        norm_from_first, norm_to_last = _spectral(from_first), _spectral(to_last)
    gamma = phi.max_slope
    bound = gamma * weight_norm
    return JacobianChain(
        distance=np.arange(1, num_layers),
        local_norm=local_norm,
        weight_norm=weight_norm,
        gamma=gamma,
        norm_from_first=norm_from_first,
        product_from_first=np.cumprod(local_norm[1:]),
        bound_from_first=np.cumprod(bound[1:]),
        norm_to_last=norm_to_last,
        product_to_last=np.cumprod(local_norm[:0:-1]),
        bound_to_last=np.cumprod(bound[:0:-1]),
    )


def random_network(
    *,
    num_layers: int,
    width: int,
    activation: str,
    weight_scale: float,
    seed: int = 0,
) -> tuple[MLP, torch.Tensor]:
    """A square float64 MLP with weights ``N(0, weight_scale**2 / width)``, zero biases, and
    an input ``x ~ N(0, I)`` of shape ``(width,)``, both reproducible from ``seed``.

    ``weight_scale`` is ``sigma_w``; the spectral norm of such a ``width x width`` matrix is
    close to ``2 * sigma_w`` for large widths.
    """
    check_int("width", width, minimum=1)
    check_choice("activation", activation, CLOSED_FORM_ACTIVATIONS)
    weight_scale = check_real("weight_scale", weight_scale, minimum=0.0, strict_minimum=True)
    model = build_mlp(
        width,
        1,
        num_layers=num_layers,
        width=width,
        activation=activation,
        init="normal",
        std=weight_scale / np.sqrt(width),
        seed=seed,
    ).double()
    gen = torch.Generator().manual_seed(10_000 + seed)
    x = torch.randn(width, generator=gen, dtype=torch.float64)
    return model, x


@dataclass(frozen=True)
class DecayStudy:
    """Measured exponential decay rates of ``||dh_L/dh_{L-d}||_2`` against the per-layer factors.

    Every array has shape ``(len(weight_scales), num_networks)``.

    Attributes
    ----------
    weight_scales
        The ``sigma_w`` values, shape ``(S,)``.
    rate
        Fitted slope of ``log ||dh_L/dh_{L-d}||_2`` against ``d`` (per layer).
    r2
        Coefficient of determination of that straight-line fit.
    mean_log_local
        Mean ``log ||J_k||_2``: the log of the per-layer factor.
    mean_log_bound
        Mean ``log (gamma ||W_k||_2)``.
    all_below_one
        Whether every ``||J_k||_2`` (k >= 2) of the network is below one.
    distance
        ``1 .. L-1``, shape ``(L-1,)``.
    example
        ``||dh_L/dh_{L-d}||_2`` of the first network of every scale, shape ``(S, L-1)``.
    """

    weight_scales: np.ndarray
    rate: np.ndarray
    r2: np.ndarray
    mean_log_local: np.ndarray
    mean_log_bound: np.ndarray
    all_below_one: np.ndarray
    distance: np.ndarray
    example: np.ndarray


def decay_study(
    weight_scales: tuple[float, ...],
    *,
    num_layers: int = 40,
    width: int = 32,
    activation: str = "tanh",
    num_networks: int = 5,
    seed: int = 0,
) -> DecayStudy:
    """Fit the decay rate of the gradient with distance on random networks (see :class:`DecayStudy`).

    Parameters
    ----------
    weight_scales
        ``sigma_w`` values to try (weights ``N(0, sigma_w**2 / width)``).
    num_layers, width, activation
        The networks' shape; ``activation`` is one of :data:`CLOSED_FORM_ACTIVATIONS`.
    num_networks
        Random networks (and inputs) per scale, seeds ``seed, seed + 1, ...``.
    seed
        First seed.
    """
    num_layers = check_int("num_layers", num_layers, minimum=3, maximum=1000)
    num_networks = check_int("num_networks", num_networks, minimum=1)
    if len(weight_scales) == 0:
        raise ValueError("weight_scales must hold at least one value")
    shape = (len(weight_scales), num_networks)
    rate, r2, local, bound, below = (np.zeros(shape) for _ in range(5))
    example = np.zeros((len(weight_scales), num_layers - 1))
    for i, scale in enumerate(weight_scales):
        for j in range(num_networks):
            model, x = random_network(
                num_layers=num_layers,
                width=width,
                activation=activation,
                weight_scale=scale,
                seed=seed + j,
            )
            chain = jacobian_chain(model, x)
            logs = np.log(chain.norm_to_last)
            slope, intercept = np.polyfit(chain.distance, logs, 1)
            residual = logs - (slope * chain.distance + intercept)
            rate[i, j] = slope
            r2[i, j] = 1.0 - residual.var() / logs.var()
            local[i, j] = chain.mean_log_local_norm
            bound[i, j] = chain.mean_log_bound
            below[i, j] = float(np.all(chain.local_norm[1:] < 1.0))
            if j == 0:
                example[i] = chain.norm_to_last
    return DecayStudy(
        weight_scales=np.asarray(weight_scales, dtype=float),
        rate=rate,
        r2=r2,
        mean_log_local=local,
        mean_log_bound=bound,
        all_below_one=below.astype(bool),
        distance=np.arange(1, num_layers),
        example=example,
    )


def mean_field_rate(
    weight_scale: float, *, activation: str = "tanh", num_layers: int = 40, q_in: float = 1.0
) -> float:
    """The mean-field prediction of the decay rate that :func:`decay_study` measures.

    The mean of ``log sqrt(chi_k)`` over the layers ``k = 2..L``, where
    ``chi_k = sigma_w**2 E[phi'(z_k)**2]`` is the per-layer gain of the squared gradient norm
    of :func:`vglib.core.mean_field_profile` (zero biases, input mean square ``q_in``).

    Parameters
    ----------
    weight_scale
        ``sigma_w``.
    activation
        One of :data:`CLOSED_FORM_ACTIVATIONS`.
    num_layers
        ``L``, at least 2.
    q_in
        Mean square of the input coordinates (1 for the inputs of :func:`random_network`).
    """
    weight_scale = check_real("weight_scale", weight_scale, minimum=0.0, strict_minimum=True)
    check_choice("activation", activation, CLOSED_FORM_ACTIVATIONS)
    num_layers = check_int("num_layers", num_layers, minimum=2)
    with one_thread():
        field = mean_field_profile(
            activation, num_layers=num_layers, sigma_w2=weight_scale**2, q_in=q_in
        )
    return float(np.mean(0.5 * np.log(field.chi[1:])))
