"""ClearSolutionsKeepStub: regions marked ``(no stub)`` vanish, the others get nbgrader's stub."""

from __future__ import annotations

import nbformat
import pytest
from traitlets.config import Config

from vglib.nbgrader_preprocessors import ClearSolutionsKeepStub

from .notebooks import grade_cell, notebook, plain_cell, solution_cell

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
MULTIPLE_CHOICE = 'q1 = ""\n### BEGIN SOLUTION (no stub)\nq1 = "B"\n### END SOLUTION'
FUNCTION = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"


@pytest.fixture
def preprocessor():
    return ClearSolutionsKeepStub()


def release(preprocessor, *cells):
    nb, _ = preprocessor.preprocess(notebook(*cells), {})
    return nb


def test_a_no_stub_region_is_removed_with_its_delimiters(preprocessor):
    nb = release(preprocessor, solution_cell(MULTIPLE_CHOICE))
    assert nb.cells[0].source == 'q1 = ""'
    assert '"B"' not in nbformat.writes(nb)


def test_an_ordinary_region_still_gets_the_indented_stub(preprocessor):
    nb = release(preprocessor, solution_cell(FUNCTION))
    assert nb.cells[0].source == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )


def test_both_kinds_of_region_in_one_cell(preprocessor):
    source = f"{MULTIPLE_CHOICE}\n{FUNCTION}"
    nb = release(preprocessor, solution_cell(source))
    assert nb.cells[0].source == (
        'q1 = ""\ndef f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    )


def test_a_cell_that_is_only_a_no_stub_region_is_left_empty(preprocessor):
    """Removing the region counts as replacing one: the whole cell does not become a stub."""
    nb = release(
        preprocessor, solution_cell("### BEGIN SOLUTION (no stub)\nq1 = 'B'\n### END SOLUTION")
    )
    assert nb.cells[0].source == ""


def test_a_solution_cell_without_regions_becomes_the_stub(preprocessor):
    nb = release(preprocessor, solution_cell("x = 42"))
    assert nb.cells[0].source == STUB


def test_text_regions_get_the_text_stub(preprocessor):
    cell = solution_cell(
        "Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", cell_type="markdown"
    )
    nb = release(preprocessor, cell)
    assert nb.cells[0].source == "Why?\nYOUR ANSWER HERE"


def test_cells_outside_solutions_are_untouched(preprocessor):
    test = grade_cell('assert q1 in "ABCD"')
    nb = release(preprocessor, plain_cell("import torch"), test)
    assert [c.source for c in nb.cells] == ["import torch", 'assert q1 in "ABCD"']


def test_a_no_stub_region_outside_a_solution_cell_is_an_error(preprocessor):
    with pytest.raises(RuntimeError, match="non-solution cell"):
        release(preprocessor, plain_cell(MULTIPLE_CHOICE))


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION (no stub)\nq1 = 'B'", "no end solution"),
        ("### BEGIN SOLUTION (no stub)\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
    ],
    ids=["no end", "nested"],
)
def test_malformed_no_stub_regions_raise(preprocessor, source, message):
    with pytest.raises(RuntimeError, match=message):
        release(preprocessor, solution_cell(source))


def test_marker_and_clear_solutions_settings_come_from_the_config():
    """The course config sets ``ClearSolutions.code_stub``; the subclass must obey it."""
    config = Config()
    config.ClearSolutions.code_stub = {"python": "raise NotImplementedError('yours')"}
    config.ClearSolutionsKeepStub.no_stub_marker = "[blank]"
    preprocessor = ClearSolutionsKeepStub(config=config)
    source = f"q1 = ''\n### BEGIN SOLUTION [blank]\nq1 = 'B'\n### END SOLUTION\n{FUNCTION}"
    nb = release(preprocessor, solution_cell(source))
    assert nb.cells[0].source == "q1 = ''\ndef f(x):\n    raise NotImplementedError('yours')"
