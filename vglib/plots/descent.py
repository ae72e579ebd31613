"""Plots of the gradient-descent chapter (matplotlib only, draw-or-update)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from vglib.plots.base import (
    PALETTE,
    axes_for,
    find_artist,
    hide_others,
    log_y,
    refresh,
    style,
    update_line,
    update_text,
)


def contour_path(
    x: np.ndarray,
    y: np.ndarray,
    loss: np.ndarray,
    path: np.ndarray,
    *,
    ax: Axes | None = None,
    minimum: tuple[float, float] | None = (0.0, 0.0),
    note: str = "",
    key: str = "path",
) -> Axes:
    """An optimizer's path over the contour lines of a 2-D loss.

    The contours are drawn on the first call only (the surface of a demo does not change);
    later calls move the path. Points outside the axes are clipped, so a diverging path
    leaves the picture instead of rescaling it.

    Parameters
    ----------
    x, y
        Grid coordinates, shapes ``(nx,)`` and ``(ny,)``.
    loss
        Loss on the grid, shape ``(ny, nx)``; drawn with log-spaced contour levels.
    path
        Positions ``θ_t``, shape ``(steps + 1, 2)``; NaN rows (after divergence) are skipped.
    minimum
        Where to mark the minimum, or ``None``.
    note
        Text in the lower-left corner (e.g. "diverged at step 8").
    """
    ax = axes_for(ax)
    if find_artist(ax, f"{key}:contour", object) is None:
        positive = loss[loss > 0]
        lo, hi = (positive.min(), loss.max()) if positive.size else (1e-3, 1.0)
        levels = np.geomspace(max(lo, hi * 1e-4), hi, 12)
        contours = ax.contour(x, y, loss, levels=levels, colors="0.55", linewidths=0.7)
        contours.set_gid(f"{key}:contour")
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(y[0], y[-1])
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(r"$\theta_1$")
        ax.set_ylabel(r"$\theta_2$")
        if minimum is not None:
            ax.plot(*minimum, marker="*", color="black", markersize=10, gid=f"{key}:min")
    path = np.asarray(path, dtype=float)
    path = path[np.isfinite(path).all(axis=1)]
    update_line(
        ax,
        f"{key}:line",
        path[:, 0],
        path[:, 1],
        color=PALETTE[6],
        marker="o",
        markersize=2.5,
        linewidth=1.2,
    )
    update_line(
        ax, f"{key}:start", path[:1, 0], path[:1, 1], color=PALETTE[5], marker="s", markersize=7
    )
    update_text(
        ax,
        f"{key}:note",
        note,
        fontsize="small",
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
    )
    return ax


def loss_curve(
    losses: np.ndarray,
    *,
    ax: Axes | None = None,
    ylim: tuple[float, float] = (1e-12, 1e6),
    xmax: int | None = None,
    note: str = "",
    key: str = "loss",
) -> Axes:
    """Loss against step on a log scale with fixed limits (so frames of a demo compare).

    Parameters
    ----------
    losses
        ``L(θ_t)`` for ``t = 0 .. steps``, shape ``(steps + 1,)``; NaN after divergence.
    ylim
        Fixed y limits; values outside are clipped by the axes.
    xmax
        Right end of the x axis (default: the last step).
    """
    ax = axes_for(ax)
    losses = np.asarray(losses, dtype=float)
    steps = np.arange(len(losses))
    update_line(ax, f"{key}:line", steps, losses, color=PALETTE[6], linewidth=1.5, label="loss")
    log_y(ax)
    ax.set_ylim(*ylim)
    ax.set_xlim(0, xmax if xmax is not None else max(1, len(losses) - 1))
    ax.set_xlabel("step t")
    ax.set_ylabel(r"loss $L(\theta_t)$")
    ax.grid(True, which="major", alpha=0.3)
    update_text(
        ax,
        f"{key}:note",
        note,
        fontsize="small",
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
    )
    return ax


def per_layer(
    layer: np.ndarray,
    series: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    floor: float = 1e-12,
    ylabel: str = r"$\|\Delta W_l\| \, / \, \|W_l\|$",
    key: str = "layer",
) -> Axes:
    """Per-layer quantities on a log scale; exact zeros are drawn as hollow markers at ``floor``.

    Parameters
    ----------
    layer
        Layer numbers, shape ``(num_layers,)``.
    series
        ``{label: values}``, each of shape ``(num_layers,)``.
    floor
        Where to draw values that are exactly zero (a log axis cannot show 0).
    """
    ax = axes_for(ax)
    keep: set[str] = set()
    any_zero = False
    for i, (label, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=float)
        kw = style(i)
        gid = f"{key}:{label}"
        keep.add(gid)
        update_line(
            ax, gid, layer, np.where(values > 0, values, np.nan), label=label, markersize=5, **kw
        )
        zero = values <= 0
        if zero.any():
            any_zero = True
            zid = f"{key}:{label}:zero"
            keep.add(zid)
            update_line(
                ax,
                zid,
                np.asarray(layer)[zero],
                np.full(zero.sum(), floor),
                linestyle="none",
                marker=kw["marker"],
                markerfacecolor="white",
                markeredgecolor=kw["color"],
                markersize=7,
                label="_zero",
            )
    hide_others(ax, f"{key}:", keep)
    log_y(ax, numticks=8)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax)
    if any_zero:
        ax.set_ylim(floor / 3, None)
        label = update_text(ax, f"{key}:zero-note", "hollow markers: exactly 0", fontsize="x-small")
        label.set_position((0.02, 0.97))
        label.set_verticalalignment("top")
    return ax


def loglog(
    x: np.ndarray,
    series: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    xlabel: str = "",
    ylabel: str = "",
    dashed: tuple[str, ...] = (),
    key: str = "loglog",
) -> Axes:
    """Curves with markers on log-log axes; labels in ``dashed`` are drawn as dashed lines without markers."""
    ax = axes_for(ax)
    keep: set[str] = set()
    for i, (label, values) in enumerate(series.items()):
        gid = f"{key}:{label}"
        keep.add(gid)
        kw = style(i)
        if label in dashed:
            kw.update(marker=None, linestyle="--", color="black")
        update_line(ax, gid, x, np.asarray(values, dtype=float), label=label, markersize=5, **kw)
    hide_others(ax, f"{key}:", keep)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    refresh(ax)
    return ax


def rate_curve(
    lr_theory: np.ndarray,
    theory: np.ndarray,
    lr_measured: np.ndarray,
    measured: np.ndarray,
    *,
    marks: Mapping[str, float] | None = None,
    ax: Axes | None = None,
    ylim: tuple[float, float] | None = None,
    key: str = "rate",
) -> Axes:
    """Contraction per step against the learning rate: a theory curve, measured points, marks.

    Parameters
    ----------
    lr_theory, theory
        The predicted rate on a fine grid, shapes ``(m,)``.
    lr_measured, measured
        Measured rates, shapes ``(k,)``; ``inf`` (diverged) points are drawn at the top edge.
    marks
        ``{label: learning rate}`` drawn as vertical dotted lines (e.g. ``2/λ_max``).
    """
    ax = axes_for(ax)
    update_line(
        ax,
        f"{key}:theory",
        lr_theory,
        theory,
        color="black",
        linewidth=1.5,
        label=r"theory $\max_i |1-\eta\lambda_i|$",
    )
    measured = np.asarray(measured, dtype=float)
    top = ylim[1] if ylim is not None else np.nanmax(theory)
    shown = np.where(np.isfinite(measured), measured, top)
    update_line(
        ax,
        f"{key}:measured",
        lr_measured,
        shown,
        linestyle="none",
        marker="o",
        markersize=5,
        color=PALETTE[1],
        label="measured (torch.optim.SGD)",
    )
    for i, (label, value) in enumerate((marks or {}).items()):
        gid = f"{key}:mark{i}"
        artist = find_artist(ax, gid, object)
        if artist is None:
            ax.axvline(
                value,
                color=PALETTE[(i + 4) % len(PALETTE)],
                linestyle=":",
                linewidth=1.5,
                gid=gid,
                label=label,
            )
    ax.axhline(1.0, color="0.6", linewidth=0.8)
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_ylabel("contraction per step")
    ax.grid(True, alpha=0.3)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(loc="best", fontsize="x-small", frameon=False)
    return ax
