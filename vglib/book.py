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
* It points the Colab launch button at a notebook Colab can open. The theme links Colab to
  the page's source in the repository, which for a chapter is MyST markdown (``.md``), a
  format Colab cannot read. The theme also copies the executed notebook of each page to
  ``_sources/<page>.ipynb`` in the built site; this extension puts a first cell in that
  copy which installs ``vglib`` when it runs on Colab, and links the button to the copy on
  the branch the site is published from (``vglib_pages_branch``, default ``gh-pages``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
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


#: The first cell of every notebook a reader opens on Colab.
COLAB_SETUP = """\
# On Colab only: install the course package. --no-deps keeps Colab's own torch, numpy,
# matplotlib and ipywidgets (the course pins a CPU build of torch that Colab does not need).
import sys

if "google.colab" in sys.modules:
    %pip install --quiet --no-deps "vglib @ git+{repository}"
"""


def _launch_group(context: dict) -> list[dict]:
    for button in context.get("header_buttons", []):
        if button.get("label") == "launch-buttons":
            return button.get("buttons", [])
    return []


def _colab_notebook(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    colab = next((b for b in _launch_group(context) if b.get("text") == "Colab"), None)
    if colab is None or not str(context.get("sourcename", "")).endswith((".md", ".md.txt")):
        return
    copy = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    if not copy.exists():
        return
    repository = app.config.html_theme_options.get("repository_url", "").rstrip("/")
    nb = json.loads(copy.read_text(encoding="utf-8"))
    cells = nb.setdefault("cells", [])
    if not (cells and cells[0].get("metadata", {}).get("vglib") == "colab-setup"):
        source = COLAB_SETUP.format(repository=repository)
        cells.insert(
            0,
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "vglib-colab-setup",
                "metadata": {"vglib": "colab-setup"},
                "outputs": [],
                "source": source.splitlines(keepends=True),
            },
        )
        copy.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
    branch = app.config.vglib_pages_branch
    org_repo = repository.removeprefix("https://github.com/")
    colab["url"] = (
        f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/_sources/"
        f"{pagename}.ipynb"
    )


def setup(app: Any) -> dict[str, Any]:
    os.environ[BOOK_ENV] = "1"
    app.add_config_value("vglib_pages_branch", "gh-pages", "html")
    app.connect("html-page-context", _drop_duplicate_scripts)
    app.connect("html-page-context", _fix_bibliography_roles)
    # after the theme's launch buttons (priority 501), which copy the notebook to _sources/
    app.connect("html-page-context", _colab_notebook, priority=600)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
