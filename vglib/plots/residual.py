"""Plots of the residual-connections chapter: per-layer profiles measured beside a closed form."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from vglib.plots.base import axes_for, hide_others, log_y, refresh, style, update_line


def depth_profiles(
    layer: np.ndarray,
    series: Mapping[str, np.ndarray],
    *,
    theory: Mapping[str, np.ndarray] | None = None,
    ax: Axes | None = None,
    ylabel: str = r"gradient norm $\|\partial L / \partial h_l\|$",
    xlabel: str = "layer l (0 = output of the input layer)",
    ylim: tuple[float, float] | None = None,
    title: str = "",
    legend: bool = True,
    key: str = "depth",
) -> Axes:
    """Several per-layer series on a log scale, each with its closed form as a dotted line.

    Parameters
    ----------
    layer
        Layer numbers, shape ``(n,)``.
    series
        ``{label: values}``, each of shape ``(n,)`` (measured).
    theory
        ``{label: values}`` with the same labels (or a subset), shape ``(n,)``: the closed
        form, drawn dotted in the series' colour.
    ax
        Axes to draw on, or to update if this function drew on it before.
    ylabel, xlabel
        Axis labels.
    ylim
        Fixed limits of the y axis (default: fitted to the data).
    title
        Title of the axes.
    legend
        Show a legend of the series.
    key
        Prefix of the artists' ids.
    """
    ax = axes_for(ax)
    theory = dict(theory or {})
    keep: set[str] = set()
    for i, (label, values) in enumerate(series.items()):
        gid = f"{key}:{label}"
        keep.add(gid)
        update_line(ax, gid, layer, np.asarray(values), label=label, markersize=3, **style(i))
        if label in theory:
            gid = f"{key}:theory:{label}"
            keep.add(gid)
            color = style(i)["color"]
            update_line(
                ax,
                gid,
                layer,
                np.asarray(theory[label]),
                label="_",
                color=color,
                linestyle=":",
                linewidth=2.2,
                alpha=0.8,
            )
    if theory:
        gid = f"{key}:theory-legend"
        keep.add(gid)
        update_line(
            ax,
            gid,
            [np.nan],
            [np.nan],
            label="closed form (dotted)",
            color="0.3",
            linestyle=":",
            linewidth=2.2,
        )
    hide_others(ax, f"{key}:", keep)
    log_y(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax, legend=legend)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_title(title, fontsize="small")
    return ax
