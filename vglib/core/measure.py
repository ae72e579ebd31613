"""Per-layer measurement of one forward/backward pass: where the gradient goes, and why."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vglib._validate import check_choice, check_int, check_real
from vglib.core.activations import activation as _activation
from vglib.core.activations import activation_slope
from vglib.core.models import MLP

LOSSES = ("cross_entropy", "mse")


def saturation_limit(activation: str, threshold: float = 0.1) -> float:
    """The slope below which a unit of ``activation`` counts as saturated.

    ``threshold`` times the activation's largest slope; ``activation`` is ``"sigmoid"`` or
    ``"tanh"`` (the others do not saturate). :func:`measure_gradient_flow` and the
    diagnosing chapter's monitor both use it.
    """
    return _activation(activation).saturation_limit(threshold)


@dataclass(frozen=True)
class GradientFlow:
    """What one forward/backward pass looked like, layer by layer (layer 1 is next to the input).

    Every array has shape ``(num_layers,)`` unless noted.

    Attributes
    ----------
    layer
        Layer numbers ``1 .. num_layers``.
    grad_norm
        ``||dL/dh_l||``: Frobenius norm over the batch of the gradient reaching layer l's output.
    weight_grad_norm
        ``||dL/dW_l||``: Frobenius norm of the gradient of layer l's weight matrix.
    act_mean, act_std
        Mean and standard deviation of layer l's output over batch and units.
    saturation
        Share of (example, unit) pairs whose activation slope is below
        ``saturation_threshold`` times the activation's largest slope. NaN for activations
        that do not saturate (everything but sigmoid and tanh).
    dead
        Share of units whose activation slope is exactly zero on every example of the batch:
        no gradient reaches their weights.
    hist_edges
        Common bin edges of the activation histograms, shape ``(bins + 1,)``.
    hist_counts
        Per-layer histogram of the outputs, shape ``(num_layers, bins)``.
    loss
        The loss of the pass.
    activation
        The network's activation name.
    """

    layer: np.ndarray
    grad_norm: np.ndarray
    weight_grad_norm: np.ndarray
    act_mean: np.ndarray
    act_std: np.ndarray
    saturation: np.ndarray
    dead: np.ndarray
    hist_edges: np.ndarray
    hist_counts: np.ndarray
    loss: float
    activation: str

    @property
    def num_layers(self) -> int:
        return len(self.layer)

    @property
    def first_to_last(self) -> float:
        """``||dL/dh_1|| / ||dL/dh_L||``: how much of the gradient survives the trip to layer 1."""
        return float(self.grad_norm[0] / self.grad_norm[-1])


def check_mlp(model: object, *, plain: bool = False) -> MLP:
    """Return ``model`` if it is a vglib :class:`MLP`, else raise a ``ValueError`` saying so.

    ``plain=True`` also requires a network without batch norm or residual connections (the
    layer-by-layer formulas of the chain-rule chapter hold only for those).
    """
    if not isinstance(model, MLP):
        raise ValueError(
            f"model must be a vglib MLP from build_mlp(...), got {type(model).__name__}"
        )
    if plain and any(not isinstance(b.norm, torch.nn.Identity) or b.residual for b in model.layers):
        raise ValueError("this function handles plain MLPs only (batch_norm=False, residual=False)")
    return model


def check_batch(model: MLP, X: torch.Tensor, y: torch.Tensor) -> None:
    """Check that ``model`` is a vglib MLP and ``(X, y)`` a batch it can take.

    Raises a ``ValueError`` naming the problem (wrong type, shape or number of features).
    """
    check_mlp(model)
    if not isinstance(X, torch.Tensor) or X.ndim != 2:
        raise ValueError(f"X must be a 2-D tensor (batch, features), got {_describe(X)}")
    if X.shape[1] != model.in_features:
        raise ValueError(f"X has {X.shape[1]} features but the model expects {model.in_features}")
    if not isinstance(y, torch.Tensor) or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must be a tensor with one row per example of X ({X.shape[0]}), got {_describe(y)}"
        )


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return repr(type(value).__name__)


def histograms(outputs: torch.Tensor, bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer histograms over common edges; non-finite values (a diverged net) are left out.

    Parameters
    ----------
    outputs
        Values per layer, shape ``(num_layers, ...)``.
    bins
        Number of bins, spread evenly between the smallest and largest finite value.

    Returns
    -------
    edges, counts
        Shapes ``(bins + 1,)`` and ``(num_layers, bins)``.
    """
    check_int("bins", bins, minimum=1)
    finite = outputs[torch.isfinite(outputs)]
    lo, hi = (finite.min().item(), finite.max().item()) if finite.numel() else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    # one bincount for all layers: bin index, offset by layer, over the finite values only
    layers = outputs.shape[0]
    index = ((outputs - lo) / (hi - lo) * bins).floor().clamp(0, bins - 1).long()
    index = index + bins * torch.arange(layers).view(-1, *[1] * (outputs.ndim - 1))
    counts = torch.bincount(index[torch.isfinite(outputs)], minlength=layers * bins)
    counts = counts.reshape(layers, bins).double().numpy()
    return edges, counts


def loss_fn(out: torch.Tensor, y: torch.Tensor, loss: str | None = None) -> torch.Tensor:
    """Mean cross-entropy for integer labels, mean squared error for real targets.

    ``loss=None`` picks by ``y``'s dtype; otherwise one of :data:`LOSSES`.
    """
    if loss is None:
        loss = "mse" if y.is_floating_point() else "cross_entropy"
    check_choice("loss", loss, LOSSES)
    if loss == "cross_entropy":
        return F.cross_entropy(out, y)
    return F.mse_loss(out, y.reshape(out.shape))


def measure_gradient_flow(
    model: MLP,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    loss: str | None = None,
    saturation_threshold: float = 0.1,
    bins: int = 40,
) -> GradientFlow:
    """Run one forward and backward pass and measure every hidden layer.

    The model is not changed: gradients are taken with ``torch.autograd.grad``, so no
    ``.grad`` is left on its parameters. Batch norm layers use the model's current mode.

    Parameters
    ----------
    model
        A network from :func:`vglib.core.build_mlp`.
    X
        Inputs, shape ``(batch, in_features)``.
    y
        Integer class labels, shape ``(batch,)``, or real targets, shape ``(batch, out)``.
    loss
        ``"cross_entropy"``, ``"mse"`` or ``None`` to pick by ``y``'s dtype.
    saturation_threshold
        A unit counts as saturated on an example when its slope is below this share of the
        activation's largest slope (1/4 for sigmoid, 1 for tanh).
    bins
        Number of histogram bins.

    Returns
    -------
    GradientFlow
    """
    check_batch(model, X, y)
    check_real("saturation_threshold", saturation_threshold, minimum=0.0, maximum=1.0)
    check_int("bins", bins, minimum=1)
    weights = [block.linear.weight for block in model.layers]
    with torch.enable_grad():
        out, pre, hidden = model.forward_with_hidden(X)
        value = loss_fn(out, y, loss)
        grads = torch.autograd.grad(value, [*weights, *hidden])
    num_layers = len(model.layers)
    weight_grads, hidden_grads = grads[:num_layers], grads[num_layers:]

    # the activation is elementwise and shared by every layer: one autograd call for all layers
    slope = activation_slope(model.layers[0].act, torch.stack(pre))  # (num_layers, batch, width)
    dead = (slope == 0).all(dim=1).float().mean(dim=1).numpy().astype(float)
    if _activation(model.activation).saturating:
        limit = saturation_limit(model.activation, saturation_threshold)
        saturated = (slope < limit).float().mean(dim=(1, 2))
        saturation = saturated.numpy().astype(float)
    else:
        saturation = np.full(num_layers, np.nan)

    outputs = torch.stack([h.detach() for h in hidden])  # (num_layers, batch, width)
    edges, counts = histograms(outputs, bins)

    def norms(tensors: tuple[torch.Tensor, ...]) -> np.ndarray:
        return np.array([t.norm().item() for t in tensors])

    return GradientFlow(
        layer=np.arange(1, num_layers + 1),
        grad_norm=norms(hidden_grads),
        weight_grad_norm=norms(weight_grads),
        act_mean=outputs.mean(dim=(1, 2)).numpy().astype(float),
        act_std=outputs.std(dim=(1, 2)).numpy().astype(float),
        saturation=saturation,
        dead=dead,
        hist_edges=edges,
        hist_counts=counts,
        loss=value.item(),
        activation=model.activation,
    )


@dataclass(frozen=True)
class ClipEffect:
    """Per-layer weight-gradient norms before and after ``torch.nn.utils.clip_grad_norm_``.

    Attributes
    ----------
    layer
        Layer numbers ``1 .. num_layers``, shape ``(num_layers,)``.
    before, after
        ``||dL/dW_l||`` per hidden layer before and after clipping, shape ``(num_layers,)``.
    total_norm
        The norm over all parameters' gradients that ``clip_grad_norm_`` compared with
        ``max_norm``.
    max_norm
        The threshold.
    """

    layer: np.ndarray
    before: np.ndarray
    after: np.ndarray
    total_norm: float
    max_norm: float

    @property
    def ratio_before(self) -> float:
        """``||dL/dW_1|| / ||dL/dW_L||`` before clipping."""
        return float(self.before[0] / self.before[-1])

    @property
    def ratio_after(self) -> float:
        """``||dL/dW_1|| / ||dL/dW_L||`` after clipping: the same, since one factor scales all."""
        return float(self.after[0] / self.after[-1])


def clip_effect(
    model: MLP, X: torch.Tensor, y: torch.Tensor, *, max_norm: float = 1.0
) -> ClipEffect:
    """Take one gradient of a copy of ``model`` and apply ``torch.nn.utils.clip_grad_norm_``.

    Clipping rescales the whole gradient by ``min(1, max_norm / total_norm)``: it can only
    shrink it, and it shrinks every layer by the same factor. ``model`` is left untouched
    (no ``.grad`` is set on it).

    Parameters
    ----------
    model
        A network from :func:`vglib.core.build_mlp`.
    X, y
        A batch: inputs ``(batch, in_features)`` and labels ``(batch,)`` or targets.
    max_norm
        The clipping threshold on the global norm, > 0.
    """
    import copy

    check_batch(model, X, y)
    max_norm = check_real("max_norm", max_norm, minimum=0.0, strict_minimum=True)
    net = copy.deepcopy(model)
    net.zero_grad(set_to_none=True)
    with torch.enable_grad():
        loss_fn(net(X), y).backward()
    weights = [block.linear.weight for block in net.layers]
    before = np.array([w.grad.norm().item() for w in weights])
    total = float(torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm))
    after = np.array([w.grad.norm().item() for w in weights])
    return ClipEffect(np.arange(1, len(weights) + 1), before, after, total, max_norm)
