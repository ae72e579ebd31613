"""nbgrader configuration of the course "vanishing-gradients".

Run every instructor command from this directory (``exercises/``), e.g.
``nbgrader generate_assignment saturating_activations``. ``source/`` holds the only
hand-kept copy of each assignment; everything else here is generated.

Besides the course layout, this file changes three nbgrader defaults, each to keep the
answers away from students:

* A solution region whose ``BEGIN SOLUTION`` line also says ``(no stub)`` is removed without
  inserting the code stub: the code above the region is then the student's starting point
  (the multiple-choice cells use it, so that the release says ``q1 = ""``).
* Feedback strips hidden tests and mark schemes: by default nbgrader shows both to the
  student, because autograding restores the full test cells and task cells.
* Notebooks executed by nbgrader (autograde, validate) print plain tracebacks: IPython's
  default shows three source lines after the failing one, which would put hidden tests that
  follow a failing visible test into the feedback.
"""

import os
from pathlib import Path

from nbgrader.converters import GenerateAssignment, GenerateFeedback
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions, GetGrades
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


def _replaced(preprocessors, old, new):
    if old not in preprocessors:
        raise RuntimeError(f"nbgrader no longer uses {old.__name__}; update nbgrader_config.py")
    return [new if pp is old else pp for pp in preprocessors]


def _inserted_after(preprocessors, anchor, extra):
    if anchor not in preprocessors:
        raise RuntimeError(f"nbgrader no longer uses {anchor.__name__}; update nbgrader_config.py")
    at = preprocessors.index(anchor) + 1
    return [*preprocessors[:at], *extra, *preprocessors[at:]]


# nbgrader's own pipelines, with the two changes described at the top.
c.GenerateAssignment.preprocessors = _replaced(
    GenerateAssignment.class_traits()["preprocessors"].default(),
    ClearSolutions,
    ClearSolutionsKeepStub,
)
c.GenerateFeedback.preprocessors = _inserted_after(
    GenerateFeedback.class_traits()["preprocessors"].default(),
    GetGrades,
    [ClearHiddenTests, ClearMarkScheme],
)
