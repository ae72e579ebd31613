"""TEMPORARY shim during the move to vglib.core (issue 12); deleted before the issue ends."""

from vglib.core.activations import ACTIVATIONS, SATURATING, make_activation  # noqa: F401
from vglib.core.models import *  # noqa: F403
from vglib.core.models import Block, _check_init_args  # noqa: F401
