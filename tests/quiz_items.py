"""The multiple-choice questions of the course, read from the source notebooks.

A question is a markdown cell ``**Question N.** stem`` followed by options ``* A) ...`` to
``* D) ...``; its hidden test calls ``check_answer(assignment, "qN", qN, digest, why=...)``.
The key is recovered from the digest (four letters to try), never read from a solution.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import nbformat
from nbgrader_course import ASSIGNMENTS, source_notebook

from vglib.grading import CHOICES, answer_digest

_QUESTION = re.compile(r"^\*\*Question (\d+)\.\*\*\s*(.*?)\n\s*\n(.*)$", re.S)
_OPTION = re.compile(r"^\* ([A-D])\) (.*)$")


@dataclass(frozen=True)
class Question:
    assignment: str
    name: str  # "q1"
    stem: str
    options: dict[str, str]  # letter -> option text (raw markdown after "X) ")
    key: str
    why: str

    @property
    def distractors(self) -> list[str]:
        return [text for letter, text in self.options.items() if letter != self.key]

    @property
    def key_is_longest(self) -> bool:
        return all(len(self.options[self.key]) > len(d) for d in self.distractors)

    @property
    def length_ratio(self) -> float:
        return len(self.options[self.key]) / (
            sum(map(len, self.distractors)) / len(self.distractors)
        )


def _checks(source: str) -> list[tuple[str, str, str]]:
    """(question, digest, why) of every check_answer call in a test cell's source."""
    code = "\n".join(line for line in source.splitlines() if "HIDDEN TESTS" not in line)
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check_answer":
            question, digest = ast.literal_eval(node.args[1]), ast.literal_eval(node.args[3])
            why = next((ast.literal_eval(k.value) for k in node.keywords if k.arg == "why"), "")
            found.append((question, digest, why))
    return found


def questions(assignment: str) -> list[Question]:
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    texts: dict[str, tuple[str, dict[str, str]]] = {}
    checks: dict[str, tuple[str, str]] = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = _QUESTION.match(cell.source.strip())
            if match:
                options = {}
                for line in match.group(3).splitlines():
                    option = _OPTION.match(line.strip())
                    if option:
                        options[option.group(1)] = option.group(2).strip()
                    elif line.strip() and options:  # an option wrapped over several lines
                        last = list(options)[-1]
                        options[last] += " " + line.strip()
                texts[f"q{match.group(1)}"] = (" ".join(match.group(2).split()), options)
        elif cell.cell_type == "code" and "check_answer(" in cell.source:
            for question, digest, why in _checks(cell.source):
                checks[question] = (digest, why)
    out = []
    for name, (stem, options) in texts.items():
        assert name in checks, f"{assignment} {name}: no hidden check_answer test"
        digest, why = checks[name]
        keys = [x for x in CHOICES if answer_digest(assignment, name, x) == digest]
        assert len(keys) == 1, f"{assignment} {name}: the digest matches {keys}"
        out.append(Question(assignment, name, stem, options, keys[0], why))
    return out


def all_questions() -> list[Question]:
    return [q for assignment in ASSIGNMENTS for q in questions(assignment)]
