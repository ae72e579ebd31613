"""Demo of the remedies chapter: greedy layer-wise pre-training and the gradient at fine-tuning start."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from vglib.demos.core import Choice, Demo, Slider
from vglib.plots.base import activation_histograms, gradient_norms, note
from vglib.studies.remedies import (
    PRETRAIN_INITS,
    STUDY_LAYERS,
    STUDY_WIDTH,
    PretrainFlow,
    pretraining_flow,
)


def _draw(result: PretrainFlow, axes: Sequence[Axes]) -> None:
    k = result.num_pretrained
    gradient_norms(
        result.random.layer,
        {
            "random init": result.random.grad_norm,
            "first k layers pre-trained": result.pretrained.grad_norm,
        },
        ax=axes[0],
    )
    axes[0].set_ylim(1e-9, 1e1)
    axes[0].set_title(f"gradient at the start of fine-tuning, k = {k}", fontsize="small")
    note(
        axes[0],
        f"layer 1 / layer {STUDY_LAYERS}: random {result.random.first_to_last:.1e}, "
        f"pre-trained {result.pretrained.first_to_last:.1e}",
    )
    flow = result.pretrained
    rows = np.unique(np.linspace(0, flow.num_layers - 1, 6).round().astype(int))
    sv = result.top_singular_pretrained
    activation_histograms(
        flow.hist_edges,
        flow.hist_counts,
        ax=axes[1],
        annotations=[f"std {flow.act_std[i]:.3f}, σ₁(W) {sv[i]:.1f}" for i in rows],
    )
    axes[1].set_xlim(0, 1.5)  # room on the right for the notes
    axes[1].set_xticks([0.0, 0.25, 0.5, 0.75, 1.0])
    axes[1].set_title("layer outputs of the network being fine-tuned", fontsize="small")


def _describe(result: PretrainFlow, values: Mapping[str, Any]) -> str:
    k = result.num_pretrained
    text = (
        f"Eight sigmoid layers, {values['init']} init, "
        f"{'no layer' if k == 0 else 'the first layer' if k == 1 else f'the first {k} layers'} "
        f"pre-trained by denoising autoencoders: the gradient reaching layer 1 at the start of fine-tuning is "
        f"{result.pretrained.first_to_last:.1e} times the one at layer {STUDY_LAYERS}, against "
        f"{result.random.first_to_last:.1e} from random weights"
    )
    pretrained, random = result.median_top_singular
    if k == 2:
        text += (
            f"; the largest singular value of layer 2's pre-trained {STUDY_WIDTH} x "
            f"{STUDY_WIDTH} weight matrix is {pretrained:.1f}, against {random:.1f} before "
            f"pre-training"
        )
    elif k > 2:
        text += (
            f"; the largest singular value of the pre-trained {STUDY_WIDTH} x {STUDY_WIDTH} "
            f"weight matrices (layers 2 to {k}) is {pretrained:.1f} in the median, against "
            f"{random:.1f} for the same layers before pre-training"
        )
    return text + "."


pretraining_explorer = Demo(
    name="pretraining_explorer",
    title="Greedy layer-wise pre-training: the gradient when fine-tuning starts",
    params=(
        Slider(
            "num_pretrained",
            tuple(range(STUDY_LAYERS + 1)),
            STUDY_LAYERS,
            label="pre-trained layers k",
        ),
        Choice(
            "init",
            PRETRAIN_INITS,
            "default",
            label="init of the random weights",
            static=("default",),
        ),
    ),
    compute=pretraining_flow,
    draw=_draw,
    describe=_describe,
    ncols=2,
    figsize=(9.0, 3.6),
    cited={
        "lower half pre-trained": {"num_pretrained": STUDY_LAYERS // 2},
        "all layers pre-trained": {"num_pretrained": STUDY_LAYERS},
    },
)
