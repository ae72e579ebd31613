"""Demos of the initialization chapter: the weight scale, and the edge of chaos for tanh."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes

from vglib import plots
from vglib.demos.core import Choice, Demo, Slider
from vglib.studies.initialization import (
    EdgeOfChaos,
    LayerProfile,
    edge_of_chaos_point,
    tanh_phase_diagram,
    weight_scale_profile,
)

#: sigma_w2 from 1/4 to 4, log-spaced (powers of sqrt 2), rounded for the labels.
SIGMA_W2_SCALE = (0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0)


# -- weight scale ------------------------------------------------------------------------------
def _draw_weight_scale(p: LayerProfile, axes: Sequence[Axes]) -> None:
    plots.gradient_norms(
        p.layer,
        p.pre_rms,
        theory=p.theory_pre_rms,
        ax=axes[0],
        ylabel=r"pre-activation RMS $\sqrt{q_l}$",
        key="fwd",
    )
    axes[0].set_ylim(1e-12, 1e6)
    axes[0].set_title("forward: size of the signal", fontsize="small")
    plots.gradient_norms(p.layer, p.grad_norm, theory=p.theory_grad, ax=axes[1])
    axes[1].set_ylim(1e-12, 1e6)
    axes[1].set_title("backward: size of the gradient", fontsize="small")


def _describe_weight_scale(p: LayerProfile, values: Mapping[str, Any]) -> str:
    return (
        f"{values['activation']}, σ_w² = {values['sigma_w2']:g}, {len(p.layer)} layers: the "
        f"pre-activation RMS goes from {p.pre_rms[0]:.2g} at layer 1 to {p.pre_rms[-1]:.2g} at "
        f"layer {len(p.layer)} (theory {p.theory_pre_rms[-1]:.2g}); the gradient at layer 1 is "
        f"{p.first_to_last:.1e} times the one at the last layer "
        f"(theory {p.theory_first_to_last:.1e})."
    )


weight_scale_explorer = Demo(
    name="weight_scale_explorer",
    title="Weight scale: signal and gradient through 30 layers, measured and predicted",
    params=(
        Slider("sigma_w2", SIGMA_W2_SCALE, 1.0, label="σ_w²"),
        Choice("activation", ("tanh", "relu"), "tanh"),
    ),
    compute=weight_scale_profile,
    draw=_draw_weight_scale,
    describe=_describe_weight_scale,
    ncols=2,
    figsize=(9.0, 3.6),
    cited={
        "relu, He": {"sigma_w2": 2.0, "activation": "relu"},
        "tanh, sigma_w2 1": {"sigma_w2": 1.0, "activation": "tanh"},
        "tanh, sigma_w2 4": {"sigma_w2": 4.0, "activation": "tanh"},
    },
)


# -- edge of chaos -----------------------------------------------------------------------------
def _draw_edge(result: EdgeOfChaos, axes: Sequence[Axes]) -> None:
    bg = tanh_phase_diagram()
    plots.phase_diagram(
        bg.line_sigma_b2,
        bg.line_sigma_w2,
        (result.sigma_w2, result.sigma_b2),
        background=(bg.sigma_w2, bg.sigma_b2, bg.log2_chi1),
        label=f"χ₁ = {result.chi1:.2f}\nmeasured {result.measured_chi:.2f}",
        ax=axes[0],
    )
    p = result.profile
    plots.gradient_norms(p.layer, p.grad_norm, theory=p.theory_grad, ax=axes[1])
    axes[1].set_ylim(1e-6, 1e6)
    axes[1].set_title("gradient norm in a 30-layer tanh network", fontsize="small")


def _describe_edge(result: EdgeOfChaos, values: Mapping[str, Any]) -> str:
    p = result.profile
    return (
        f"tanh, σ_w² = {values['sigma_w2']:g}, σ_b² = {values['sigma_b2']:g}: "
        f"χ₁ = {result.chi1:.2f} ({result.phase} phase); measured growth of the squared "
        f"gradient per layer {result.measured_chi:.2f}; the gradient at layer 1 is "
        f"{p.first_to_last:.1e} times the one at layer {len(p.layer)}."
    )


edge_of_chaos = Demo(
    name="edge_of_chaos",
    title="The edge of chaos: where a deep tanh network passes gradients on unchanged",
    params=(
        Slider(
            "sigma_w2",
            (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0),
            1.0,
            label="σ_w²",
        ),
        Slider(
            "sigma_b2",
            (0.0, 0.01, 0.05, 0.1, 0.3),
            0.0,
            label="σ_b²",
            static=(0.0, 0.05, 0.1, 0.3),
        ),
    ),
    compute=edge_of_chaos_point,
    draw=_draw_edge,
    describe=_describe_edge,
    ncols=2,
    figsize=(9.0, 3.6),
    cited={
        "chaotic": {"sigma_w2": 3.0, "sigma_b2": 0.05},
        "ordered": {"sigma_w2": 1.0, "sigma_b2": 0.3},
    },
)
