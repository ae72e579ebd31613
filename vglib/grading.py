"""Multiple-choice answers checked without the key in clear.

The course's nbgrader assignments check a multiple-choice answer against a salted SHA-256
digest, so that the expected letter appears neither in the released notebook nor in the
feedback a student receives (which shows the hidden tests' failure messages, not their
source). A salt per assignment and question makes the digests of two questions differ
even when they have the same answer.

Instructors compute the digests to paste into a hidden test with::

    python -m vglib.grading initialization q1=B q2=D

This is not cryptography: with four letters to try, a determined student can recover an
answer from its digest by hand. It keeps keys out of sight, as nbgrader's own hashed tests
do, and out of anything the course renders.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHOICES",
    "AssignmentSummary",
    "answer_digest",
    "check_answer",
    "hidden_case",
    "normalize_choice",
    "summarize_assignment",
]

#: The letters a multiple-choice answer may take.
CHOICES = ("A", "B", "C", "D")

_SALT = "vanishing-gradients/{assignment}/v1"


def normalize_choice(answer: object) -> str:
    """``' b '`` -> ``'B'``; anything but a string -> ``''``."""
    return answer.strip().upper() if isinstance(answer, str) else ""


def answer_digest(assignment: str, question: str, answer: object) -> str:
    """Salted SHA-256 hex digest of the normalized ``answer`` to ``question`` of ``assignment``.

    Parameters
    ----------
    assignment : str
        The nbgrader assignment name, e.g. ``"initialization"``.
    question : str
        The variable that holds the answer, e.g. ``"q1"``.
    answer : object
        The student's answer; case and surrounding spaces do not matter.
    """
    salt = _SALT.format(assignment=assignment)
    text = f"{salt}:{question}:{normalize_choice(answer)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_answer(
    assignment: str, question: str, answer: object, digest: str, *, why: str = ""
) -> None:
    """Raise ``AssertionError`` unless ``answer`` is the one whose digest is ``digest``.

    The message names the letter given, never the expected one. ``why`` explains the key
    (which misconception each wrong option holds); it belongs in the hidden test, so the
    student reads it only in the feedback generated after grading, never in the release.
    """
    letter = normalize_choice(answer)
    if letter not in CHOICES:
        raise AssertionError(f"{question} should be one of {', '.join(CHOICES)}; got {answer!r}")
    if answer_digest(assignment, question, letter) != digest:
        message = f"{question}: the expected answer is another letter than {letter!r}"
        raise AssertionError(f"{message}. {why.strip()}" if why.strip() else message)


@contextlib.contextmanager
def hidden_case(description: str) -> Iterator[None]:
    """Name the hidden case when the student's code raises inside it.

    Feedback shows only the last line of a failing test cell; a bare ``RuntimeError`` from
    deep inside torch does not say which case ran. Wrap each hidden call::

        with hidden_case("3-class tanh network, batch of 5"):
            got = backprop(net, X, y)

    An ``AssertionError`` passes through unchanged (the test's own message already says
    what was checked); any other exception becomes an ``AssertionError`` that starts with
    ``hidden test, <description>:`` and ends with the original error's type and message.
    """
    try:
        yield
    except AssertionError:
        raise
    except Exception as err:
        raise AssertionError(
            f"hidden test, {description}: your code raised {type(err).__name__}: {err}"
        ) from None


@dataclass(frozen=True)
class AssignmentSummary:
    """What an assignment asks for, counted from its nbgrader metadata (never its content)."""

    name: str
    title: str
    coding_tests: int
    multiple_choice: int
    open_questions: int
    auto_points: float
    manual_points: float


#: The grade_id of a multiple-choice question's test cell.
_MCQ_TEST = re.compile(r"test_q\d+")


def summarize_assignment(path: str | Path) -> AssignmentSummary:
    """Count the graded cells and points of an nbgrader notebook at ``path``.

    The source notebook and its released version give the same summary.
    """
    path = Path(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable notebook: {err}") from err
    coding = mcq = open_q = 0
    auto = manual = 0.0
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade"):
            continue
        source = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown":
            open_q += 1
            manual += meta.get("points", 0)
        else:
            auto += meta.get("points", 0)
            # a released notebook has no hidden tests: there the test cell's name tells
            if "check_answer(" in source or _MCQ_TEST.fullmatch(meta.get("grade_id", "")):
                mcq += 1
            else:
                coding += 1
    first = "".join(nb["cells"][0].get("source", [])).splitlines() if nb.get("cells") else []
    title = first[0].lstrip("# ").strip() if first else path.stem
    return AssignmentSummary(path.stem, title, coding, mcq, open_q, auto, manual)


def main(argv: list[str] | None = None) -> int:
    """Print the digest of each ``question=letter`` pair for one assignment."""
    parser = argparse.ArgumentParser(
        prog="python -m vglib.grading",
        description="Digests of multiple-choice answers, for the hidden tests of an assignment.",
    )
    parser.add_argument("assignment", help="the nbgrader assignment name")
    parser.add_argument("answers", nargs="+", metavar="QUESTION=LETTER", help="e.g. q1=B")
    args = parser.parse_args(argv)
    for pair in args.answers:
        question, sep, letter = pair.partition("=")
        if not sep or not question or normalize_choice(letter) not in CHOICES:
            parser.error(f"{pair!r}: expected QUESTION=LETTER with a letter in {CHOICES}")
        print(f"{question} {answer_digest(args.assignment, question, letter)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
