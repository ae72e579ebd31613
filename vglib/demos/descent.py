"""Demos of the gradient-descent chapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes

from vglib.core import OPTIMIZERS
from vglib.demos.core import Choice, Demo, Slider
from vglib.plots.descent import contour_path, loss_curve
from vglib.studies.gradient_descent import (
    EXPLORER_LRS,
    EXPLORER_STARTS,
    ExplorerRun,
    explorer_run,
)


def _regime(run: ExplorerRun) -> str:
    """The verdict on the run, with the numbers it rests on."""
    losses = run.trajectory.losses
    if run.trajectory.diverged or losses[-1] > losses[0]:
        return "diverged"
    verdicts = []
    if run.optimizer == "sgd" and run.steep_factor < 0:
        verdicts.append(
            "oscillating: the steep component flips sign every step "
            f"(1 − η·λ_max = {run.steep_factor:.2g})"
        )
    if run.loss_ratio > 1e-2:
        verdicts.append(f"slow: the loss is still {100 * run.loss_ratio:.2g}% of its start")
    return "; ".join(verdicts)


def _draw(run: ExplorerRun, axes: Sequence[Axes]) -> None:
    path = run.trajectory
    contour_path(run.grid_x, run.grid_y, run.grid_loss, path.positions, ax=axes[0], note="")
    axes[0].set_title("path on the loss contours", fontsize="small")
    note = f"diverged at step {path.diverged_at}" if path.diverged else ""
    loss_curve(path.losses, ax=axes[1], xmax=run.steps, note=note)
    axes[1].set_title("loss (log scale; above 1e6 counts as diverged)", fontsize="small")


def _describe(run: ExplorerRun, values: Mapping[str, Any]) -> str:
    path = run.trajectory
    head = f"{run.optimizer} with learning rate {run.lr:g} from {values['start']}"
    stable = (
        f" (plain gradient descent is stable below 2/λ_max = {run.stability_limit:g})"
        if run.optimizer == "sgd"
        else ""
    )
    if path.diverged:
        return f"{head}: diverged, the loss passed 1e6 at step {path.diverged_at}{stable}."
    verdict = _regime(run)
    if verdict == "diverged":
        return (
            f"{head}: diverged, the loss grew from {path.losses[0]:.3g} to "
            f"{path.losses[-1]:.2g} in {run.steps} steps{stable}."
        )
    return (
        f"{head}: {verdict + '; ' if verdict else ''}the loss went from {path.losses[0]:.3g} to "
        f"{path.losses[-1]:.2g} in {run.steps} steps{stable}."
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
            EXPLORER_LRS,
            0.03,
            label="learning rate η",
            static=(0.003, 0.01, 0.03, 0.1, 0.18, 0.19, 0.205, 0.3),
        ),
        Choice("optimizer", OPTIMIZERS, "sgd"),
        Slider("steps", (10, 20, 50, 100), 50, static=(50,)),
        Choice(
            "start",
            tuple(EXPLORER_STARTS),
            "(-2.5, 1.5)",
            label="start θ₀",
            static=("(-2.5, 1.5)",),
        ),
    ),
    compute=explorer_run,
    draw=_draw,
    describe=_describe,
    ncols=2,
    figsize=(9.0, 3.8),
    cited=CITED,
)
