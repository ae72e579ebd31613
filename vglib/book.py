"""Sphinx extension used by the book's ``_config.yml``.

* It marks the build as a book build before any notebook is executed; the kernels that
  execute the chapters inherit the variable (see :func:`vglib._env.book_mode`), so demos
  precompute their static grids.
* It drops duplicate ``<script>`` entries from every page. sphinx-thebe registers its inline
  configuration script after the builder is initialised, and Sphinx 7.4 then emits it twice;
  the second ``const THEBE_JS_URL`` throws in the browser ("already been declared").
"""

from __future__ import annotations

import os
from typing import Any

from vglib._env import BOOK_ENV


def _script_key(script: Any) -> tuple:
    attributes = getattr(script, "attributes", {})
    return (str(getattr(script, "filename", script) or ""), *sorted(attributes.items()))


def _drop_duplicate_scripts(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    scripts = context.get("script_files")
    if scripts:
        unique = {}
        for script in scripts:
            unique.setdefault(_script_key(script), script)  # keeps the first of equal entries
        context["script_files"] = list(unique.values())


def setup(app: Any) -> dict[str, Any]:
    os.environ[BOOK_ENV] = "1"
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
