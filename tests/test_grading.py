"""vglib.grading: hashed multiple-choice keys and assignment summaries (fast, no nbgrader)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from nbgrader_course import ASSIGNMENTS, points, source_notebook

from vglib.grading import (
    CHOICES,
    answer_digest,
    check_answer,
    hidden_case,
    normalize_choice,
    summarize_assignment,
)


def test_normalize_choice():
    assert normalize_choice(" b ") == "B"
    assert normalize_choice(None) == "" and normalize_choice(2) == ""


def test_digests_differ_per_assignment_question_and_letter():
    digests = {
        answer_digest(assignment, question, letter)
        for assignment in ("a", "b")
        for question in ("q1", "q2")
        for letter in CHOICES
    }
    assert len(digests) == 2 * 2 * len(CHOICES)
    assert answer_digest("a", "q1", " c") == answer_digest("a", "q1", "C")
    # the saturating_activations notebook was written with these digests: keep them stable
    assert answer_digest("saturating_activations", "q1", "B") == (
        "bb5aedf322e052397bbd2a4dab245d45af26f97db46fbc035b9ff9e3412874f4"
    )


def test_check_answer_never_names_the_expected_letter():
    digest = answer_digest("demo", "q1", "D")
    check_answer("demo", "q1", "d ", digest)
    for wrong in ("A", "B", "C"):
        with pytest.raises(AssertionError) as err:
            check_answer("demo", "q1", wrong, digest)
        assert f"{wrong!r}" in str(err.value) and "'D'" not in str(err.value)
    with pytest.raises(AssertionError, match="should be one of A, B, C, D; got 'E'"):
        check_answer("demo", "q1", "E", digest)


def test_a_wrong_letter_is_explained_and_a_right_one_is_silent():
    digest = answer_digest("demo", "q1", "D")
    why = "Scaling the learning rate scales every layer's step alike."
    check_answer("demo", "q1", "D", digest, why=why)
    with pytest.raises(AssertionError) as err:
        check_answer("demo", "q1", "A", digest, why=why)
    assert str(err.value).endswith(why) and "'D'" not in str(err.value)


def test_hidden_case_names_the_case_around_errors_from_student_code():
    with pytest.raises(
        AssertionError,
        match=r"^hidden test, 3-class tanh network: your code "
        r"raised RuntimeError: Class values must be smaller",
    ):
        with hidden_case("3-class tanh network"):
            raise RuntimeError("Class values must be smaller than num_classes.")
    with pytest.raises(AssertionError, match=r"^the test's own message$"):
        with hidden_case("any case"):
            raise AssertionError("the test's own message")
    with hidden_case("no error"):
        pass


def test_command_line_prints_digests_and_rejects_bad_pairs():
    ok = subprocess.run(
        [sys.executable, "-m", "vglib.grading", "demo", "q1=D", "q2=a"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0
    assert ok.stdout.split() == [
        "q1",
        answer_digest("demo", "q1", "D"),
        "q2",
        answer_digest("demo", "q2", "A"),
    ]
    bad = subprocess.run(
        [sys.executable, "-m", "vglib.grading", "demo", "q1:D"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "expected QUESTION=LETTER" in bad.stderr


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_summary_counts_match_the_notebook(assignment):
    summary = summarize_assignment(source_notebook(assignment))
    auto, total = points(source_notebook(assignment))
    assert (summary.auto_points, summary.auto_points + summary.manual_points) == (auto, total)
    assert summary.coding_tests >= 2 and summary.multiple_choice >= 3
    assert summary.title.startswith("Assignment")


def test_summary_of_a_broken_file_names_the_file(tmp_path):
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.ipynb is not a readable notebook"):
        summarize_assignment(bad)
