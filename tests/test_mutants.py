"""Every coding task, graded by the real nbgrader, against answers that are wrong and right.

For each assignment, ``tests/mutants/<assignment>.py`` declares known-wrong answers (each a
real misconception) and legitimate alternatives (see ``tests/mutation.py``). A student
``solved`` submits the solutions; a student ``quiz`` answers every multiple-choice question
with a wrong letter. The variants are packed into few notebooks, so that the class stays
small enough to grade often (see :func:`students`):

* wrong answers to *different* tasks share a notebook (pack k holds the k-th wrong answer of
  every task), and each is judged by its own task's test cells only;
* right answers likewise share a notebook per round;
* one ``blank_<task>`` student per task submits the solutions with that task left as released.
  That proves the packing fair: a task whose test cells lose points when *another* task is
  blank depends on it, and the test that checks the blanks fails.

All of them are graded by ``nbgrader autograde`` and ``nbgrader generate_feedback`` (split
over worker course copies, one per core), and then:

* a wrong answer loses points in its task's test cells, its feedback names the fault and shows
  no solution line;
* a right answer, and the solutions, get every autograded point;
* a wrong letter loses its point, and the feedback explains why the key is right.
"""

from __future__ import annotations

import ast
import concurrent.futures
import copy
import csv
import functools
import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from leaks import canon, find_leaks, secret_snippets
from mutation import Variant
from nbgrader_course import (
    ASSIGNMENTS,
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
from quiz_items import questions

from vglib.grading import CHOICES

pytestmark = pytest.mark.slow

MCQ_ANSWER = re.compile(r"^answer_(q\d+)$")


def coding_tasks(assignment: str) -> list[str]:
    """grade_ids of the answer cells of coding tasks (every solution cell but the quiz answers)."""
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    return [
        nbgrader_meta(c)["grade_id"]
        for c in nb.cells
        if c.cell_type == "code"
        and nbgrader_meta(c).get("solution")
        and not MCQ_ANSWER.match(nbgrader_meta(c)["grade_id"])
    ]


#: Where the declarations live (a test of the harness itself may point elsewhere).
MUTANTS = Path(os.environ.get("VGLIB_MUTANTS", Path(__file__).parent / "mutants"))


@functools.cache
def variants(assignment: str) -> tuple[Variant, ...]:
    path = MUTANTS / f"{assignment}.py"
    if not path.exists():
        raise AssertionError(f"{path} is missing: declare the wrong and right answers there")
    spec = importlib.util.spec_from_file_location(f"mutants_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VARIANTS


@dataclass
class Graded:
    assignment: str
    max_auto: float
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> cell -> score
    feedback: dict[str, str] = field(default_factory=dict)  # student -> HTML
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # student -> cell -> error
    submitted: dict[str, str] = field(default_factory=dict)  # student -> notebook JSON

    def total(self, student: str) -> float:
        return sum(self.scores[student].values())

    def lost(self, student: str) -> str:
        cells = {c: s for c, s in self.scores[student].items() if s < self._max[c]}
        return (
            ", ".join(f"{c} ({self.errors[student].get(c, 'no error output')})" for c in cells)
            or "nothing"
        )

    _max: dict[str, float] = field(default_factory=dict)

    def task_score(self, student: str, task: str) -> tuple[float, float]:
        """(score, max) of the test cells of one task."""
        cells = task_groups(self.assignment)[task]
        return (
            sum(self.scores[student][c] for c in cells),
            sum(self._max[c] for c in cells),
        )


def _write_submission(course_dir: Path, assignment: str, student: str, nb) -> None:
    folder = course_dir / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{assignment}.ipynb")
    (folder / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")


@functools.cache
def task_groups(assignment: str) -> dict[str, tuple[str, ...]]:
    """Coding task -> the graded test cells that check it, read from the notebook's order.

    A task is a run of consecutive answer cells (chain_rule's Task 2 has two) and the graded
    test cells that follow it, up to the next answer cell. Keyed by the task's first answer
    cell; :func:`task_of` maps every answer cell to it.
    """
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    groups: dict[str, list[str]] = {}
    current, previous_was_answer = None, False
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id", "")
        if cell.cell_type == "code" and meta.get("solution"):
            if MCQ_ANSWER.match(grade_id):
                current = None
            elif not previous_was_answer or current is None:
                current = grade_id
                groups[current] = []
            _ANSWER_TASK[(assignment, grade_id)] = current
            previous_was_answer = True
            continue
        previous_was_answer = False
        if current and cell.cell_type == "code" and meta.get("grade"):
            groups[current].append(grade_id)
    return {task: tuple(cells) for task, cells in groups.items()}


_ANSWER_TASK: dict[tuple[str, str], str | None] = {}


def task_of(assignment: str, cell: str) -> str:
    task_groups(assignment)
    return _ANSWER_TASK[(assignment, cell)]


def _names(source: str, *, defined: bool) -> set[str]:
    """Top-level names a cell defines, or every name it reads (IPython magics left out)."""
    code = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    if not defined:
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    out = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            out.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return out


@functools.cache
def dependencies(assignment: str) -> dict[str, frozenset[str]]:
    """Task -> the other tasks whose answers its answer or its tests read (by name), directly
    or through another task.

    A wrong answer to a task is never packed with a wrong answer to a task it depends on or
    that depends on it; the blank students check that nothing else depends on anything.
    """
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    groups = task_groups(assignment)
    by_id = {nbgrader_meta(c).get("grade_id"): c.source for c in nb.cells}
    answers = {
        task: [g for (a, g), t in _ANSWER_TASK.items() if a == assignment and t == task]
        for task in groups
    }
    defined = {
        task: set().union(*(_names(by_id[g], defined=True) for g in ids))
        for task, ids in answers.items()
    }
    # a given cell that reads a task's names passes the dependency on: Task 4's measurements
    # call the given make_stack, which builds Task 1's ResidualBlocks
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or meta.get("solution") or meta.get("grade"):
            continue
        read = _names(cell.source, defined=False)
        for task in groups:
            if read & defined[task]:
                defined[task] |= _names(cell.source, defined=True)
    direct = {}
    for task in groups:
        read = set().union(
            *(_names(by_id[g], defined=False) for g in (*answers[task], *groups[task]))
        )
        direct[task] = {t for t in groups if t != task and read & defined[t]}
    # through other tasks too: a task that reads B, where B reads A, fails when A is wrong
    out = {}
    for task in groups:
        seen, todo = set(), list(direct[task])
        while todo:
            other = todo.pop()
            if other not in seen and other != task:
                seen.add(other)
                todo.extend(direct[other])
        out[task] = frozenset(seen)
    return out


def students(assignment: str) -> dict[Variant, str]:
    """Who submits each variant: ``wrong<k>`` and ``right<k>`` notebooks each hold at most one
    answer per task and never answers to two tasks where one reads the other's answer."""
    depends = dependencies(assignment)
    packs: dict[str, list[set[str]]] = {"wrong": [], "right": []}
    out = {}
    for variant in variants(assignment):
        task = task_of(assignment, variant.cell)
        clash = {task} | depends[task] | {t for t, d in depends.items() if task in d}
        kind = "right" if variant.correct else "wrong"
        tasks = packs[kind]
        k = next((i for i, held in enumerate(tasks) if not held & clash), len(tasks))
        if k == len(tasks):
            tasks.append(set())
        tasks[k].add(task)
        out[variant] = f"{kind}{k:02d}"
    return out


def _blank_student(task: str) -> str:
    return f"blank_{task}"[:64]


def _submissions(assignment: str, release: Path) -> dict[str, nbformat.NotebookNode]:
    solved = solved_notebook(source_notebook(assignment), release)
    out = {"solved": solved}
    for variant, student in students(assignment).items():
        nb = out.setdefault(student, copy.deepcopy(solved))
        cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == variant.cell]
        assert len(cells) == 1, f"{assignment}: no answer cell {variant.cell!r} for {variant.name}"
        assert cells[0].source == _strip(solved, variant.cell), (
            f"{assignment}: two variants of {variant.cell!r} packed into {student}"
        )
        cells[0].source = variant.source
    release_nb = nbformat.read(release, as_version=4)
    stubs = {nbgrader_meta(c).get("grade_id"): c.source for c in release_nb.cells}
    for task in task_groups(assignment):
        nb = out[_blank_student(task)] = copy.deepcopy(solved)
        for cell in nb.cells:
            grade_id = nbgrader_meta(cell).get("grade_id", "")
            if (
                nbgrader_meta(cell).get("solution")
                and _ANSWER_TASK.get((assignment, grade_id)) == task
            ):
                cell.source = stubs[grade_id]
    quiz = copy.deepcopy(solved)
    wrong = {q.name: next(x for x in CHOICES if x != q.key) for q in questions(assignment)}
    for cell in quiz.cells:
        match = MCQ_ANSWER.match(nbgrader_meta(cell).get("grade_id", ""))
        if match:
            cell.source = f'{match.group(1)} = "{wrong[match.group(1)]}"'
    out["quiz"] = quiz
    return out


def _strip(nb: nbformat.NotebookNode, grade_id: str) -> str:
    return next(c.source for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def _grade_chunk(base: Path, assignment: str, chunk: dict[str, nbformat.NotebookNode]) -> Path:
    course_dir = copy_course(base / "exercises", (assignment,))
    env = course_env(base / "home", base / "exchange")
    run_nbgrader("generate_assignment", assignment, cwd=course_dir, env=env)
    release = course_dir / "release" / assignment / f"{assignment}.ipynb"
    assert release.exists()
    for student, nb in chunk.items():
        _write_submission(course_dir, assignment, student, nb)
    run_nbgrader("autograde", assignment, cwd=course_dir, env=env)
    run_nbgrader("generate_feedback", assignment, cwd=course_dir, env=env)
    return course_dir


def _read_results(graded: Graded, course_dir: Path, students: list[str]) -> None:
    from nbgrader.api import Gradebook

    assignment = graded.assignment
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        for student in students:
            nb = gb.find_submission_notebook(assignment, assignment, student)
            graded.scores[student] = {
                g.name: float(g.score) for g in nb.grades if g.cell.cell_type == "code"
            }
            graded._max.update({g.name: float(g.max_score) for g in nb.grades})
    for student in students:
        path = course_dir / "autograded" / student / assignment / f"{assignment}.ipynb"
        nb = nbformat.read(path, as_version=4)
        graded.errors[student] = {
            nbgrader_meta(c)["grade_id"]: next(
                (
                    f"{o.ename}: {o.evalue}"[:300]
                    for o in c.get("outputs", [])
                    if o.output_type == "error"
                ),
                "",
            )
            for c in nb.cells
            if nbgrader_meta(c).get("grade") and c.cell_type == "code"
        }
        html = course_dir / "feedback" / student / assignment / f"{assignment}.html"
        graded.feedback[student] = html.read_text(encoding="utf-8")


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory) -> Graded:
    assignment = request.param
    if not NBGRADER.exists():
        pytest.skip(f"nbgrader is not installed next to {NBGRADER.parent}")
    base = tmp_path_factory.mktemp(f"mutants-{assignment}")
    release_dir = copy_course(base / "release-course", (assignment,))
    env = course_env(base / "home", base / "exchange")
    run_nbgrader("generate_assignment", assignment, cwd=release_dir, env=env)
    release = release_dir / "release" / assignment / f"{assignment}.ipynb"
    submissions = _submissions(assignment, release)
    # one worker course per core, unless pytest-xdist already runs one test process per core
    default = 1 if os.environ.get("PYTEST_XDIST_WORKER") else (os.cpu_count() or 1)
    jobs = max(1, min(int(os.environ.get("VGLIB_GRADE_JOBS", default)), 4))
    names = list(submissions)
    chunks = [{n: submissions[n] for n in names[i::jobs]} for i in range(jobs)]
    graded = Graded(assignment, points(source_notebook(assignment))[0])
    graded.submitted = {name: nbformat.writes(nb) for name, nb in submissions.items()}
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = [
            pool.submit(_grade_chunk, base / f"worker{i}", assignment, chunk)
            for i, chunk in enumerate(chunks)
            if chunk
        ]
        for future, chunk in zip(futures, [c for c in chunks if c], strict=True):
            _read_results(graded, future.result(), list(chunk))
    _write_table(graded)
    return graded


def _write_table(graded: Graded) -> None:
    """test-artifacts/mutants/<assignment>.csv: every variant's score, for the record."""
    out = ROOT / "test-artifacts" / "mutants"
    out.mkdir(parents=True, exist_ok=True)
    rows = [("student", "cell", "kind", "variant", "score", "max")]
    rows.append(("solved", "", "solutions", "", graded.total("solved"), graded.max_auto))
    for variant, student in students(graded.assignment).items():
        kind = "right" if variant.correct else "wrong"
        score, top = graded.task_score(student, task_of(graded.assignment, variant.cell))
        rows.append((student, variant.cell, kind, variant.name, score, top))
    for task in task_groups(graded.assignment):
        student = _blank_student(task)
        rows.append((student, task, "blank", "", graded.total(student), graded.max_auto))
    rows.append(("quiz", "", "wrong letters", "", graded.total("quiz"), graded.max_auto))
    with open(out / f"{graded.assignment}.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)


def _variant_students(graded: Graded, correct: bool) -> list[tuple[str, Variant]]:
    return [(s, v) for v, s in students(graded.assignment).items() if v.correct is correct]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_coding_task_has_two_wrong_answers_and_one_right(assignment: str):
    declared = variants(assignment)
    tasks = coding_tasks(assignment)
    unknown = {v.cell for v in declared} - set(tasks)
    assert not unknown, f"{assignment}: variants for cells that are not coding tasks: {unknown}"
    for task in tasks:
        wrong = [v for v in declared if v.cell == task and not v.correct]
        right = [v for v in declared if v.cell == task and v.correct]
        assert len(wrong) >= 2, f"{assignment}/{task}: {len(wrong)} known-wrong answers, need 2"
        assert len(right) >= 1, f"{assignment}/{task}: no legitimate alternative answer"
    slugs = [v.slug for v in declared]
    assert len(set(slugs)) == len(slugs), f"{assignment}: two variants share a name"


def test_solutions_get_full_marks(graded: Graded):
    assert graded.total("solved") == graded.max_auto, (
        f"{graded.assignment}: the solutions lost {graded.lost('solved')}"
    )


def test_right_answers_get_full_marks(graded: Graded):
    unfair = [
        f"{v.cell} / {v.name} (submitted by {s}): its task lost points; {s} lost {graded.lost(s)}"
        for s, v in _variant_students(graded, True)
        if (lambda got: got[0] != got[1])(graded.task_score(s, task_of(graded.assignment, v.cell)))
    ]
    unfair += [
        f"{s} (a round of right answers) lost {graded.lost(s)}"
        for s in {s for s, _ in _variant_students(graded, True)}
        if graded.total(s) != graded.max_auto
    ]
    assert not unfair, f"{graded.assignment}: answers the task allows lost points:\n" + "\n".join(
        unfair
    )


def test_wrong_answers_lose_points_and_feedback_names_the_fault(graded: Graded):
    source = source_notebook(graded.assignment)
    # what a wrong answer's feedback may never show: solution lines (hidden-test messages are
    # meant to be read once graded)
    solution = secret_snippets(source, kinds=("solution", "mark scheme"))
    problems = []
    for student, variant in _variant_students(graded, False):
        label = f"{variant.cell} / {variant.name}"
        score, top = graded.task_score(student, task_of(graded.assignment, variant.cell))
        if score >= top:
            problems.append(f"{label}: its task's tests gave full marks ({score:g}/{top:g})")
            continue
        # looked for as find_leaks looks: through HTML tags, entities and JSON escapes
        missing = [f for f in variant.feedback if not find_leaks(graded.feedback[student], [f])]
        if missing:
            problems.append(f"{label}: feedback lacks {missing}; it lost {graded.lost(student)}")
        # the student's own answers (the solutions of the other tasks, here) may show
        shown = [s for s in solution if not find_leaks(graded.submitted[student], [s])]
        leaks = find_leaks(graded.feedback[student], shown)
        if leaks:
            problems.append(f"{label}: feedback shows solution lines {leaks}")
    assert not problems, f"{graded.assignment}:\n" + "\n".join(problems)


def test_tasks_are_graded_independently_so_packing_is_fair(graded: Graded):
    """A blank task costs points in its own test cells only: then a wrong answer to one task
    cannot cost another task's cells in a packed notebook, and each is judged on its own."""
    groups = task_groups(graded.assignment)
    problems = []
    for task, cells in groups.items():
        student = _blank_student(task)
        score, top = graded.task_score(student, task)
        if score >= top:
            problems.append(f"blank {task}: its own tests still gave full marks")
        readers = {t for t, d in dependencies(graded.assignment).items() if task in d}
        allowed = set(cells).union(*(groups[t] for t in readers))
        elsewhere = [
            c
            for c, got in graded.scores[student].items()
            if c not in allowed and got < graded._max[c]
        ]
        if elsewhere:
            problems.append(
                f"blank {task} cost cells {elsewhere} of tasks that do not read its answer by "
                "name: they depend on it in a way dependencies() does not see"
            )
    assert not problems, f"{graded.assignment}:\n" + "\n".join(problems)


def test_wrong_letters_lose_their_point_and_are_explained(graded: Graded):
    qs = questions(graded.assignment)
    assert qs, f"{graded.assignment} has no multiple-choice questions"
    for q in qs:
        assert len(q.why.split()) >= 12, f"{graded.assignment} {q.name}: no explanation (why=)"
        score = graded.scores["quiz"][f"test_{q.name}"]
        assert score == 0, f"{graded.assignment} {q.name}: a wrong letter scored {score}"
        assert find_leaks(graded.feedback["quiz"], [q.why]), (
            f"{graded.assignment} {q.name}: the feedback does not explain the key"
        )
    lost = graded.max_auto - graded.total("quiz")
    assert lost == len(qs), f"the quiz student should lose {len(qs)} points, lost {lost}"


def test_release_never_shows_the_explanations():
    # the explanations live in hidden tests; the round trip (test_nbgrader) checks the release
    # does not contain hidden tests, here we only check they are hidden-test lines at all
    for assignment in ASSIGNMENTS:
        hidden = " ".join(secret_snippets(source_notebook(assignment), kinds=("hidden tests",)))
        for q in questions(assignment):
            first = q.why.split(".")[0][:40]
            assert canon(first) in canon(hidden) or not first, (
                f"{assignment} {q.name}: the explanation is not inside the hidden tests"
            )
