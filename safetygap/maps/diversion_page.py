"""The diversion page (``/diversion``): how many calls go to non-police services, which could,
and the path to the city's 20% goal, with server-side SVG charts and their data tables.

The page is one GET form (eligibility model, categories to move, the channel they move to,
the share, the new responders' hours) and its answer, computed by
:mod:`safetygap.readmodel.diversion`. Charts are inline ``<svg role="img">`` with a title
and a description in words, each followed by a table of its numbers (the chart's text
alternative); no script is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safetygap.diversion_scenario import Move, ShiftPattern
from safetygap.eligibility import MODELS
from safetygap.hours import DAYS
from safetygap.labels import fmt_num, fmt_pct
from safetygap.maps.charts import goal_bars, week_columns
from safetygap.maps.jinja import render
from safetygap.readmodel.diversion import (
    eligibility_view,
    hours_view,
    model_info,
    movable_categories,
    scenario_view,
)
from safetygap.vocab import Channel

if TYPE_CHECKING:
    from safetygap.readmodel import WorkspaceView

__all__ = ["PageRequest", "diversion_page"]

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
    ward: str | None = None
    """The ward whose hours of the week the heat map shows (None: the city)."""

    def moves(self) -> list[Move]:
        if self.whole_model:
            return [Move(Channel(self.channel), model=self.model, share=self.share)]
        if self.categories:
            return [Move(Channel(self.channel), categories=self.categories,
                         share=self.share)]
        return []


def _week_rows(values: Sequence[float | None], fmt: Any, *, whole_blocks: bool = False
               ) -> list[dict[str, Any]]:
    """A heat map as a table: one row per day, one cell per 3-hour block (``fmt`` of the
    block's shown values). ``whole_blocks``: a block with a hidden hour is hidden whole
    (its sum would reveal nothing true)."""
    rows = []
    for d in range(7):
        cells = []
        for b in range(0, 24, 3):
            part = [values[d * 24 + h] for h in range(b, b + 3)]
            shown = [v for v in part if v is not None]
            if whole_blocks and len(shown) < len(part):
                cells.append("hidden")
            else:
                cells.append(fmt(shown) if shown else "–")
        rows.append({"day": DAYS[d], "cells": cells})
    return rows


# -- the page ---------------------------------------------------------------------------


def diversion_page(view: WorkspaceView, req: PageRequest) -> str:
    """The whole page (HTML)."""
    elig = eligibility_view(view, model=req.model)
    result = scenario_view(view, req.moves(), shift=ShiftPattern(hours=req.hours),
                           candidates_model=req.model)
    hours = hours_view(view, model=req.model,
                       level=None if req.ward is None else "ward", area_id=req.ward)
    wards = result["levels"]["ward"]
    bars = goal_bars(
        [(w["name"], w["share_before"], None if result["changes_nothing"]
          else w["share_after"]) for w in wards], goal=result["target"],
        key="wards", title="Share of calls diverted, by ward",
        desc=("Each ward's share of calls handled by a non-police service today"
              + ("" if result["changes_nothing"] else " and with the change")
              + f", against the goal of {fmt_pct(result['target'], 0)}. The table below "
                "gives the numbers."))
    moved = result["hour_of_week"]["moved_per_week"]
    moved_svg = week_columns(
        moved, key="moved", title="Calls moved in a typical week, by hour",
        desc="Calls the change would move to a non-police service in an average week, by "
             "day and hour. The table below gives them in 3-hour blocks.",
        unit="calls a week")
    recorded = hours["scenarios"][0]
    cover_svg = week_columns(
        recorded["by_hour"], key="cover", as_share=True, unit="",
        title=f"Eligible calls a responder could take, by hour: {hours['name'] or 'city'}",
        desc="Share of the calls eligible under the chosen model that arrived while a "
             "non-police responder covering the place was open (the hours the providers "
             "record). Grey: hidden for privacy or no calls. The table below gives them in "
             "3-hour blocks.")
    model = model_info(req.model)
    return render(
        "diversion.html",
        label=view.label, synthetic=view.synthetic, caveats=view.caveats,
        req=req, result=result, elig=elig, hours=hours, model=model,
        models=[(m, MODEL_LABELS.get(m, m)) for m in MODELS],
        channels=CHANNEL_LABELS, hours_choices=HOURS_CHOICES, shares=SHARE_CHOICES,
        categories=movable_categories(view, req.model),
        bars=bars, moved_svg=moved_svg, cover_svg=cover_svg,
        moved_rows=_week_rows(moved, lambda v: fmt_num(sum(v), 1), whole_blocks=True),
        cover_rows=_week_rows(recorded["by_hour"],
                              lambda v: fmt_pct(sum(v) / len(v))),
        block_labels=[f"{b:02d}-{b + 3:02d}" for b in range(0, 24, 3)],
        fmt_num=fmt_num, fmt_pct=fmt_pct,
        wards=[(w, view.area_name("ward", w)) for w in view.area_ids("ward")],
        api_query=_api_query(req))


def _api_query(req: PageRequest) -> str:
    from urllib.parse import urlencode

    query = {"model": req.model}
    if req.ward is not None:
        query |= {"level": "ward", "area": req.ward}
    return urlencode(query)
