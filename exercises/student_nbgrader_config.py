"""nbgrader configuration for the students of the course "vanishing-gradients".

Copy this file to ``~/.jupyter/nbgrader_config.py`` (a student on their own computer), or
to ``/etc/jupyter/nbgrader_config.py`` in the students' image (on a JupyterHub). Every
``nbgrader`` command a student runs (``fetch_assignment``, ``submit``, ``fetch_feedback``,
``list``) and the Assignments tab then find the course and its exchange without options.

A student's nbgrader reads no course folder: without this file it knows no course and
looks for the exchange in its built-in default, ``/usr/local/share/nbgrader/exchange``
(nbgrader 0.9), and fails with "Unwritable directory, please contact your instructor".
"""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

c.CourseDirectory.course_id = "vanishing-gradients"

# The same exchange as the instructor's (exercises/nbgrader_config.py): VG_EXCHANGE if set,
# else the shared directory of a JupyterHub.
c.Exchange.root = os.environ.get("VG_EXCHANGE", "/srv/nbgrader/exchange")
