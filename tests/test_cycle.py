"""The local cycle, run as the guides write it, with the real nbgrader command line.

The student guide and the instructor guide mark their runnable command blocks with a
``% cycle: <name>`` line; this test runs each block with bash, in a temporary course and
exchange and a temporary HOME per person, with the assignment's name put in for the
guides' ``initialization`` (this one has an open question graded by hand). A student
submits, resubmits after the first collection, the instructor collects with ``--update``,
autogrades, grades the open answer by hand (through nbgrader's gradebook, as the formgrader
does), regenerates and releases feedback, and the student fetches it: it shows the hand
grade, says the hand-graded answers are in, and shows the student's own run of the
experiment.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbgrader_course import (
    NBGRADER,
    ROOT,
    copy_course,
    course_env,
    nbgrader_meta,
    solved_notebook,
    source_notebook,
)

pytestmark = pytest.mark.slow

ASSIGNMENT = "saturating_activations"
GUIDE_NAME = "initialization"
BLOCK = re.compile(r"^[ \t]*% cycle: (\S+)\n[ \t]*```bash\n(.*?)^[ \t]*```", re.M | re.S)
STUDENT_RUN = "student's run: plain 1.56 ms/step"


def guide_blocks() -> dict[str, str]:
    blocks = {}
    for guide in ("students.md", "instructors.md"):
        text = (ROOT / "guides" / guide).read_text(encoding="utf-8")
        for name, body in BLOCK.findall(text):
            blocks[name] = textwrap.dedent(body).replace(GUIDE_NAME, ASSIGNMENT)
    return blocks


def test_the_guides_mark_every_step_of_the_cycle():
    assert set(guide_blocks()) == {
        "student-setup",
        "student-fetch",
        "student-submit",
        "student-feedback",
        "instructor-release",
        "instructor-grade",
        "instructor-feedback",
    }


def run(script: str, *, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{script}\nexited with {proc.returncode}:\n{output[-6000:]}"
    assert "Exception while loading config file" not in output, output[-6000:]
    return output


def _fill(path: Path, *, solved: bool) -> None:
    """Write the student's work: every answer (or none), and the experiment's own output."""
    nb = solved_notebook(source_notebook(ASSIGNMENT), path) if solved else nbformat.read(path, 4)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == "dilemma_experiment":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=STUDENT_RUN)]
    nbformat.write(nb, path)


def _grade_by_hand(course_dir: Path, student: str, score: float) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        grade = next(g for g in notebook.grades if g.name == "dilemma_answer")
        assert grade.needs_manual_grade
        grade.manual_score = score
        grade.needs_manual_grade = False  # what the formgrader's grade handler does
        gb.db.commit()


def _banner(html: str) -> str:
    match = re.search(r'<div class="vg-outcome".*?<strong>(.*?)</strong>', html, re.S)
    assert match, "no outcome banner"
    return match.group(1)


def test_the_local_cycle_as_the_guides_write_it(tmp_path: Path):
    if not NBGRADER.exists():
        pytest.skip(f"nbgrader is not installed next to {NBGRADER.parent}")
    import pwd

    blocks = guide_blocks()
    course_dir = copy_course(tmp_path / "exercises", (ASSIGNMENT,))
    exchange = course_dir / "exchange"  # the guide's $PWD/exchange, for everyone
    instructor = course_env(tmp_path / "home" / "instructor", exchange)
    student = course_env(tmp_path / "home" / "student", exchange)
    student_id = pwd.getpwuid(os.getuid()).pw_name  # nbgrader names submissions so
    work = tmp_path / "home" / "student" / "assignments" / ASSIGNMENT
    notebook = work / f"{ASSIGNMENT}.ipynb"

    run(blocks["instructor-release"], cwd=course_dir, env=instructor)
    run(blocks["student-setup"], cwd=ROOT, env=student)
    assert (tmp_path / "home" / "student" / ".jupyter" / "nbgrader_config.py").exists()
    run(blocks["student-fetch"], cwd=tmp_path, env=student)
    assert notebook.exists()

    # submit from inside the assignment's folder fails, as the guide says
    inside = subprocess.run(
        [str(NBGRADER), "submit", ASSIGNMENT], cwd=work, env=student, capture_output=True
    )
    assert inside.returncode != 0

    # first submission: nothing answered; collected and graded
    _fill(notebook, solved=False)
    run(blocks["student-submit"], cwd=tmp_path, env=student)
    run(blocks["instructor-grade"], cwd=course_dir, env=instructor)
    report = (course_dir / "reports" / f"{ASSIGNMENT}.csv").read_text(encoding="utf-8")
    assert f"{student_id},{ASSIGNMENT},0," in report

    # resubmission, every answer filled in: collect --update takes it
    _fill(notebook, solved=True)
    run(blocks["student-submit"], cwd=tmp_path, env=student)
    run(blocks["instructor-grade"], cwd=course_dir, env=instructor)
    feedback = course_dir / "feedback" / student_id / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert "added later" in _banner(feedback.read_text(encoding="utf-8"))
    autograded = course_dir / "autograded" / student_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    text = autograded.read_text(encoding="utf-8")
    assert STUDENT_RUN in text and "the grading run" in text, "graders see the student's run"

    # the open answer graded by hand, then the feedback regenerated and released
    _grade_by_hand(course_dir, student_id, 3.0)
    run(blocks["instructor-feedback"], cwd=course_dir, env=instructor)
    run(blocks["student-feedback"], cwd=tmp_path, env=student)
    (page,) = (work / "feedback").glob(f"*/{ASSIGNMENT}.html")
    html = page.read_text(encoding="utf-8")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        submission = gb.find_submission(ASSIGNMENT, student_id)
        total, max_score = submission.score, submission.max_score
    auto = sum(
        nbgrader_meta(c)["points"]
        for c in nbformat.read(source_notebook(ASSIGNMENT), 4).cells
        if nbgrader_meta(c).get("grade") and c.cell_type == "code"
    )
    assert total == auto + 3.0
    banner = _banner(html)
    assert banner == (
        f"Score: {total:g} of {max_score:g} points, including the answers graded by hand."
    )
    assert "3.0 / 4.0" in html, "the hand grade of the open answer"
    assert STUDENT_RUN in html
