"""A class of broken submissions, autograded for real by ``python -m vglib.classroom``.

Nine students submit ``saturating_activations``: a solved notebook, an untouched one, a
wrong one, one with an infinite loop, one whose cell kills the kernel, one with an edited
and a deleted test cell, one that is not valid JSON, one under the wrong file name and a
late one. In one autograde run each gets a clear outcome in the summary table, the
gradebook and the feedback, and every other student is graded normally. A grader then
enters a manual grade, the class is autograded again, and nothing changes or is lost.
Both runs grade on two worker processes (``--jobs 2``); a copy of the class graded in one
process (``--jobs 1``) must come out the same: scores, outcome rows and feedback pages.

The per-cell time limit is the config's mechanism (nbgrader's ``Execute.timeout`` with
``interrupt_on_timeout``) at 30 s instead of the config's 60 s, to keep the suite short;
``test_config_sets_a_per_cell_timeout`` checks the configured value.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from leaks import find_leaks, secret_snippets
from nbgrader_course import (
    NBGRADER,
    ROOT,
    copy_course,
    course_env,
    nbgrader_meta,
    points,
    run_nbgrader,
    solved_notebook,
    source_notebook,
)

ASSIGNMENT = "saturating_activations"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
DUE = "2026-11-25 12:00:00 UTC"
ON_TIME = "2026-11-20 12:00:00.000000 UTC"
LATE = "2026-11-30 12:00:00.000000 UTC"
TIMEOUT = 30


def _cell(nb, grade_id):
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def _class(source: Path, release: Path) -> dict[str, dict]:
    """Each student's submission: the notebook (or raw text), its file name, its timestamp."""
    subs: dict[str, dict] = {}

    def solved():
        return solved_notebook(source, release)

    subs["alice"] = {"nb": solved()}
    subs["bob"] = {"nb": nbformat.read(release, as_version=4)}
    wrong = solved()
    _cell(wrong, "sigmoid_prime").source = "def sigmoid_prime(z):\n    return torch.sigmoid(z)"
    _cell(wrong, "answer_q1").source = 'q1 = "A"'
    subs["carol"] = {"nb": wrong}
    loop = solved()
    _cell(loop, "tanh_prime").source = "while True:\n    pass"
    subs["dave"] = {"nb": loop}
    crash = solved()
    _cell(crash, "ratios").source = "import os\nos._exit(1)"
    subs["erin"] = {"nb": crash}
    edited = solved()
    _cell(edited, "test_sigmoid_prime").source = "pass  # I removed the tests"
    edited.cells = [c for c in edited.cells if nbgrader_meta(c).get("grade_id") != "test_q2"]
    subs["frank"] = {"nb": edited}
    subs["grace"] = {"text": '{"cells": [ this is not json'}
    subs["heidi"] = {"nb": solved(), "name": f"{ASSIGNMENT} (1).ipynb"}
    subs["ivan"] = {"nb": solved(), "timestamp": LATE}
    return subs


def _submit(course_dir: Path, student: str, sub: dict) -> None:
    """Put a submission where ``nbgrader collect`` puts it (the exchange is tested elsewhere)."""
    folder = course_dir / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    path = folder / sub.get("name", NOTEBOOK)
    if "nb" in sub:
        nbformat.write(sub["nb"], path)
    else:
        path.write_text(sub["text"], encoding="utf-8")
    (folder / "timestamp.txt").write_text(sub.get("timestamp", ON_TIME))


def _classroom(course_dir: Path, env: dict[str, str], jobs: int) -> str:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vglib.classroom",
            "autograde",
            ASSIGNMENT,
            "--timeout",
            str(TIMEOUT),
            "--jobs",
            str(jobs),
        ],
        cwd=course_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert proc.returncode == 0, f"vglib.classroom failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return proc.stdout


def _report(course_dir: Path) -> dict[str, dict[str, str]]:
    with open(course_dir / "reports" / f"{ASSIGNMENT}.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def _grades(course_dir: Path, env) -> dict[str, dict[str, str]]:
    run_nbgrader("export", cwd=course_dir, env=env)
    with open(course_dir / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


#: What differs between two gradings of the same submission however they are run: nbgrader's
#: timestamps; where the kernel's stdout was cut into separate output chunks (timing); the
#: random id nbformat gives a cell put back after a student deleted it; and whether a cell
#: that killed its kernel got an execution count before it died.
_RUN_TO_RUN = (
    (r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?( ?[A-Z]{3}|[+-]\d\d:?\d\d)?", "<time>"),
    (
        r'\n?</pre>\s*</div>\s*</div>\s*<div class="output_area">\s*<div class="prompt"></div>\s*'
        r'<div class="output_subarea output_stream output_std(out|err) output_text">\s*<pre>',
        "\n",
    ),
    (r'id="cell-id=[^"]*"', 'id="cell-id"'),
    (r"In(&nbsp;|\s)\[(&nbsp;|\s|\d)*\]:", "In [ ]:"),
    (r"\n+", "\n"),
)


def _feedback(course_dir: Path) -> dict[str, str]:
    """Each student's feedback page, without what differs from run to run (``_RUN_TO_RUN``)."""
    pages = {}
    for page in sorted((course_dir / "feedback").glob(f"*/{ASSIGNMENT}/*.html")):
        text = page.read_text(encoding="utf-8")
        for pattern, replacement in _RUN_TO_RUN:
            text = re.sub(pattern, replacement, text)
        pages[page.parts[-3]] = text
    return pages


def _new_class(base: Path) -> tuple[Path, dict[str, str], dict[str, dict]]:
    """The course with the class's submissions in ``submitted/``, not graded yet."""
    if not NBGRADER.exists():
        pytest.skip(f"nbgrader is not installed next to {NBGRADER.parent}")
    course_dir = copy_course(base / "exercises", (ASSIGNMENT,))
    env = course_env(base / "home", base / "exchange")
    run_nbgrader("generate_assignment", ASSIGNMENT, cwd=course_dir, env=env)
    run_nbgrader("db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}", cwd=course_dir, env=env)
    release = course_dir / "release" / ASSIGNMENT / NOTEBOOK
    subs = _class(source_notebook(ASSIGNMENT), release)
    for student, sub in subs.items():
        _submit(course_dir, student, sub)
    return course_dir, env, subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course_dir, env, subs = _new_class(tmp_path_factory.mktemp("classroom"))
    first = _classroom(course_dir, env, jobs=2)
    first_report, first_grades = _report(course_dir), _grades(course_dir, env)
    first_feedback = _feedback(course_dir)

    # a grader gives alice's open answer 3 points in the formgrader
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        grade = gb.find_grade(
            "dilemma_answer", NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, "alice"
        )
        grade.manual_score = 3.0
        gb.db.commit()

    second = _classroom(course_dir, env, jobs=2)
    return {
        "dir": course_dir,
        "subs": subs,
        "output": (first, second),
        "reports": (first_report, _report(course_dir)),
        "grades": (first_grades, _grades(course_dir, env)),
        "feedback": (first_feedback, _feedback(course_dir)),
    }


@pytest.fixture(scope="module")
def graded_in_one_process(tmp_path_factory):
    """The same class graded with ``--jobs 1``."""
    course_dir, env, _ = _new_class(tmp_path_factory.mktemp("classroom-serial"))
    _classroom(course_dir, env, jobs=1)
    return {
        "report": _report(course_dir),
        "grades": _grades(course_dir, env),
        "feedback": _feedback(course_dir),
    }


def test_a_dying_worker_costs_only_its_own_student(tmp_path):
    from dying_worker import dies_on_mallory

    from vglib.classroom import _grade_class

    class Bar:
        count = 0

        def update(self, n):
            self.count += n

    students = ["alice", "bob", "carol", "mallory", "oscar", "peggy"]
    bar = Bar()
    graded = _grade_class(tmp_path, ASSIGNMENT, students, None, 2, bar, dies_on_mallory)
    assert graded == {s: (None if s == "mallory" else True) for s in students}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(set(students) - {"mallory"})
    assert bar.count == len(students)


def test_config_sets_a_per_cell_timeout():
    text = (source_notebook(ASSIGNMENT).parents[2] / "nbgrader_config.py").read_text()
    assert "c.Execute.timeout = 60" in text


def test_classroom_rejects_an_unknown_assignment(tmp_path):
    course_dir = copy_course(tmp_path / "exercises", (ASSIGNMENT,))
    proc = subprocess.run(
        [sys.executable, "-m", "vglib.classroom", "autograde", "saturating_activation"],
        cwd=course_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "no assignment 'saturating_activation'" in proc.stderr
    assert "saturating_activations" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_every_student_gets_a_clear_outcome(graded):
    report = graded["reports"][0]
    assert set(report) == set(graded["subs"])
    auto, total = points(source_notebook(ASSIGNMENT))
    expected = {
        "alice": (auto, "graded", ""),
        "bob": (0, "graded", ""),
        "carol": (auto - 3, "graded", ""),  # sigmoid_prime (2 points) and q1 (1 point) wrong
        "dave": (auto - 2, "graded with problems", "ran out of time in tanh_prime"),
        "erin": (7, "graded with problems", "the kernel died in ratios"),
        "frank": (auto, "graded with problems", "deleted cells put back: test_q2"),
        "grace": (0, "not graded", "is not a readable notebook"),
        "heidi": (auto, "graded with problems", f"submitted as '{ASSIGNMENT} (1).ipynb'"),
        "ivan": (auto, "graded with problems", "submitted 5.0 days after the due date"),
    }
    for student, (score, status, note) in expected.items():
        row = report[student]
        assert (float(row["score"]), row["status"]) == (score, status), row
        assert note in row["notes"], row
        assert float(row["max_score"]) == total
    assert "edited locked cells restored: test_sigmoid_prime" in report["frank"]["notes"]
    # the table is printed too
    assert "grace" in graded["output"][0] and "not graded" in graded["output"][0]


@pytest.mark.slow
def test_the_gradebook_holds_every_student(graded):
    grades = graded["grades"][0]
    assert set(grades) == set(graded["subs"])
    for student, row in graded["reports"][0].items():
        assert float(grades[student]["raw_score"]) == float(row["score"]), student
    assert grades["ivan"]["timestamp"] > grades["ivan"]["duedate"]


@pytest.mark.slow
def test_feedback_states_the_outcome_and_leaks_nothing(graded):
    course_dir = graded["dir"]
    snippets = secret_snippets(source_notebook(ASSIGNMENT))
    for student, sub in graded["subs"].items():
        page = course_dir / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert page.exists(), f"no feedback for {student}"
        text = page.read_text(encoding="utf-8")
        assert text.count('class="vg-outcome"') == 1, student
        row = graded["reports"][1][student]
        if row["status"] == "not graded":
            assert "could not be graded automatically" in text
        else:
            # "Score: ..." without answers graded by hand, "Autograded score: ..." until they are
            assert f"core: {float(row['score']):g} of" in text, student
        submitted = sub["nb"] if "nb" in sub else None
        own = nbformat.writes(submitted) if submitted is not None else sub["text"]
        secret = [s for s in snippets if not find_leaks(own, [s])]
        assert find_leaks(text, secret) == [], f"{student}'s feedback leaks"


@pytest.mark.slow
def test_grading_twice_gives_the_same_grades_and_keeps_manual_ones(graded):
    first, second = graded["reports"]
    assert float(second["alice"]["score"]) == float(first["alice"]["score"]) + 3
    second["alice"]["score"] = first["alice"]["score"]
    assert first == second
    before, after = graded["grades"]
    for student in before:
        if student == "alice":
            assert float(after[student]["raw_score"]) == float(before[student]["raw_score"]) + 3
        else:
            assert after[student] == before[student], student


@pytest.mark.slow
def test_grading_in_parallel_gives_what_grading_in_one_process_gives(graded, graded_in_one_process):
    serial = graded_in_one_process
    assert graded["reports"][0] == serial["report"]
    assert graded["grades"][0] == serial["grades"]
    assert set(serial["feedback"]) == set(graded["subs"])
    for student, page in serial["feedback"].items():
        assert graded["feedback"][0][student] == page, f"{student}'s feedback differs"


@pytest.mark.slow
def test_grading_in_parallel_again_changes_only_the_manual_grade(graded):
    before, after = graded["feedback"]
    assert set(before) == set(after) == set(graded["subs"])
    for student in before:
        if student != "alice":
            assert after[student] == before[student], f"{student}'s feedback changed"


@pytest.mark.slow
def test_item_report_on_the_class(graded):
    from quiz_items import questions

    from vglib.classroom import main

    assert main(["--course-dir", str(graded["dir"]), "report", ASSIGNMENT]) == 0
    reports = graded["dir"] / "reports"
    with open(reports / f"{ASSIGNMENT}-items.csv", newline="") as f:
        rows = {row["cell"]: row for row in csv.DictReader(f)}
    source = nbformat.read(source_notebook(ASSIGNMENT), as_version=4)
    graded_cells = {
        nbgrader_meta(c)["grade_id"] for c in source.cells if nbgrader_meta(c).get("grade")
    }
    assert set(rows) == graded_cells
    by_question = {row["question"]: row for row in rows.values() if row["question"]}
    # eight autograded notebooks (grace's is not a notebook): bob left every letter blank,
    # carol answered q1 with "A", the others with the key
    for question in questions(ASSIGNMENT):
        row = by_question[question.name]
        assert row["key"] == question.key
        carol_is_right = question.name != "q1" or question.key == "A"
        assert int(row[question.key]) == 6 + carol_is_right, row
        assert row["blank"] == "1", row
        if not carol_is_right:
            assert (row["top_distractor"], row["top_distractor_students"]) == ("A", "1")
    failed = {cell: row for cell, row in rows.items() if row["kind"] == "coding test"}
    assert all(int(row["failed"]) >= 1 for row in failed.values())  # bob's blank fails all
    assert (reports / f"{ASSIGNMENT}-items.html").read_text().count("<svg") == 3
    # for a person to look at: the report on the fault-injected class
    artifacts = ROOT / "test-artifacts" / "reports"
    artifacts.mkdir(parents=True, exist_ok=True)
    for suffix in ("csv", "html"):
        shutil.copy(reports / f"{ASSIGNMENT}-items.{suffix}", artifacts)
