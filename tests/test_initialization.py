"""Initialization and saturating-activations studies: against torch references and closed
forms; the initialization plots and demos."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from torch.testing import assert_close

from vglib import core as vc
from vglib import demos, plots
from vglib.studies import initialization as vi
from vglib.studies import saturating_activations as sa


# -- re-initialisation ------------------------------------------------------------------------
def test_reinit_gaussian_matches_requested_variances_and_leaves_global_rng_alone():
    model = vc.build_mlp(2, 2, num_layers=2, width=512, activation="tanh")
    state = torch.random.get_rng_state()
    vi.reinit_(model, 2.0, 0.09, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())
    w = model.layers[1].linear.weight
    assert w.var().item() * 512 == pytest.approx(2.0, rel=0.02)
    b = torch.cat([lin.bias for lin in model.linears()[:-1]])
    assert b.var().item() == pytest.approx(0.09, rel=0.1)
    again = vi.reinit_(vc.build_mlp(2, 2, num_layers=2, width=512), 2.0, 0.09, seed=3)
    assert_close(again.layers[1].linear.weight, w)


def test_reinit_orthogonal_and_constant():
    model = vc.build_mlp(2, 2, num_layers=3, width=32, activation="tanh")
    vi.reinit_(model, 1.5, weights="orthogonal", seed=0)
    w = model.layers[1].linear.weight.double()
    assert_close(w @ w.T, 1.5 * torch.eye(32, dtype=torch.float64), atol=1e-5, rtol=0)
    first = model.layers[0].linear.weight.double()  # 32 x 2: orthonormal columns
    assert_close(first.T @ first, 1.5 * torch.eye(2, dtype=torch.float64), atol=1e-5, rtol=0)
    vi.reinit_(model, 4.0, weights="constant")
    assert torch.all(model.layers[1].linear.weight == math.sqrt(4.0 / 32))
    assert torch.all(model.layers[1].linear.bias == 0)


# -- symmetry -----------------------------------------------------------------------------------
def test_constant_init_keeps_units_identical_exactly_after_training():
    check = vi.constant_init_symmetry("constant", steps=20)
    assert np.all(check.row_spread == 0.0), check.row_spread
    random = vi.constant_init_symmetry("gaussian", steps=20)
    assert np.all(random.row_spread > 0.1)


# -- the variance recursion ---------------------------------------------------------------------
def test_profile_matches_the_shared_gradient_measurement():
    X, y = vc.make_spirals(128, seed=0)
    model = vc.build_mlp(2, 2, num_layers=6, width=32, activation="tanh", init="xavier")
    profile = vi.profile_model(model, X, y, sigma_w2=1.0)
    flow = vc.measure_gradient_flow(model, X, y)
    assert_close(profile.grad_norm, flow.grad_norm, rtol=1e-5, atol=0)
    assert_close(profile.act_std, flow.act_std, rtol=1e-4, atol=0)
    with torch.no_grad():
        _, pre, _ = model.forward_with_hidden(X)
    assert profile.pre_rms[2] == pytest.approx(pre[2].pow(2).mean().sqrt().item(), rel=1e-5)


def test_profile_histograms_match_torch_histc_even_for_a_spike_of_tiny_gradients():
    # sigma_w2 = 0.25: the gradients of the early layers are a spike of values around 1e-10
    profile = vi.layer_profile("tanh", 0.25, num_layers=12, width=32, batch=64, bins=40)
    X, y = vc.make_spirals(64, seed=0)
    model = vi.reinit_(vc.build_mlp(2, 2, num_layers=12, width=32, activation="tanh"), 0.25)
    with torch.enable_grad():
        out, _, hidden = model.forward_with_hidden(X)
        grads = torch.autograd.grad(vc.loss_fn(out, y), hidden)
    edges = profile.grad_edges
    for layer, grad in enumerate(grads):
        counts = torch.histc(grad.double(), bins=40, min=edges[0], max=edges[-1])
        assert_close(profile.grad_counts[layer], counts.numpy(), rtol=0, atol=0)
    assert profile.grad_counts[0, 19] > 0 and profile.grad_counts[0, 20] > 0


@pytest.mark.parametrize(("init", "sigma_w2"), [("xavier", 1.0), ("he", 2.0)])
def test_deep_relu_variance_ratios_match_the_closed_form(init, sigma_w2):
    """Xavier (square layers: sigma_w2 = 1) halves q each layer; He keeps it constant."""
    num_layers, width = 30, 512
    X, y = vc.make_spirals(64, seed=0)
    model = vc.build_mlp(2, 2, num_layers=num_layers, width=width, activation="relu", init=init)
    profile = vi.profile_model(model, X, y, sigma_w2=sigma_w2)
    closed = vi.relu_variance_ratio(sigma_w2, num_layers)
    assert closed == pytest.approx(2.0 ** -(num_layers - 1) if init == "xavier" else 1.0)
    # finite width adds a random walk to log q of a few tenths: allow a factor 2 around 2^-29
    assert abs(math.log2(profile.forward_ratio / closed)) < 1.0
    assert abs(math.log2(profile.backward_ratio / closed)) < 1.0
    assert_close(profile.theory_pre_rms[-1] ** 2 / profile.theory_pre_rms[0] ** 2, closed)


def test_relu_mean_field_map_halves_the_second_moment():
    field = vc.mean_field_profile("relu", num_layers=5, sigma_w2=1.0, q_in=1.0)
    assert_close(field.q[1:] / field.q[:-1], np.full(4, 0.5), rtol=1e-6, atol=0)
    assert_close(field.chi, np.full(5, 0.5), rtol=1e-6, atol=0)


# -- edge of chaos ------------------------------------------------------------------------------
@pytest.mark.parametrize(("sigma_w2", "sigma_b2"), [(1.5, 0.05), (2.5, 0.1), (0.8, 0.3)])
def test_tanh_fixed_point_and_chi1_match_iterated_mean_field(sigma_w2, sigma_b2):
    field = vc.mean_field_profile(
        "tanh", num_layers=300, sigma_w2=sigma_w2, sigma_b2=sigma_b2, q_in=1.0
    )
    assert float(vi.tanh_fixed_point(sigma_w2, sigma_b2)) == pytest.approx(field.q[-1], rel=1e-6)
    assert float(vi.tanh_chi1(sigma_w2, sigma_b2)) == pytest.approx(field.chi[-1], rel=1e-6)


def test_critical_line_starts_at_one_and_has_chi1_equal_one():
    assert float(vi.tanh_critical_sigma_w2(0.0)) == pytest.approx(1.0, abs=1e-6)
    b2 = np.array([0.01, 0.05, 0.3])
    w2 = vi.tanh_critical_sigma_w2(b2)
    assert np.all(np.diff(w2) > 0) and np.all(w2 > 1)
    assert_close(vi.tanh_chi1(w2, b2), np.ones(3), rtol=1e-6, atol=0)
    assert float(vi.tanh_fixed_point(0.9, 0.0)) == 0.0 and float(vi.tanh_chi1(0.9, 0.0)) == 0.9


def test_measured_gradient_growth_follows_chi1():
    chaotic = vi.edge_of_chaos_point(3.0, 0.05)
    assert chaotic.chi1 > 1.1 and chaotic.measured_chi == pytest.approx(chaotic.chi1, rel=0.1)
    assert chaotic.phase == "chaotic"
    ordered = vi.edge_of_chaos_point(1.0, 0.3)
    assert ordered.chi1 < 0.6 and ordered.measured_chi == pytest.approx(ordered.chi1, rel=0.1)
    assert ordered.phase == "ordered" and vi.edge_of_chaos_point(1.0, 0.0).phase == "critical"
    g = ordered.profile.grad_norm  # (||g_10|| / ||g_30||)^(2/20)
    assert ordered.measured_chi == pytest.approx((g[9] / g[29]) ** 0.1, rel=1e-12)
    assert vi.edge_of_chaos_point(1.0, 0.3) is ordered  # memoised for the chapter


def test_phase_diagram_background_is_chi1_and_its_line_is_critical():
    diagram = vi.tanh_phase_diagram()
    assert diagram.log2_chi1.shape == (len(diagram.sigma_b2), len(diagram.sigma_w2))
    i, j = 20, 30
    chi1 = vi.tanh_chi1(diagram.sigma_w2[j], diagram.sigma_b2[i])
    assert diagram.log2_chi1[i, j] == pytest.approx(math.log2(float(chi1)))
    line = vi.tanh_chi1(diagram.line_sigma_w2, diagram.line_sigma_b2)
    assert_close(line, np.ones_like(line), rtol=1e-6, atol=0)


# -- Jacobian spectra ---------------------------------------------------------------------------
def test_jacobian_matches_the_product_of_layer_jacobians():
    layers = vi.square_stack(
        "tanh", "gaussian", sigma_w2=1.2, sigma_b2=0.01, num_layers=4, width=16, seed=2
    )
    x = torch.randn(16, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(layers, x)
    product, h = torch.eye(16, dtype=torch.float64), x
    for linear in layers[::2]:
        z = linear(h)
        product = torch.diag(1 - torch.tanh(z) ** 2) @ linear.weight @ product
        h = torch.tanh(z)
    assert_close(jac, product.detach())


def test_orthogonal_linear_network_is_exactly_isometric():
    s = vi.square_stack_jacobian_singular_values(
        "identity", "orthogonal", sigma_w2=1.0, num_layers=32, width=64
    )
    assert_close(s, np.ones(64), atol=1e-10, rtol=0)
    g = vi.square_stack_jacobian_singular_values(
        "identity", "gaussian", sigma_w2=1.0, num_layers=32, width=64
    )
    assert g.max() / g.min() > 1e6


def test_orthogonal_tanh_is_near_isometric_but_relu_is_not():
    b2 = 1e-5
    w2 = float(vi.tanh_critical_sigma_w2(b2))
    q = float(vi.tanh_fixed_point(w2, b2))
    tanh = vi.square_stack_jacobian_singular_values(
        "tanh", "orthogonal", sigma_w2=w2, sigma_b2=b2, q_in=q, num_layers=32, width=64
    )
    relu = vi.square_stack_jacobian_singular_values(
        "relu", "orthogonal", sigma_w2=2.0, num_layers=32, width=64
    )

    def near_one(s):
        return np.mean((s > 0.5) & (s < 2.0))

    assert near_one(tanh) > 0.9 and near_one(relu) < 0.2


# -- initial loss -------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 3, 5])
def test_zero_output_network_has_initial_loss_ln_k(k):
    losses = vi.initial_losses(k, (0.0, 1.0, 10.0), n_samples=20 * k)
    assert_close(losses[0.0], math.log(k), rtol=1e-6, atol=0)
    assert losses[10.0] > 2 * math.log(k)


def test_confidently_wrong_counts_wrong_classes_given_more_than_half_the_probability():
    X, y = vc.make_spirals(80, n_classes=4, seed=1)
    model = vc.build_mlp(2, 4, num_layers=3, width=16, activation="relu", init="he", seed=1)
    with torch.no_grad():
        logits = model(X)
    shares = vi.confidently_wrong(4, (0.0, 1.0, 10.0), num_layers=3, width=16, n_samples=80, seed=1)
    assert shares[0.0] == 0.0  # uniform predictions are never confident
    probs = torch.softmax(10.0 * logits.double(), dim=1)
    top, predicted = probs.max(dim=1)
    expected = ((predicted != y) & (top > 0.5)).double().mean().item()
    assert shares[10.0] == pytest.approx(expected)
    # a large head makes the wrong guesses confident: about (k - 1) / k of the data
    big = vi.confidently_wrong(4, (100.0,), num_layers=3, width=16, n_samples=400, seed=1)
    assert 0.6 < big[100.0] < 0.9


# -- training (He et al.'s experiment, tiny) ------------------------------------------------------
def test_deep_relu_xavier_stalls_while_he_learns():
    hist = vi.train_deep_relu(num_layers=30, width=32, n_samples=256, steps=40, record_every=20)
    assert abs(hist["xavier"].loss[-1] - math.log(2)) < 2e-3
    # dL/dW_l = delta_l h_{l-1}^T: the shrinking signal times the growing gradient makes every
    # layer's weight gradient about 2^-(L-1)/2 of He's, at every depth
    xavier, he = hist["xavier"].weight_grad_norm[0], hist["he"].weight_grad_norm[0]
    assert xavier.max() < 1e-3 * he.min()


# -- bad arguments ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: vi.reinit_(vc.build_mlp(2, 2, num_layers=1), 1.0, weights="he"), "'gaussian'"),
        (lambda: vi.layer_profile("sigmoidd", 1.0), "'tanh'"),
        (
            lambda: vi.square_stack_jacobian_singular_values("sigmoid", "gaussian", sigma_w2=1.0),
            "'relu'",
        ),
        (
            lambda: vi.square_stack_jacobian_singular_values("tanh", "constant", sigma_w2=1.0),
            "'orthogonal'",
        ),
        (lambda: vi.reinit_(torch.nn.Linear(2, 2), 1.0), "vglib MLP"),
        (
            lambda: vi.profile_model(
                vc.build_mlp(2, 2, num_layers=2, batch_norm=True), *vc.make_spirals(8), sigma_w2=1.0
            ),
            "plain MLPs only",
        ),
        (lambda: vi.tanh_critical_sigma_w2(-0.1), r"\[0, 5\]"),
        (lambda: vi.initial_losses(1), "at least 2"),
        (lambda: vi.confidently_wrong(3, confidence=1.5), "at most 1"),
        (lambda: vi.relu_variance_ratio(-1.0, 3), "at least 0"),
    ],
)
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- plots --------------------------------------------------------------------------------------
def test_phase_diagram_draws_background_once_and_moves_the_point():
    ax = Figure().add_subplot()
    b2 = np.linspace(0, 0.3, 5)
    bg = (np.linspace(0.5, 4, 6), b2, np.zeros((5, 6)))
    plots.phase_diagram(b2, 1 + b2, (1.0, 0.0), background=bg, label="a", ax=ax)
    plots.phase_diagram(b2, 1 + b2, (2.0, 0.1), background=bg, label="b", ax=ax)
    assert sum(isinstance(c, QuadMesh) for c in ax.get_children()) == 1
    point = next(line for line in ax.get_lines() if line.get_gid() == "phase:point")
    assert list(point.get_xdata()) == [2.0] and list(point.get_ydata()) == [0.1]
    assert any(t.get_text() == "b" for t in ax.texts)


def test_singular_value_spectra_sorts_and_floors():
    ax = Figure().add_subplot()
    plots.singular_value_spectra({"a": np.array([0.0, 2.0, 1.0])}, ax=ax, floor=1e-6)
    line = ax.get_lines()[0]
    assert list(line.get_ydata()) == [2.0, 1.0, 1e-6]


# -- demos --------------------------------------------------------------------------------------
def test_weight_scale_profile_theory_tracks_measurement_at_the_preserving_scale():
    p = vi.weight_scale_profile(sigma_w2=1.0, activation="tanh")
    assert_close(p.pre_rms, p.theory_pre_rms, rtol=0.3, atol=0)
    assert p.first_to_last == pytest.approx(p.grad_norm[0] / p.grad_norm[-1])
    p = vi.weight_scale_profile(sigma_w2=0.5, activation="tanh")
    assert p.pre_rms[-1] / p.pre_rms[0] < 1e-3
    assert p.act_counts.shape == (vi.DEMO_NUM_LAYERS, 0)  # the demo skips the histograms


@pytest.mark.parametrize("name", ["weight_scale_explorer", "edge_of_chaos"])
def test_cited_settings_read_as_sigma_w2(name):
    demo = getattr(demos, name)
    for setting, values in demo.cited.items():
        assert demo.cite(setting)["sigma_w2"] == values["sigma_w2"]
        assert "σ_w² = " in demo.setting_text(setting)


# -- the saturating-activations study -----------------------------------------------------------
def test_flow_at_init_is_the_shared_measurement_with_the_mean_field_beside_it():
    result = sa.flow_at_init(num_layers=6, activation="sigmoid", init="xavier", width=16)
    X, y = vc.make_spirals(sa.BATCH, seed=0)
    model = vc.build_mlp(2, 2, num_layers=6, width=16, activation="sigmoid", init="xavier")
    flow = vc.measure_gradient_flow(model, X, y)
    assert_close(result.flow.grad_norm, flow.grad_norm, rtol=0, atol=0)
    assert result.theory[-1] == pytest.approx(flow.grad_norm[-1])
    assert result.theory_ratio == pytest.approx(result.theory[0] / result.theory[-1])
    assert result.saturated_share == pytest.approx(np.mean(flow.saturation))
    assert sa.flow_at_init(num_layers=6, activation="sigmoid", init="xavier", width=16) is result


def test_flow_at_init_has_no_theory_for_batch_norm_and_no_saturation_for_relu():
    bn = sa.flow_at_init(num_layers=4, activation="relu", init="he", width=16, batch_norm=True)
    assert bn.theory is None and bn.theory_ratio is None
    assert math.isnan(bn.saturated_share) and 0 <= bn.dead_share <= 1


def test_saturation_flow_is_a_ten_layer_network_with_normal_weights():
    result = sa.saturation_flow(1.0, "tanh")
    again = sa.flow_at_init(num_layers=10, activation="tanh", init="normal", std=1.0)
    assert_close(result.flow.grad_norm, again.flow.grad_norm, rtol=0, atol=0)
    assert result.saturated_share > sa.saturation_flow(0.01, "tanh").saturated_share
