"""TEMPORARY shim during issue 12: the module moved to vglib.studies.gradient_descent."""

import sys

import vglib.studies.gradient_descent as _moved

sys.modules[__name__] = _moved
