"""Known-wrong and legitimately different answers to the coding tasks, declared per assignment.

Each ``tests/mutants/<assignment>.py`` defines ``VARIANTS``, a tuple of :func:`wrong` and
:func:`right` declarations. ``tests/test_mutants.py`` fills a copy of the released notebook
with the solutions, replaces one answer cell by the variant's source, and grades it with the
real ``nbgrader autograde`` and ``generate_feedback``:

* a **wrong** variant (a real misconception: a missing σ' factor, fan-out for fan-in, value
  clipping for norm clipping ...) must lose points, its feedback must contain every string
  in ``feedback`` (what went wrong, in the words of the failing test), and the feedback must
  not reveal the solution;
* a **right** variant (an answer the task text allows: an equivalent formula, float64
  accumulation, a float where a tensor is allowed, an allowed library call) must get every
  autograded point, with nothing printed to stderr costing anything.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """One answer cell's replacement. ``cell`` is the grade_id of the answer cell."""

    cell: str
    name: str
    source: str
    correct: bool
    feedback: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        kind = "right" if self.correct else "wrong"
        text = "".join(ch if ch.isalnum() else "_" for ch in self.name.lower())
        return f"{kind}_{self.cell}_{text}"[:60].strip("_")


def wrong(cell: str, misconception: str, source: str, *, feedback: tuple[str, ...]) -> Variant:
    """A known-wrong answer to ``cell``: it must lose points and its feedback name the fault."""
    if not feedback:
        raise ValueError(f"wrong({cell!r}, {misconception!r}) needs the feedback it must produce")
    return Variant(cell, misconception, textwrap.dedent(source).strip("\n"), False, tuple(feedback))


def right(cell: str, alternative: str, source: str) -> Variant:
    """A legitimate alternative answer to ``cell``: it must get full marks."""
    return Variant(cell, alternative, textwrap.dedent(source).strip("\n"), True)
