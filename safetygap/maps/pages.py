"""HTML pages around the maps: the index page and a ward's side panel.

Rendered with Jinja2 with autoescaping on, so every string from the data
(area, provider and call-type names) is HTML-escaped.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from safetygap import FAMILIES, __version__
from safetygap.maps.data import WorkspaceView

TEMPLATES = Path(__file__).parent / "templates"

# measure, label, digits, percent?, higher value is worse?
PANEL_MEASURES: tuple[tuple[str, str, int, bool, bool | None], ...] = (
    ("calls", "need calls", 0, False, None),
    ("rate", "calls per 1,000 residents / year", 2, False, True),
    ("access", "accessibility (capacity / 1,000 residents)", 3, False, False),
    ("coverage", "need calls within a provider's reach", 0, True, False),
    ("diverted_share", "diverted to non-police services", 0, True, False),
    ("providers", "providers located in the area", 0, False, False),
    ("gap", "gap index (-1 .. 1, high = underserved)", 2, False, True),
)


def fmt_num(value: Any, digits: int = 0) -> str:
    """Thousands separators, ``digits`` decimals; an en dash for no value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:,.{digits}f}"


def fmt_pct(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{100 * value:.{digits}f}%"


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of safetygap's pages (autoescape on)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_num
    env.filters["pct"] = fmt_pct
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(version=__version__, **context)


def _family_label(family: str) -> str:
    from safetygap.maps.gap_map import FAMILY_STYLE

    return FAMILY_STYLE[family]["label"]


def ward_panel_rows(view: WorkspaceView, ward: str) -> dict[str, list[dict[str, Any]]]:
    """Per family: the ward's value of each panel measure, the city value, the rank
    among wards, and whether the ward is worse than the city."""
    by_key = {(m["family"], m["measure"]): m for m in view.measures("ward", ward)}
    out: dict[str, list[dict[str, Any]]] = {}
    for fam in FAMILIES:
        rows = []
        for measure, label, digits, pct, higher_worse in PANEL_MEASURES:
            m = by_key[(fam, measure)]
            value, city = m["value"], m["city"]
            worse = False
            if higher_worse is not None and value is not None and city is not None:
                worse = value > city if higher_worse else value < city
            if measure == "gap" and value is not None:
                worse = value > 0
            show = fmt_pct if pct else fmt_num
            rows.append({"measure": measure, "label": label,
                         "value": show(value, digits), "city": show(city, digits),
                         "rank": m["rank"], "of": m["of"], "worse": worse})
        out[fam] = rows
    return out


def ward_panel(view: WorkspaceView, ward: str) -> str:
    """The side panel of a ward's map (HTML fragment)."""
    nb_ids = view.ward_neighborhoods(ward)
    nb = view.areas["neighborhood"].set_index("area_id").loc[nb_ids]
    from safetygap.maps.gap_map import FAMILY_STYLE, class_color

    n_classes = {f: sum(c["gap_class"] > 0 for c in view.classes("neighborhood", f))
                 for f in FAMILIES}
    neighborhoods = [
        {"area_id": i, "name": str(r["name"]),
         "gaps": {f: r[f"gap_{f}"] for f in FAMILIES},
         "colors": {f: class_color(int(r[f"gap_class_{f}"]), n_classes[f])
                    for f in FAMILIES}}
        for i, r in nb.iterrows()
    ]
    neighborhoods.sort(key=lambda n: (-max((g for g in n["gaps"].values()
                                            if g is not None and math.isfinite(g)),
                                           default=-9.0), n["name"]))
    inside, in_reach = view.providers_near("ward", ward)

    return render(
        "ward_panel.html",
        ward_id=ward,
        name=view.area_name("ward", ward),
        years=view.years,
        n_wards=len(view.area_ids("ward")),
        families=FAMILIES,
        family_style=FAMILY_STYLE,
        rows=ward_panel_rows(view, ward),
        neighborhoods=neighborhoods,
        providers=inside,
        in_reach=in_reach,
        reach=view.reach_info(),
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
        "caveats": view.caveats,
        "uncalibrated": bool(view.summary.get("uncalibrated")),
        "call_types": view.summary.get("call_types"),
        "basis": denominators(view.summary),
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
    undated = summary.get("undated")
    if undated and undated["calls"]:
        out.append(f"Dates: {undated['words']}.")
    return out


def index_page(view: WorkspaceView, *, top: int = 5, report_url: str | None = "/report"
               ) -> str:
    """The start page: what the data is, the most underserved neighborhoods per
    family, and links to every map."""
    wards = [{"area_id": i, "name": view.area_name("ward", i)} for i in view.area_ids("ward")]
    return render(
        "index.html",
        **overview(view),
        family_label=_family_label,
        top={f: view.ranking("neighborhood", f, top=top) for f in FAMILIES},
        wards=wards,
        report_url=report_url,
    )
