"""Every notebook page executes in a real kernel, in live mode (widgets are created)."""

from __future__ import annotations

import time

import jupytext
import pytest
from book_pages import ROOT, notebook_pages
from nbclient import NotebookClient

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.mark.slow
@pytest.mark.parametrize("path", notebook_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_executes_live(path, monkeypatch):
    monkeypatch.delenv("VGLIB_BOOK", raising=False)
    nb = jupytext.read(path)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    elapsed = time.perf_counter() - start
    print(f"{path.relative_to(ROOT)} executed in {elapsed:.1f} s")
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors
    shows = [c for c in nb.cells if c.cell_type == "code" and ".show(" in c.source]
    for cell in shows:  # a demo shown in a live kernel is a widget, with static HTML beside it
        mimes = {m for o in cell.outputs for m in o.get("data", {})}
        assert {WIDGET, "text/html"} <= mimes, f"demo cell without widget: {cell.source[:60]}"
