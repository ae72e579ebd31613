"""Write the public course: everything a reader or a student needs, no instructor material.

The course lives in two repositories. The **private instructor repository** is this whole
tree: ``exercises/source/`` (solutions, hidden tests with the answer digests, the mark
schemes of the open questions), ``tests/`` (among them ``tests/mutants/``, known-wrong and
known-right answers to every task) and the benchmarks. The **public course** is what
``python -m vglib.classroom publish OUT`` writes into ``OUT``:

* the book sources (``_config.yml``, ``_toc.yml``, ``intro.md``, the references,
  ``chapters/``, ``guides/``, ``_static/``), ``binder/``, ``README.md``, ``Makefile`` and
  ``pyproject.toml``, so that ``make book`` builds the same book from ``OUT``;
* the package ``vglib`` (which the released notebooks import);
* ``exercises/release/<assignment>/<assignment>.ipynb``: the student version of every
  assignment, generated afresh by nbgrader's own ``generate_assignment`` (in a scratch copy
  of the course, so the instructor's gradebook is not touched), and
  ``exercises/student_nbgrader_config.py``, the students' nbgrader configuration.

Nothing else of ``exercises/`` and nothing of ``tests/`` or ``benchmarks/`` is copied. The
copy is checked before it is finished: a released notebook that still holds a hidden test
or a mark scheme, or an instructor path that reached ``OUT``, is an error.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

__all__ = ["PUBLIC", "publish"]

#: What the public course holds, relative to the repository root (files and folders).
PUBLIC = (
    "_config.yml",
    "_toc.yml",
    "intro.md",
    "references.bib",
    "references.md",
    "chapters",
    "guides",
    "_static",
    "binder",
    "vglib",
    "README.md",
    "Makefile",
    "pyproject.toml",
    ".gitignore",
    "exercises/student_nbgrader_config.py",
)

#: Never copied, wherever they occur.
_JUNK = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".ipynb_checkpoints", "_build", ".pytest_cache", ".ruff_cache"
)

#: Paths whose presence in ``OUT`` means instructor material got out.
PRIVATE = ("exercises/source", "exercises/nbgrader_config.py", "tests", "benchmarks")

_SECRET_MARKERS = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME")


def _release(course_dir: Path, names: list[str] | None, dest: Path) -> list[str]:
    """Generate the student version of each assignment into ``dest/<assignment>/``."""
    from vglib.classroom import _api, _assignments, _fresh_log, _logged

    with tempfile.TemporaryDirectory(prefix="vglib-publish-") as scratch:
        work = Path(scratch) / "exercises"
        work.mkdir()
        shutil.copy2(course_dir / "nbgrader_config.py", work / "nbgrader_config.py")
        shutil.copytree(course_dir / "source", work / "source", ignore=_JUNK)
        # the config sets CourseDirectory.root to its own folder: the scratch copy
        api = _api(work)
        todo = _assignments(api, names)
        for assignment in todo:
            log = _fresh_log(work, f"generate_assignment-{assignment}.log")
            if not _logged(log, api.generate_assignment, assignment, force=True):
                text = log.read_text(encoding="utf-8")[-3000:]
                raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{text}")
            shutil.copytree(work / "release" / assignment, dest / assignment, ignore=_JUNK)
    return todo


def _check(out: Path) -> None:
    leaked = [path for path in PRIVATE if (out / path).exists()]
    if leaked:
        raise RuntimeError(f"instructor material in the public course: {', '.join(leaked)}")
    for path in (out / "exercises" / "release").rglob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            marker = next((m for m in _SECRET_MARKERS if m in source), None)
            if marker:
                raise RuntimeError(f"{path.relative_to(out)} still holds {marker!r}")


def publish(
    out: Path,
    *,
    course_dir: Path | None = None,
    assignments: list[str] | None = None,
    repo: Path | None = None,
) -> list[str]:
    """Write the public course into ``out`` (see the module docstring).

    Parameters
    ----------
    out : Path
        The folder to write; it must not exist or be empty.
    course_dir : Path, optional
        The nbgrader course (default: ``exercises/`` of ``repo``).
    assignments : list of str, optional
        The assignments to release (default: every one in ``course_dir/source``).
    repo : Path, optional
        The instructor repository (default: the one this ``vglib`` is installed from).

    Returns
    -------
    list of str
        The assignments released into ``out/exercises/release``.
    """
    repo = Path(repo or Path(__file__).resolve().parents[1]).resolve()
    course_dir = Path(course_dir or repo / "exercises").resolve()
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty: publish into a new folder")
    if out == repo or (repo in out.parents and out.relative_to(repo).parts[0] in PUBLIC):
        raise ValueError(f"{out} is inside the files it would copy")
    missing = [name for name in PUBLIC if not (repo / name).exists()]
    if missing:
        raise ValueError(f"{repo} is not the course repository: no {', '.join(missing)}")
    out.mkdir(parents=True, exist_ok=True)
    for name in PUBLIC:
        source, target = repo / name, out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=_JUNK)
        else:
            shutil.copy2(source, target)
    released = _release(course_dir, assignments, out / "exercises" / "release")
    _check(out)
    return released
