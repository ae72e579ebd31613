"""The chain-rule chapter's vglib code: against autograd, closed forms, and bad arguments."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch.testing import assert_close

from vglib import core
from vglib.demos import whisper_chain
from vglib.plots.chain import chain_gradients, layer_factors
from vglib.studies.chain_rule import (
    CHAIN_ACTIVATIONS,
    CHAIN_WEIGHTS,
    CLOSED_FORM_ACTIVATIONS,
    autograd_backprop,
    decay_study,
    end_to_end_jacobian,
    jacobian_chain,
    local_jacobians,
    manual_backprop,
    max_abs_difference,
    mean_field_rate,
    random_network,
    scalar_chain,
    worked_graph,
)

F64 = {"rtol": 1e-12, "atol": 1e-13}


# -- worked graph -----------------------------------------------------------------------------
@pytest.mark.parametrize(("x", "y"), [(1.5, -0.8), (-0.3, 2.0), (0.0, 0.0)])
def test_worked_graph_matches_autograd(x, y):
    graph = worked_graph(x, y)
    assert graph.max_abs_difference < 1e-14
    # x feeds two nodes: its adjoint is the sum of both paths
    a, b = graph.node("a"), graph.node("b")
    assert graph.node("x").adjoint == pytest.approx(
        a.adjoint * a.local["x"] + b.adjoint * b.local["x"]
    )
    assert graph.node("f").value == pytest.approx(math.tanh(x * y + math.sin(x)))


def test_worked_graph_bad_arguments():
    with pytest.raises(ValueError, match="finite number"):
        worked_graph(float("nan"))
    with pytest.raises(ValueError, match="'x', 'y', 'a', 'b', 'c', 'f'"):
        worked_graph().node("z")


# -- scalar chain -----------------------------------------------------------------------------
@pytest.mark.parametrize("activation", CHAIN_ACTIVATIONS)
@pytest.mark.parametrize("weight", [0.5, 1.0, 2.0])
def test_scalar_chain_autograd_equals_product(activation, weight):
    chain = scalar_chain(30, weight, activation, x0=0.3)
    assert_close(torch.from_numpy(chain.grad_autograd), torch.from_numpy(chain.grad_product), **F64)
    assert chain.grad_autograd[-1] == 1.0
    assert chain.factor.shape == (30,) and chain.h.shape == (31,)


def test_scalar_chain_whisper_numbers():
    assert scalar_chain(50, 0.5).input_gradient == 0.5**50
    assert scalar_chain(50, 2.0).input_gradient == 2.0**50
    # tanh at its fixed point 0 is linear to first order: the factor is exactly w
    assert_close(scalar_chain(10, 0.5, "tanh", x0=0.0).factor, np.full(10, 0.5))


def test_scalar_chain_factor_is_weight_times_slope():
    chain = scalar_chain(5, 1.7, "sigmoid", x0=-0.4)
    z = torch.tensor(1.7 * chain.h[:-1], requires_grad=True)
    (slope,) = torch.autograd.grad(torch.sigmoid(z).sum(), z)
    assert_close(chain.factor, 1.7 * slope.numpy(), **F64)


def test_scalar_chain_bad_arguments():
    with pytest.raises(ValueError, match="'linear', 'sigmoid', 'tanh'"):
        scalar_chain(5, 1.0, "relu")
    with pytest.raises(ValueError, match="num_layers must be at least 1"):
        scalar_chain(0, 1.0)
    with pytest.raises(ValueError, match="weight must be a finite number"):
        scalar_chain(3, float("inf"))


# -- manual backprop --------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("target", ["labels", "real"])
def test_manual_backprop_matches_autograd_to_float64_precision(activation, target):
    model = core.build_mlp(2, 3, num_layers=3, width=16, activation=activation, seed=1).double()
    X, labels = core.make_spirals(64, seed=0)
    X = X.double()
    y = labels if target == "labels" else torch.randn(64, 3, dtype=torch.float64)
    manual, auto = manual_backprop(model, X, y), autograd_backprop(model, X, y)
    assert list(manual.params) == [name for name, _ in model.named_parameters()]
    for name in manual.params:
        assert_close(manual.params[name], auto.params[name], **F64)
    for a, b in zip(manual.hidden, auto.hidden, strict=True):
        assert_close(a, b, **F64)
    assert manual.loss == pytest.approx(auto.loss, rel=1e-14)
    assert max_abs_difference(manual, auto) < 1e-14
    assert all(p.grad is None for p in model.parameters()), "the model must not be touched"


def test_manual_backprop_rejects_what_it_does_not_handle():
    X, y = core.make_spirals(8, seed=0)
    with pytest.raises(ValueError, match="'sigmoid', 'tanh', 'relu', 'identity'"):
        manual_backprop(core.build_mlp(2, 2, num_layers=2, activation="gelu"), X, y)
    with pytest.raises(ValueError, match="plain MLPs only"):
        manual_backprop(core.build_mlp(2, 2, num_layers=2, batch_norm=True), X, y)
    with pytest.raises(ValueError, match="'cross_entropy', 'mse'"):
        manual_backprop(core.build_mlp(2, 2, num_layers=2), X, y, loss="hinge")
    with pytest.raises(ValueError, match="vglib MLP"):
        manual_backprop(torch.nn.Linear(2, 2), X, y)


# -- Jacobians --------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "identity"])
def test_jacobian_products_match_end_to_end_autograd(activation):
    model, x = random_network(num_layers=6, width=8, activation=activation, weight_scale=1.3)
    jacobians, hidden = local_jacobians(model, x)
    chain = jacobian_chain(model, x)
    # each autograd Jacobian is diag(phi'(z_k)) W_k
    for J, block, h in zip(jacobians, model.layers, hidden, strict=False):
        z = block.linear(h).detach()
        expected = torch.func.jacrev(block.act)(z) @ block.linear.weight.detach()
        assert_close(J, expected, **F64)
    # the product of local Jacobians is the Jacobian of the composition (the chain rule)
    for stop in range(2, 7):
        full = end_to_end_jacobian(model, x, 1, stop)
        product = torch.eye(8, dtype=torch.float64)
        for J in jacobians[1:stop]:
            product = J @ product
        assert_close(full, product, **F64)
        assert chain.norm_from_first[stop - 2] == pytest.approx(
            torch.linalg.matrix_norm(full, ord=2).item(), rel=1e-10
        )
    full = end_to_end_jacobian(model, x, 3, 6)
    assert chain.norm_to_last[2] == pytest.approx(
        torch.linalg.matrix_norm(full, ord=2).item(), rel=1e-10
    )
    # both bounds hold, and the weight bound is the looser one
    assert np.all(chain.norm_from_first <= chain.product_from_first * (1 + 1e-10))
    assert np.all(chain.product_from_first <= chain.bound_from_first * (1 + 1e-10))
    assert np.all(chain.norm_to_last <= chain.bound_to_last * (1 + 1e-10))


@pytest.mark.parametrize("activation", CLOSED_FORM_ACTIVATIONS)
def test_gamma_is_the_largest_slope_autograd_finds(activation):
    model, x = random_network(num_layers=2, width=4, activation=activation, weight_scale=1.0)
    assert jacobian_chain(model, x).gamma == pytest.approx(core.max_slope(activation), abs=1e-12)


def test_linear_network_bound_is_exact_for_one_layer():
    model, x = random_network(num_layers=3, width=5, activation="identity", weight_scale=1.0)
    chain = jacobian_chain(model, x)
    assert chain.gamma == 1.0
    assert chain.norm_from_first[0] == pytest.approx(chain.bound_from_first[0], rel=1e-12)


def test_random_network_is_reproducible_and_scaled():
    a, xa = random_network(num_layers=2, width=200, activation="tanh", weight_scale=0.5, seed=3)
    b, xb = random_network(num_layers=2, width=200, activation="tanh", weight_scale=0.5, seed=3)
    assert_close(a.layers[1].linear.weight, b.layers[1].linear.weight)
    assert_close(xa, xb)
    assert a.layers[1].linear.weight.std().item() == pytest.approx(0.5 / math.sqrt(200), rel=0.05)


def test_decay_study_small_weights_decay_at_about_log_sigma():
    study = decay_study((0.25,), num_layers=20, width=32, num_networks=2)
    assert study.all_below_one.all()
    assert np.all(study.r2 > 0.99)
    # tanh with small weights sits near its linear regime: the rate is close to log sigma_w,
    # and never faster than the per-step norms allow
    assert study.rate.mean() == pytest.approx(math.log(0.25), abs=0.15)
    assert np.all(study.rate <= study.mean_log_local + 1e-9)


def test_jacobian_bad_arguments():
    model, x = random_network(num_layers=3, width=4, activation="tanh", weight_scale=1.0)
    with pytest.raises(ValueError, match="shape \\(4,\\)"):
        local_jacobians(model, torch.zeros(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="stop must be at most 3"):
        end_to_end_jacobian(model, x, 0, 4)
    with pytest.raises(ValueError, match="num_layers >= 2"):
        jacobian_chain(
            random_network(num_layers=1, width=4, activation="tanh", weight_scale=1)[0], x
        )
    with pytest.raises(ValueError, match="'sigmoid', 'tanh', 'relu', 'identity'"):
        random_network(num_layers=2, width=4, activation="elu", weight_scale=1.0)


# -- plots and demo ---------------------------------------------------------------------------
def test_plots_draw_then_update_in_place():
    ax = Figure().add_subplot()
    chain = scalar_chain(10, 0.5)
    chain_gradients(chain.layer, chain.grad_autograd, chain.grad_product, ax=ax, note="a")
    lines = list(ax.get_lines())
    chain = scalar_chain(20, 2.0)
    chain_gradients(chain.layer, chain.grad_autograd, chain.grad_product, ax=ax)
    assert list(ax.get_lines()) == lines and ax.get_yscale() == "log"
    assert [t for t in ax.texts if t.get_visible()] == []
    ax2 = Figure().add_subplot()
    layer_factors(chain.layer[1:], chain.factor, ax=ax2)
    layer_factors(chain.layer[1:6], chain.factor[:5], ax=ax2)
    assert len(ax2.get_lines()) == 2 and len(ax2.get_lines()[1].get_xdata()) == 5


def test_whisper_chain_live_panel_moves_data_and_image():
    panel = whisper_chain.panel()
    line = next(ln for ln in panel.axes[0].get_lines() if ln.get_gid() == "chain:autograd")
    image, caption = panel.image.value, panel.caption.value
    assert "8.88e-16" in caption  # 0.5 ** 50
    panel.controls["num_layers"].value = 20
    assert len(line.get_ydata()) == 21 and panel.image.value != image
    image = panel.image.value
    panel.controls["weight"].value = 2.0
    assert line.get_ydata()[0] == pytest.approx(2.0**20)
    assert panel.image.value != image
    image = panel.image.value
    panel.controls["activation"].value = "tanh"
    assert panel.image.value != image and "tanh" in panel.caption.value


def test_whisper_chain_static_grid_is_small():
    frames = 1
    for p in whisper_chain.params:
        frames *= len(p.static or p.options)
    assert frames <= 80


def test_whisper_chain_cited_settings_are_static_frames():
    grid = whisper_chain.static_grid()
    assert set(whisper_chain.cited) >= {"tanh, w = 2", "tanh, w = 1.1", "sigmoid, w = 4"}
    for setting, values in whisper_chain.cited.items():
        assert all(v in grid[name] for name, v in values.items()), setting
    assert (
        whisper_chain.setting_text("tanh, w = 1.1")
        == "depth L = 50, weight w = 1.1, activation = tanh"
    )
    values = whisper_chain.cite("sigmoid, w = 4")
    chain = scalar_chain(**values)
    assert chain is whisper_chain.result(**values)  # one computation for the book and the prose
    assert chain.weight == 4.0 and chain.activation == "sigmoid" and chain.num_layers == 50
    assert whisper_chain.params[1].values == CHAIN_WEIGHTS


def test_mean_field_rate_matches_theory_and_measurement():
    field = core.mean_field_profile("tanh", num_layers=10, sigma_w2=0.25, q_in=1.0)
    expected = float(np.mean(0.5 * np.log(field.chi[1:])))
    assert mean_field_rate(0.5, num_layers=10) == pytest.approx(expected, rel=1e-12)
    study = decay_study((0.5,), num_layers=30, width=32, num_networks=2)
    assert study.rate.mean() == pytest.approx(mean_field_rate(0.5, num_layers=30), abs=0.05)
    with pytest.raises(ValueError, match="'sigmoid', 'tanh', 'relu', 'identity'"):
        mean_field_rate(1.0, activation="selu")
