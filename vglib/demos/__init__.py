"""Demo layer: declarations (parameters -> compute -> plot) and the binding that shows them.

A chapter shows a demo with one call, e.g. ``gradient_flow_lab.show()``.
"""

from vglib.demos.activations import flow_at_init, gradient_flow_lab, saturation_explorer
from vglib.demos.chain import whisper_chain
from vglib.demos.core import Choice, Demo, DemoView, LivePanel, Slider, render_png
from vglib.demos.descent import descent_explorer, descent_on_quadratic

#: Every demo the chapters show, for tests and benchmarks.
DEMOS = (descent_explorer, whisper_chain, gradient_flow_lab, saturation_explorer)

__all__ = [
    "DEMOS",
    "Choice",
    "Demo",
    "DemoView",
    "LivePanel",
    "Slider",
    "descent_explorer",
    "descent_on_quadratic",
    "flow_at_init",
    "gradient_flow_lab",
    "render_png",
    "saturation_explorer",
    "whisper_chain",
]
