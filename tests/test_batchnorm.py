"""Batch-norm chapter: the hand-written transform against nn.BatchNorm1d, measurements, demo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch.testing import assert_close

from vglib import core
from vglib.demos import bn_depth_explorer
from vglib.plots.batchnorm import bn_backward_gains, bn_gradient_norms, step_times
from vglib.studies import batch_normalization as vb


# -- the transform ------------------------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_training_mode_matches_batchnorm1d_with_running_stats_and_gradients(momentum):
    gen = torch.Generator().manual_seed(1)
    layer = torch.nn.BatchNorm1d(6, momentum=momentum).double()
    with torch.no_grad():
        layer.weight.uniform_(0.5, 2.0, generator=gen)
        layer.bias.normal_(generator=gen)
    mean = torch.zeros(6, dtype=torch.float64)
    var = torch.ones(6, dtype=torch.float64)
    layer.train()
    for _ in range(4):
        x = (2.0 + 3.0 * torch.randn(16, 6, generator=gen, dtype=torch.float64)).requires_grad_()
        ours = vb.batchnorm_forward(
            x, layer.weight, layer.bias, mean, var, training=True, momentum=momentum
        )
        theirs = layer(x)
        assert_close(ours.y, theirs)
        R = torch.randn(16, 6, generator=gen, dtype=torch.float64)
        grads_ours = torch.autograd.grad((R * ours.y).sum(), [x, layer.weight, layer.bias])
        grads_theirs = torch.autograd.grad((R * theirs).sum(), [x, layer.weight, layer.bias])
        for a, b in zip(grads_ours, grads_theirs, strict=True):
            assert_close(a, b)
        mean, var = ours.running_mean, ours.running_var
        assert_close(mean, layer.running_mean)
        assert_close(var, layer.running_var)


def test_eval_mode_uses_running_stats_and_does_not_change_them():
    gen = torch.Generator().manual_seed(2)
    layer = torch.nn.BatchNorm1d(5).double()
    mean = torch.randn(5, generator=gen, dtype=torch.float64)
    var = torch.rand(5, generator=gen, dtype=torch.float64) + 0.5
    with torch.no_grad():
        layer.running_mean.copy_(mean)
        layer.running_var.copy_(var)
        layer.weight.uniform_(0.5, 2.0, generator=gen)
    x = torch.randn(3, 5, generator=gen, dtype=torch.float64)
    out = vb.batchnorm_forward(x, layer.weight, layer.bias, mean, var, training=False)
    assert_close(out.y, layer.eval()(x))
    assert torch.equal(out.running_mean, mean) and torch.equal(out.running_var, var)
    # one example is fine in eval mode, not in training mode
    vb.batchnorm_forward(x[:1], layer.weight, layer.bias, mean, var, training=False)
    with pytest.raises(ValueError, match="at least 2"):
        vb.batchnorm_forward(x[:1], layer.weight, layer.bias, mean, var, training=True)


def test_training_output_is_normalized_per_unit():
    x = 5 + 3 * torch.randn(64, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = vb.batchnorm_forward(
        x, torch.ones(4), torch.zeros(4), torch.zeros(4), torch.ones(4), training=True, eps=0.0
    ).y
    assert_close(out.mean(0), torch.zeros(4, dtype=torch.float64), atol=1e-12, rtol=0)
    assert_close(out.var(0, unbiased=False), torch.ones(4, dtype=torch.float64))


def test_bad_arguments_raise():
    x = torch.randn(4, 3)
    p = torch.ones(3)
    with pytest.raises(ValueError, match="momentum"):
        vb.batchnorm_forward(x, p, p, p, p, training=True, momentum=1.5)
    with pytest.raises(ValueError, match="2-D"):
        vb.batchnorm_forward(torch.randn(4), p, p, p, p, training=True)
    with pytest.raises(ValueError, match="'none', 'before', 'after'"):
        vb.gradient_profile(5, "relu", "middle")
    with pytest.raises(ValueError, match="'relu'"):
        vb.gradient_profile(5, "relux", "none")
    with pytest.raises(ValueError, match="'before', 'after'"):
        vb.next_layer_input("inside")
    with pytest.raises(ValueError, match="noise needs batch norm"):
        vb.train_compare({"x": {"noise": 1.0}}, steps=2, record_every=1)
    with pytest.raises(ValueError, match="c must be greater"):
        vb.scale_invariance(0.0)


# -- measurements ---------------------------------------------------------------------------------
@pytest.mark.parametrize("c", [0.01, 3.0, 1000.0])
def test_scale_invariance_output_input_grad_and_weight_grad(c):
    s = vb.scale_invariance(c)
    assert s.output_diff < 1e-10 and s.input_grad_diff < 1e-10
    assert s.weight_grad_ratio == pytest.approx(c, rel=1e-9)


def test_gradient_profile_uses_batch_norm_and_is_reproducible():
    a = vb.gradient_profile(8, "relu", "before", seed=3)
    b = vb.gradient_profile(8, "relu", "before", seed=3)
    c = vb.gradient_profile(8, "relu", "none", seed=3)
    assert_close(a.grad_norm, b.grad_norm)
    assert not np.allclose(a.grad_norm, c.grad_norm)


def test_growth_factor_recovers_a_geometric_sequence():
    g = 3.0 * 1.3 ** -np.arange(20.0)  # grows by 1.3 per layer towards layer 1
    assert vb.growth_factor(g, skip=0) == pytest.approx(1.3)
    assert vb.growth_factor(g, skip=5) == pytest.approx(1.3)


def test_deep_relu_bn_gradient_explodes_and_sigmoid_without_bn_vanishes():
    relu_bn = vb.gradient_profile(30, "relu", "before")
    assert vb.growth_factor(relu_bn.grad_norm) > 1.1
    sig = vb.gradient_profile(30, "sigmoid", "none")
    assert sig.first_to_last < 1e-6
    assert vb.gradient_profile(30, "sigmoid", "before").first_to_last > 0.1


@pytest.mark.parametrize("position", ["before", "after"])
def test_profile_gain_is_gamma_over_batch_std_and_leaves_one_running_update(position):
    gen = torch.Generator().manual_seed(4)
    X = torch.randn(32, 6, generator=gen)
    y = torch.randn(32, 1, generator=gen)
    model = core.build_mlp(
        6,
        1,
        num_layers=3,
        width=8,
        activation="tanh",
        batch_norm=True,
        bn_position=position,
        seed=2,
    )
    with torch.no_grad():
        for block in model.layers:
            block.norm.weight.uniform_(0.5, 2.0, generator=gen)
    reference = core.build_mlp(
        6,
        1,
        num_layers=3,
        width=8,
        activation="tanh",
        batch_norm=True,
        bn_position=position,
        seed=2,
    )
    reference.load_state_dict(model.state_dict())
    with torch.no_grad():  # what enters every batch norm, by hand
        h, expected = X, []
        for block in reference.layers:
            z = block.linear(h)
            inputs = z if position == "before" else block.act(z)
            std = torch.sqrt(inputs.var(0, unbiased=False) + block.norm.eps)
            expected.append((block.norm.weight / std).mean().item())
            h = block(h)  # one training-mode pass: one running-statistics update
    profile = vb.profile_model(model, X, y)
    assert_close(profile.gain, np.array(expected), rtol=1e-5, atol=0.0)
    assert profile.gain_product == pytest.approx(np.prod(expected[1:]), rel=1e-5)
    for (name, got), want in zip(model.named_buffers(), reference.buffers(), strict=True):
        assert_close(got, want, msg=name)
    flow = core.measure_gradient_flow(reference, X, y)
    assert_close(profile.flow.grad_norm, flow.grad_norm)
    plain = vb.profile_model(core.build_mlp(6, 1, num_layers=3, width=8, seed=2), X, y)
    assert np.all(np.isnan(plain.gain)) and np.isnan(plain.gain_product)


def test_profile_slope_is_the_mean_activation_derivative():
    X, y = core.make_spirals(64, seed=1)
    model = core.build_mlp(2, 2, num_layers=4, width=16, activation="sigmoid", seed=0)
    with torch.no_grad():
        _, pre, _ = model.forward_with_hidden(X)
    s = torch.sigmoid(torch.stack(pre))
    expected = (s * (1 - s)).mean(dim=(1, 2)).numpy()
    profile = vb.profile_model(model, X, y)
    assert_close(profile.slope, expected.astype(float), rtol=1e-5, atol=0.0)
    assert profile.mean_slope == pytest.approx(float(expected.mean()), rel=1e-5)


def test_sigmoid_bn_works_through_the_gain_not_through_the_slope():
    plain = vb.bn_profile(30, "sigmoid", "none")
    bn = vb.bn_profile(30, "sigmoid", "before")
    assert max(plain.max_saturation, bn.max_saturation) < 0.01
    assert bn.mean_slope <= plain.mean_slope
    assert np.mean(bn.gain[1:]) > 3
    # the plain ratio times the gains lands within a few decades of the BN ratio (of ~18)
    predicted = plain.flow.first_to_last * bn.gain_product
    assert abs(np.log10(bn.flow.first_to_last / predicted)) < 3
    double = vb.bn_profile(30, "sigmoid", "none", dtype="float64")
    assert double.flow.first_to_last == pytest.approx(plain.flow.first_to_last, rel=1e-3)
    with pytest.raises(ValueError, match="'float32', 'float64'"):
        vb.bn_profile(5, "sigmoid", "none", dtype="float16")


def test_next_layer_input_statistics():
    before = vb.next_layer_input("before")
    after = vb.next_layer_input("after")
    assert before.negative_share == 0.0 and 0.3 < before.zero_share < 0.7
    assert abs(after.mean) < 1e-4 and after.std == pytest.approx(1.0, rel=1e-3)


def test_train_eval_gap_restores_running_stats_and_matches_both_losses():
    X, y = core.make_spirals(64, seed=0)
    model = core.build_mlp(2, 2, num_layers=2, width=16, batch_norm=True, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    gap = vb.train_eval_gap(model, X, y, batch_size=8, seed=5)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert not model.training
    with torch.no_grad():
        assert gap.eval_mode == pytest.approx(core.loss_fn(model(X), y).item())
        # training mode: each batch of one shuffled pass normalized with its own statistics
        same = core.build_mlp(2, 2, num_layers=2, width=16, batch_norm=True, seed=0).train()
        order = torch.randperm(64, generator=torch.Generator().manual_seed(5))
        losses = [core.loss_fn(same(X[idx]), y[idx]).item() for idx in order.reshape(8, 8)]
    assert gap.train_mode == pytest.approx(np.mean(losses))
    with pytest.raises(ValueError, match="batch_size"):
        vb.train_eval_gap(model, X, y, batch_size=1)


def test_step_timer_times_every_step_of_train():
    X, y = core.make_spirals(32, seed=0)
    model = core.build_mlp(2, 2, num_layers=2, width=8, seed=0)
    timer = core.StepTimer()
    history = core.train(
        model, X, y, steps=5, batch_size=16, on_step=timer, record_every=None, progress=False
    )
    assert len(timer.seconds) == history.steps_run == 5
    assert all(0 < t < 10 for t in timer.seconds)


def test_step_time_and_train_compare_shapes():
    times = vb.step_time(num_layers=2, width=16, batch=16, repeats=4, warmup=1)
    for t in (times.plain, times.batch_norm):
        assert t.shape == (4,) and (t > 0).all()
    assert times.median_plain == pytest.approx(float(np.median(times.plain)))
    assert times.median_batch_norm == pytest.approx(float(np.median(times.batch_norm)))
    runs = vb.train_compare(
        {"a": {}, "b": {"bn": "before", "noise": 0.5}},
        num_layers=2,
        width=8,
        n_samples=64,
        steps=10,
        record_every=5,
    )
    assert set(runs) == {"a", "b"} and runs["b"].loss.shape == (2,)


# -- plots -------------------------------------------------------------------------------------------
def test_plots_update_in_place():
    fig = Figure()
    ax = fig.add_subplot()
    layer = np.arange(1, 6)
    bn_gradient_norms(layer, {"a": np.ones(5), "b": np.zeros(5)}, title="x", ax=ax)
    lines = list(ax.get_lines())
    bn_gradient_norms(layer, {"a": 2 * np.ones(5), "b": np.ones(5)}, title="y", ax=ax)
    assert list(ax.get_lines()) == lines and ax.get_title() == "y"
    assert_close(lines[0].get_ydata(), 2 * np.ones(5))
    ax3 = Figure().add_subplot()
    gains = {"none": np.full(5, np.nan), "a": 2 * np.ones(5), "b": np.arange(1.0, 6.0)}
    bn_backward_gains(layer, gains, slopes={"none": 0.2, "a": 0.1}, title="t", ax=ax3)
    assert ax3.get_title() == "t"
    drawn = [ln for ln in ax3.get_lines() if ln.get_visible()]
    assert [ln.get_label() for ln in drawn] == ["a", "b", "_gain 1"]
    bn_backward_gains(layer, {**gains, "b": 3 * np.ones(5)}, slopes={"none": 0.3}, ax=ax3)
    assert [ln for ln in ax3.get_lines() if ln.get_visible()] == drawn
    assert_close(drawn[1].get_ydata(), 3 * np.ones(5))
    assert "0.300" in ax3.texts[0].get_text() and ax3.texts[0].get_visible()
    ax2 = Figure().add_subplot()
    step_times({"no BN": np.full(4, 1e-3), "BN": np.full(4, 2e-3)}, ax=ax2)
    n = len(ax2.get_lines())
    step_times({"no BN": np.full(4, 2e-3), "BN": np.full(4, 3e-3)}, ax=ax2)
    assert len(ax2.get_lines()) == n


# -- demo ---------------------------------------------------------------------------------------------
def test_demo_controls_change_data_and_image():
    demo = bn_depth_explorer
    panel = demo.panel()
    lines = [line for ax in panel.axes for line in ax.get_lines()]
    before = [line.get_ydata().copy() for line in lines]
    image = panel.image.value
    main = demo.params[0]
    panel.controls[main.name].value = main.options[0]
    after = [line.get_ydata() for line in lines]
    assert any(
        len(a) != len(b) or not np.allclose(a, b) for a, b in zip(before, after, strict=True)
    )
    assert panel.image.value != image
    for param in demo.params[1:]:
        image = panel.image.value
        panel.controls[param.name].value = param.options[-1]
        assert panel.image.value != image


def test_demo_describes_itself_with_numbers():
    text = bn_depth_explorer.describe(bn_depth_explorer.result(), bn_depth_explorer.resolve())
    assert any(ch.isdigit() for ch in text) and len(text) > 40


def test_bn_depth_is_cached_and_keyed_by_setting():
    result = vb.bn_depth(6, "tanh")
    again = vb.bn_depth(num_layers=6, activation="tanh")
    assert again is vb.bn_depth(num_layers=6, activation="tanh")
    assert set(result.ratio) == set(vb.BN_MODES) and result.width == 64
    for bn in vb.BN_MODES:
        profile = vb.bn_profile(6, "tanh", bn)
        assert_close(result.norms[bn], profile.flow.grad_norm)
        assert result.ratio[bn] == pytest.approx(profile.flow.first_to_last)
        assert result.growth[bn] == vb.growth_factor(profile.flow.grad_norm, skip=4)
        assert result.slope[bn] == pytest.approx(profile.mean_slope)
    with pytest.raises(ValueError, match="num_layers"):
        vb.bn_depth(1, "tanh")


def test_demo_result_shows_the_gain_and_the_cited_settings_are_frames():
    values = bn_depth_explorer.cite("sigmoid, 50 layers")
    result = vb.bn_depth(**values)
    assert bn_depth_explorer.result(**values) is result  # the demo and the chapter share it
    assert result.gain["before"].shape == (50,) and np.all(np.isnan(result.gain["none"]))
    assert result.gain_mean["before"] == pytest.approx(np.mean(result.gain["before"][1:]))
    text = bn_depth_explorer.describe(result, values)
    assert f"{result.gain_mean['before']:.2f}" in text and "not higher than" in text
    assert "no batch norm: the gradient underflows to exactly 0" in text
    for setting in bn_depth_explorer.cited:
        bn_depth_explorer.cite(setting)  # every cited setting resolves
    assert bn_depth_explorer.setting_text("ReLU, 50 layers") == "layers = 50, activation = relu"
    fig = bn_depth_explorer.figure(**values)
    assert len(fig.axes) == 2
