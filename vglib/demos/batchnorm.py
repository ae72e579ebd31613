"""Demo of the batch-norm chapter: per-layer gradient norms with and without batch norm, and
the backward gain ``gamma / sigma_B`` of every batch-norm layer that makes the difference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from vglib.compute.batchnorm import bn_profile, growth_factor
from vglib.demos.core import Choice, Demo, Slider
from vglib.plots.batchnorm import bn_backward_gains, bn_gradient_norms

WIDTH = 64
BATCH = 128
SETTINGS = {
    "no batch norm": "none",
    "BN before activation": "before",
    "BN after activation": "after",
}
SHORT = {
    "no batch norm": "no BN",
    "BN before activation": "BN before",
    "BN after activation": "BN after",
}


def bn_depth_result(num_layers: int, activation: str) -> dict[str, Any]:
    """Gradient norms, batch-norm gains and activation slopes of a fresh Xavier-initialized MLP.

    Returns
    -------
    dict
        ``layer`` (shape ``(num_layers,)``) and, per setting of :data:`SETTINGS`: ``norms``
        (``||dL/dh_l||`` per layer), ``ratio`` (layer 1 over layer L), ``growth`` (per-layer
        factor, see :func:`vglib.compute.batchnorm.growth_factor`), ``gain`` (per-layer
        backward gain ``gamma / sigma_B`` of the batch norms, NaN without), ``gain_mean`` (its
        mean over layers 2 .. L, NaN without batch norm), ``gain_product`` (its product over
        layers 2 .. L), ``slope`` (mean activation slope) and ``saturation`` (largest share of
        saturated units in any layer; NaN for activations that do not saturate).
    """
    profiles = {
        label: bn_profile(num_layers, activation, bn, width=WIDTH, batch=BATCH)
        for label, bn in SETTINGS.items()
    }
    layer = next(iter(profiles.values())).flow.layer
    skip = min(5, num_layers - 2)
    return {
        "layer": layer,
        "norms": {label: p.flow.grad_norm for label, p in profiles.items()},
        "ratio": {
            label: float(p.flow.grad_norm[0] / p.flow.grad_norm[-1])
            for label, p in profiles.items()
        },
        "growth": {
            label: growth_factor(p.flow.grad_norm, skip=skip) for label, p in profiles.items()
        },
        "gain": {label: p.gain for label, p in profiles.items()},
        "gain_mean": {label: float(np.mean(p.gain[1:])) for label, p in profiles.items()},
        "gain_product": {label: p.gain_product for label, p in profiles.items()},
        "slope": {label: p.mean_slope for label, p in profiles.items()},
        "saturation": {label: p.max_saturation for label, p in profiles.items()},
    }


def _draw(result: Mapping[str, Any], axes: Sequence[Axes]) -> None:
    g = result["growth"]
    label = "gradient growth per layer towards the input: " + ", ".join(
        f"{SHORT[name]} ×{g[name]:.2g}" for name in g
    )
    bn_gradient_norms(result["layer"], result["norms"], label=label, ax=axes[0])
    bn_backward_gains(
        result["layer"],
        result["gain"],
        slopes={SHORT[name]: value for name, value in result["slope"].items()},
        ax=axes[1],
    )
    axes[1].set_title(
        r"each batch norm multiplies the gradient by its gain $\gamma / \sigma_B$", fontsize="small"
    )


def _describe(result: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    r, g, gain, slope = result["ratio"], result["growth"], result["gain_mean"], result["slope"]
    parts = "; ".join(
        f"{name}: layer 1 gets {r[name]:.1e} times the last layer's gradient "
        f"(factor {g[name]:.2f} per layer)"
        if r[name] > 0
        else f"{name}: the gradient underflows to exactly 0 in float32 before it reaches layer 1"
        for name in SETTINGS
    )
    plain, before = "no batch norm", "BN before activation"
    relation = "higher than" if slope[before] > slope[plain] else "not higher than"
    mechanism = (
        f"Each batch norm before the activation multiplies the gradient on its way back by "
        f"γ/σ_B, on average {gain[before]:.2f} (after the activation: "
        f"{gain['BN after activation']:.2f}); the mean activation slope with it, "
        f"{slope[before]:.3f}, is {relation} without it ({slope[plain]:.3f})"
    )
    return (
        f"{values['activation']}, {values['num_layers']} layers of width {WIDTH}. {parts}. "
        f"{mechanism}."
    )


bn_depth_explorer = Demo(
    name="bn_depth_explorer",
    title="Batch norm and depth: the gradient norm reaching each layer, and each batch norm's gain",
    params=(
        Slider("num_layers", (5, 10, 20, 30, 50), 30, label="layers"),
        Choice("activation", ("relu", "tanh", "sigmoid", "identity"), "relu"),
    ),
    compute=bn_depth_result,
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
