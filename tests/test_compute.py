"""vglib.compute against torch's own references, closed-form theory, and bad arguments."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn
from torch.testing import assert_close

import vglib.compute as vc
from vglib.compute.models import MLP


def _spirals(n: int = 256):
    return vc.make_spirals(n, seed=0)


# -- layering -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("vglib.compute", ("matplotlib", "ipywidgets")),
        ("vglib.plots", ("torch", "ipywidgets")),
        ("vglib", ("torch", "matplotlib", "ipywidgets")),
    ],
)
def test_layers_import_only_what_they_may(module, forbidden):
    code = f"import sys, {module}; print([m for m in {forbidden!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"importing {module} pulled in {out.stdout.strip()}"


# -- models ---------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", sorted(vc.ACTIVATIONS))
def test_build_mlp_shapes_and_activation(activation):
    model = vc.build_mlp(3, 5, num_layers=4, width=16, activation=activation)
    assert len(model.layers) == 4
    assert model(torch.zeros(7, 3)).shape == (7, 5)
    expected = type(vc.ACTIVATIONS[activation]())
    assert all(type(block.act) is expected for block in model.layers)


def test_build_mlp_is_reproducible_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a = vc.build_mlp(2, 2, num_layers=3, seed=7)
    b = vc.build_mlp(2, 2, num_layers=3, seed=7)
    c = vc.build_mlp(2, 2, num_layers=3, seed=8)
    assert torch.equal(torch.get_rng_state(), state)
    assert_close(a.layers[1].linear.weight, b.layers[1].linear.weight)
    assert not torch.equal(a.layers[1].linear.weight, c.layers[1].linear.weight)


def test_batch_norm_and_residual_options():
    model = vc.build_mlp(2, 2, num_layers=3, width=8, batch_norm=True, residual=True)
    assert all(isinstance(block.norm, nn.BatchNorm1d) for block in model.layers)
    assert [block.residual for block in model.layers] == [False, True, True]
    X = torch.randn(10, 2)
    # the residual block adds its input: output minus the branch equals the input
    block = model.layers[1]
    h = model.layers[0](X)
    assert_close(block(h) - block.act(block.norm(block.linear(h))), h)


def _reference_init(init: str, seed: int, **kw) -> MLP:
    """Apply torch.nn.init directly, in the same order build_mlp draws its random numbers."""
    torch_init = {
        "standard": lambda w: nn.init.uniform_(
            w, -1 / math.sqrt(w.shape[1]), 1 / math.sqrt(w.shape[1])
        ),
        "normal": lambda w: nn.init.normal_(w, 0.0, 0.3),
        "xavier": lambda w: nn.init.xavier_uniform_(w, gain=1.0),
        "he": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
        "lecun": lambda w: nn.init.kaiming_normal_(w, nonlinearity="linear"),
        "orthogonal": lambda w: nn.init.orthogonal_(w),
    }
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MLP(2, 3, 4, 32, "tanh")
        for linear in model.linears():
            if init == "default":
                linear.reset_parameters()
            else:
                with torch.no_grad():
                    torch_init[init](linear.weight)
                    linear.bias.zero_()
    return model


@pytest.mark.parametrize("init", vc.INITS)
def test_inits_match_torch_reference(init):
    kw = {"std": 0.3} if init == "normal" else {}
    model = vc.build_mlp(2, 3, num_layers=4, width=32, activation="tanh", init=init, seed=3, **kw)
    reference = _reference_init(init, seed=3)
    for mine, ref in zip(model.linears(), reference.linears(), strict=True):
        assert_close(mine.weight, ref.weight)
        assert_close(mine.bias, ref.bias)


@pytest.mark.parametrize("init", vc.INITS)
def test_weight_variance_scale_matches_sampled_weights(init):
    kw = {"std": 0.05} if init == "normal" else {}
    fan = 512
    model = vc.build_mlp(fan, fan, num_layers=2, width=fan, init=init, seed=0, **kw)
    weight = model.layers[1].linear.weight
    sigma_w2, _ = vc.weight_variance_scale(init, fan, fan, **kw)
    measured = fan * weight.pow(2).mean().item()  # second moment: the mean is zero by design
    assert measured == pytest.approx(sigma_w2, rel=0.03)


def test_orthogonal_init_is_orthogonal():
    model = vc.build_mlp(16, 2, num_layers=2, width=16, init="orthogonal", gain=2.0)
    W = model.layers[1].linear.weight
    assert_close(W @ W.T, 4.0 * torch.eye(16), atol=1e-5, rtol=1e-5)


# -- measurement ----------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "gelu"])
@pytest.mark.parametrize("options", [{}, {"batch_norm": True}, {"residual": True}])
def test_measure_matches_autograd_backward(activation, options):
    X, y = _spirals()
    model = vc.build_mlp(2, 2, num_layers=6, width=32, activation=activation, seed=1, **options)
    flow = vc.measure_gradient_flow(model, X, y)
    assert all(p.grad is None for p in model.parameters()), "measurement must not leave .grad"

    out, _, hidden = model.forward_with_hidden(X)
    for h in hidden:
        h.retain_grad()
    nn.functional.cross_entropy(out, y).backward()
    # float32 arithmetic, summed in a different order by a different thread count: float32 tolerance
    f32 = {"rtol": 1e-5, "atol": 1e-8}
    weight_norms = np.array([b.linear.weight.grad.norm().item() for b in model.layers])
    assert_close(flow.weight_grad_norm, weight_norms, **f32)
    assert_close(flow.grad_norm, np.array([h.grad.norm().item() for h in hidden]), **f32)
    assert_close(flow.act_mean, np.array([h.mean().item() for h in hidden]), rtol=1e-5, atol=1e-6)


def test_saturation_and_dead_units_match_direct_counts():
    X, y = _spirals()
    tanh_net = vc.build_mlp(2, 2, num_layers=5, width=32, activation="tanh", init="normal", std=0.6)
    flow = vc.measure_gradient_flow(tanh_net, X, y, saturation_threshold=0.1)
    _, pre, hidden = tanh_net.forward_with_hidden(X)
    direct = [((1 - h.detach() ** 2) < 0.1).float().mean().item() for h in hidden]
    assert_close(flow.saturation, np.array(direct))
    assert flow.saturation.max() > 0.2  # the test must be able to see saturation at all

    relu_net = vc.build_mlp(2, 2, num_layers=12, width=4, activation="relu", init="he", seed=5)
    flow = vc.measure_gradient_flow(relu_net, X, y)
    _, pre, _ = relu_net.forward_with_hidden(X)
    assert_close(flow.dead, np.array([(z <= 0).all(dim=0).float().mean().item() for z in pre]))
    assert np.isnan(flow.saturation).all(), "ReLU cannot saturate; saturation is undefined"


def test_measure_reports_a_diverged_model_instead_of_crashing():
    X, y = _spirals()
    model = vc.build_mlp(2, 2, num_layers=3)
    with torch.no_grad():
        model.layers[0].linear.weight.fill_(float("nan"))
    flow = vc.measure_gradient_flow(model, X, y)
    assert math.isnan(flow.loss)
    assert np.isnan(flow.grad_norm).all()


def test_regression_targets_use_mse():
    X, y = vc.make_teacher_regression(64, in_features=4)
    model = vc.build_mlp(4, 1, num_layers=2)
    flow = vc.measure_gradient_flow(model, X, y)
    assert flow.loss == pytest.approx(nn.functional.mse_loss(model(X), y).item(), rel=1e-6)


# -- theory ---------------------------------------------------------------------------------
def test_slopes_match_closed_forms():
    z = np.linspace(-8, 8, 101)
    s = 1 / (1 + np.exp(-z))
    assert_close(vc.slope_curve("sigmoid", z), s * (1 - s))
    assert_close(vc.slope_curve("tanh", z), 1 - np.tanh(z) ** 2)
    assert vc.max_slope("sigmoid") == pytest.approx(0.25, abs=1e-9)
    assert vc.max_slope("tanh") == pytest.approx(1.0, abs=1e-9)


def test_mean_field_closed_forms():
    # ReLU with He init: chi = 2 * P(z > 0) = 1 exactly at every depth
    relu = vc.mean_field_profile("relu", num_layers=30, sigma_w2=2.0, q_in=1.0)
    assert_close(relu.chi, np.ones(30), rtol=1e-10, atol=0)
    # linear network: q_l = sigma_w2**l * q_in and chi = sigma_w2
    lin = vc.mean_field_profile("identity", num_layers=5, sigma_w2=0.5, q_in=2.0)
    assert_close(lin.q, 2.0 * 0.5 ** np.arange(1, 6))
    assert_close(lin.relative_grad_norms(), 0.5 ** (0.5 * np.arange(4, -1, -1)))


@pytest.mark.parametrize(
    ("activation", "init"),
    [("sigmoid", "default"), ("tanh", "xavier"), ("relu", "default"), ("tanh", "default")],
)
def test_mean_field_predicts_measured_gradient_ratio(activation, init):
    X, y = _spirals(512)
    layers, width = 12, 256
    model = vc.build_mlp(2, 2, num_layers=layers, width=width, activation=activation, init=init)
    flow = vc.measure_gradient_flow(model, X, y)
    field = vc.mlp_mean_field(
        activation, init, num_layers=layers, width=width, in_features=2, q_in=float((X**2).mean())
    )
    predicted = field.relative_grad_norms()[0]
    assert abs(math.log10(flow.first_to_last) - math.log10(predicted)) < 0.35


# -- data and training ----------------------------------------------------------------------
def test_spirals_are_balanced_reproducible_and_learnable():
    X, y = vc.make_spirals(400, n_classes=2, seed=3)
    assert X.shape == (400, 2) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [200, 200]
    assert torch.equal(vc.make_spirals(400, seed=3)[0], X)
    model = vc.build_mlp(2, 2, num_layers=4, width=64, activation="relu", init="he")
    history = vc.train(model, X, y, steps=600, lr=3e-3, record_every=100, progress=False)
    assert history.accuracy[-1] > 0.9, "a 4-layer ReLU net must learn the spirals"
    assert history.weight_grad_norm.shape == (6, 4)


def test_teacher_regression_is_learnable_to_the_noise_floor():
    X, y = vc.make_teacher_regression(512, in_features=4, noise=0.05, seed=0)
    assert y.shape == (512, 1) and y.std().item() == pytest.approx(1.0, rel=0.05)
    model = vc.build_mlp(4, 1, num_layers=2, width=64, activation="tanh", init="xavier")
    history = vc.train(model, X, y, steps=800, lr=3e-3, record_every=100, progress=False)
    assert history.loss[-1] < 0.1 * history.loss[0]


# -- bad arguments --------------------------------------------------------------------------
BAD_CALLS = [
    (
        lambda: vc.build_mlp(2, 2, num_layers=3, activation="sigmoidd"),
        r"activation='sigmoidd'.*'relu'",
    ),
    (lambda: vc.build_mlp(2, 2, num_layers=0), r"num_layers must be at least 1"),
    (lambda: vc.build_mlp(2, 2, num_layers=3, init="kaiming"), r"init='kaiming'.*'he'"),
    (lambda: vc.build_mlp(2, 2, num_layers=3, init="normal"), r"needs a standard deviation"),
    (lambda: vc.build_mlp(2, 2, num_layers=3, init="he", std=0.1), r"std only applies"),
    (lambda: vc.build_mlp(2, 2, num_layers=2.5), r"num_layers must be a whole number"),
    (lambda: vc.build_mlp(2, 2, num_layers=3, bn_position="middle"), r"'before', 'after'"),
    (
        lambda: vc.measure_gradient_flow(vc.build_mlp(3, 2, num_layers=2), *_spirals()),
        r"X has 2 features but the model expects 3",
    ),
    (lambda: vc.measure_gradient_flow(nn.Linear(2, 2), *_spirals()), r"must be a vglib MLP"),
    (
        lambda: vc.measure_gradient_flow(
            vc.build_mlp(2, 2, num_layers=2), _spirals()[0], torch.zeros(3)
        ),
        r"one row per example",
    ),
    (lambda: vc.loss_fn(torch.zeros(2, 2), torch.zeros(2), "hinge"), r"'cross_entropy', 'mse'"),
    (
        lambda: vc.train(vc.build_mlp(2, 2, num_layers=2), *_spirals(), optimizer="adamw"),
        r"optimizer='adamw'.*'adam'",
    ),
    (
        lambda: vc.train(vc.build_mlp(2, 2, num_layers=2), *_spirals(), lr=-1.0),
        r"lr must be greater",
    ),
    (lambda: vc.make_spirals(100, n_classes=1), r"n_classes must be at least 2"),
    (lambda: vc.max_slope("softmax"), r"activation='softmax'"),
]


@pytest.mark.parametrize(("call", "message"), BAD_CALLS)
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_activation_histograms_match_torch_histc():
    X, y = _spirals()
    model = vc.build_mlp(2, 2, num_layers=5, width=32, activation="tanh", init="xavier")
    flow = vc.measure_gradient_flow(model, X, y, bins=30)
    _, _, hidden = model.forward_with_hidden(X)
    outputs = torch.stack(hidden).detach()
    lo, hi = outputs.min().item(), outputs.max().item()
    reference = np.stack(
        [torch.histc(h.double(), bins=30, min=lo, max=hi).numpy() for h in outputs]
    )
    assert_close(flow.hist_counts, reference)
    assert_close(flow.hist_edges, np.linspace(lo, hi, 31))


def test_compute_runs_on_one_thread_and_restores_the_callers_setting():
    from vglib.compute._threads import one_thread

    before = torch.get_num_threads()
    seen = []
    with one_thread():
        seen.append(torch.get_num_threads())
    assert seen == [1] and torch.get_num_threads() == before
    with pytest.raises(RuntimeError), one_thread():
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before, "the setting must be restored after an error"
    X, y = _spirals()
    vc.train(vc.build_mlp(2, 2, num_layers=2), X, y, steps=2, record_every=1, progress=False)
    assert torch.get_num_threads() == before


def test_saturation_limit_is_a_share_of_the_largest_slope():
    from vglib.compute import SATURATING_MAX_SLOPE, max_slope, saturation_limit

    for activation, largest in SATURATING_MAX_SLOPE.items():
        assert largest == pytest.approx(max_slope(activation), rel=1e-9)
        assert saturation_limit(activation, 0.1) == pytest.approx(0.1 * largest)
    with pytest.raises(ValueError, match="sigmoid"):
        saturation_limit("relu")
    with pytest.raises(ValueError, match="at most 1"):
        saturation_limit("tanh", 2.0)
