"""ExecuteSurvivingDeadKernel: one real kernel, killed by the second cell of a tiny notebook."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_markdown_cell

from vglib.nbgrader_preprocessors import ExecuteSurvivingDeadKernel

from .notebooks import grade_cell, notebook, plain_cell, solution_cell


@pytest.mark.slow
def test_a_dead_kernel_fails_its_cell_and_the_later_ones_only(tmp_path):
    nb = notebook(
        plain_cell("x = 1\nprint(x)"),
        solution_cell("import os\nos._exit(1)", grade_id="crash"),
        new_markdown_cell("Later text."),
        grade_cell("assert x == 1", grade_id="test_x"),
    )
    preprocessor = ExecuteSurvivingDeadKernel(
        timeout=30, extra_arguments=["--HistoryManager.hist_file=:memory:"]
    )
    nb, _ = preprocessor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})

    before, crash, text, after = nb.cells
    assert [o.get("text") for o in before.outputs] == ["1\n"]
    assert crash.outputs[-1].ename == "KernelDied"
    assert "died while running this cell" in crash.outputs[-1].evalue
    assert text.source == "Later text." and "outputs" not in text
    (not_run,) = after.outputs
    assert (not_run.ename, not_run.evalue) == (
        "KernelDied",
        "not run: the kernel died in cell crash",
    )
    assert not_run.traceback == [f"KernelDied: {not_run.evalue}"]
