"""Exploding-gradients chapter: clipping against torch, the cliff against autograd and closed
forms, float16 facts, training runs, bad arguments and the demo's live panel."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from vglib.compute import build_mlp, make_spirals
from vglib.compute import clipping as cl
from vglib.demos.clipping import cliff_explorer


def _grads(seed=0, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    return [
        scale * torch.randn(4, 3, generator=gen),
        scale * torch.randn(5, generator=gen),
        scale * 10 * torch.randn(2, 2, generator=gen),
    ]


def _params_with(grads):
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    return params


# -- clipping against torch -------------------------------------------------------------------
@pytest.mark.parametrize("max_norm", [0.01, 1.0, 5.0, 1e6])
def test_clip_by_norm_matches_clip_grad_norm_(max_norm):
    grads = _grads()
    params = _params_with(grads)
    total_torch = torch.nn.utils.clip_grad_norm_(params, max_norm)
    mine, total = cl.clip_by_norm(grads, max_norm)
    assert total == pytest.approx(total_torch.item(), rel=1e-6)
    for a, p in zip(mine, params, strict=True):
        assert_close(a, p.grad)
    assert cl.global_norm(mine) == pytest.approx(min(max_norm, total), rel=1e-5)


@pytest.mark.parametrize("clip_value", [0.05, 0.5, 100.0])
def test_clip_by_value_matches_clip_grad_value_(clip_value):
    grads = _grads(1)
    params = _params_with(grads)
    torch.nn.utils.clip_grad_value_(params, clip_value)
    for a, p in zip(cl.clip_by_value(grads, clip_value), params, strict=True):
        assert_close(a, p.grad)


def test_norm_clipping_keeps_the_direction_and_value_clipping_turns_it():
    grads = _grads(2)
    by_norm, _ = cl.clip_by_norm(grads, 0.1)
    assert cl.gradient_angle(grads, by_norm) < 1e-4
    assert cl.gradient_angle(grads, cl.clip_by_value(grads, 0.1)) > 5.0
    # closed form: g = (100, 0.1) clamped to (1, 0.1)
    g = [torch.tensor([100.0, 0.1], dtype=torch.float64)]
    expected = math.degrees(math.atan(0.1) - math.atan(0.001))
    assert cl.gradient_angle(g, cl.clip_by_value(g, 1.0)) == pytest.approx(expected, rel=1e-9)
    assert cl.gradient_angle([torch.tensor([1.0, 0.0])], [torch.tensor([0.0, 2.0])]) == (
        pytest.approx(90.0)
    )


def test_norm_clipping_cannot_repair_a_non_finite_gradient():
    grads = [torch.tensor([1.0, float("nan")]), torch.tensor([float("inf"), 2.0])]
    params = _params_with(grads)
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    assert torch.isnan(params[0].grad).all() and torch.isnan(params[1].grad).all()


# -- the cliff ------------------------------------------------------------------------------
def test_cliff_gradients_match_finite_differences_and_the_one_step_closed_form():
    w = torch.tensor([1.0, 4.0, 4.8, 6.0], dtype=torch.float64)
    b = torch.full_like(w, -2.5)
    for T in (1, 7, 20):
        loss, gw, gb = cl.cliff_gradients(w, b, seq_len=T)
        h = 1e-6
        fd_w = (cl.cliff_loss(w + h, b, seq_len=T)[0] - cl.cliff_loss(w - h, b, seq_len=T)[0]) / (
            2 * h
        )
        fd_b = (cl.cliff_loss(w, b + h, seq_len=T)[0] - cl.cliff_loss(w, b - h, seq_len=T)[0]) / (
            2 * h
        )
        assert_close(gw, fd_w, rtol=1e-5, atol=1e-7)
        assert_close(gb, fd_b, rtol=1e-5, atol=1e-7)
    # T = 1: x_1 = w sigmoid(x0) + b, L = (x_1 - t)^2
    loss, gw, gb = cl.cliff_gradients(w, b, seq_len=1)
    s = torch.sigmoid(torch.tensor(0.5, dtype=torch.float64))
    x1 = w * s + b
    assert_close(loss, (x1 - 0.7) ** 2)
    assert_close(gw, 2 * (x1 - 0.7) * s)
    assert_close(gb, 2 * (x1 - 0.7))


def test_rnn_cliff_steepness_grows_with_T_and_clipping_bounds_the_step():
    peaks = [cl.rnn_cliff(T, threshold=1.0, lr=0.1).grad_norm.max() for T in (10, 30, 100)]
    assert peaks[0] * 10 < peaks[1] and peaks[1] * 100 < peaks[2]
    c = cl.rnn_cliff(50, threshold=1.0, lr=0.1)
    assert np.linalg.norm(c.steps["norm"]) == pytest.approx(0.1, rel=1e-5)
    assert_close(c.steps["plain"], -0.1 * c.grad)
    assert np.all(np.abs(c.steps["value"]) <= 0.1 + 1e-12)
    assert c.angles["norm"] < 1e-6 and c.angles["value"] > 1.0
    assert c.landing_loss["plain"] > 1e3 * c.landing_loss["norm"]
    assert c.loss.max() < 50 and np.all(np.diff(c.w) > 0)


# -- float16 facts ------------------------------------------------------------------------------
def test_float16_limits_and_underflow():
    lim = cl.float16_limits()
    assert lim["tiny"] == torch.finfo(torch.float16).tiny == 2.0**-14
    assert lim["smallest_subnormal"] == 2.0**-24
    assert lim["max"] == 65504.0
    x = torch.tensor([2.0**-24, 2.0**-25, 0.4 * 2.0**-24, 1e-5, 7e4])
    h = x.half().float()
    assert h[0] == 2.0**-24 and h[1] == 0 and h[2] == 0  # below half the smallest subnormal: 0
    assert 0 < h[3] < lim["tiny"] and torch.isinf(h[4])
    # bfloat16 keeps float32's exponent range
    assert torch.tensor(1e-30).bfloat16().item() != 0
    assert torch.finfo(torch.bfloat16).tiny == torch.finfo(torch.float32).tiny


def test_loss_scaling_keeps_gradients_that_float16_loses():
    X, y = make_spirals(128, seed=0)
    model = build_mlp(2, 2, num_layers=10, activation="sigmoid", init="default", seed=0)
    lp = cl.low_precision_gradients(model, X, y, scale=2.0**16)
    assert lp.zero["float16"][0] == 1.0  # the first layer's gradient is gone
    assert lp.zero["float16 scaled"][0] < 0.2
    assert np.all(lp.zero["bfloat16"] == 0)
    assert not lp.overflow
    # the scaled gradient is S times the gradient of the unscaled loss (the chain rule is linear)
    weight = model.layers[0].linear.weight
    out = model(X)
    (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(out, y), weight)
    (gs,) = torch.autograd.grad(2.0**16 * torch.nn.functional.cross_entropy(model(X), y), weight)
    assert_close(gs, 2.0**16 * g)


def test_grad_scaler_runs_on_cpu_and_skips_overflowing_steps():
    X, y = make_spirals(128, seed=0)
    model = build_mlp(2, 2, num_layers=4, activation="sigmoid", init="default", seed=0)
    run = cl.train_grad_scaler(model, X, y, steps=8, init_scale=2.0**40, growth_interval=100)
    assert run.skipped[0]  # 2^40 overflows float16 at once
    assert np.all(run.scale[1:][run.skipped[:-1]] == run.scale[:-1][run.skipped[:-1]] / 2)
    # a skipped step leaves the weights alone
    model2 = build_mlp(2, 2, num_layers=4, activation="sigmoid", init="default", seed=0)
    before = [p.detach().clone() for p in model2.parameters()]
    cl.train_grad_scaler(model2, X, y, steps=1, init_scale=2.0**40)
    for a, p in zip(before, model2.parameters(), strict=True):
        assert torch.equal(a, p)


# -- clipping and vanishing gradients -------------------------------------------------------------
def test_clipping_never_enlarges_a_vanishing_gradient_nor_changes_the_layer_ratio():
    X, y = make_spirals(128, seed=0)
    model = build_mlp(2, 2, num_layers=10, activation="sigmoid", init="default", seed=0)
    inactive = cl.clip_layer_norms(model, X, y, 1e3)
    assert np.array_equal(inactive.before, inactive.after)
    assert inactive.ratio_before < 1e-5
    active = cl.clip_layer_norms(model, X, y, 1e-3 * inactive.total_norm)
    factor = active.after / active.before
    assert np.all(factor < 1)
    assert_close(torch.from_numpy(factor), torch.full((10,), factor[0], dtype=torch.float64))
    assert active.ratio_after == pytest.approx(active.ratio_before, rel=1e-5)


# -- training ------------------------------------------------------------------------------------
def test_exploding_run_diverges_and_clipping_keeps_it_finite():
    plain = cl.train_exploding(lr=0.05, gain=1.3, steps=30)
    assert plain.first_nonfinite is not None and plain.first_nonfinite <= 10
    assert not np.isfinite(plain.loss[-1]) or not np.isfinite(plain.grad_norm[-1])
    assert plain.final_loss() == float("inf")
    clipped = cl.train_exploding(mode="norm", threshold=1.0, lr=0.05, gain=1.3, steps=30)
    assert clipped.first_nonfinite is None and np.all(np.isfinite(clipped.loss))
    assert clipped.clipped[0] and clipped.angle[0] < 1e-3
    valued = cl.train_exploding(mode="value", threshold=0.01, lr=0.05, gain=1.3, steps=5)
    assert valued.clipped.all() and np.all(valued.angle > 1.0)
    again = cl.train_exploding(mode="norm", threshold=1.0, lr=0.05, gain=1.3, steps=30)
    assert np.array_equal(again.loss, clipped.loss)


def test_initial_gradient_grows_towards_the_input():
    norms = cl.initial_gradient_norms(gain=1.3)
    assert norms[0] / norms[-1] > 10


# -- bad arguments ---------------------------------------------------------------------------------
def test_bad_arguments_raise_value_errors_naming_the_allowed_values():
    with pytest.raises(ValueError, match="'none', 'norm', 'value'"):
        cl.train_exploding(mode="global")
    with pytest.raises(ValueError, match="needs a threshold"):
        cl.train_exploding(mode="norm")
    with pytest.raises(ValueError, match="threshold only applies"):
        cl.train_exploding(mode="none", threshold=1.0)
    with pytest.raises(ValueError, match="max_norm"):
        cl.clip_by_norm(_grads(), 0.0)
    with pytest.raises(ValueError, match="clip_value"):
        cl.clip_by_value(_grads(), -1.0)
    with pytest.raises(ValueError, match="seq_len"):
        cl.rnn_cliff(0)
    with pytest.raises(ValueError, match="w_range"):
        cl.rnn_cliff(10, w_range=(5.0, 1.0))
    with pytest.raises(ValueError, match="scale"):
        X, y = make_spirals(16, seed=0)
        cl.low_precision_gradients(build_mlp(2, 2, num_layers=2), X, y, scale=0.0)
    with pytest.raises(ValueError, match="non-zero"):
        cl.gradient_angle([torch.zeros(3)], [torch.ones(3)])
    with pytest.raises(ValueError, match="choose one of: 5, 10, 15"):
        cliff_explorer.resolve(seq_len=7)


# -- the demo ---------------------------------------------------------------------------------------
def test_cliff_demo_live_panel_updates_in_place():
    panel = cliff_explorer.panel()
    line = panel.axes[1].get_lines()[0]
    peak, image = line.get_ydata().max(), panel.image.value
    figure = panel.figure
    panel.controls["seq_len"].value = 100
    assert panel.figure is figure and panel.axes[1].get_lines()[0] is line
    assert line.get_ydata().max() > 100 * peak
    assert panel.image.value != image
    assert "T = 100" in panel.caption.value
    image = panel.image.value
    panel.controls["threshold"].value = 10.0
    clipped = next(ln for ln in panel.axes[1].get_lines() if ln.get_label() == "clipped by norm")
    assert clipped.get_ydata().max() == pytest.approx(10.0)
    assert panel.image.value != image
    text = cliff_explorer.describe(panel.result, panel.values)
    assert "threshold 10" in text and "degrees" in text


def test_the_cliff_table_rows_are_static_frames_of_the_demo():
    grid = cliff_explorer.static_grid()
    for name in cliff_explorer.cited:
        values = cliff_explorer.cite(name)
        assert all(values[k] in grid[k] for k in values), name
    assert cliff_explorer.setting_text("T = 100") == (
        "sequence length T = 100, clipping threshold = 1, learning rate = 0.1"
    )
