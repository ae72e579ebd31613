"""Closed-form and mean-field predictions to set beside measurements."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vglib._validate import check_int, check_real
from vglib.core.activations import activation_slope, make_activation
from vglib.core.models import weight_variance_scale

# 100 nodes, an even number: no node at z = 0, where ReLU-like slopes jump
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(100)
_WEIGHTS = _WEIGHTS / np.sqrt(2 * np.pi)  # now sum to 1: E[f(Z)] for Z ~ N(0, 1)


def gaussian_expectation(f, q: float = 1.0) -> float:
    """``E[f(Z)]`` for ``Z ~ N(0, q)``, by 100-point Gauss-Hermite quadrature.

    Parameters
    ----------
    f
        A function of a float64 numpy array of nodes, returning an array of the same shape
        (numpy or torch).
    q
        The variance of ``Z``, at least 0.
    """
    q = check_real("q", q, minimum=0.0)
    values = f(np.sqrt(q) * _NODES)
    if isinstance(values, torch.Tensor):
        values = values.detach().numpy()
    return float(np.asarray(values, dtype=np.float64) @ _WEIGHTS)


def gauss_hermite() -> tuple[np.ndarray, np.ndarray]:
    """Copies of the quadrature's nodes and weights (weights sum to 1) for ``Z ~ N(0, 1)``."""
    return _NODES.copy(), _WEIGHTS.copy()


@dataclass(frozen=True)
class MeanField:
    """The mean-field recursion's prediction for a deep fully connected network at init.

    Attributes
    ----------
    q
        Pre-activation variance per layer, shape ``(num_layers,)``.
    chi
        Per-layer backward gain ``sigma_w2 * E[phi'(z)^2]``: the factor by which the squared
        gradient norm grows going back through that layer, shape ``(num_layers,)``.
    """

    q: np.ndarray
    chi: np.ndarray

    def relative_grad_norms(self) -> np.ndarray:
        """``||dL/dh_l|| / ||dL/dh_L||`` predicted for every layer l, shape ``(num_layers,)``."""
        # g_l^2 = g_{l+1}^2 * chi_{l+1}, so g_l / g_L = prod_{k>l} sqrt(chi_k)
        log_chi = np.log(self.chi)
        tail = np.concatenate([np.cumsum(log_chi[::-1])[::-1][1:], [0.0]])
        return np.exp(0.5 * tail)


def mean_field_profile(
    activation: str,
    *,
    num_layers: int,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    q_in: float = 1.0,
    sigma_w2_first: float | None = None,
    sigma_b2_first: float | None = None,
) -> MeanField:
    """Iterate the mean-field variance map of Poole et al. (2016) and Schoenholz et al. (2017).

    ``q_1 = sigma_w2_first * q_in + sigma_b2_first`` and
    ``q_{l+1} = sigma_w2 * E[phi(z)^2] + sigma_b2`` with ``z ~ N(0, q_l)``; the backward gain
    of layer l is ``chi_l = sigma_w2 * E[phi'(z)^2]``. Expectations use 100-point
    Gauss-Hermite quadrature. The prediction is for infinitely wide layers; at width 64 it
    matches measured gradient norms to within the layer-to-layer noise.

    Parameters
    ----------
    activation
        One of :data:`vglib.core.ACTIVATIONS`.
    num_layers
        Number of hidden layers.
    sigma_w2, sigma_b2
        ``fan_in * Var(W)`` and ``Var(b)`` of the hidden layers
        (:func:`vglib.core.weight_variance_scale` gives them for a named init).
    q_in
        Mean square of the input coordinates.
    sigma_w2_first, sigma_b2_first
        The same for the first layer, when its fan-in differs; default to the hidden values.
    """
    check_int("num_layers", num_layers, minimum=1)
    check_real("sigma_w2", sigma_w2, minimum=0.0)
    check_real("sigma_b2", sigma_b2, minimum=0.0)
    check_real("q_in", q_in, minimum=0.0)
    phi = make_activation(activation)
    w_first = sigma_w2 if sigma_w2_first is None else sigma_w2_first
    b_first = sigma_b2 if sigma_b2_first is None else sigma_b2_first
    q = np.empty(num_layers)
    chi = np.empty(num_layers)
    q_l = w_first * q_in + b_first
    for layer in range(num_layers):
        z = torch.as_tensor(np.sqrt(max(q_l, 0.0)) * _NODES)
        with torch.no_grad():
            second_moment = float((phi(z) ** 2).numpy() @ _WEIGHTS)
        slope_sq = float((activation_slope(phi, z) ** 2).numpy() @ _WEIGHTS)
        q[layer] = q_l
        chi[layer] = sigma_w2 * slope_sq
        q_l = sigma_w2 * second_moment + sigma_b2
    return MeanField(q=q, chi=chi)


def mlp_mean_field(
    activation: str,
    init: str,
    *,
    num_layers: int,
    width: int,
    in_features: int,
    q_in: float,
    std: float | None = None,
    gain: float = 1.0,
) -> MeanField:
    """:func:`mean_field_profile` for a plain network from ``build_mlp`` with the same arguments."""
    w2, b2 = weight_variance_scale(init, width, width, std=std, gain=gain)
    w2_first, b2_first = weight_variance_scale(init, in_features, width, std=std, gain=gain)
    return mean_field_profile(
        activation,
        num_layers=num_layers,
        sigma_w2=w2,
        sigma_b2=b2,
        q_in=q_in,
        sigma_w2_first=w2_first,
        sigma_b2_first=b2_first,
    )
