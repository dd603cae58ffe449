"""HTML pages around the maps: the index page and a ward's side panel.

Rendered with Jinja2 with autoescaping on, so every string from the data
(area, provider and call-type names) is HTML-escaped.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from safetygap import FAMILIES, __version__
from safetygap.labels import (
    family_label,
    field,
    fmt_distance,
    fmt_num,
    fmt_pct,
    fmt_value,
    label,
    service_label,
)
from safetygap.maps.area_page import AreaFacts
from safetygap.maps.data import WorkspaceView
from safetygap.maps.equity import group_keys

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of safetygap's pages (autoescape on); filters ``num``,
    ``pct`` (one decimal) and ``value`` (a measure as :mod:`safetygap.labels` formats it)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_num
    env.filters["pct"] = fmt_pct
    env.filters["value"] = lambda v, measure, unit=False: fmt_value(measure, v, unit=unit)
    env.filters["distance"] = fmt_distance
    env.globals["field_label"] = label
    env.globals["family_label"] = family_label
    env.globals["service_label"] = service_label
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(version=__version__, **context)


def pin_html(family: str) -> str:
    """A small marker of ``family`` (its colour, shape and icon) as on the maps."""
    from safetygap.maps.gap_map import FAMILY_STYLE

    d = FAMILY_STYLE[family]
    return (f"<span class='sg-pin sg-pin-small sg-shape-{d['shape']}' "
            f"style='background:{d['color']}'><i class='fa-solid {d['icon']}' "
            "aria-hidden='true'></i></span>")


def ward_panel_rows(view: WorkspaceView, ward: str) -> dict[str, list[dict[str, Any]]]:
    """Per family: the ward's value of each panel measure, the city value, the rank
    among wards (1 = the most underserved) and whether the ward is worse than the city."""
    facts = AreaFacts(view, "ward", ward)
    return {f: facts.measure_rows(f) for f in FAMILIES}


def ward_panel(view: WorkspaceView, ward: str) -> str:
    """The side panel of a ward's map (HTML fragment): the headline, each family's gap
    with its rank, the ward's neighborhoods most underserved first, its providers."""
    from safetygap.maps.gap_map import FAMILY_STYLE, class_color

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
