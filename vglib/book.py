"""Sphinx extension used by the book's ``_config.yml``.

* It marks the build as a book build before any notebook is executed; the kernels that
  execute the chapters inherit the variable (see :func:`vglib._env.book_mode`), so demos
  precompute their static grids.
* It drops duplicate ``<script>`` entries from every page. sphinx-thebe registers its inline
  configuration script after the builder is initialised, and Sphinx 7.4 then emits it twice;
  the second ``const THEBE_JS_URL`` throws in the browser ("already been declared").
* It gives bibliography entries the ARIA role ``listitem``. Sphinx marks them up as
  ``role="doc-biblioentry"`` inside a ``role="list"`` container; that role is deprecated, and
  axe-core then reports the list's children as not allowed (a critical violation).
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


def _fix_bibliography_roles(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app: Any) -> dict[str, Any]:
    os.environ[BOOK_ENV] = "1"
    app.connect("html-page-context", _drop_duplicate_scripts)
    app.connect("html-page-context", _fix_bibliography_roles)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
