"""The instructor's repeated steps, for every assignment at once, with a verdict per student.

nbgrader does the work; this module adds what a class of real submissions needs around it::

    python -m vglib.classroom release                  # generate + release every assignment
    python -m vglib.classroom autograde                # autograde every collected assignment
    python -m vglib.classroom autograde initialization --timeout 30

Run it from the course directory (``exercises/``) or pass ``--course-dir``. ``autograde``

1. checks each submission before nbgrader sees it: a notebook saved under another name
   (``initialization (1).ipynb``) is copied to the name nbgrader expects, a file that is not
   a readable notebook is reported as such, and lateness is read from the timestamp;
2. runs ``nbgrader autograde`` once per assignment with a progress bar (nbgrader goes on
   with the other students when one submission fails, and so does this);
3. reads every autograded notebook for what went wrong in it (a cell that ran out of
   time, a kernel that died, locked cells that were edited or deleted and put back);
4. generates the feedback, opens every student's feedback page with a short statement of
   the outcome, and writes a page for submissions that could not be graded at all;
5. prints one table of scores and outcomes and writes it to ``reports/<assignment>.csv``.

Grades stay in nbgrader's gradebook (``gradebook.db``): this module only reads it, so
manual grades entered in the formgrader survive autograding again.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import html
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Outcome", "autograde", "main", "release"]

#: Written into the feedback page right after ``<body>``; the class lets a test find it.
BANNER_CLASS = "vg-outcome"

_SKIP_DIRS = {".ipynb_checkpoints"}
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


# --- running nbgrader ---------------------------------------------------------------------------


def _nbgrader() -> list[str]:
    """nbgrader next to this interpreter; its own tools (alembic) on the PATH."""
    bindir = Path(sys.executable).parent
    path = os.environ.get("PATH", "")
    if str(bindir) not in path.split(os.pathsep):
        os.environ["PATH"] = f"{bindir}{os.pathsep}{path}"
    exe = bindir / "nbgrader"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "nbgrader"]


def _run(args: list[str], course_dir: Path, log: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*_nbgrader(), *args], cwd=course_dir, capture_output=True, text=True, check=False
    )
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    return proc


def _progress(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="student", file=sys.stderr, leave=True)


def _stream(args: list[str], course_dir: Path, log: Path, total: int, desc: str) -> int:
    """Run nbgrader, advance a progress bar per submission it starts, keep the full log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = re.compile(r"\] Sanitizing ")
    with open(log, "w", encoding="utf-8") as out, _progress(total, desc) as bar:
        proc = subprocess.Popen(
            [*_nbgrader(), *args],
            cwd=course_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        seen = 0
        for line in proc.stdout:
            out.write(line)
            if started.search(line):
                if seen:
                    bar.update(1)
                seen += 1
        code = proc.wait()
        if seen:
            bar.update(1)
    return code


# --- the course on disk -----------------------------------------------------------------------


def assignments(course_dir: Path) -> list[str]:
    """Every assignment in ``source/``, in name order."""
    source = course_dir / "source"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and p.name not in _SKIP_DIRS)


def _notebook_names(course_dir: Path, assignment: str) -> list[str]:
    return sorted(p.name for p in (course_dir / "source" / assignment).glob("*.ipynb"))


def _students(course_dir: Path, assignment: str) -> list[str]:
    submitted = course_dir / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())


def _parse_time(text: str) -> datetime | None:
    text = text.strip().removesuffix(" UTC").strip()
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _duration(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


# --- before nbgrader: names, readability, lateness --------------------------------------------


def _preflight(course_dir: Path, assignment: str, student: str, duedate: datetime | None):
    """Fix what can be fixed without touching the student's work; report the rest."""
    import nbformat

    outcome = Outcome(student, assignment)
    folder = course_dir / "submitted" / student / assignment
    expected = _notebook_names(course_dir, assignment)
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
    stamp = folder / "timestamp.txt"
    submitted_at = _parse_time(stamp.read_text()) if stamp.exists() else None
    if duedate is not None and submitted_at is not None and submitted_at > duedate:
        late = (submitted_at - duedate).total_seconds()
        outcome.notes.append(f"submitted {_duration(late)} after the due date")
    return outcome, unreadable


# --- after nbgrader: what happened inside each notebook ----------------------------------------


def _inspect_notebook(autograded: Path, release: Path, submitted: Path) -> list[str]:
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
    edited = _edited_locked_cells(release, submitted)
    if edited:
        notes.append(f"edited locked cells restored: {', '.join(edited)}")
    return notes


def _edited_locked_cells(release: Path, submitted: Path) -> list[str]:
    import nbformat

    try:
        original = nbformat.read(release, as_version=4)
        work = nbformat.read(submitted, as_version=4)
    except Exception:
        return []

    def locked(nb):
        return {
            c.metadata["nbgrader"]["grade_id"]: c.source
            for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("locked")
            and "grade_id" in c.metadata.get("nbgrader", {})
        }

    before, after = locked(original), locked(work)
    return [gid for gid, src in before.items() if gid in after and after[gid] != src]


# --- feedback ----------------------------------------------------------------------------------


def _banner(outcome: Outcome) -> str:
    if outcome.graded:
        head = f"Autograded score: {outcome.score:g} of {outcome.max_score:g} points"
        head += " (answers graded by hand are added later)."
    else:
        head = "This submission could not be graded automatically."
    items = "".join(f"<li>{html.escape(note)}</li>" for note in outcome.notes)
    body = f"<ul>{items}</ul>" if items else ""
    return (
        f'<div class="{BANNER_CLASS}" style="border:2px solid #0072B2;padding:0.6em 1em;'
        f'margin:1em;font-family:sans-serif"><strong>{html.escape(head)}</strong>{body}</div>'
    )


def _write_feedback(course_dir: Path, outcome: Outcome, notebooks: list[str]) -> None:
    folder = course_dir / "feedback" / outcome.student / outcome.assignment
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


# --- the commands ------------------------------------------------------------------------------


def _duedate(course_dir: Path, assignment: str) -> datetime | None:
    from nbgrader.api import Gradebook, MissingEntry

    db = course_dir / "gradebook.db"
    if not db.exists():
        return None
    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            due = gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None
    return None if due is None else due.replace(tzinfo=UTC)


def _scores(course_dir: Path, assignment: str, outcomes: dict[str, Outcome]) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        for student, outcome in outcomes.items():
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            outcome.score, outcome.max_score = submission.score, submission.max_score


def autograde(
    course_dir: Path,
    names: list[str] | None = None,
    *,
    timeout: int | None = None,
    out=sys.stdout,
) -> dict[str, list[Outcome]]:
    """Autograde collected submissions of each assignment; see the module docstring.

    Returns the outcomes per assignment, one per student with a submission.
    """
    course_dir = Path(course_dir).resolve()
    results: dict[str, list[Outcome]] = {}
    known = assignments(course_dir)
    unknown = [name for name in names or [] if name not in known]
    if unknown:
        raise ValueError(f"no assignment {unknown[0]!r} in {course_dir}/source: {', '.join(known)}")
    for assignment in names or known:
        students = _students(course_dir, assignment)
        if not students:
            print(f"{assignment}: no submissions collected; skipped", file=out)
            continue
        duedate = _duedate(course_dir, assignment)
        outcomes, unreadable = {}, set()
        for student in students:
            outcomes[student], bad = _preflight(course_dir, assignment, student, duedate)
            if bad:
                unreadable.add(student)
        args = ["autograde", assignment, "--force"]
        if timeout is not None:
            args += [f"--Execute.timeout={timeout}"]
        log = course_dir / "logs" / f"autograde-{assignment}.log"
        _stream(args, course_dir, log, len(students), assignment)
        text = log.read_text(encoding="utf-8")
        failed = set(
            re.findall(rf"processing assignment '{assignment}' for student '([^']+)'", text)
        )
        notebooks = _notebook_names(course_dir, assignment)
        for student, outcome in outcomes.items():
            folder = course_dir / "autograded" / student / assignment
            outcome.graded = student not in failed and folder.is_dir()
            if not outcome.graded and student not in unreadable and not outcome.notes:
                outcome.notes.append(f"nbgrader could not grade it: see {log.name}")
            for name in notebooks if outcome.graded else []:
                if (folder / name).exists():
                    outcome.notes += _inspect_notebook(
                        folder / name,
                        course_dir / "release" / assignment / name,
                        course_dir / "submitted" / student / assignment / name,
                    )
        _scores(course_dir, assignment, outcomes)
        _run(
            ["generate_feedback", assignment, "--force"],
            course_dir,
            course_dir / "logs" / f"feedback-{assignment}.log",
        )
        for outcome in outcomes.values():
            _write_feedback(course_dir, outcome, notebooks)
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
    """``generate_assignment`` and ``release_assignment`` for each assignment."""
    course_dir = Path(course_dir).resolve()
    todo = names or assignments(course_dir)
    with _progress(len(todo), "release") as bar:
        for assignment in todo:
            for step in ("generate_assignment", "release_assignment"):
                log = course_dir / "logs" / f"{step}-{assignment}.log"
                proc = _run([step, assignment, "--force"], course_dir, log)
                if proc.returncode != 0:
                    raise RuntimeError(f"nbgrader {step} {assignment} failed: see {log}")
            bar.update(1)
    print(f"released: {', '.join(todo)}", file=out)


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
    args = parser.parse_args(argv)
    if not (args.course_dir / "nbgrader_config.py").exists():
        parser.error(f"{args.course_dir} has no nbgrader_config.py: run from exercises/")
    try:
        if args.command == "release":
            release(args.course_dir, args.assignments)
        else:
            autograde(args.course_dir, args.assignments, timeout=args.timeout)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
