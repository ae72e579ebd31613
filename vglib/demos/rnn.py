"""Demo of the gated-recurrent-networks chapter: gradients through time in RNN, LSTM and GRU."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes

from vglib.compute.rnn import gradient_through_time
from vglib.demos.core import Demo, Slider
from vglib.plots import base
from vglib.plots.rnn import gradient_through_time as plot_gradient_through_time

HIDDEN = 32
LABELS = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}


def bptt_result(seq_len: int, weight_scale: float, forget_bias: float) -> dict[str, Any]:
    """Gradient norms ``||dy_T/dx_t||`` of fresh RNN, LSTM and GRU networks (hidden size 32)."""
    return gradient_through_time(
        seq_len, weight_scale=weight_scale, forget_bias=forget_bias, hidden_size=HIDDEN
    )


def _ratios(result: Mapping[str, Any]) -> dict[str, float]:
    return {cell: float(result[cell][0] / result[cell][-1]) for cell in LABELS}


def _draw_bptt(result: Mapping[str, Any], axes: Sequence[Axes]) -> None:
    ax = axes[0]
    plot_gradient_through_time(result["t"], {LABELS[cell]: result[cell] for cell in LABELS}, ax=ax)
    ratios = _ratios(result)
    base.note(
        ax,
        "gradient ratio\nfirst / last step\n\n"
        + "\n".join(f"{LABELS[c]}:\n  {r:.1e}" for c, r in ratios.items()),
    )
    note = ax.texts[-1]
    note.set_position((1.03, 0.5))
    note.set_verticalalignment("center")


def _describe_bptt(result: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    ratios = _ratios(result)
    return (
        f"T = {values['seq_len']}, recurrent-weight scale {values['weight_scale']:g}, LSTM "
        f"forget-gate bias {values['forget_bias']:g}: the gradient of the last output with "
        f"respect to the first input is {ratios['rnn']:.1e} times the one with respect to the "
        f"last input for the tanh RNN, {ratios['lstm']:.1e} for the LSTM and "
        f"{ratios['gru']:.1e} for the GRU."
    )


bptt_explorer = Demo(
    name="bptt_explorer",
    title="Gradient through time: how much of the last output's gradient reaches each input",
    params=(
        Slider(
            "seq_len",
            (10, 25, 50, 100, 150, 200),
            50,
            label="sequence length T",
            static=(10, 25, 50, 100, 200),  # 5 x 3 x 4 = 60 frames in the static book
        ),
        Slider(
            "weight_scale",
            (0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
            1.0,
            label="recurrent-weight scale",
            static=(0.5, 1.0, 1.5),
        ),
        Slider(
            "forget_bias",
            (-2.0, 0.0, 1.0, 2.0, 3.0, 5.0),
            1.0,
            label="LSTM forget-gate bias",
            static=(-2.0, 0.0, 1.0, 3.0),
        ),
    ),
    compute=bptt_result,
    draw=_draw_bptt,
    describe=_describe_bptt,
    ncols=1,
    figsize=(8.5, 3.6),
    cited={
        # the settings the gated-RNN chapter sends readers to, all at T = 100
        "reference": {"seq_len": 100, "weight_scale": 1.0, "forget_bias": 1.0},
        "small weights": {"seq_len": 100, "weight_scale": 0.5, "forget_bias": 1.0},
        "large weights": {"seq_len": 100, "weight_scale": 1.5, "forget_bias": 1.0},
        "forget bias 0": {"seq_len": 100, "weight_scale": 1.0, "forget_bias": 0.0},
        "forget bias 3": {"seq_len": 100, "weight_scale": 1.0, "forget_bias": 3.0},
        "closed forget gates": {"seq_len": 100, "weight_scale": 1.0, "forget_bias": -2.0},
        "open gates, large weights": {"seq_len": 100, "weight_scale": 1.5, "forget_bias": 3.0},
    },
)
