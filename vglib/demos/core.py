"""The one binding that turns a demo declaration into a live panel, a static page or a figure.

A :class:`Demo` declares its parameters (:class:`Slider`, :class:`Choice`), a ``compute``
function (parameters -> result, a study from :mod:`vglib.studies`) and a ``draw`` function
(result, axes -> None, from :mod:`vglib.plots`, which draws on first call and updates
artists in place afterwards). From that declaration:

* :meth:`Demo.panel` builds a live ipywidgets panel. The figure is built once; a control
  change recomputes (memoised), moves the artists' data and re-renders the PNG shown in an
  ``ipywidgets.Image``. That works in every front end with ipywidgets (JupyterLab, Notebook 7,
  VS Code, Colab) without a matplotlib widget backend.
* :meth:`Demo.static_html` renders every point of the parameter grid to a small PNG and
  wraps the frames in HTML with native ``<input type="range">`` / ``<select>`` controls and a
  few lines of JavaScript (the Jinja2 template ``templates/static_demo.html.j2``), so a
  reader of the rendered book can explore with no kernel.
* :meth:`Demo.figure` returns a plain matplotlib figure for given parameter values.
* :meth:`Demo.show` returns an object whose ``_repr_mimebundle_`` carries the static HTML
  and, in a live kernel, the widget: Jupyter shows the widget, the book shows the HTML.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import itertools
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, Template, select_autoescape
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vglib._env import book_mode
from vglib._validate import check_choice

_CACHE_SIZE = 512


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Slider:
    """A numeric parameter that takes one of ``values`` (in order), shown as a slider.

    ``static`` restricts the values precomputed for the rendered book (default: all).
    """

    name: str
    values: tuple[Any, ...]
    default: Any
    label: str = ""
    static: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        _check_param(self.name, self.values, self.default, self.static)

    @property
    def options(self) -> tuple[Any, ...]:
        return self.values


@dataclass(frozen=True)
class Choice:
    """A categorical parameter, shown as a drop-down list."""

    name: str
    options: tuple[str, ...]
    default: str
    label: str = ""
    static: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check_param(self.name, self.options, self.default, self.static)


Param = Slider | Choice


def _check_param(name: str, options: Sequence[Any], default: Any, static: Sequence | None) -> None:
    if not options:
        raise ValueError(f"parameter {name!r} needs at least one value")
    if default not in options:
        raise ValueError(
            f"default {default!r} of {name!r} is not one of its values {list(options)}"
        )
    for value in static or ():
        if value not in options:
            raise ValueError(f"static value {value!r} of {name!r} is not one of {list(options)}")


def _label(param: Param) -> str:
    return param.label or param.name.replace("_", " ")


def _static_values(param: Param, initial: Any) -> tuple[Any, ...]:
    values = tuple(param.static or param.options)
    if initial not in values:  # the frame first shown must exist
        values = tuple(v for v in param.options if v in values or v == initial)
    return values


def render_png(figure: Figure, *, dpi: float, colors: int | None = None) -> bytes:
    """Rasterise ``figure`` to PNG bytes in one draw.

    ``colors`` quantises the palette (fewer bytes per frame for the static book pages).
    The first call runs the figure's layout engine; afterwards the layout is frozen, so a
    slider step does not pay for a new layout (the axes keep their places between frames).
    """
    from PIL import Image

    if figure.get_dpi() != dpi:
        figure.set_dpi(dpi)
    canvas = figure.canvas
    canvas.draw()
    if figure.get_layout_engine() is not None:
        figure.set_layout_engine("none")
    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = image.convert("RGB")
    if colors is not None:
        # fast octree quantisation: ~3 ms a frame against ~20 ms for median cut, same size
        image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6 if colors else 1)
    return out.getvalue()


@dataclass(frozen=True)
class Demo:
    """A demo declaration: parameters, a compute call and a draw call.

    Parameters
    ----------
    name
        Identifier (used in HTML ids).
    title
        Heading shown above the controls.
    params
        The controls, in display order. The first is the main one.
    compute
        ``compute(**values) -> result``; torch/numpy only. Results are memoised per values.
    draw
        ``draw(result, axes) -> None``; draws on the first call, updates artists afterwards.
    describe
        ``describe(result, values) -> str``: one or two sentences saying what the figure
        shows, with its key numbers. Used as alt text and as the caption under the figure.
    ncols
        Number of side-by-side axes.
    figsize
        Figure size in inches.
    cited
        The settings the chapter's prose sends readers to, by name:
        ``{"strong weights": {"w": 4.0}}``. Each must be a frame of the static book (checked
        when the demo is declared), so a reader without a kernel can go there. Chapters
        refer to them through :meth:`cite` (the values) and :meth:`setting_text` (the words).
    """

    name: str
    title: str
    params: tuple[Param, ...]
    compute: Callable[..., Any]
    draw: Callable[[Any, Sequence[Axes]], None]
    describe: Callable[[Any, Mapping[str, Any]], str]
    ncols: int = 1
    figsize: tuple[float, float] = (7.5, 3.4)
    cited: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False, compare=False)

    def __post_init__(self) -> None:
        grids = self.static_grid()
        for setting, values in self.cited.items():
            for name, value in values.items():
                if name not in grids:
                    raise ValueError(
                        f"cited setting {setting!r} of demo {self.name!r} names {name!r}, "
                        f"which is not a parameter; parameters: {', '.join(grids)}"
                    )
                if value not in grids[name]:
                    raise ValueError(
                        f"cited setting {setting!r} of demo {self.name!r}: {name}={value!r} is "
                        f"not a frame of the static book; its static values are "
                        f"{', '.join(map(_fmt, grids[name]))}"
                    )

    # -- values --------------------------------------------------------------------------
    def static_grid(self) -> dict[str, tuple[Any, ...]]:
        """The values of each parameter that the static book precomputes (around the defaults)."""
        return {p.name: _static_values(p, p.default) for p in self.params}

    def cite(self, setting: str) -> dict[str, Any]:
        """All parameter values of the cited ``setting`` (defaults filled in)."""
        check_choice(f"cited setting of demo {self.name!r}", setting, list(self.cited))
        return self.resolve(**self.cited[setting])

    def setting_text(self, setting: str) -> str:
        """The cited ``setting`` in words, e.g. ``"w = 4"``, for prose (glue it)."""
        check_choice(f"cited setting of demo {self.name!r}", setting, list(self.cited))
        labels = {p.name: _label(p) for p in self.params}
        return ", ".join(
            f"{labels[name]} = {_fmt(value)}" for name, value in self.cited[setting].items()
        )

    def resolve(self, **values: Any) -> dict[str, Any]:
        """Fill in defaults and check every value; a bad name or value raises ``ValueError``."""
        names = [p.name for p in self.params]
        for name in values:
            check_choice(f"parameter of demo {self.name!r}", name, names)
        resolved = {}
        for p in self.params:
            value = values.get(p.name, p.default)
            if value not in p.options:
                raise ValueError(
                    f"{p.name}={value!r} is not available in demo {self.name!r}; "
                    f"choose one of: {', '.join(map(_fmt, p.options))}"
                )
            resolved[p.name] = value
        return resolved

    def result(self, **values: Any) -> Any:
        """The compute result for ``values`` (memoised)."""
        values = self.resolve(**values)
        key = tuple(values.items())
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        result = self.compute(**values)
        self._cache[key] = result
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def clear_cache(self) -> None:
        """Forget every computed result: the demo's own memo, and the study function's
        ``functools.cache`` if it has one (the next :meth:`result` computes afresh)."""
        self._cache.clear()
        clear = getattr(self.compute, "cache_clear", None)
        if callable(clear):
            clear()

    # -- the three views -----------------------------------------------------------------
    def new_figure(self) -> tuple[Figure, list[Axes]]:
        figure = Figure(figsize=self.figsize, layout="constrained")
        FigureCanvasAgg(figure)
        axes = list(figure.subplots(1, self.ncols, squeeze=False)[0])
        return figure, axes

    def figure(self, **values: Any) -> Figure:
        """A plain matplotlib figure of the demo at ``values``."""
        figure, axes = self.new_figure()
        self.draw(self.result(**values), axes)
        return figure

    def panel(self, **values: Any) -> LivePanel:
        """A live ipywidgets panel starting at ``values``."""
        return LivePanel(self, self.resolve(**values))

    def static_html(
        self, *, full: bool = True, dpi: float = 72, colors: int = 48, **values: Any
    ) -> str:
        """A kernel-free HTML version.

        With ``full=True`` every combination of the parameters' static values is
        precomputed and the controls switch between frames; otherwise only the frame at
        ``values`` is shown, with a note that the controls need a live kernel.
        """
        initial = self.resolve(**values)
        return _StaticRenderer(self, initial, dpi=dpi, colors=colors).render(full=full)

    def show(self, **values: Any) -> DemoView:
        """What a chapter calls: displays as a live widget in Jupyter and as HTML in the book."""
        return DemoView(self, self.resolve(**values))


class LivePanel:
    """A demo wired to ipywidgets. :meth:`update` is a plain method, so tests can call it."""

    def __init__(self, demo: Demo, values: Mapping[str, Any], *, dpi: float = 90) -> None:
        import ipywidgets as widgets

        self.demo, self.dpi = demo, dpi
        self.values = dict(values)
        self.figure, self.axes = demo.new_figure()
        self.controls: dict[str, widgets.ValueWidget] = {}
        for p in demo.params:
            common = {
                "value": self.values[p.name],
                "description": _label(p),
                "style": {"description_width": "initial"},
            }
            if isinstance(p, Slider):
                control = widgets.SelectionSlider(
                    options=[(_fmt(v), v) for v in p.values], continuous_update=True, **common
                )
            else:
                control = widgets.Dropdown(options=list(p.options), **common)
            control.observe(self._on_change, names="value")
            self.controls[p.name] = control
        self.image = widgets.Image(format="png", layout={"max_width": "100%"})
        self.caption = widgets.HTML()
        self.widget = widgets.VBox(
            [
                widgets.HTML(f"<b>{html.escape(demo.title)}</b>"),
                widgets.HBox(list(self.controls.values()), layout={"flex_flow": "row wrap"}),
                self.image,
                self.caption,
            ]
        )
        self._syncing = False
        self.update()

    def update(self, **changes: Any) -> None:
        """Recompute for the new values, move the artists' data and re-render the image."""
        self.values = self.demo.resolve(**{**self.values, **changes})
        self._syncing = True
        try:
            for name, control in self.controls.items():
                control.value = self.values[name]
        finally:
            self._syncing = False
        self.result = self.demo.result(**self.values)
        self.demo.draw(self.result, self.axes)
        self.image.value = render_png(self.figure, dpi=self.dpi)
        self.caption.value = (
            f"<small>{html.escape(self.demo.describe(self.result, self.values))}</small>"
        )

    def _on_change(self, change: Mapping[str, Any]) -> None:
        if not self._syncing:
            self.update(**{name: c.value for name, c in self.controls.items()})

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        return self.widget._repr_mimebundle_(**kwargs)


class DemoView:
    """Displays as the live widget where a kernel runs and as static HTML everywhere else.

    While the book is built (:func:`vglib._env.book_mode`) the HTML carries the full
    precomputed grid and no widget is created; in a live kernel the HTML holds one frame
    (a fallback for front ends without widgets) next to the widget.
    """

    def __init__(self, demo: Demo, values: Mapping[str, Any]) -> None:
        self.demo, self.values = demo, dict(values)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        full = book_mode()
        bundle = {
            "text/plain": f"{self.demo.title} (interactive demo: run in Jupyter to use the controls)",
            "text/html": self.demo.static_html(full=full, **self.values),
        }
        if not full:
            bundle.update(self.demo.panel(**self.values).widget._repr_mimebundle_())
        return bundle


@functools.cache
def _template(name: str) -> Template:
    """A template of ``vglib/demos/templates/`` (shipped as package data), autoescaped.

    ``tojson`` writes compact JSON that is safe inside ``<script>`` (it escapes ``<``, ``>``,
    ``&`` and ``'``).
    """
    env = Environment(
        loader=PackageLoader("vglib.demos", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"separators": (",", ":")}
    return env.get_template(name)


class _StaticRenderer:
    def __init__(self, demo: Demo, initial: Mapping[str, Any], *, dpi: float, colors: int) -> None:
        self.demo, self.initial, self.dpi, self.colors = demo, dict(initial), dpi, colors

    def render(self, *, full: bool) -> str:
        demo = self.demo
        if full:
            grids = [_static_values(p, self.initial[p.name]) for p in demo.params]
        else:
            grids = [(self.initial[p.name],) for p in demo.params]
        figure, axes = demo.new_figure()
        frames: list[str] = []
        frame_of: dict[str, int] = {}
        alts: list[str] = []
        alt_of: dict[str, int] = {}
        index: dict[str, list[int]] = {}
        from tqdm.auto import tqdm

        combos = list(itertools.product(*(range(len(g)) for g in grids)))
        for combo in tqdm(
            combos,
            desc=f"{demo.name}: static frames",
            leave=False,
            disable=book_mode() or len(combos) < 10,
        ):
            values = {p.name: grid[i] for p, grid, i in zip(demo.params, grids, combo, strict=True)}
            result = demo.result(**values)
            demo.draw(result, axes)
            png = base64.b64encode(render_png(figure, dpi=self.dpi, colors=self.colors)).decode()
            alt = demo.describe(result, values)
            frame = frame_of.setdefault(png, len(frames))
            if frame == len(frames):
                frames.append(png)
            text = alt_of.setdefault(alt, len(alts))
            if text == len(alts):
                alts.append(alt)
            index[",".join(map(str, combo))] = [frame, text]
        digest = hashlib.sha1("".join(frames).encode()).hexdigest()[:10]
        uid = f"vg-{demo.name}-{digest}"
        data = {
            "params": [
                {"name": p.name, "labels": [_fmt(v) for v in g]}
                for p, g in zip(demo.params, grids, strict=True)
            ],
            "index": index,
            "frames": frames,
            "alts": alts,
        }
        start = [g.index(self.initial[p.name]) for p, g in zip(demo.params, grids, strict=True)]
        first = index[",".join(map(str, start))]
        return _template("static_demo.html.j2").render(
            uid=uid,
            name=demo.name,
            title=demo.title,
            full=full,
            controls=[
                self._control(uid, p, g, s, enabled=full)
                for p, g, s in zip(demo.params, grids, start, strict=True)
            ],
            frames=len(frames),
            png=frames[first[0]],
            alt=alts[first[1]],
            data=data,
        )

    @staticmethod
    def _control(
        uid: str, p: Param, grid: Sequence[Any], start: int, *, enabled: bool
    ) -> dict[str, Any]:
        """What the template needs to draw the control of ``p``."""
        return {
            "id": f"{uid}-{p.name}",
            "param": p.name,
            "label": _label(p),
            "kind": "range" if isinstance(p, Slider) else "select",
            "labels": [_fmt(v) for v in grid],
            "start": start,
            # a parameter with one precomputed value cannot move in the book: say so, do not pretend
            "enabled": enabled and len(grid) > 1,
        }
