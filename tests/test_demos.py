"""The demo binding: live panel updates in place, static HTML is explorable, bad values are named."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from bs4 import BeautifulSoup

from vglib import plots
from vglib._env import BOOK_ENV
from vglib.demos import Choice, Demo, Slider, all_demos

DEMOS = all_demos()


def _toy_compute(scale, shape):
    x = np.linspace(0, 1, 20)
    return {"x": x, "y": scale * (x if shape == "line" else x**2)}


def _toy_draw(result, axes):
    plots.curves(result["x"], {"y": result["y"]}, ax=axes[0])
    axes[0].set_ylim(0, 3)


TOY = Demo(
    name="toy",
    title="Toy <demo>",
    params=(Slider("scale", (0.5, 1.0, 2.0), 1.0), Choice("shape", ("line", "square"), "line")),
    compute=_toy_compute,
    draw=_toy_draw,
    describe=lambda r, v: f"scale {v['scale']}, shape {v['shape']}, max {r['y'].max():.2f}",
)


def _frames(html):
    soup = BeautifulSoup(html, "html.parser")
    data = json.loads(soup.select_one("script.vg-data").string)
    return soup, data


def test_resolve_names_bad_parameters_and_values():
    with pytest.raises(ValueError, match=r"parameter of demo 'toy'='size'.*'scale', 'shape'"):
        TOY.resolve(size=2)
    with pytest.raises(
        ValueError, match=r"scale=3 is not available in demo 'toy'; choose one of: 0.5, 1, 2"
    ):
        TOY.resolve(scale=3)
    assert TOY.resolve() == {"scale": 1.0, "shape": "line"}


def test_declaration_errors_are_caught_early():
    with pytest.raises(ValueError, match="default 5 of 'n'"):
        Slider("n", (1, 2), 5)
    with pytest.raises(ValueError, match="static value 'c' of 'k'"):
        Choice("k", ("a", "b"), "a", static=("c",))


def test_live_panel_updates_artists_in_place():
    panel = TOY.panel()
    line = panel.axes[0].get_lines()[0]
    figure, image = panel.figure, panel.image.value
    panel.controls["scale"].value = 2.0  # what a slider step does
    assert panel.figure is figure and panel.axes[0].get_lines()[0] is line
    assert line.get_ydata().max() == pytest.approx(2.0)
    assert panel.image.value != image
    assert "scale 2.0" in panel.caption.value
    panel.update(shape="square")
    assert panel.controls["shape"].value == "square"
    assert line.get_ydata()[10] == pytest.approx(2.0 * np.linspace(0, 1, 20)[10] ** 2)


def test_static_html_precomputes_the_grid_and_escapes_text():
    soup, data = _frames(TOY.static_html(full=True))
    assert set(data["index"]) == {f"{i},{j}" for i in range(3) for j in range(2)}
    assert len(data["frames"]) == 6, "every grid point gives a different picture"
    assert soup.select_one("input[type=range]")["max"] == "2"
    assert [o.text for o in soup.select("select option")] == ["line", "square"]
    assert not soup.select("[disabled]"), "every control with several values is live"
    assert "Toy &lt;demo&gt;" in str(soup.select_one(".vg-title"))
    img = soup.select_one("img")
    assert img["alt"] == "scale 1.0, shape line, max 1.00"


def test_a_parameter_with_one_static_value_is_shown_disabled():
    one = Demo(
        name="one",
        title="t",
        params=(TOY.params[0], Choice("shape", ("line", "square"), "line", static=("line",))),
        compute=_toy_compute,
        draw=_toy_draw,
        describe=TOY.describe,
    )
    soup, data = _frames(one.static_html(full=True))
    assert not soup.select_one("input[type=range]").has_attr("disabled")
    assert soup.select_one("select").has_attr("disabled") and len(data["frames"]) == 3


def test_static_html_without_grid_is_one_frame_with_disabled_controls():
    soup, data = _frames(TOY.static_html(full=False, scale=2.0))
    assert len(data["frames"]) == 1 and list(data["index"]) == ["0,0"]
    assert all(el.has_attr("disabled") for el in soup.select("[data-param]"))
    assert "Run this notebook in Jupyter" in soup.text


def test_show_gives_widget_live_and_only_html_in_the_book(monkeypatch):
    monkeypatch.delenv(BOOK_ENV, raising=False)
    bundle = TOY.show()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/html" in bundle
    monkeypatch.setenv(BOOK_ENV, "1")
    bundle = TOY.show(scale=0.5)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    assert len(_frames(bundle["text/html"])[1]["frames"]) == 6


def test_figure_is_a_plain_matplotlib_figure():
    figure = TOY.figure(shape="square")
    assert len(figure.axes) == 1
    assert figure.axes[0].get_lines()[0].get_ydata().max() == pytest.approx(1.0)


@pytest.mark.parametrize("demo", DEMOS, ids=lambda d: d.name)
def test_every_course_demo_responds_to_its_main_control(demo):
    panel = demo.panel()
    main = demo.params[0]
    before = [line.get_ydata().copy() for ax in panel.axes for line in ax.get_lines()]
    image, caption = panel.image.value, panel.caption.value
    other = next(v for v in main.options[::-1] if v != panel.values[main.name])
    panel.controls[main.name].value = other
    after = [line.get_ydata() for ax in panel.axes for line in ax.get_lines()]
    assert any(
        len(a) != len(b) or not np.allclose(a, b) for a, b in zip(before, after, strict=False)
    )
    assert panel.image.value != image and panel.caption.value != caption
    for param in demo.params[1:]:  # every other control changes the picture too
        value = next(v for v in param.options if v != panel.values[param.name])
        image = panel.image.value
        panel.controls[param.name].value = value
        assert panel.image.value != image, f"{demo.name}: control {param.name} changed nothing"


@pytest.mark.parametrize("demo", DEMOS, ids=lambda d: d.name)
def test_every_course_demo_describes_itself_with_computed_numbers(demo):
    """The description carries numbers the computation produced, not only the settings echoed
    back ("30 layers"): at least one number in it is none of the parameter values."""
    values = demo.resolve()
    text = demo.describe(demo.result(), values)
    number = r"\d+(?:\.\d+)?(?:e[+-]?\d+)?"
    echoed = " ".join(f"{v} {v:g}" if isinstance(v, float) else str(v) for v in values.values())
    computed = set(re.findall(number, text)) - set(re.findall(number, echoed))
    assert computed, f"{demo.name}: no computed number in its description: {text!r}"


def test_a_cited_setting_must_be_a_static_frame():
    with pytest.raises(ValueError, match=r"cited setting 'big' of demo 'toy2': scale=2.0 is not"):
        Demo(
            name="toy2",
            title="Toy",
            params=(Slider("scale", (0.5, 1.0, 2.0), 1.0, static=(0.5, 1.0)),),
            compute=_toy_compute,
            draw=_toy_draw,
            describe=lambda r, v: "",
            cited={"big": {"scale": 2.0}},
        )
    with pytest.raises(ValueError, match="names 'size', which is not a parameter"):
        Demo(
            name="toy3",
            title="Toy",
            params=(Slider("scale", (0.5, 1.0, 2.0), 1.0),),
            compute=_toy_compute,
            draw=_toy_draw,
            describe=lambda r, v: "",
            cited={"big": {"size": 2.0}},
        )


def test_every_cited_setting_is_precomputed_and_used_by_a_chapter(root):
    chapters = "\n".join(p.read_text() for p in (root / "chapters").glob("*.md"))
    for demo in DEMOS:
        grid = demo.static_grid()
        for setting in demo.cited:
            values = demo.cite(setting)
            for name, value in values.items():
                assert value in grid[name], f"{demo.name}: {setting} needs {name}={value}"
            named = f'"{setting}"' in chapters or f"'{setting}'" in chapters
            assert named or f"{demo.name}.cited" in chapters, (
                f"{demo.name}: no chapter refers to its cited setting {setting!r}"
            )
            assert "=" in demo.setting_text(setting)


def test_every_demo_main_control_is_scrubbable_in_the_static_book():
    # the same rule the built book is held to (test_book), checked without building it
    for demo in DEMOS:
        main = demo.params[0]
        assert len(demo.static_grid()[main.name]) >= 5, (
            f"{demo.name}: its main control {main.name!r} needs at least 5 static values"
        )
