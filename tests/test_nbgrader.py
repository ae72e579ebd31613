"""The nbgrader course in exercises/, driven through nbgrader's real command line.

Everything runs in a temporary copy of exercises/ with a temporary exchange: the instructor
generates, validates and releases the assignment; two students fetch and submit it (alice
with every answer filled in from the source's solutions, bob untouched); the instructor
collects, autogrades, generates feedback and exports the grades. The expensive pipeline runs
once per module (the ``course`` fixture); the tests then inspect what it left behind.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from leaks import find_leaks, secret_snippets

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
COURSE_ID = "vanishing-gradients"
ASSIGNMENT = "saturating_activations"
NOTEBOOK_ID = ASSIGNMENT
NOTEBOOK = f"{NOTEBOOK_ID}.ipynb"
SOURCE_NB = EXERCISES / "source" / ASSIGNMENT / NOTEBOOK
STUDENTS = ("alice", "bob")

# nbgrader runs tools such as alembic from the PATH: the interpreter's own bin/ comes first.
BIN = Path(sys.executable).parent
NBGRADER = BIN / "nbgrader"

GENERATED = ("release", "submitted", "autograded", "feedback", "gradebook.db", "*.csv")


def _nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _env(home: Path, exchange: Path, user: str | None = None) -> dict[str, str]:
    """A clean environment: own HOME, no inherited Jupyter settings, the venv first on PATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "NBGRADER", "VG_EXCHANGE", "IPYTHON"))
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        VG_EXCHANGE=str(exchange),
        PYTHONUNBUFFERED="1",
    )
    if user is not None:
        env.update(USER=user, LOGNAME=user)
    return env


def run_nbgrader(*args: str, cwd: Path, env: dict[str, str]) -> str:
    """Run ``nbgrader *args`` and return its combined output; fail loudly on any problem."""
    proc = subprocess.run(
        [str(NBGRADER), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    command = "nbgrader " + " ".join(args)
    assert proc.returncode == 0, f"{command} exited with {proc.returncode}:\n{output[-6000:]}"
    # nbgrader logs a broken config file and carries on with its defaults: catch that here.
    assert "Exception while loading config file" not in output, (
        f"{command}: exercises/nbgrader_config.py failed to load:\n{output[-6000:]}"
    )
    return output


def _strip_solution_delimiters(source: str) -> str:
    return "\n".join(
        line
        for line in source.split("\n")
        if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line
    )


def solved_notebook(source_path: Path, release_path: Path) -> nbformat.NotebookNode:
    """The released notebook with every answer cell filled from the source's solution cell.

    Cells are matched by grade_id; the solution delimiters are dropped, everything else of
    the source cell (e.g. the ``q1 = ""`` stub line above a multiple-choice answer) is kept.
    """
    source = nbformat.read(source_path, as_version=4)
    solutions = {
        _nbgrader_meta(cell)["grade_id"]: cell.source
        for cell in source.cells
        if _nbgrader_meta(cell).get("solution")
    }
    release = nbformat.read(release_path, as_version=4)
    filled = set()
    for cell in release.cells:
        meta = _nbgrader_meta(cell)
        if meta.get("solution"):
            cell.source = _strip_solution_delimiters(solutions[meta["grade_id"]])
            filled.add(meta["grade_id"])
    assert filled == set(solutions), (
        f"answer cells missing from the release: {set(solutions) - filled}"
    )
    return release


@dataclass
class Course:
    """What the pipeline left behind."""

    base: Path
    course_dir: Path
    exchange: Path
    release_nb: Path
    validate_source: str
    validate_release: str
    submissions: dict[str, Path] = field(default_factory=dict)

    def autograded_nb(self, student: str) -> Path:
        return self.course_dir / "autograded" / student / ASSIGNMENT / NOTEBOOK

    def feedback_files(self, student: str) -> list[Path]:
        return sorted((self.course_dir / "feedback" / student / ASSIGNMENT).glob("*.html"))

    def grades(self) -> dict[str, dict[str, str]]:
        with open(self.course_dir / "grades.csv", newline="") as f:
            return {row["student_id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    if not NBGRADER.exists():
        pytest.skip(f"nbgrader is not installed next to {sys.executable}")
    base = tmp_path_factory.mktemp("nbgrader")
    course_dir = base / "exercises"
    shutil.copytree(EXERCISES, course_dir, ignore=shutil.ignore_patterns(*GENERATED))
    exchange = base / "exchange"
    exchange.mkdir()
    instructor = _env(base / "home" / "instructor", exchange)

    def instructor_run(*args: str) -> str:
        return run_nbgrader(*args, cwd=course_dir, env=instructor)

    instructor_run("generate_assignment", ASSIGNMENT)
    release_nb = course_dir / "release" / ASSIGNMENT / NOTEBOOK
    result = Course(
        base=base,
        course_dir=course_dir,
        exchange=exchange,
        release_nb=release_nb,
        validate_source=instructor_run(
            "validate", str(course_dir / "source" / ASSIGNMENT / NOTEBOOK)
        ),
        validate_release=instructor_run("validate", "--invert", str(release_nb)),
    )
    instructor_run("release_assignment", ASSIGNMENT)

    for student in STUDENTS:
        workdir = base / "students" / student
        workdir.mkdir(parents=True)
        env = _env(base / "home" / student, exchange, user=student)
        exchange_args = (f"--course={COURSE_ID}", f"--Exchange.root={exchange}")
        run_nbgrader("fetch_assignment", ASSIGNMENT, *exchange_args, cwd=workdir, env=env)
        fetched = workdir / ASSIGNMENT / NOTEBOOK
        assert fetched.read_bytes() == release_nb.read_bytes(), "fetched notebook != release"
        if student == "alice":
            nbformat.write(solved_notebook(SOURCE_NB, fetched), fetched)
        result.submissions[student] = fetched
        # nbgrader names submissions after the OS account (pwd), not $USER: say who submits.
        run_nbgrader(
            "submit", ASSIGNMENT, *exchange_args, f"--student={student}", cwd=workdir, env=env
        )

    instructor_run("collect", ASSIGNMENT)
    for student in STUDENTS:
        instructor_run("autograde", ASSIGNMENT, f"--student={student}")
    instructor_run("generate_feedback", ASSIGNMENT)
    instructor_run("export")
    return result


# --- the notebook and the helpers (fast) ------------------------------------------------------


def test_source_notebook_is_well_formed():
    nb = nbformat.read(SOURCE_NB, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    ids = [_nbgrader_meta(cell).get("grade_id") for cell in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), "every cell needs a unique grade_id"
    for cell in nb.cells:
        assert cell.get("outputs", []) == [], f"{_nbgrader_meta(cell)['grade_id']} has outputs"
    tests = [cell for cell in nb.cells if _nbgrader_meta(cell).get("grade")]
    assert all("assert" in cell.source for cell in tests if cell.cell_type == "code")
    hidden = [cell for cell in tests if "BEGIN HIDDEN TESTS" in cell.source]
    assert len(hidden) == sum(cell.cell_type == "code" for cell in tests), (
        "every autograded test cell should have hidden tests"
    )
    manual = [cell for cell in tests if cell.cell_type == "markdown"]
    assert [_nbgrader_meta(cell)["points"] for cell in manual] == [4]
    task = [cell for cell in nb.cells if _nbgrader_meta(cell).get("task")]
    assert len(task) == 1 and "BEGIN MARK SCHEME" in task[0].source


def test_secret_snippets_catch_the_source_itself():
    snippets = secret_snippets(SOURCE_NB)
    assert len(snippets) > 20
    for key in ('q1 = "B"', 'q2 = "C"', 'q3 = "C"', 'q4 = "B"', 'q5 = "B"'):
        assert key in snippets, f"the answer key {key} should be a secret snippet"
    kinds = {
        "solution": "return [grad.norm().item() for grad in grads]",
        "hidden test": "_expected = _reference(_net, _X, _y).weight_grad_norm",
        "mark scheme": "Rubric for graders (4 points; half points are fine).",
    }
    for kind, line in kinds.items():
        assert line in snippets, f"a {kind} line should be a secret snippet: {line}"
    assert not any("NotImplementedError" in snippet for snippet in snippets)
    # the leak test can fail: the source notebook leaks every snippet, as JSON and as HTML
    text = SOURCE_NB.read_text(encoding="utf-8")
    assert find_leaks(text, snippets) == snippets
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter().from_notebook_node(nbformat.read(SOURCE_NB, as_version=4))
    assert find_leaks(page, snippets) == snippets


def test_find_leaks_sees_through_rendering():
    snippets = ['q1 = "B"', "sigmoid_ratio = sigmoid_norms[0] / sigmoid_norms[-1]"]
    highlighted = (
        '<span class="n">q1</span><span class="w"> </span><span class="o">=</span>'
        '<span class="w"> </span><span class="s2">&quot;B&quot;</span>'
    )
    assert find_leaks(highlighted, snippets) == ['q1 = "B"']
    assert find_leaks('"source": ["q1 = \\"B\\"\\n"]', snippets) == ['q1 = "B"']
    coloured = "\x1b[32msigmoid_ratio\x1b[39m = sigmoid_norms[0]  /  sigmoid_norms[-1]"
    assert find_leaks(coloured, snippets) == [snippets[1]]
    assert find_leaks('q1 = ""  # "A", "B", "C" or "D"', snippets) == []


# --- the pipeline (slow) ----------------------------------------------------------------------


@pytest.mark.slow
def test_validate_source_passes_and_release_fails(course: Course):
    assert "Success! Your notebook passes all the tests." in course.validate_source, (
        course.validate_source
    )
    assert "Success! The notebook does not pass any tests." in course.validate_release, (
        course.validate_release
    )


@pytest.mark.slow
def test_release_has_stubs_and_no_outputs(course: Course):
    nb = nbformat.read(course.release_nb, as_version=4)
    for cell in nb.cells:
        meta = _nbgrader_meta(cell)
        assert cell.get("outputs", []) == []
        if meta.get("grade") and cell.cell_type == "code":
            assert meta["locked"] and "BEGIN HIDDEN TESTS" not in cell.source
        if meta.get("task"):
            assert "MARK SCHEME" not in cell.source
    answers = {
        _nbgrader_meta(cell)["grade_id"]: cell.source
        for cell in nb.cells
        if _nbgrader_meta(cell).get("solution")
    }
    # multiple choice: the custom stub of nbgrader_config.py, no NotImplementedError
    for q in ("q1", "q2", "q3", "q4", "q5"):
        assert answers[f"answer_{q}"] == f'{q} = ""  # "A", "B", "C" or "D"'
    for grade_id in ("sigmoid_prime", "tanh_prime", "layer_gradient_norms", "ratios"):
        assert "raise NotImplementedError()" in answers[grade_id]
    assert answers["dilemma_answer"] == "YOUR ANSWER HERE"


@pytest.mark.slow
def test_release_does_not_leak(course: Course):
    snippets = secret_snippets(SOURCE_NB)
    assert find_leaks(course.release_nb.read_text(encoding="utf-8"), snippets) == []


@pytest.mark.slow
@pytest.mark.parametrize("student", STUDENTS)
def test_feedback_does_not_leak(course: Course, student: str):
    files = course.feedback_files(student)
    assert [path.name for path in files] == [f"{ASSIGNMENT}.html"]
    # What the student submitted may appear in their feedback (alice's answers are the
    # solutions); everything else that is secret may not: hidden tests, the mark scheme, and
    # for bob every solution and answer key.
    submitted = course.submissions[student].read_text(encoding="utf-8")
    snippets = [s for s in secret_snippets(SOURCE_NB) if not find_leaks(submitted, [s])]
    assert len(snippets) > 20, "the check would be vacuous"
    for path in files:
        leaks = find_leaks(path.read_text(encoding="utf-8"), snippets)
        assert leaks == [], f"{path.name} of {student} shows secret lines: {leaks}"


@pytest.mark.slow
def test_graders_see_hidden_tests_and_mark_scheme(course: Course):
    """Autograding restores locked cells from the gradebook: that is where graders see them."""
    nb = nbformat.read(course.autograded_nb("alice"), as_version=4)
    task = next(cell for cell in nb.cells if _nbgrader_meta(cell).get("task"))
    assert "BEGIN MARK SCHEME" in task.source and "Rubric for graders" in task.source
    tests = [cell for cell in nb.cells if _nbgrader_meta(cell).get("grade")]
    assert all("BEGIN HIDDEN TESTS" in c.source for c in tests if c.cell_type == "code")


@pytest.mark.slow
def test_grades(course: Course):
    source = nbformat.read(SOURCE_NB, as_version=4)
    graded = [_nbgrader_meta(cell) for cell in source.cells if _nbgrader_meta(cell).get("grade")]
    auto_points = sum(
        _nbgrader_meta(cell)["points"]
        for cell in source.cells
        if _nbgrader_meta(cell).get("grade") and cell.cell_type == "code"
    )
    total_points = sum(meta["points"] for meta in graded)
    assert (auto_points, total_points) == (14, 18)
    grades = course.grades()
    assert set(grades) == set(STUDENTS)
    for student, expected in (("alice", auto_points), ("bob", 0)):
        row = grades[student]
        assert float(row["max_score"]) == total_points
        # the open question awaits a human grader, so the score is the autograded part only
        assert float(row["raw_score"]) == expected, f"{student}: {row}"


@pytest.mark.slow
def test_gradebook_scores_every_cell(course: Course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.course_dir / 'gradebook.db'}") as gb:
        for student, full in (("alice", True), ("bob", False)):
            submission = gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, student)
            for grade in submission.grades:
                if grade.cell_type != "code":
                    continue
                expected = grade.max_score if full else 0.0
                assert grade.auto_score == expected, f"{student}/{grade.name}: {grade.auto_score}"
            manual = next(g for g in submission.grades if g.name == "dilemma_answer")
            assert manual.needs_manual_grade is full, f"{student}: dilemma_answer"
