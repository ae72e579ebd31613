"""Item analysis of one autograded assignment, for the instructor.

For every graded cell of the assignment:

* **difficulty**: the mean share of the cell's points that students got (1 = everyone got
  every point; classical test theory calls this the item's *p*-value);
* **discrimination**: the point-biserial correlation of the cell's score with the rest of
  the score (the student's total minus this cell), over the students with a submission in
  the gradebook. Near zero or negative, the cell does not separate students who know the
  material from those who do not: read it again. Undefined (empty) when everyone got the
  same score on the cell or on the rest;
* for a **multiple-choice question** (a test cell that calls
  :func:`vglib.grading.check_answer`), how many students chose each letter, read from the
  answer cell of each autograded notebook (the letter assigned to ``q1`` and so on), the key (recovered from the digest)
  and the distractor that drew most students: the misconception to teach again;
* for a **coding test**, how many students failed it (scored less than its points) and the
  most common failure message, read from the error output of the autograded notebooks.

Scores come from nbgrader's gradebook (through :class:`nbgrader.api.Gradebook`), so manual
grades entered in the formgrader count; every student with a submission in the gradebook
counts, including one whose file nbgrader could not grade (zero points). Graded cells are
nbgrader's grade cells and tasks; a task worth no points is left out. :func:`write_report` writes the table as CSV and a
self-contained HTML page whose figures are inline SVG. ``python -m vglib.classroom report``
runs it on a course.
"""

from __future__ import annotations

import ast
import csv
import html
import io
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vglib.grading import CHOICES, answer_digest, normalize_choice

__all__ = ["Item", "analyze", "point_biserial", "write_report"]

#: The column of the letter counts that holds blank or invalid answers.
BLANK = "blank"

#: Rules of thumb of classical test theory (Ebel): flag items outside these bounds.
TOO_HARD, TOO_EASY, LOW_DISCRIMINATION = 0.3, 0.9, 0.2

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Item:
    """One graded cell of an assignment and how the class did on it."""

    notebook: str
    cell: str
    kind: str  # "multiple choice", "coding test" or "open answer"
    max_score: float
    scores: dict[str, float]  # student -> points in this cell
    rest: dict[str, float]  # student -> points in every other graded cell of the assignment
    question: str = ""  # the answer variable of a multiple-choice question, e.g. "q1"
    key: str = ""
    choices: dict[str, int] = field(default_factory=dict)  # letter (or BLANK) -> students
    failures: Counter = field(default_factory=Counter)  # failure message -> students

    @property
    def students(self) -> int:
        return len(self.scores)

    @property
    def difficulty(self) -> float | None:
        """Mean share of the points (1 = everyone got every point)."""
        if not self.scores or not self.max_score:
            return None
        return sum(self.scores.values()) / (len(self.scores) * self.max_score)

    @property
    def discrimination(self) -> float | None:
        """Point-biserial correlation of this cell's score with the rest of the score."""
        students = sorted(self.scores)
        return point_biserial([self.scores[s] for s in students], [self.rest[s] for s in students])

    @property
    def top_distractor(self) -> tuple[str, int]:
        """The wrong letter most students chose, and how many (first letter on a tie)."""
        wrong = [
            (n, letter) for letter, n in self.choices.items() if letter not in (self.key, BLANK)
        ]
        best = max(wrong, key=lambda pair: (pair[0], -ord(pair[1][0])), default=(0, ""))
        return (best[1], best[0]) if best[0] else ("", 0)

    @property
    def failed(self) -> int:
        return sum(1 for score in self.scores.values() if score < self.max_score)

    @property
    def top_failure(self) -> tuple[str, int]:
        """The most common failure message and how many students got it."""
        if not self.failures:
            return "", 0
        return min(self.failures.items(), key=lambda pair: (-pair[1], pair[0]))

    @property
    def flags(self) -> list[str]:
        flags = []
        if self.difficulty is not None and self.difficulty < TOO_HARD:
            flags.append("hard")
        if self.difficulty is not None and self.difficulty > TOO_EASY:
            flags.append("easy")
        if self.discrimination is not None and self.discrimination < LOW_DISCRIMINATION:
            flags.append("low discrimination")
        return flags

    def row(self) -> dict[str, str]:
        def number(x: float | None, digits: int = 3) -> str:
            return "" if x is None else f"{x:.{digits}f}"

        distractor, drawn = self.top_distractor
        message, count = self.top_failure
        mcq = self.kind == "multiple choice"
        coding = self.kind == "coding test"
        return {
            "notebook": self.notebook,
            "cell": self.cell,
            "kind": self.kind,
            "max_score": f"{self.max_score:g}",
            "students": str(self.students),
            "difficulty": number(self.difficulty),
            "discrimination": number(self.discrimination),
            "flags": "; ".join(self.flags),
            "question": self.question,
            "key": self.key,
            **{letter: str(self.choices.get(letter, 0)) if mcq else "" for letter in CHOICES},
            BLANK: str(self.choices.get(BLANK, 0)) if mcq else "",
            "top_distractor": distractor,
            "top_distractor_students": str(drawn) if mcq else "",
            "failed": str(self.failed) if coding else "",
            "top_failure": message,
            "top_failure_students": str(count) if coding else "",
        }


def point_biserial(item: list[float], rest: list[float]) -> float | None:
    """Pearson correlation of an item's scores with the rest scores.

    For an item scored right or wrong this is the point-biserial correlation; for partial
    credit it is the item-rest correlation, computed the same way. ``None`` when it is
    undefined: fewer than two students, or no spread in either list.
    """
    n = len(item)
    if n < 2 or len(rest) != n:
        return None
    mean_x, mean_y = sum(item) / n, sum(rest) / n
    sxx = sum((x - mean_x) ** 2 for x in item)
    syy = sum((y - mean_y) ** 2 for y in rest)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(item, rest, strict=True))
    return sxy / math.sqrt(sxx * syy)


# --- reading the autograded notebooks ---------------------------------------------------------


def _checks(source: str) -> list[tuple[str, str, str]]:
    """(assignment, question, digest) of every ``check_answer`` call in a test cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "check_answer"
            and len(node.args) >= 4
        ):
            try:
                args = [ast.literal_eval(node.args[i]) for i in (0, 1, 3)]
            except ValueError:
                continue
            found.append(tuple(args))
    return found


def _answer(source: str, question: str) -> str | None:
    """The string last assigned to ``question`` in a cell (``qN = "<letter>"``), if any."""
    value = None
    try:
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == question for t in node.targets)
                and isinstance(node.value, ast.Constant)
            ):
                value = node.value.value if isinstance(node.value.value, str) else ""
    except SyntaxError:  # the student's cell does not parse: read the line itself
        pattern = rf"^\s*{re.escape(question)}\s*=\s*[\"']([^\"']*)[\"']"
        matches = re.findall(pattern, source, flags=re.M)
        value = matches[-1] if matches else None
    return value


def _failure(cell) -> str:
    """The last line of the cell's first error output, or a note that there was none."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            evalue = _ANSI.sub("", str(out.get("evalue", ""))).strip()
            last = evalue.splitlines()[-1] if evalue else ""
            text = f"{out.get('ename', 'Error')}: {last}" if last else out.get("ename", "Error")
            return text if len(text) <= 200 else text[:199] + "…"
    return "(no error output)"


def analyze(
    gradebook_url: str,
    assignment: str,
    autograded: Callable[[str, str], Path],
) -> list[Item]:
    """The items of ``assignment``: scores from the gradebook, answers from the notebooks.

    Parameters
    ----------
    gradebook_url : str
        nbgrader's database URL, e.g. ``"sqlite:///exercises/gradebook.db"``.
    assignment : str
        The assignment's name.
    autograded : callable
        ``autograded(student, notebook)`` is the path of a student's autograded notebook
        (``notebook`` without ``.ipynb``); a missing file leaves the student's letters
        uncounted and failure messages unread, but not their scores.
    """
    import nbformat
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url) as gb:
        cells: dict[tuple[str, str], tuple[float, str]] = {}
        for notebook in gb.find_assignment(assignment).notebooks:
            # grade cells (tests, answers graded by hand) and tasks (graded by hand)
            for cell in [*notebook.grade_cells, *notebook.task_cells]:
                cell_type = getattr(cell, "cell_type", "markdown")
                if cell.max_score:  # a task worth no points is not graded
                    cells[(notebook.name, cell.name)] = (cell.max_score, cell_type)
        scores: dict[tuple[str, str], dict[str, float]] = {key: {} for key in cells}
        for submission in gb.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    score = grade.score if grade.score is not None else 0.0
                    if (notebook.name, grade.name) in scores:
                        scores[(notebook.name, grade.name)][submission.student_id] = float(score)
    students = sorted({s for per_cell in scores.values() for s in per_cell})
    totals = {s: sum(per_cell.get(s, 0.0) for per_cell in scores.values()) for s in students}

    items: dict[tuple[str, str], Item] = {}
    for (notebook, name), (max_score, cell_type) in cells.items():
        per_student = {s: scores[(notebook, name)].get(s, 0.0) for s in students}
        kind = "open answer" if cell_type == "markdown" else "coding test"
        items[(notebook, name)] = Item(
            notebook,
            name,
            kind,
            float(max_score),
            per_student,
            {s: totals[s] - per_student[s] for s in students},
        )

    order: dict[tuple[str, str], int] = {}
    for student in students:
        for notebook in sorted({nb for nb, _ in cells}):
            path = autograded(student, notebook)
            if not path.exists():
                continue
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception:  # an autograded notebook nbgrader wrote is readable; be safe
                continue
            solutions = "\n".join(
                c.source
                for c in nb.cells
                if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
            )
            for position, cell in enumerate(nb.cells):
                key = (notebook, cell.metadata.get("nbgrader", {}).get("grade_id", ""))
                if key not in items:
                    continue
                order.setdefault(key, position)
                item = items[key]
                checks = _checks(cell.source) if cell.cell_type == "code" else []
                if checks:
                    owner, question, digest = checks[0]
                    if item.kind != "multiple choice":
                        item.kind, item.question = "multiple choice", question
                        item.choices = {letter: 0 for letter in (*CHOICES, BLANK)}
                        keys = [x for x in CHOICES if answer_digest(owner, question, x) == digest]
                        item.key = keys[0] if len(keys) == 1 else ""
                    letter = normalize_choice(_answer(solutions, question))
                    item.choices[letter if letter in CHOICES else BLANK] += 1
                elif item.kind == "coding test" and item.scores[student] < item.max_score:
                    item.failures[_failure(cell)] += 1
    return sorted(
        items.values(), key=lambda i: (i.notebook, order.get((i.notebook, i.cell), 1e9), i.cell)
    )


# --- the report ------------------------------------------------------------------------------


def _svg(fig) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline in HTML


def _figures(items: list[Item], assignment: str) -> list[tuple[str, str]]:
    """(caption, inline SVG) of each figure."""
    from matplotlib.figure import Figure

    figures = []
    placed = [i for i in items if i.difficulty is not None and i.discrimination is not None]
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    markers = {"multiple choice": "o", "coding test": "s", "open answer": "^"}
    for kind, marker in markers.items():
        group = [i for i in placed if i.kind == kind]
        if group:
            ax.scatter(
                [i.difficulty for i in group],
                [i.discrimination for i in group],
                marker=marker,
                label=kind,
            )
    for i in placed:
        ax.annotate(
            i.cell,
            (i.difficulty, i.discrimination),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.axhline(LOW_DISCRIMINATION, color="0.6", lw=0.8, ls="--")
    ax.axvspan(0, TOO_HARD, color="0.93", zorder=0)
    ax.set(
        xlim=(-0.02, 1.02),
        ylim=(-1.02, 1.02),
        xlabel="difficulty (mean share of points)",
        ylabel="discrimination (item-rest correlation)",
    )
    if placed:
        ax.legend(fontsize=8, loc="lower left")
    figures.append(
        (
            f"{assignment}: difficulty and discrimination of each graded cell "
            f"({len(placed)} of {len(items)} placed; the others have no spread). "
            f"Below the dashed line a cell separates students poorly; the shaded band is "
            f"hard (difficulty under {TOO_HARD}).",
            _svg(fig),
        )
    )

    mcqs = [i for i in items if i.kind == "multiple choice"]
    if mcqs:
        cols = min(3, len(mcqs))
        rows = math.ceil(len(mcqs) / cols)
        fig = Figure(figsize=(2.6 * cols, 2.2 * rows))
        for k, item in enumerate(mcqs):
            ax = fig.add_subplot(rows, cols, k + 1)
            letters = [*CHOICES, BLANK]
            colors = [
                "#009E73" if x == item.key else "0.6" if x == BLANK else "#D55E00" for x in letters
            ]
            ax.bar(letters, [item.choices.get(x, 0) for x in letters], color=colors)
            ax.set_title(f"{item.question or item.cell} (key {item.key or '?'})", fontsize=9)
            ax.tick_params(labelsize=8)
        fig.tight_layout()
        figures.append(
            (
                "Letters chosen in each multiple-choice question: the key in green, the "
                "distractors in orange (the tallest orange bar is the misconception to teach "
                "again), blank or invalid answers in grey.",
                _svg(fig),
            )
        )

    coding = [i for i in items if i.kind == "coding test"]
    if coding:
        fig = Figure(figsize=(6.4, 0.3 * len(coding) + 1.0))
        ax = fig.add_subplot()
        ax.barh([i.cell for i in coding][::-1], [i.failed for i in coding][::-1], color="#0072B2")
        ax.set(xlabel="students who failed the test")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelsize=8)
        figures.append(("Students who failed each coding test.", _svg(fig)))
    return figures


def write_report(items: list[Item], assignment: str, folder: Path) -> tuple[Path, Path]:
    """Write ``<assignment>-items.csv`` and ``<assignment>-items.html`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [item.row() for item in items]
    csv_path = folder / f"{assignment}-items.csv"
    fields = list(Item("", "", "", 1.0, {}, {}).row())
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)

    students = max((item.students for item in items), default=0)
    head = "".join(f"<th>{html.escape(name)}</th>" for name in fields)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(row[name])}</td>" for name in fields) + "</tr>"
        for row in rows
    )
    figures = "".join(
        f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"
        for caption, svg in _figures(items, assignment)
    )
    title = html.escape(f"{assignment}: item analysis")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; max-width: 80em; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.4em; text-align: left; }}
figure {{ margin: 1.5em 0; }} figcaption {{ font-size: 0.9em; max-width: 50em; }}
</style></head><body>
<h1>{title}</h1>
<p>{len(items)} graded cells, {students} students with a submission in the gradebook.
<strong>Difficulty</strong> is the mean share of a cell's points that students got (1: everyone
got every point). <strong>Discrimination</strong> is the point-biserial correlation of the
cell's score with the rest of the score (the total minus the cell); empty when nobody's score
differs. Flags: <em>hard</em> under {TOO_HARD}, <em>easy</em> over {TOO_EASY},
<em>low discrimination</em> under {LOW_DISCRIMINATION}. For a multiple-choice question, the
letters students chose and the distractor that drew most of them; for a coding test, how many
failed it and the most common failure message.</p>
{figures}
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
</body></html>
"""
    html_path = folder / f"{assignment}-items.html"
    html_path.write_text(page, encoding="utf-8")
    return csv_path, html_path
