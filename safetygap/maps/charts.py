"""Charts and maps of the area, ward and diversion pages, written on the server as inline SVG.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` in words, and the
page shows its numbers in a table beside it (the chart's text alternative). The SVG is
written directly (no plotting library): a few kilobytes per chart, text that stays text
(selectable, read by screen readers, crisp in print), and about a millisecond to draw, so
an area's page is ready at its first visit. Number formats come from
:mod:`safetygap.labels`.

Coordinates of :func:`area_map` are in the workspace's projected CRS (metres), scaled to the
drawing with north up and equal axes; no base map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np
import shapely

from safetygap.labels import fmt_num, fmt_pct

INK = "#1d1d1d"
MUTED = "#4a545e"
GRID = "#e3e6ea"
AREA_COLOR = "#c2410c"
CITY_COLOR = "#4a545e"
GOAL_COLOR = "#2b7a3b"
HIDDEN_COLOR = "#d9d9d9"
HEAT = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c",
        "#b10026")
"""Sequential ramp of the hour-of-week heat map (ColorBrewer YlOrRd)."""
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WIDTH = 640
FONT = 12


def _t(x: float, y: float, text: Any, *, size: int = FONT, anchor: str = "start",
       color: str = INK, weight: str = "normal", extra: str = "") -> str:
    """A text element (escaped)."""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{color}" font-weight="{weight}"{extra}>{escape(str(text))}</text>')


def _svg(key: str, width: float, height: float, title: str, desc: str, body: list[str]
         ) -> str:
    """The chart's ``<svg>``: scalable, ``role="img"``, its title and description first;
    ``key`` keeps the ids of several charts on one page apart."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="sg-chart" role="img" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" aria-labelledby="{key}-t {key}-d" '
            f'font-family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif">'
            f'<title id="{key}-t">{escape(title)}</title>'
            f'<desc id="{key}-d">{escape(desc)}</desc>' + "".join(body) + "</svg>")


def nice_ticks(vmax: float, n: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``vmax`` (about ``n`` steps of 1, 2 or 5 times
    a power of ten)."""
    if not math.isfinite(vmax) or vmax <= 0:
        return [0.0, 1.0]
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    top = math.ceil(vmax / step - 1e-9) * step
    return [i * step for i in range(round(top / step) + 1)]


def _digits(step: float) -> int:
    return 0 if step >= 1 else min(3, -math.floor(math.log10(step)))


def _y_axis(ticks: Sequence[float], y0: float, y1: float, x0: float, x1: float,
            label: Any = None) -> tuple[list[str], Any]:
    """Horizontal grid lines with labels; returns (elements, value -> y)."""
    top = ticks[-1] or 1.0

    def ys(v: float) -> float:
        return y0 - (y0 - y1) * v / top

    d = _digits(ticks[1] - ticks[0]) if len(ticks) > 1 else 0
    out = []
    for v in ticks:
        y = ys(v)
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(_t(x0 - 6, y + 4, label(v) if label else fmt_num(v, d), anchor="end",
                      size=11, color=MUTED))
    return out, ys


def _legend(items: Sequence[tuple[str, str]], x: float, y: float, *, dash: dict[str, str]
            | None = None) -> list[str]:
    """A row of coloured keys."""
    out = []
    for name, color in items:
        if dash is not None:
            out.append(f'<line x1="{x}" x2="{x + 18}" y1="{y - 4}" y2="{y - 4}" '
                       f'stroke="{color}" stroke-width="2.5" '
                       f'stroke-dasharray="{dash.get(name, "none")}"/>')
        else:
            out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{color}"/>')
        out.append(_t(x + (22 if dash is not None else 16), y, name, size=11))
        x += 30 + 7 * len(name)
    return out


def bars_by_year(years: Sequence[str], series: dict[str, Sequence[float | None]],
                 colors: dict[str, str], *, key: str, title: str, ylabel: str,
                 desc: str) -> str:
    """Grouped bars: one group per year, one bar per series; ``None`` (hidden) is written
    "hidden" where its bar would be."""
    h, left, right, top, bottom = 260, 56, 12, 44, 28
    vals = [v for s in series.values() for v in s if v is not None]
    ticks = nice_ticks(max(vals, default=0.0))
    body, ys = _y_axis(ticks, h - bottom, top, left, WIDTH - right)
    body.append(_t(8, 16, title, size=14, weight="bold"))
    body += _legend([(n, colors.get(n, MUTED)) for n in series], left, 34)
    body.append(_t(12, (top + h - bottom) / 2, ylabel, size=11, color=MUTED, anchor="middle",
                   extra=f' transform="rotate(-90 12 {(top + h - bottom) / 2:.1f})"'))
    n = max(len(years), 1)
    group = (WIDTH - left - right) / n
    bar = group * 0.8 / max(len(series), 1)
    for i, year in enumerate(years):
        gx = left + i * group + group * 0.1
        for j, (name, s) in enumerate(series.items()):
            x = gx + j * bar
            v = s[i] if i < len(s) else None
            if v is None:
                body.append(_t(x + bar / 2, h - bottom - 4, "hidden", size=10, color=MUTED,
                               anchor="middle"))
                continue
            y = ys(v)
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" '
                        f'height="{h - bottom - y:.1f}" fill="{colors.get(name, MUTED)}">'
                        f'<title>{escape(f"{name}, {year}: {fmt_num(v)}")}</title></rect>')
        body.append(_t(left + i * group + group / 2, h - 8, year, anchor="middle"))
    return _svg(key, WIDTH, h, title, desc, body)


def share_by_year(years: Sequence[str], area: Sequence[float | None],
                  city: Sequence[float | None], *, key: str, title: str, area_label: str,
                  desc: str, goal: float | None = None) -> str:
    """Lines: a share (0..1) per year for the area and the city, and an optional goal."""
    h, left, right, top, bottom = 250, 48, 16, 44, 28
    vals = [v for v in (*area, *city, goal) if v is not None]
    ticks = nice_ticks(max(vals, default=0.0) * 1.15)
    body, ys = _y_axis(ticks, h - bottom, top, left, WIDTH - right,
                       label=lambda v: f"{fmt_num(100 * v, 0)}%")
    body.append(_t(8, 16, title, size=14, weight="bold"))
    dash = {area_label: "none", "whole city": "6 4"}
    body += _legend([(area_label, AREA_COLOR), ("whole city", CITY_COLOR)], left, 34,
                    dash=dash)
    n = max(len(years), 1)
    step = (WIDTH - left - right) / n

    def xs(i: int) -> float:
        return left + step * (i + 0.5)

    if goal is not None:
        y = ys(goal)
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="{GOAL_COLOR}" stroke-dasharray="2 3" stroke-width="1.5"/>')
        body.append(_t(WIDTH - right, y - 4, f"city goal {fmt_pct(goal, 0)}", anchor="end",
                       size=11, color=GOAL_COLOR))
    for vals_, color, dashing, below in ((city, CITY_COLOR, "6 4", True),
                                         (area, AREA_COLOR, "none", False)):
        pts = [(xs(i), ys(v)) for i, v in enumerate(vals_) if v is not None]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                        f'stroke-width="2.5" stroke-dasharray="{dashing}"/>')
        for i, v in enumerate(vals_):
            if v is None:
                continue
            x, y = xs(i), ys(v)
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"/>')
            body.append(_t(x, y + (16 if below else -8), fmt_pct(v), anchor="middle",
                           size=11, color=color, weight="bold" if not below else "normal"))
    for i, year in enumerate(years):
        body.append(_t(xs(i), h - 8, year, anchor="middle"))
    return _svg(key, WIDTH, h, title, desc, body)


def heat_color(value: float, vmax: float) -> str:
    """The heat ramp's colour of ``value`` on 0..``vmax``."""
    if vmax <= 0:
        return HEAT[0]
    i = min(int(value / vmax * len(HEAT)), len(HEAT) - 1)
    return HEAT[max(i, 0)]


def hour_of_week(counts: np.ndarray, hidden: np.ndarray, *, key: str, title: str,
                 desc: str) -> str:
    """Heat map of calls by day (rows, Monday first) and hour (columns); hidden cells
    grey."""
    left, top, cell_w, cell_h = 44, 44, 24, 20
    h = top + 7 * cell_h + 48
    shown = np.where(hidden, 0, counts)
    vmax = float(shown.max()) if shown.size else 0.0
    body = [_t(8, 16, title, size=14, weight="bold")]
    for d in range(7):
        y = top + d * cell_h
        body.append(_t(left - 6, y + 14, DAYS[d][:3], anchor="end", size=11))
        for hr in range(24):
            x = left + hr * cell_w
            if hidden[d, hr]:
                fill, text = HIDDEN_COLOR, "hidden"
            else:
                fill, text = heat_color(float(counts[d, hr]), vmax), fmt_num(counts[d, hr])
            body.append(f'<rect x="{x}" y="{y}" width="{cell_w - 1}" height="{cell_h - 1}" '
                        f'fill="{fill}"><title>{DAYS[d]} {hr:02d}:00: {text}</title></rect>')
    for hr in range(0, 24, 3):
        body.append(_t(left + hr * cell_w, top + 7 * cell_h + 14, f"{hr:02d}:00", size=11,
                       color=MUTED))
    # the key: the ramp from 0 to the most calls in one hour, and hidden
    ky = top + 7 * cell_h + 26
    body.append(_t(left, ky + 11, "calls:", size=11, color=MUTED))
    for i, c in enumerate(HEAT):
        body.append(f'<rect x="{left + 44 + i * 18}" y="{ky}" width="18" height="12" '
                    f'fill="{c}"/>')
    body.append(_t(left + 44 + len(HEAT) * 18 + 6, ky + 11,
                   f"0 to {fmt_num(vmax)} a week-hour, all years", size=11, color=MUTED))
    if hidden.any():
        hx = left + 44 + len(HEAT) * 18 + 230
        body.append(f'<rect x="{hx}" y="{ky}" width="18" height="12" fill="{HIDDEN_COLOR}"/>')
        body.append(_t(hx + 24, ky + 11, "hidden (privacy)", size=11, color=MUTED))
    return _svg(key, WIDTH, h, title, desc, body)


def compare_with_city(rows: Sequence[tuple[str, float | None]], *, key: str, title: str,
                      desc: str) -> str:
    """Horizontal bars: each measure of the area as a percentage of the city's value
    (the city is 100%, a dashed line)."""
    label_w, right, top, row_h = 250, 60, 40, 24
    h = top + row_h * len(rows) + 26
    vals = [r[1] for r in rows if r[1] is not None]
    ticks = nice_ticks(max([*vals, 1.0]) * 100)
    span = ticks[-1] or 100.0
    x0, x1 = label_w, WIDTH - right

    def xs(v: float) -> float:
        return x0 + (x1 - x0) * v / span

    body = [_t(8, 16, title, size=14, weight="bold")]
    for v in ticks:
        x = xs(v)
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" '
                    f'y2="{top + row_h * len(rows)}" stroke="{GRID}"/>')
        body.append(_t(x, h - 8, f"{fmt_num(v, 0)}%", anchor="middle", size=11, color=MUTED))
    for i, (name, ratio) in enumerate(rows):
        y = top + i * row_h
        body.append(_t(x0 - 8, y + 15, name, anchor="end", size=11))
        if ratio is None:
            body.append(_t(x0 + 4, y + 15, "no value", size=11, color=MUTED))
            continue
        w = xs(100 * ratio) - x0
        body.append(f'<rect x="{x0}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 8}" '
                    f'fill="{AREA_COLOR}"/>')
        body.append(_t(x0 + w + 4, y + 16, f"{fmt_num(100 * ratio, 0)}%", size=11))
    xc = xs(100)
    body.append(f'<line x1="{xc:.1f}" x2="{xc:.1f}" y1="{top - 10}" '
                f'y2="{top + row_h * len(rows)}" stroke="{CITY_COLOR}" stroke-width="1.5" '
                f'stroke-dasharray="5 3"/>')
    body.append(_t(xc + 4, top - 12, "city = 100%", size=11, color=CITY_COLOR))
    return _svg(key, WIDTH, h, title, desc, body)


def _path(geom: Any, tx: Any) -> str:
    """SVG path data of a (multi)polygon through the transform ``tx``."""
    parts = []
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = tx(np.asarray(ring.coords))
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
    return " ".join(parts)


def area_map(polygons: Sequence[tuple[Any, str, str]], *, highlight: Any = None,
             points: Sequence[tuple[np.ndarray, np.ndarray, str]] = (),
             legend: Sequence[tuple[str, str, str]] = (), key: str, title: str, desc: str,
             width: float = 460, height: float = 400) -> str:
    """A static map: ``polygons`` (geometry, fill, tooltip) in a projected CRS, the
    ``highlight`` geometry outlined thick, ``points`` as (x, y, colour) dots, ``legend``
    as (kind ``fill``/``dot``, colour, label) beside the map; north up, a scale bar."""
    geoms = [g for g, _, _ in polygons]
    if not geoms:
        return _svg(key, width, 40, title, desc, [_t(8, 24, "no areas to draw")])
    minx, miny, maxx, maxy = shapely.total_bounds(np.array(geoms, dtype=object))
    pad = 8
    scale = min((width - 2 * pad) / max(maxx - minx, 1.0),
                (height - 2 * pad - 24) / max(maxy - miny, 1.0))
    ox = pad + ((width - 2 * pad) - (maxx - minx) * scale) / 2
    oy = 24 + pad

    def tx(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([ox + (xy[:, 0] - minx) * scale,
                                oy + (maxy - xy[:, 1]) * scale])

    tol = 0.6 / scale  # about half a pixel, in metres
    body = [_t(8, 16, title, size=14, weight="bold")]
    for geom, fill, tip in polygons:
        d = _path(shapely.simplify(geom, tol, preserve_topology=True), tx)
        body.append(f'<path d="{d}" fill="{fill}" stroke="#666" stroke-width="0.8">'
                    f'<title>{escape(tip)}</title></path>')
    if highlight is not None:
        d = _path(shapely.simplify(highlight, tol, preserve_topology=True), tx)
        body.append(f'<path d="{d}" fill="none" stroke="#111" stroke-width="3"/>')
    for x, y, color in points:
        inside = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
        for px, py in tx(np.column_stack([x[inside], y[inside]])):
            body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="5" fill="{color}" '
                        f'stroke="#fff" stroke-width="1.5"/>')
    body += _scale_bar(maxx - minx, scale, pad, height - 10)
    lx, ly = width + 12, 40
    for kind, color, name in legend:
        if kind == "dot":
            body.append(f'<circle cx="{lx + 7}" cy="{ly - 4}" r="5" fill="{color}"/>')
        else:
            body.append(f'<rect x="{lx}" y="{ly - 11}" width="14" height="14" fill="{color}" '
                        f'stroke="#666" stroke-width="0.8"/>')
        body.append(_t(lx + 20, ly, name, size=12))
        ly += 20
    longest = max((len(name) for _, _, name in legend), default=0)
    total_w = width + (max(190, 32 + 7 * longest) if legend else 0)  # ~7 px a character
    return _svg(key, total_w, height, title, desc, body)


def _scale_bar(span_m: float, scale: float, x: float, y: float) -> list[str]:
    """A scale bar of a round length about a quarter of the map's width (metres)."""
    target = span_m / 4
    if target <= 0:
        return []
    mag = 10 ** math.floor(math.log10(target))
    length = max(m * mag for m in (1, 2, 5) if m * mag <= target)
    px = length * scale
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    return [f'<line x1="{x}" x2="{x + px:.1f}" y1="{y}" y2="{y}" stroke="#111" '
            f'stroke-width="3"/>', _t(x + px + 6, y + 4, text, size=11)]


NARROW = 420
"""Drawing width of the diversion page's charts: narrow, so that on a phone (about 360 px)
their text stays near its drawn size (pages show them at most 560 px wide)."""


def goal_bars(rows: Sequence[tuple[str, float | None, float | None]], *, key: str,
              title: str, desc: str, goal: float, before: str = "today",
              after: str = "with the change") -> str:
    """Horizontal bars per area: a share (0..1) before (grey) and after (orange; None: no
    second bar), the goal as a green line; a first value None is written as words."""
    label_w, right, top, row_h = 120, 46, 46, 30
    h = top + row_h * len(rows) + 30
    vals = [v for _, a, b in rows for v in (a, b) if v is not None]
    ticks = nice_ticks(max([*vals, goal]) * 1.1)
    span = ticks[-1] or 1.0
    x0, x1 = label_w, NARROW - right

    def xs(v: float) -> float:
        return x0 + (x1 - x0) * v / span

    body = [_t(8, 16, title, size=14, weight="bold"),
            f'<rect x="8" y="26" width="12" height="10" fill="{CITY_COLOR}"/>',
            _t(24, 35, before, size=11),
            f'<rect x="78" y="26" width="12" height="10" fill="{AREA_COLOR}"/>',
            _t(94, 35, after, size=11),
            f'<line x1="200" x2="218" y1="31" y2="31" stroke="{GOAL_COLOR}" '
            f'stroke-width="2.5"/>', _t(222, 35, f"goal {fmt_pct(goal, 0)}", size=11)]
    for v in ticks:
        x = xs(v)
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" '
                    f'y2="{top + row_h * len(rows)}" stroke="{GRID}"/>')
        body.append(_t(x, h - 10, fmt_pct(v, 0), anchor="middle", size=11, color=MUTED))
    for i, (name, a, b) in enumerate(rows):
        y = top + i * row_h
        body.append(_t(x0 - 8, y + 17, name, anchor="end", size=12))
        if a is None:
            body.append(_t(x0 + 4, y + 17, "hidden or no calls", size=11, color=MUTED))
            continue
        body.append(f'<rect x="{x0}" y="{y + 3}" width="{max(xs(a) - x0, 1):.1f}" '
                    f'height="11" fill="{CITY_COLOR}"/>')
        if b is not None:
            body.append(f'<rect x="{x0}" y="{y + 15}" width="{max(xs(b) - x0, 1):.1f}" '
                        f'height="11" fill="{AREA_COLOR}"/>')
        body.append(_t(xs(max(a, b or 0.0)) + 4, y + 19, fmt_pct(b if b is not None else a),
                       size=11))
    xg = xs(goal)
    body.append(f'<line x1="{xg:.1f}" x2="{xg:.1f}" y1="{top - 6}" '
                f'y2="{top + row_h * len(rows)}" stroke="{GOAL_COLOR}" stroke-width="2.5"/>')
    return _svg(key, NARROW, h, title, desc, body)


def week_columns(values: Sequence[float | None], *, key: str, title: str, desc: str,
                 unit: str = "", as_share: bool = False) -> str:
    """Heat map of one value per hour of the week (168, Monday 00:00 first) with the hours
    as rows and the days as columns (narrow enough for a phone); None (hidden, or no call
    that hour for a share) grey. ``as_share``: values are shares on 0..100%."""
    left, top, cell_w, cell_h = 50, 50, 46, 16
    h = top + 24 * cell_h + 56
    arr = np.array([np.nan if v is None else float(v) for v in values]).reshape(7, 24)
    vmax = 1.0 if as_share else float(np.nanmax(arr)) if np.isfinite(arr).any() else 0.0
    body = [_t(8, 16, title, size=14, weight="bold")]
    for d in range(7):
        body.append(_t(left + d * cell_w + cell_w / 2, top - 8, DAYS[d][:3], anchor="middle",
                       size=11))
    for hr in range(24):
        y = top + hr * cell_h
        if hr % 3 == 0:
            body.append(_t(left - 6, y + 12, f"{hr:02d}:00", anchor="end", size=11,
                           color=MUTED))
        for d in range(7):
            v = arr[d, hr]
            if np.isnan(v):
                fill, text = HIDDEN_COLOR, "hidden or no calls"
            else:
                fill = heat_color(v, vmax)
                text = fmt_pct(v, 0) if as_share else f"{fmt_num(v, 1)} {unit}"
            body.append(f'<rect x="{left + d * cell_w}" y="{y}" width="{cell_w - 1}" '
                        f'height="{cell_h - 1}" fill="{fill}"><title>{DAYS[d]} {hr:02d}:00: '
                        f'{escape(text)}</title></rect>')
    ky = top + 24 * cell_h + 14
    for i, c in enumerate(HEAT):
        body.append(f'<rect x="{left + i * 16}" y="{ky}" width="16" height="12" fill="{c}"/>')
    top_text = fmt_pct(vmax, 0) if as_share else f"{fmt_num(vmax, 1)} {unit}"
    body.append(_t(left + len(HEAT) * 16 + 6, ky + 11, f"0 to {top_text}", size=11,
                   color=MUTED))
    body.append(f'<rect x="{left}" y="{ky + 20}" width="16" height="12" '
                f'fill="{HIDDEN_COLOR}"/>')
    body.append(_t(left + 22, ky + 31, "hidden (privacy) or no calls", size=11,
                   color=MUTED))
    return _svg(key, NARROW, h, title, desc, body)
