"""Gradient descent: trajectories against hand-written loops, stability against theory, noise, demo."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from vglib import core
from vglib.demos import descent_explorer
from vglib.plots.descent import contour_path, loglog, loss_curve, per_layer
from vglib.studies.gradient_descent import (
    EXPLORER_LRS,
    EXPLORER_SURFACE,
    LeastSquares,
    Quadratic,
    convergence_rate,
    divergence_threshold,
    exact_cosine,
    explorer_run,
    flat_grad,
    gradient_agreement,
    gradient_alignment,
    gradient_noise,
    hessian_eigenvalues,
    per_example_sq_norms,
    polynomial_features,
    relative_weight_change,
    surface_grid,
    trajectory,
)


def _problem():
    X, y = core.make_spirals(256, seed=0)
    return LeastSquares(polynomial_features(X, 2), (2 * y - 1).double())


# -- surfaces and trajectories ------------------------------------------------------------------
def test_quadratic_matches_its_matrix_and_hessian():
    q = Quadratic(eigenvalues=(0.5, 4.0), angle=20.0, center=(1.0, -1.0))
    theta = torch.tensor([0.3, 2.0], dtype=torch.float64)
    d = theta - torch.tensor([1.0, -1.0], dtype=torch.float64)
    assert_close(q(theta), 0.5 * d @ q.matrix @ d)
    assert_close(hessian_eigenvalues(q, theta), np.array([0.5, 4.0]))
    _, _, loss = surface_grid(q, (-1, 1), (-2, 2), num=5)
    assert loss.shape == (5, 5) and loss[2, 2] == pytest.approx(q(torch.zeros(2).double()).item())


def test_sgd_trajectory_matches_a_hand_written_gradient_descent_loop():
    q = Quadratic()
    lr, steps = 0.07, 30
    path = trajectory(q, lr=lr, steps=steps, start=(-2.0, 1.0))
    theta = torch.tensor([-2.0, 1.0], dtype=torch.float64)
    expected = [theta.clone()]
    for _ in range(steps):
        theta = theta - lr * (q.matrix @ theta)  # ∇L = A θ for this quadratic
        expected.append(theta.clone())
    assert_close(torch.from_numpy(path.positions), torch.stack(expected))
    assert_close(torch.from_numpy(path.losses), q(torch.stack(expected)))
    assert path.diverged_at is None


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_trajectory_matches_torch_optimizers_run_by_hand(optimizer):
    q = Quadratic(eigenvalues=(2.0, 5.0), angle=-10.0)
    path = trajectory(q, lr=0.05, steps=20, start=(1.0, 2.0), optimizer=optimizer)
    theta = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    opt = (
        torch.optim.SGD([theta], lr=0.05, momentum=0.9)
        if optimizer == "momentum"
        else torch.optim.Adam([theta], lr=0.05)
    )
    for _ in range(20):
        opt.zero_grad()
        q(theta).backward()
        opt.step()
    assert_close(torch.from_numpy(path.positions[-1]), theta.detach())


def test_divergent_trajectory_stops_and_is_flagged():
    path = trajectory(Quadratic(), lr=0.3, steps=50, start=(-2.5, 1.5))
    assert path.diverged and 0 < path.diverged_at < 50
    assert np.isnan(path.losses[path.diverged_at :]).all()
    assert np.isfinite(path.losses[: path.diverged_at]).all()


# -- stability ---------------------------------------------------------------------------------
def test_measured_divergence_threshold_is_two_over_lambda_max():
    q = Quadratic(eigenvalues=(1.0, 10.0))
    measured = divergence_threshold(q, torch.tensor([-2.0, 1.0]), lr_low=0.01, lr_high=1.0)
    assert measured == pytest.approx(2 / 10, rel=2e-3)
    ls = _problem()
    lam = hessian_eigenvalues(ls, torch.zeros(ls.num_params))
    measured = divergence_threshold(ls, torch.zeros(ls.num_params), lr_low=1e-3, lr_high=10.0)
    assert measured == pytest.approx(2 / lam[-1], rel=2e-3)


def test_least_squares_hessian_is_the_design_gram_matrix():
    ls = _problem()
    A = ls.design
    H = torch.autograd.functional.hessian(ls, torch.zeros(ls.num_params, dtype=torch.float64))
    assert_close(H, A.T @ A / A.shape[0])
    star = ls.solution()
    theta = star.clone().requires_grad_(True)
    ls(theta).backward()
    assert theta.grad.abs().max() < 1e-8


def test_convergence_rate_matches_the_slowest_eigen_direction():
    q = Quadratic(eigenvalues=(1.0, 10.0), angle=0.0)
    zero = torch.zeros(2, dtype=torch.float64)
    start = torch.tensor([1.0, 1.0], dtype=torch.float64)
    for lr in (0.05, 2 / 11, 0.19):
        expected = max(abs(1 - lr * 1.0), abs(1 - lr * 10.0))
        rate = convergence_rate(q, start, zero, lr=lr, steps=60)
        assert rate == pytest.approx(expected, abs=1e-3)
    assert convergence_rate(q, start, zero, lr=0.5, steps=300) == math.inf


# -- gradient noise ----------------------------------------------------------------------------
def test_full_batch_gradient_is_the_mean_of_equal_batch_gradients():
    X, y = core.make_spirals(256, seed=1)
    model = core.build_mlp(2, 2, num_layers=3, width=16, seed=0)
    full = flat_grad(model, X, y)
    parts = torch.stack([flat_grad(model, X[i : i + 64], y[i : i + 64]) for i in range(0, 256, 64)])
    assert_close(parts.mean(dim=0), full, rtol=1e-5, atol=1e-7)
    assert all(p.grad is None for p in model.parameters())


def test_per_example_norms_match_a_loop():
    X, y = core.make_spirals(8, seed=2)
    model = core.build_mlp(2, 2, num_layers=2, width=8, seed=0)
    loop = torch.stack(
        [flat_grad(model, X[i : i + 1], y[i : i + 1]).pow(2).sum() for i in range(8)]
    )
    assert_close(per_example_sq_norms(model, X, y), loop, rtol=1e-5, atol=1e-8)


def test_gradient_noise_falls_like_one_over_sqrt_batch_and_matches_sampling_theory():
    X, y = core.make_spirals(512, seed=0)
    model = core.build_mlp(2, 2, num_layers=3, width=32, activation="relu", init="he", seed=0)
    noise = gradient_noise(model, X, y, (8, 32, 128), num_batches=40, seed=0)
    assert np.all(np.diff(noise.relative_error) < 0) and np.all(np.diff(noise.cosine) > 0)
    assert_close(noise.relative_error, noise.predicted_error, rtol=0.25, atol=0.0)
    full = gradient_noise(model, X, y, (512,), num_batches=2)
    assert full.relative_error[0] < 1e-5 and full.predicted_error[0] == 0.0


def test_cosine_has_no_epsilon_floor():
    a = torch.tensor([1e-12, 2e-12])
    assert exact_cosine(a, 3 * a) == pytest.approx(1.0)
    assert exact_cosine(a, -a) == pytest.approx(-1.0)


# -- per-layer steps ----------------------------------------------------------------------------
def test_relative_weight_change_leaves_the_model_alone_and_sgd_step_is_lr_times_gradient():
    X, y = core.make_spirals(64, seed=0)
    model = core.build_mlp(2, 2, num_layers=3, width=8, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    change = relative_weight_change(model, X, y, steps=1, lr=0.1, batch_size=64)
    for p, p0 in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, p0)
    # one full-batch SGD step: ΔW = -lr ∂L/∂W
    grads = torch.autograd.grad(core.loss_fn(model(X), y), [b.linear.weight for b in model.layers])
    expected = [
        0.1 * g.norm() / b.linear.weight.norm() for g, b in zip(grads, model.layers, strict=True)
    ]
    assert_close(
        change.relative_change,
        torch.stack(expected).detach().double().numpy(),
        rtol=1e-4,
        atol=1e-9,
    )


def test_gradient_agreement_is_high_for_a_consistent_signal():
    X, y = core.make_spirals(512, seed=0)
    model = core.build_mlp(2, 2, num_layers=2, width=16, activation="relu", init="he", seed=0)
    big = gradient_agreement(model, X, y, batch_size=256, num_pairs=5)
    small = gradient_agreement(model, X, y, batch_size=2, num_pairs=20)
    assert big.shape == (2,) and (big > small).all() and (big <= 1).all()


def test_gradient_alignment_is_one_for_the_full_batch_and_falls_with_small_batches():
    X, y = core.make_spirals(256, seed=0)
    model = core.build_mlp(2, 2, num_layers=3, width=16, activation="relu", init="he", seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    full = gradient_alignment(model, X, y, batch_size=256, num_batches=2)
    assert full.shape == (3,) and full == pytest.approx(1.0, abs=1e-9)
    small = gradient_alignment(model, X, y, batch_size=2, num_batches=20)
    assert (small < full).all() and (small > -1).all()
    assert all(torch.equal(p, p0) for p, p0 in zip(model.parameters(), before, strict=True))
    with pytest.raises(ValueError, match="batch_size must be at most 256"):
        gradient_alignment(model, X, y, batch_size=512)


# -- bad arguments ------------------------------------------------------------------------------
def test_bad_arguments_raise_value_errors_naming_the_options():
    q = Quadratic()
    with pytest.raises(ValueError, match=r"'sgd', 'momentum', 'adam'"):
        trajectory(q, lr=0.1, steps=5, start=(0, 1), optimizer="rmsprop")
    with pytest.raises(ValueError, match="lr must be greater than 0"):
        trajectory(q, lr=0.0, steps=5, start=(0, 1))
    with pytest.raises(ValueError, match="start must be two numbers"):
        trajectory(q, lr=0.1, steps=5, start=(0, 1, 2))
    with pytest.raises(ValueError, match="eigenvalue must be greater than 0"):
        Quadratic(eigenvalues=(0.0, 1.0))
    with pytest.raises(ValueError, match=r"lr_low=0\.5 already diverges"):
        divergence_threshold(q, torch.ones(2), lr_low=0.5, lr_high=1.0)
    with pytest.raises(ValueError, match="does not diverge"):
        divergence_threshold(q, torch.ones(2), lr_low=0.01, lr_high=0.1)
    X, y = core.make_spirals(32, seed=0)
    model = core.build_mlp(2, 2, num_layers=2, width=8)
    with pytest.raises(ValueError, match="batch size must be at most 32"):
        gradient_noise(model, X, y, (64,))
    with pytest.raises(ValueError, match=r"'sgd', 'momentum', 'adam'"):
        relative_weight_change(model, X, y, steps=2, lr=0.1, optimizer="lbfgs")
    with pytest.raises(ValueError, match=r"optimizer='lbfgs'.*choose one of: sgd, momentum, adam"):
        descent_explorer.result(optimizer="lbfgs")


# -- plots and demo -----------------------------------------------------------------------------
def test_plots_draw_then_update_in_place():
    q = Quadratic()
    x, y, loss = surface_grid(q, (-3, 3), (-3, 3), num=21)
    a = trajectory(q, lr=0.05, steps=10, start=(-2, 1))
    b = trajectory(q, lr=0.3, steps=10, start=(-2, 1))
    ax = contour_path(x, y, loss, a.positions)
    n_children = len(ax.get_children())
    contour_path(x, y, loss, b.positions, ax=ax)
    assert len(ax.get_children()) == n_children
    ax = loss_curve(a.losses)
    line = ax.get_lines()[0]
    loss_curve(b.losses, ax=ax, note="diverged")
    assert ax.get_lines()[0] is line and np.isnan(line.get_ydata()).any()
    ax = per_layer(np.arange(1, 4), {"sgd": np.array([0.0, 1e-5, 1e-2])}, floor=1e-9)
    assert ax.get_ylim()[0] < 1e-9
    ax = loglog(
        np.array([1, 10]), {"m": np.array([1.0, 0.3]), "t": np.array([1.0, 0.31])}, dashed=("t",)
    )
    assert ax.get_xscale() == "log"


def test_demo_learning_rate_crosses_every_regime():
    verdicts = {}
    for lr in descent_explorer.params[0].values:
        result = descent_explorer.result(lr=lr)
        verdicts[lr] = descent_explorer.describe(result, descent_explorer.resolve(lr=lr))
    assert "slow" in verdicts[0.001]
    assert "oscillating" in verdicts[0.19]
    assert "diverged" in verdicts[0.205] and "diverged" in verdicts[0.3]
    assert "diverged" not in verdicts[0.18]
    assert "slow" not in verdicts[0.1] and "oscillating" not in verdicts[0.1]  # 1 - 0.1 * 10 = 0
    share = 100 * descent_explorer.result(lr=0.003).trajectory.losses[-1] / 33.489178688862395
    assert f"still {share:.2g}% of its start" in verdicts[0.003]


def test_demo_cited_settings_are_static_frames_and_adam_steps_by_eta():
    grid = descent_explorer.static_grid()
    for setting, values in descent_explorer.cited.items():
        assert all(v in grid[name] for name, v in values.items()), setting
    assert (
        descent_explorer.setting_text("momentum") == "learning rate η = 0.3, optimizer = momentum"
    )
    adam = explorer_run(**descent_explorer.cite("adam")).trajectory
    first = np.abs(adam.positions[1] - adam.positions[0])
    assert first == pytest.approx([0.1, 0.1], rel=1e-6)  # Adam's first step: lr * sign(g)


def test_explorer_run_is_the_demos_frame_and_reads_the_surface():
    values = descent_explorer.cite("oscillating")
    run = explorer_run(**values)
    assert run is descent_explorer.result(**values)  # one computation for the book and the prose
    expected = trajectory(EXPLORER_SURFACE, lr=0.19, steps=50, start=(-2.5, 1.5))
    assert_close(torch.from_numpy(run.trajectory.positions), torch.from_numpy(expected.positions))
    assert run.steep_factor == pytest.approx(1 - 0.19 * 10.0)
    assert run.stability_limit == pytest.approx(0.2)
    assert run.loss_ratio == pytest.approx(expected.losses[-1] / expected.losses[0])
    assert run.grid_loss.shape == (121, 121) and run.grid_x[0] == -3.0 and run.grid_y[-1] == 3.0
    assert set(descent_explorer.params[0].values) == set(EXPLORER_LRS)
    with pytest.raises(ValueError, match=r"start='\(0, 0\)'.*'\(-2\.5, 1\.5\)'"):
        explorer_run(lr=0.1, start="(0, 0)")


def test_demo_live_panel_moves_the_path_for_each_control():
    panel = descent_explorer.panel()
    path_line = next(ln for ln in panel.axes[0].get_lines() if ln.get_gid() == "path:line")
    before, image = path_line.get_xydata().copy(), panel.image.value
    panel.controls["lr"].value = 0.3
    assert "diverged" in panel.caption.value
    assert panel.image.value != image
    after = path_line.get_xydata()
    assert len(after) != len(before) or not np.allclose(after, before)
    for name, value in (("optimizer", "momentum"), ("steps", 100), ("start", "(2.5, 2.5)")):
        image = panel.image.value
        panel.controls[name].value = value
        assert panel.image.value != image, name


def test_one_thread_helper_restores_the_thread_count():
    before = torch.get_num_threads()
    trajectory(Quadratic(), lr=0.1, steps=3, start=(1.0, 1.0))
    assert torch.get_num_threads() == before


def test_static_book_version_stays_small():
    grids = [p.static or p.options for p in descent_explorer.params]
    assert math.prod(len(g) for g in grids) <= 40
