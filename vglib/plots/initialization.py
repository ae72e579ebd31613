"""Plots of the initialization chapter: the edge-of-chaos phase diagram and Jacobian spectra.

Both are draw-or-update (see :mod:`vglib.plots.base`): the first call on an ``Axes`` creates
gid-tagged artists, later calls move their data. The phase diagram's background image is
drawn once and kept, so a demo update only moves the marker.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import TwoSlopeNorm

from vglib.plots.base import (
    axes_for,
    find_artist,
    hide_others,
    refresh,
    style,
    update_line,
    update_text,
)


def phase_diagram(
    sigma_b2: np.ndarray,
    critical_w2: np.ndarray,
    point: tuple[float, float],
    *,
    background: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    label: str = "",
    ax: Axes | None = None,
) -> Axes:
    """The ordered and chaotic phases of a deep tanh network in the ``(sigma_w2, sigma_b2)`` plane.

    Parameters
    ----------
    sigma_b2
        Bias variances along the critical line, shape ``(m,)``.
    critical_w2
        The ``sigma_w2`` where ``chi_1 = 1`` for each ``sigma_b2``, shape ``(m,)``.
    point
        ``(sigma_w2, sigma_b2)`` of the current network, drawn as a marker.
    background
        Optional ``(w2_grid (a,), b2_grid (b,), log2_chi1 (b, a))``: a shaded map of
        ``log2 chi_1`` (blue ordered, red chaotic). Drawn on the first call only.
    label
        A short note drawn at the left of the panel (e.g. the value of ``chi_1``).
    ax
        Axes to draw on or update.
    """
    ax = axes_for(ax)
    if background is not None and find_artist(ax, "phase:bg", QuadMesh) is None:
        w2, b2, log_chi = background
        ax.pcolormesh(
            w2,
            b2,
            np.clip(log_chi, -3, 3),
            cmap="RdBu_r",
            norm=TwoSlopeNorm(vcenter=0.0, vmin=-3, vmax=3),
            shading="auto",
            alpha=0.55,
            gid="phase:bg",
            rasterized=True,
        )
        ax.text(0.04, 0.9, "ordered\nχ₁ < 1", transform=ax.transAxes, fontsize="small", va="top")
        ax.text(0.96, 0.1, "chaotic\nχ₁ > 1", transform=ax.transAxes, fontsize="small", ha="right")
    update_line(
        ax, "phase:critical", critical_w2, sigma_b2, color="black", linewidth=2, label="χ₁ = 1"
    )
    marker = update_line(
        ax,
        "phase:point",
        [point[0]],
        [point[1]],
        color=style(3)["color"],
        marker="o",
        markersize=9,
        markeredgecolor="black",
        linestyle="none",
        label="this network",
    )
    marker.set_zorder(5)
    note = update_text(ax, "phase:label", label, fontsize="small")
    note.set_position((0.04, 0.45))
    ax.set_xlabel("σ_w² (fan-in × weight variance)")
    ax.set_ylabel("σ_b² (bias variance)")
    if background is not None:
        ax.set_xlim(background[0][0], background[0][-1])
        ax.set_ylim(background[1][0], background[1][-1])
    ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    return ax


def singular_value_spectra(
    spectra: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    floor: float = 1e-8,
    key: str = "sv",
) -> Axes:
    """Sorted singular values of several Jacobians on a log scale.

    Parameters
    ----------
    spectra
        ``{label: singular values}``, each of shape ``(n,)`` (any order; sorted here).
    floor
        Values below ``floor`` (numerically zero) are drawn at ``floor``.
    key
        Prefix of the artists' ids.
    """
    ax = axes_for(ax)
    keep: set[str] = set()
    for i, (label, values) in enumerate(spectra.items()):
        values = np.sort(np.asarray(values, dtype=float))[::-1]
        rank = (np.arange(len(values)) + 0.5) / len(values)
        gid = f"{key}:{label}"
        keep.add(gid)
        kw = style(i)
        kw["marker"] = None
        update_line(ax, gid, rank, np.maximum(values, floor), label=label, linewidth=2, **kw)
    hide_others(ax, f"{key}:", keep)
    ax.axhline(1.0, color="0.5", linewidth=0.8, zorder=0)
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, None)
    ax.set_xlabel("rank / width (largest first)")
    ax.set_ylabel("singular value of ∂h_L/∂x")
    ax.grid(True, alpha=0.3)
    refresh(ax)
    return ax
