"""Demo of the batch-norm chapter: per-layer gradient norms with and without batch norm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes

from vglib.compute.batchnorm import gradient_profile, growth_factor
from vglib.demos.core import Choice, Demo, Slider
from vglib.plots.batchnorm import bn_gradient_norms

WIDTH = 64
BATCH = 128
SETTINGS = {
    "no batch norm": "none",
    "BN before activation": "before",
    "BN after activation": "after",
}


def bn_depth_result(num_layers: int, activation: str) -> dict[str, Any]:
    """Gradient norms of a fresh Xavier-initialized MLP without and with batch norm."""
    flows = {
        label: gradient_profile(num_layers, activation, bn, width=WIDTH, batch=BATCH)
        for label, bn in SETTINGS.items()
    }
    layer = next(iter(flows.values())).layer
    skip = min(5, num_layers - 2)
    return {
        "layer": layer,
        "norms": {label: f.grad_norm for label, f in flows.items()},
        "ratio": {label: float(f.grad_norm[0] / f.grad_norm[-1]) for label, f in flows.items()},
        "growth": {label: growth_factor(f.grad_norm, skip=skip) for label, f in flows.items()},
    }


def _draw(result: Mapping[str, Any], axes: Sequence[Axes]) -> None:
    g = result["growth"]
    label = "gradient growth per layer towards the input: " + ", ".join(
        f"{short} ×{g[name]:.2g}"
        for name, short in zip(g, ("no BN", "BN before", "BN after"), strict=True)
    )
    bn_gradient_norms(result["layer"], result["norms"], label=label, ax=axes[0])


def _describe(result: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    r, g = result["ratio"], result["growth"]
    parts = "; ".join(
        f"{name}: layer 1 gets {r[name]:.1e} times the last layer's gradient "
        f"(factor {g[name]:.2f} per layer)"
        for name in SETTINGS
    )
    return f"{values['activation']}, {values['num_layers']} layers of width {WIDTH}. {parts}."


bn_depth_explorer = Demo(
    name="bn_depth_explorer",
    title="Batch norm and depth: the gradient norm reaching each layer, with and without BN",
    params=(
        Slider("num_layers", (5, 10, 20, 30, 50), 30, label="layers"),
        Choice("activation", ("relu", "tanh", "sigmoid", "identity"), "relu"),
    ),
    compute=bn_depth_result,
    draw=_draw,
    describe=_describe,
    figsize=(7.5, 4.0),
)
