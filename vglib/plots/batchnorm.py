"""Plots of the batch-norm chapter: gradient norms with and without batch norm, the backward
gain of every batch-norm layer, step times.

Draw-or-update like every plot in :mod:`vglib.plots`: a second call on the same ``Axes``
moves the data of the artists drawn by the first.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from vglib.plots.base import (
    axes_for,
    gradient_norms,
    hide_others,
    note,
    refresh,
    style,
    update_line,
)

#: Norms below this are drawn at it (an underflow to exactly 0 cannot go on a log axis).
FLOOR = 1e-30


def bn_gradient_norms(
    layer: np.ndarray,
    norms: Mapping[str, np.ndarray],
    *,
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Per-layer gradient norms of several networks on a log scale, with a note.

    Parameters
    ----------
    layer
        Layer numbers, shape ``(num_layers,)``.
    norms
        ``{label: norms}``, each of shape ``(num_layers,)``; zeros are drawn at :data:`FLOOR`.
    title
        Title of the axes (e.g. the growth factors).
    ax
        Axes to draw on or update.
    """
    ax = axes_for(ax)
    clipped = {k: np.maximum(np.asarray(v, dtype=float), FLOOR) for k, v in norms.items()}
    gradient_norms(layer, clipped, ax=ax, key="bn")
    ax.set_title(title, fontsize="small")
    ax.legend(loc="lower right", fontsize="small", frameon=False)
    return ax


def bn_backward_gains(
    layer: np.ndarray,
    gains: Mapping[str, np.ndarray],
    *,
    slopes: Mapping[str, float] | None = None,
    title: str = "",
    ax: Axes | None = None,
    key: str = "gain",
) -> Axes:
    """The backward gain ``gamma / sigma_B`` of every batch-norm layer, one line per network.

    Parameters
    ----------
    layer
        Layer numbers, shape ``(num_layers,)``.
    gains
        ``{label: gains}``, each of shape ``(num_layers,)``; a network without batch norm
        (all NaN) keeps its place in the colour order but draws nothing, so that the colours
        match :func:`bn_gradient_norms` for the same mapping order.
    slopes
        ``{label: mean activation slope}``, written in a note (optional).
    title
        Title of the axes.
    ax
        Axes to draw on or update.
    key
        Prefix of the artists' ids.
    """
    ax = axes_for(ax)
    keep: set[str] = {f"{key}:one"}
    top = 1.0
    for i, (label, values) in enumerate(gains.items()):
        values = np.asarray(values, dtype=float)
        if not np.isfinite(values).any():
            continue
        gid = f"{key}:{label}"
        keep.add(gid)
        update_line(ax, gid, layer, values, label=label, markersize=4, **style(i))
        top = max(top, float(np.nanmax(values)))
    update_line(
        ax,
        f"{key}:one",
        [layer[0], layer[-1]],
        [1.0, 1.0],
        color="0.5",
        linewidth=1,
        linestyle=":",
        label="_gain 1",
    )
    hide_others(ax, f"{key}:", keep)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel(r"backward gain $\gamma / \sigma_B$ (mean over units)")
    ax.grid(True, alpha=0.3)
    refresh(ax)
    ax.set_ylim(0, 1.15 * top)
    ax.set_title(title, fontsize="small")
    if slopes:
        note(
            ax,
            "mean slope φ′: " + ", ".join(f"{name} {value:.3f}" for name, value in slopes.items()),
            key=f"{key}-note",
        )
    return ax


def step_times(times: Mapping[str, np.ndarray], *, ax: Axes | None = None) -> Axes:
    """Every measured step time (dots) and the median (bar) of each setting, in milliseconds (linear axis from 0).

    Parameters
    ----------
    times
        ``{label: seconds}``, each of shape ``(repeats,)``.
    ax
        Axes to draw on or update.
    """
    ax = axes_for(ax)
    labels = list(times)
    for i, label in enumerate(labels):
        ms = 1e3 * np.asarray(times[label], dtype=float)
        jitter = np.linspace(-0.15, 0.15, len(ms))
        kw = style(i)
        update_line(
            ax,
            f"st:pts:{label}",
            i + jitter,
            ms,
            color=kw["color"],
            marker=kw["marker"],
            linestyle="none",
            markersize=4,
            alpha=0.7,
        )
        med = float(np.median(ms))
        update_line(
            ax, f"st:med:{label}", [i - 0.3, i + 0.3], [med, med], color="black", linewidth=2
        )
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylabel("time per training step (ms)")
    ax.grid(True, axis="y", alpha=0.3)
    refresh(ax, legend=False)
    ax.set_ylim(bottom=0)
    return ax
