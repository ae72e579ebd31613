"""TEMPORARY shim during the move to vglib.core (issue 12); deleted before the issue ends."""

from vglib.core.activations import activation_slope  # noqa: F401
from vglib.core.measure import *  # noqa: F403
from vglib.core.measure import check_batch as _check_batch  # noqa: F401
from vglib.core.measure import histograms as _histograms  # noqa: F401

SATURATING_MAX_SLOPE = {"sigmoid": 0.25, "tanh": 1.0}
