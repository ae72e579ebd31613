"""Plots of the remedies chapter: what depth buys in a fixed budget, how far each layer moves.

Draw-or-update like every plot of :mod:`vglib.plots`: a second call on the same ``Axes``
moves the artists' data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.text import Text

from vglib.plots.base import PALETTE, axes_for, find_artist, log_y, refresh, style, update_line


def depth_costs(
    labels: Sequence[str],
    values: np.ndarray,
    *,
    ax: Axes | None = None,
    xlabel: str = "lowest training loss in the budget",
    fmt: str = "{:.3f}",
    key: str = "depth",
) -> Axes:
    """Horizontal bars, one per network, each labelled with its value.

    Parameters
    ----------
    labels
        One name per network, e.g. ``"4 x 64"``, shape ``(networks,)``.
    values
        One value per network, shape ``(networks,)``.
    ax
        Axes to draw on or update (the number of bars must stay the same).
    xlabel
        Axis label.
    fmt
        Format of the value printed at the end of each bar.
    """
    ax = axes_for(ax)
    values = np.asarray(values, dtype=float)
    y = np.arange(len(values))[::-1]
    bars = None
    for container in ax.containers:
        if isinstance(container, BarContainer) and container.get_label() == key:
            bars = container
    if bars is None or len(bars) != len(values):
        bars = ax.barh(
            y,
            values,
            color=[PALETTE[(i + 1) % len(PALETTE)] for i in range(len(values))],
            edgecolor="black",
            linewidth=0.6,
            label=key,
        )
    else:
        for bar, v in zip(bars, values, strict=True):
            bar.set_width(v)
    for i, (yi, v) in enumerate(zip(y, values, strict=True)):
        gid = f"{key}:value{i}"
        text = find_artist(ax, gid, Text)
        if text is None:
            text = ax.text(v, yi, "", va="center", ha="left", fontsize="small", gid=gid)
        text.set_position((v, yi))
        text.set_text(" " + fmt.format(v))
    ax.set_yticks(y, list(labels))
    ax.set_xlim(0, 1.25 * float(np.nanmax(values)) if np.nanmax(values) > 0 else 1.0)
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def weight_moves(
    layer: np.ndarray,
    short: np.ndarray,
    long: np.ndarray,
    *,
    steps: int,
    factor: int,
    ax: Axes | None = None,
    key: str = "moves",
) -> Axes:
    """How far each layer's weights moved after ``steps`` and ``factor * steps`` steps (log scale).

    Parameters
    ----------
    layer
        Layer numbers, shape ``(num_layers,)``.
    short, long
        ``‖W_l(T) - W_l(0)‖`` after the short and the long run, shape ``(num_layers,)``.
    steps, factor
        ``N`` and the multiplier of the long run, for the legend.
    """
    ax = axes_for(ax)
    update_line(
        ax,
        f"{key}:short",
        layer,
        np.asarray(short),
        label=f"after N = {steps} steps",
        markersize=5,
        **style(0),
    )
    update_line(
        ax,
        f"{key}:long",
        layer,
        np.asarray(long),
        label=f"after {factor}N = {factor * steps} steps",
        markersize=5,
        **style(1),
    )
    log_y(ax)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel(r"weight change $\|W_l(T) - W_l(0)\|$")
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax)
    return ax
