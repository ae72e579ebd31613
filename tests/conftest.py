"""Shared test set-up.

Under CI (``VGLIB_STRICT=1``, set by ``.ci/run``) a skipped test is reported as a failure:
a check that did not run is not a check that passed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STRICT = os.environ.get("VGLIB_STRICT") == "1"


def tool_env(**extra: str) -> dict[str, str]:
    """Environment for subprocesses: the virtualenv's tools first on PATH (nbgrader calls alembic)."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


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
