"""Charts as Vega-Lite specs, built here from the same rows the tables show.

The browser draws them with vega-embed (shipped in the package); a download renders the same
spec to SVG on the server with vl-convert (no browser, no network), and the diagnosis PDF embeds
those SVGs. Every chart has its data-table twin (`Chart.columns` / `Chart.rows`) and uses the
Okabe–Ito palette, which stays distinct for the common colour-vision deficiencies."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
from markupsafe import Markup

from app.core.cache import LruCache

# Okabe & Ito (2008), colour-blind safe; blue first.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"


@dataclass
class Chart:
    id: str
    title: str
    spec: dict[str, Any]
    columns: list[tuple[str, str]]  # (field, heading) of the data table twin
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    @cached_property
    def spec_json(self) -> Markup:
        """The spec for a <script type="application/json"> element: compact, and with the
        characters HTML would read escaped (as Jinja's tojson does, but with orjson and no key
        sorting: json.dumps cost more than the rest of a 14,000-dot chart)."""
        text = orjson.dumps(self.spec).decode()
        for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
            text = text.replace(ch, esc)
        return Markup(text)


def _base(
    title: str, data: list[dict[str, Any]], width: int | str = "container", height: int = 260
) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": {"text": title, "anchor": "start", "fontSize": 13},
        "width": width,
        "height": height,
        "data": {"values": data},
        "config": {
            "range": {"category": PALETTE},
            "axis": {"labelFontSize": 11, "titleFontSize": 12},
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "bottom"},
            "font": "DejaVu Sans, Verdana, sans-serif",
        },
        "usermeta": {"embedOptions": {"actions": False}},
    }


def bars(
    id: str,
    title: str,
    rows: list[dict[str, Any]],
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    reference: float | None = None,
    reference_label: str = "",
    color: str | None = None,
    color_title: str = "",
    stack: bool | None = None,
) -> dict[str, Any]:
    enc: dict[str, Any] = {
        "x": {
            "field": x,
            "type": "nominal",
            "title": x_title,
            "sort": None,
            "axis": {"labelAngle": -40},
        },
        "y": {"field": y, "type": "quantitative", "title": y_title},
        "tooltip": [{"field": x}, {"field": y, "format": ",.1f"}],
    }
    if color:
        enc["color"] = {"field": color, "type": "nominal", "title": color_title, "sort": None}
        enc["tooltip"].append({"field": color})
        if stack is False:
            enc["xOffset"] = {"field": color, "sort": None}
    if stack is not None:
        enc["y"]["stack"] = stack
    spec = _base(title, rows)
    layer: list[dict[str, Any]] = [{"mark": {"type": "bar", "color": PALETTE[0]}, "encoding": enc}]
    if reference is not None:
        layer.append(
            {
                "data": {"values": [{"ref": reference, "label": reference_label}]},
                "mark": {
                    "type": "rule",
                    "color": PALETTE[3],
                    "strokeDash": [6, 3],
                    "strokeWidth": 2,
                },
                "encoding": {
                    "y": {"field": "ref", "type": "quantitative"},
                    "tooltip": [{"field": "label"}, {"field": "ref", "format": ",.1f"}],
                },
            }
        )
    spec["layer"] = layer
    return spec


def lines(
    title: str,
    rows: list[dict[str, Any]],
    x: str,
    y: str,
    series: str,
    x_title: str,
    y_title: str,
    series_title: str,
    y_max: float | None = None,
) -> dict[str, Any]:
    spec = _base(title, rows)
    yenc: dict[str, Any] = {"field": y, "type": "quantitative", "title": y_title}
    if y_max is not None:
        yenc["scale"] = {"domain": [0, y_max]}
    spec["mark"] = {"type": "line", "point": True, "strokeWidth": 2}
    spec["encoding"] = {
        "x": {"field": x, "type": "ordinal", "title": x_title, "sort": None},
        "y": yenc,
        "color": {"field": series, "type": "nominal", "title": series_title, "sort": None},
        "strokeDash": {"field": series, "type": "nominal", "sort": None},
        "tooltip": [{"field": series}, {"field": x}, {"field": y, "format": ",.1f"}],
    }
    return spec


def scatter_with_line(
    title: str,
    points: list[dict[str, Any]],
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    fit: tuple[float, float] | None,
    fit_label: str,
    label_field: str,
    sample: int | None = None,
) -> dict[str, Any]:
    """One dot per point (at most `sample`, spread evenly over x, when given), carrying only the
    fields drawn; the line is the fit given (computed over every point, not the sample)."""
    drawn = sample_evenly(points, x, sample) if sample is not None else points
    data = [{label_field: p[label_field], x: p[x], y: p[y]} for p in drawn]
    spec = _base(title, data, height=320)
    layer: list[dict[str, Any]] = [
        {
            "mark": {
                "type": "point",
                "filled": True,
                "opacity": 0.6,
                "color": PALETTE[0],
                "size": 30,
            },
            "encoding": {
                "x": {"field": x, "type": "quantitative", "title": x_title},
                "y": {"field": y, "type": "quantitative", "title": y_title},
                "tooltip": [{"field": label_field}, {"field": x}, {"field": y}],
            },
        }
    ]
    if fit is not None and data:
        a, b = fit
        lo = min(p[x] for p in data)
        hi = max(p[x] for p in data)
        layer.append(
            {
                "data": {
                    "values": [
                        {x: lo, y: a + b * lo, "line": fit_label},
                        {x: hi, y: a + b * hi, "line": fit_label},
                    ]
                },
                "mark": {"type": "line", "color": PALETTE[3], "strokeWidth": 2},
                "encoding": {
                    "x": {"field": x, "type": "quantitative"},
                    "y": {"field": y, "type": "quantitative"},
                },
            }
        )
    spec["layer"] = layer
    return spec


def quartiles(values: list[float]) -> dict[str, float] | None:
    """n, min, lower quartile, median, upper quartile, max (linear interpolation, as
    numpy's default) of some values."""
    if not values:
        return None
    v = sorted(values)

    def q(p: float) -> float:
        pos = p * (len(v) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(v) - 1)
        return v[lo] + (v[hi] - v[lo]) * (pos - lo)

    return {"n": len(v), "min": v[0], "q1": q(0.25), "median": q(0.5), "q3": q(0.75), "max": v[-1]}


def boxplot(
    title: str, stats: list[dict[str, Any]], group: str, g_title: str, v_title: str
) -> dict[str, Any]:
    """Boxes drawn from quartiles computed here (one row per group, not one per school: a
    country's schools would weigh down the page)."""
    spec = _base(title, stats)
    x = {
        "field": group,
        "type": "nominal",
        "title": g_title,
        "axis": {"labelAngle": -40},
        "sort": None,
    }
    tip = [
        {"field": group},
        {"field": "n"},
        {"field": "min", "format": ",.1f"},
        {"field": "q1", "format": ",.1f"},
        {"field": "median", "format": ",.1f"},
        {"field": "q3", "format": ",.1f"},
        {"field": "max", "format": ",.1f"},
    ]
    spec["layer"] = [
        {
            "mark": {"type": "rule", "color": PALETTE[0]},
            "encoding": {
                "x": x,
                "y": {"field": "min", "type": "quantitative", "title": v_title},
                "y2": {"field": "max"},
                "tooltip": tip,
            },
        },
        {
            "mark": {"type": "bar", "size": 14, "color": PALETTE[0]},
            "encoding": {
                "x": x,
                "y": {"field": "q1", "type": "quantitative"},
                "y2": {"field": "q3"},
                "tooltip": tip,
            },
        },
        {
            "mark": {"type": "tick", "color": "#ffffff", "size": 14, "thickness": 2},
            "encoding": {"x": x, "y": {"field": "median", "type": "quantitative"}},
        },
    ]
    return spec


def fit_from_sums(
    n: int, sx: float, sy: float, sxx: float, syy: float, sxy: float
) -> tuple[float, float, float] | None:
    """Least squares y = a + b·x and R² from the running sums of n points (x, y): Σx, Σy, Σx²,
    Σy², Σxy; None with fewer than 3 points or no spread on either axis."""
    if n < 3:
        return None
    cxx = sxx - sx * sx / n
    cyy = syy - sy * sy / n
    cxy = sxy - sx * sy / n
    # Relative to the raw sums, a spread this small is rounding, not data.
    if cxx <= 1e-12 * max(sxx, 1.0) or cyy <= 1e-12 * max(syy, 1.0):
        return None
    b = cxy / cxx
    a = (sy - b * sx) / n
    return a, b, (cxy * cxy) / (cxx * cyy)


def sample_evenly(points: Sequence[dict[str, Any]], key: str, n: int) -> list[dict[str, Any]]:
    """At most n points spread over the range of `key` (the smallest and largest kept)."""
    if len(points) <= n:
        return list(points)
    ordered = sorted(points, key=lambda p: p[key])
    step = (len(ordered) - 1) / (n - 1)
    return [ordered[round(i * step)] for i in range(n)]


FORMAT_LOCALES: dict[str, Any] = {"fr": "fr-FR", "en": "en-US"}


def to_svg(spec: dict[str, Any], lang: str = "en") -> str:
    """The chart as SVG, rendered on the server (vl-convert: Vega in an embedded engine), its
    numbers as the language writes them."""
    import vl_convert as vlc

    return str(
        vlc.vegalite_to_svg(
            _fixed_width(spec), vl_version="6.4", format_locale=FORMAT_LOCALES.get(lang, "en-US")
        )
    )


_svgs = LruCache(size=64)


def chart_svg(chart: Chart, lang: str = "en") -> str:
    """to_svg of a chart, kept per spec and language: a report drawn again, or a chart
    downloaded again, over unchanged figures is not drawn again."""
    return _svgs.get_or_build((str(chart.spec_json), lang), lambda: to_svg(chart.spec, lang))


def _fixed_width(spec: dict[str, Any]) -> dict[str, Any]:
    """ "container" width means nothing outside a page: draw at print width."""
    out = dict(spec)
    if out.get("width") == "container":
        out["width"] = 620
    return out
