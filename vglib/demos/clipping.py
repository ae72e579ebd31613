"""Demo of the exploding-gradients chapter: the cliff of a one-unit recurrent network, clipped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes

from vglib.demos.core import Demo, Slider
from vglib.plots.clipping import cliff_gradient_norm, cliff_profile
from vglib.studies.exploding_clipping import STEP_KINDS, Cliff, rnn_cliff

STEP_LABELS = {"plain": "no clipping", "norm": "clipped by norm", "value": "clipped by value"}


def _draw_cliff(cliff: Cliff, axes: Sequence[Axes]) -> None:
    start = (float(cliff.start[0]), cliff.start_loss)
    landings = {f"{STEP_LABELS[kind]} lands": cliff.landing(kind) for kind in STEP_KINDS}
    cliff_profile(cliff.w, cliff.loss, start=start, landings=landings, ax=axes[0], ylim=(-1, 50))
    axes[0].set_title(f"loss along w (b = {cliff.bias:g}), T = {cliff.seq_len}", fontsize="small")
    cliff_gradient_norm(
        cliff.w,
        cliff.grad_norm,
        threshold=cliff.threshold,
        ax=axes[1],
        ylim=(1e-2, 1e9),
        note_text="one step from the steepest point\n"
        f"plain: |Δθ| = {cliff.step_length('plain'):.1e}, "
        f"L = {cliff.landing_loss['plain']:.1e}\n"
        f"by norm: |Δθ| = {cliff.step_length('norm'):.2g}, "
        f"L = {cliff.landing_loss['norm']:.2f}\n"
        f"by value: {cliff.angles['value']:.0f}° turn, L = {cliff.landing_loss['value']:.2f}",
    )
    axes[1].set_title(
        f"steepest: ‖∇L‖ = {cliff.grad_norm.max():.1e} at w = {cliff.start[0]:.4f}",
        fontsize="small",
    )


def _describe_cliff(cliff: Cliff, values: Mapping[str, float]) -> str:
    return (
        f"T = {cliff.seq_len}, threshold {cliff.threshold:g}, learning rate {cliff.lr:g}: the "
        f"gradient norm peaks at {cliff.grad_norm.max():.1e} at the cliff (w = "
        f"{cliff.start[0]:.3f}, loss {cliff.start_loss:.2f}). A plain gradient step from there "
        f"has length {cliff.step_length('plain'):.1e} and lands at loss "
        f"{cliff.landing_loss['plain']:.1e}; clipped by norm its length is "
        f"{cliff.step_length('norm'):.2g} (loss after {cliff.landing_loss['norm']:.2f}), "
        f"clipped by value it turns by {cliff.angles['value']:.0f} degrees (loss after "
        f"{cliff.landing_loss['value']:.2f})."
    )


cliff_explorer = Demo(
    name="cliff_explorer",
    title="The cliff: loss and gradient of a one-unit recurrent network along its weight",
    params=(
        Slider(
            "seq_len",
            (5, 10, 15, 20, 30, 50, 75, 100),
            50,
            label="sequence length T",
            static=(5, 10, 20, 30, 50, 100),
        ),
        Slider("threshold", (0.1, 1.0, 10.0), 1.0, label="clipping threshold", static=(1.0, 10.0)),
        Slider("lr", (0.01, 0.1, 1.0), 0.1, label="learning rate", static=(0.1,)),
    ),
    compute=rnn_cliff,
    draw=_draw_cliff,
    describe=_describe_cliff,
    ncols=2,
    figsize=(9.5, 3.8),
    cited={
        # the rows of the exploding-gradients chapter's cliff table
        f"T = {T}": {"seq_len": T, "threshold": 1.0, "lr": 0.1}
        for T in (5, 10, 20, 50, 100)
    },
)
