"""nbgrader settings of every user's server on the course's JupyterHub (deploy/).

The hub points JUPYTER_CONFIG_PATH here, so a student's assignment list, fetch, submit and
validate find the course and its exchange without any file in their home.

Submissions are made readable by the course's grader only. nbgrader itself leaves a
submission in the exchange's inbox readable and writable by every user (files 644 in a
folder 777): other students cannot list the inbox, but anyone who learns a submission's
name can read or replace it.
"""

import os
import shutil
from pathlib import Path

from nbgrader.exchange.default.submit import ExchangeSubmit

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

c.CourseDirectory.course_id = "vanishing-gradients"
c.Exchange.root = os.environ.get("VG_EXCHANGE", "/srv/nbgrader/exchange")


class SubmitForTheGraderOnly(ExchangeSubmit):
    """nbgrader's submit; then the submission belongs to the student and the grader's group.

    The inbox is set-group-ID and belongs to the grader's group, so a folder made in it takes
    that group. nbgrader's own copy loses it for the files it writes last (copying the
    folder's mode clears the set-group-ID bit), so the submission is copied once more into a
    new folder in the inbox, made 770 (files 660), and put in the old one's place: everyone
    but the student and the grader is kept out, and the grader can still collect and delete it.
    """

    def copy_files(self):
        super().copy_files()
        inbox = Path(self.inbound_path)
        submission = inbox / self.assignment_filename
        private = inbox / f".{self.assignment_filename}.private"
        private.mkdir()
        if private.stat().st_gid != inbox.stat().st_gid:
            private.rmdir()
            self.log.warning("the inbox gives no group to %s; left as nbgrader made it", submission)
            return
        for folder, _, files in os.walk(submission):
            target = private / Path(folder).relative_to(submission)
            target.mkdir(exist_ok=True)
            for name in files:
                shutil.copyfile(Path(folder, name), target / name)
        # only now: changing a folder's mode clears its set-group-ID bit (the student is not
        # in the grader's group), and what is made in it after that takes the student's group
        for folder, _, files in os.walk(private):
            os.chmod(folder, 0o770)
            for name in files:
                os.chmod(Path(folder, name), 0o660)
        # swap the folders; names that start with "." are never collected
        old = inbox / f".{self.assignment_filename}.old"
        submission.rename(old)
        private.rename(submission)
        shutil.rmtree(old)


c.ExchangeFactory.submit = SubmitForTheGraderOnly
