"""TEMPORARY shim during the move to vglib.core (issue 12); deleted before the issue ends."""

from vglib.core.activations import max_slope, slope_curve  # noqa: F401
from vglib.core.theory import *  # noqa: F403
