"""Plots of the chain-rule chapter: gradients along a scalar chain and its per-layer factors.

Draw-or-update like every plot in :mod:`vglib.plots` (see :mod:`vglib.plots.base`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import LogLocator, NullLocator

from vglib.plots.base import PALETTE, axes_for, hide_others, refresh, update_line, update_text


def _log_axis(ax: Axes, ylim: tuple[float, float]) -> None:
    ax.set_yscale("log")
    ax.set_ylim(*ylim)
    decades = np.log10(ylim[1]) - np.log10(ylim[0])
    step = max(1, int(np.ceil(decades / 4)))
    ax.yaxis.set_major_locator(LogLocator(base=10.0**step, numticks=12))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.grid(True, which="major", alpha=0.3)


def _unit_line(ax: Axes, key: str, layer: np.ndarray) -> None:
    """The dashed reference line at 1 (neither vanishing nor exploding) across the layers."""
    update_line(
        ax,
        f"{key}:one",
        [layer[0] - 0.5, layer[-1] + 0.5],
        [1.0, 1.0],
        color="0.5",
        linestyle="--",
        linewidth=1,
        label="_one",
    )


def chain_gradients(
    layer: np.ndarray,
    measured: np.ndarray,
    product: np.ndarray,
    *,
    ax: Axes | None = None,
    ylim: tuple[float, float] = (1e-60, 1e20),
    note: str | None = None,
    key: str = "chain",
) -> Axes:
    """``|dh_L/dh_l|`` along a scalar chain: autograd as markers, the product of factors as a line.

    Parameters
    ----------
    layer
        Layer indices ``0 .. L``, shape ``(L + 1,)``.
    measured
        Gradients measured by autograd, shape ``(L + 1,)``.
    product
        The closed-form product of per-layer factors, shape ``(L + 1,)``.
    ax
        Axes to draw on, or to update if this function drew on it before.
    ylim
        Fixed y limits, so that moving a slider does not rescale the axis.
    note
        Optional text in the lower-left corner (e.g. the value at layer 0).
    key
        Prefix of the artists' ids.
    """
    ax = axes_for(ax)
    layer = np.asarray(layer)
    keep = {f"{key}:one", f"{key}:product", f"{key}:autograd"}
    _unit_line(ax, key, layer)
    update_line(
        ax,
        f"{key}:product",
        layer,
        np.abs(product),
        color=PALETTE[5],
        linewidth=2,
        label="product of factors (closed form)",
    )
    update_line(
        ax,
        f"{key}:autograd",
        layer,
        np.abs(measured),
        color=PALETTE[1],
        marker="o",
        markersize=5,
        markerfacecolor="none",
        markeredgewidth=1.2,
        linestyle="none",
        label="autograd",
    )
    if note is not None:
        keep.add(f"{key}:note")
        text = update_text(ax, f"{key}:note", note, fontsize="small")
        text.set_visible(True)
    hide_others(ax, f"{key}:", keep)
    ax.set_xlim(layer[0] - 0.5, layer[-1] + 0.5)
    _log_axis(ax, ylim)
    ax.set_xlabel("layer l (0 = input)")
    ax.set_ylabel(r"$|\partial h_L / \partial h_l|$")
    refresh(ax)
    ax.set_ylim(*ylim)
    return ax


def layer_factors(
    layer: np.ndarray,
    factor: np.ndarray,
    *,
    ax: Axes | None = None,
    ylim: tuple[float, float] = (1e-3, 10.0),
    key: str = "factor",
) -> Axes:
    """The per-layer factor ``w phi'(z_l)`` of a scalar chain on a log scale, with 1 marked.

    Parameters
    ----------
    layer
        Layer indices ``1 .. L``, shape ``(L,)``.
    factor
        The factors, shape ``(L,)``.
    ylim
        Fixed y limits.
    """
    ax = axes_for(ax)
    layer = np.asarray(layer)
    _unit_line(ax, key, layer)
    update_line(
        ax,
        f"{key}:factor",
        layer,
        np.abs(factor),
        color=PALETTE[3],
        marker="s",
        markersize=3,
        linewidth=1,
        label="_factor",
    )
    ax.set_xlim(layer[0] - 0.5, layer[-1] + 0.5)
    _log_axis(ax, ylim)
    ax.set_xlabel("layer l")
    ax.set_ylabel(r"factor $|w\,\varphi'(z_l)|$")
    refresh(ax, legend=False)
    ax.set_ylim(*ylim)
    return ax
