"""TEMPORARY shim during the move to vglib.core (issue 12); deleted before the issue ends."""

from vglib.core.train import *  # noqa: F403
from vglib.core.train import OPTIMIZERS, TrainHistory, accuracy, make_optimizer, train  # noqa: F401
