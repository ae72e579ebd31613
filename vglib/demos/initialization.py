"""Demos of the initialization chapter: the weight scale, and the edge of chaos for tanh."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from vglib import plots
from vglib.compute.initialization import (
    layer_profile,
    tanh_chi1,
    tanh_critical_sigma_w2,
)
from vglib.demos.core import Choice, Demo, Slider
from vglib.plots.initialization import phase_diagram

NUM_LAYERS = 30
WIDTH = 128
BATCH = 64

#: sigma_w2 from 1/4 to 4, log-spaced (powers of sqrt 2), rounded for the labels.
SIGMA_W2_SCALE = (0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0)


# -- weight scale ------------------------------------------------------------------------------
def weight_scale_result(sigma_w2: float, activation: str) -> dict[str, Any]:
    """Profile of a 30-layer network with ``W ~ N(0, sigma_w2 / fan_in)`` and zero biases."""
    profile = layer_profile(
        activation, sigma_w2, 0.0, num_layers=NUM_LAYERS, width=WIDTH, batch=BATCH, bins=0
    )
    return {"profile": profile, "sigma_w2": sigma_w2}


def _draw_weight_scale(result: Mapping[str, Any], axes: Sequence[Axes]) -> None:
    p = result["profile"]
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


def _describe_weight_scale(result: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    p = result["profile"]
    return (
        f"{values['activation']}, σ_w² = {values['sigma_w2']:g}, {len(p.layer)} layers: the "
        f"pre-activation RMS goes from {p.pre_rms[0]:.2g} at layer 1 to {p.pre_rms[-1]:.2g} at "
        f"layer {len(p.layer)} (theory {p.theory_pre_rms[-1]:.2g}); the gradient at layer 1 is "
        f"{p.grad_norm[0] / p.grad_norm[-1]:.1e} times the one at the last layer "
        f"(theory {p.theory_grad[0] / p.theory_grad[-1]:.1e})."
    )


weight_scale_explorer = Demo(
    name="weight_scale_explorer",
    title="Weight scale: signal and gradient through 30 layers, measured and predicted",
    params=(
        Slider("sigma_w2", SIGMA_W2_SCALE, 1.0, label="σ_w²"),
        Choice("activation", ("tanh", "relu"), "tanh"),
    ),
    compute=weight_scale_result,
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
@lru_cache(maxsize=1)
def phase_background() -> dict[str, np.ndarray]:
    """The phase diagram's background and critical line, computed once per process."""
    w2 = np.linspace(0.4, 4.2, 77)
    b2 = np.linspace(0.0, 0.42, 43)
    log_chi = np.log2(tanh_chi1(w2[None, :], b2[:, None]))
    line_b2 = 0.42 * np.linspace(0.0, 1.0, 43) ** 2  # dense near 0, where the line is steep
    return {
        "w2": w2,
        "b2": b2,
        "log_chi": log_chi,
        "line_b2": line_b2,
        "line_w2": tanh_critical_sigma_w2(line_b2),
    }


def edge_of_chaos_result(sigma_w2: float, sigma_b2: float) -> dict[str, Any]:
    """A 30-layer tanh network at ``(sigma_w2, sigma_b2)``: measured gradients and ``chi_1``.

    ``measured_chi`` is the measured per-layer growth of the squared gradient norm over the
    top 20 layers, ``(||g_10|| / ||g_30||)^(2/20)``, to set beside ``chi_1``.
    """
    profile = layer_profile(
        "tanh", sigma_w2, sigma_b2, num_layers=NUM_LAYERS, width=WIDTH, batch=BATCH, bins=0
    )
    g = profile.grad_norm
    start = NUM_LAYERS // 3 - 1
    measured = (g[start] / g[-1]) ** (2.0 / (NUM_LAYERS - 1 - start))
    return {
        "profile": profile,
        "chi1": float(tanh_chi1(sigma_w2, sigma_b2)),
        "measured_chi": float(measured),
        "point": (sigma_w2, sigma_b2),
    }


def _draw_edge(result: Mapping[str, Any], axes: Sequence[Axes]) -> None:
    bg = phase_background()
    phase_diagram(
        bg["line_b2"],
        bg["line_w2"],
        result["point"],
        background=(bg["w2"], bg["b2"], bg["log_chi"]),
        label=f"χ₁ = {result['chi1']:.2f}\nmeasured {result['measured_chi']:.2f}",
        ax=axes[0],
    )
    p = result["profile"]
    plots.gradient_norms(p.layer, p.grad_norm, theory=p.theory_grad, ax=axes[1])
    axes[1].set_ylim(1e-6, 1e6)
    axes[1].set_title("gradient norm in a 30-layer tanh network", fontsize="small")


def _describe_edge(result: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    chi1, measured = result["chi1"], result["measured_chi"]
    phase = "ordered" if chi1 < 0.98 else "chaotic" if chi1 > 1.02 else "critical"
    p = result["profile"]
    return (
        f"tanh, σ_w² = {values['sigma_w2']:g}, σ_b² = {values['sigma_b2']:g}: χ₁ = {chi1:.2f} "
        f"({phase} phase); measured growth of the squared gradient per layer {measured:.2f}; "
        f"the gradient at layer 1 is {p.grad_norm[0] / p.grad_norm[-1]:.1e} times the one at "
        f"layer {len(p.layer)}."
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
    compute=edge_of_chaos_result,
    draw=_draw_edge,
    describe=_describe_edge,
    ncols=2,
    figsize=(9.0, 3.6),
    cited={
        "chaotic": {"sigma_w2": 3.0, "sigma_b2": 0.05},
        "ordered": {"sigma_w2": 1.0, "sigma_b2": 0.3},
    },
)
