"""KeepStudentRun and ShowStudentRun: graders read the numbers the student's own run printed."""

from __future__ import annotations

import nbformat
from nbgrader.utils import determine_grade
from traitlets.config import Config

from vglib.nbgrader_preprocessors import STUDENT_RUN_KEY, KeepStudentRun, ShowStudentRun

from .notebooks import _nbgrader, grade_cell, notebook, plain_cell, stream


def experiment(outputs=()):
    """A locked, ungraded experiment cell, as the open questions' ``dilemma_experiment``."""
    cell = _nbgrader(plain_cell("print(timings())", outputs=outputs), "dilemma_experiment")
    return cell


def _grading_run(nb):
    """What execution does: every code cell's outputs replaced by the grading machine's."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [stream("stdout", "plain 1.26 ms/step\n")]


def test_the_student_s_numbers_survive_the_rerun_above_the_grading_run():
    nb = notebook(experiment([stream("stdout", "plain 1.56 ms/step\n")]))
    nb, _ = KeepStudentRun().preprocess(nb, {})
    assert nb.cells[0].outputs == []  # cleared as nbgrader's ClearOutput would
    # the sanitized notebook goes through a file between the two steps
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    _grading_run(nb)
    nb, _ = ShowStudentRun().preprocess(nb, {})
    texts = [out.text for out in nb.cells[0].outputs]
    assert texts[0].startswith("--- the student's own run")
    assert texts[1] == "plain 1.56 ms/step\n"
    assert texts[2].startswith("--- the grading run")
    assert texts[3] == "plain 1.26 ms/step\n"
    assert STUDENT_RUN_KEY not in nb.cells[0].metadata
    nbformat.validate(nb)


def test_a_cell_the_student_never_ran_says_so():
    nb, _ = KeepStudentRun().preprocess(notebook(experiment()), {})
    _grading_run(nb)
    nb, _ = ShowStudentRun().preprocess(nb, {})
    assert "has no output of this cell" in nb.cells[0].outputs[1].text
    assert nb.cells[0].outputs[-1].text == "plain 1.26 ms/step\n"


def test_other_cells_and_graded_cells_are_cleared_and_rerun():
    """A test's score must come from the grading run, whatever its grade_id."""
    passed = stream("stdout", "ok\n")
    test = grade_cell("check()", grade_id="dilemma_experiment", points=1.0, outputs=[passed])
    other = plain_cell("print(1)", outputs=[stream("stdout", "1\n")])
    nb, _ = KeepStudentRun().preprocess(notebook(test, other), {})
    assert all(cell.outputs == [] and STUDENT_RUN_KEY not in cell.metadata for cell in nb.cells)
    test.outputs = []
    ShowStudentRun().preprocess(nb, {})
    assert determine_grade(test) == (1.0, 1.0) and test.outputs == []


def test_the_kept_cells_are_configurable():
    config = Config()
    config.KeepStudentRun.grade_ids = ["timing"]
    cell = _nbgrader(plain_cell("t()", outputs=[stream("stdout", "3 ms\n")]), "timing")
    nb, _ = KeepStudentRun(config=config).preprocess(notebook(cell, experiment()), {})
    assert STUDENT_RUN_KEY in nb.cells[0].metadata
    assert STUDENT_RUN_KEY not in nb.cells[1].metadata
