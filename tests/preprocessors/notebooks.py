"""Small synthetic notebooks for the preprocessor tests, built with nbformat.

Cells carry nbgrader's cell metadata (schema 3) the way the course's assignments do: a
solution cell (the student's answer), a grade cell (a locked test worth points), or a plain
cell without nbgrader metadata.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _nbgrader(cell: NotebookNode, grade_id: str, *, solution=False, grade=False, points=0.0):
    cell.metadata.nbgrader = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": not solution,
        "points": points,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    return cell


def solution_cell(source: str, grade_id: str = "answer", cell_type: str = "code") -> NotebookNode:
    """A cell the student answers in."""
    new = new_code_cell if cell_type == "code" else new_markdown_cell
    return _nbgrader(new(source), grade_id, solution=True)


def grade_cell(
    source: str, grade_id: str = "test", points: float = 1.0, outputs=()
) -> NotebookNode:
    """A locked test cell worth ``points``, with the given outputs (as if executed)."""
    cell = _nbgrader(new_code_cell(source), grade_id, grade=True, points=points)
    cell.outputs = list(outputs)
    return cell


def plain_cell(source: str, outputs=()) -> NotebookNode:
    """A code cell without nbgrader metadata."""
    cell = new_code_cell(source)
    cell.outputs = list(outputs)
    return cell


def error(ename: str = "AssertionError", evalue: str = "q1: expected B") -> NotebookNode:
    """An error output with a multi-line traceback that quotes test source."""
    return new_output(
        "error",
        ename=ename,
        evalue=evalue,
        traceback=[
            "Traceback (most recent call last):",
            '  Cell In[3], line 2\n    assert q1 == "B", "q1: expected B"  # hidden test',
            f"{ename}: {evalue}",
        ],
    )


def stream(name: str, text: str) -> NotebookNode:
    return new_output("stream", name=name, text=text)


def notebook(*cells: NotebookNode) -> NotebookNode:
    return new_notebook(cells=list(cells), metadata={"kernelspec": dict(KERNELSPEC)})
