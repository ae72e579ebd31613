"""vglib.core against torch's own references, closed-form theory, and bad arguments; and the one
layering test of the package."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn
from torch.testing import assert_close

from vglib import core as vc
from vglib.core import MLP


def _spirals(n: int = 256):
    return vc.make_spirals(n, seed=0)


# -- layering (the one test of it) ----------------------------------------------------------
def _torch_layers() -> list[str]:
    import pkgutil

    import vglib.studies

    return ["vglib.core", "vglib.claims", "vglib.grading"] + [
        f"vglib.studies.{m.name}" for m in pkgutil.iter_modules(vglib.studies.__path__)
    ]


def test_layers_import_only_what_they_may():
    """core and every study: torch and numpy, never matplotlib or ipywidgets; plots: never torch;
    ``import vglib`` alone: none of them. One interpreter per layer, so nothing leaks between."""
    layers = {module: ("matplotlib", "ipywidgets") for module in _torch_layers()}
    layers |= {
        "vglib.plots": ("torch", "ipywidgets"),
        "vglib": ("torch", "matplotlib", "ipywidgets"),
    }
    code = (
        "import importlib, sys\n"
        "module, forbidden = sys.argv[1], sys.argv[2:]\n"
        "importlib.import_module(module)\n"
        "if module == 'vglib.plots':\n"
        "    import vglib.plots as p; p.public_functions()\n"
        "print(' '.join(m for m in forbidden if m in sys.modules))"
    )
    pulled = {}
    for module, forbidden in layers.items():
        out = subprocess.run(
            [sys.executable, "-c", code, module, *forbidden],
            capture_output=True,
            text=True,
            check=True,
        )
        if out.stdout.strip():
            pulled[module] = out.stdout.strip()
    assert not pulled, f"layers import what they must not: {pulled}"


def test_nothing_imports_the_old_compute_namespace():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(root))
        for folder in ("vglib", "chapters", "tests", "benchmarks", "exercises/source")
        for path in (root / folder).rglob("*")
        if path.suffix in {".py", ".md", ".ipynb"}
        and path.name != "test_core.py"
        and "vglib.compute" in path.read_text(encoding="utf-8")
    ]
    assert not offenders and not (root / "vglib" / "compute").exists(), offenders


# -- models ---------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", sorted(vc.ACTIVATIONS))
def test_build_mlp_shapes_and_activation(activation):
    model = vc.build_mlp(3, 5, num_layers=4, width=16, activation=activation)
    assert len(model.layers) == 4
    assert model(torch.zeros(7, 3)).shape == (7, 5)
    expected = type(vc.ACTIVATIONS[activation].module())
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
    from vglib.core import one_thread

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
    from vglib.core import SATURATING, activation, max_slope, saturation_limit

    for name in SATURATING:
        largest = activation(name).max_slope
        activation_ = name
        assert largest == pytest.approx(max_slope(activation_), rel=1e-9)
        assert saturation_limit(activation_, 0.1) == pytest.approx(0.1 * largest)
    with pytest.raises(ValueError, match="sigmoid"):
        saturation_limit("relu")
    with pytest.raises(ValueError, match="at most 1"):
        saturation_limit("tanh", 2.0)


# -- the one training loop and its hooks ----------------------------------------------------
def _manual_epochs(n: int, batch_size: int, steps: int, seed: int) -> list[torch.Tensor]:
    """The batches of a hand-written loop: one randperm per epoch, incomplete batches dropped."""
    gen = torch.Generator().manual_seed(seed)
    out, order, cursor = [], torch.randperm(n, generator=gen), 0
    for _ in range(steps):
        if cursor + batch_size > n:
            order, cursor = torch.randperm(n, generator=gen), 0
        out.append(order[cursor : cursor + batch_size])
        cursor += batch_size
    return out


def test_shuffled_batches_are_the_hand_written_epochs_and_leave_global_rng_alone():
    X = torch.arange(100.0).reshape(50, 2)
    y = torch.arange(50)
    state = torch.get_rng_state()
    got = [yb for _, (_, yb) in zip(range(9), vc.shuffled_batches(X, y, 16, seed=4), strict=False)]
    assert torch.equal(torch.get_rng_state(), state)
    for batch, idx in zip(got, _manual_epochs(50, 16, 9, seed=4), strict=True):
        assert torch.equal(batch, idx)


def test_train_is_plain_sgd_step_by_step():
    """Full-batch SGD through the loop equals the textbook update written out."""
    X, y = _spirals(64)
    a = vc.build_mlp(2, 2, num_layers=3, width=8, activation="tanh", seed=1)
    b = vc.build_mlp(2, 2, num_layers=3, width=8, activation="tanh", seed=1)
    history = vc.train(
        a,
        X,
        y,
        steps=5,
        lr=0.1,
        optimizer="sgd",
        batch_size=None,
        record_every=None,
        progress=False,
    )
    losses = []
    for _ in range(5):
        b.zero_grad()
        loss = nn.functional.cross_entropy(b(X), y)
        loss.backward()
        losses.append(loss.item())
        with torch.no_grad():
            for p in b.parameters():
                p -= 0.1 * p.grad
    assert_close(history.losses, np.array(losses), rtol=1e-6, atol=0)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert_close(p, q, rtol=1e-5, atol=1e-7)
    assert history.step.size == 0 and history.steps_run == 5


def test_a_clipping_hook_is_torch_clip_grad_norm():
    X, y = _spirals(64)
    seen = []

    def clip(step):
        seen.append(float(nn.utils.clip_grad_norm_(step.model.parameters(), 0.01)))

    a = vc.build_mlp(2, 2, num_layers=3, width=8, seed=2)
    b = vc.build_mlp(2, 2, num_layers=3, width=8, seed=2)
    vc.train(
        a,
        X,
        y,
        steps=3,
        lr=0.5,
        optimizer="sgd",
        batch_size=None,
        on_step=clip,
        record_every=None,
        progress=False,
    )
    opt = torch.optim.SGD(b.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(b(X), y).backward()
        nn.utils.clip_grad_norm_(b.parameters(), 0.01)
        opt.step()
    assert len(seen) == 3 and min(seen) > 0.01
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert_close(p, q)


def test_hooks_can_skip_an_update_and_stop_training():
    X, y = _spirals(64)
    model = vc.build_mlp(2, 2, num_layers=2, width=8, seed=3)
    before = [p.detach().clone() for p in model.parameters()]
    order = []

    class Watch(vc.Hook):
        def before_update(self, step):
            order.append(("before", step.number))
            step.skip_update = True

        def after_update(self, step):
            order.append(("after", step.number))
            step.stop = step.number == 2

    history = vc.train(model, X, y, steps=10, on_step=Watch(), record_every=None, progress=False)
    assert order == [("before", 1), ("after", 1), ("before", 2), ("after", 2)]
    assert history.steps_run == 2 and history.skipped.all()
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))


def test_the_loss_scaler_skips_steps_with_infinite_gradients():
    """float16 forward, scale 2**24: the float16 gradients overflow, so every update is skipped
    and the scale halves each time; at 2**16 they fit and every update happens."""
    X, y = _spirals(64)
    runs = {}
    for scale in (2.0**16, 2.0**24):
        model = vc.build_mlp(2, 2, num_layers=2, width=8, seed=4)
        scaler = torch.amp.GradScaler("cpu", init_scale=scale, growth_interval=1000)
        history = vc.train(
            model,
            X,
            y,
            steps=3,
            optimizer="sgd",
            lr=0.1,
            batch_size=None,
            scaler=scaler,
            autocast=torch.float16,
            record_every=None,
            progress=False,
        )
        runs[scale] = (history.skipped.tolist(), scaler.get_scale())
    assert runs[2.0**16] == ([False] * 3, 2.0**16)
    assert runs[2.0**24] == ([True] * 3, 2.0**21)


def test_train_takes_any_iterable_of_batches_and_says_when_it_runs_out():
    X, y = _spirals(64)
    model = vc.build_mlp(2, 2, num_layers=2, width=8, seed=5)
    batches = [(X[:32], y[:32]), (X[32:], y[32:])]
    history = vc.train(model, batches=batches, steps=2, record_every=None, progress=False)
    assert history.steps_run == 2
    with pytest.raises(ValueError, match="ran out after 2 of 3 steps"):
        vc.train(model, batches=batches, steps=3, record_every=None, progress=False)
    with pytest.raises(ValueError, match="not both"):
        vc.train(model, X, y, batches=batches, steps=1, record_every=None, progress=False)


# -- the activation table, quadrature and clipping measurement --------------------------------
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "identity"])
def test_closed_form_slopes_equal_autograd(name):
    act = vc.activation(name)
    z = torch.linspace(-6, 6, 241, dtype=torch.float64)
    h = act.module()(z)
    assert_close(act.slope(z, h), vc.activation_slope(act.module(), z))
    assert act.max_slope == pytest.approx(vc.max_slope(name), abs=0)


def test_gaussian_expectation_gives_known_moments():
    assert vc.gaussian_expectation(lambda z: z**2, q=2.5) == pytest.approx(2.5, rel=1e-12)
    assert vc.gaussian_expectation(lambda z: z**4, q=1.0) == pytest.approx(3.0, rel=1e-12)
    relu = vc.gaussian_expectation(lambda z: np.maximum(z, 0) ** 2, q=1.0)
    assert relu == pytest.approx(0.5, rel=1e-3)
    nodes, weights = vc.gauss_hermite()
    assert weights.sum() == pytest.approx(1.0) and not np.any(nodes == 0)


def test_clip_effect_is_torch_clip_grad_norm_on_a_copy():
    X, y = _spirals(128)
    model = vc.build_mlp(2, 2, num_layers=6, width=16, activation="sigmoid", seed=6)
    effect = vc.clip_effect(model, X, y, max_norm=1e-3)
    assert all(p.grad is None for p in model.parameters()), "the model itself is untouched"
    model.zero_grad()
    nn.functional.cross_entropy(model(X), y).backward()
    total = float(nn.utils.clip_grad_norm_(model.parameters(), 1e-3))
    assert effect.total_norm == pytest.approx(total, rel=1e-6)
    after = np.array([b.linear.weight.grad.norm().item() for b in model.layers])
    assert_close(effect.after, after, rtol=1e-5, atol=0)
    assert effect.ratio_after == pytest.approx(effect.ratio_before, rel=1e-5)


def test_plain_mlp_check_names_the_problem():
    vc.check_mlp(vc.build_mlp(2, 2, num_layers=2), plain=True)
    with pytest.raises(ValueError, match="plain MLPs only"):
        vc.check_mlp(vc.build_mlp(2, 2, num_layers=2, batch_norm=True), plain=True)
    with pytest.raises(ValueError, match="must be a vglib MLP"):
        vc.check_mlp(nn.Linear(2, 2))
