"""Shared pieces of the nbgrader tests: the course on disk, nbgrader's command line, answers.

Used by test_nbgrader.py (the round trip of every assignment), test_classroom.py (a class of
broken submissions) and the autograde benchmark.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
SOURCE = EXERCISES / "source"
COURSE_ID = "vanishing-gradients"

# nbgrader runs tools such as alembic from the PATH: the interpreter's own bin/ comes first.
BIN = Path(sys.executable).parent
NBGRADER = BIN / "nbgrader"

#: What nbgrader and vglib.classroom generate in a course directory.
GENERATED = (
    "release",
    "submitted",
    "autograded",
    "feedback",
    "gradebook.db",
    "gradebook.db.lock",
    "*.csv",
    "logs",
    "reports",
    "exchange",
)

#: Every assignment of the course: one folder per assignment under exercises/source/.
ASSIGNMENTS = tuple(sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").exists()))


def source_notebook(assignment: str) -> Path:
    return SOURCE / assignment / f"{assignment}.ipynb"


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def copy_course(dest: Path, assignments: tuple[str, ...] = ASSIGNMENTS) -> Path:
    """A private copy of exercises/ holding only ``assignments``; returns its path."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(EXERCISES / "nbgrader_config.py", dest / "nbgrader_config.py")
    for name in assignments:
        shutil.copytree(SOURCE / name, dest / "source" / name)
    return dest


def course_env(home: Path, exchange: Path, user: str | None = None) -> dict[str, str]:
    """A clean environment: own HOME, no inherited Jupyter settings, the venv first on PATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "NBGRADER", "VG_EXCHANGE", "IPYTHON"))
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        VG_EXCHANGE=str(exchange),
        PYTHONUNBUFFERED="1",
    )
    if user is not None:
        env.update(USER=user, LOGNAME=user)
    return env


def run_nbgrader(*args: str, cwd: Path, env: dict[str, str]) -> str:
    """Run ``nbgrader *args`` and return its combined output; fail loudly on any problem."""
    proc = subprocess.run(
        [str(NBGRADER), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = proc.stdout + proc.stderr
    command = "nbgrader " + " ".join(args)
    assert proc.returncode == 0, f"{command} exited with {proc.returncode}:\n{output[-6000:]}"
    # nbgrader logs a broken config file and carries on with its defaults: catch that here.
    assert "Exception while loading config file" not in output, (
        f"{command}: exercises/nbgrader_config.py failed to load:\n{output[-6000:]}"
    )
    return output


def _strip_solution_delimiters(source: str) -> str:
    return "\n".join(
        line
        for line in source.split("\n")
        if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line
    )


def solved_notebook(source_path: Path, release_path: Path) -> nbformat.NotebookNode:
    """The released notebook with every answer cell filled from the source's solution cell.

    Cells are matched by grade_id; the solution delimiters are dropped, everything else of
    the source cell (e.g. the ``q1 = ""`` stub line above a multiple-choice answer) is kept.
    """
    source = nbformat.read(source_path, as_version=4)
    solutions = {
        nbgrader_meta(cell)["grade_id"]: cell.source
        for cell in source.cells
        if nbgrader_meta(cell).get("solution")
    }
    release = nbformat.read(release_path, as_version=4)
    filled = set()
    for cell in release.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            cell.source = _strip_solution_delimiters(solutions[meta["grade_id"]])
            filled.add(meta["grade_id"])
    assert filled == set(solutions), (
        f"answer cells missing from the release: {set(solutions) - filled}"
    )
    return release


def points(source_path: Path) -> tuple[float, float]:
    """(autograded points, all points) of a source notebook."""
    nb = nbformat.read(source_path, as_version=4)
    graded = [cell for cell in nb.cells if nbgrader_meta(cell).get("grade")]
    auto = sum(nbgrader_meta(c)["points"] for c in graded if c.cell_type == "code")
    return auto, sum(nbgrader_meta(c)["points"] for c in graded)
