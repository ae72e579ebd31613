"""Gated-recurrent-networks chapter: the study against torch references and closed forms, demo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from vglib.demos import bptt_explorer
from vglib.studies import gated_rnns as study


# -- gradients through time -------------------------------------------------------------------
@pytest.mark.parametrize("cell", study.CELLS)
def test_one_backward_pass_matches_per_step_autograd(cell):
    model = study.build_rnn(cell, 3, 8, weight_scale=1.2, forget_bias=1.0, seed=1).double()
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(4, 12, 3, generator=gen, dtype=torch.float64)
    readout = torch.randn(8, generator=gen, dtype=torch.float64)
    fast = study.input_gradient_norms(model, X, readout)
    slow = []
    for t in range(12):  # one separate pass per time step and per sequence
        norms = []
        for b in range(4):
            x_t = X[b : b + 1, t : t + 1].clone().requires_grad_(True)
            seq = torch.cat([X[b : b + 1, :t], x_t, X[b : b + 1, t + 1 :]], dim=1)
            out, _ = model(seq)
            (g,) = torch.autograd.grad(out[0, -1] @ readout, x_t)
            norms.append(g.norm())
        slow.append(torch.stack(norms).mean())
    assert_close(torch.from_numpy(fast), torch.stack(slow))


def test_build_rnn_sets_scale_and_forget_bias_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    model = study.build_rnn("lstm", 2, 256, weight_scale=1.5, forget_bias=2.0, seed=0)
    assert torch.equal(state, torch.random.get_rng_state())
    assert model.weight_hh_l0.std().item() * 16 == pytest.approx(1.5, rel=0.02)
    assert torch.all(model.bias_ih_l0[256:512] + model.bias_hh_l0[256:512] == 2.0)
    rnn = study.build_rnn("rnn", 2, 256, weight_scale=0.8, seed=0)
    assert study.spectral_radius(rnn.weight_hh_l0.detach()) == pytest.approx(0.8, rel=0.1)
    again = study.build_rnn("rnn", 2, 256, weight_scale=0.8, seed=0)
    assert_close(again.weight_hh_l0, rnn.weight_hh_l0)
    # weight_scale=None keeps torch's default initialization, drawn from the seed
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        reference = torch.nn.GRU(2, 16, batch_first=True)
    default = study.build_rnn("gru", 2, 16, weight_scale=None, seed=3)
    for mine, theirs in zip(default.parameters(), reference.parameters(), strict=True):
        assert torch.equal(mine, theirs)


def test_bptt_profile_measures_every_cell_with_its_own_network_and_is_cached():
    profile = study.bptt_profile(12, weight_scale=0.9, forget_bias=2.0, hidden_size=6, batch=3)
    assert profile is study.bptt_profile(
        12, weight_scale=0.9, forget_bias=2.0, hidden_size=6, batch=3
    )
    assert list(profile.t) == list(range(1, 13)) and set(profile.norms) == set(study.CELLS)
    X = torch.randn(3, 12, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    readout = torch.randn(6, generator=torch.Generator().manual_seed(2)) / 6**0.5
    for cell in study.CELLS:
        model = study.build_rnn(cell, 4, 6, weight_scale=0.9, forget_bias=2.0, seed=0).double()
        norms = study.input_gradient_norms(model, X, readout.double())
        assert np.array_equal(profile.norms[cell], norms)
        assert profile.ratio(cell) == norms[0] / norms[-1]
    with pytest.raises(ValueError, match="'rnn', 'lstm', 'gru'"):
        profile.ratio("lstmm")


def test_bad_arguments_name_the_allowed_values():
    with pytest.raises(ValueError, match="'rnn', 'lstm', 'gru'"):
        study.build_rnn("transformer", 2, 4)
    with pytest.raises(ValueError, match="'rnn', 'lstm', 'gru'"):
        study.train_adding("lstmm", 10, steps=1)
    with pytest.raises(ValueError, match="seq_len"):
        study.bptt_profile(0)
    with pytest.raises(ValueError, match="weight_scale"):
        study.build_rnn("rnn", 2, 4, weight_scale=-1.0)


# -- linear RNN: the spectral radius sets the rate ---------------------------------------------
def test_linear_rnn_backprop_is_a_matrix_power_and_grows_like_the_spectral_radius():
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(20, 20, generator=gen, dtype=torch.float64) / 20**0.5
    u = torch.randn(20, generator=gen, dtype=torch.float64)
    norms = study.linear_backprop_norms(W, u, 200)
    for k in (0, 1, 7, 50):
        expected = torch.linalg.matrix_power(W.T, k) @ u
        assert norms[k] == pytest.approx(expected.norm().item(), rel=1e-9)
    rho = study.spectral_radius(W)
    rate = (norms[200] / norms[100]) ** (1 / 100)
    assert rate == pytest.approx(rho, rel=0.02)
    # scaling W by c / rho puts the rate at c: below 1 vanishing, above 1 exploding
    for c in (0.9, 1.1):
        n = study.linear_backprop_norms(W * (c / rho), u, 200)
        assert (n[200] / n[100]) ** (1 / 100) == pytest.approx(c, rel=0.02)


# -- the LSTM cell, by hand ----------------------------------------------------------------------
def test_hand_written_lstm_step_matches_torch_lstm_cell_and_lstm():
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(3, 5)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, generator=gen)
    h = torch.randn(4, 5, generator=gen)
    c = torch.randn(4, 5, generator=gen)
    step = study.lstm_cell_step(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    h_ref, c_ref = cell(x, (h, c))
    assert_close(step.h, h_ref)
    assert_close(step.c, c_ref)
    lstm = study.build_rnn("lstm", 3, 5, forget_bias=1.0, seed=2)
    out, _ = lstm(x[:, None, :], (h[None], c[None]))
    mine = study.lstm_cell_step(
        x, h, c, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0
    )
    assert_close(mine.h, out[:, 0])


def test_cell_state_jacobian_is_diag_f_with_gates_held_fixed():
    gen = torch.Generator().manual_seed(0)
    w_ih, w_hh = torch.randn(20, 3, generator=gen), torch.randn(20, 5, generator=gen)
    b = torch.randn(20, generator=gen)
    x, h = torch.randn(1, 3, generator=gen), torch.randn(1, 5, generator=gen)
    step = study.lstm_cell_step(x, h, torch.zeros(1, 5), w_ih, w_hh, b, b)
    f, i, g = step.f.detach(), step.i.detach(), step.g.detach()
    jac = torch.autograd.functional.jacobian(lambda c: f * c + i * g, torch.randn(1, 5))
    assert_close(jac.reshape(5, 5), torch.diag(f[0]))


# -- the adding problem ------------------------------------------------------------------------
def test_adding_problem_data_and_baseline():
    X, y = study.make_adding(20_000, 30, seed=0)
    assert X.shape == (20_000, 30, 2)
    marker = X[..., 1]
    assert torch.all(marker.sum(1) == 2)
    assert torch.all(marker[:, :15].sum(1) == 1)
    assert_close((X[..., 0] * marker).sum(1), y)
    assert study.adding_baseline_mse() == pytest.approx(1 / 6, abs=1e-15)
    # Var(U1 + U2) = 2 * (1/12): the Monte Carlo MSE of predicting 1 agrees
    assert ((y - 1) ** 2).mean().item() == pytest.approx(1 / 6, rel=0.03)


def test_train_adding_is_reproducible_and_records_losses():
    a = study.train_adding("gru", 8, steps=20, record_every=5, seed=0)
    b = study.train_adding("gru", 8, steps=20, record_every=5, seed=0)
    assert list(a.step) == [5, 10, 15, 20]
    assert_close(torch.from_numpy(a.loss), torch.from_numpy(b.loss))
    assert a.test_mse == b.test_mse


def test_train_adding_is_adam_on_fresh_batches_step_for_step():
    """The same numbers as the loop written out with torch's Adam and MSE."""
    run = study.train_adding("lstm", 6, steps=6, batch_size=4, record_every=2, seed=1)
    rnn = study.build_rnn("lstm", 2, 32, weight_scale=None, forget_bias=1.0, seed=1)
    model = study.SequenceRegressor(rnn, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    X, y = study.make_adding(6 * 4, 6, seed=101)
    losses = []
    for i in range(6):
        loss = torch.nn.functional.mse_loss(model(X[4 * i : 4 * i + 4]), y[4 * i : 4 * i + 4])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert list(run.step) == [2, 4, 6]
    assert np.array_equal(run.loss, np.asarray(losses).reshape(3, 2).mean(axis=1))
    X_test, y_test = study.make_adding(1000, 6, seed=10_001)
    with torch.no_grad():
        assert run.test_mse == torch.nn.functional.mse_loss(model(X_test), y_test).item()


# -- demo -----------------------------------------------------------------------------------------
def test_demo_controls_change_data_and_image():
    panel = bptt_explorer.panel()
    lines = [line for ax in panel.axes for line in ax.get_lines()]
    before = [line.get_ydata().copy() for line in lines]
    image = panel.image.value
    main = bptt_explorer.params[0]
    panel.controls[main.name].value = main.options[-1]
    after = [line.get_ydata() for line in lines]
    assert any(
        len(a) != len(b) or not np.allclose(a, b) for a, b in zip(before, after, strict=True)
    )
    assert panel.image.value != image
    for param in bptt_explorer.params[1:]:
        image = panel.image.value
        panel.controls[param.name].value = param.options[-1]
        assert panel.image.value != image


def test_demo_describes_itself_with_numbers_and_forget_bias_helps_the_lstm():
    text = bptt_explorer.describe(bptt_explorer.result(), bptt_explorer.resolve())
    assert any(ch.isdigit() for ch in text) and len(text) > 40
    low = study.bptt_profile(**bptt_explorer.resolve(seq_len=100, forget_bias=0.0))
    high = study.bptt_profile(**bptt_explorer.resolve(seq_len=100, forget_bias=3.0))
    assert high.ratio("lstm") > 1e3 * low.ratio("lstm")


def test_every_setting_the_chapter_cites_is_a_static_frame():
    grid = bptt_explorer.static_grid()
    assert -2.0 in grid["forget_bias"], "the chapter sends readers to forget bias -2"
    for name in bptt_explorer.cited:
        values = bptt_explorer.cite(name)
        assert all(values[k] in grid[k] for k in values), name
        assert "=" in bptt_explorer.setting_text(name)
