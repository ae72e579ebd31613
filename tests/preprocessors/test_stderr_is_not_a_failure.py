"""StderrIsNotAFailure: stderr is kept, marked, and no longer costs a test its points."""

from __future__ import annotations

import pytest
from nbgrader.utils import determine_grade
from traitlets.config import Config

from vglib.nbgrader_preprocessors import StderrIsNotAFailure

from .notebooks import error, grade_cell, notebook, plain_cell, stream

WARNING = "UserWarning: Full backward hook is firing\n  warnings.warn(\n"


@pytest.fixture
def preprocessor():
    return StderrIsNotAFailure()


def test_stderr_becomes_marked_stdout(preprocessor):
    cell = plain_cell("f()", outputs=[stream("stderr", WARNING)])
    nb, _ = preprocessor.preprocess(notebook(cell), {})
    (out,) = nb.cells[0].outputs
    assert out.name == "stdout"
    assert (
        out.text
        == "[stderr] UserWarning: Full backward hook is firing\n[stderr]   warnings.warn(\n"
    )


def test_a_passing_test_that_warned_keeps_its_points(preprocessor):
    cell = grade_cell("check(f)", points=2.0, outputs=[stream("stderr", WARNING)])
    assert determine_grade(cell) == (0, 2.0)  # what nbgrader would give without the class
    preprocessor.preprocess(notebook(cell), {})
    assert determine_grade(cell) == (2.0, 2.0)


def test_a_test_that_raised_still_fails(preprocessor):
    cell = grade_cell("check(f)", points=2.0, outputs=[stream("stderr", WARNING), error()])
    preprocessor.preprocess(notebook(cell), {})
    assert determine_grade(cell) == (0, 2.0)
    assert cell.outputs[1].output_type == "error"


def test_stdout_and_a_text_without_final_newline(preprocessor):
    cell = plain_cell("f()", outputs=[stream("stdout", "1\n"), stream("stderr", "a\nb")])
    nb, _ = preprocessor.preprocess(notebook(cell), {})
    assert [o.text for o in nb.cells[0].outputs] == ["1\n", "[stderr] a\n[stderr] b"]


def test_the_marker_is_configurable():
    config = Config()
    config.StderrIsNotAFailure.marker = "! "
    cell = plain_cell("f()", outputs=[stream("stderr", "careful\n")])
    StderrIsNotAFailure(config=config).preprocess(notebook(cell), {})
    assert cell.outputs[0].text == "! careful\n"
