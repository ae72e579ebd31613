"""A small, honest training loop that records what the gradient did at every step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vglib._env import book_mode
from vglib._validate import check_choice, check_int, check_real
from vglib.compute._threads import one_thread
from vglib.compute.measure import _check_batch, loss_fn
from vglib.compute.models import MLP

OPTIMIZERS = ("sgd", "momentum", "adam")


@dataclass(frozen=True)
class TrainHistory:
    """What happened during :func:`train`; one row per recorded step.

    Attributes
    ----------
    step
        Step number at each record, shape ``(records,)``.
    loss
        Mean mini-batch loss over the steps since the previous record, shape ``(records,)``.
    accuracy
        Accuracy on the whole data set (evaluation mode) at each record, shape
        ``(records,)``; NaN for regression.
    weight_grad_norm
        ``||dL/dW_l||`` of every hidden layer at the recorded step, shape ``(records, num_layers)``.
    """

    step: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    weight_grad_norm: np.ndarray


def make_optimizer(params, optimizer: str, lr: float) -> torch.optim.Optimizer:
    """``sgd``, ``momentum`` (SGD with momentum 0.9) or ``adam``."""
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_real("lr", lr, minimum=0.0, strict_minimum=True)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.9 if optimizer == "momentum" else 0.0)


@one_thread()
def train(
    model: MLP,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 500,
    lr: float = 1e-3,
    optimizer: str = "adam",
    batch_size: int = 64,
    record_every: int = 10,
    loss: str | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> TrainHistory:
    """Train ``model`` in place with mini-batches and record loss and per-layer gradient norms.

    Parameters
    ----------
    model
        A network from :func:`vglib.compute.build_mlp`.
    X, y
        The data set: ``(n, in_features)`` inputs; ``(n,)`` labels or ``(n, out)`` targets.
    steps
        Number of optimizer steps.
    lr, optimizer
        Learning rate and one of :data:`OPTIMIZERS`.
    batch_size
        Examples per step, drawn by shuffling the data set once per epoch.
    record_every
        Record every this many steps (the first record is after step ``record_every``).
    loss
        As in :func:`vglib.compute.loss_fn`.
    seed
        Seed for the batch order; the global random state is untouched.
    progress
        Show a progress bar; ``None`` shows one except while the book is built.
    """
    from tqdm.auto import tqdm

    _check_batch(model, X, y)
    check_int("steps", steps, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    check_int("record_every", record_every, minimum=1, maximum=steps)
    opt = make_optimizer(model.parameters(), optimizer, lr)
    gen = torch.Generator().manual_seed(check_int("seed", seed))
    n = X.shape[0]
    classify = not y.is_floating_point()
    records: dict[str, list] = {"step": [], "loss": [], "accuracy": [], "weight_grad_norm": []}
    running, order, cursor = [], torch.randperm(n, generator=gen), 0
    show = (not book_mode()) if progress is None else progress
    model.train()
    for step in tqdm(range(1, steps + 1), disable=not show, desc="training", leave=False):
        if cursor + batch_size > n:
            order, cursor = torch.randperm(n, generator=gen), 0
        idx = order[cursor : cursor + batch_size]
        cursor += batch_size
        opt.zero_grad(set_to_none=True)
        value = loss_fn(model(X[idx]), y[idx], loss)
        value.backward()
        running.append(value.item())
        if step % record_every == 0:
            records["step"].append(step)
            records["loss"].append(float(np.mean(running)))
            records["weight_grad_norm"].append(
                [block.linear.weight.grad.norm().item() for block in model.layers]
            )
            records["accuracy"].append(accuracy(model, X, y) if classify else float("nan"))
            running = []
        opt.step()
    return TrainHistory(**{key: np.asarray(val, dtype=float) for key, val in records.items()})


@torch.no_grad()
def accuracy(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Share of ``X`` classified as ``y``, in evaluation mode; the model's mode is restored."""
    was_training = model.training
    model.eval()
    acc = (model(X).argmax(dim=1) == y).float().mean().item()
    model.train(was_training)
    return acc
