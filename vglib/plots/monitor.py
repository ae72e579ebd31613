"""Plots of the diagnosing chapter: layer x step heatmaps, per-layer profiles and curves, images.

All draw-or-update: a second call on the same ``Axes`` moves the artists' data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.image import AxesImage
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from vglib.plots.base import (
    PALETTE,
    axes_for,
    find_artist,
    hide_others,
    log_y,
    refresh,
    style,
    update_line,
)


def _power_of_ten(value: float, _position: int) -> str:
    """Tick label ``1e-04`` style: plain text, no mathtext (several times faster to draw)."""
    return f"{value:.0e}"


_POWER_LABELS = FuncFormatter(_power_of_ten)


def layer_step_heatmap(
    step: np.ndarray,
    values: np.ndarray,
    layer_labels: Sequence[str],
    *,
    ax: Axes | None = None,
    log: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
    cursor: float | None = None,
    label: str = "",
    title: str = "",
    key: str = "heat",
) -> Axes:
    """A layer x step heatmap of one recorded quantity, input layer at the bottom.

    Parameters
    ----------
    step
        Step numbers, shape ``(num_steps,)`` (evenly spaced).
    values
        The quantity, shape ``(num_steps, num_layers)``; NaN cells are left blank.
    layer_labels
        Tick label of each layer, length ``num_layers``.
    log
        Logarithmic colour scale (non-positive values are left blank).
    vmin, vmax
        Colour limits; by default the finite range of ``values``.
    cursor
        Draw a vertical line at this step.
    label
        Colour-bar label (the colour bar is made on the first call only).
    """
    ax = axes_for(ax)
    data = np.asarray(values, dtype=float).T  # (num_layers, num_steps)
    if log:
        data = np.where(data > 0, data, np.nan)
    finite = data[np.isfinite(data)]
    lo = vmin if vmin is not None else (finite.min() if finite.size else 1e-3)
    hi = vmax if vmax is not None else (finite.max() if finite.size else 1.0)
    if hi <= lo:
        hi = lo * 10 if log else lo + 1
    norm = LogNorm(lo, hi) if log else Normalize(lo, hi)
    half = 0.5 * (step[1] - step[0]) if len(step) > 1 else 0.5
    extent = (step[0] - half, step[-1] + half, 0.5, data.shape[0] + 0.5)
    image = find_artist(ax, f"{key}:image", AxesImage)
    if image is None:
        image = ax.imshow(
            data,
            aspect="auto",
            origin="lower",
            extent=extent,
            cmap="viridis",
            norm=norm,
            interpolation="nearest",
            gid=f"{key}:image",
        )
        colorbar = ax.figure.colorbar(image, ax=ax, pad=0.02)
        colorbar.ax.tick_params(labelsize="small")
    else:
        image.set_data(data)
        image.set_extent(extent)
        image.set_norm(norm)
    if image.colorbar is not None:
        image.colorbar.set_label(label, fontsize="small")
        if log:
            image.colorbar.ax.yaxis.set_major_locator(LogLocator(numticks=5))
            image.colorbar.ax.yaxis.set_major_formatter(_POWER_LABELS)
            image.colorbar.ax.yaxis.set_minor_locator(NullLocator())
    keep = {f"{key}:image"}
    if cursor is not None:
        keep.add(f"{key}:cursor")
        update_line(
            ax,
            f"{key}:cursor",
            [cursor, cursor],
            [0.5, data.shape[0] + 0.5],
            color="white",
            linewidth=2.5,
            linestyle="-",
        )
    hide_others(ax, f"{key}:", keep)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_yticks(np.arange(1, data.shape[0] + 1), list(layer_labels), fontsize="small")
    ax.set_xlabel("training step")
    ax.set_ylabel("layer (input at the bottom)")
    ax.set_title(title, fontsize="small")
    return ax


def step_profile(
    values: Mapping[str, np.ndarray],
    layer_labels: Sequence[str],
    *,
    ax: Axes | None = None,
    logy: bool = True,
    ylim: tuple[float, float] | None = None,
    ylabel: str = "",
    title: str = "",
    key: str = "profile",
) -> Axes:
    """Several per-layer series (e.g. gradient norm and update ratio at one step).

    Parameters
    ----------
    values
        ``{label: array}``, each of shape ``(num_layers,)``; layer 1 (input side) on the left.
    layer_labels
        Tick label of each layer.
    logy
        Log-scale y axis.
    ylim
        Fixed y limits (keeps a scrubbed demo from jumping); autoscaled if ``None``.
    """
    ax = axes_for(ax)
    x = np.arange(1, len(layer_labels) + 1)
    keep: set[str] = set()
    for i, (label, series) in enumerate(values.items()):
        gid = f"{key}:{label}"
        keep.add(gid)
        update_line(
            ax, gid, x, np.asarray(series, dtype=float), label=label, markersize=5, **style(i)
        )
    hide_others(ax, f"{key}:", keep)
    if logy:
        log_y(ax)
        ax.yaxis.set_major_formatter(_POWER_LABELS)
    ax.set_xticks(x, list(layer_labels), fontsize="small")
    ax.set_xlabel("layer (input on the left)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax)
    if ylim is not None:
        ax.set_ylim(*ylim)
    return ax


def layer_curves(
    step: np.ndarray,
    values: np.ndarray,
    layer_labels: Sequence[str],
    *,
    ax: Axes | None = None,
    logy: bool = True,
    ylabel: str = "",
    title: str = "",
    key: str = "layers",
) -> Axes:
    """One curve per layer over training, coloured from dark (input) to light (output).

    Parameters
    ----------
    step
        Step numbers, shape ``(num_steps,)``.
    values
        The quantity, shape ``(num_steps, num_layers)``.
    layer_labels
        Legend label of each layer.
    """
    ax = axes_for(ax)
    values = np.asarray(values, dtype=float)
    num_layers = values.shape[1]
    keep: set[str] = set()
    for k in range(num_layers):
        gid = f"{key}:{k}"
        keep.add(gid)
        shade = 0.15 + 0.85 * k / max(1, num_layers - 1)
        color = (0.0, 0.447 * shade, 0.698 * shade + 0.3 * (1 - shade))  # dark to light blue
        line = update_line(ax, gid, step, values[:, k], label=layer_labels[k], linewidth=1.4)
        line.set_color(color)
        line.set_linestyle(("-", "--", "-.", ":")[k % 4])
    hide_others(ax, f"{key}:", keep)
    if logy:
        log_y(ax)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax, legend=False)
    ax.legend(fontsize="x-small", frameon=False, ncols=2, loc="best")
    return ax


def image_grid(
    images: np.ndarray,
    labels: Sequence[str],
    *,
    ax: Axes | None = None,
    ncols: int = 8,
    key: str = "grid",
) -> Axes:
    """Grey images tiled into one picture, each with its label above it.

    Parameters
    ----------
    images
        Shape ``(n, H, W)``.
    labels
        One label per image.
    ncols
        Images per row.
    """
    ax = axes_for(ax)
    images = np.asarray(images, dtype=float)
    n, height, width = images.shape
    nrows = -(-n // ncols)
    gap = 4
    label_room = 7
    canvas = np.full((nrows * (height + gap + label_room), ncols * (width + gap)), np.nan)
    lo, hi = np.percentile(images, [1, 99])
    for i in range(n):
        r, c = divmod(i, ncols)
        top = r * (height + gap + label_room) + label_room
        left = c * (width + gap)
        canvas[top : top + height, left : left + width] = images[i]
    image = find_artist(ax, f"{key}:image", AxesImage)
    if image is None:
        ax.imshow(
            canvas, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest", gid=f"{key}:image"
        )
    else:
        image.set_data(canvas)
    for i in range(n):
        r, c = divmod(i, ncols)
        gid = f"{key}:label{i}"
        x = c * (width + gap) + width / 2 - 0.5
        y = r * (height + gap + label_room) + label_room - 1.5
        text = find_artist(ax, gid, Text)
        if text is None:
            ax.text(
                x,
                y,
                labels[i],
                ha="center",
                va="bottom",
                fontsize="x-small",
                gid=gid,
                color=PALETTE[0],
            )
        else:
            text.set_text(labels[i])
    ax.set_axis_off()
    return ax
