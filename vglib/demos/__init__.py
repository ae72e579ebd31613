"""Demo layer: declarations (parameters -> compute -> plot) and the binding that shows them.

A chapter shows a demo with one call, e.g. ``gradient_flow_lab.show()``.
"""

from vglib.demos.activations import flow_at_init, gradient_flow_lab, saturation_explorer
from vglib.demos.core import Choice, Demo, DemoView, LivePanel, Slider, render_png

#: Every demo the chapters show, for tests and benchmarks.
DEMOS = (gradient_flow_lab, saturation_explorer)

__all__ = [
    "DEMOS",
    "Choice",
    "Demo",
    "DemoView",
    "LivePanel",
    "Slider",
    "flow_at_init",
    "gradient_flow_lab",
    "render_png",
    "saturation_explorer",
]
