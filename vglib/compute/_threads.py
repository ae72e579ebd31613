"""TEMPORARY shim during the move to vglib.core (issue 12); deleted before the issue ends."""

from vglib.core.threads import one_thread  # noqa: F401
