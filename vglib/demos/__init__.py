"""Demo layer: one declaration per idea (parameters -> study -> plot) and the binding that shows it.

A chapter shows a demo with one call, e.g. ``demos.gradient_flow_lab.show()``. Every
:class:`Demo` declared at the top level of a module of this package is found by
:func:`all_demos` (tests and benchmarks use it; there is no hand-kept list), and any of them
can be imported from here by name: ``from vglib.demos import whisper_chain``.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from vglib.demos.core import Choice, Demo, DemoView, LivePanel, Slider, render_png

__all__ = ["Choice", "Demo", "DemoView", "LivePanel", "Slider", "all_demos", "render_png"]


def _modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if info.name != "core" and not info.name.startswith("_")
    ]


def all_demos() -> tuple[Demo, ...]:
    """Every demo declared in this package, sorted by name."""
    found = {
        value.name: value
        for module in _modules()
        for value in vars(module).values()
        if isinstance(value, Demo)
    }
    return tuple(found[name] for name in sorted(found))


def __getattr__(name: str) -> Demo:
    for demo in all_demos():
        if demo.name == name:
            return demo
    raise AttributeError(f"module 'vglib.demos' has no demo {name!r}")
