"""Plots of the batch-norm chapter: gradient norms with and without batch norm, step times.

Draw-or-update like every plot in :mod:`vglib.plots`: a second call on the same ``Axes``
moves the data of the artists drawn by the first.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from vglib.plots.base import _axes, _line, _refresh, gradient_norms, style

#: Norms below this are drawn at it (an underflow to exactly 0 cannot go on a log axis).
FLOOR = 1e-30


def bn_gradient_norms(
    layer: np.ndarray,
    norms: Mapping[str, np.ndarray],
    *,
    label: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Per-layer gradient norms of several networks on a log scale, with a note.

    Parameters
    ----------
    layer
        Layer numbers, shape ``(num_layers,)``.
    norms
        ``{label: norms}``, each of shape ``(num_layers,)``; zeros are drawn at :data:`FLOOR`.
    label
        Title of the axes (e.g. the growth factors).
    ax
        Axes to draw on or update.
    """
    ax = _axes(ax)
    clipped = {k: np.maximum(np.asarray(v, dtype=float), FLOOR) for k, v in norms.items()}
    gradient_norms(layer, clipped, ax=ax, key="bn")
    ax.set_title(label, fontsize="small")
    ax.legend(loc="lower right", fontsize="small", frameon=False)
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
    ax = _axes(ax)
    labels = list(times)
    for i, label in enumerate(labels):
        ms = 1e3 * np.asarray(times[label], dtype=float)
        jitter = np.linspace(-0.15, 0.15, len(ms))
        kw = style(i)
        _line(
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
        _line(ax, f"st:med:{label}", [i - 0.3, i + 0.3], [med, med], color="black", linewidth=2)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylabel("time per training step (ms)")
    ax.grid(True, axis="y", alpha=0.3)
    _refresh(ax, legend=False)
    ax.set_ylim(bottom=0)
    return ax
