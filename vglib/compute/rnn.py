"""TEMPORARY shim during issue 12: the module moved to vglib.studies.gated_rnns."""

import sys

import vglib.studies.gated_rnns as _moved

sys.modules[__name__] = _moved
