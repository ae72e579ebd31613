"""Demo of the diagnosing chapter: scrub through training runs recorded by the gradient-flow monitor."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes

from vglib.demos.core import Choice, Demo, Slider
from vglib.plots.base import note
from vglib.plots.monitor import layer_step_heatmap, step_profile
from vglib.studies import diagnosing as study


@dataclass(frozen=True)
class _Heatmap:
    """How the heatmap shows one recorded quantity."""

    quantity: str  # a name of study.QUANTITIES
    log: bool
    limits: tuple[float, float]
    colorbar: str


#: What the heatmap shows, by the label the demo offers.
HEATMAPS: dict[str, _Heatmap] = {
    "update ratio": _Heatmap("update_ratio", True, (1e-8, 1.0), "‖ΔW‖ / ‖W‖"),
    "weight-gradient norm": _Heatmap("grad_norm", True, (1e-8, 10.0), "‖∂L/∂W‖"),
    "dead units": _Heatmap("dead", False, (0.0, 1.0), "share of dead channels"),
}


def _compute(step: int, run: str, heatmap: str) -> study.MonitorFrame:
    return study.monitor_frame(step, run, HEATMAPS[heatmap].quantity)


def _draw(frame: study.MonitorFrame, axes: Sequence[Axes]) -> None:
    title, style = next((t, h) for t, h in HEATMAPS.items() if h.quantity == frame.quantity)
    layer_step_heatmap(
        frame.run.record.step,
        frame.values,
        frame.labels,
        ax=axes[0],
        log=style.log,
        vmin=style.limits[0],
        vmax=style.limits[1],
        cursor=frame.step,
        label=style.colorbar,
        title=title,
    )
    step_profile(
        {
            "weight-gradient norm ‖∂L/∂W‖": frame.grad_norm,
            "update ratio ‖ΔW‖/‖W‖": frame.update_ratio,
        },
        frame.labels,
        ax=axes[1],
        ylim=(1e-9, 10.0),
        ylabel="value at this step",
        title=f"step {frame.step}",
    )
    text = f"loss {frame.loss:.3f}, dead {100 * frame.dead:.0f}%"
    if not math.isnan(frame.saturation):
        text += f", saturated {100 * frame.saturation:.0f}%"
    note(axes[1], text)


def _describe(frame: study.MonitorFrame, values: Mapping[str, Any]) -> str:
    run, rec = frame.run, frame.run.record
    first, last = frame.update_ratio[0], frame.update_ratio[-2]
    return (
        f"{values['run']}, step {frame.step} of {rec.num_steps}: the update ratio is {first:.1e} "
        f"at the first convolution and {last:.1e} at the last one; weight-gradient norms "
        f"{frame.grad_norm[0]:.1e} and {frame.grad_norm[-2]:.1e}; loss {frame.loss:.3f}; "
        f"held-out accuracy after training {run.test_accuracy:.2f} (chance {run.chance:.2f})."
    )


gradient_flow_monitor = Demo(
    name="gradient_flow_monitor",
    title="Gradient-flow monitor: scrub through training, layer by layer",
    params=(
        Slider(
            "step",
            tuple(range(1, study.STEPS + 1)),
            1,
            label="training step",
            static=(1, 10, 25, 50, 100),
        ),
        Choice(
            "run",
            tuple(study.RUNS),
            "sigmoid, default init",
            static=("sigmoid, default init", "ReLU, He init, BN", "ReLU+BN, lr / 100"),
        ),
        Choice(
            "heatmap",
            tuple(HEATMAPS),
            "update ratio",
            static=("update ratio",),
        ),
    ),
    compute=_compute,
    draw=_draw,
    describe=_describe,
    ncols=2,
    figsize=(9.5, 3.6),
)
