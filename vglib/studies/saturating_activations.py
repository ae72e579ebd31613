"""Saturating activations: how much gradient reaches each layer of a fresh network.

The chapter's gradient-flow lab and saturation explorer show one measurement, a forward and
backward pass of a freshly built network on a batch of spirals
(:func:`vglib.core.measure_gradient_flow`), with the mean-field prediction of
:func:`vglib.core.mlp_mean_field` beside it. Torch and numpy only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from vglib.core import (
    GradientFlow,
    build_mlp,
    make_spirals,
    measure_gradient_flow,
    mlp_mean_field,
)

#: Width of the hidden layers measured by :func:`flow_at_init`.
WIDTH = 64
#: Spirals points in the measured batch.
BATCH = 256
#: Depth of the networks of :func:`saturation_flow`.
SATURATION_NUM_LAYERS = 10


@dataclass(frozen=True)
class FlowAtInit:
    """One pass of a fresh network, measured, and the mean-field prediction beside it.

    Attributes
    ----------
    flow
        The measurement, layer by layer (see :class:`vglib.core.GradientFlow`).
    theory
        Mean-field gradient norms ``||dL/dh_l||``, anchored at the measured norm of the last
        layer, shape ``(num_layers,)``; ``None`` for networks with batch norm or residual
        connections, where the plain recursion does not apply.
    """

    flow: GradientFlow
    theory: np.ndarray | None

    @property
    def theory_ratio(self) -> float | None:
        """Predicted ``||dL/dh_1|| / ||dL/dh_L||`` (``None`` without a prediction)."""
        if self.theory is None:
            return None
        return float(self.theory[0] / self.theory[-1])

    @property
    def saturated_share(self) -> float:
        """Share of (example, unit) pairs saturated, averaged over layers (NaN if none saturate)."""
        if np.isnan(self.flow.saturation).all():
            return float("nan")
        return float(np.nanmean(self.flow.saturation))

    @property
    def dead_share(self) -> float:
        """Share of dead units (zero slope on every example), averaged over layers."""
        return float(self.flow.dead.mean())


@functools.cache
def flow_at_init(
    *,
    num_layers: int,
    activation: str,
    init: str,
    std: float | None = None,
    width: int = WIDTH,
    batch_norm: bool = False,
    residual: bool = False,
    seed: int = 0,
) -> FlowAtInit:
    """Measure a fresh network on a batch of spirals; add the mean-field curve where it applies.

    The network is ``build_mlp(2, 2, ...)`` with the given arguments; the batch is
    ``make_spirals(BATCH, seed=seed)`` with cross-entropy loss. Memoised: the same arguments
    give the same (shared, read-only) result.

    Parameters
    ----------
    num_layers, width
        Hidden layers and their width.
    activation
        One of :data:`vglib.core.ACTIVATIONS`.
    init, std
        One of :data:`vglib.core.INITS`, and the standard deviation of ``init="normal"``.
    batch_norm, residual
        As in :func:`vglib.core.build_mlp`; either one drops the mean-field prediction.
    seed
        Seed of data and weights.

    Returns
    -------
    FlowAtInit
    """
    X, y = make_spirals(BATCH, seed=seed)
    model = build_mlp(
        2,
        2,
        num_layers=num_layers,
        width=width,
        activation=activation,
        init=init,
        std=std,
        batch_norm=batch_norm,
        residual=residual,
        seed=seed,
    )
    flow = measure_gradient_flow(model, X, y)
    theory = None
    if not (batch_norm or residual):
        field = mlp_mean_field(
            activation,
            init,
            num_layers=num_layers,
            width=width,
            in_features=2,
            q_in=float((X**2).mean()),
            std=std,
        )
        theory = field.relative_grad_norms() * flow.grad_norm[-1]
    return FlowAtInit(flow=flow, theory=theory)


@functools.cache
def saturation_flow(std: float, activation: str) -> FlowAtInit:
    """:func:`flow_at_init` of a :data:`SATURATION_NUM_LAYERS`-layer network, ``W ~ N(0, std^2)``.

    Every weight (the head's included) is drawn with standard deviation ``std`` whatever the
    fan-in, so ``sigma_w2 = width * std^2``: a larger ``std`` pushes more sigmoid or tanh
    units into their flat tails.

    Parameters
    ----------
    std
        Standard deviation of the weights, > 0.
    activation
        ``"sigmoid"`` or ``"tanh"`` (any of :data:`vglib.core.ACTIVATIONS` works).
    """
    return flow_at_init(
        num_layers=SATURATION_NUM_LAYERS, activation=activation, init="normal", std=std
    )
