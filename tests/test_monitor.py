"""The gradient-flow monitor, the bar images, the CNN, the chapter's runs and the diagnosing demo."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from vglib import core
from vglib.core import activation_slope, build_mlp, measure_gradient_flow, one_thread
from vglib.demos import gradient_flow_monitor
from vglib.studies import diagnosing as study
from vglib.studies.diagnosing import (
    LAYER_TYPES,
    QUANTITIES,
    GradientFlowMonitor,
    build_cnn,
    make_bars,
    module_slope,
    monitor_overhead,
    train_monitored,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _weight_norm(module: nn.Module, attr: str = "data") -> float:
    tensors = [
        getattr(p, attr)
        for name, p in module.named_parameters(recurse=False)
        if name.startswith("weight")
    ]
    return float(torch.sqrt(sum(t.pow(2).sum() for t in tensors)))


def _hooks_left(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks)
        + len(m._forward_pre_hooks)
        + len(m._backward_hooks)
        + len(getattr(m, "_backward_pre_hooks", {}))
        for m in model.modules()
    )


class GRUClassifier(nn.Module):
    """A model the monitor has never seen: embedding-free GRU over a sequence, tanh head."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3, 6)
        self.act = nn.Tanh()
        self.gru = nn.GRU(6, 5, batch_first=True)
        self.out = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, time, 3)
        hidden, _ = self.gru(self.act(self.proj(x)))
        return self.out(hidden[:, -1])


def _conv_sequential() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.Sigmoid(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 3),
    )


# -- gradient norms and update ratios against direct computations -----------------------------
@pytest.mark.parametrize("kind", ["cnn", "sequential", "gru"])
def test_grad_norms_and_sgd_update_ratio_match_direct_computation(kind):
    if kind == "cnn":
        model = build_cnn(num_layers=3, channels=4, activation="relu", init="he", seed=0)
        X, y = make_bars(16, seed=1)
    elif kind == "sequential":
        model = _conv_sequential()
        X = torch.randn(10, 1, 8, 8, generator=_gen())
        y = torch.randint(0, 3, (10,), generator=_gen(1))
    else:
        torch.manual_seed(0)
        model = GRUClassifier()
        X = torch.randn(10, 7, 3, generator=_gen())
        y = torch.randint(0, 2, (10,), generator=_gen(1))
    lr = 0.1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    expected_grad, expected_ratio = [], []
    named = [(name, m) for name, m in model.named_modules() if isinstance(m, LAYER_TYPES)]
    layers = [m for _, m in named]
    with GradientFlowMonitor(model) as mon:
        for _ in range(3):
            opt.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            grads = [_weight_norm(m, "grad") for m in layers]
            expected_grad.append(grads)
            # plain SGD: the step is lr * grad, so the ratio is lr * ||grad|| / ||W_before||
            expected_ratio.append(
                [lr * g / _weight_norm(m) for g, m in zip(grads, layers, strict=True)]
            )
            opt.step()
            mon.step(loss)
    record = mon.record()
    order = [[name for name, _ in named].index(name) for name in record.layer_names]
    expected_grad = torch.tensor(expected_grad, dtype=torch.float64)[:, order]
    expected_ratio = torch.tensor(expected_ratio, dtype=torch.float64)[:, order]
    assert record.grad_norm.shape == (3, len(layers))
    assert_close(torch.from_numpy(record.grad_norm), expected_grad, rtol=1e-5, atol=0)
    assert_close(torch.from_numpy(record.update_ratio), expected_ratio, rtol=1e-4, atol=0)
    if kind == "gru":
        assert record.layer_names == ("proj", "gru", "out")
        assert record.layer_kinds == ("Linear", "GRU", "Linear")
        assert record.activation_names == ("Tanh", "", "")


def test_update_ratio_uses_the_actual_step_of_any_optimizer():
    model = build_cnn(num_layers=2, channels=4, seed=0)
    X, y = make_bars(8, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.1)
    conv = model.features[0]
    with GradientFlowMonitor(model, layers=[conv]) as mon:
        for _ in range(2):
            before = conv.weight.detach().clone()
            opt.zero_grad()
            F.cross_entropy(model(X), y).backward()
            opt.step()
            mon.step()
    expected = ((conv.weight.detach() - before).norm() / before.norm()).item()
    assert mon.record().update_ratio[-1, 0] == pytest.approx(expected, rel=1e-5)
    assert np.isnan(mon.record().loss).all()


def test_output_grad_norm_matches_autograd():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    X = torch.randn(6, 4, generator=_gen())
    y = torch.randint(0, 3, (6,), generator=_gen(1))
    h1 = model[0](X)
    h2 = model[2](model[1](h1))
    expected = [g.norm().item() for g in torch.autograd.grad(F.cross_entropy(h2, y), [h1, h2])]
    with GradientFlowMonitor(model) as mon:
        F.cross_entropy(model(X), y).backward()
        mon.step()
    assert_close(mon.record().output_grad_norm[0], np.array(expected), rtol=1e-5, atol=0)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "elu"])
def test_saturation_dead_and_grads_agree_with_measure_gradient_flow(activation):
    model = build_mlp(2, 2, num_layers=6, width=16, activation=activation, init="xavier", seed=0)
    with torch.no_grad():  # a few large weights, so that some units saturate or die
        model.layers[2].linear.weight.mul_(6.0)
        model.layers[4].linear.bias.fill_(-3.0)
    X = torch.randn(64, 2, generator=_gen())
    y = torch.randint(0, 2, (64,), generator=_gen(1))
    flow = measure_gradient_flow(model, X, y)
    with GradientFlowMonitor(model) as mon:
        F.cross_entropy(model(X), y).backward()
        mon.step()
    record = mon.record()
    assert record.layer_names[-1] == "head"
    assert_close(record.grad_norm[0, :-1], flow.weight_grad_norm, rtol=1e-5, atol=1e-12)
    assert_close(record.dead[0, :-1], flow.dead)
    assert_close(record.saturation[0, :-1], flow.saturation, equal_nan=True)
    assert np.isnan(record.dead[0, -1]) and np.isnan(record.saturation[0, -1])
    if activation == "relu":
        assert record.dead[0, 4] > 0  # the bias of -3 kills units
    if activation in ("sigmoid", "tanh"):
        assert np.nanmax(record.saturation) > 0.1


@pytest.mark.parametrize(
    "module", [nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.LeakyReLU(0.1), nn.GELU()]
)
def test_closed_form_slopes_equal_autograd(module):
    z = torch.linspace(-8, 8, 401, dtype=torch.float64)
    assert_close(module_slope(module, z, module(z)), activation_slope(module, z))


def test_dead_units_are_channels_of_a_convolution():
    conv = nn.Conv2d(1, 3, 1, bias=True)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.copy_(torch.tensor([0.0, -100.0, 0.0]))
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4, 2))
    X = torch.rand(5, 1, 2, 2, generator=_gen())
    with GradientFlowMonitor(model) as mon:
        model(X).sum().backward()
        mon.step()
    assert mon.record().dead[0, 0] == pytest.approx(1 / 3)


# -- detaching -----------------------------------------------------------------------------------
def test_detaches_cleanly_and_leaves_the_model_unchanged():
    model = _conv_sequential()
    twin = copy.deepcopy(model)
    X = torch.randn(4, 1, 8, 8, generator=_gen())
    y = torch.tensor([0, 1, 2, 0])
    before = _hooks_left(model)
    with GradientFlowMonitor(model) as mon:
        assert _hooks_left(model) > before
        F.cross_entropy(model(X), y).backward()
        mon.step()
    assert _hooks_left(model) == before == 0
    for net in (model, twin):
        net.zero_grad()
    out, out_twin = model(X), twin(X)
    assert_close(out, out_twin)
    F.cross_entropy(out, y).backward()
    F.cross_entropy(out_twin, y).backward()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert_close(p.grad, q.grad)
    with pytest.raises(RuntimeError, match="removed"):
        mon.step()
    mon.remove()  # idempotent
    assert mon.record().num_steps == 1


def test_monitor_does_not_change_training():
    X, y = make_bars(64, seed=0)
    a = build_cnn(num_layers=3, channels=4, activation="sigmoid", seed=0)
    b = copy.deepcopy(a)
    train_monitored(a, X, y, steps=4, lr=0.1, batch_size=16)
    opt = torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9)
    order = torch.randperm(64, generator=_gen(0))
    with one_thread():  # as train_monitored
        for step in range(4):
            idx = order[16 * step : 16 * (step + 1)]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(b(X[idx]), y[idx]).backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert_close(p, q)


def test_monitor_is_a_training_hook_recording_every_step():
    X, y = make_bars(32, seed=0)
    model = build_cnn(num_layers=2, channels=4, seed=0)
    with GradientFlowMonitor(model) as mon:
        history = core.train(
            model,
            X,
            y,
            steps=5,
            lr=0.1,
            optimizer="sgd",
            batch_size=8,
            on_step=mon,
            record_every=None,
            progress=False,
        )
    record = mon.record()
    assert record.num_steps == 5 and record.grad_norm.shape == (5, 3)
    assert_close(record.loss, history.losses)  # the loss before each update, as core.train's
    assert np.all(record.update_ratio > 0)


def test_explicit_layers_by_name_or_module_and_no_grad_passes_ignored():
    model = _conv_sequential()
    X = torch.randn(4, 1, 8, 8, generator=_gen())
    with GradientFlowMonitor(model, layers=["2", model[5]]) as mon:
        with torch.no_grad():
            model(X)  # evaluation passes are not counted
        model(X).sum().backward()
        mon.step()
    record = mon.record()
    assert record.layer_names == ("2", "5")
    assert record.activation_names == ("Sigmoid", "")
    assert set(QUANTITIES) <= set(record.__dataclass_fields__)
    assert record.get("dead").shape == (1, 2)


# -- bad arguments -------------------------------------------------------------------------------
def test_bad_arguments_raise_value_errors_naming_the_options():
    model = _conv_sequential()
    with pytest.raises(ValueError, match=r"torch\.nn\.Module"):
        GradientFlowMonitor("model")
    with pytest.raises(ValueError, match="choose from: '0', '2', '5'"):
        GradientFlowMonitor(model, layers=["conv9"])
    with pytest.raises(ValueError, match=r"watched types are: nn.Linear, nn.Conv1d"):
        GradientFlowMonitor(model, layers=["1"])
    with pytest.raises(ValueError, match="not a submodule"):
        GradientFlowMonitor(model, layers=[nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="twice"):
        GradientFlowMonitor(model, layers=["0", "0"])
    with pytest.raises(ValueError, match="has no layer to watch"):
        GradientFlowMonitor(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="saturation_threshold"):
        GradientFlowMonitor(model, saturation_threshold=2.0)
    with GradientFlowMonitor(model) as mon:
        pass
    with pytest.raises(ValueError, match="'grad_norm', 'output_grad_norm'"):
        mon.record().get("gradient")
    X, y = make_bars(8, seed=0)
    with pytest.raises(ValueError, match="'sgd', 'momentum', 'adam'"):
        train_monitored(build_cnn(num_layers=1), X, y, steps=1, batch_size=4, optimizer="rmsprop")
    with pytest.raises(ValueError, match="'default', 'he', 'xavier'"):
        build_cnn(init="orthogonal")
    with pytest.raises(ValueError, match="'sigmoid', 'tanh'"):
        build_cnn(activation="swish")
    with pytest.raises(ValueError, match="num_classes"):
        make_bars(10, num_classes=1)


# -- data, CNN and overhead ------------------------------------------------------------------------
def test_bars_are_reproducible_balanced_and_leave_global_rng_alone():
    state = torch.random.get_rng_state()
    X, y = make_bars(200, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    X2, y2 = make_bars(200, seed=3)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    assert X.shape == (200, 1, 16, 16) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [50, 50, 50, 50]
    assert abs(X.mean().item()) < 1e-5 and X.std().item() == pytest.approx(1.0, abs=1e-4)
    assert not torch.equal(make_bars(200, seed=4)[0], X)


def test_build_cnn_shapes_init_and_seed():
    model = build_cnn(num_layers=4, channels=8, activation="relu", init="he", seed=2)
    assert model(torch.zeros(3, 1, 16, 16)).shape == (3, 4)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4 and all(float(c.bias.detach().abs().sum()) == 0 for c in convs)
    weights = torch.cat([c.weight.flatten() for c in convs[1:]])
    assert weights.var().item() * 72 == pytest.approx(2.0, rel=0.15)  # He: 2 / fan_in
    again = build_cnn(num_layers=4, channels=8, activation="relu", init="he", seed=2)
    assert_close(convs[0].weight, again.features[0].weight)


def test_bars_are_learnable_by_a_small_cnn_and_the_sigmoid_cnn_vanishes():
    healthy = study.monitored_run("ReLU, He init, BN")
    sick = study.monitored_run("sigmoid, default init")
    assert healthy.test_accuracy > 0.7 > 0.4 > sick.test_accuracy
    ratio = np.median(sick.record.update_ratio, axis=0)
    assert ratio[0] / ratio[-2] < 1e-3  # first conv moves > 1000x less than the last
    grad = np.median(healthy.record.grad_norm, axis=0)
    assert 0.1 < grad[0] / grad[-2] < 10
    assert sick.total_change[0] < 1e-3 and abs(sick.weight_shrink[0] - 1) < 1e-3


def test_overhead_is_measured_for_both_variants():
    model = build_cnn(num_layers=2, channels=4, seed=0)
    X, y = make_bars(16, seed=0)
    cost = monitor_overhead(model, X, y, repeats=3)
    assert cost.plain > 0 and cost.monitored > 0
    assert cost.ratio == pytest.approx(cost.monitored / cost.plain)
    assert _hooks_left(model) == 0


def test_runs_differ_only_where_named_and_frames_read_the_run():
    healthy, slow = study.RUNS["ReLU, He init, BN"], study.RUNS["ReLU+BN, lr / 100"]
    assert healthy.network == slow.network and healthy.lr == 100 * slow.lr
    assert study.layer_labels(["features.0", "features.3", "head"]) == ["conv1", "conv2", "head"]
    frame = study.monitor_frame(10, "sigmoid, default init", "grad_norm")
    run = study.monitored_run("sigmoid, default init")
    assert frame.run is run and frame.values is run.record.grad_norm
    assert_close(frame.update_ratio, run.record.update_ratio[9])
    assert frame.loss == run.record.loss[9] and frame.dead == 0.0 and frame.saturation == 0.0
    assert study.monitor_frame(10, "sigmoid, default init", "grad_norm") is frame  # cached
    assert np.isnan(study.monitor_frame(1, "ReLU, He init, BN").saturation)
    with pytest.raises(ValueError, match="'grad_norm', 'output_grad_norm'"):
        study.monitor_frame(1, "ReLU, He init, BN", "gradient")
    with pytest.raises(ValueError, match="step must be at most 100"):
        study.monitor_frame(101, "ReLU, He init, BN")


# -- demo --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value"),
    [("step", 60), ("run", "ReLU, He init, BN"), ("heatmap", "weight-gradient norm")],
)
def test_demo_panel_responds_to_each_control(name, value):
    panel = gradient_flow_monitor.panel()
    before_lines = [line.get_ydata().copy() for line in panel.axes[1].get_lines()]
    before_image = panel.axes[0].get_images()[0].get_array().copy()
    image, caption = panel.image.value, panel.caption.value
    panel.controls[name].value = value
    after_lines = [line.get_ydata() for line in panel.axes[1].get_lines()]
    after_image = panel.axes[0].get_images()[0].get_array()
    changed_lines = any(
        b.shape != a.shape or not np.allclose(b, a, equal_nan=True)
        for b, a in zip(before_lines, after_lines, strict=True)
    )
    changed_image = not np.ma.allequal(before_image, after_image)
    assert changed_lines or changed_image
    assert panel.image.value != image
    if name != "heatmap":
        assert panel.caption.value != caption


def test_demo_description_and_bad_values():
    values = gradient_flow_monitor.resolve(step=10)
    run = study.monitored_run("sigmoid, default init")
    text = gradient_flow_monitor.describe(gradient_flow_monitor.result(**values), values)
    assert "step 10 of 100" in text and f"{run.record.update_ratio[9, 0]:.1e}" in text
    with pytest.raises(ValueError, match="choose one of"):
        gradient_flow_monitor.resolve(run="tanh")
    with pytest.raises(ValueError, match="'sigmoid, default init'"):
        study.monitored_run("tanh")
