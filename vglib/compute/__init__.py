"""Compute layer: torch and numpy only (never matplotlib or ipywidgets).

Models (:func:`build_mlp`), one-pass measurement (:func:`measure_gradient_flow`), training
(:func:`train`), data (:func:`make_spirals`, :func:`make_teacher_regression`) and theory
(:func:`mean_field_profile`, :func:`slope_curve`).
"""

from vglib.compute.data import make_spirals, make_teacher_regression
from vglib.compute.measure import (
    LOSSES,
    GradientFlow,
    activation_slope,
    loss_fn,
    measure_gradient_flow,
)
from vglib.compute.models import (
    ACTIVATIONS,
    BN_POSITIONS,
    INITS,
    MLP,
    SATURATING,
    build_mlp,
    init_linear_,
    make_activation,
    weight_variance_scale,
)
from vglib.compute.theory import (
    MeanField,
    max_slope,
    mean_field_profile,
    mlp_mean_field,
    slope_curve,
)
from vglib.compute.train import OPTIMIZERS, TrainHistory, accuracy, make_optimizer, train

__all__ = [
    "ACTIVATIONS",
    "BN_POSITIONS",
    "INITS",
    "LOSSES",
    "MLP",
    "OPTIMIZERS",
    "SATURATING",
    "GradientFlow",
    "MeanField",
    "TrainHistory",
    "accuracy",
    "activation_slope",
    "build_mlp",
    "init_linear_",
    "loss_fn",
    "make_activation",
    "make_optimizer",
    "make_spirals",
    "make_teacher_regression",
    "max_slope",
    "mean_field_profile",
    "measure_gradient_flow",
    "mlp_mean_field",
    "slope_curve",
    "train",
    "weight_variance_scale",
]
