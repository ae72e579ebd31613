"""The one activation table: module, slope, largest slope, saturation bound, closed form.

Every chapter that asks "how steep is this activation?" reads it here, so the number 1/4
for the sigmoid's steepest slope is written once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vglib._validate import check_choice, check_real


def _sigmoid_slope(z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return h * (1 - h)


def _tanh_slope(z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return 1 - h * h


def _relu_slope(z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return (z > 0).to(z.dtype)


def _identity_slope(z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(z)


@dataclass(frozen=True)
class Activation:
    """One row of :data:`ACTIVATIONS`.

    Attributes
    ----------
    name
        The name every vglib function accepts (``"sigmoid"``, ``"relu"``, ...).
    module
        Factory of the ``torch.nn`` module.
    saturating
        Whether the output is bounded, so that a unit can saturate (slope near 0 for large
        ``|z|``).
    exact_max_slope
        The largest slope in closed form, where one is taught (``None`` otherwise).
    closed_form
        ``slope(z, h)`` from the input ``z`` and output ``h``, the formula autograd itself
        uses (``h (1 - h)`` for the sigmoid, ``1 - h**2`` for tanh, ``z > 0`` for ReLU);
        ``None`` where none is taught.
    """

    name: str
    module: Callable[[], nn.Module]
    saturating: bool = False
    exact_max_slope: float | None = None
    closed_form: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    @property
    def max_slope(self) -> float:
        """The largest slope: the closed form if there is one, else :func:`max_slope`."""
        if self.exact_max_slope is not None:
            return self.exact_max_slope
        return max_slope(self.name)

    def saturation_limit(self, threshold: float = 0.1) -> float:
        """The slope below which a unit counts as saturated: ``threshold`` times the largest slope.

        Only for saturating activations (sigmoid and tanh).
        """
        if not self.saturating:
            raise ValueError(
                f"activation={self.name!r} does not saturate; choose one of: "
                + ", ".join(repr(n) for n in SATURATING)
            )
        threshold = check_real("threshold", threshold, minimum=0.0, maximum=1.0)
        return threshold * self.max_slope

    def slope(self, z: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """Elementwise slope at ``z``; the closed form when ``h = phi(z)`` is given, else autograd."""
        if h is not None and self.closed_form is not None:
            return self.closed_form(z, h)
        return activation_slope(self.module(), z)


#: Activation name -> :class:`Activation`.
ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", nn.Sigmoid, True, 0.25, _sigmoid_slope),
        Activation("tanh", nn.Tanh, True, 1.0, _tanh_slope),
        Activation("relu", nn.ReLU, False, 1.0, _relu_slope),
        Activation("leaky_relu", lambda: nn.LeakyReLU(negative_slope=0.01)),
        Activation("elu", nn.ELU),
        Activation("selu", nn.SELU),
        Activation("gelu", nn.GELU),
        Activation("silu", nn.SiLU),
        Activation("identity", nn.Identity, False, 1.0, _identity_slope),
    )
}

#: Activations whose output is bounded, so that a unit can saturate.
SATURATING = tuple(name for name, a in ACTIVATIONS.items() if a.saturating)


def activation(name: str) -> Activation:
    """The :class:`Activation` called ``name``; a ``ValueError`` lists the choices otherwise."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]


def make_activation(name: str) -> nn.Module:
    """A fresh ``torch.nn`` module for the activation ``name`` (one of :data:`ACTIVATIONS`)."""
    return activation(name).module()


def activation_slope(module: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Elementwise derivative of an activation module at ``z`` (any shape), by autograd."""
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        (slope,) = torch.autograd.grad(module(z).sum(), z)
    return slope


def slope_curve(name: str, z: np.ndarray) -> np.ndarray:
    """The activation's derivative at the points ``z`` (any shape), by autograd in float64."""
    zt = torch.as_tensor(np.asarray(z, dtype=np.float64))
    return activation_slope(make_activation(name), zt).numpy()


@functools.cache
def max_slope(name: str, *, lo: float = -10.0, hi: float = 10.0, points: int = 200_001) -> float:
    """Largest derivative of the activation on a fine grid over ``[lo, hi]`` (autograd, float64).

    The grid holds ``z = 0``, so it finds the closed-form maxima exactly (1/4 for the
    sigmoid, 1 for tanh).
    """
    check_choice("activation", name, ACTIVATIONS)
    return float(slope_curve(name, np.linspace(lo, hi, points)).max())
