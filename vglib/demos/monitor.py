"""Demo of the diagnosing chapter: scrub through training runs recorded by the gradient-flow monitor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes

from vglib._validate import check_choice
from vglib.compute.images import build_cnn, make_bars
from vglib.compute.monitor import MonitoredRun, train_monitored
from vglib.demos.core import Choice, Demo, Slider
from vglib.plots.base import note
from vglib.plots.monitor import layer_step_heatmap, step_profile

#: Training steps of every run.
STEPS = 100
#: Depth of the CNNs (convolutional blocks).
NUM_LAYERS = 6

#: The runs: a sick one, a healthy one, and two that look sick for other reasons.
RUNS: dict[str, dict[str, Any]] = {
    "sigmoid, default init": {
        "model": {"activation": "sigmoid", "init": "default", "batch_norm": False},
        "lr": 0.05,
        "weight_decay": 0.0,
    },
    "ReLU, He init, BN": {
        "model": {"activation": "relu", "init": "he", "batch_norm": True},
        "lr": 0.05,
        "weight_decay": 0.0,
    },
    "ReLU+BN, lr / 100": {
        "model": {"activation": "relu", "init": "he", "batch_norm": True},
        "lr": 0.0005,
        "weight_decay": 0.0,
    },
    "ReLU+BN, weight decay": {
        "model": {"activation": "relu", "init": "he", "batch_norm": True},
        "lr": 0.05,
        "weight_decay": 0.05,
    },
}

#: What the heatmap shows: label -> (record attribute, log scale, colour limits, colour-bar label).
HEATMAPS: dict[str, tuple[str, bool, tuple[float, float], str]] = {
    "update ratio": ("update_ratio", True, (1e-8, 1.0), "‖ΔW‖ / ‖W‖"),
    "weight-gradient norm": ("grad_norm", True, (1e-8, 10.0), "‖∂L/∂W‖"),
    "dead units": ("dead", False, (0.0, 1.0), "share of dead channels"),
}


@lru_cache(maxsize=1)
def bars_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The chapter's data: 1000 training and 200 held-out bar images (seed 0)."""
    X, y = make_bars(1200, seed=0)
    return X[:1000], y[:1000], X[1000:], y[1000:]


@cache
def monitored_run(run: str) -> MonitoredRun:
    """Train the CNN of ``run`` (a key of :data:`RUNS`) for :data:`STEPS` steps, once per process."""
    check_choice("run", run, RUNS)
    config = RUNS[run]
    X, y, X_test, y_test = bars_data()
    model = build_cnn(
        num_layers=NUM_LAYERS, channels=8, pool_after=(1, 2), seed=0, **config["model"]
    )
    return train_monitored(
        model,
        X,
        y,
        steps=STEPS,
        lr=config["lr"],
        weight_decay=config["weight_decay"],
        optimizer="momentum",
        batch_size=32,
        X_test=X_test,
        y_test=y_test,
        seed=0,
    )


def layer_labels(names: Sequence[str]) -> list[str]:
    """Short tick labels: ``conv1 .. convN`` for the convolutions, ``head`` for the classifier."""
    labels, conv = [], 0
    for name in names:
        if name.startswith("features"):
            conv += 1
            labels.append(f"conv{conv}")
        else:
            labels.append(name)
    return labels


def _compute(step: int, run: str, heatmap: str) -> dict[str, Any]:
    return {"run": monitored_run(run), "step": step, "heatmap": heatmap}


def _draw(result: Mapping[str, Any], axes: Sequence[Axes]) -> None:
    rec = result["run"].record
    labels = layer_labels(rec.layer_names)
    attr, log, (lo, hi), cbar = HEATMAPS[result["heatmap"]]
    t = result["step"] - 1
    layer_step_heatmap(
        rec.step,
        rec.get(attr),
        labels,
        ax=axes[0],
        log=log,
        vmin=lo,
        vmax=hi,
        cursor=result["step"],
        label=cbar,
        title=result["heatmap"],
    )
    step_profile(
        {
            "weight-gradient norm ‖∂L/∂W‖": rec.grad_norm[t],
            "update ratio ‖ΔW‖/‖W‖": rec.update_ratio[t],
        },
        labels,
        ax=axes[1],
        ylim=(1e-9, 10.0),
        ylabel="value at this step",
        title=f"step {result['step']}",
    )
    dead = np.nanmean(rec.dead[t])
    sat = rec.saturation[t]
    text = f"loss {rec.loss[t]:.3f}, dead {100 * dead:.0f}%"
    if np.isfinite(sat).any():
        text += f", saturated {100 * np.nanmean(sat):.0f}%"
    note(axes[1], text)


def _describe(result: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    run, step = result["run"], values["step"]
    rec, t = run.record, step - 1
    first, last = rec.update_ratio[t, 0], rec.update_ratio[t, -2]
    return (
        f"{values['run']}, step {step} of {rec.num_steps}: the update ratio is {first:.1e} at the "
        f"first convolution and {last:.1e} at the last one; weight-gradient norms {rec.grad_norm[t, 0]:.1e} "
        f"and {rec.grad_norm[t, -2]:.1e}; loss {rec.loss[t]:.3f}; held-out accuracy after "
        f"training {run.test_accuracy:.2f} (chance {run.chance:.2f})."
    )


gradient_flow_monitor = Demo(
    name="gradient_flow_monitor",
    title="Gradient-flow monitor: scrub through training, layer by layer",
    params=(
        Slider(
            "step",
            tuple(range(1, STEPS + 1)),
            1,
            label="training step",
            static=(1, 10, 25, 50, 100),
        ),
        Choice(
            "run",
            tuple(RUNS),
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
