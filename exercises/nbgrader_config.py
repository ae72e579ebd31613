"""nbgrader configuration of the course "vanishing-gradients".

Run every instructor command from this directory (``exercises/``), e.g.
``nbgrader generate_assignment saturating_activations``. ``source/`` holds the only
hand-kept copy of each assignment; everything else here is generated.

Besides the course layout, this file changes nbgrader's defaults in seven ways; the
preprocessors that do it live in :mod:`vglib.nbgrader_preprocessors`, where each is
documented and tested (``tests/preprocessors/``). Three keep the answers away from students:

* A solution region whose ``BEGIN SOLUTION`` line also says ``(no stub)`` is removed without
  inserting the code stub: the code above the region is then the student's starting point
  (the multiple-choice cells use it, so that the release says ``q1 = ""``).
* Feedback strips hidden tests and mark schemes: by default nbgrader shows both to the
  student, because autograding restores the full test cells and task cells.
* Notebooks executed by nbgrader (autograde, validate) print plain tracebacks: IPython's
  default shows three source lines after the failing one, which would put hidden tests that
  follow a failing visible test into the feedback. And in feedback, an error raised in a
  test cell keeps only its last line (``AssertionError: q1: the expected answer is ...``):
  the traceback of a failing hidden test quotes the hidden test's own source.

One keeps what a student measured in front of the grader:

* The outputs of the locked experiments that open questions cite (``dilemma_experiment``)
  are kept from the submission and shown above the grading run's: one of them times
  training steps, and a rerun on the grading machine prints other timings than the ones the
  student cites (``KeepStudentRun`` in place of nbgrader's ``ClearOutput``, ``ShowStudentRun``
  after execution).

Three keep a submission from costing a student more than it must:

* Output on stderr never fails a test: a test fails only when it raises. nbgrader scores a
  graded cell that writes anything to stderr as zero, so a library warning printed while a
  test calls the student's code (torch's "Full backward hook is firing ..." for an allowed
  ``register_full_backward_hook``) would cost points. Autograding turns every stderr stream
  in the notebook into ordinary output, marked ``[stderr]``, before the grades are saved: the
  student still reads it in the feedback.
* Test cells and task cells that a student deleted are put back before grading (nbgrader
  restores edited locked cells from the gradebook anyway; deleted ones only with
  ``OverwriteCells.add_missing_cells``).
* A cell that kills the kernel (``os._exit``, a segfault, running out of memory) no longer
  fails the whole notebook: the cells before it keep their results, the cell itself and
  every later code cell get an error output that says what happened, and the notebook is
  graded like any other (the tests that could not run score zero).
"""

import os
from pathlib import Path

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

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

HERE = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "vanishing-gradients"
c.CourseDirectory.root = str(HERE)

# The exchange is where released assignments wait for students and submissions wait for the
# instructor. On a JupyterHub it is a directory that every user can reach, by default
# /srv/nbgrader/exchange. Students' nbgrader never reads this file: it finds the course and
# the same exchange through student_nbgrader_config.py, copied to their ~/.jupyter (or the
# image's /etc/jupyter); without it nbgrader 0.9 looks in /usr/local/share/nbgrader/exchange.
# To try the whole cycle on one machine, point VG_EXCHANGE at a private directory, e.g.
# `VG_EXCHANGE=$PWD/exchange nbgrader release_assignment ...` (exercises/exchange/ is git-ignored).
c.Exchange.root = os.environ.get("VG_EXCHANGE", "/srv/nbgrader/exchange")

# Per-cell time limit when nbgrader executes a notebook (autograde, validate). The solved
# assignment runs in a few seconds; the limit only stops runaway student code.
c.ExecutePreprocessor.timeout = 60
c.Execute.timeout = 60  # nbgrader's subclass has its own default (30 s); keep both equal
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Plain"]

# Put deleted test and task cells back (with a note in the cell) before grading.
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"


# nbgrader's own pipelines, with the changes described at the top (the classes are in
# vglib/nbgrader_preprocessors.py).
c.GenerateAssignment.preprocessors = replace_preprocessor(
    GenerateAssignment.class_traits()["preprocessors"].default(),
    ClearSolutions,
    ClearSolutionsKeepStub,
)
c.Autograde.sanitize_preprocessors = replace_preprocessor(
    Autograde.class_traits()["sanitize_preprocessors"].default(), ClearOutput, KeepStudentRun
)
c.Autograde.autograde_preprocessors = insert_preprocessors_after(
    replace_preprocessor(
        replace_preprocessor(
            Autograde.class_traits()["autograde_preprocessors"].default(),
            Execute,
            ExecuteSurvivingDeadKernel,
        ),
        IgnorePattern,
        StderrIsNotAFailure,
    ),
    ExecuteSurvivingDeadKernel,
    [ShowStudentRun],
)
c.GenerateFeedback.preprocessors = insert_preprocessors_after(
    GenerateFeedback.class_traits()["preprocessors"].default(),
    GetGrades,
    [ClearHiddenTests, ClearMarkScheme, ShortTestTracebacks],
)
