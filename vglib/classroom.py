"""The instructor's repeated steps, for every assignment at once, with a verdict per student.

nbgrader does the work; this module adds what a class of real submissions needs around it::

    python -m vglib.classroom release                  # generate + release every assignment
    python -m vglib.classroom autograde                # autograde every collected assignment
    python -m vglib.classroom autograde initialization --timeout 30 --jobs 2
    python -m vglib.classroom report initialization    # item analysis of the graded class
    python -m vglib.classroom feedback initialization   # after hand grading (vglib.feedback)
    python -m vglib.classroom publish ../public         # the public course (vglib.publish)

Run it from the course directory (``exercises/``) or pass ``--course-dir``. nbgrader is
driven through its Python API (:class:`nbgrader.apps.NbGraderAPI`), configured by the same
``nbgrader_config.py`` files the ``nbgrader`` command reads; what it logs goes to
``logs/<step>-<assignment>.log``. ``autograde``

1. checks each submission before nbgrader sees it: a notebook saved under another name
   (``initialization (1).ipynb``) is copied to the name nbgrader expects, and a file that
   is not a readable notebook is reported as such;
2. autogrades each student and generates their feedback with nbgrader, on ``--jobs``
   worker processes (default: one per core) with a progress bar; a submission nbgrader
   cannot grade, or whose worker process dies, is reported, and the others are graded
   (see "Grading in parallel" below);
3. reads the gradebook for scores and for lateness as nbgrader computes it (due date,
   extensions, late penalty), and every autograded notebook for what went wrong in it (a
   cell that ran out of time, a kernel that died, locked cells that were edited or deleted
   and put back);
4. opens every student's feedback page with a short statement of the outcome, and writes a
   page for submissions that could not be graded at all;
5. prints one table of scores and outcomes and writes it to ``reports/<assignment>.csv``.

Grades stay in nbgrader's gradebook (``gradebook.db``): this module only reads it, so
manual grades entered in the formgrader survive autograding again.

Grading in parallel
-------------------
Each worker process runs nbgrader's own autograde and feedback steps for one student at a
time, and writes that student's grades into the course's gradebook itself. nbgrader's
default gradebook is one SQLite file, which takes one writer at a time and makes a second
one fail with "database is locked" once its short busy timeout runs out. So the workers
serialize their database work: while this module grades, every nbgrader ``Gradebook``
object in a worker holds an exclusive lock (``fcntl.flock`` on ``gradebook.db.lock``
beside the database) from its creation to its close. nbgrader opens the gradebook briefly
before and after executing a notebook, never while a kernel runs, so the notebooks execute
in parallel and the writes follow one another. Each of nbgrader's database sessions is a
SQLite transaction: a worker that dies mid-write releases the lock with its process and
leaves a journal that SQLite rolls back, so it loses at most its own student's grades,
never another's. The students left unfinished when a worker died are graded again, each
in a process of its own, so a submission that kills its worker is pinned on its own
student ("the grading process died"). Logs are written per student and joined in student
order. ``--jobs 1`` and ``--jobs N`` give the same scores, feedback and table. A gradebook
on a database server (``CourseDirectory.db_url = "postgresql://..."``) takes concurrent
writers itself and gets no lock (untested here).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import filecmp
import html
import logging
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Outcome", "autograde", "main", "release", "report"]

#: Written into the feedback page right after ``<body>``; the class lets a test find it.
BANNER_CLASS = "vg-outcome"

_MISSING_CELL = "was missing from the submission"


@dataclass
class Outcome:
    """What happened to one student's submission of one assignment."""

    student: str
    assignment: str
    score: float | None = None
    max_score: float | None = None
    graded: bool = False
    notes: list[str] = field(default_factory=list)
    #: The hand-graded answers: None if there are none, else whether all of them are graded.
    hand_graded: bool | None = None

    @property
    def status(self) -> str:
        if not self.graded:
            return "not graded"
        return "graded with problems" if self.notes else "graded"

    def row(self) -> dict[str, str]:
        score = "" if self.score is None else f"{self.score:g}"
        max_score = "" if self.max_score is None else f"{self.max_score:g}"
        return {
            "student": self.student,
            "assignment": self.assignment,
            "score": score,
            "max_score": max_score,
            "status": self.status,
            "notes": "; ".join(self.notes),
        }


# --- nbgrader, through its Python API ----------------------------------------------------------


def _api(course_dir: Path, **overrides: dict[str, Any]):
    """nbgrader's :class:`~nbgrader.apps.NbGraderAPI` on the course.

    Configured as the ``nbgrader`` command run in ``course_dir`` would be, plus
    ``overrides`` (config sections, e.g. ``Execute={"timeout": 30}``, as a command-line
    option would). Its logger prints nothing: each call returns what it logged, and
    :func:`_logged` writes that to a file.
    """
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config
    from traitlets.config.loader import load_pyconfig_files

    # nbgrader runs alembic, a tool of the interpreter's own bin/, from the PATH
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = f"{bindir}{os.pathsep}{path}"
    config = Config()
    config.CourseDirectory.root = str(course_dir)
    # the command's config files, lowest precedence first: system, environment, user, course
    for folder in [*reversed(jupyter_config_path()), str(course_dir)]:
        config.merge(load_pyconfig_files(["nbgrader_config.py"], folder))
    config.merge(Config(overrides))
    log = logging.getLogger(f"{__name__}.nbgrader")
    log.propagate = False
    log.setLevel(logging.INFO)
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return NbGraderAPI(config=config, log=log)


def _logged(
    log: Path, call: Callable[..., dict | None], *args: Any, heading: str = "", **kwargs: Any
) -> bool:
    """Make one :class:`~nbgrader.apps.NbGraderAPI` call; whether it succeeded.

    Everything the call reports goes to the end of ``log``, none of it to the terminal: the
    log it returns (see :func:`nbgrader.utils.capture_log`), and whatever nbgrader, its
    database layer and the kernels it starts write to stderr meanwhile (file descriptor 2
    points into ``log`` during the call). A call returns ``None`` where nbgrader's exchange
    is not available (Windows).
    """
    with open(log, "a", encoding="utf-8") as out:
        out.write(heading)
        out.flush()
        sys.stderr.flush()
        terminal = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            result = call(*args, **kwargs)
        finally:
            sys.stderr.flush()
            os.dup2(terminal, 2)
            os.close(terminal)
        result = result or {"success": False, "error": "nbgrader's exchange is not available\n"}
        out.write(result.get("log", "") + result.get("error", ""))
    return result["success"]


def _progress(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="student", file=sys.stderr, leave=True)


def _fresh_log(course_dir: Path, name: str) -> Path:
    log = course_dir / "logs" / name
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")
    return log


def _notebook_names(api, assignment: str) -> list[str]:
    """The assignment's notebooks as nbgrader knows them (gradebook, else ``source/``)."""
    return sorted(f"{nb['name']}.ipynb" for nb in api.get_notebooks(assignment))


def _folder(api, directory: str, student: str, assignment: str) -> Path:
    return Path(api.coursedir.format_path(directory, student, assignment))


def _duration(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


# --- before nbgrader: names, readability -------------------------------------------------------


def _preflight(folder: Path, assignment: str, student: str, expected: list[str]):
    """Fix what can be fixed without touching the student's work; report the rest."""
    import nbformat

    outcome = Outcome(student, assignment)
    present = {p.name for p in folder.glob("*.ipynb")}
    missing = [name for name in expected if name not in present]
    extra = sorted(present - set(expected))
    if len(missing) == 1 and len(extra) == 1:
        shutil.copy2(folder / extra[0], folder / missing[0])
        missing, present = [], present | {missing[0]}
    for name in extra:  # renamed now or by an earlier run
        for target in expected:
            if target in present and filecmp.cmp(folder / name, folder / target, shallow=False):
                outcome.notes.append(f"notebook submitted as {name!r}; graded as {target!r}")
    for name in missing:
        found = f" (found: {', '.join(extra)})" if extra else ""
        outcome.notes.append(f"{name} is missing from the submission{found}: scored zero")
    unreadable = False
    for name in expected:
        path = folder / name
        if not path.exists():
            continue
        try:
            nbformat.read(path, as_version=4)
        except Exception as err:  # JSON errors, schema errors, binary junk: all the same here
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            outcome.notes.append(f"{name} is not a readable notebook ({reason})")
            unreadable = True
    return outcome, unreadable


# --- after nbgrader: the gradebook, and what happened inside each notebook --------------------


def _read_gradebook(api, assignment: str, outcomes: dict[str, Outcome]) -> None:
    """Scores, and lateness as nbgrader computes it (due date, extensions, late penalty)."""
    from nbgrader.api import MissingEntry

    with api.gradebook as gb:
        for student, outcome in outcomes.items():
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            outcome.score, outcome.max_score = submission.score, submission.max_score
            outcome.hand_graded = _hand_grading_done(submission)
            if submission.total_seconds_late > 0:
                note = f"submitted {_duration(submission.total_seconds_late)} after the due date"
                if submission.late_submission_penalty:
                    note += f" ({submission.late_submission_penalty:g} points off)"
                outcome.notes.append(note)


def _hand_grading_done(submission) -> bool | None:
    """None if nothing is graded by hand, else whether every such answer has its grade.

    Answer cells graded by hand are nbgrader's markdown grade cells (and code cells with
    manual points); nbgrader marks each ``needs_manual_grade`` until a grader enters a score
    in the formgrader (an answer left blank is scored zero by autograding and needs none).
    """
    manual = [
        grade
        for notebook in submission.notebooks
        for grade in notebook.grades
        # task cells (the rubrics) have grades too, worth 0 points: nothing to wait for
        if grade.max_score and (grade.cell_type == "markdown" or grade.auto_score is None)
    ]
    if not manual:
        return None
    return not any(grade.needs_manual_grade for grade in manual)


def _inspect_notebook(autograded: Path, submitted: Path) -> list[str]:
    import nbformat

    notes: list[str] = []
    nb = nbformat.read(autograded, as_version=4)
    timeouts, died, restored = [], [], []
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
        if _MISSING_CELL in cell.source:
            restored.append(gid)
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            if out.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
                timeouts.append(gid)
            if out.get("ename") == "KernelDied" and "while running this cell" in out.get(
                "evalue", ""
            ):
                died.append(gid)
    if timeouts:
        notes.append(f"ran out of time in {', '.join(dict.fromkeys(timeouts))}")
    if died:
        notes.append(f"the kernel died in {', '.join(died)}; later cells were not run")
    if restored:
        notes.append(f"deleted cells put back: {', '.join(restored)}")
    edited = _edited_locked_cells(submitted)
    if edited:
        notes.append(f"edited locked cells restored: {', '.join(edited)}")
    return notes


def _edited_locked_cells(submitted: Path) -> list[str]:
    """Locked cells whose checksum no longer matches, as ``nbgrader validate`` finds them."""
    import nbformat
    from nbgrader.utils import compute_checksum, is_locked

    try:
        work = nbformat.read(submitted, as_version=4)
    except Exception:
        return []
    return [
        cell.metadata.nbgrader["grade_id"]
        for cell in work.cells
        if is_locked(cell)
        and "checksum" in cell.metadata.nbgrader
        and compute_checksum(cell) != cell.metadata.nbgrader["checksum"]
    ]


# --- feedback ----------------------------------------------------------------------------------


def _banner(outcome: Outcome) -> str:
    if outcome.graded:
        points = f"{outcome.score:g} of {outcome.max_score:g} points"
        if outcome.hand_graded is None:
            head = f"Score: {points}."
        elif outcome.hand_graded:
            head = f"Score: {points}, including the answers graded by hand."
        else:
            head = f"Autograded score: {points} (answers graded by hand are added later)."
    else:
        head = "This submission could not be graded automatically."
    items = "".join(f"<li>{html.escape(note)}</li>" for note in outcome.notes)
    body = f"<ul>{items}</ul>" if items else ""
    return (
        f'<div class="{BANNER_CLASS}" style="border:2px solid #0072B2;padding:0.6em 1em;'
        f'margin:1em;font-family:sans-serif"><strong>{html.escape(head)}</strong>{body}</div>'
    )


def _write_feedback(folder: Path, outcome: Outcome, notebooks: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in notebooks:
        page = folder / (Path(name).stem + ".html")
        banner = _banner(outcome)
        if page.exists():
            text = page.read_text(encoding="utf-8")
            text = re.sub(rf'<div class="{BANNER_CLASS}".*?</div>', "", text, flags=re.S)
            text = re.sub(r"(<body[^>]*>)", lambda m, b=banner: m.group(1) + b, text, count=1)
        else:
            title = html.escape(f"{outcome.assignment}: feedback for {outcome.student}")
            text = (
                f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>{title}</title></head><body>{banner}"
                "<p style='margin:1em;font-family:sans-serif'>Nothing in this notebook was "
                "graded. Fix the problem above and ask your instructor whether you may "
                "submit again.</p></body></html>"
            )
        page.write_text(text, encoding="utf-8")


# --- one student, in this process or in a worker ---------------------------------------------

_LOCK = {"path": None, "fd": None, "depth": 0}


def _lock_gradebook() -> None:
    if _LOCK["path"] is None:
        return
    if _LOCK["depth"] == 0:
        import fcntl

        _LOCK["fd"] = os.open(_LOCK["path"], os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(_LOCK["fd"], fcntl.LOCK_EX)
    _LOCK["depth"] += 1


def _unlock_gradebook() -> None:
    if _LOCK["path"] is None or _LOCK["depth"] == 0:
        return
    _LOCK["depth"] -= 1
    if _LOCK["depth"] == 0:
        os.close(_LOCK["fd"])  # closing the descriptor releases the flock
        _LOCK["fd"] = None


@contextmanager
def _serialized_gradebook(lock_path: Path | None) -> Iterator[None]:
    """Every nbgrader ``Gradebook`` made meanwhile holds ``lock_path`` until it is closed.

    The lock is re-entrant within the process (nbgrader may open a gradebook while another
    is open) and released by the operating system if the process dies. ``None``: no lock.
    """
    from nbgrader.api import Gradebook

    if lock_path is None:
        yield
        return

    init, close = Gradebook.__init__, Gradebook.close

    def locked_init(self, *args: Any, **kwargs: Any) -> None:
        _lock_gradebook()
        self._vg_locked = True
        try:
            init(self, *args, **kwargs)
        except BaseException:
            self._vg_locked = False
            _unlock_gradebook()
            raise

    def unlocking_close(self) -> None:
        try:
            close(self)
        finally:
            if getattr(self, "_vg_locked", False):
                self._vg_locked = False
                _unlock_gradebook()

    _LOCK["path"] = str(lock_path)
    Gradebook.__init__, Gradebook.close = locked_init, unlocking_close
    try:
        yield
    finally:
        Gradebook.__init__, Gradebook.close = init, close
        _LOCK["path"] = None


_APIS: dict[tuple[str, int | None], Any] = {}


def _overrides(timeout: int | None) -> dict[str, Any]:
    return {"Execute": {"timeout": timeout}} if timeout is not None else {}


def _part(course_dir: Path, step: str, assignment: str, student: str) -> Path:
    return course_dir / "logs" / "parts" / f"{step}-{assignment}-{student}.log"


def _grade_one(course_dir: str, assignment: str, student: str, timeout: int | None) -> bool:
    """nbgrader's autograde and generate_feedback for one student; whether autograde succeeded.

    What nbgrader logs goes to ``logs/parts/``; :func:`_join_logs` puts it in order.
    """
    root = Path(course_dir)
    key = (course_dir, timeout)
    if key not in _APIS:  # a worker keeps its API (config loaded once) for every student
        _APIS[key] = _api(root, **_overrides(timeout))
    api = _APIS[key]
    lock = None  # a database server (PostgreSQL) takes concurrent writers itself
    if api.coursedir.db_url.startswith("sqlite:///"):
        database = Path(api.coursedir.db_url.removeprefix("sqlite:///"))
        lock = database.with_name(database.name + ".lock")
    parts = {step: _part(root, step, assignment, student) for step in ("autograde", "feedback")}
    for path in parts.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")
    with _serialized_gradebook(lock):
        graded = _logged(
            parts["autograde"],
            api.autograde,
            assignment,
            student,
            force=True,
            heading=f"--- {student}\n",
        )
        _logged(
            parts["feedback"],
            api.generate_feedback,
            assignment,
            student,
            force=True,
            heading=f"--- {student}\n",
        )
    return graded


#: The thread pools a kernel's torch (OpenMP) and numpy (BLAS) size from the environment.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _share_cores(jobs: int) -> None:
    """In a worker: the kernels it starts share the cores with the other workers' kernels.

    torch sizes its thread pool to every core, so N kernels at once would each start one
    thread per core and wait on each other: on 2 cores, 2 workers graded only 1.2 times as
    fast as 1 (make bench, section parallel), against 1.8 times with a thread per kernel. A
    variable the instructor set is kept.
    """
    per_kernel = str(max(1, default_jobs() // jobs))
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, per_kernel)


def _grade_class(
    course_dir: Path,
    assignment: str,
    students: list[str],
    timeout: int | None,
    jobs: int,
    bar,
    worker: Callable[[str, str, str, int | None], bool] = _grade_one,
) -> dict[str, bool | None]:
    """Grade ``students`` on ``jobs`` processes: student -> graded (``None``: the process died).

    ``worker`` grades one student (a test passes one that dies).
    """
    args = (str(course_dir), assignment)
    if jobs <= 1:
        graded: dict[str, bool | None] = {}
        for student in students:
            graded[student] = worker(*args, student, timeout)
            bar.update(1)
        return graded
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # Forked workers start at once with nbgrader already imported (importing it takes ~5 s,
    # which a fresh "spawn" interpreter would pay again); elsewhere a fresh interpreter.
    linux = sys.platform.startswith("linux")
    context = multiprocessing.get_context("fork" if linux else "spawn")
    graded, orphans = {}, []
    cores = {"initializer": _share_cores, "initargs": (jobs,)}
    with ProcessPoolExecutor(min(jobs, len(students)), mp_context=context, **cores) as pool:
        futures = {pool.submit(worker, *args, s, timeout): s for s in students}
        for future in as_completed(futures):
            try:
                graded[futures[future]] = future.result()
            except BrokenProcessPool:  # a worker died: every unfinished student comes here
                orphans.append(futures[future])
                continue
            bar.update(1)

    def alone(student: str) -> bool | None:  # a process of its own: a death is pinned on it
        with ProcessPoolExecutor(1, mp_context=context, **cores) as pool:
            try:
                return pool.submit(worker, *args, student, timeout).result()
            except BrokenProcessPool:
                return None

    with ThreadPoolExecutor(jobs) as threads:
        for student, result in zip(orphans, threads.map(alone, orphans), strict=True):
            graded[student] = result
            bar.update(1)
    return graded


def _join_logs(course_dir: Path, step: str, assignment: str, students: list[str]) -> Path:
    """``logs/<step>-<assignment>.log``: the students' parts in order (then removed)."""
    log = _fresh_log(course_dir, f"{step}-{assignment}.log")
    with open(log, "a", encoding="utf-8") as out:
        for student in students:
            part = _part(course_dir, step, assignment, student)
            if part.exists():
                out.write(part.read_text(encoding="utf-8"))
                part.unlink()
    with contextlib.suppress(OSError):
        _part(course_dir, step, assignment, "x").parent.rmdir()
    return log


# --- the commands ------------------------------------------------------------------------------


def _assignments(api, names: list[str] | None) -> list[str]:
    known = sorted(api.get_source_assignments())
    unknown = [name for name in names or [] if name not in known]
    if unknown:
        source = Path(api.coursedir.root) / api.coursedir.source_directory
        raise ValueError(f"no assignment {unknown[0]!r} in {source}: {', '.join(known)}")
    return names or known


def default_jobs() -> int:
    """Worker processes for ``autograde``: the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def autograde(
    course_dir: Path,
    names: list[str] | None = None,
    *,
    timeout: int | None = None,
    jobs: int | None = None,
    out=sys.stdout,
) -> dict[str, list[Outcome]]:
    """Autograde collected submissions of each assignment; see the module docstring.

    ``jobs`` worker processes grade at once (default :func:`default_jobs`; 1 grades in this
    process). Returns the outcomes per assignment, one per student with a submission.
    """
    course_dir = Path(course_dir).resolve()
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, not {jobs}")
    if jobs > 1 and sys.platform == "win32":
        jobs = 1  # the gradebook lock is fcntl's
    api = _api(course_dir, **_overrides(timeout))
    coursedir = api.coursedir
    results: dict[str, list[Outcome]] = {}
    for assignment in _assignments(api, names):
        students = sorted(api.get_submitted_students(assignment))
        if not students:
            print(f"{assignment}: no submissions collected; skipped", file=out)
            continue
        notebooks = _notebook_names(api, assignment)
        outcomes, unreadable = {}, set()
        for student in students:
            folder = _folder(api, coursedir.submitted_directory, student, assignment)
            outcomes[student], bad = _preflight(folder, assignment, student, notebooks)
            if bad:
                unreadable.add(student)
        with _progress(len(students), assignment) as bar:
            graded = _grade_class(course_dir, assignment, students, timeout, jobs, bar)
        log = _join_logs(course_dir, "autograde", assignment, students)
        _join_logs(course_dir, "feedback", assignment, students)
        _read_gradebook(api, assignment, outcomes)
        for student, outcome in outcomes.items():
            folder = _folder(api, coursedir.autograded_directory, student, assignment)
            submitted = _folder(api, coursedir.submitted_directory, student, assignment)
            outcome.graded = bool(graded.get(student)) and folder.is_dir()
            if graded.get(student, False) is None:
                outcome.notes.append(f"the grading process died: see {log.name}")
            elif not outcome.graded and student not in unreadable and not outcome.notes:
                outcome.notes.append(f"nbgrader could not grade it: see {log.name}")
            for name in notebooks if outcome.graded else []:
                if (folder / name).exists():
                    outcome.notes += _inspect_notebook(folder / name, submitted / name)
        for outcome in outcomes.values():
            _write_feedback(
                _folder(api, coursedir.feedback_directory, outcome.student, assignment),
                outcome,
                notebooks,
            )
        results[assignment] = list(outcomes.values())
        _report(course_dir, assignment, results[assignment], out)
    return results


def _report(course_dir: Path, assignment: str, outcomes: list[Outcome], out) -> None:
    rows = [o.row() for o in outcomes]
    path = course_dir / "reports" / f"{assignment}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    width = max(len(r["student"]) for r in rows)
    print(f"\n{assignment}: {len(rows)} submissions (table in {path})", file=out)
    for r in rows:
        score = f"{r['score'] or '-':>5}/{r['max_score'] or '-':<5}"
        line = f"  {r['student']:<{width}}  {score} {r['status']}"
        print(line + (f": {r['notes']}" if r["notes"] else ""), file=out)


def release(course_dir: Path, names: list[str] | None = None, *, out=sys.stdout) -> None:
    """``generate_assignment`` and ``release_assignment --force`` for each assignment."""
    course_dir = Path(course_dir).resolve()
    api = _api(course_dir, ExchangeReleaseAssignment={"force": True})
    todo = _assignments(api, names)
    steps = (  # release_assignment's --force is the config override above
        ("generate_assignment", api.generate_assignment, {"force": True}),
        ("release_assignment", api.release_assignment, {}),
    )
    with _progress(len(todo), "release") as bar:
        for assignment in todo:
            for step, run, options in steps:
                log = _fresh_log(course_dir, f"{step}-{assignment}.log")
                if not _logged(log, run, assignment, **options):
                    raise RuntimeError(f"nbgrader {step} {assignment} failed: see {log}")
            bar.update(1)
    print(f"released: {', '.join(todo)}", file=out)


def report(course_dir: Path, assignment: str, *, out=sys.stdout) -> tuple[Path, Path]:
    """Item analysis of a graded assignment: ``reports/<assignment>-items.csv`` and ``.html``.

    See :mod:`vglib.item_analysis`. Scores come from the gradebook, letters and failure
    messages from the autograded notebooks. Returns the two paths.
    """
    from vglib.item_analysis import analyze, write_report

    course_dir = Path(course_dir).resolve()
    api = _api(course_dir)
    _assignments(api, [assignment])
    coursedir = api.coursedir

    def autograded(student: str, notebook: str) -> Path:
        folder = _folder(api, coursedir.autograded_directory, student, assignment)
        return folder / f"{notebook}.ipynb"

    items = analyze(coursedir.db_url, assignment, autograded)
    if not any(item.students for item in items):
        raise ValueError(f"no graded submissions of {assignment!r} in the gradebook")
    paths = write_report(items, assignment, course_dir / "reports")
    width = max(len(item.cell) for item in items)
    print(f"{assignment}: {len(items)} graded cells ({paths[0]}, {paths[1].name})", file=out)
    for item in items:
        row = item.row()
        extra = ""
        if item.kind == "multiple choice" and row["top_distractor"]:
            extra = f"  most chosen distractor {row['top_distractor']} ({row['top_distractor_students']})"
        elif item.kind == "coding test" and item.failed:
            extra = f"  failed by {row['failed']}: {row['top_failure']}"
        print(
            f"  {item.cell:<{width}}  difficulty {row['difficulty'] or '-':>5}  "
            f"discrimination {row['discrimination'] or '-':>6}{extra}",
            file=out,
        )
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vglib.classroom", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--course-dir", type=Path, default=Path.cwd(), help="default: here")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="generate and release assignments (default: all)")
    rel.add_argument("assignments", nargs="*")
    grade = sub.add_parser("autograde", help="autograde, feedback and a table (default: all)")
    grade.add_argument("assignments", nargs="*")
    grade.add_argument("--timeout", type=int, help="seconds per cell (default: the config's)")
    grade.add_argument(
        "--jobs",
        type=int,
        default=None,
        help=f"worker processes (default: the number of cores, here {default_jobs()})",
    )
    items = sub.add_parser("report", help="item analysis of a graded assignment")
    items.add_argument("assignment")
    fb = sub.add_parser("feedback", help="regenerate feedback after hand grading (vglib.feedback)")
    fb.add_argument("assignments", nargs="*")
    pub = sub.add_parser("publish", help="write the public course, without instructor material")
    pub.add_argument("out", type=Path, help="a new folder")
    pub.add_argument("--assignments", nargs="+", help="release only these (default: all)")
    args = parser.parse_args(argv)
    if not (args.course_dir / "nbgrader_config.py").exists():
        parser.error(f"{args.course_dir} has no nbgrader_config.py: run from exercises/")
    try:
        if args.command == "release":
            release(args.course_dir, args.assignments)
        elif args.command == "report":
            report(args.course_dir, args.assignment, out=sys.stdout)
        elif args.command == "feedback":
            from vglib.feedback import refresh_feedback

            refresh_feedback(args.course_dir, args.assignments)
        elif args.command == "publish":
            from vglib.publish import publish

            done = publish(args.out, course_dir=args.course_dir, assignments=args.assignments)
            print(f"public course in {args.out}, released: {', '.join(done)}")
        else:
            autograde(args.course_dir, args.assignments, timeout=args.timeout, jobs=args.jobs)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
