"""nbgrader configuration of the course "vanishing-gradients".

Run every instructor command from this directory (``exercises/``), e.g.
``nbgrader generate_assignment saturating_activations``. ``source/`` holds the only
hand-kept copy of each assignment; everything else here is generated.

Besides the course layout, this file changes nbgrader's defaults in five ways. Three keep
the answers away from students:

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

from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearMarkScheme,
    ClearSolutions,
    Execute,
    GetGrades,
    IgnorePattern,
    NbGraderPreprocessor,
)
from traitlets import Unicode

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

HERE = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "vanishing-gradients"
c.CourseDirectory.root = str(HERE)

# The exchange is where released assignments wait for students and submissions wait for the
# instructor. On a JupyterHub it is a directory that every user can reach, by default
# /srv/nbgrader/exchange, which is also where the students' own nbgrader looks. To try the
# whole cycle on one machine, point VG_EXCHANGE at a private directory, e.g.
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


class ClearSolutionsKeepStub(ClearSolutions):
    """:class:`ClearSolutions` that also understands regions without a stub.

    A region opened by a line containing both ``BEGIN SOLUTION`` and :attr:`no_stub_marker`
    is deleted outright; every other region gets the usual code or text stub. Plain nbgrader
    treats such a region as an ordinary one (it inserts the stub), so the notebook stays
    valid, and nothing leaks, without this class.
    """

    no_stub_marker = Unicode(
        "(no stub)", help="Marks a BEGIN SOLUTION line whose region gets no stub"
    ).tag(config=True)

    def _replace_solution_region(self, cell, language):
        removed = self._remove_unstubbed_regions(cell)
        replaced = super()._replace_solution_region(cell, language)
        return removed or replaced

    def _remove_unstubbed_regions(self, cell):
        kept, inside, removed = [], False, False
        for line in cell.source.split("\n"):
            if inside:
                if self.begin_solution_delimeter in line:
                    raise RuntimeError("encountered nested begin solution statements")
                if self.end_solution_delimeter in line:
                    inside = False
                continue
            if self.begin_solution_delimeter in line and self.no_stub_marker in line:
                inside = removed = True
                continue
            kept.append(line)
        if inside:
            raise RuntimeError("no end solution statement found")
        if removed:
            cell.source = "\n".join(kept).rstrip("\n")
        return removed


class ExecuteSurvivingDeadKernel(Execute):
    """nbgrader's :class:`Execute`, except that a dead kernel does not fail the notebook.

    Plain nbgrader drops the whole submission from autograding when the kernel dies (the
    student gets no grade and no feedback). Here the cell that killed the kernel and every
    later code cell get an error output saying so, and grading goes on.
    """

    def preprocess(self, nb, resources=None, km=None):
        self._dead_at = None
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError:  # raised again while shutting the dead kernel down
            if self._dead_at is None:
                raise
            return self.nb, self.resources

    def preprocess_cell(self, cell, resources, index):
        if self._dead_at is not None:
            if cell.cell_type == "code":
                cell.outputs = [self._error(f"not run: the kernel died in cell {self._dead_at}")]
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._dead_at = cell.metadata.get("nbgrader", {}).get("grade_id", f"#{index + 1}")
            cell.outputs.append(
                self._error(
                    "the kernel died while running this cell (os._exit, a crash in native "
                    "code or running out of memory); no later cell was run"
                )
            )
            return cell, self.resources

    @staticmethod
    def _error(message):
        return new_output(
            "error", ename="KernelDied", evalue=message, traceback=[f"KernelDied: {message}"]
        )


class ShortTestTracebacks(NbGraderPreprocessor):
    """Reduce every error in an autograded test cell to ``ename: evalue``.

    Tracebacks quote the source lines of the frames they pass through; in a test cell those
    include hidden tests. The students' own cells keep their full tracebacks.
    """

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class StderrIsNotAFailure(NbGraderPreprocessor):
    """Keep what a cell wrote to stderr, but as ordinary output that does not fail a test.

    Runs after execution and before the grades are saved (in place of nbgrader's
    :class:`IgnorePattern`, which would delete matching output instead of keeping it).
    """

    marker = Unicode("[stderr] ", help="Prefix of every line that was written to stderr").tag(
        config=True
    )

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output.name = "stdout"
                    output.text = "".join(
                        self.marker + line for line in output.text.splitlines(keepends=True)
                    )
        return cell, resources


def _replaced(preprocessors, old, new):
    if old not in preprocessors:
        raise RuntimeError(f"nbgrader no longer uses {old.__name__}; update nbgrader_config.py")
    return [new if pp is old else pp for pp in preprocessors]


def _inserted_after(preprocessors, anchor, extra):
    if anchor not in preprocessors:
        raise RuntimeError(f"nbgrader no longer uses {anchor.__name__}; update nbgrader_config.py")
    at = preprocessors.index(anchor) + 1
    return [*preprocessors[:at], *extra, *preprocessors[at:]]


# nbgrader's own pipelines, with the changes described at the top.
c.GenerateAssignment.preprocessors = _replaced(
    GenerateAssignment.class_traits()["preprocessors"].default(),
    ClearSolutions,
    ClearSolutionsKeepStub,
)
c.Autograde.autograde_preprocessors = _replaced(
    _replaced(
        Autograde.class_traits()["autograde_preprocessors"].default(),
        Execute,
        ExecuteSurvivingDeadKernel,
    ),
    IgnorePattern,
    StderrIsNotAFailure,
)
c.GenerateFeedback.preprocessors = _inserted_after(
    GenerateFeedback.class_traits()["preprocessors"].default(),
    GetGrades,
    [ClearHiddenTests, ClearMarkScheme, ShortTestTracebacks],
)
