"""Demos of the saturating-activations chapter: the gradient-flow lab and the saturation explorer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from vglib import plots
from vglib.demos.core import Choice, Demo, Slider
from vglib.studies.saturating_activations import FlowAtInit, flow_at_init, saturation_flow


def _row_notes(result: FlowAtInit) -> list[str]:
    """Saturated (sigmoid, tanh) or dead (the rest) share of the histogram rows drawn."""
    flow = result.flow
    rows = np.unique(
        np.linspace(0, flow.num_layers - 1, min(6, flow.num_layers)).round().astype(int)
    )
    if np.isnan(result.saturated_share):
        return [f"dead {100 * flow.dead[i]:.0f}%" for i in rows]
    return [f"saturated {100 * flow.saturation[i]:.0f}%" for i in rows]


#: The depths the lab offers; its x axis always spans the deepest, so depths compare by eye.
LAB_DEPTHS = tuple(range(2, 31))


def _draw_lab(result: FlowAtInit, axes: Sequence[Axes]) -> None:
    flow = result.flow
    plots.gradient_norms(flow.layer, flow.grad_norm, theory=result.theory, ax=axes[0])
    axes[0].set_ylim(1e-30, 1e4)
    axes[0].set_xlim(0.5, max(LAB_DEPTHS) + 0.5)
    plots.activation_histograms(
        flow.hist_edges, flow.hist_counts, ax=axes[1], annotations=_row_notes(result)
    )
    axes[1].set_title("layer outputs at initialization", fontsize="small")


def _describe_lab(result: FlowAtInit, values: Mapping[str, Any]) -> str:
    flow = result.flow
    text = (
        f"{values['activation']} with {values['init']} init, {flow.num_layers} layers: the gradient "
        f"reaching layer 1 is {flow.first_to_last:.1e} times the one at layer {flow.num_layers}"
    )
    if result.theory_ratio is not None:
        text += f" (mean-field theory: {result.theory_ratio:.1e})"
    if np.isnan(result.saturated_share):
        text += f"; {100 * result.dead_share:.0f}% of units dead on average."
    else:
        text += f"; {100 * result.saturated_share:.0f}% of units saturated on average."
    return text


gradient_flow_lab = Demo(
    name="gradient_flow_lab",
    title="Gradient-flow lab: how much gradient reaches each layer at initialization",
    params=(
        Slider(
            "num_layers",
            LAB_DEPTHS,
            10,
            label="depth",
            static=(2, 4, 6, 10, 15, 20, 25, 30),
        ),
        Choice(
            "activation",
            ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "identity"),
            "sigmoid",
            static=("sigmoid", "tanh", "relu", "selu"),
        ),
        Choice(
            "init",
            ("default", "standard", "xavier", "he", "lecun", "orthogonal"),
            "default",
            static=("default", "xavier", "he", "lecun"),
        ),
    ),
    compute=flow_at_init,
    draw=_draw_lab,
    describe=_describe_lab,
    ncols=2,
    figsize=(9.0, 3.6),
    cited={
        "sigmoid, default init": {"num_layers": 10, "activation": "sigmoid", "init": "default"},
        "xavier": {"init": "xavier"},
        "tanh": {"activation": "tanh"},
        "tanh, he": {"activation": "tanh", "init": "he"},
    },
)


def _draw_saturation(result: FlowAtInit, axes: Sequence[Axes]) -> None:
    flow = result.flow
    plots.activation_histograms(
        flow.hist_edges, flow.hist_counts, ax=axes[0], annotations=_row_notes(result)
    )
    axes[0].set_title("layer outputs", fontsize="small")
    plots.gradient_norms(flow.layer, flow.grad_norm, theory=result.theory, ax=axes[1])
    axes[1].set_ylim(1e-12, 1e2)


def _describe_saturation(result: FlowAtInit, values: Mapping[str, Any]) -> str:
    flow = result.flow
    return (
        f"{values['activation']}, weights N(0, {values['std']:g}²): "
        f"{100 * result.saturated_share:.0f}% of units saturated on average; "
        f"the gradient at layer 1 is {flow.first_to_last:.1e} times the one at layer "
        f"{flow.num_layers}."
    )


saturation_explorer = Demo(
    name="saturation_explorer",
    title="Saturation: how the weight scale pushes sigmoid and tanh units into their flat tails",
    params=(
        Slider(
            "std",
            (0.01, 0.03, 0.05, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1.0),
            0.125,
            label="weight std",
        ),
        Choice("activation", ("tanh", "sigmoid"), "tanh"),
    ),
    compute=saturation_flow,
    draw=_draw_saturation,
    describe=_describe_saturation,
    ncols=2,
    figsize=(9.0, 3.6),
    cited={
        "tanh, large weights": {"std": 1.0, "activation": "tanh"},
        "sigmoid, large weights": {"std": 1.0, "activation": "sigmoid"},
    },
)
