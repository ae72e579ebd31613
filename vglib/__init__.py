"""vglib: the code behind every demo of the course on vanishing and exploding gradients.

The package has four layers, and data flows one way (core <- studies <- demos, plots beside):

* :mod:`vglib.core` -- torch and numpy only: the concepts every chapter shares (models, the
  activation table, the training loop, gradient measurement, theory, data).
* :mod:`vglib.studies` -- torch and numpy only: each chapter's experiments, one module each.
* :mod:`vglib.plots` -- matplotlib only: pure functions ``f(data, *, ax=None) -> Axes``.
* :mod:`vglib.demos` -- parameters -> study -> plot, shown live (ipywidgets), static
  (HTML for the rendered book) or as a plain figure.

Importing :mod:`vglib` itself imports none of them; each is loaded on first use, so
``import vglib.core`` never pulls in matplotlib or ipywidgets.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__version__ = "0.1.0"
__all__ = ["claims", "core", "demos", "plots", "studies"]


def __getattr__(name: str) -> ModuleType:
    if name in __all__:
        return importlib.import_module(f"vglib.{name}")
    raise AttributeError(f"module 'vglib' has no attribute {name!r}")
