"""HTML pages around the maps: the index page and a ward's side panel.

Rendered with Jinja2 with autoescaping on, so every string from the data
(area, provider and call-type names) is HTML-escaped.
"""

from __future__ import annotations

from typing import Any

from safetygap import FAMILIES
from safetygap.labels import (
    family_label,
    field,
    fmt_num,
)
from safetygap.maps.area_page import AreaFacts
from safetygap.maps.jinja import pin_html, render
from safetygap.maps.style import FAMILY_STYLE, class_color
from safetygap.readmodel import WorkspaceView
from safetygap.readmodel.equity import group_keys
from safetygap.vocab import LEVELS


def ward_panel_rows(view: WorkspaceView, ward: str) -> dict[str, list[dict[str, Any]]]:
    """Per family: the ward's value of each panel measure, the city value, the rank
    among wards (1 = the most underserved) and whether the ward is worse than the city."""
    facts = AreaFacts(view, "ward", ward)
    return {f: facts.measure_rows(f) for f in FAMILIES}


def ward_panel(view: WorkspaceView, ward: str) -> str:
    """The side panel of a ward's map (HTML fragment): the headline, each family's gap
    with its rank, the ward's neighborhoods most underserved first, its providers."""
    facts = AreaFacts(view, "ward", ward)
    n_classes = {f: sum(c["gap_class"] > 0 for c in view.classes("neighborhood", f))
                 for f in FAMILIES}
    neighborhoods = facts.neighborhoods()
    for n in neighborhoods:
        n["colors"] = {f: class_color(n["families"][f]["class"], n_classes[f])
                       for f in FAMILIES}
    inside, in_reach = view.providers_near("ward", ward)
    return render(
        "ward_panel.html",
        ward_id=ward,
        name=facts.name,
        headline=facts.headline(),
        family_rows=facts.family_rows(),
        years=view.years,
        families=FAMILIES,
        family_style=FAMILY_STYLE,
        neighborhoods=neighborhoods,
        providers=inside,
        in_reach=in_reach,
        reach=view.reach_info(),
        pin=pin_html,
    )


def warm_up(view: WorkspaceView, *, tolerance_m: float | None = None) -> None:
    """Fill the view's caches a first visit needs (each family's areas, the ward outlines,
    providers, reach, calls by hour of the week), so no page waits for them."""
    from safetygap.maps.area_page import hour_of_week_counts
    from safetygap.readmodel import DEFAULT_SIMPLIFY_TOLERANCE_M

    tol = DEFAULT_SIMPLIFY_TOLERANCE_M if tolerance_m is None else tolerance_m
    view.reach_info()
    for family in FAMILIES:
        view.layer("neighborhood", family=family, tolerance_m=tol)
        view.ranking("neighborhood", family, top=5)
    view.layer("ward", family="response", tolerance_m=tol)
    view.providers_layer()
    hour_of_week_counts(view, "ward")
    for level in LEVELS:  # the area pages' years and trends
        for year in view.years:
            view.values(level, year=year)
            view.hidden_family_counts(level, year=year)
    # the templates compiled, the first ward's panel and page drawn once
    wards = view.area_ids("ward")
    index_page(view)
    if wards:
        from safetygap.maps.area_page import area_page

        ward_panel(view, wards[0])
        area_page(view, "ward", wards[0])


def overview(view: WorkspaceView) -> dict[str, Any]:
    """What the index page and the report both show about the data (template context)."""
    q = view.quality.get("calls", {})
    prov = view.providers["family"].value_counts()
    return {
        "label": view.label,
        "synthetic": view.synthetic,
        "summary": view.summary,
        "years": view.years,
        "families": FAMILIES,
        "providers": {f: int(prov.get(f, 0)) for f in FAMILIES},
        "status_counts": q.get("status_counts", {}),
        "excluded": q.get("excluded_from_areas"),
        "sensitivity": view.summary.get("boundary_sensitivity"),
        "travel": view.summary.get("travel"),
        "reach": view.reach_info(),
        "caveats": view.caveats,
        "uncalibrated": bool(view.summary.get("uncalibrated")),
        "call_types": view.summary.get("call_types"),
        "basis": denominators(view.summary),
        "inventory": inventory_overview(view),
    }


def denominators(summary: dict[str, Any]) -> list[str]:
    """What the figures are shares and counts of, in words (each output states them)."""
    out = []
    demand = summary.get("demand")
    if demand:
        out.append(f"Calls counted as demand: {demand['words']}"
                   + (f" ({demand['left_out_calls']:,} calls left out)."
                      if demand["left_out_calls"] else "."))
    div = summary.get("diversion")
    if div:
        out.append(f"The diverted share is of {div['denominator_words']}.")
    types = summary.get("call_types")
    if types:
        out.append(f"Call types: {types['words']}.")
    agency = summary.get("agency")
    if agency and agency["default"]:
        out.append(f"Agency: {agency['words']}.")
    undated = summary.get("undated")
    if undated and undated["calls"]:
        out.append(f"Dates: {undated['words']}.")
    return out


def inventory_overview(view: WorkspaceView) -> dict[str, Any] | None:
    """How complete the inventory of providers is (``quality.json`` providers:
    completeness and verification), as the index page states it; None for a workspace
    written before they were recorded."""
    q = view.quality.get("providers", {})
    c, v = q.get("completeness"), q.get("verification")
    if not c or not v:
        return None
    rows = [{"family": f, "label": family_label(f), "providers": c["by_family"].get(f, 0),
             "sources": ", ".join(f"{k} {fmt_num(n)}" for k, n in
                                  c["by_family_and_source"].get(f, {}).items()) or "–",
             "stale": v["stale_by_family"].get(f, 0)} for f in FAMILIES]
    return {"rows": rows, "providers": c["providers"], "stale": c["stale"],
            "never": v["never_verified"], "street_only": c["street_only"],
            "serving": c["serving_areas"], "as_of": v["as_of"],
            "months": fmt_num(v["stale_after_months"], 0)}


def index_page(view: WorkspaceView, *, top: int = 5, report_url: str | None = "/report"
               ) -> str:
    """The start page: what the data is, the most underserved neighborhoods per
    family, and links to every map."""
    wards = [{"area_id": i, "name": view.area_name("ward", i)} for i in view.area_ids("ward")]
    return render(
        "index.html",
        **overview(view),
        top={f: view.ranking("neighborhood", f, top=top) for f in FAMILIES},
        gap_help=field("gap").help,
        wards=wards,
        report_url=report_url,
        equity_groups=group_keys(view),
    )
