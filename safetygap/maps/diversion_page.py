"""The diversion page (``/diversion``): how many calls go to non-police services, which could,
and the path to the city's 20% goal, with server-side SVG charts and their data tables.

The page is one GET form (eligibility model, categories to move, the channel they move to,
the share, the new responders' hours) and its answer, computed by
:mod:`safetygap.readmodel.diversion`. Charts are inline ``<svg role="img">`` with a title
and a description in words, each followed by a table of its numbers (the chart's text
alternative); no script is needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from safetygap.diversion_scenario import TARGET, Move, ShiftPattern
from safetygap.eligibility import MODELS
from safetygap.hours import DAYS
from safetygap.maps.pages import fmt_num, fmt_pct, render
from safetygap.readmodel.diversion import (
    eligibility_view,
    hours_view,
    model_info,
    movable_categories,
    scenario_view,
)
from safetygap.vocab import Channel

if TYPE_CHECKING:
    from safetygap.maps.data import WorkspaceView

__all__ = ["PageRequest", "diversion_page", "hour_heatmap", "share_bars"]

INK = "#1d1d1d"
MUTED = "#4a545e"
GRID = "#e3e6ea"
BEFORE = "#8c96a0"
AFTER = "#c2410c"
GOAL = "#2b7a3b"
HIDDEN = "#d9d9d9"
HEAT = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c",
        "#b10026")
"""Sequential ramp of the heat maps (ColorBrewer YlOrRd)."""
WIDTH = 420
"""Drawing width of the charts: narrow, so that on a phone (about 360 px) their text stays
near its drawn size; on a desktop they are shown at most 560 px wide."""
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"
CHANNEL_LABELS: dict[str, str] = {
    "behavioral_crisis": "a behavioral crisis team",
    "traffic_control": "traffic control",
    "animal_control": "animal control",
    "report_311_online": "311 or online reporting",
    "other_non_police": "another non-police service",
}
HOURS_CHOICES: dict[str, str] = {"24/7": "around the clock (24/7)",
                                 "Mo-Su 06:00-22:00": "6 a.m. to 10 p.m. every day"}
SHARE_CHOICES = (1.0, 0.75, 0.5, 0.25)
MODEL_LABELS: dict[str, str] = {"nicjr": "NICJR four tiers (tiers 1 and 2)",
                                "cahoots": "Eugene CAHOOTS", "star": "Denver STAR",
                                "albuquerque": "Albuquerque Community Safety"}


@dataclass(frozen=True)
class PageRequest:
    """What the page's form asks (the query string, checked by the route)."""

    model: str
    categories: tuple[str, ...] = ()
    channel: str = "behavioral_crisis"
    share: float = 1.0
    hours: str = "24/7"
    whole_model: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    def moves(self) -> list[Move]:
        if self.whole_model:
            return [Move(Channel(self.channel), model=self.model, share=self.share)]
        if self.categories:
            return [Move(Channel(self.channel), categories=self.categories,
                         share=self.share)]
        return []


# -- SVG ------------------------------------------------------------------------------


def _t(x: float, y: float, text: Any, *, size: int = 12, anchor: str = "start",
       color: str = INK, weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{color}" font-weight="{weight}">{escape(str(text))}</text>')


def _svg(key: str, height: float, title: str, desc: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="sg-chart" role="img" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" aria-labelledby="{key}-t {key}-d" '
            f'font-family="{FONT}"><title id="{key}-t">{escape(title)}</title>'
            f'<desc id="{key}-d">{escape(desc)}</desc>' + "".join(body) + "</svg>")


def share_bars(rows: Sequence[tuple[str, float | None, float | None]], *, key: str,
               title: str, desc: str, target: float = TARGET) -> str:
    """Horizontal bars per area: the diverted share today (grey) and after the scenario
    (orange), the goal as a green line; None (hidden or no calls) written as words."""
    label_w, right, top, row_h = 120, 46, 46, 30
    h = top + row_h * len(rows) + 30
    vals = [v for _, a, b in rows for v in (a, b) if v is not None]
    top_v = max([*vals, target]) * 1.1 or 1.0
    step = 0.05 if top_v <= 0.4 else 0.1
    ticks = [i * step for i in range(math.ceil(top_v / step) + 1)]
    span = ticks[-1]
    x0, x1 = label_w, WIDTH - right

    def xs(v: float) -> float:
        return x0 + (x1 - x0) * v / span

    body = [_t(8, 16, title, size=14, weight="bold")]
    body += [f'<rect x="8" y="26" width="12" height="10" fill="{BEFORE}"/>',
             _t(24, 35, "today", size=11),
             f'<rect x="78" y="26" width="12" height="10" fill="{AFTER}"/>',
             _t(94, 35, "with the change", size=11),
             f'<line x1="200" x2="218" y1="31" y2="31" stroke="{GOAL}" stroke-width="2.5"/>',
             _t(222, 35, f"goal {fmt_pct(target)}", size=11)]
    for v in ticks:
        x = xs(v)
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" '
                    f'y2="{top + row_h * len(rows)}" stroke="{GRID}"/>')
        body.append(_t(x, h - 10, fmt_pct(v), anchor="middle", size=11, color=MUTED))
    for i, (name, before, after) in enumerate(rows):
        y = top + i * row_h
        body.append(_t(x0 - 8, y + 17, name, anchor="end", size=12))
        if before is None:
            body.append(_t(x0 + 4, y + 17, "hidden or no calls", size=11, color=MUTED))
            continue
        body.append(f'<rect x="{x0}" y="{y + 3}" width="{max(xs(before) - x0, 1):.1f}" '
                    f'height="11" fill="{BEFORE}"/>')
        if after is not None:
            body.append(f'<rect x="{x0}" y="{y + 15}" width="{max(xs(after) - x0, 1):.1f}" '
                        f'height="11" fill="{AFTER}"/>')
        shown = fmt_pct(after if after is not None else before, 1)
        body.append(_t(xs(max(before, after or 0)) + 4, y + 19, shown, size=11))
    xg = xs(target)
    body.append(f'<line x1="{xg:.1f}" x2="{xg:.1f}" y1="{top - 6}" '
                f'y2="{top + row_h * len(rows)}" stroke="{GOAL}" stroke-width="2.5"/>')
    return _svg(key, h, title, desc, body)


def _heat(value: float, vmax: float) -> str:
    if vmax <= 0:
        return HEAT[0]
    return HEAT[max(min(int(value / vmax * len(HEAT)), len(HEAT) - 1), 0)]


def hour_heatmap(values: Sequence[float | None], *, key: str, title: str, desc: str,
                 unit: str, as_share: bool = False) -> str:
    """Heat map of one value per hour of the week (168, Monday 00:00 first): hours as rows,
    days as columns (narrow enough for a phone); None (hidden, or no call that hour for a
    share) grey."""
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
            x = left + d * cell_w
            if np.isnan(v):
                fill, text = HIDDEN, "hidden or no calls"
            else:
                fill = _heat(v, vmax)
                text = fmt_pct(v) if as_share else f"{fmt_num(v, 1)} {unit}"
            body.append(f'<rect x="{x}" y="{y}" width="{cell_w - 1}" height="{cell_h - 1}" '
                        f'fill="{fill}"><title>{DAYS[d]} {hr:02d}:00: '
                        f'{escape(text)}</title></rect>')
    ky = top + 24 * cell_h + 14
    for i, c in enumerate(HEAT):
        body.append(f'<rect x="{left + i * 16}" y="{ky}" width="16" height="12" fill="{c}"/>')
    top_text = fmt_pct(vmax) if as_share else f"{fmt_num(vmax, 1)} {unit}"
    body.append(_t(left + len(HEAT) * 16 + 6, ky + 11, f"0 to {top_text}", size=11,
                   color=MUTED))
    body.append(f'<rect x="{left}" y="{ky + 20}" width="16" height="12" fill="{HIDDEN}"/>')
    body.append(_t(left + 22, ky + 31, "hidden (privacy) or no calls", size=11,
                   color=MUTED))
    return _svg(key, h, title, desc, body)


def _week_rows(values: Sequence[float | None], fmt: Any) -> list[dict[str, Any]]:
    """The heat map as a table: one row per day, one cell per 3-hour block (summed, or
    the mean of the shown hours for a share)."""
    rows = []
    for d in range(7):
        cells = []
        for b in range(0, 24, 3):
            part = [values[d * 24 + h] for h in range(b, b + 3)]
            shown = [v for v in part if v is not None]
            cells.append(fmt(shown) if shown else "–")
        rows.append({"day": DAYS[d], "cells": cells})
    return rows


# -- the page ---------------------------------------------------------------------------


def diversion_page(view: WorkspaceView, req: PageRequest) -> str:
    """The whole page (HTML)."""
    elig = eligibility_view(view, model=req.model)
    result = scenario_view(view, req.moves(), shift=ShiftPattern(hours=req.hours),
                           candidates_model=req.model)
    hours = hours_view(view, model=req.model)
    wards = result["levels"]["ward"]
    bars = share_bars(
        [(w["name"], w["share_before"], None if result["changes_nothing"]
          else w["share_after"]) for w in wards],
        key="wards", title="Share of calls diverted, by ward",
        desc=("Each ward's share of calls handled by a non-police service today"
              + ("" if result["changes_nothing"] else " and with the change")
              + f", against the goal of {fmt_pct(result['target'])}. The table below "
                "gives the numbers."))
    moved = result["hour_of_week"]["moved_per_week"]
    moved_svg = hour_heatmap(
        moved, key="moved", title="Calls moved in a typical week, by hour",
        desc="Calls the change would move to a non-police service in an average week, by "
             "day and hour. The table below gives them in 3-hour blocks.",
        unit="calls a week")
    recorded = hours["scenarios"][0]
    cover_svg = hour_heatmap(
        recorded["by_hour"], key="cover", as_share=True, unit="",
        title="Eligible calls a responder could take, by hour",
        desc="Share of the calls eligible under the chosen model that arrived while a "
             "non-police responder covering the place was open (the hours the providers "
             "record). Grey: hidden for privacy or no calls. The table below gives them in "
             "3-hour blocks.")
    model = model_info(req.model)
    return render(
        "diversion.html",
        label=view.label, synthetic=view.synthetic,
        req=req, result=result, elig=elig, hours=hours, model=model,
        models=[(m, MODEL_LABELS.get(m, m)) for m in MODELS],
        channels=CHANNEL_LABELS, hours_choices=HOURS_CHOICES, shares=SHARE_CHOICES,
        categories=movable_categories(view, req.model),
        bars=bars, moved_svg=moved_svg, cover_svg=cover_svg,
        moved_rows=_week_rows(moved, lambda v: fmt_num(sum(v), 1)),
        cover_rows=_week_rows(recorded["by_hour"],
                              lambda v: fmt_pct(sum(v) / len(v))),
        block_labels=[f"{b:02d}-{b + 3:02d}" for b in range(0, 24, 3)],
        fmt_num=fmt_num, fmt_pct=fmt_pct,
        api_query=_api_query(req))


def _api_query(req: PageRequest) -> str:
    from urllib.parse import urlencode

    return urlencode({"model": req.model})
