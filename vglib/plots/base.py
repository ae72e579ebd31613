"""Shared plots and the public artist helpers every plot module uses (``update_line``, ``refresh``, ...).

Every function here is *draw-or-update*: called on a fresh ``Axes`` it creates its artists
(each tagged with a ``gid``); called again on the same ``Axes`` it finds them and moves their
data with ``set_data``. That is what lets a live demo redraw a slider step in milliseconds
without rebuilding its figure, while a chapter calls the very same function once.

None of them calls ``plt.show()``, touches rcParams or seeds anything. Colours come from the
Okabe-Ito palette, which stays distinguishable under the common colour-vision deficiencies,
and every series also differs by marker or line style, so nothing relies on colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import StepPatch
from matplotlib.text import Text
from matplotlib.ticker import LogLocator, NullLocator

#: Okabe and Ito's colour-blind-safe palette (black first).
PALETTE = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")


def style(i: int) -> dict[str, object]:
    """Colour, marker and line style of the ``i``-th series: distinct even in greyscale."""
    return {
        "color": PALETTE[(i + 1) % len(PALETTE)],
        "marker": MARKERS[i % len(MARKERS)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
    }


def axes_for(ax: Axes | None) -> Axes:
    """``ax``, or the axes of a new figure when ``ax`` is None."""
    return plt.figure().add_subplot() if ax is None else ax


def find_artist(ax: Axes, gid: str, kind: type) -> object | None:
    """The artist of type ``kind`` tagged ``gid`` on ``ax``, or None if this is the first call."""
    for artist in ax.get_children():
        if isinstance(artist, kind) and artist.get_gid() == gid:
            return artist
    return None


def update_line(ax: Axes, gid: str, x, y, **kwargs) -> Line2D:
    """Draw the line tagged ``gid`` on the first call; later calls move its data and show it."""
    line = find_artist(ax, gid, Line2D)
    if line is None:
        (line,) = ax.plot(x, y, gid=gid, **kwargs)
    else:
        line.set_data(x, y)
        line.set_visible(True)
    return line


def update_hline(ax: Axes, gid: str, value: float, **kwargs) -> Line2D:
    """Draw the horizontal line tagged ``gid`` at ``value`` on the first call; later calls move
    it (and relabel it when ``label`` is given) and show it."""
    line = find_artist(ax, gid, Line2D)
    if line is None:
        return ax.axhline(value, gid=gid, **kwargs)
    line.set_ydata([value, value])
    line.set_visible(True)
    if "label" in kwargs:
        line.set_label(kwargs["label"])
    return line


def update_text(ax: Axes, gid: str, text: str, **kwargs) -> Text:
    """Place the text tagged ``gid`` (bottom left) on the first call; later calls change it."""
    artist = find_artist(ax, gid, Text)
    if artist is None:
        return ax.text(0.02, 0.03, text, transform=ax.transAxes, gid=gid, **kwargs)
    artist.set_text(text)
    return artist


def hide_others(ax: Axes, prefix: str, keep: set[str]) -> None:
    """Hide this function's artists that the current call did not draw (e.g. a theory curve)."""
    for artist in ax.get_children():
        gid = artist.get_gid()
        if isinstance(gid, str) and gid.startswith(prefix) and gid not in keep:
            artist.set_visible(False)


def log_y(ax: Axes, *, numticks: int = 7) -> None:
    """Log-scale y axis with a label every few decades and no minor ticks.

    Readable over 20 decades, and cheap to draw (no minor-tick labels to lay out).
    """
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(numticks=numticks))
    ax.yaxis.set_minor_locator(NullLocator())


def refresh(ax: Axes, *, legend: bool = True) -> None:
    """Rescale to the visible artists and rebuild the legend from the visible labelled lines."""
    ax.relim(visible_only=True)
    ax.autoscale_view()
    if legend:
        handles = [
            h for h in ax.get_lines() if h.get_visible() and not h.get_label().startswith("_")
        ]
        if handles:
            ax.legend(handles=handles, loc="best", fontsize="small", frameon=False)


def gradient_norms(
    layer: Sequence[int] | np.ndarray,
    norms: np.ndarray | Mapping[str, np.ndarray],
    *,
    theory: np.ndarray | None = None,
    ax: Axes | None = None,
    ylabel: str = r"gradient norm $\|\partial L / \partial h_l\|$",
    key: str = "grad",
) -> Axes:
    """Per-layer gradient norms on a log scale, optionally with a theory curve.

    Parameters
    ----------
    layer
        Layer numbers, shape ``(num_layers,)``; layer 1 is next to the input.
    norms
        One array of shape ``(num_layers,)``, or ``{label: array}`` for several series.
    theory
        Predicted norms, shape ``(num_layers,)``, drawn as a dashed black line.
    ax
        Axes to draw on (or to update, if this function drew on it before).
    ylabel
        Axis label.
    key
        Prefix of the artists' ids; use different keys to draw two panels on one Axes.
    """
    ax = axes_for(ax)
    series = {"measured": norms} if not isinstance(norms, Mapping) else dict(norms)
    keep: set[str] = set()
    for i, (label, values) in enumerate(series.items()):
        gid = f"{key}:{label}"
        keep.add(gid)
        update_line(ax, gid, layer, np.asarray(values), label=label, markersize=4, **style(i))
    if theory is not None:
        gid = f"{key}:theory"
        keep.add(gid)
        update_line(
            ax,
            gid,
            layer,
            theory,
            label="mean-field theory",
            color="black",
            linestyle=":",
            linewidth=2,
        )
    hide_others(ax, f"{key}:", keep)
    log_y(ax)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax)
    return ax


def activation_histograms(
    edges: np.ndarray,
    counts: np.ndarray,
    *,
    ax: Axes | None = None,
    max_rows: int = 6,
    annotations: Sequence[str] | None = None,
    key: str = "hist",
) -> Axes:
    """Per-layer histograms of activations, stacked as rows (a ridgeline), first layer at the top.

    Parameters
    ----------
    edges
        Bin edges, shape ``(bins + 1,)``.
    counts
        Counts per layer and bin, shape ``(num_layers, bins)``.
    ax
        Axes to draw on or update.
    max_rows
        At most this many layers are shown, evenly spaced and always including the first
        and the last.
    annotations
        Optional text per shown row (e.g. "saturated 40%"), printed at the row's right end.
    """
    ax = axes_for(ax)
    counts = np.asarray(counts, dtype=float)
    num_layers = counts.shape[0]
    rows = np.unique(np.linspace(0, num_layers - 1, min(max_rows, num_layers)).round().astype(int))
    keep: set[str] = set()
    for row, layer_index in enumerate(rows):
        gid = f"{key}:row{row}"
        keep.add(gid)
        peak = counts[layer_index].max()
        heights = 0.85 * counts[layer_index] / peak if peak > 0 else counts[layer_index]
        baseline = float(len(rows) - 1 - row)
        patch = find_artist(ax, gid, StepPatch)
        if patch is None:
            ax.stairs(
                heights + baseline,
                edges,
                baseline=baseline,
                fill=True,
                gid=gid,
                color=PALETTE[5],
                alpha=0.75,
                edgecolor="black",
                linewidth=0.6,
            )
        else:
            patch.set_data(heights + baseline, edges, baseline)
            patch.set_visible(True)
        if annotations is not None:
            text_gid = f"{key}:note{row}"
            keep.add(text_gid)
            note = find_artist(ax, text_gid, Text)
            if note is None:
                ax.text(
                    1.0,
                    baseline + 0.45,
                    "",
                    transform=ax.get_yaxis_transform(),
                    gid=text_gid,
                    ha="right",
                    va="center",
                    fontsize="x-small",
                )
                note = find_artist(ax, text_gid, Text)
            note.set_text(annotations[row])
            note.set_y(baseline + 0.45)
            note.set_visible(True)
    hide_others(ax, f"{key}:", keep)
    ax.set_yticks(np.arange(len(rows)) + 0.4, [f"layer {i + 1}" for i in rows[::-1]])
    ax.set_ylim(0, len(rows))
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("activation value")
    return ax


def curves(
    x: np.ndarray,
    series: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    logy: bool = False,
    xlabel: str = "",
    ylabel: str = "",
    markers: bool = False,
    key: str = "curve",
) -> Axes:
    """Several labelled curves over a shared x axis (loss curves, derivatives, ratios).

    Parameters
    ----------
    x
        Shared abscissa, shape ``(n,)``.
    series
        ``{label: y}`` with each ``y`` of shape ``(n,)``.
    logy
        Log-scale y axis.
    markers
        Draw a marker at each point (the style's marker); lines only by default.
    """
    ax = axes_for(ax)
    keep: set[str] = set()
    for i, (label, values) in enumerate(series.items()):
        gid = f"{key}:{label}"
        keep.add(gid)
        kw = style(i)
        if not markers:
            kw["marker"] = None
        update_line(ax, gid, x, np.asarray(values), label=label, markersize=4, **kw)
    hide_others(ax, f"{key}:", keep)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    refresh(ax)
    return ax


def note(ax: Axes, text: str, *, key: str = "note") -> Axes:
    """A short text in the lower-left corner of ``ax`` (drawn once, then updated)."""
    update_text(
        ax,
        key,
        text,
        fontsize="small",
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
    )
    return ax
