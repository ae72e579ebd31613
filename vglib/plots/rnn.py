"""Plots of the gated-recurrent-networks chapter (draw-or-update, see :mod:`vglib.plots.base`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Text

from vglib.plots.base import (
    axes_for,
    find_artist,
    hide_others,
    log_y,
    note,
    refresh,
    style,
    update_hline,
    update_line,
)


def gradient_by_input_step(
    t: np.ndarray,
    norms: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    floor: float = 1e-40,
    note_text: str | None = None,
    key: str = "bptt",
) -> Axes:
    """``||dy_T / dx_t||`` against the input's time step ``t`` (log scale), one line per network.

    Parameters
    ----------
    t
        Time steps, shape ``(T,)``.
    norms
        ``{label: norms}``, each of shape ``(T,)``.
    ax
        Axes to draw on or update.
    floor
        Values below ``floor`` (including exact zeros) are drawn at ``floor``; the y axis
        starts there.
    note_text
        A short text drawn in a box to the right of the axes (``None``: none).
    key
        Prefix of the artists' ids.
    """
    ax = axes_for(ax)
    keep: set[str] = set()
    lowest, highest = np.inf, 0.0
    for i, (label, values) in enumerate(norms.items()):
        values = np.maximum(np.asarray(values, dtype=float), floor)
        lowest, highest = min(lowest, values.min()), max(highest, values.max())
        gid = f"{key}:{label}"
        keep.add(gid)
        kw = style(i)
        kw["marker"] = None
        update_line(ax, gid, np.asarray(t), values, label=label, linewidth=2, **kw)
    if note_text is not None:
        gid = f"{key}:note"
        keep.add(gid)
        note(ax, note_text, key=gid)
        text = find_artist(ax, gid, Text)
        text.set_position((1.03, 0.5))
        text.set_verticalalignment("center")
        text.set_visible(True)
    hide_others(ax, f"{key}:", keep)
    log_y(ax)
    ax.set_xlabel("time step t of the input (T = last)")
    ax.set_ylabel(r"$\|\partial y_T / \partial x_t\|$")
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax)
    ax.set_xlim(1, max(float(np.max(t)), 2.0))
    ax.set_ylim(max(floor, lowest / 3), highest * 3)
    return ax


def baseline(value: float, *, label: str, ax: Axes | None = None, key: str = "baseline") -> Axes:
    """A dashed horizontal reference line at ``value`` (e.g. the loss of predicting the mean).

    Parameters
    ----------
    value
        Height of the line.
    label
        Its legend entry.
    ax
        Axes to draw on or update.
    key
        The line's id.
    """
    ax = axes_for(ax)
    update_hline(ax, key, value, color="0.3", linestyle="--", linewidth=1.2, label=label)
    return ax
