"""TEMPORARY shim during issue 12: the module moved to vglib.studies.diagnosing."""

import sys

import vglib.studies.diagnosing as _moved

sys.modules[__name__] = _moved
