"""A stand-in for grading one student, for vglib.classroom's worker pool (test_classroom.py).

Its own small module so that the spawned worker processes import nothing heavy.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def dies_on_mallory(course_dir: str, assignment: str, student: str, timeout) -> bool:
    """Mark ``student`` graded in ``course_dir``; the process dies on mallory's submission."""
    if student == "mallory":
        os._exit(1)
    time.sleep(0.2)
    Path(course_dir, student).write_text("graded")
    return True
