"""Demo of the residual-connections chapter: depth against gradient flow and forward growth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes

from vglib.demos.core import Demo, Slider
from vglib.plots.residual import depth_profiles
from vglib.studies.residual_connections import BRANCH_LABELS, BranchProfiles, branch_profiles


def _draw(result: BranchProfiles, axes: Sequence[Axes]) -> None:
    profiles = {BRANCH_LABELS[b]: p for b, p in result.profiles.items()}
    layer = result.profiles["plain"].layer
    depth_profiles(
        layer,
        {label: p.relative_grad_norm for label, p in profiles.items()},
        theory={label: p.relative_theory_grad_norm for label, p in profiles.items()},
        ax=axes[0],
        ylabel="‖∂L/∂hₗ‖ / value at the top",
        ylim=(1e-10, 1e10),
        title="backward: gradient norm per layer",
        key="grad",
    )
    depth_profiles(
        layer,
        {label: p.relative_second_moment for label, p in profiles.items()},
        theory={label: p.relative_theory_second_moment for label, p in profiles.items()},
        ax=axes[1],
        ylabel="second moment qₗ / q₀",
        ylim=(1e-20, 1e20),
        title="forward: signal size per layer",
        legend=False,
        key="fwd",
    )


def _describe(result: BranchProfiles, values: Mapping[str, Any]) -> str:
    p = result.profiles
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
    compute=branch_profiles,
    draw=_draw,
    describe=_describe,
    ncols=2,
    figsize=(9.0, 3.6),
    cited={
        "He weights, 50 blocks": {"num_blocks": 50, "sigma_w2": 2.0},
        "LeCun weights, 50 blocks": {"num_blocks": 50, "sigma_w2": 1.0},
    },
)
