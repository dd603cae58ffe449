"""HTML pages around the maps: the index page and a ward's side panel.

Rendered with Jinja2 with autoescaping on, so every string from the data
(area, provider and call-type names) is HTML-escaped.
"""

from __future__ import annotations

from typing import Any

from safetygap import FAMILIES
from safetygap.labels import (
    field,
)
from safetygap.maps.area_page import AreaFacts
from safetygap.maps.equity import group_keys
from safetygap.maps.jinja import pin_html, render
from safetygap.maps.style import FAMILY_STYLE, class_color
from safetygap.readmodel import WorkspaceView


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
    }


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
