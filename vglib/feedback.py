"""Feedback regenerated after hand grading, so that students see the grades of the open answers.

``python -m vglib.classroom autograde`` writes feedback right after autograding, when the
open answers are not graded yet. nbgrader's ``generate_feedback`` skips feedback that
already exists, so after grading by hand in the formgrader the old pages (0 of 4 for the
open answer) would be released. Run, before ``nbgrader release_feedback``::

    python -m vglib.classroom feedback initialization

It regenerates every feedback page of the assignment from the gradebook
(``generate_feedback --force``), puts the outcome banner back on top of each (the problems
``autograde`` found, kept in ``reports/<assignment>.csv``, with the gradebook's current
score, which now says whether the answers graded by hand are in), and rewrites the table.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from vglib.classroom import (
    Outcome,
    _api,
    _assignments,
    _folder,
    _fresh_log,
    _logged,
    _notebook_names,
    _read_gradebook,
    _report,
    _write_feedback,
)

__all__ = ["refresh_feedback"]

#: Notes that the gradebook gives afresh (lateness), so not taken over from the table.
_FROM_GRADEBOOK = re.compile(r"^submitted .* after the due date")


def _outcomes_from_report(path: Path, assignment: str) -> dict[str, Outcome]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    outcomes = {}
    for row in rows:
        notes = [n for n in row["notes"].split("; ") if n and not _FROM_GRADEBOOK.match(n)]
        graded = row["status"] != "not graded"
        outcomes[row["student"]] = Outcome(row["student"], assignment, graded=graded, notes=notes)
    return outcomes


def refresh_feedback(
    course_dir: Path, names: list[str] | None = None, *, out=sys.stdout
) -> dict[str, list[Outcome]]:
    """Regenerate the feedback of each autograded assignment from the gradebook.

    Returns the outcomes per assignment, with the current scores.
    """
    course_dir = Path(course_dir).resolve()
    api = _api(course_dir)
    results: dict[str, list[Outcome]] = {}
    for assignment in _assignments(api, names):
        report = course_dir / "reports" / f"{assignment}.csv"
        if not report.exists():
            if names:
                raise ValueError(f"{assignment} is not autograded yet (no {report})")
            continue
        outcomes = _outcomes_from_report(report, assignment)
        _read_gradebook(api, assignment, outcomes)
        log = _fresh_log(course_dir, f"feedback-{assignment}.log")
        if not _logged(log, api.generate_feedback, assignment, force=True):
            raise RuntimeError(f"nbgrader generate_feedback {assignment} failed: see {log}")
        notebooks = _notebook_names(api, assignment)
        for outcome in outcomes.values():
            folder = _folder(api, api.coursedir.feedback_directory, outcome.student, assignment)
            _write_feedback(folder, outcome, notebooks)
        results[assignment] = list(outcomes.values())
        _report(course_dir, assignment, results[assignment], out)
    return results
