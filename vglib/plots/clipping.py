"""Plots of the exploding-gradients-and-clipping chapter (draw-or-update, see :mod:`vglib.plots.base`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Text

from vglib.plots.base import (
    PALETTE,
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


def cliff_profile(
    w: np.ndarray,
    loss: np.ndarray,
    *,
    start: tuple[float, float],
    landings: Mapping[str, tuple[float, float]] | None = None,
    ax: Axes | None = None,
    ylim: tuple[float, float] | None = None,
    key: str = "cliff",
) -> Axes:
    """The loss along the recurrent weight, the point a step starts from and where steps land.

    Parameters
    ----------
    w, loss
        Weight grid and loss, shape ``(n,)``.
    start
        ``(w, loss)`` of the point where the step is taken (drawn as a black dot).
    landings
        ``{label: (w, loss)}``: where each kind of step lands. Points outside the x range are
        not drawn (say so in a note).
    ax
        Axes to draw on or update.
    ylim
        Fixed y limits (default: from the data).
    key
        Prefix of the artists' ids.
    """
    ax = axes_for(ax)
    keep = {f"{key}:loss", f"{key}:start"}
    update_line(ax, f"{key}:loss", w, loss, color=PALETTE[0], linewidth=1.8, label="_loss")
    update_line(
        ax,
        f"{key}:start",
        [start[0]],
        [start[1]],
        color="black",
        marker="o",
        markersize=8,
        linestyle="none",
        label="start (steepest point)",
    )
    for i, (label, (x, y)) in enumerate((landings or {}).items()):
        gid = f"{key}:land:{label}"
        keep.add(gid)
        kw = style(i + 2)
        kw["linestyle"] = "none"
        if not (np.min(w) <= x <= np.max(w)):
            x, y = np.nan, np.nan
        update_line(ax, gid, [x], [y], markersize=9, markeredgecolor="black", label=label, **kw)
    hide_others(ax, f"{key}:", keep)
    ax.set_xlabel("recurrent weight w")
    ax.set_ylabel(r"loss $(x_T - 0.7)^2$")
    ax.grid(True, alpha=0.3)
    refresh(ax)
    ax.set_xlim(float(np.min(w)), float(np.max(w)))
    if ylim is not None:
        ax.set_ylim(*ylim)
    return ax


def cliff_gradient_norm(
    w: np.ndarray,
    grad_norm: np.ndarray,
    *,
    threshold: float,
    ax: Axes | None = None,
    ylim: tuple[float, float] | None = None,
    note_text: str | None = None,
    key: str = "cliffgrad",
) -> Axes:
    """Gradient norm along the recurrent weight (log scale), the threshold and the clipped norm.

    Parameters
    ----------
    w, grad_norm
        Weight grid and ``||(dL/dw, dL/db)||``, shape ``(n,)``.
    threshold
        Clipping threshold (dashed line); the clipped norm ``min(norm, threshold)`` is drawn
        as a second curve.
    ax
        Axes to draw on or update.
    ylim
        Fixed y limits (default: from the data).
    note_text
        A few lines in a small box in the middle right of the axes (``None``: none).
    key
        Prefix of the artists' ids.
    """
    ax = axes_for(ax)
    grad_norm = np.maximum(np.asarray(grad_norm, dtype=float), 1e-30)
    update_line(ax, f"{key}:plain", w, grad_norm, label="no clipping", linewidth=1.8, **_plain(0))
    update_line(
        ax,
        f"{key}:clipped",
        w,
        np.minimum(grad_norm, threshold),
        label="clipped by norm",
        linewidth=2.2,
        **_plain(1),
    )
    update_hline(ax, f"{key}:threshold", threshold, color="0.3", linestyle=":", linewidth=1.2)
    text = find_artist(ax, f"{key}:note", Text)
    if note_text is not None:
        note(ax, note_text, key=f"{key}:note")
        text = find_artist(ax, f"{key}:note", Text)
        text.set_fontsize("x-small")
        text.set_position((0.53, 0.45))
    if text is not None:
        text.set_visible(note_text is not None)
    log_y(ax)
    ax.set_xlabel("recurrent weight w")
    ax.set_ylabel(r"gradient norm $\|\nabla_{w,b} L\|$")
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax)
    ax.set_xlim(float(np.min(w)), float(np.max(w)))
    if ylim is not None:
        ax.set_ylim(*ylim)
    return ax


def _plain(i: int) -> dict[str, object]:
    kw = style(i)
    kw["marker"] = None
    return kw


def training_runs(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    ax: Axes | None = None,
    logy: bool = True,
    xlabel: str = "step",
    ylabel: str = "mini-batch loss",
    stopped: Sequence[str] = (),
    key: str = "runs",
) -> Axes:
    """Curves of different lengths (training runs that stop when they diverge).

    Parameters
    ----------
    series
        ``{label: (x, y)}``, each pair of shape ``(n_i,)``; non-finite ``y`` values are not
        drawn.
    logy
        Log-scale y axis.
    stopped
        Labels of runs that stopped early (diverged): their last finite point is marked
        with a cross.
    """
    ax = axes_for(ax)
    keep: set[str] = set()
    for i, (label, (x, y)) in enumerate(series.items()):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        y = np.where(np.isfinite(y), y, np.nan)
        gid = f"{key}:{label}"
        keep.add(gid)
        update_line(ax, gid, x, y, label=label, linewidth=1.5, **_plain(i))
        if label in stopped:
            end = f"{key}:end:{label}"
            keep.add(end)
            finite = np.flatnonzero(np.isfinite(y))
            j = finite[-1] if finite.size else 0
            update_line(
                ax,
                end,
                [x[j]],
                [y[j]],
                color=style(i)["color"],
                marker="X",
                markersize=10,
                markeredgecolor="black",
                linestyle="none",
                label="_end",
            )
    hide_others(ax, f"{key}:", keep)
    if logy:
        log_y(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax)
    return ax


def clipping_sweep(
    thresholds: np.ndarray,
    series: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    logy: bool = False,
    ylabel: str = "",
    key: str = "sweep",
) -> Axes:
    """Quantities measured at several clipping thresholds (log-scale x axis, with markers).

    Parameters
    ----------
    thresholds
        Thresholds, shape ``(k,)``.
    series
        ``{label: values}``, each of shape ``(k,)``.
    """
    ax = axes_for(ax)
    keep: set[str] = set()
    for i, (label, values) in enumerate(series.items()):
        gid = f"{key}:{label}"
        keep.add(gid)
        update_line(ax, gid, thresholds, np.asarray(values, dtype=float), label=label, **style(i))
    hide_others(ax, f"{key}:", keep)
    ax.set_xscale("log")
    if logy:
        log_y(ax)
    ax.set_xlabel("clipping threshold (global norm)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax)
    return ax


def loss_scale_steps(
    step: np.ndarray,
    scale: np.ndarray,
    skipped: np.ndarray,
    *,
    ax: Axes | None = None,
    key: str = "scaler",
) -> Axes:
    """A ``GradScaler``'s scale per step (log2 axis), skipped steps marked with crosses.

    Parameters
    ----------
    step, scale, skipped
        Step numbers, the scale used at each step and whether the step was skipped, each
        of shape ``(steps,)``.
    """
    ax = axes_for(ax)
    step = np.asarray(step, dtype=float)
    scale = np.asarray(scale, dtype=float)
    skipped = np.asarray(skipped, dtype=bool)
    update_line(
        ax, f"{key}:scale", step, scale, label="loss scale S", drawstyle="steps-mid", **_plain(0)
    )
    update_line(
        ax,
        f"{key}:skipped",
        step[skipped] if skipped.any() else [np.nan],
        scale[skipped] if skipped.any() else [np.nan],
        label="step skipped (inf found)",
        color=PALETTE[6],
        marker="X",
        markersize=10,
        markeredgecolor="black",
        linestyle="none",
    )
    ax.set_yscale("log", base=2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss scale S")
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax)
    return ax
