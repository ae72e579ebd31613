"""Demo layer: declarations (parameters -> compute -> plot) and the binding that shows them.

A chapter shows a demo with one call, e.g. ``gradient_flow_lab.show()``.
"""

from vglib.demos.activations import flow_at_init, gradient_flow_lab, saturation_explorer
from vglib.demos.batchnorm import (
    bn_depth_explorer,
)
from vglib.demos.chain import whisper_chain
from vglib.demos.clipping import (
    cliff_explorer,
)
from vglib.demos.core import Choice, Demo, DemoView, LivePanel, Slider, render_png
from vglib.demos.descent import descent_explorer, descent_on_quadratic
from vglib.demos.initialization import (
    edge_of_chaos,
    edge_of_chaos_result,
    phase_background,
    weight_scale_explorer,
    weight_scale_result,
)
from vglib.demos.monitor import (
    gradient_flow_monitor,
    monitored_run,
)
from vglib.demos.remedies import (
    pretraining_explorer,
)
from vglib.demos.residual import (
    residual_depth,
)
from vglib.demos.rnn import (
    bptt_explorer,
)

#: Every demo the chapters show, for tests and benchmarks.
DEMOS = (
    gradient_flow_monitor,
    cliff_explorer,
    pretraining_explorer,
    residual_depth,
    bptt_explorer,
    bn_depth_explorer,
    descent_explorer,
    whisper_chain,
    gradient_flow_lab,
    saturation_explorer,
    weight_scale_explorer,
    edge_of_chaos,
)

__all__ = [
    "DEMOS",
    "Choice",
    "Demo",
    "DemoView",
    "LivePanel",
    "Slider",
    "bn_depth_explorer",
    "bptt_explorer",
    "cliff_explorer",
    "descent_explorer",
    "descent_on_quadratic",
    "edge_of_chaos",
    "edge_of_chaos_result",
    "flow_at_init",
    "gradient_flow_lab",
    "gradient_flow_monitor",
    "monitored_run",
    "phase_background",
    "pretraining_explorer",
    "render_png",
    "residual_depth",
    "saturation_explorer",
    "weight_scale_explorer",
    "weight_scale_result",
    "whisper_chain",
]
