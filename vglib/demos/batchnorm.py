"""Demo of the batch-norm chapter: per-layer gradient norms with and without batch norm, and
the backward gain ``gamma / sigma_B`` of every batch-norm layer that makes the difference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes

from vglib.demos.core import Choice, Demo, Slider
from vglib.plots.batchnorm import bn_backward_gains, bn_gradient_norms
from vglib.studies.batch_normalization import BNDepth, bn_depth

#: Legend and caption names of the settings of ``BN_MODES``, in its order.
LABELS = {
    "none": "no batch norm",
    "before": "BN before activation",
    "after": "BN after activation",
}
SHORT = {"none": "no BN", "before": "BN before", "after": "BN after"}


def _draw(result: BNDepth, axes: Sequence[Axes]) -> None:
    g = result.growth
    title = "gradient growth per layer towards the input: " + ", ".join(
        f"{SHORT[bn]} ×{g[bn]:.2g}" for bn in g
    )
    bn_gradient_norms(
        result.layer, {LABELS[bn]: v for bn, v in result.norms.items()}, title=title, ax=axes[0]
    )
    bn_backward_gains(
        result.layer,
        {LABELS[bn]: v for bn, v in result.gain.items()},
        slopes={SHORT[bn]: value for bn, value in result.slope.items()},
        title=r"each batch norm multiplies the gradient by its gain $\gamma / \sigma_B$",
        ax=axes[1],
    )


def _describe(result: BNDepth, values: Mapping[str, Any]) -> str:
    r, g, gain, slope = result.ratio, result.growth, result.gain_mean, result.slope
    parts = "; ".join(
        f"{LABELS[bn]}: layer 1 gets {r[bn]:.1e} times the last layer's gradient "
        f"(factor {g[bn]:.2f} per layer)"
        if r[bn] > 0
        else f"{LABELS[bn]}: the gradient underflows to exactly 0 in float32 before it reaches "
        "layer 1"
        for bn in LABELS
    )
    relation = "higher than" if slope["before"] > slope["none"] else "not higher than"
    mechanism = (
        f"Each batch norm before the activation multiplies the gradient on its way back by "
        f"γ/σ_B, on average {gain['before']:.2f} (after the activation: "
        f"{gain['after']:.2f}); the mean activation slope with it, "
        f"{slope['before']:.3f}, is {relation} without it ({slope['none']:.3f})"
    )
    return (
        f"{values['activation']}, {values['num_layers']} layers of width {result.width}. "
        f"{parts}. {mechanism}."
    )


bn_depth_explorer = Demo(
    name="bn_depth_explorer",
    title="Batch norm and depth: the gradient norm reaching each layer, and each batch norm's gain",
    params=(
        Slider("num_layers", (5, 10, 20, 30, 50), 30, label="layers"),
        Choice("activation", ("relu", "tanh", "sigmoid", "identity"), "relu"),
    ),
    compute=bn_depth,
    draw=_draw,
    describe=_describe,
    ncols=2,
    figsize=(10.0, 3.8),
    cited={
        "sigmoid, 50 layers": {"num_layers": 50, "activation": "sigmoid"},
        "ReLU, 50 layers": {"num_layers": 50, "activation": "relu"},
        "identity, 50 layers": {"num_layers": 50, "activation": "identity"},
        "sigmoid, 10 layers": {"num_layers": 10, "activation": "sigmoid"},
    },
)
