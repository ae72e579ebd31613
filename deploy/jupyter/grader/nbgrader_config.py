"""nbgrader settings of the formgrader service on the course's JupyterHub (deploy/).

The course's own settings come from ``nbgrader_config.py`` in the course directory (the
service's working directory); this file adds one rule for a hub with many Unix users.

A student can submit under another student's name (``nbgrader submit --student NAME``, or
``CourseDirectory.student_id`` in their own config). nbgrader's collect warns ("cheating
attempt?") and collects it anyway: the newest submission wins, so a forged one replaces the
real one. Here a submission counts only when the Unix user who owns it is the student it
names; forged ones are reported and left in the inbox.
"""

import pwd
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file


class CollectOwnSubmissions(ExchangeCollect):
    """nbgrader's collect, for submissions owned by the student they name only."""

    def _owner(self, record) -> str:
        uid = (Path(self.inbound_path) / record["filename"]).stat().st_uid
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            return f"uid {uid}"

    def _genuine(self, record) -> bool:
        return self._owner(record) == record["username"]

    def _sort_by_timestamp(self, records):
        # the newest genuine submission first; forged ones after every genuine one
        newest_first = super()._sort_by_timestamp(records)
        reported = self.__dict__.setdefault("_reported", set())
        for record in newest_first:
            if not self._genuine(record) and record["filename"] not in reported:
                reported.add(record["filename"])
                self.log.error(
                    "Not collected: %s names %s but was submitted by %s",
                    record["filename"],
                    record["username"],
                    self._owner(record),
                )
        return sorted(newest_first, key=lambda record: not self._genuine(record))

    def copy_files(self):
        # a student whose every submission is forged has none
        self.src_records = [record for record in self.src_records if self._genuine(record)]
        super().copy_files()


c.ExchangeFactory.collect = CollectOwnSubmissions
