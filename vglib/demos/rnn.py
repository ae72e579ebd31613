"""Demo of the gated-recurrent-networks chapter: gradients through time in RNN, LSTM and GRU."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes

from vglib.demos.core import Demo, Slider
from vglib.plots.rnn import gradient_by_input_step
from vglib.studies.gated_rnns import BPTTProfile, bptt_profile

LABELS = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}


def _draw_bptt(profile: BPTTProfile, axes: Sequence[Axes]) -> None:
    gradient_by_input_step(
        profile.t,
        {label: profile.norms[cell] for cell, label in LABELS.items()},
        ax=axes[0],
        note_text="gradient ratio\nfirst / last step\n\n"
        + "\n".join(f"{label}:\n  {profile.ratio(cell):.1e}" for cell, label in LABELS.items()),
    )


def _describe_bptt(profile: BPTTProfile, values: Mapping[str, Any]) -> str:
    return (
        f"T = {profile.seq_len}, recurrent-weight scale {profile.weight_scale:g}, LSTM "
        f"forget-gate bias {profile.forget_bias:g}: the gradient of the last output with "
        f"respect to the first input is {profile.ratio('rnn'):.1e} times the one with respect "
        f"to the last input for the tanh RNN, {profile.ratio('lstm'):.1e} for the LSTM and "
        f"{profile.ratio('gru'):.1e} for the GRU."
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
    compute=bptt_profile,
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
