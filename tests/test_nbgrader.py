"""The nbgrader course in exercises/, driven through nbgrader's real command line.

For every assignment, in a temporary copy of exercises/ with a temporary exchange: the
instructor generates, validates (the source must pass, the release must fail) and releases
it; two students fetch and submit it (alice with every answer filled in from the source's
solutions, bob untouched); the instructor collects, autogrades, generates feedback and exports
the grades. The expensive pipeline runs once per assignment (the ``course`` fixture); the
tests then inspect what it left behind.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from leaks import find_leaks, secret_snippets
from nbgrader_course import (
    ASSIGNMENTS,
    COURSE_ID,
    NBGRADER,
    copy_course,
    course_env,
    nbgrader_meta,
    points,
    run_nbgrader,
    solved_notebook,
    source_notebook,
)

STUDENTS = ("alice", "bob")
MCQ_STUB = re.compile(r'^(q\d+) = ""  # "A", "B", "C" or "D"$')


@dataclass
class Course:
    """What the pipeline left behind for one assignment."""

    assignment: str
    base: Path
    course_dir: Path
    exchange: Path
    release_nb: Path
    validate_source: str
    validate_release: str
    submissions: dict[str, Path] = field(default_factory=dict)

    @property
    def source_nb(self) -> Path:
        return source_notebook(self.assignment)

    @property
    def notebook(self) -> str:
        return f"{self.assignment}.ipynb"

    def autograded_nb(self, student: str) -> Path:
        return self.course_dir / "autograded" / student / self.assignment / self.notebook

    def feedback_files(self, student: str) -> list[Path]:
        return sorted((self.course_dir / "feedback" / student / self.assignment).glob("*.html"))

    def grades(self) -> dict[str, dict[str, str]]:
        with open(self.course_dir / "grades.csv", newline="") as f:
            return {row["student_id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def course(request, tmp_path_factory: pytest.TempPathFactory) -> Course:
    assignment = request.param
    if not NBGRADER.exists():
        pytest.skip(f"nbgrader is not installed next to {NBGRADER.parent}")
    base = tmp_path_factory.mktemp(f"nbgrader-{assignment}")
    course_dir = copy_course(base / "exercises", (assignment,))
    exchange = base / "exchange"
    exchange.mkdir()
    instructor = course_env(base / "home" / "instructor", exchange)
    notebook = f"{assignment}.ipynb"

    def instructor_run(*args: str) -> str:
        return run_nbgrader(*args, cwd=course_dir, env=instructor)

    instructor_run("generate_assignment", assignment)
    release_nb = course_dir / "release" / assignment / notebook
    result = Course(
        assignment=assignment,
        base=base,
        course_dir=course_dir,
        exchange=exchange,
        release_nb=release_nb,
        validate_source=instructor_run(
            "validate", str(course_dir / "source" / assignment / notebook)
        ),
        validate_release=instructor_run("validate", "--invert", str(release_nb)),
    )
    instructor_run("release_assignment", assignment)

    for student in STUDENTS:
        workdir = base / "students" / student
        workdir.mkdir(parents=True)
        env = course_env(base / "home" / student, exchange, user=student)
        exchange_args = (f"--course={COURSE_ID}", f"--Exchange.root={exchange}")
        run_nbgrader("fetch_assignment", assignment, *exchange_args, cwd=workdir, env=env)
        fetched = workdir / assignment / notebook
        assert fetched.read_bytes() == release_nb.read_bytes(), "fetched notebook != release"
        if student == "alice":
            nbformat.write(solved_notebook(source_notebook(assignment), fetched), fetched)
        result.submissions[student] = fetched
        # nbgrader names submissions after the OS account (pwd), not $USER: say who submits.
        run_nbgrader(
            "submit", assignment, *exchange_args, f"--student={student}", cwd=workdir, env=env
        )

    instructor_run("collect", assignment)
    instructor_run("autograde", assignment)
    instructor_run("generate_feedback", assignment)
    instructor_run("export")
    return result


# --- the source notebooks and the helpers (fast) ----------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_is_well_formed(assignment: str):
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].source.startswith("# Assignment"), "the first cell should be the title"
    ids = [nbgrader_meta(cell).get("grade_id") for cell in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), "every cell needs a unique grade_id"
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        assert cell.get("outputs", []) == [], f"{meta['grade_id']} has outputs"
        assert meta.get("solution") or meta.get("locked"), f"{meta['grade_id']} is not locked"
    tests = [cell for cell in nb.cells if nbgrader_meta(cell).get("grade")]
    code_tests = [cell for cell in tests if cell.cell_type == "code"]
    assert len(code_tests) >= 5, "two or more coding tasks and a multiple-choice section"
    assert all("assert" in cell.source or "check_answer" in cell.source for cell in code_tests)
    # every coding task (a solution cell and the test cells after it) has hidden tests
    task, tasks_with_tests = None, {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            task = meta["grade_id"]
        elif meta.get("grade") and cell.cell_type == "code" and task is not None:
            hidden = "BEGIN HIDDEN TESTS" in cell.source
            tasks_with_tests[task] = tasks_with_tests.get(task, False) or hidden
    without = [name for name, hidden in tasks_with_tests.items() if not hidden]
    assert not without, f"tasks whose tests are all visible: {without}"
    mcq = [cell for cell in code_tests if "check_answer(" in cell.source]
    assert len(mcq) >= 3, "at least three multiple-choice questions"
    # a manually graded answer comes with a task cell that holds its rubric
    manual = [cell for cell in tests if cell.cell_type == "markdown"]
    tasks = [cell for cell in nb.cells if nbgrader_meta(cell).get("task")]
    assert len(tasks) == len(manual)
    for task in tasks:
        assert "BEGIN MARK SCHEME" in task.source and "END MARK SCHEME" in task.source


def test_every_chapter_has_an_assignment():
    chapters = {p.stem for p in (source_notebook("x").parents[3] / "chapters").glob("*.md")}
    assert set(ASSIGNMENTS) == chapters, (
        f"chapters without an assignment: {sorted(chapters - set(ASSIGNMENTS))}; "
        f"assignments without a chapter: {sorted(set(ASSIGNMENTS) - chapters)}"
    )


def test_the_seed_quizzes_and_dilemmas_are_assigned():
    """Seed 000's three quizzes and three dilemmas each appear in some assignment."""
    text = " ".join(
        " ".join(cell.source for cell in nbformat.read(source_notebook(a), as_version=4).cells)
        for a in ASSIGNMENTS
    )
    text = re.sub(r"\s+", " ", text)
    for phrase in (
        "What is the vanishing gradient problem in deep neural networks",
        "Which activation function is recommended for the hidden layers",
        "What is a direct method to address the vanishing gradient problem",
        "how should developers balance the benefits of traditional functions",
        "How should teams prioritize which techniques to implement",
        "What long-term strategies should the AI research community pursue",
    ):
        assert phrase in text, f"no assignment asks: {phrase!r}"


def test_secret_snippets_catch_the_source_itself():
    source = source_notebook("saturating_activations")
    snippets = secret_snippets(source)
    assert len(snippets) > 20
    for key in ('q1 = "D"', 'q2 = "C"', 'q3 = "B"', 'q4 = "A"', 'q5 = "C"'):
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
    text = source.read_text(encoding="utf-8")
    assert find_leaks(text, snippets) == snippets
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter().from_notebook_node(nbformat.read(source, as_version=4))
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
        meta = nbgrader_meta(cell)
        assert cell.get("outputs", []) == []
        if meta.get("grade") and cell.cell_type == "code":
            assert meta["locked"] and "BEGIN HIDDEN TESTS" not in cell.source
        if meta.get("task"):
            assert "MARK SCHEME" not in cell.source
        if not meta.get("solution"):
            continue
        if cell.cell_type == "markdown":
            assert cell.source == "YOUR ANSWER HERE", meta["grade_id"]
        elif MCQ_STUB.match(cell.source):
            # multiple choice: the custom stub of nbgrader_config.py, no NotImplementedError
            assert meta["grade_id"] == f"answer_{MCQ_STUB.match(cell.source).group(1)}"
        else:
            assert "raise NotImplementedError()" in cell.source, meta["grade_id"]


@pytest.mark.slow
def test_release_does_not_leak(course: Course):
    snippets = secret_snippets(course.source_nb)
    assert find_leaks(course.release_nb.read_text(encoding="utf-8"), snippets) == []


@pytest.mark.slow
@pytest.mark.parametrize("student", STUDENTS)
def test_feedback_does_not_leak(course: Course, student: str):
    files = course.feedback_files(student)
    assert [path.name for path in files] == [f"{course.assignment}.html"]
    # What the student submitted may appear in their feedback (alice's answers are the
    # solutions); everything else that is secret may not: hidden tests, the mark scheme, and
    # for bob every solution and answer key.
    submitted = course.submissions[student].read_text(encoding="utf-8")
    snippets = [s for s in secret_snippets(course.source_nb) if not find_leaks(submitted, [s])]
    assert len(snippets) >= 5, "the check would be vacuous"
    for path in files:
        leaks = find_leaks(path.read_text(encoding="utf-8"), snippets)
        assert leaks == [], f"{path.name} of {student} shows secret lines: {leaks}"


@pytest.mark.slow
def test_graders_see_hidden_tests_and_mark_scheme(course: Course):
    """Autograding restores locked cells from the gradebook: that is where graders see them."""
    nb = nbformat.read(course.autograded_nb("alice"), as_version=4)
    for task in (cell for cell in nb.cells if nbgrader_meta(cell).get("task")):
        assert "BEGIN MARK SCHEME" in task.source
    source = nbformat.read(course.source_nb, as_version=4)
    with_hidden = {
        nbgrader_meta(cell)["grade_id"]
        for cell in source.cells
        if nbgrader_meta(cell).get("grade") and "BEGIN HIDDEN TESTS" in cell.source
    }
    restored = {
        nbgrader_meta(cell)["grade_id"]
        for cell in nb.cells
        if nbgrader_meta(cell).get("grade") and "BEGIN HIDDEN TESTS" in cell.source
    }
    assert with_hidden and restored == with_hidden


@pytest.mark.slow
def test_grades(course: Course):
    auto_points, total_points = points(course.source_nb)
    assert 10 <= total_points <= 25, f"{course.assignment}: {total_points} points"
    grades = course.grades()
    assert set(grades) == set(STUDENTS)
    for student, expected in (("alice", auto_points), ("bob", 0)):
        row = grades[student]
        assert float(row["max_score"]) == total_points
        # open questions await a human grader, so the score is the autograded part only
        assert float(row["raw_score"]) == expected, f"{student}: {row}"


@pytest.mark.slow
def test_gradebook_scores_every_cell(course: Course):
    from nbgrader.api import Gradebook

    source = nbformat.read(course.source_nb, as_version=4)
    manual_ids = {
        nbgrader_meta(cell)["grade_id"]
        for cell in source.cells
        if nbgrader_meta(cell).get("grade") and cell.cell_type == "markdown"
    }
    with Gradebook(f"sqlite:///{course.course_dir / 'gradebook.db'}") as gb:
        for student, full in (("alice", True), ("bob", False)):
            submission = gb.find_submission_notebook(course.assignment, course.assignment, student)
            for grade in submission.grades:
                if grade.cell_type != "code":
                    continue
                expected = grade.max_score if full else 0.0
                assert grade.auto_score == expected, f"{student}/{grade.name}: {grade.auto_score}"
            for name in manual_ids:
                manual = next(g for g in submission.grades if g.name == name)
                assert manual.needs_manual_grade is full, f"{student}: {name}"
