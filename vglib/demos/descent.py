"""Demos of the gradient-descent chapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from vglib.compute.descent import Quadratic, surface_grid, trajectory
from vglib.demos.core import Choice, Demo, Slider
from vglib.plots.descent import contour_path, loss_curve

#: The demo's ill-conditioned quadratic: curvatures 1 and 10, axes rotated by 30 degrees,
#: so gradient descent is stable for η < 2/10 and fastest at η = 2/11.
SURFACE = Quadratic(eigenvalues=(1.0, 10.0), angle=30.0)
STARTS = {"(-2.5, 1.5)": (-2.5, 1.5), "(2.5, 2.5)": (2.5, 2.5), "(0.5, -2.8)": (0.5, -2.8)}
LIMITS = (-3.0, 3.0)
LRS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.15, 0.18, 0.19, 0.205, 0.3)


@cache
def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return surface_grid(SURFACE, LIMITS, LIMITS, num=121)


def descent_on_quadratic(
    *, lr: float, optimizer: str = "sgd", steps: int = 50, start: str = "(-2.5, 1.5)"
) -> dict[str, Any]:
    """Run ``optimizer`` on :data:`SURFACE` from ``STARTS[start]``; returns trajectory and grid."""
    path = trajectory(SURFACE, lr=lr, steps=steps, start=STARTS[start], optimizer=optimizer)
    return {"trajectory": path, "grid": _grid(), "steps": steps}


def _regime(path, lr: float, optimizer: str) -> str:
    """A verdict computed from the run, with the numbers it rests on."""
    losses = path.losses
    if path.diverged or losses[-1] > losses[0]:
        return "diverged"
    share = losses[-1] / losses[0]
    verdicts = []
    factor = 1 - lr * SURFACE.eigenvalues[1]
    if optimizer == "sgd" and factor < 0:
        verdicts.append(
            f"oscillating: the steep component flips sign every step (1 − η·λ_max = {factor:.2g})"
        )
    if share > 1e-2:
        verdicts.append(f"slow: the loss is still {100 * share:.2g}% of its start")
    return "; ".join(verdicts)


def _draw(result: Mapping[str, Any], axes: Sequence[Axes]) -> None:
    path = result["trajectory"]
    x, y, loss = result["grid"]
    contour_path(x, y, loss, path.positions, ax=axes[0], note="")
    axes[0].set_title("path on the loss contours", fontsize="small")
    note = f"diverged at step {path.diverged_at}" if path.diverged else ""
    loss_curve(path.losses, ax=axes[1], xmax=result["steps"], note=note)
    axes[1].set_title("loss (log scale; above 1e6 counts as diverged)", fontsize="small")


def _describe(result: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    path = result["trajectory"]
    lr, opt = values["lr"], values["optimizer"]
    head = f"{opt} with learning rate {lr:g} from {values['start']}"
    stable = (
        f" (plain gradient descent is stable below 2/λ_max = {2 / SURFACE.eigenvalues[1]:g})"
        if opt == "sgd"
        else ""
    )
    if path.diverged:
        return f"{head}: diverged, the loss passed 1e6 at step {path.diverged_at}{stable}."
    verdict = _regime(path, lr, opt)
    if verdict == "diverged":
        return (
            f"{head}: diverged, the loss grew from {path.losses[0]:.3g} to "
            f"{path.losses[-1]:.2g} in {values['steps']} steps{stable}."
        )
    return (
        f"{head}: {verdict + '; ' if verdict else ''}the loss went from {path.losses[0]:.3g} to "
        f"{path.losses[-1]:.2g} in {values['steps']} steps{stable}."
    )


#: The settings the chapter's prose sends readers to (each a frame of the static book).
CITED = {
    "slow": {"lr": 0.003},
    "clean descent": {"lr": 0.1},
    "fastest": {"lr": 0.18},
    "oscillating": {"lr": 0.19},
    "just past the limit": {"lr": 0.205},
    "diverging": {"lr": 0.3},
    "momentum": {"lr": 0.3, "optimizer": "momentum"},
    "adam": {"lr": 0.1, "optimizer": "adam"},
}

descent_explorer = Demo(
    name="descent_explorer",
    title="Gradient descent on an ill-conditioned quadratic: the learning rate decides",
    params=(
        Slider(
            "lr",
            LRS,
            0.03,
            label="learning rate η",
            static=(0.003, 0.01, 0.03, 0.1, 0.18, 0.19, 0.205, 0.3),
        ),
        Choice("optimizer", ("sgd", "momentum", "adam"), "sgd"),
        Slider("steps", (10, 20, 50, 100), 50, static=(50,)),
        Choice("start", tuple(STARTS), "(-2.5, 1.5)", label="start θ₀", static=("(-2.5, 1.5)",)),
    ),
    compute=lambda **v: descent_on_quadratic(**v),
    draw=_draw,
    describe=_describe,
    ncols=2,
    figsize=(9.0, 3.8),
    cited=CITED,
)
