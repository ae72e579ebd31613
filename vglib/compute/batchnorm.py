"""TEMPORARY shim during issue 12: the module moved to vglib.studies.batch_normalization."""

import sys

import vglib.studies.batch_normalization as _moved

sys.modules[__name__] = _moved
