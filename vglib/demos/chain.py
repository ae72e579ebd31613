"""Demos of the chain-rule chapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes

from vglib.demos.core import Choice, Demo, Slider
from vglib.plots.chain import chain_gradients, layer_factors
from vglib.studies.chain_rule import CHAIN_ACTIVATIONS, CHAIN_WEIGHTS, ScalarChain, scalar_chain

#: The settings the chapter's prose sends readers to (each a frame of the static book).
CITED = {
    "tanh, w = 2": {"num_layers": 50, "weight": 2.0, "activation": "tanh"},
    "tanh, w = 1.1": {"num_layers": 50, "weight": 1.1, "activation": "tanh"},
    "sigmoid, w = 4": {"num_layers": 50, "weight": 4.0, "activation": "sigmoid"},
}


def _draw_chain(result: ScalarChain, axes: Sequence[Axes]) -> None:
    chain_gradients(
        result.layer,
        result.grad_autograd,
        result.grad_product,
        ax=axes[0],
        note=f"at the input: {result.input_gradient:.2e}",
    )
    axes[0].set_title("gradient of the output with respect to each layer", fontsize="small")
    layer_factors(result.layer[1:], result.factor, ax=axes[1])
    axes[1].set_title("one factor per layer", fontsize="small")


def _describe_chain(result: ScalarChain, values: Mapping[str, object]) -> str:
    factor = result.factor
    return (
        f"A scalar {result.activation} chain of {result.num_layers} layers with weight "
        f"{result.weight:g}: the per-layer factor w·φ′ runs from {factor[0]:.3g} (layer 1) to "
        f"{factor[-1]:.3g} (layer {result.num_layers}), and the gradient reaching the input is "
        f"{result.input_gradient:.2e} by autograd (product of factors: "
        f"{result.grad_product[0]:.2e})."
    )


whisper_chain = Demo(
    name="whisper_chain",
    title="The whisper chain: one factor per layer, multiplied",
    params=(
        Slider(
            "num_layers",
            tuple(range(1, 61)),
            50,
            label="depth L",
            static=(5, 10, 20, 30, 50),
        ),
        Slider("weight", CHAIN_WEIGHTS, 0.5, label="weight w", static=(0.5, 1.0, 1.1, 2.0, 4.0)),
        Choice("activation", CHAIN_ACTIVATIONS, "linear"),
    ),
    compute=scalar_chain,
    draw=_draw_chain,
    describe=_describe_chain,
    ncols=2,
    figsize=(9.0, 3.4),
    cited=CITED,
)
