"""TEMPORARY shim during issue 12: the module moved to vglib.studies.initialization."""

import sys

import vglib.studies.initialization as _moved

sys.modules[__name__] = _moved
