"""TEMPORARY shim during issue 12: the module moved to vglib.studies.chain_rule."""

import sys

import vglib.studies.chain_rule as _moved

sys.modules[__name__] = _moved
