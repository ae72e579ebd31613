"""Synthetic data sets that a network can actually learn (no random labels)."""

from __future__ import annotations

import math

import torch

from vglib._validate import check_int, check_real


def make_spirals(
    n_samples: int = 512,
    *,
    n_classes: int = 2,
    turns: float = 1.25,
    noise: float = 0.08,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Interleaved spirals in the plane, one arm per class.

    The classes are balanced and separable by a smooth boundary, but not by a line: a
    shallow linear model fails where a deep network that trains succeeds.

    Parameters
    ----------
    n_samples
        Total number of points, split evenly between classes.
    n_classes
        Number of arms (classes), at least 2.
    turns
        How many times each arm winds around the origin.
    noise
        Standard deviation of the Gaussian jitter added to each coordinate.
    seed
        Random seed; the global random state is untouched.

    Returns
    -------
    X : torch.Tensor
        Points, shape ``(n_samples, 2)``, float32, roughly unit variance per coordinate.
    y : torch.Tensor
        Class labels, shape ``(n_samples,)``, int64.
    """
    check_int("n_classes", n_classes, minimum=2)
    check_int("n_samples", n_samples, minimum=n_classes)
    check_real("turns", turns, minimum=0.0, strict_minimum=True)
    check_real("noise", noise, minimum=0.0)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    y = torch.arange(n_samples) % n_classes
    t = torch.rand(n_samples, generator=gen).sqrt()  # sqrt: even density along the arm
    angle = 2 * math.pi * (turns * t + y / n_classes)
    X = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)
    X = X + noise * torch.randn(n_samples, 2, generator=gen)
    X = X / X.std()
    return X.float(), y.long()


def make_teacher_regression(
    n_samples: int = 512,
    *,
    in_features: int = 8,
    teacher_width: int = 32,
    teacher_layers: int = 2,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A regression task whose targets come from a fixed random "teacher" network.

    Because a network of the same shape can represent the teacher exactly, the best
    achievable mean squared error is the noise variance ``noise**2``.

    Returns
    -------
    X : torch.Tensor
        Inputs, shape ``(n_samples, in_features)``, standard normal.
    y : torch.Tensor
        Targets, shape ``(n_samples, 1)``, scaled to unit variance before the noise is added.
    """
    from vglib.core.models import build_mlp

    check_int("n_samples", n_samples, minimum=2)
    check_real("noise", noise, minimum=0.0)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    teacher = build_mlp(
        in_features,
        1,
        num_layers=teacher_layers,
        width=teacher_width,
        activation="tanh",
        init="xavier",
        gain=5 / 3,
        seed=seed + 1,
    )
    X = torch.randn(n_samples, in_features, generator=gen)
    with torch.no_grad():
        y = teacher(X)
    y = (y - y.mean()) / y.std()
    y = y + noise * torch.randn(y.shape, generator=gen)
    return X, y
