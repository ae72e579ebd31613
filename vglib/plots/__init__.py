"""Plot layer: matplotlib only, pure functions ``f(data, *, ax=None) -> Axes``.

Every function is *draw-or-update* (see :mod:`vglib.plots.base`): the first call on an
``Axes`` creates artists tagged with a ``gid``, later calls move their data, so a live demo
redraws in milliseconds and a chapter calls the same function once. Topic modules build on
the artist helpers of :mod:`vglib.plots.base`; their public functions are re-exported here.
"""

from vglib.plots.base import (
    LINESTYLES,
    MARKERS,
    PALETTE,
    activation_histograms,
    curves,
    gradient_norms,
    note,
    style,
)
from vglib.plots.batchnorm import (
    bn_gradient_norms,
    step_times,
)
from vglib.plots.chain import chain_gradients, layer_factors
from vglib.plots.clipping import (
    cliff_gradient_norm,
    cliff_profile,
    clipping_sweep,
    loss_scale_steps,
    training_runs,
)
from vglib.plots.descent import contour_path, loglog, loss_curve, per_layer, rate_curve
from vglib.plots.initialization import phase_diagram, singular_value_spectra
from vglib.plots.monitor import (
    image_grid,
    layer_curves,
    layer_step_heatmap,
    step_profile,
)
from vglib.plots.remedies import (
    depth_costs,
    weight_moves,
)
from vglib.plots.residual import (
    depth_profiles,
)
from vglib.plots.rnn import (
    baseline,
)
from vglib.plots.rnn import (
    gradient_through_time as rnn_gradient_through_time,
)

__all__ = [
    "LINESTYLES",
    "MARKERS",
    "PALETTE",
    "activation_histograms",
    "baseline",
    "bn_gradient_norms",
    "chain_gradients",
    "cliff_gradient_norm",
    "cliff_profile",
    "clipping_sweep",
    "contour_path",
    "curves",
    "depth_costs",
    "depth_profiles",
    "gradient_norms",
    "image_grid",
    "layer_curves",
    "layer_factors",
    "layer_step_heatmap",
    "loglog",
    "loss_curve",
    "loss_scale_steps",
    "note",
    "per_layer",
    "phase_diagram",
    "rate_curve",
    "rnn_gradient_through_time",
    "singular_value_spectra",
    "step_profile",
    "step_times",
    "style",
    "training_runs",
    "weight_moves",
]
