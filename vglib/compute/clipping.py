"""TEMPORARY shim during issue 12: the module moved to vglib.studies.exploding_clipping."""

import sys

import vglib.studies.exploding_clipping as _moved

sys.modules[__name__] = _moved
