"""The pipeline helpers, and the pipelines exercises/nbgrader_config.py builds with them."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    Execute,
    GetGrades,
    IgnorePattern,
)
from traitlets.config.loader import PyFileConfigLoader

from vglib.nbgrader_preprocessors import (
    ClearSolutionsKeepStub,
    ExecuteSurvivingDeadKernel,
    KeepStudentRun,
    ShortTestTracebacks,
    ShowStudentRun,
    StderrIsNotAFailure,
    insert_preprocessors_after,
    replace_preprocessor,
)

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"


class A: ...


class B: ...


class C: ...


def test_replace_preprocessor_keeps_the_place():
    assert replace_preprocessor([A, B, C], B, ClearSolutions) == [A, ClearSolutions, C]


def test_insert_preprocessors_after_keeps_the_order():
    assert insert_preprocessors_after([A, C], A, [B, B]) == [A, B, B, C]
    assert insert_preprocessors_after([A, C], C, [B]) == [A, C, B]


def test_a_missing_preprocessor_is_an_error_not_a_silent_default():
    with pytest.raises(RuntimeError, match=r"no longer uses C; update nbgrader_config\.py"):
        replace_preprocessor([A, B], C, A)
    with pytest.raises(RuntimeError, match="no longer uses C"):
        insert_preprocessors_after([A, B], C, [A])


def _default(converter, trait):
    return list(converter.class_traits()[trait].default())


def test_the_course_config_changes_exactly_nbgrader_s_pipelines(monkeypatch):
    monkeypatch.setenv("VG_EXCHANGE", "/nonexistent")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(EXERCISES)).load_config()

    generate = _default(GenerateAssignment, "preprocessors")
    generate[generate.index(ClearSolutions)] = ClearSolutionsKeepStub
    assert config.GenerateAssignment.preprocessors == generate

    sanitize = _default(Autograde, "sanitize_preprocessors")
    sanitize[sanitize.index(ClearOutput)] = KeepStudentRun
    assert config.Autograde.sanitize_preprocessors == sanitize

    autograde = _default(Autograde, "autograde_preprocessors")
    at = autograde.index(Execute)
    autograde[at : at + 1] = [ExecuteSurvivingDeadKernel, ShowStudentRun]
    autograde[autograde.index(IgnorePattern)] = StderrIsNotAFailure
    assert config.Autograde.autograde_preprocessors == autograde

    feedback = _default(GenerateFeedback, "preprocessors")
    at = feedback.index(GetGrades) + 1
    feedback[at:at] = [ClearHiddenTests, ClearMarkScheme, ShortTestTracebacks]
    assert config.GenerateFeedback.preprocessors == feedback
