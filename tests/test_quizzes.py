"""Multiple-choice questions to item-writing standards: the key cannot be found by its form.

Measured over the whole course (keys recovered from the hidden digests): the key is the
strictly longest option in at most a third of the questions, it is on average no more than
1.2 times as long as the distractors, the keys are spread over A to D, and every question has
four options and an explanation for the feedback.
"""

from __future__ import annotations

from collections import Counter
from statistics import mean

import pytest
from nbgrader_course import ASSIGNMENTS
from quiz_items import all_questions, questions

from vglib.grading import CHOICES

QUESTIONS = all_questions()


def test_the_course_has_quizzes():
    assert len(QUESTIONS) >= 4 * len(ASSIGNMENTS)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_question_has_four_options_and_an_explanation(assignment: str):
    for q in questions(assignment):
        assert sorted(q.options) == list(CHOICES), f"{assignment} {q.name}: {sorted(q.options)}"
        assert len(set(q.options.values())) == 4, f"{assignment} {q.name}: repeated options"
        assert len(q.why.split()) >= 12, f"{assignment} {q.name}: check_answer needs why="


def test_the_key_is_rarely_the_longest_option():
    longest = [f"{q.assignment} {q.name}" for q in QUESTIONS if q.key_is_longest]
    share = len(longest) / len(QUESTIONS)
    print(f"key strictly longest in {len(longest)} of {len(QUESTIONS)} questions ({share:.0%})")
    assert share <= 1 / 3, f"the key is the strictly longest option in {share:.0%}: {longest}"


def test_the_key_is_not_longer_than_the_distractors_on_average():
    ratio = mean(q.length_ratio for q in QUESTIONS)
    print(f"mean key / distractor length ratio {ratio:.2f}")
    worst = sorted(QUESTIONS, key=lambda q: -q.length_ratio)[:3]
    assert ratio <= 1.2, (
        f"keys are {ratio:.2f} times as long as distractors on average; longest keys: "
        + ", ".join(f"{q.assignment} {q.name} ({q.length_ratio:.2f})" for q in worst)
    )


def test_keys_are_spread_over_the_letters():
    counts = Counter(q.key for q in QUESTIONS)
    print("keys per letter:", dict(sorted(counts.items())))
    for letter in CHOICES:
        share = counts[letter] / len(QUESTIONS)
        assert 0.15 <= share <= 0.35, f"{letter} is the key of {share:.0%} of the questions"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_assignment_repeats_one_letter(assignment: str):
    keys = [q.key for q in questions(assignment)]
    assert max(Counter(keys).values()) <= 2, f"{assignment} keys {keys}"
    assert len(set(keys)) >= 3, f"{assignment} keys {keys}"
