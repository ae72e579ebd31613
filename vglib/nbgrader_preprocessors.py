"""The course's changes to nbgrader's pipelines: six preprocessors and two list helpers.

``exercises/nbgrader_config.py`` puts these classes into nbgrader's own preprocessor lists;
this module holds their code, so that the config only configures and the classes can be
tested on small notebooks (``tests/preprocessors/``). Each class changes one default of
nbgrader, for one reason:

* :class:`ClearSolutionsKeepStub` (``generate_assignment``): a solution region whose
  ``BEGIN SOLUTION`` line also says ``(no stub)`` is removed without a stub, so the code
  above it is the student's starting point (a multiple-choice cell releases ``q1 = ""``).
* :class:`ExecuteSurvivingDeadKernel` (``autograde``): a cell that kills the kernel fails
  that cell and the code cells after it, not the whole submission.
* :class:`StderrIsNotAFailure` (``autograde``): what a cell wrote to stderr is kept as
  ordinary output, so a library warning does not score a passing test as zero.
* :class:`KeepStudentRun` and :class:`ShowStudentRun` (``autograde``): the outputs of the
  cells named in ``KeepStudentRun.grade_ids`` (the locked experiments that open questions
  cite, some of which time things) are kept from the submission and shown above the grading
  run's, so that a grader reads the numbers the student saw, not a rerun's.
* :class:`ShortTestTracebacks` (``generate_feedback``): an error in a test cell keeps only
  ``ename: evalue``, so the feedback never quotes hidden tests.

The module is named for nbgrader's preprocessors, not its "plugins" (:mod:`nbgrader.plugins`,
e.g. the ``LateSubmissionPlugin``, are another extension point). Importing it imports
nbgrader, an optional dependency of vglib (the ``course`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode, from_dict
from nbformat.v4 import new_output
from nbgrader.preprocessors import ClearOutput, ClearSolutions, Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import List, Unicode

__all__ = [
    "ClearSolutionsKeepStub",
    "ExecuteSurvivingDeadKernel",
    "KeepStudentRun",
    "ShortTestTracebacks",
    "ShowStudentRun",
    "StderrIsNotAFailure",
    "insert_preprocessors_after",
    "replace_preprocessor",
]


class ClearSolutionsKeepStub(ClearSolutions):
    """:class:`~nbgrader.preprocessors.ClearSolutions` that also understands regions without a stub.

    A region opened by a line containing both ``BEGIN SOLUTION`` and :attr:`no_stub_marker`
    is deleted outright, delimiters included; every other region gets the usual code or
    text stub. Plain nbgrader treats such a region as an ordinary one (it inserts the
    stub), so the notebook stays valid, and nothing leaks, without this class.

    Raises ``RuntimeError`` on a nested ``BEGIN SOLUTION`` or a missing ``END SOLUTION``
    inside a no-stub region, as nbgrader does for ordinary regions.
    """

    no_stub_marker = Unicode(
        "(no stub)", help="Marks a BEGIN SOLUTION line whose region gets no stub"
    ).tag(config=True)

    def _replace_solution_region(self, cell: NotebookNode, language: str) -> bool:
        removed = self._remove_unstubbed_regions(cell)
        replaced = super()._replace_solution_region(cell, language)
        return removed or replaced

    def _remove_unstubbed_regions(self, cell: NotebookNode) -> bool:
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
    """nbgrader's :class:`~nbgrader.preprocessors.Execute`; a dead kernel does not fail the notebook.

    Plain nbgrader drops the whole submission from autograding when the kernel dies
    (``os._exit``, a crash in native code, running out of memory): the student gets no
    grade and no feedback. Here the cell that killed the kernel gets an error output
    ``KernelDied: the kernel died while running this cell ...``, every later code cell an
    error ``KernelDied: not run: the kernel died in <grade_id>``, the cells before keep
    their results, and grading goes on (the tests that could not run score zero).
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
    def _error(message: str) -> NotebookNode:
        return new_output(
            "error", ename="KernelDied", evalue=message, traceback=[f"KernelDied: {message}"]
        )


class ShortTestTracebacks(NbGraderPreprocessor):
    """Reduce every error in a graded (test) cell to one line, ``ename: evalue``.

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

    nbgrader scores a graded cell that wrote anything to stderr as zero, so a library
    warning printed while a test calls the student's code would cost points. This turns
    every stderr stream into a stdout stream whose lines start with :attr:`marker`. It runs
    after execution and before the grades are saved, in place of nbgrader's
    :class:`~nbgrader.preprocessors.IgnorePattern` (which deletes matching output instead
    of keeping it).
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


#: Cell metadata key under which :class:`KeepStudentRun` keeps the submitted outputs.
STUDENT_RUN_KEY = "vglib_student_run"


class KeepStudentRun(ClearOutput):
    """Clear outputs before grading, except the student's run of the listed cells.

    In autograding's first (sanitizing) step, in place of nbgrader's
    :class:`~nbgrader.preprocessors.ClearOutput`. The outputs of a non-graded code cell whose
    grade_id is in :attr:`grade_ids` are moved into the cell's metadata (execution would
    overwrite them); :class:`ShowStudentRun` puts them back after execution. A graded cell
    is never kept: its score must come from the grading run.
    """

    grade_ids = List(
        Unicode(),
        default_value=["dilemma_experiment"],
        help="grade_ids of the cells whose submitted outputs graders must see",
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in self.grade_ids and not is_grade(cell):
            cell.metadata[STUDENT_RUN_KEY] = cell.get("outputs", [])
        return super().preprocess_cell(cell, resources, index)


class ShowStudentRun(NbGraderPreprocessor):
    """Show the student's run of a kept cell above the grading run's (after execution).

    The cell's outputs become: a heading line, the outputs the submission had (or a line
    saying it had none), a second heading, then the outputs of the grading run.
    """

    student_heading = Unicode(
        "--- the student's own run (as submitted; cite and grade these numbers) ---\n",
        help="First line of the kept outputs",
    ).tag(config=True)
    grading_heading = Unicode(
        "--- the grading run (timings differ between machines) ---\n",
        help="Line between the kept outputs and the grading run's",
    ).tag(config=True)
    no_output = Unicode(
        "(the submitted notebook has no output of this cell: the student did not run it "
        "or cleared it)\n",
        help="What stands in for kept outputs that are empty",
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if STUDENT_RUN_KEY not in cell.metadata:
            return cell, resources
        kept = [from_dict(out) for out in cell.metadata.pop(STUDENT_RUN_KEY)]
        if not kept:
            kept = [new_output("stream", name="stdout", text=self.no_output)]
        cell.outputs = [
            new_output("stream", name="stdout", text=self.student_heading),
            *kept,
            new_output("stream", name="stdout", text=self.grading_heading),
            *cell.get("outputs", []),
        ]
        return cell, resources


def replace_preprocessor(preprocessors: Sequence[type], old: type, new: type) -> list[type]:
    """``preprocessors`` with ``new`` in the place of ``old``.

    Parameters
    ----------
    preprocessors
        One of nbgrader's pipelines, e.g. ``GenerateAssignment.preprocessors``' default.
    old, new
        The preprocessor class to replace, and its replacement.

    Raises
    ------
    RuntimeError
        If ``old`` is not in the pipeline (a newer nbgrader changed it): the config must be
        updated rather than silently keep nbgrader's default.
    """
    if old not in preprocessors:
        raise RuntimeError(f"nbgrader no longer uses {old.__name__}; update nbgrader_config.py")
    return [new if pp is old else pp for pp in preprocessors]


def insert_preprocessors_after(
    preprocessors: Sequence[type], anchor: type, extra: Sequence[type]
) -> list[type]:
    """``preprocessors`` with ``extra`` inserted, in order, right after ``anchor``.

    Raises
    ------
    RuntimeError
        If ``anchor`` is not in the pipeline (see :func:`replace_preprocessor`).
    """
    if anchor not in preprocessors:
        raise RuntimeError(f"nbgrader no longer uses {anchor.__name__}; update nbgrader_config.py")
    at = list(preprocessors).index(anchor) + 1
    return [*preprocessors[:at], *extra, *preprocessors[at:]]
