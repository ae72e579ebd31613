"""The residual-connections chapter's code: autograd Jacobians, closed forms, demo updates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.testing import assert_close

from vglib import core
from vglib.demos import residual_depth
from vglib.plots.residual import depth_profiles
from vglib.studies import residual_connections as vr


# -- model -------------------------------------------------------------------------------------
@pytest.mark.parametrize("branch", vr.BRANCHES)
def test_block_is_h_plus_alpha_w_relu_h(branch):
    model = vr.ResidualMLP(3, 16, 2, 4, branch=branch, seed=1)
    X = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    out, hidden = model.forward_with_hidden(X)
    assert len(hidden) == 5 and out.shape == (5, 2)
    alpha = vr.branch_alpha(branch, 4)
    for i, layer in enumerate(model.blocks):
        branch_out = layer(torch.relu(hidden[i]))
        expected = branch_out if branch == "plain" else hidden[i] + alpha * branch_out
        assert_close(hidden[i + 1], expected)
    assert_close(out, model.out(torch.relu(hidden[-1])))


def test_weights_have_the_requested_variance_and_seed_is_private():
    state = torch.random.get_rng_state()
    a = vr.ResidualMLP(8, 512, 1, 3, sigma_w2=2.0, seed=3)
    b = vr.ResidualMLP(8, 512, 1, 3, sigma_w2=2.0, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert_close(a.blocks[0].weight, b.blocks[0].weight)
    var = torch.cat([blk.weight.flatten() for blk in a.blocks]).var().item()
    assert var * 512 == pytest.approx(2.0, rel=0.02)


def test_zero_branch_alpha_is_a_learnable_parameter():
    model = vr.ResidualMLP(2, 8, 2, 3, branch="zero")
    assert isinstance(model.alpha, nn.Parameter) and float(model.alpha.detach().abs().sum()) == 0.0
    assert "alpha" not in dict(vr.ResidualMLP(2, 8, 2, 3, branch="scaled").named_parameters())


def test_branch_factor_closed_form():
    assert vr.branch_factor("plain", 10, 2.0) == 1.0
    assert vr.branch_factor("unscaled", 10, 2.0) == 2.0
    assert vr.branch_factor("unscaled", 10, 1.0) == 1.5
    assert vr.branch_factor("scaled", 25, 2.0) == pytest.approx(1.04)
    assert vr.branch_factor("zero", 10, 2.0) == 1.0


# -- the identity path -------------------------------------------------------------------------
@pytest.mark.parametrize("branch", ["unscaled", "scaled", "plain"])
def test_block_jacobians_match_autograd_and_the_formula(branch):
    torch.manual_seed(0)
    model = vr.ResidualMLP(3, 12, 1, 5, branch=branch, seed=2)
    x = torch.tensor([0.3, -1.0, 0.7])
    jac = vr.block_jacobians(model, x)
    eye = torch.eye(12)
    expected = jac.branches if branch == "plain" else eye + jac.branches
    assert_close(jac.blocks, expected)
    product = eye
    for block in jac.blocks:
        product = block @ product
    assert_close(jac.full, product, rtol=1e-4, atol=1e-5)

    def stack(h):
        for i in range(5):
            h = model.block(i, h)
        return h

    full = torch.autograd.functional.jacobian(stack, model.inp(x).detach())
    assert_close(jac.full, full, rtol=1e-4, atol=1e-5)


def test_zero_branches_give_the_identity_jacobian():
    model = vr.ResidualMLP(2, 10, 1, 6, branch="zero")
    jac = vr.block_jacobians(model, torch.tensor([0.5, -0.2]))
    assert_close(jac.full, torch.eye(10))
    assert_close(
        vr.stack_jacobian_singular_values("zero", 6, width=10), np.ones(10, dtype=np.float32)
    )


def test_stack_jacobian_singular_values_are_those_of_the_autograd_jacobian():
    model = vr.ResidualMLP(2, 12, 1, 4, branch="scaled", seed=1)
    x = core.make_spirals(8, seed=1)[0][0]

    def stack(h):
        for i in range(4):
            h = model.block(i, h)
        return h

    full = torch.autograd.functional.jacobian(stack, model.inp(x).detach())
    expected = torch.linalg.svdvals(full).numpy()
    got = vr.stack_jacobian_singular_values("scaled", 4, width=12, seed=1)
    assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.diff(got) <= 0)


def test_block_jacobians_rejects_a_batch():
    model = vr.ResidualMLP(2, 4, 1, 2)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        vr.block_jacobians(model, torch.zeros(3, 2))


# -- forward and backward growth against the closed form ----------------------------------------
@pytest.mark.parametrize(
    ("branch", "sigma_w2"), [("unscaled", 2.0), ("unscaled", 1.0), ("scaled", 2.0), ("plain", 1.0)]
)
def test_second_moment_growth_matches_closed_form_on_average(branch, sigma_w2):
    L = 10
    logs = [
        math.log(vr.residual_profile(branch, L, width=256, sigma_w2=sigma_w2, seed=s).growth)
        for s in range(6)
    ]
    predicted = L * math.log(vr.branch_factor(branch, L, sigma_w2))
    # finite width: log q_L fluctuates; a tolerance of 0.25 + 10% in log space
    assert np.mean(logs) == pytest.approx(predicted, abs=0.25 + 0.1 * abs(predicted))


def test_gradient_growth_matches_closed_form_and_zero_branches_are_exact():
    p = vr.residual_profile("unscaled", 20, width=256, sigma_w2=2.0)
    assert math.log(p.first_to_last) == pytest.approx(10 * math.log(2.0), rel=0.15)
    z = vr.residual_profile("zero", 20)
    assert_close(z.grad_norm, np.full(21, z.grad_norm[0]), rtol=1e-5, atol=0)
    assert z.growth == pytest.approx(1.0)
    assert_close(p.theory_second_moment, p.second_moment[0] * 2.0 ** np.arange(21))
    assert_close(p.relative_theory_second_moment, 2.0 ** np.arange(21))
    assert_close(p.relative_theory_grad_norm, 2.0 ** ((20 - np.arange(21)) / 2))
    assert p.relative_grad_norm[-1] == 1.0 and p.relative_second_moment[0] == 1.0
    assert p.relative_grad_norm[0] == pytest.approx(p.first_to_last)


# -- training ----------------------------------------------------------------------------------
def test_training_lowers_the_loss_and_is_reproducible():
    a = vr.train_residual("scaled", 4, steps=40, lr=0.05, n_samples=128)
    b = vr.train_residual("scaled", 4, steps=40, lr=0.05, n_samples=128)
    assert a.loss.shape == (41,) and a.loss[-1] < 0.7 * a.loss[0]
    assert_close(a.loss, b.loss)


def test_train_residual_is_full_batch_sgd_with_momentum_loss_before_each_step():
    X, y = core.make_spirals(64, seed=2)
    model = vr.ResidualMLP(2, 8, 2, 3, branch="unscaled", seed=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    expected = []
    for _ in range(5):
        loss = nn.functional.cross_entropy(model(X), y)
        expected.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = model(X)
    expected.append(nn.functional.cross_entropy(out, y).item())
    curve = vr.train_residual("unscaled", 3, width=8, steps=5, lr=0.02, n_samples=64, seed=2)
    assert_close(curve.loss, np.array(expected))
    assert curve.accuracy == pytest.approx((out.argmax(1) == y).float().mean().item())
    sweep = vr.degradation_sweep((2,), ("plain",), (0.01, 0.02), steps=5, n_samples=64)
    assert set(sweep) == {("plain", 2, 0.01), ("plain", 2, 0.02)}


@pytest.mark.parametrize("branch", ["plain", "scaled", "zero"])
def test_init_gradient_ratio_is_the_untrained_networks_first_to_last_gradient(branch):
    X, y = core.make_spirals(96, seed=3)
    model = vr.ResidualMLP(2, 16, 2, 6, branch=branch, seed=3)
    out, hidden = model.forward_with_hidden(X)
    grads = torch.autograd.grad(nn.functional.cross_entropy(out, y), hidden)
    expected = (grads[0].norm() / grads[-1].norm()).item()
    got = vr.init_gradient_ratio(branch, 6, width=16, n_samples=96, seed=3)
    assert got == pytest.approx(expected, rel=1e-6)
    if branch == "zero":
        assert got == pytest.approx(1.0, rel=1e-6)  # the identity map passes the gradient intact


# -- pre-norm and post-norm --------------------------------------------------------------------
def test_norm_stack_matches_hand_written_blocks():
    for position in vr.NORM_POSITIONS:
        model = vr.NormBlockStack(6, 3, position=position, seed=0)
        x = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
        out, hidden = model.forward_with_hidden(x)
        h = x
        for norm, branch in zip(model.norms, model.branches, strict=True):
            ln = nn.functional.layer_norm(h, (6,), norm.weight, norm.bias)
            h = (
                h + branch(ln)
                if position == "pre"
                else nn.functional.layer_norm(h + branch(h), (6,), norm.weight, norm.bias)
            )
        if position == "pre":
            h = model.final(h)
        assert_close(out, model.head(h))
        assert len(hidden) == 3


def test_norm_profile_shapes():
    p = vr.norm_profile("post", 5, width=16, batch=8)
    assert p.hidden_grad.shape == p.param_grad.shape == (5,)
    assert np.all(p.param_grad > 0)


# -- bad arguments -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: vr.ResidualMLP(2, 4, 1, 2, branch="skip"),
            "'plain', 'unscaled', 'scaled', 'zero'",
        ),
        (lambda: vr.residual_profile("resnet", 3), "'plain', 'unscaled'"),
        (lambda: vr.NormBlockStack(4, 2, position="middle"), "'pre', 'post'"),
        (lambda: vr.norm_profile("sandwich", 2), "'pre', 'post'"),
        (lambda: vr.ResidualMLP(2, 4, 1, 0), "num_blocks"),
        (lambda: vr.branch_factor("plain", 3, sigma_w2=0.0), "sigma_w2"),
        (lambda: vr.train_residual("plain", 2, lr=-1.0), "lr"),
    ],
)
def test_bad_arguments_name_the_allowed_values(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- plot and demo -----------------------------------------------------------------------------
def test_depth_profiles_updates_in_place_and_hides_missing_series():
    layer = np.arange(4)
    ax = depth_profiles(layer, {"a": np.ones(4), "b": np.full(4, 2.0)}, theory={"a": np.ones(4)})
    lines = {line.get_gid(): line for line in ax.get_lines()}
    depth_profiles(layer, {"a": np.full(4, 3.0)}, ax=ax)
    assert ax.get_lines()[0] is lines["depth:a"]
    assert_close(lines["depth:a"].get_ydata(), np.full(4, 3.0))
    assert not lines["depth:b"].get_visible() and not lines["depth:theory:a"].get_visible()


@pytest.mark.parametrize(("name", "value"), [("num_blocks", 10), ("sigma_w2", 1.0)])
def test_demo_panel_responds_to_each_control(name, value):
    panel = residual_depth.panel()
    before = [line.get_ydata().copy() for ax in panel.axes for line in ax.get_lines()]
    image, caption = panel.image.value, panel.caption.value
    panel.controls[name].value = value
    after = [line.get_ydata() for ax in panel.axes for line in ax.get_lines()]
    assert any(
        b.shape != a.shape or not np.allclose(b, a) for b, a in zip(before, after, strict=True)
    )
    assert panel.image.value != image and panel.caption.value != caption


def test_demo_description_has_the_closed_form():
    values = {"num_blocks": 20, "sigma_w2": 2.0}
    text = residual_depth.describe(residual_depth.result(**values), values)
    assert "20 blocks" in text and f"{2.0**20:.1e}" in text


def test_branch_profiles_are_cached_and_shared_with_the_demo():
    values = residual_depth.cite("He weights, 50 blocks")
    result = vr.branch_profiles(**values)
    assert residual_depth.result(**values) is result
    assert list(result.profiles) == list(vr.BRANCHES) == list(vr.BRANCH_LABELS)
    assert (result.width, result.batch, result.num_blocks) == (128, 64, 50)
    p = vr.residual_profile("scaled", 50, width=128, sigma_w2=2.0, batch=64, seed=0)
    assert_close(result.profiles["scaled"].grad_norm, p.grad_norm)


def test_depth_profiles_takes_limits_title_and_legend():
    ax = depth_profiles(np.arange(3), {"a": np.ones(3)}, ylim=(1e-3, 1e3), title="t", legend=False)
    assert ax.get_ylim() == pytest.approx((1e-3, 1e3))
    assert ax.get_title() == "t" and ax.get_legend() is None
