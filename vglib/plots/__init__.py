"""Plot layer: matplotlib only, pure functions ``f(data, *, ax=None) -> Axes``.

Every function is *draw-or-update* (see :mod:`vglib.plots.base`): the first call on an
``Axes`` creates artists tagged with a ``gid``, later calls move their data, so a live demo
redraws in milliseconds and a chapter calls the same function once. The shared plots and the
artist helpers live in :mod:`vglib.plots.base`; each chapter's plots in a module of its own.
Any public plot function can be reached from here by name (``plots.step_times``): each name is
defined in exactly one module of this package (a test holds that).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType

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
    "public_functions",
    "style",
]


def _modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    ]


def public_functions() -> dict[str, list[str]]:
    """Public function name -> the modules of this package that define it (one, if all is well)."""
    found: dict[str, list[str]] = {}
    for module in _modules():
        for name, value in vars(module).items():
            if (
                callable(value)
                and not name.startswith("_")
                and getattr(value, "__module__", "") == module.__name__
            ):
                found.setdefault(name, []).append(module.__name__)
    return found


def __getattr__(name: str) -> Callable:
    owners = public_functions().get(name)
    if not owners:
        raise AttributeError(f"module 'vglib.plots' has no plot function {name!r}")
    return getattr(importlib.import_module(owners[0]), name)
