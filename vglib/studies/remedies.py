"""The remedies chapter's study: layer-wise pre-training, less depth, more steps, and the others.

* :func:`pretrain_layerwise` -- greedy layer-wise pre-training of an MLP's hidden layers as
  (denoising) autoencoders on the inputs alone, the "multi-level hierarchy" of the remedy
  lists (Hinton, Osindero and Teh 2006; Bengio et al. 2007; Vincent et al. 2008).
* :func:`pretraining_flow` -- per-layer gradient norms at the start of fine-tuning,
  pre-trained against random initialization (what the chapter's demo shows).
* :func:`finetune_runs` -- training curves of a deep sigmoid network from random weights,
  from pre-trained weights, and of a ReLU network with He initialization.
* :func:`depth_budget` -- the lowest training loss that networks of several depths reach in
  the same number of steps (what giving up depth costs).
* :func:`catch_up` -- how far each layer's weights move in ``N`` and in ``10 N`` steps of
  gradient descent (what more steps, i.e. faster hardware, do and do not change).
* :func:`gradient_ratio` and :func:`remedy_profile` -- one-number summaries of the remedies
  measured in other chapters, taken from those chapters' studies
  (:func:`vglib.studies.saturating_activations.flow_at_init`,
  :func:`vglib.studies.batch_normalization.profile_model`); clipping's effect is
  :func:`vglib.core.clip_effect`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vglib import core
from vglib.core import MLP, GradientFlow, TrainHistory
from vglib.studies.batch_normalization import BNProfile, profile_model
from vglib.studies.saturating_activations import flow_at_init

#: Initializations the pre-training demo offers for the layers that are not pre-trained.
PRETRAIN_INITS = ("default", "xavier")

# the pre-training study's fixed setting: a deep sigmoid network on the spirals
STUDY_LAYERS = 8
STUDY_WIDTH = 64
STUDY_SAMPLES = 1000
STUDY_TRAIN = 800
STUDY_BATCH = 256  # examples in the one measuring pass
STUDY_PRETRAIN_STEPS = 60  # Adam steps per layer


# -- greedy layer-wise pre-training ---------------------------------------------------------------
@dataclass(frozen=True)
class Pretraining:
    """The result of :func:`pretrain_layerwise`.

    Attributes
    ----------
    model
        A copy of the input network whose first ``num_pretrained`` hidden layers carry the
        encoder weights; the other layers and the head are unchanged.
    encoders
        The trained encoders, one ``nn.Linear(fan_in, width)`` per pre-trained layer.
    decoders
        The trained decoders, one ``nn.Linear(width, fan_in)`` per pre-trained layer.
    recon_before, recon_after
        Mean squared reconstruction error of each autoencoder on its clean inputs before and
        after its training, shape ``(num_pretrained,)``.
    input_variance
        Mean variance per feature of each layer's inputs, shape ``(num_pretrained,)``: the
        error of a decoder that outputs the mean, a baseline for ``recon_after``.
    """

    model: MLP
    encoders: tuple[nn.Linear, ...]
    decoders: tuple[nn.Linear, ...]
    recon_before: np.ndarray
    input_variance: np.ndarray
    recon_after: np.ndarray

    @property
    def num_pretrained(self) -> int:
        return len(self.encoders)


@torch.no_grad()
def _reconstruction_error(
    encoder: nn.Linear, decoder: nn.Linear, act: nn.Module, H: torch.Tensor
) -> float:
    return F.mse_loss(decoder(act(encoder(H))), H).item()


def _denoising_batches(
    H: torch.Tensor, noise: float, batch_size: int, gen: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless ``(corrupted, clean)`` batches of rows of ``H``, drawn with replacement."""
    scale = H.std(dim=0, keepdim=True)
    while True:
        idx = torch.randint(0, H.shape[0], (batch_size,), generator=gen)
        clean = H[idx]
        yield clean + noise * scale * torch.randn(clean.shape, generator=gen), clean


@core.one_thread()
def pretrain_layerwise(
    model: MLP,
    X: torch.Tensor,
    *,
    num_pretrained: int | None = None,
    steps: int = 100,
    lr: float = 1e-2,
    noise: float = 0.2,
    batch_size: int = 64,
    seed: int = 0,
) -> Pretraining:
    """Pre-train the first hidden layers of a copy of ``model`` greedily, as denoising autoencoders.

    Layer ``k`` is trained as the encoder of an autoencoder ``H -> act(W_k H~ + b_k) ->
    V_k h + c_k`` that reconstructs its clean input ``H`` (the outputs of the already
    pre-trained layers below, with ``H = X`` for layer 1) from a corrupted copy
    ``H~ = H + noise * std(H) * e`` with ``e ~ N(0, 1)`` per feature, by minimising the mean
    squared error with Adam. The labels are never used. The encoder starts from the layer's
    own initial weights and is copied into the layer when done; the decoder is discarded.
    Each autoencoder is trained by :func:`vglib.core.train`.
    Because each layer only sees the layers below it, pre-training ``k`` layers gives the same
    first ``k`` layers as pre-training more of them with the same ``seed``.

    Parameters
    ----------
    model
        A plain network from :func:`vglib.core.build_mlp` (no batch norm, no skips); it is
        copied, not changed.
    X
        Inputs, shape ``(n, in_features)``.
    num_pretrained
        How many hidden layers, from the first, to pre-train; ``None`` means all of them.
    steps
        Adam steps per layer.
    lr
        Adam's learning rate.
    noise
        Standard deviation of the Gaussian corruption, relative to each feature's standard
        deviation; ``0`` gives a plain autoencoder.
    batch_size
        Examples per step, drawn at random (with replacement).
    seed
        Seed for the decoders' initial weights, the batches and the noise; the global random
        state is untouched.

    Returns
    -------
    Pretraining
    """
    core.check_mlp(model, plain=True)
    if not isinstance(X, torch.Tensor) or X.ndim != 2 or X.shape[1] != model.in_features:
        raise ValueError(
            f"X must be a 2-D tensor (n, {model.in_features}), got "
            f"{tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__}"
        )
    num_layers = len(model.layers)
    if num_pretrained is None:
        num_pretrained = num_layers
    core.check_int("num_pretrained", num_pretrained, minimum=0, maximum=num_layers)
    core.check_int("steps", steps, minimum=1)
    core.check_real("lr", lr, minimum=0.0, strict_minimum=True)
    core.check_real("noise", noise, minimum=0.0)
    core.check_int("batch_size", batch_size, minimum=1)
    gen = torch.Generator().manual_seed(core.check_int("seed", seed))

    net = copy.deepcopy(model)
    encoders, decoders, before, after, variance = [], [], [], [], []
    H = X.detach()
    for k in range(num_pretrained):
        block = net.layers[k]
        encoder = copy.deepcopy(block.linear)
        with torch.random.fork_rng(devices=[]):  # nn.Linear's own init draws from the global RNG
            decoder = nn.Linear(encoder.out_features, encoder.in_features)
        # the decoder's initial weights from our generator, not the global one
        with torch.no_grad():
            bound = 1.0 / encoder.out_features**0.5
            decoder.weight.copy_((torch.rand(decoder.weight.shape, generator=gen) * 2 - 1) * bound)
            decoder.bias.zero_()
        act = block.act
        before.append(_reconstruction_error(encoder, decoder, act, H))
        variance.append(H.var(dim=0).mean().item())
        core.train(
            nn.Sequential(encoder, act, decoder),
            batches=_denoising_batches(H, noise, batch_size, gen),
            steps=steps,
            lr=lr,
            optimizer="adam",
            loss="mse",
            record_every=None,
            progress=False,
        )
        after.append(_reconstruction_error(encoder, decoder, act, H))
        with torch.no_grad():
            block.linear.weight.copy_(encoder.weight)
            block.linear.bias.copy_(encoder.bias)
            H = act(encoder(H))
        encoders.append(encoder)
        decoders.append(decoder)
    return Pretraining(
        model=net,
        encoders=tuple(encoders),
        decoders=tuple(decoders),
        recon_before=np.array(before, dtype=float),
        input_variance=np.array(variance, dtype=float),
        recon_after=np.array(after, dtype=float),
    )


def pretrained_layers(pretraining: Pretraining, model: MLP, num_layers: int) -> MLP:
    """A copy of ``model`` with its first ``num_layers`` hidden layers taken from ``pretraining``.

    Because greedy pre-training of layer ``k`` only depends on the layers below it, the first
    ``num_layers`` layers of a deeper pre-training are exactly what pre-training
    ``num_layers`` layers would give.
    """
    core.check_int("num_layers", num_layers, minimum=0, maximum=pretraining.num_pretrained)
    net = copy.deepcopy(model)
    with torch.no_grad():
        for block, encoder in zip(net.layers[:num_layers], pretraining.encoders, strict=False):
            block.linear.weight.copy_(encoder.weight)
            block.linear.bias.copy_(encoder.bias)
    return net


# -- the chapter's study: a deep sigmoid network on the spirals ---------------------------------
def study_data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The spirals of the pre-training study: ``(X, y)`` of shapes ``(1000, 2)`` and ``(1000,)``.

    The first 800 points are for training (and pre-training), the last 200 are held out.
    """
    return core.make_spirals(STUDY_SAMPLES, seed=seed)


def study_model(init: str = "default", *, seed: int = 0) -> MLP:
    """The study's random network: 8 sigmoid layers of width 64, 2 inputs, 2 classes."""
    core.check_choice("init", init, PRETRAIN_INITS)
    return core.build_mlp(
        2, 2, num_layers=STUDY_LAYERS, width=STUDY_WIDTH, activation="sigmoid", init=init, seed=seed
    )


@functools.lru_cache(maxsize=8)
def _study_pretraining(init: str, seed: int) -> Pretraining:
    X, _ = study_data(seed)
    return pretrain_layerwise(
        study_model(init, seed=seed), X[:STUDY_TRAIN], steps=STUDY_PRETRAIN_STEPS, seed=seed
    )


def study_pretraining(init: str = "default", *, seed: int = 0) -> Pretraining:
    """All 8 layers of :func:`study_model` pre-trained on the study's training inputs (cached).

    60 Adam steps per layer, with the other defaults of :func:`pretrain_layerwise`.

    Treat the result as read-only: it is shared between calls.
    """
    core.check_choice("init", init, PRETRAIN_INITS)
    return _study_pretraining(init, core.check_int("seed", seed))


@dataclass(frozen=True)
class PretrainFlow:
    """Gradient flow at the start of fine-tuning, random against pre-trained first layers.

    Attributes
    ----------
    num_pretrained
        How many of the first hidden layers carry pre-trained weights.
    random, pretrained
        :class:`~vglib.core.GradientFlow` of the random network and of the same network
        with its first ``num_pretrained`` layers pre-trained, on the same batch.
    recon_after, input_variance
        The reconstruction error of each pre-trained layer's autoencoder and the variance of
        its inputs, shape ``(num_pretrained,)``.
    top_singular_random, top_singular_pretrained
        Largest singular value of every hidden layer's weight matrix, shape ``(num_layers,)``.
    """

    num_pretrained: int
    random: GradientFlow
    pretrained: GradientFlow
    recon_after: np.ndarray
    input_variance: np.ndarray
    top_singular_random: np.ndarray
    top_singular_pretrained: np.ndarray

    @property
    def square_layers(self) -> slice:
        """The pre-trained ``width x width`` layers, ``2 .. num_pretrained`` (layer 1 is
        ``width x 2``: its singular values measure the input scale, not the shape)."""
        return slice(1, self.num_pretrained)

    @property
    def median_top_singular(self) -> tuple[float, float]:
        """Median largest singular value over :attr:`square_layers`: ``(pre-trained, random)``.

        The same layers, before and after pre-training; NaN for both when fewer than two
        layers are pre-trained. The chapter's text and the demo's caption both quote this.
        """
        if self.num_pretrained < 2:
            return float("nan"), float("nan")
        rows = self.square_layers
        return (
            float(np.median(self.top_singular_pretrained[rows])),
            float(np.median(self.top_singular_random[rows])),
        )


def top_singular_values(model: MLP) -> np.ndarray:
    """Largest singular value of every hidden layer's weight matrix, shape ``(num_layers,)``."""
    with torch.no_grad():
        return np.array(
            [torch.linalg.matrix_norm(b.linear.weight, ord=2).item() for b in model.layers]
        )


@dataclass(frozen=True)
class _Reference:
    """The random study network, its batch and flow, and every layer's top singular value."""

    model: MLP
    X: torch.Tensor
    y: torch.Tensor
    flow: GradientFlow
    sv_random: np.ndarray
    sv_pretrained: np.ndarray


@functools.lru_cache(maxsize=8)
def _random_reference(init: str, seed: int) -> _Reference:
    """Shared between calls: callers copy the model before changing it."""
    X, y = study_data(seed)
    X, y = X[:STUDY_BATCH], y[:STUDY_BATCH]
    model = study_model(init, seed=seed)
    with core.one_thread():
        flow = core.measure_gradient_flow(model, X, y)
    pre = study_pretraining(init, seed=seed)
    return _Reference(
        model=model,
        X=X,
        y=y,
        flow=flow,
        sv_random=top_singular_values(model),
        sv_pretrained=top_singular_values(pre.model),
    )


@functools.cache
def pretraining_flow(num_pretrained: int, *, init: str = "default", seed: int = 0) -> PretrainFlow:
    """Measure the study network at the start of fine-tuning with ``num_pretrained`` layers pre-trained.

    The pre-training (:func:`study_pretraining`) and the random network's measurement are
    cached, so a call after the first costs one forward and backward pass; the result is
    memoised too (the demo's frames and the chapter's numbers are one computation).

    Parameters
    ----------
    num_pretrained
        0 to 8; ``0`` gives the random network twice.
    init
        Initialization of the random weights (all layers before pre-training, and the layers
        above ``num_pretrained`` afterwards), one of :data:`PRETRAIN_INITS`.
    seed
        Seed of the data, the network and the pre-training.
    """
    core.check_int("num_pretrained", num_pretrained, minimum=0, maximum=STUDY_LAYERS)
    core.check_choice("init", init, PRETRAIN_INITS)
    pre = study_pretraining(init, seed=seed)
    ref = _random_reference(init, core.check_int("seed", seed))
    sv_random, sv_pre = ref.sv_random, ref.sv_pretrained
    model = pretrained_layers(pre, ref.model, num_pretrained)
    with core.one_thread():  # one pass of small tensors: one thread is faster on a loaded machine
        flow = core.measure_gradient_flow(model, ref.X, ref.y)
    return PretrainFlow(
        num_pretrained=num_pretrained,
        random=ref.flow,
        pretrained=flow,
        recon_after=pre.recon_after[:num_pretrained],
        input_variance=pre.input_variance[:num_pretrained],
        top_singular_random=sv_random,
        top_singular_pretrained=np.concatenate(
            [sv_pre[:num_pretrained], sv_random[num_pretrained:]]
        ),
    )


def norm_matched_flow(init: str = "default", *, seed: int = 0) -> GradientFlow:
    """The control for "pre-training only makes the weights bigger".

    Takes the random study network, rescales each hidden layer's weight matrix to the
    Frobenius norm of its fully pre-trained counterpart (directions stay random), and
    measures it on the same batch as :func:`pretraining_flow`.
    """
    pre = study_pretraining(init, seed=seed)
    model = study_model(init, seed=seed)
    with torch.no_grad():
        for block, encoder in zip(model.layers, pre.encoders, strict=True):
            block.linear.weight.mul_(encoder.weight.norm() / block.linear.weight.norm())
    X, y = study_data(seed)
    return core.measure_gradient_flow(model, X[:STUDY_BATCH], y[:STUDY_BATCH])


@dataclass(frozen=True)
class FinetuneRun:
    """One arm of :func:`finetune_runs`.

    Attributes
    ----------
    history
        The training history (loss recorded every ``record_every`` steps).
    test_accuracy
        Accuracy on the 200 held-out points after training.
    start_flow
        The network measured on the study batch before training.
    """

    history: TrainHistory
    test_accuracy: float
    start_flow: GradientFlow


@dataclass(frozen=True)
class FinetuneRuns:
    """The three arms of :func:`finetune_runs`, trained with the same budget.

    Attributes
    ----------
    sigmoid_random
        :func:`study_model` (PyTorch's default init) trained from scratch.
    sigmoid_pretrained
        The same network after :func:`study_pretraining`, fine-tuned.
    relu_he
        The same shape with ReLU and He initialization, no pre-training.
    """

    sigmoid_random: FinetuneRun
    sigmoid_pretrained: FinetuneRun
    relu_he: FinetuneRun


def finetune_runs(
    *,
    steps: int = 300,
    lr: float = 2e-3,
    batch_size: int = 64,
    record_every: int = 20,
    seed: int = 0,
) -> FinetuneRuns:
    """Train the three arms of :class:`FinetuneRuns` on the study's spirals, with the same budget.

    All use Adam with learning rate ``lr`` on the first 800 points (:func:`vglib.core.train`);
    accuracy is measured on the last 200.

    Returns
    -------
    FinetuneRuns
    """
    core.check_int("steps", steps, minimum=1)
    X, y = study_data(seed)
    Xtr, ytr, Xte, yte = X[:STUDY_TRAIN], y[:STUDY_TRAIN], X[STUDY_TRAIN:], y[STUDY_TRAIN:]
    random_model = study_model("default", seed=seed)
    models = {
        "sigmoid_random": random_model,
        "sigmoid_pretrained": pretrained_layers(
            study_pretraining("default", seed=seed), random_model, STUDY_LAYERS
        ),
        "relu_he": core.build_mlp(
            2,
            2,
            num_layers=STUDY_LAYERS,
            width=STUDY_WIDTH,
            activation="relu",
            init="he",
            seed=seed,
        ),
    }
    runs = {}
    for arm, model in models.items():
        model = copy.deepcopy(model)
        flow = core.measure_gradient_flow(model, X[:STUDY_BATCH], y[:STUDY_BATCH])
        history = core.train(
            model,
            Xtr,
            ytr,
            steps=steps,
            lr=lr,
            optimizer="adam",
            batch_size=batch_size,
            record_every=record_every,
            seed=seed,
            progress=False,
        )
        runs[arm] = FinetuneRun(history, core.accuracy(model, Xte, yte), flow)
    return FinetuneRuns(**runs)


# -- reduced depth ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DepthBudget:
    """What networks of several depths reach with the same number of steps.

    Every array has one entry per network, shape ``(networks,)``.

    Attributes
    ----------
    num_layers, width, num_params
        Hidden layers, units per hidden layer and number of trainable parameters.
    best_loss
        Lowest recorded training loss (mean over ``record_every`` steps) during training.
    final_loss
        Training loss on the whole training set after the last step.
    test_accuracy
        Accuracy on held-out points after the last step.
    step, loss
        The recorded steps, shape ``(records,)``, and every network's loss curve, shape
        ``(networks, records)``.
    """

    num_layers: np.ndarray
    width: np.ndarray
    num_params: np.ndarray
    best_loss: np.ndarray
    final_loss: np.ndarray
    test_accuracy: np.ndarray
    step: np.ndarray
    loss: np.ndarray

    @property
    def label(self) -> tuple[str, ...]:
        """A name per network, ``"layers x width"`` (e.g. ``"1 x 64"``)."""
        return tuple(f"{n} x {w}" for n, w in zip(self.num_layers, self.width, strict=True))


def _num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def matched_width(num_params: int, *, in_features: int = 2, out_features: int = 2) -> int:
    """Width of a one-hidden-layer network with about ``num_params`` parameters.

    A single hidden layer of width ``w`` has ``(in_features + 1 + out_features) w +
    out_features`` parameters.
    """
    core.check_int("num_params", num_params, minimum=1)
    return max(1, round((num_params - out_features) / (in_features + 1 + out_features)))


def depth_budget(
    depths: tuple[int, ...] = (1, 2, 4),
    *,
    width: int = 64,
    add_matched_shallow: bool = True,
    steps: int = 300,
    lr: float = 1e-2,
    batch_size: int = 64,
    turns: float = 1.75,
    record_every: int = 20,
    seed: int = 0,
) -> DepthBudget:
    """Train ReLU networks with He initialization of several depths on the same budget.

    The task is a two-arm spiral with ``turns`` turns (1000 points, 800 for training). Every
    network takes ``steps`` Adam steps with learning rate ``lr`` (:func:`vglib.core.train`).
    With ``add_matched_shallow`` a network with one hidden layer and as many parameters as the
    deepest one is added, so that depth is not confused with size.

    Returns
    -------
    DepthBudget
    """
    if not depths:
        raise ValueError("depths must list at least one depth, e.g. depths=(1, 2, 4)")
    for d in depths:
        core.check_int("depth", d, minimum=1, maximum=64)
    core.check_int("width", width, minimum=1)
    core.check_int("steps", steps, minimum=1)
    X, y = core.make_spirals(STUDY_SAMPLES, turns=turns, seed=seed)
    Xtr, ytr, Xte, yte = X[:STUDY_TRAIN], y[:STUDY_TRAIN], X[STUDY_TRAIN:], y[STUDY_TRAIN:]
    shapes = [(d, width) for d in depths]
    if add_matched_shallow:
        deepest = core.build_mlp(2, 2, num_layers=max(depths), width=width, seed=seed)
        shapes.append((1, matched_width(_num_params(deepest))))
    rows: dict[str, list] = {k: [] for k in ("params", "best", "final", "acc", "loss")}
    step = np.array([])
    for num_layers, w in shapes:
        model = core.build_mlp(
            2, 2, num_layers=num_layers, width=w, activation="relu", init="he", seed=seed
        )
        history = core.train(
            model,
            Xtr,
            ytr,
            steps=steps,
            lr=lr,
            optimizer="adam",
            batch_size=batch_size,
            record_every=record_every,
            seed=seed,
            progress=False,
        )
        with torch.no_grad():
            final = core.loss_fn(model(Xtr), ytr).item()
        step = history.step
        rows["params"].append(_num_params(model))
        rows["best"].append(float(history.loss.min()))
        rows["final"].append(final)
        rows["acc"].append(core.accuracy(model, Xte, yte))
        rows["loss"].append(history.loss)
    return DepthBudget(
        num_layers=np.array([n for n, _ in shapes]),
        width=np.array([w for _, w in shapes]),
        num_params=np.array(rows["params"]),
        best_loss=np.array(rows["best"]),
        final_loss=np.array(rows["final"]),
        test_accuracy=np.array(rows["acc"]),
        step=step,
        loss=np.vstack(rows["loss"]),
    )


# -- more steps: what faster hardware buys ------------------------------------------------------
@dataclass(frozen=True)
class CatchUp:
    """How far each hidden layer's weights move in ``steps`` and in ``factor * steps`` steps.

    Every array has shape ``(num_layers,)``.

    Attributes
    ----------
    layer
        Layer numbers ``1 .. num_layers``.
    grad_norm
        ``‖∂L/∂W_l‖`` of the full-batch gradient at the start.
    grad_norm_end
        ``‖∂L/∂W_l‖`` of the full-batch gradient after the long run.
    change_short, change_long
        ``‖W_l(T) - W_l(0)‖`` after ``T = steps`` and after ``T = factor * steps``.
    frac_changed
        Share of the entries of ``W_l`` whose stored value differs from the start after the
        long run: below 1 when updates are smaller than the floating-point spacing of the
        weights and are rounded away.
    steps, factor
        ``N`` and the multiplier of the long run.
    lr
        The learning rate of plain gradient descent.
    """

    layer: np.ndarray
    grad_norm: np.ndarray
    grad_norm_end: np.ndarray
    change_short: np.ndarray
    change_long: np.ndarray
    frac_changed: np.ndarray
    steps: int
    factor: int
    lr: float

    @property
    def steps_to_match(self) -> np.ndarray:
        """Steps each layer would need to move as far as the last layer moved in ``steps``.

        Extrapolated linearly from the short run: ``steps * change_last / change_l``.
        """
        return self.steps * self.change_short[-1] / self.change_short


@core.one_thread()
def catch_up(
    model: MLP,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 50,
    factor: int = 10,
    lr: float = 0.5,
    dtype: str = "float32",
) -> CatchUp:
    """Run full-batch gradient descent on a copy of ``model`` and record each layer's move.

    The run is :func:`vglib.core.train` with plain SGD on the whole data set: ``steps`` steps,
    then ``(factor - 1) * steps`` more, continuing with the same optimizer.

    Parameters
    ----------
    model
        A network from :func:`vglib.core.build_mlp`; copied, not changed.
    X, y
        The training data, ``(n, in_features)`` and ``(n,)`` (or ``(n, out)`` targets).
    steps
        ``N``: the short run.
    factor
        The long run has ``factor * N`` steps (the same run, continued).
    lr
        Learning rate of plain (full-batch) gradient descent.
    dtype
        ``"float32"`` (what training uses) or ``"float64"``, in which updates of 1e-10 of a
        weight are not lost to rounding.

    Returns
    -------
    CatchUp
    """
    core.check_batch(model, X, y)
    core.check_int("steps", steps, minimum=1)
    core.check_int("factor", factor, minimum=2)
    core.check_real("lr", lr, minimum=0.0, strict_minimum=True)
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[
        core.check_choice("dtype", dtype, ("float32", "float64"))
    ]
    net = copy.deepcopy(model).to(torch_dtype)
    X = X.to(torch_dtype)
    y = y.to(torch_dtype) if y.is_floating_point() else y
    weights = [block.linear.weight for block in net.layers]
    start = [w.detach().clone() for w in weights]
    opt = core.make_optimizer(net.parameters(), "sgd", lr)
    first_grad: list[np.ndarray] = []

    def keep_first_gradient(step: core.Step) -> None:
        if step.number == 1:
            first_grad.append(np.array([w.grad.norm().item() for w in weights]))

    def moves() -> np.ndarray:
        return np.array(
            [(w.detach() - w0).norm().item() for w, w0 in zip(weights, start, strict=True)]
        )

    run = {"X": X, "y": y, "optimizer": opt, "batch_size": None, "record_every": None}
    core.train(net, **run, steps=steps, on_step=keep_first_gradient, progress=False)
    short = moves()
    core.train(net, **run, steps=(factor - 1) * steps, progress=False)
    long = moves()
    changed = np.array(
        [(w.detach() != w0).double().mean().item() for w, w0 in zip(weights, start, strict=True)]
    )
    opt.zero_grad(set_to_none=True)
    core.loss_fn(net(X), y).backward()
    grad_end = np.array([w.grad.norm().item() for w in weights])
    return CatchUp(
        layer=np.arange(1, len(weights) + 1),
        grad_norm=first_grad[0],
        grad_norm_end=grad_end,
        frac_changed=changed,
        change_short=short,
        change_long=long,
        steps=steps,
        factor=factor,
        lr=lr,
    )


# -- one-number summaries of the remedies measured in other chapters -----------------------------
def gradient_ratio(
    num_layers: int,
    activation: str,
    init: str,
    *,
    batch_norm: bool = False,
    residual: bool = False,
    width: int = 64,
    seed: int = 0,
) -> float:
    """``‖∂L/∂h_1‖ / ‖∂L/∂h_L‖`` of a fresh :func:`vglib.core.build_mlp` network on 256 spiral points.

    The measurement of :func:`vglib.studies.saturating_activations.flow_at_init` (one forward
    and backward pass), run afresh on one torch thread, so its last digits never depend on
    what the process measured before (with batch norm they depend on the thread count, about
    3e-6 relative); the arguments are those of :func:`vglib.core.build_mlp`.
    """
    with core.one_thread():
        # the memo's own function (functools.wraps keeps it): a fresh pass, not a cached one
        return flow_at_init.__wrapped__(
            num_layers=num_layers,
            activation=activation,
            init=init,
            batch_norm=batch_norm,
            residual=residual,
            width=width,
            seed=seed,
        ).flow.first_to_last


def remedy_profile(
    num_layers: int,
    activation: str,
    init: str,
    *,
    batch_norm: bool = False,
    residual: bool = False,
    width: int = 64,
    seed: int = 0,
) -> BNProfile:
    """The pass of :func:`gradient_ratio`, with each batch norm's backward gain and the slopes.

    See :func:`vglib.studies.batch_normalization.profile_model`: ``gain`` is ``gamma /
    sigma_B`` per layer (NaN without batch norm), ``slope`` the mean activation slope per
    layer, and ``flow.first_to_last`` equals :func:`gradient_ratio` with the same arguments.
    """
    X, y = core.make_spirals(STUDY_BATCH, seed=seed)
    model = core.build_mlp(
        2,
        2,
        num_layers=num_layers,
        width=width,
        activation=activation,
        init=init,
        batch_norm=batch_norm,
        residual=residual,
        seed=seed,
    )
    with core.one_thread():
        return profile_model(model, X, y)
