"""Demos of the saturating-activations chapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from vglib import plots
from vglib.compute import (
    SATURATING,
    build_mlp,
    make_spirals,
    measure_gradient_flow,
    mlp_mean_field,
)
from vglib.demos.core import Choice, Demo, Slider

WIDTH = 64
BATCH = 256


def flow_at_init(
    *,
    num_layers: int,
    activation: str,
    init: str,
    std: float | None = None,
    width: int = WIDTH,
    batch_norm: bool = False,
    residual: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Measure a fresh network on a spirals batch; add the mean-field curve where it applies.

    Returns ``{"flow": GradientFlow, "theory": array | None, "num_layers": int}``; the theory
    (plain networks only) is anchored at the measured norm of the last layer.
    """
    X, y = make_spirals(BATCH, seed=seed)
    model = build_mlp(
        2,
        2,
        num_layers=num_layers,
        width=width,
        activation=activation,
        init=init,
        std=std,
        batch_norm=batch_norm,
        residual=residual,
        seed=seed,
    )
    flow = measure_gradient_flow(model, X, y)
    theory = None
    if not (batch_norm or residual):
        field = mlp_mean_field(
            activation,
            init,
            num_layers=num_layers,
            width=width,
            in_features=2,
            q_in=float((X**2).mean()),
            std=std,
        )
        theory = field.relative_grad_norms() * flow.grad_norm[-1]
    return {"flow": flow, "theory": theory, "num_layers": num_layers}


def _row_notes(flow) -> list[str]:
    rows = np.unique(
        np.linspace(0, flow.num_layers - 1, min(6, flow.num_layers)).round().astype(int)
    )
    if flow.activation in SATURATING:
        return [f"saturated {100 * flow.saturation[i]:.0f}%" for i in rows]
    return [f"dead {100 * flow.dead[i]:.0f}%" for i in rows]


def _draw_lab(result: Mapping[str, Any], axes: Sequence[Axes], max_layers: int = 30) -> None:
    flow = result["flow"]
    plots.gradient_norms(flow.layer, flow.grad_norm, theory=result["theory"], ax=axes[0])
    axes[0].set_ylim(1e-30, 1e4)
    axes[0].set_xlim(0.5, max_layers + 0.5)
    plots.activation_histograms(
        flow.hist_edges, flow.hist_counts, ax=axes[1], annotations=_row_notes(flow)
    )
    axes[1].set_title("layer outputs at initialization", fontsize="small")


def _describe_lab(result: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    flow, theory = result["flow"], result["theory"]
    text = (
        f"{values['activation']} with {values['init']} init, {flow.num_layers} layers: the gradient "
        f"reaching layer 1 is {flow.first_to_last:.1e} times the one at layer {flow.num_layers}"
    )
    if theory is not None:
        text += f" (mean-field theory: {theory[0] / theory[-1]:.1e})"
    if flow.activation in SATURATING:
        text += f"; {100 * np.nanmean(flow.saturation):.0f}% of units saturated on average."
    else:
        text += f"; {100 * flow.dead.mean():.0f}% of units dead on average."
    return text


gradient_flow_lab = Demo(
    name="gradient_flow_lab",
    title="Gradient-flow lab: how much gradient reaches each layer at initialization",
    params=(
        Slider(
            "num_layers",
            tuple(range(2, 31)),
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
    compute=lambda **v: flow_at_init(**v),
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


def _draw_saturation(result: Mapping[str, Any], axes: Sequence[Axes]) -> None:
    flow = result["flow"]
    plots.activation_histograms(
        flow.hist_edges, flow.hist_counts, ax=axes[0], annotations=_row_notes(flow)
    )
    axes[0].set_title("layer outputs", fontsize="small")
    plots.gradient_norms(flow.layer, flow.grad_norm, theory=result["theory"], ax=axes[1])
    axes[1].set_ylim(1e-12, 1e2)


def _describe_saturation(result: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    flow = result["flow"]
    return (
        f"{values['activation']}, weights N(0, {values['std']:g}²): "
        f"{100 * np.nanmean(flow.saturation):.0f}% of units saturated on average; "
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
    compute=lambda std, activation: flow_at_init(
        num_layers=10, activation=activation, init="normal", std=std
    ),
    draw=_draw_saturation,
    describe=_describe_saturation,
    ncols=2,
    figsize=(9.0, 3.6),
    cited={
        "tanh, large weights": {"std": 1.0, "activation": "tanh"},
        "sigmoid, large weights": {"std": 1.0, "activation": "sigmoid"},
    },
)
