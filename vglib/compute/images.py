"""A small generated image data set (noisy oriented bars) and a deep plain CNN to train on it.

Everything is CPU-cheap: 16 x 16 grey images, a few channels. The data set is learnable
(each class is a bar orientation) and fully determined by ``seed``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vglib._validate import check_choice, check_int, check_real
from vglib.compute._threads import one_thread
from vglib.compute.models import ACTIVATIONS, make_activation

#: Initializations understood by :func:`build_cnn`.
CNN_INITS = ("default", "he", "xavier")

#: Orientation of the bar of each class, in degrees (0 = horizontal).
BAR_ANGLES = (0.0, 45.0, 90.0, 135.0)


@one_thread()
def make_bars(
    n: int,
    *,
    size: int = 16,
    num_classes: int = 4,
    noise: float = 0.5,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy grey images of one bar each; the class is the bar's orientation.

    Class ``k`` of ``num_classes`` is a bar at angle ``180 * k / num_classes`` degrees
    (0, 45, 90 and 135 degrees for four classes). Centre, length and thickness vary from
    image to image, and Gaussian pixel noise of standard deviation ``noise`` is added,
    so a classifier has to find the orientation, not memorise pixels.

    Parameters
    ----------
    n
        Number of images.
    size
        Images are ``size x size`` pixels.
    num_classes
        Number of orientations (classes), 2 to 8.
    noise
        Standard deviation of the pixel noise; the bar has intensity 1.
    seed
        Seed of a private generator; the global random state is untouched.

    Returns
    -------
    X
        Images, shape ``(n, 1, size, size)``, float32, standardised to mean 0 and
        standard deviation 1 over the data set.
    y
        Labels ``0 .. num_classes - 1``, shape ``(n,)``, int64, balanced.
    """
    check_int("n", n, minimum=1)
    check_int("size", size, minimum=8, maximum=128)
    check_int("num_classes", num_classes, minimum=2, maximum=8)
    check_real("noise", noise, minimum=0.0)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    y = torch.arange(n) % num_classes
    y = y[torch.randperm(n, generator=gen)]
    angle = math.pi * y.double() / num_classes + 0.08 * torch.randn(n, generator=gen).double()
    centre = (size - 1) / 2 + (size / 6) * (2 * torch.rand(n, 2, generator=gen).double() - 1)
    half_length = size * (0.25 + 0.12 * torch.rand(n, generator=gen).double())
    thickness = 0.8 + 0.6 * torch.rand(n, generator=gen).double()
    grid = torch.arange(size, dtype=torch.float64)
    rows, cols = torch.meshgrid(grid, grid, indexing="ij")  # (size, size)
    dx = cols[None] - centre[:, 0, None, None]
    dy = rows[None] - centre[:, 1, None, None]
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    along = dx * cos - dy * sin  # image rows grow downwards: angle counted anticlockwise
    across = dx * sin + dy * cos
    # soft edges: the bar is 1 inside, falls to 0 over about a pixel
    inside = torch.sigmoid(4 * (thickness[:, None, None] - across.abs()))
    inside = inside * torch.sigmoid(4 * (half_length[:, None, None] - along.abs()))
    images = inside + noise * torch.randn(n, size, size, generator=gen, dtype=torch.float64)
    images = (images - images.mean()) / images.std()
    return images.float().unsqueeze(1), y


class PlainCNN(nn.Module):
    """``num_layers`` blocks of ``Conv2d(3 x 3) -> [BatchNorm2d] -> activation``, then a linear head.

    Blocks ``pool_after`` are followed by 2 x 2 max pooling; the head averages each channel
    over the image (global average pooling). ``features`` is an ``nn.Sequential`` whose
    children are the convolutions, norms, activations and pools in execution order.
    """

    def __init__(
        self,
        *,
        num_layers: int,
        channels: int,
        activation: str,
        num_classes: int,
        batch_norm: bool,
        pool_after: tuple[int, ...],
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(num_layers):
            layers.append(nn.Conv2d(1 if i == 0 else channels, channels, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(channels))
            layers.append(make_activation(activation))
            if i + 1 in pool_after:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(X).mean(dim=(2, 3)))


@one_thread()
def build_cnn(
    *,
    num_layers: int = 8,
    channels: int = 8,
    activation: str = "relu",
    init: str = "default",
    batch_norm: bool = False,
    num_classes: int = 4,
    pool_after: tuple[int, ...] | None = None,
    seed: int = 0,
) -> PlainCNN:
    """A deep plain CNN for :func:`make_bars` images, with reproducible weights.

    Parameters
    ----------
    num_layers
        Number of convolutional blocks (3 x 3 convolutions, padding 1).
    channels
        Channels of every convolution.
    activation
        One of :data:`vglib.compute.models.ACTIVATIONS`.
    init
        ``"default"`` (PyTorch's: weights uniform in +-1/sqrt(fan_in) with fan_in = 9 x
        input channels), ``"he"`` (normal, variance 2/fan_in, zero biases) or ``"xavier"``
        (Glorot uniform, zero biases). Applied to the convolutions and the head.
    batch_norm
        Put ``BatchNorm2d`` between each convolution and its activation.
    num_classes
        Output size.
    pool_after
        Block numbers (1-based) followed by 2 x 2 max pooling; 16 x 16 inputs allow up to 4.
        ``None`` pools after blocks 1 and 2 (those that exist).
    seed
        Seed for the weights; the global random state is untouched.

    Returns
    -------
    PlainCNN
        Takes ``(batch, 1, H, W)`` images, returns ``(batch, num_classes)`` logits.
    """
    check_int("num_layers", num_layers, minimum=1, maximum=100)
    check_int("channels", channels, minimum=1)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("init", init, CNN_INITS)
    check_int("num_classes", num_classes, minimum=2)
    if pool_after is None:
        pool_after = tuple(block for block in (1, 2) if block <= num_layers)
    for block in pool_after:
        check_int("pool_after entry", block, minimum=1, maximum=num_layers)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_int("seed", seed))
        model = PlainCNN(
            num_layers=num_layers,
            channels=channels,
            activation=activation,
            num_classes=num_classes,
            batch_norm=batch_norm,
            pool_after=tuple(pool_after),
        )
        if init != "default":
            for module in model.modules():
                if isinstance(module, nn.Conv2d | nn.Linear):
                    if init == "he":
                        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                    else:
                        nn.init.xavier_uniform_(module.weight)
                    nn.init.zeros_(module.bias)
    return model
