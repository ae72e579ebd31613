"""Item analysis (``python -m vglib.classroom report``) on a class whose statistics are known.

Six students and four graded cells, written straight into a real nbgrader gradebook (through
its API) and into autograded notebooks, with no kernel: a multiple-choice question (key B),
a coding test worth 2 points, an open answer graded by hand out of 4, and a test everyone
passed. The expected difficulty, discrimination, letter counts and failures are worked out
by hand below, independently of the code under test.
"""

from __future__ import annotations

import csv
import math
import os
import re
import statistics
import sys
from pathlib import Path

import nbformat
import pytest

from vglib import classroom
from vglib.grading import answer_digest
from vglib.item_analysis import analyze, point_biserial

ASSIGNMENT = "synth"
ASSERT_F = "AssertionError: f(0) should be 1"
NAME_F = "NameError: name 'f' is not defined"

#: student: (answer to q1, q1 points, test_f points, open-answer points)
CLASS = {
    "ann": ('"B"', 1, 2, 4),
    "ben": ("'B'", 1, 2, 2),
    "cat": ('"C"', 0, 2, 3),
    "dan": ('"c"', 0, 0, 1),
    "eve": ('" a "', 0, 0, 0),
    "fay": ('""', 0, 0, 2),
}
FAILURES = {"dan": ASSERT_F, "eve": ASSERT_F, "fay": NAME_F}


def _cell(source: str, grade_id: str, *, cell_type: str = "code", **meta):
    make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, **meta}
    return cell


def _error(message: str) -> dict:
    ename, _, evalue = message.partition(": ")
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[message])


def _autograded(student: str) -> nbformat.NotebookNode:
    answer = CLASS[student][0]
    digest = answer_digest(ASSIGNMENT, "q1", "B")
    check = _cell(
        f'from vglib.grading import check_answer\ncheck_answer("synth", "q1", q1, "{digest}")',
        "test_q1",
        grade=True,
        points=1,
    )
    if CLASS[student][1] == 0:
        check.outputs = [_error("AssertionError: q1: the expected answer is another letter")]
    test_f = _cell("assert f(0) == 1, 'f(0) should be 1'", "test_f", grade=True, points=2)
    if student in FAILURES:
        test_f.outputs = [_error(FAILURES[student])]
    cells = [
        _cell(f"q1 = {answer}", "answer_q1", solution=True),
        check,
        _cell("def f(x):\n    return 1" if student != "fay" else "g = 1", "f", solution=True),
        test_f,
        _cell("Because...", "open", cell_type="markdown", solution=True, grade=True, points=4),
        _cell("assert True", "test_g", grade=True, points=1),
    ]
    return nbformat.v4.new_notebook(cells=cells)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("reports") / "course"
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "synth"\n'
    )
    nbformat.write(_autograded("ann"), root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    bindir = str(Path(sys.executable).parent)  # nbgrader runs alembic from the PATH
    os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    cells = {
        "test_q1": (1, "code"),
        "test_f": (2, "code"),
        "open": (4, "markdown"),
        "test_g": (1, "code"),
    }
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(ASSIGNMENT, ASSIGNMENT)
        for name, (points, cell_type) in cells.items():
            gb.add_grade_cell(name, ASSIGNMENT, ASSIGNMENT, max_score=points, cell_type=cell_type)
        for student, (_, q1, f, open_answer) in CLASS.items():
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
            scores = {"test_q1": q1, "test_f": f, "open": None, "test_g": 1}
            for name, score in scores.items():
                grade = gb.find_grade(name, ASSIGNMENT, ASSIGNMENT, student)
                grade.auto_score = score
                if name == "open":
                    grade.manual_score = open_answer
            gb.db.commit()
    for student in CLASS:
        folder = root / "autograded" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_autograded(student), folder / f"{ASSIGNMENT}.ipynb")
    return root


@pytest.fixture(scope="module")
def items(course):
    found = analyze(
        f"sqlite:///{course / 'gradebook.db'}",
        ASSIGNMENT,
        lambda student, nb: course / "autograded" / student / ASSIGNMENT / f"{nb}.ipynb",
    )
    return {item.cell: item for item in found}


def _point_biserial_by_hand(passed: list[bool], rest: list[float]) -> float:
    """(M1 - M0) / s * sqrt(p q), with s the population standard deviation of the rest."""
    m1 = statistics.mean(r for ok, r in zip(passed, rest, strict=True) if ok)
    m0 = statistics.mean(r for ok, r in zip(passed, rest, strict=True) if not ok)
    p = sum(passed) / len(passed)
    return (m1 - m0) / statistics.pstdev(rest) * math.sqrt(p * (1 - p))


def test_cells_come_in_notebook_order_with_their_kinds(items):
    assert list(items) == ["test_q1", "test_f", "open", "test_g"]
    kinds = {name: item.kind for name, item in items.items()}
    assert kinds == {
        "test_q1": "multiple choice",
        "test_f": "coding test",
        "open": "open answer",
        "test_g": "coding test",
    }


def test_difficulty_is_the_mean_share_of_points(items):
    assert items["test_q1"].difficulty == pytest.approx(2 / 6)
    assert items["test_f"].difficulty == pytest.approx(6 / 12)
    assert items["open"].difficulty == pytest.approx(12 / 24)  # the manual grades count
    assert items["test_g"].difficulty == 1.0


def test_discrimination_is_the_correlation_with_the_rest_of_the_score(items):
    students = sorted(CLASS)
    total = {s: CLASS[s][1] + CLASS[s][2] + CLASS[s][3] + 1 for s in students}
    # q1: right for ann and ben; the rest (test_f + open + test_g) is 7 5 6 2 1 3
    rest_q1 = [total[s] - CLASS[s][1] for s in students]
    assert rest_q1 == [7, 5, 6, 2, 1, 3]
    expected_q1 = _point_biserial_by_hand([CLASS[s][1] == 1 for s in students], rest_q1)
    assert expected_q1 == pytest.approx(0.6547, abs=1e-4)
    assert items["test_q1"].discrimination == pytest.approx(expected_q1)
    rest_f = [total[s] - CLASS[s][2] for s in students]
    expected_f = _point_biserial_by_hand([CLASS[s][2] == 2 for s in students], rest_f)
    assert items["test_f"].discrimination == pytest.approx(expected_f)
    # partial credit: the plain Pearson correlation with the rest
    open_scores = [CLASS[s][3] for s in students]
    rest_open = [total[s] - CLASS[s][3] for s in students]
    expected_open = statistics.correlation(open_scores, rest_open)
    assert items["open"].discrimination == pytest.approx(expected_open)
    # everyone passed test_g: no spread, no correlation
    assert items["test_g"].discrimination is None
    assert point_biserial([1, 1], [3, 4]) is None


def test_letters_chosen_and_the_distractor_that_drew_most(items):
    q1 = items["test_q1"]
    assert (q1.question, q1.key) == ("q1", "B")
    # "c" counts as C, " a " as A, "" as blank
    assert q1.choices == {"A": 1, "B": 2, "C": 2, "D": 0, "blank": 1}
    assert q1.top_distractor == ("C", 2)


def test_failures_of_coding_tests_and_their_most_common_message(items):
    assert items["test_f"].failed == 3
    assert items["test_f"].top_failure == (ASSERT_F, 2)
    assert items["test_g"].failed == 0 and items["test_g"].top_failure == ("", 0)


def test_the_command_writes_the_csv_and_a_self_contained_page(course, capsys):
    assert classroom.main(["--course-dir", str(course), "report", ASSIGNMENT]) == 0
    printed = capsys.readouterr().out
    assert "most chosen distractor C (2)" in printed and ASSERT_F in printed
    with open(course / "reports" / f"{ASSIGNMENT}-items.csv", newline="") as f:
        rows = {row["cell"]: row for row in csv.DictReader(f)}
    assert rows["test_q1"]["difficulty"] == "0.333"
    assert (rows["test_q1"]["top_distractor"], rows["test_q1"]["C"]) == ("C", "2")
    assert rows["test_f"]["failed"] == "3" and rows["test_f"]["top_failure"] == ASSERT_F
    assert rows["test_g"]["discrimination"] == "" and rows["test_g"]["flags"] == "easy"
    page = (course / "reports" / f"{ASSIGNMENT}-items.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3  # scatter, letters, failures
    # self-contained: nothing loaded from elsewhere (the SVGs only point into themselves)
    external = r"<(script|link|img|iframe)\b|\b(src|href)=[\"'](?!#)|url\((?!#)|@import"
    assert not re.search(external, page)
    assert "f(0) should be 1" in page
