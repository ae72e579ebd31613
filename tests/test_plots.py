"""vglib.plots: pure draw-or-update functions."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vglib import plots


def _ax():
    return Figure().add_subplot()


def _visible_lines(ax):
    return [line for line in ax.get_lines() if line.get_visible()]


def test_gradient_norms_draws_then_updates_in_place():
    ax = _ax()
    layer = np.arange(1, 6)
    plots.gradient_norms(layer, 10.0**-layer, theory=10.0**-layer, ax=ax)
    lines = list(ax.get_lines())
    assert len(lines) == 2 and ax.get_yscale() == "log"
    plots.gradient_norms(np.arange(1, 4), np.array([1.0, 2.0, 3.0]), ax=ax)
    assert list(ax.get_lines()) == lines, "an update must reuse the artists, not add new ones"
    assert lines[0].get_ydata().tolist() == [1.0, 2.0, 3.0]
    assert not lines[1].get_visible(), "a theory curve not given on update must be hidden"


def test_several_series_differ_by_more_than_colour():
    ax = _ax()
    plots.gradient_norms([1, 2], {"a": [1, 2], "b": [2, 3], "c": [3, 4]}, ax=ax)
    lines = _visible_lines(ax)
    assert len({(line.get_marker(), line.get_linestyle()) for line in lines}) == 3
    assert all(line.get_color().upper() in plots.PALETTE for line in lines)


def test_activation_histograms_rows_and_update():
    ax = _ax()
    edges = np.linspace(-1, 1, 11)
    counts = np.random.default_rng(0).integers(0, 50, size=(20, 10))
    plots.activation_histograms(edges, counts, ax=ax, annotations=[f"row {i}" for i in range(6)])
    patches = [p for p in ax.patches if p.get_visible()]
    assert len(patches) == 6
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "layer 1" and labels[0] == "layer 20"
    plots.activation_histograms(edges, counts[:3], ax=ax)
    assert len([p for p in ax.patches if p.get_visible()]) == 3


def test_curves_and_note_do_not_touch_global_state():
    before = plt.get_fignums()
    ax = _ax()
    plots.curves(np.arange(3), {"loss": np.array([3.0, 2.0, 1.0])}, ax=ax, logy=True)
    plots.note(ax, "hello")
    plots.note(ax, "again")
    assert plt.get_fignums() == before
    assert [t.get_text() for t in ax.texts] == ["again"]
