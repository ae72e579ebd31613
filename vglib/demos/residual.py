"""Demo of the residual-connections chapter: depth against gradient flow and forward growth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes

from vglib.compute.residual import BRANCHES, residual_profile
from vglib.demos.core import Demo, Slider
from vglib.plots.residual import depth_profiles

WIDTH = 128
BATCH = 64

#: Legend labels of the four networks, in the order of :data:`BRANCHES`.
LABELS = {
    "plain": "plain (no skip)",
    "unscaled": "residual, α = 1",
    "scaled": "residual, α = 1/√L",
    "zero": "residual, α = 0 (SkipInit)",
}


def residual_depth_result(num_blocks: int, sigma_w2: float) -> dict[str, Any]:
    """Profiles of the plain network and the three residual variants at one depth."""
    profiles = {
        b: residual_profile(b, num_blocks, width=WIDTH, sigma_w2=sigma_w2, batch=BATCH, seed=0)
        for b in BRANCHES
    }
    return {"profiles": profiles, "num_blocks": num_blocks, "sigma_w2": sigma_w2}


def _draw(result: Mapping[str, Any], axes: Sequence[Axes]) -> None:
    profiles = result["profiles"]
    layer = profiles["plain"].layer
    depth_profiles(
        layer,
        {LABELS[b]: p.grad_norm / p.grad_norm[-1] for b, p in profiles.items()},
        theory={LABELS[b]: p.theory_grad_norm / p.grad_norm[-1] for b, p in profiles.items()},
        ax=axes[0],
        ylabel="‖∂L/∂hₗ‖ / value at the top",
        key="grad",
    )
    axes[0].set_ylim(1e-10, 1e10)
    axes[0].set_title("backward: gradient norm per layer", fontsize="small")
    depth_profiles(
        layer,
        {LABELS[b]: p.second_moment / p.second_moment[0] for b, p in profiles.items()},
        theory={
            LABELS[b]: p.theory_second_moment / p.second_moment[0] for b, p in profiles.items()
        },
        ax=axes[1],
        ylabel="second moment qₗ / q₀",
        key="fwd",
    )
    axes[1].set_ylim(1e-20, 1e20)
    axes[1].set_title("forward: signal size per layer", fontsize="small")
    axes[1].get_legend().remove()


def _describe(result: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    p = result["profiles"]
    L = values["num_blocks"]
    return (
        f"{L} blocks, σ_w² = {values['sigma_w2']:g}: the gradient at layer 0 is "
        f"{p['plain'].first_to_last:.1e} times the top one in the plain network "
        f"(closed form {p['plain'].factor ** (L / 2):.1e}), {p['unscaled'].first_to_last:.1e} "
        f"with unscaled branches, {p['scaled'].first_to_last:.2f} with α = 1/√L and "
        f"{p['zero'].first_to_last:.2f} with zero-initialized branches; the forward second "
        f"moment grows by {p['unscaled'].growth:.1e} with unscaled branches "
        f"(closed form {p['unscaled'].factor ** L:.1e}) and {p['scaled'].growth:.2f} "
        f"with α = 1/√L (closed form {p['scaled'].factor ** L:.2f})."
    )


residual_depth = Demo(
    name="residual_depth",
    title="Plain against residual: gradient and signal through L blocks, measured and predicted",
    params=(
        Slider("num_blocks", (5, 10, 20, 30, 40, 50), 30, label="blocks L"),
        Slider(
            "sigma_w2",
            (1.0, 1.5, 2.0, 2.5),
            2.0,
            label="σ_w² = fan-in × Var(W)",
            static=(1.0, 2.0),
        ),
    ),
    compute=residual_depth_result,
    draw=_draw,
    describe=_describe,
    ncols=2,
    figsize=(9.0, 3.6),
    cited={
        "He weights, 50 blocks": {"num_blocks": 50, "sigma_w2": 2.0},
        "LeCun weights, 50 blocks": {"num_blocks": 50, "sigma_w2": 1.0},
    },
)
