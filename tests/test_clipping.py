"""Exploding-gradients chapter: clipping against torch, the cliff against autograd and closed
forms, float16 facts, training runs, bad arguments and the demo's live panel."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from vglib import core
from vglib.demos import cliff_explorer
from vglib.studies import exploding_clipping as study


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
    mine, total = study.clip_by_norm(grads, max_norm)
    assert total == pytest.approx(total_torch.item(), rel=1e-6)
    for a, p in zip(mine, params, strict=True):
        assert_close(a, p.grad)
    assert study.global_norm(mine) == pytest.approx(min(max_norm, total), rel=1e-5)


@pytest.mark.parametrize("clip_value", [0.05, 0.5, 100.0])
def test_clip_by_value_matches_clip_grad_value_(clip_value):
    grads = _grads(1)
    params = _params_with(grads)
    torch.nn.utils.clip_grad_value_(params, clip_value)
    for a, p in zip(study.clip_by_value(grads, clip_value), params, strict=True):
        assert_close(a, p.grad)


def test_norm_clipping_keeps_the_direction_and_value_clipping_turns_it():
    grads = _grads(2)
    by_norm, _ = study.clip_by_norm(grads, 0.1)
    assert study.gradient_angle(grads, by_norm) < 1e-4
    assert study.gradient_angle(grads, study.clip_by_value(grads, 0.1)) > 5.0
    # closed form: g = (100, 0.1) clamped to (1, 0.1)
    g = [torch.tensor([100.0, 0.1], dtype=torch.float64)]
    expected = math.degrees(math.atan(0.1) - math.atan(0.001))
    assert study.gradient_angle(g, study.clip_by_value(g, 1.0)) == pytest.approx(expected, rel=1e-9)
    assert study.gradient_angle([torch.tensor([1.0, 0.0])], [torch.tensor([0.0, 2.0])]) == (
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
        loss, gw, gb = study.cliff_gradients(w, b, seq_len=T)
        h = 1e-6
        fd_w = (
            study.cliff_loss(w + h, b, seq_len=T)[0] - study.cliff_loss(w - h, b, seq_len=T)[0]
        ) / (2 * h)
        fd_b = (
            study.cliff_loss(w, b + h, seq_len=T)[0] - study.cliff_loss(w, b - h, seq_len=T)[0]
        ) / (2 * h)
        assert_close(gw, fd_w, rtol=1e-5, atol=1e-7)
        assert_close(gb, fd_b, rtol=1e-5, atol=1e-7)
    # T = 1: x_1 = w sigmoid(x0) + b, L = (x_1 - t)^2
    loss, gw, gb = study.cliff_gradients(w, b, seq_len=1)
    s = torch.sigmoid(torch.tensor(0.5, dtype=torch.float64))
    x1 = w * s + b
    assert_close(loss, (x1 - 0.7) ** 2)
    assert_close(gw, 2 * (x1 - 0.7) * s)
    assert_close(gb, 2 * (x1 - 0.7))


def test_rnn_cliff_steepness_grows_with_T_and_clipping_bounds_the_step():
    peaks = [study.rnn_cliff(T, threshold=1.0, lr=0.1).grad_norm.max() for T in (10, 30, 100)]
    assert peaks[0] * 10 < peaks[1] and peaks[1] * 100 < peaks[2]
    c = study.rnn_cliff(50, threshold=1.0, lr=0.1)
    assert np.linalg.norm(c.steps["norm"]) == pytest.approx(0.1, rel=1e-5)
    assert_close(c.steps["plain"], -0.1 * c.grad)
    assert np.all(np.abs(c.steps["value"]) <= 0.1 + 1e-12)
    assert c.angles["norm"] < 1e-6 and c.angles["value"] > 1.0
    assert c.landing_loss["plain"] > 1e3 * c.landing_loss["norm"]
    assert c.loss.max() < 50 and np.all(np.diff(c.w) > 0)
    assert c.step_length("norm") == pytest.approx(0.1, rel=1e-5)
    w_after, loss_after = c.landing("value")
    assert w_after == c.start[0] + c.steps["value"][0] and loss_after == c.landing_loss["value"]
    assert (
        study.rnn_cliff(50, threshold=1.0, lr=0.1) is c
    )  # cached: the demo and the chapter share it


# -- float16 facts ------------------------------------------------------------------------------
def test_float16_limits_and_underflow():
    lim = study.float16_limits()
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
    X, y = core.make_spirals(128, seed=0)
    model = core.build_mlp(2, 2, num_layers=10, activation="sigmoid", init="default", seed=0)
    lp = study.low_precision_gradients(model, X, y, scale=2.0**16)
    assert lp.zero["float16"][0] == 1.0  # the first layer's gradient is gone
    assert lp.zero["float16_scaled"][0] < 0.2
    assert np.all(lp.zero["bfloat16"] == 0)
    assert not lp.overflow
    # the scaled gradient is S times the gradient of the unscaled loss (the chain rule is linear)
    weight = model.layers[0].linear.weight
    out = model(X)
    (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(out, y), weight)
    (gs,) = torch.autograd.grad(2.0**16 * torch.nn.functional.cross_entropy(model(X), y), weight)
    assert_close(gs, 2.0**16 * g)


def test_train_grad_scaler_is_the_autocast_and_grad_scaler_loop_step_for_step():
    X, y = core.make_spirals(128, seed=0)
    model = core.build_mlp(2, 2, num_layers=4, activation="sigmoid", init="default", seed=0)
    run = study.train_grad_scaler(model, X, y, steps=9, init_scale=2.0**20, growth_interval=2)
    mine = core.build_mlp(2, 2, num_layers=4, activation="sigmoid", init="default", seed=0)
    opt = torch.optim.SGD(mine.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**20, growth_interval=2)
    gen = torch.Generator().manual_seed(0)
    scales, losses = [], []
    for _ in range(9):
        idx = torch.randint(0, 128, (64,), generator=gen)
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.float16):
            out = mine(X[idx])
        loss = torch.nn.functional.cross_entropy(out.float(), y[idx])
        scales.append(scaler.get_scale())
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert np.array_equal(run.scale, scales) and np.array_equal(run.loss, losses)
    assert np.array_equal(run.skipped[:-1], np.diff(scales) < 0)
    for a, b in zip(model.parameters(), mine.parameters(), strict=True):
        assert torch.equal(a, b)


def test_grad_scaler_runs_on_cpu_and_skips_overflowing_steps():
    X, y = core.make_spirals(128, seed=0)
    model = core.build_mlp(2, 2, num_layers=4, activation="sigmoid", init="default", seed=0)
    run = study.train_grad_scaler(model, X, y, steps=8, init_scale=2.0**40, growth_interval=100)
    assert run.skipped[0]  # 2^40 overflows float16 at once
    assert np.all(run.scale[1:][run.skipped[:-1]] == run.scale[:-1][run.skipped[:-1]] / 2)
    # a skipped step leaves the weights alone
    model2 = core.build_mlp(2, 2, num_layers=4, activation="sigmoid", init="default", seed=0)
    before = [p.detach().clone() for p in model2.parameters()]
    study.train_grad_scaler(model2, X, y, steps=1, init_scale=2.0**40)
    for a, p in zip(before, model2.parameters(), strict=True):
        assert torch.equal(a, p)


# -- clipping and vanishing gradients -------------------------------------------------------------
def test_clipping_never_enlarges_a_vanishing_gradient_nor_changes_the_layer_ratio():
    X, y = core.make_spirals(128, seed=0)
    model = core.build_mlp(2, 2, num_layers=10, activation="sigmoid", init="default", seed=0)
    inactive = core.clip_effect(model, X, y, max_norm=1e3)
    assert np.array_equal(inactive.before, inactive.after)
    assert inactive.ratio_before < 1e-5
    active = core.clip_effect(model, X, y, max_norm=1e-3 * inactive.total_norm)
    factor = active.after / active.before
    assert np.all(factor < 1)
    assert_close(torch.from_numpy(factor), torch.full((10,), factor[0], dtype=torch.float64))
    assert active.ratio_after == pytest.approx(active.ratio_before, rel=1e-5)


# -- training ------------------------------------------------------------------------------------
def test_exploding_run_diverges_and_clipping_keeps_it_finite():
    plain = study.train_exploding(lr=0.05, gain=1.3, steps=30)
    assert plain.first_nonfinite is not None and plain.first_nonfinite <= 10
    assert not np.isfinite(plain.loss[-1]) or not np.isfinite(plain.grad_norm[-1])
    assert plain.final_loss() == float("inf")
    clipped = study.train_exploding(mode="norm", threshold=1.0, lr=0.05, gain=1.3, steps=30)
    assert clipped.first_nonfinite is None and np.all(np.isfinite(clipped.loss))
    assert clipped.clipped[0] and clipped.angle[0] < 1e-3
    valued = study.train_exploding(mode="value", threshold=0.01, lr=0.05, gain=1.3, steps=5)
    assert valued.clipped.all() and np.all(valued.angle > 1.0)
    again = study.train_exploding(mode="norm", threshold=1.0, lr=0.05, gain=1.3, steps=30)
    assert np.array_equal(again.loss, clipped.loss)


def _sgd_by_hand(mode, threshold, lr, steps, *, seed=0):
    """The clipped SGD loop written out with torch's functions: losses, norms, final model."""
    model = study.exploding_mlp(gain=1.3, seed=seed)
    X, y = core.make_spirals(512, seed=seed)
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=lr)
    gen = torch.Generator().manual_seed(seed + 1)
    losses, norms = [], []
    for _ in range(steps):
        idx = torch.randint(0, 512, (64,), generator=gen)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
        loss.backward()
        total = torch.nn.utils.clip_grad_norm_(params, math.inf if mode != "norm" else threshold)
        if mode == "value":
            torch.nn.utils.clip_grad_value_(params, threshold)
        losses.append(loss.item())
        norms.append(total.item())
        if not (math.isfinite(losses[-1]) and math.isfinite(norms[-1])):
            break
        opt.step()
    return np.array(losses), np.array(norms), model


@pytest.mark.parametrize(
    ("mode", "threshold", "lr"), [("none", None, 0.05), ("norm", 1.0, 0.05), ("value", 0.1, 0.05)]
)
def test_train_exploding_is_the_clipped_sgd_loop_step_for_step(mode, threshold, lr):
    run = study.train_exploding(mode=mode, threshold=threshold, lr=lr, gain=1.3, steps=12)
    losses, norms, model = _sgd_by_hand(mode, threshold, lr, 12)
    assert np.array_equal(run.loss, losses, equal_nan=True)
    assert_close(run.grad_norm, norms, equal_nan=True, rtol=1e-5, atol=0.0)
    if run.first_nonfinite is None:
        X, y = core.make_spirals(512, seed=0)
        assert run.accuracy == core.accuracy(model, X, y)
    else:
        assert run.first_nonfinite == len(losses) and np.isnan(run.accuracy)


def test_batches_with_replacement_are_seeded_and_leave_the_global_state_alone():
    X, y = torch.arange(10.0).reshape(10, 1), torch.arange(10)
    state = torch.random.get_rng_state()
    a = core.batches_with_replacement(X, y, 4, seed=3)
    b = core.batches_with_replacement(X, y, 4, seed=3)
    for _ in range(3):
        (Xa, ya), (Xb, yb) = next(a), next(b)
        assert torch.equal(ya, yb)
        assert Xa.shape == (4, 1) and torch.equal(Xa, Xb) and torch.equal(Xa[:, 0].long(), ya)
    assert torch.equal(state, torch.random.get_rng_state())
    with pytest.raises(ValueError, match="batch_size"):
        core.batches_with_replacement(X, y, 0)


def test_initial_gradient_grows_towards_the_input():
    norms = study.initial_gradient_norms(gain=1.3)
    assert norms[0] / norms[-1] > 10


# -- bad arguments ---------------------------------------------------------------------------------
def test_bad_arguments_raise_value_errors_naming_the_allowed_values():
    with pytest.raises(ValueError, match="'none', 'norm', 'value'"):
        study.train_exploding(mode="global")
    with pytest.raises(ValueError, match="needs a threshold"):
        study.train_exploding(mode="norm")
    with pytest.raises(ValueError, match="threshold only applies"):
        study.train_exploding(mode="none", threshold=1.0)
    with pytest.raises(ValueError, match="max_norm"):
        study.clip_by_norm(_grads(), 0.0)
    with pytest.raises(ValueError, match="clip_value"):
        study.clip_by_value(_grads(), -1.0)
    with pytest.raises(ValueError, match="seq_len"):
        study.rnn_cliff(0)
    with pytest.raises(ValueError, match="w_range"):
        study.rnn_cliff(10, w_range=(5.0, 1.0))
    with pytest.raises(ValueError, match="scale"):
        X, y = core.make_spirals(16, seed=0)
        study.low_precision_gradients(core.build_mlp(2, 2, num_layers=2), X, y, scale=0.0)
    with pytest.raises(ValueError, match="non-zero"):
        study.gradient_angle([torch.zeros(3)], [torch.ones(3)])
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
