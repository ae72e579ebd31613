"""nbgrader settings of every user's server on the course's JupyterHub (deploy/).

The hub points JUPYTER_CONFIG_PATH here, so a student's assignment list, fetch, submit and
validate find the course and its exchange without any file in their home.
"""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

c.CourseDirectory.course_id = "vanishing-gradients"
c.Exchange.root = os.environ.get("VG_EXCHANGE", "/srv/nbgrader/exchange")
