"""The concepts every chapter shares, in one flat namespace (torch and numpy only).

* Networks: :func:`build_mlp` (:class:`MLP`), :func:`init_linear_` and :data:`INITS`.
* Activations: the one table :data:`ACTIVATIONS` (module, slope, largest slope, saturation
  bound, closed form), :func:`activation`, :func:`make_activation`, :func:`slope_curve`.
* Data a network can learn: :func:`make_spirals`, :func:`make_teacher_regression`.
* The one training loop: :func:`train`, with :class:`Hook` s that see each :class:`Step`,
  :func:`make_optimizer`, :func:`shuffled_batches` and :func:`batches_with_replacement`.
* Measurement: :func:`measure_gradient_flow` (:class:`GradientFlow`), :func:`histograms`,
  :func:`clip_effect`, :func:`loss_fn`.
* Theory: :func:`gaussian_expectation` and the mean-field recursion
  (:func:`mean_field_profile`, :func:`mlp_mean_field`).
* Argument checks that raise a ``ValueError`` naming the problem: :func:`check_choice`,
  :func:`check_int`, :func:`check_real`, :func:`check_mlp`, :func:`check_batch`.

Each chapter's own experiments live in :mod:`vglib.studies`, built from these.
"""

from vglib._validate import check_choice, check_int, check_real
from vglib.core.activations import (
    ACTIVATIONS,
    SATURATING,
    Activation,
    activation,
    activation_slope,
    make_activation,
    max_slope,
    slope_curve,
)
from vglib.core.data import make_spirals, make_teacher_regression
from vglib.core.measure import (
    LOSSES,
    ClipEffect,
    GradientFlow,
    check_batch,
    check_mlp,
    clip_effect,
    histograms,
    loss_fn,
    measure_gradient_flow,
    saturation_limit,
)
from vglib.core.models import (
    BN_POSITIONS,
    INITS,
    MLP,
    build_mlp,
    init_linear_,
    weight_variance_scale,
)
from vglib.core.theory import (
    MeanField,
    gauss_hermite,
    gaussian_expectation,
    mean_field_profile,
    mlp_mean_field,
)
from vglib.core.threads import one_thread
from vglib.core.train import (
    OPTIMIZERS,
    Hook,
    Step,
    StepTimer,
    TrainHistory,
    accuracy,
    batches_with_replacement,
    make_optimizer,
    shuffled_batches,
    train,
)

__all__ = [
    "ACTIVATIONS",
    "BN_POSITIONS",
    "INITS",
    "LOSSES",
    "MLP",
    "OPTIMIZERS",
    "SATURATING",
    "Activation",
    "ClipEffect",
    "GradientFlow",
    "Hook",
    "MeanField",
    "Step",
    "StepTimer",
    "TrainHistory",
    "accuracy",
    "activation",
    "activation_slope",
    "batches_with_replacement",
    "build_mlp",
    "check_batch",
    "check_choice",
    "check_int",
    "check_mlp",
    "check_real",
    "clip_effect",
    "gauss_hermite",
    "gaussian_expectation",
    "histograms",
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
    "one_thread",
    "saturation_limit",
    "shuffled_batches",
    "slope_curve",
    "train",
    "weight_variance_scale",
]
