"""Sphinx extension used by the book's ``_config.yml``.

It marks the build as a book build before any notebook is executed; the kernels that
execute the chapters inherit the variable (see :func:`vglib._env.book_mode`).
"""

from __future__ import annotations

import os
from typing import Any

from vglib._env import BOOK_ENV


def setup(app: Any) -> dict[str, Any]:
    os.environ[BOOK_ENV] = "1"
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
