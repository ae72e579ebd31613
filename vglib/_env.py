"""How vglib learns where it runs. Pure Python, no third-party imports."""

from __future__ import annotations

import os

#: Set to "1" while the book is built (the ``vglib.book`` Sphinx extension sets it, and kernels
#: started by the build inherit it). Demos then precompute their full static grids and
#: progress bars stay silent, so the rendered pages carry no progress-bar debris.
BOOK_ENV = "VGLIB_BOOK"


def book_mode() -> bool:
    """True while the book is being built."""
    return os.environ.get(BOOK_ENV, "") == "1"
