"""The remedies chapter's study: layer-wise pre-training, depth budget, more steps, summaries, demo."""

from __future__ import annotations

import copy

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from vglib.core import build_mlp, make_spirals, measure_gradient_flow
from vglib.demos import pretraining_explorer
from vglib.plots.remedies import depth_costs, weight_moves
from vglib.studies import remedies as vp
from vglib.studies.saturating_activations import flow_at_init

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def small():
    X, y = make_spirals(200, seed=3)
    model = build_mlp(2, 2, num_layers=3, width=16, activation="sigmoid", seed=1)
    return model, X, y


# -- pre-training -----------------------------------------------------------------------------
def test_pretraining_reduces_reconstruction_error_and_leaves_global_rng_alone(small):
    model, X, _ = small
    state = torch.random.get_rng_state()
    pre = vp.pretrain_layerwise(model, X, steps=80, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert pre.num_pretrained == 3
    assert pre.recon_after.shape == pre.recon_before.shape == pre.input_variance.shape == (3,)
    # the first autoencoder learns the spirals well: far below its start and below the variance
    assert pre.recon_after[0] < 0.2 * pre.recon_before[0]
    assert pre.recon_after[0] < 0.2 * pre.input_variance[0]
    assert np.all(pre.recon_after < pre.recon_before)


def test_pretraining_is_a_denoising_autoencoder_trained_by_torch_adam(small):
    model, X, _ = small
    pre = vp.pretrain_layerwise(model, X, num_pretrained=1, steps=5, lr=0.01, noise=0.2, seed=3)
    # the same training written out by hand: decoder init, batches and noise from one generator
    gen = torch.Generator().manual_seed(3)
    encoder = copy.deepcopy(model.layers[0].linear)
    decoder = nn.Linear(16, 2)
    with torch.no_grad():
        decoder.weight.copy_((torch.rand(decoder.weight.shape, generator=gen) * 2 - 1) / 4.0)
        decoder.bias.zero_()
    opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=0.01)
    scale = X.std(dim=0, keepdim=True)
    for _ in range(5):
        clean = X[torch.randint(0, len(X), (64,), generator=gen)]
        noisy = clean + 0.2 * scale * torch.randn(clean.shape, generator=gen)
        opt.zero_grad()
        F.mse_loss(decoder(torch.sigmoid(encoder(noisy))), clean).backward()
        opt.step()
    assert_close(pre.encoders[0].weight, encoder.weight)
    assert_close(pre.decoders[0].weight, decoder.weight)


def test_pretraining_is_reproducible(small):
    model, X, _ = small
    a = vp.pretrain_layerwise(model, X, steps=10, seed=4)
    b = vp.pretrain_layerwise(model, X, steps=10, seed=4)
    for ea, eb in zip(a.encoders, b.encoders, strict=True):
        assert_close(ea.weight, eb.weight)


def test_encoder_weights_are_copied_into_the_network_and_nothing_else_changes(small):
    model, X, _ = small
    original = {k: v.clone() for k, v in model.state_dict().items()}
    pre = vp.pretrain_layerwise(model, X, num_pretrained=2, steps=20, seed=0)
    for key, value in model.state_dict().items():  # the input model is untouched
        assert torch.equal(value, original[key])
    net = pre.model
    for k in range(2):
        assert_close(net.layers[k].linear.weight, pre.encoders[k].weight)
        assert_close(net.layers[k].linear.bias, pre.encoders[k].bias)
        assert not torch.equal(net.layers[k].linear.weight, model.layers[k].linear.weight)
    assert_close(net.layers[2].linear.weight, model.layers[2].linear.weight)
    assert_close(net.head.weight, model.head.weight)
    # each layer's autoencoder was trained on the outputs of the pre-trained layers below
    with torch.no_grad():
        _, _, hidden = net.forward_with_hidden(X)
        expected = torch.sigmoid(pre.encoders[1](torch.sigmoid(pre.encoders[0](X))))
    assert_close(hidden[1], expected)


def test_greedy_prefix_property(small):
    model, X, _ = small
    one = vp.pretrain_layerwise(model, X, num_pretrained=1, steps=15, seed=2)
    three = vp.pretrain_layerwise(model, X, num_pretrained=3, steps=15, seed=2)
    assert_close(one.model.layers[0].linear.weight, three.model.layers[0].linear.weight)
    partial = vp.pretrained_layers(three, model, 1)
    assert_close(partial.layers[0].linear.weight, three.encoders[0].weight)
    assert_close(partial.layers[1].linear.weight, model.layers[1].linear.weight)


def test_pretraining_bad_arguments(small):
    model, X, _ = small
    with pytest.raises(ValueError, match="num_pretrained must be at most 3"):
        vp.pretrain_layerwise(model, X, num_pretrained=4)
    with pytest.raises(ValueError, match="plain MLPs only"):
        vp.pretrain_layerwise(build_mlp(2, 2, num_layers=2, batch_norm=True), X)
    with pytest.raises(ValueError, match="X must be a 2-D tensor"):
        vp.pretrain_layerwise(model, X[:, :1])
    with pytest.raises(ValueError, match=r"init='he'.*'default', 'xavier'"):
        vp.pretraining_flow(2, init="he")
    with pytest.raises(ValueError, match="num_pretrained must be at most 8"):
        vp.pretraining_flow(9)


def test_study_pretraining_lifts_the_gradient_at_layer_one():
    full = vp.pretraining_flow(vp.STUDY_LAYERS)
    none = vp.pretraining_flow(0)
    assert none.pretrained.first_to_last == pytest.approx(none.random.first_to_last)
    assert full.random.first_to_last < 1e-5
    assert full.pretrained.first_to_last > 1e3 * full.random.first_to_last
    # the pre-trained matrices amplify a few directions; rescaling random ones does not do it
    assert np.median(full.top_singular_pretrained[1:]) > 3 * np.median(full.top_singular_random[1:])
    assert vp.norm_matched_flow().first_to_last < 0.01 * full.pretrained.first_to_last


# -- depth, steps, clipping ---------------------------------------------------------------------
def test_matched_width_closed_form():
    deep = build_mlp(2, 2, num_layers=4, width=64)
    n = sum(p.numel() for p in deep.parameters())
    w = vp.matched_width(n)
    wide = build_mlp(2, 2, num_layers=1, width=w)
    assert abs(sum(p.numel() for p in wide.parameters()) - n) <= 5
    with pytest.raises(ValueError, match="num_params must be at least 1"):
        vp.matched_width(0)


def test_depth_budget_shapes_and_parameter_counts():
    budget = vp.depth_budget((1, 2), width=8, steps=20, record_every=10)
    assert budget.label == ("1 x 8", "2 x 8", f"1 x {vp.matched_width(int(budget.num_params[1]))}")
    assert budget.loss.shape == (3, 2) and budget.step.tolist() == [10, 20]
    assert budget.num_params[0] == 2 * 8 + 8 + 8 * 2 + 2
    assert abs(budget.num_params[2] - budget.num_params[1]) <= 5
    assert np.all((budget.test_accuracy >= 0) & (budget.test_accuracy <= 1))
    with pytest.raises(ValueError, match="depths must list at least one depth"):
        vp.depth_budget(())


def test_one_gradient_step_moves_each_layer_by_lr_times_its_gradient(small):
    model, X, y = small
    result = vp.catch_up(model, X, y, steps=1, factor=2, lr=1e-3, dtype="float64")
    assert_close(result.change_short, 1e-3 * result.grad_norm, rtol=1e-9, atol=0.0)
    flow = measure_gradient_flow(model.double(), X.double(), y)
    model.float()
    assert_close(result.grad_norm, flow.weight_grad_norm, rtol=1e-9, atol=0.0)
    assert result.steps_to_match[-1] == pytest.approx(1.0)
    assert np.all(result.frac_changed == 1.0)


def test_float32_rounds_tiny_updates_away():
    X, y = vp.study_data()
    result = vp.catch_up(vp.study_model(), X[:64], y[:64], steps=2, factor=2, lr=0.5)
    assert result.frac_changed[0] < 0.5 < result.frac_changed[-1]
    with pytest.raises(ValueError, match=r"dtype='float16'.*'float32', 'float64'"):
        vp.catch_up(vp.study_model(), X[:64], y[:64], dtype="float16")


def test_finetune_runs_train_three_arms_on_one_budget():
    runs = vp.finetune_runs(steps=20, record_every=10)
    arms = (runs.sigmoid_random, runs.sigmoid_pretrained, runs.relu_he)
    for run in arms:
        assert run.history.step.tolist() == [10, 20] and 0 <= run.test_accuracy <= 1
    # the pre-trained arm starts from the pre-trained network, the random one from the random one
    full = vp.pretraining_flow(vp.STUDY_LAYERS)
    assert runs.sigmoid_pretrained.start_flow.first_to_last == pytest.approx(
        full.pretrained.first_to_last
    )
    assert runs.sigmoid_random.start_flow.first_to_last == pytest.approx(full.random.first_to_last)


def test_gradient_ratio_agrees_with_measure_and_flow_at_init():
    X, y = make_spirals(256, seed=0)
    model = build_mlp(2, 2, num_layers=5, activation="tanh", init="xavier", seed=0)
    expected = measure_gradient_flow(model, X, y).first_to_last
    assert vp.gradient_ratio(5, "tanh", "xavier") == pytest.approx(expected, rel=1e-5)
    at_init = flow_at_init(num_layers=5, activation="tanh", init="xavier")
    assert vp.gradient_ratio(5, "tanh", "xavier") == at_init.flow.first_to_last


# -- plots and demo ---------------------------------------------------------------------------
def test_plots_update_in_place():
    fig = matplotlib.figure.Figure()
    ax = fig.add_subplot()
    depth_costs(["a", "b"], np.array([0.5, 0.2]), ax=ax)
    bars = list(ax.containers[0])
    depth_costs(["a", "b"], np.array([0.1, 0.4]), ax=ax)
    assert list(ax.containers[0]) == bars and len(ax.containers) == 1
    assert [b.get_width() for b in bars] == [0.1, 0.4]
    assert [t.get_text() for t in ax.texts] == [" 0.100", " 0.400"]
    ax2 = fig.add_subplot(2, 1, 2)
    weight_moves(np.arange(1, 4), np.ones(3), 2 * np.ones(3), steps=5, factor=10, ax=ax2)
    weight_moves(np.arange(1, 4), np.ones(3), 3 * np.ones(3), steps=5, factor=10, ax=ax2)
    assert len(ax2.get_lines()) == 2
    assert ax2.get_lines()[1].get_ydata().tolist() == [3, 3, 3]


def test_demo_panel_changes_data_and_image():
    panel = pretraining_explorer.panel(num_pretrained=0)
    line = next(
        ln for ln in panel.axes[0].get_lines() if ln.get_label() == "first k layers pre-trained"
    )
    before, image = line.get_ydata().copy(), panel.image.value
    panel.controls["num_pretrained"].value = vp.STUDY_LAYERS
    assert not np.allclose(line.get_ydata(), before)
    assert panel.image.value != image
    assert "first 8 layers pre-trained" in panel.caption.value
    with pytest.raises(ValueError, match="num_pretrained=9 is not available"):
        pretraining_explorer.resolve(num_pretrained=9)


def test_text_and_caption_quote_the_same_singular_values():
    full = vp.pretraining_flow(**pretraining_explorer.cite("all layers pre-trained"))
    assert pretraining_explorer.result(num_pretrained=8) is full  # one computation
    pre, rand = full.median_top_singular
    # the square 64 x 64 layers 2..8 only: layer 1 (64 x 2) measures the input scale
    assert pre == pytest.approx(np.median(full.top_singular_pretrained[1:]))
    assert rand == pytest.approx(np.median(full.top_singular_random[1:]))
    caption = pretraining_explorer.describe(full, pretraining_explorer.resolve(num_pretrained=8))
    assert f"{pre:.1f}" in caption and f"{rand:.1f}" in caption
    assert np.isnan(vp.pretraining_flow(1).median_top_singular[0])
    half = vp.pretraining_flow(4)
    assert half.median_top_singular[0] == pytest.approx(
        np.median(half.top_singular_pretrained[1:4])
    )
    assert pretraining_explorer.setting_text("lower half pre-trained") == "pre-trained layers k = 4"


def test_remedy_profile_is_the_gradient_ratio_pass_with_gains():
    plain = vp.remedy_profile(6, "sigmoid", "default")
    bn = vp.remedy_profile(6, "sigmoid", "default", batch_norm=True)
    assert plain.flow.first_to_last == pytest.approx(vp.gradient_ratio(6, "sigmoid", "default"))
    assert bn.flow.first_to_last == pytest.approx(
        vp.gradient_ratio(6, "sigmoid", "default", batch_norm=True)
    )
    assert np.all(np.isnan(plain.gain)) and np.all(bn.gain[1:] > 1)
    assert bn.mean_slope <= plain.mean_slope
