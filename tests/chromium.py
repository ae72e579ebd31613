"""The Debian Chromium the browser tests drive (tests/test_browser.py, tests/test_hub.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The flags a root, offline, headless machine needs (no sandbox as root; no background
# connections that a closed network refuses).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip (a failure under VGLIB_STRICT) when Debian's Chromium is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}; install Debian's `chromium` package")
