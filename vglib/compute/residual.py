"""TEMPORARY shim during issue 12: the module moved to vglib.studies.residual_connections."""

import sys

import vglib.studies.residual_connections as _moved

sys.modules[__name__] = _moved
