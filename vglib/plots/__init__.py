"""Plot layer: matplotlib only, pure functions ``f(data, *, ax=None) -> Axes``.

Every function is *draw-or-update* (see :mod:`vglib.plots.base`): the first call on an
``Axes`` creates artists tagged with a ``gid``, later calls move their data, so a live demo
redraws in milliseconds and a chapter calls the same function once. Topic modules build on
the artist helpers of :mod:`vglib.plots.base`; their public functions are re-exported here.
"""

from vglib.plots.base import (
    LINESTYLES,
    MARKERS,
    PALETTE,
    activation_histograms,
    curves,
    gradient_norms,
    note,
    style,
)

__all__ = [
    "LINESTYLES",
    "MARKERS",
    "PALETTE",
    "activation_histograms",
    "curves",
    "gradient_norms",
    "note",
    "style",
]
