"""ShortTestTracebacks: an error in a test cell keeps one line, other cells keep theirs."""

from __future__ import annotations

import pytest

from vglib.nbgrader_preprocessors import ShortTestTracebacks

from .notebooks import error, grade_cell, notebook, plain_cell, solution_cell, stream


@pytest.fixture
def preprocessor():
    return ShortTestTracebacks()


def test_an_error_in_a_test_cell_keeps_only_its_last_line(preprocessor):
    cell = grade_cell('assert q1 == "B"', outputs=[stream("stdout", "checking\n"), error()])
    nb, _ = preprocessor.preprocess(notebook(cell), {})
    out = nb.cells[0].outputs
    assert out[1].traceback == ["AssertionError: q1: expected B"]
    assert (out[1].ename, out[1].evalue) == ("AssertionError", "q1: expected B")
    assert out[0] == stream("stdout", "checking\n")
    assert "hidden test" not in str(nb)


def test_every_error_of_a_test_cell_is_shortened(preprocessor):
    cell = grade_cell("check()", outputs=[error("ValueError", "bad"), error()])
    nb, _ = preprocessor.preprocess(notebook(cell), {})
    assert [o.traceback for o in nb.cells[0].outputs] == [
        ["ValueError: bad"],
        ["AssertionError: q1: expected B"],
    ]


@pytest.mark.parametrize("make", [plain_cell, solution_cell], ids=["plain", "solution"])
def test_errors_outside_test_cells_keep_their_traceback(preprocessor, make):
    cell = make("1 / 0")
    cell.outputs = [error("ZeroDivisionError", "division by zero")]
    full = list(cell.outputs[0].traceback)
    nb, _ = preprocessor.preprocess(notebook(cell), {})
    assert nb.cells[0].outputs[0].traceback == full


def test_a_passing_test_cell_is_unchanged(preprocessor):
    cell = grade_cell("assert True", outputs=[stream("stdout", "ok\n")])
    before = cell.copy()
    nb, _ = preprocessor.preprocess(notebook(cell), {})
    assert nb.cells[0] == before
