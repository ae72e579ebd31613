"""TEMPORARY shim during issue 12: the module moved to vglib.studies.remedies."""

import sys

import vglib.studies.remedies as _moved

sys.modules[__name__] = _moved
