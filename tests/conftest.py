"""Shared test set-up.

Under CI (``VGLIB_STRICT=1``, set by ``.ci/run``) a skipped test is reported as a failure:
a check that did not run is not a check that passed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STRICT = os.environ.get("VGLIB_STRICT") == "1"
STRICT_BUILD = ("-n", "-W", "--keep-going")  # nitpicky, every warning an error, report them all


def tool_env(**extra: str) -> dict[str, str]:
    """Environment for subprocesses: the virtualenv's tools first on PATH (nbgrader calls alembic)."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


#: Modules whose expensive module-scoped fixture is parametrized by assignment.
_PER_ASSIGNMENT = {"test_nbgrader": "course", "test_mutants": "graded", "test_classroom": None}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into node ids
def pytest_collection_modifyitems(config, items):
    """Group tests for pytest-xdist (``--dist loadgroup``) so no expensive fixture runs twice.

    Everything that reads the built book shares one worker (the book is built once per
    worker); the tests of one assignment's nbgrader pipeline share one worker, and different
    assignments spread over the workers. Other tests are distributed one by one.
    """
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        group = None
        if "html_dir" in item.fixturenames:
            group = "book"
        elif module in _PER_ASSIGNMENT:
            fixture = _PER_ASSIGNMENT[module]
            params = getattr(getattr(item, "callspec", None), "params", {})
            if fixture is None:
                group = module
            elif fixture in params:
                group = f"{module}:{params[fixture]}"  # xdist: no "]" in a group name
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped under VGLIB_STRICT=1 (CI), which counts as a failure: {report.longrepr}"
        )


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def html_dir(tmp_path_factory) -> Path:
    """The book, built once per session by the real `jupyter-book build -n -W --keep-going`."""
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "--path-output", str(out), *STRICT_BUILD],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=1800,
    )
    assert proc.returncode == 0, f"book build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return out / "_build" / "html"
