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
    ("class", "need against access", 0, False, None),
    ("calls", "need calls", 0, False, None),
    ("rate_eb", "need: calls per 1,000 residents / year, smoothed", 1, False, True),
    ("rate", "calls per 1,000 residents / year (95% interval)", 1, False, True),
    ("access", "accessibility (capacity / 1,000 residents)", 3, False, False),
    ("reach", "residents within reach of a provider", 0, True, False),
    ("coverage", "need calls within reach of a service that handles them", 0, True, False),
    ("diverted_share", "diverted to non-police services", 0, True, False),
    ("providers", "providers located in the area", 0, False, False),
    ("gap", "gap index, secondary (-1 .. 1, high = underserved)", 2, False, True),
)


SHORT_LABELS = {3 * n + a + 1: f"{'LMH'[n]}/{'LMH'[a]}" for n in range(3) for a in range(3)}
"""Need/access class as two letters (need/access: L low, M middle, H high)."""


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
            text = show(value, digits)
            if measure == "class":
                text = str(m.get("text") or "not ranked") + (
                    " (uncertain)" if m.get("uncertain") else "")
                worse = value == 7
            elif m.get("ci_low") is not None and m.get("ci_high") is not None:
                text += f" ({show(m['ci_low'], digits)}–{show(m['ci_high'], digits)})"
            rows.append({"measure": measure, "label": label,
                         "value": text, "city": "" if measure == "class" else
                         show(city, digits),
                         "rank": None if measure == "class" else m["rank"], "of": m["of"],
                         "worse": worse})
        out[fam] = rows
    return out


def ward_panel(view: WorkspaceView, ward: str) -> str:
    """The side panel of a ward's map (HTML fragment)."""
    nb_ids = view.ward_neighborhoods(ward)
    nb = view.areas["neighborhood"].set_index("area_id").loc[nb_ids]
    from safetygap.maps.data import BIVARIATE_COLORS, NOT_RANKED_COLOR
    from safetygap.maps.gap_map import FAMILY_STYLE

    def cls(r: Any, f: str) -> int:
        v = r.get(f"class_{f}", 0)
        return int(v) if v is not None and math.isfinite(float(v)) else 0

    neighborhoods = [
        {"area_id": i, "name": str(r["name"]),
         "labels": {f: SHORT_LABELS.get(cls(r, f), "–") for f in FAMILIES},
         "titles": {f: str(r.get(f"class_label_{f}", "")) for f in FAMILIES},
         "underserved": sum(cls(r, f) == 7 for f in FAMILIES),
         "colors": {f: BIVARIATE_COLORS.get(cls(r, f), NOT_RANKED_COLOR) for f in FAMILIES}}
        for i, r in nb.iterrows()
    ]
    neighborhoods.sort(key=lambda n: (-n["underserved"], n["name"]))
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
    }


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
