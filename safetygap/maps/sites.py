"""The recommended-sites map: the gap map of a family with K new sites on it.

Built with the same machinery as :mod:`safetygap.maps.gap_map` (local assets,
the family's gap choropleth, ward outlines, providers, call hexagons), plus
two overlays filled by ``static/safetygap-sites.js`` from ``GET /api/sites``:
numbered markers for the ranked sites (a popup each with the calls it newly
covers and the areas that gain) and their catchments (a circle of the
catchment radius straight-line; on a street network the area the site
reaches, as the legend says). A side panel lists the sites. Strings from the
data reach the page only through the script's escaping or as text.
"""

from __future__ import annotations

from typing import Any

import folium
from branca.element import MacroElement
from folium.template import Template

from safetygap import FAMILIES
from safetygap.maps.gap_map import (
    MapOptions,
    _base_map,
    _config,
    _page,
    _Wiring,
)
from safetygap.maps.jinja import render
from safetygap.maps.style import FAMILY_STYLE
from safetygap.readmodel import WorkspaceView

SITES_JS = "safetygap/safetygap-sites.js"
"""The sites script, under the app's static prefix (served with the other map code)."""
MAX_SITES = 20
"""Largest number of sites a request may ask for."""


class _SitesWiring(MacroElement):
    """Calls ``safetygap.sitesMap`` with the gap map's controller and the configuration."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            safetygap.sitesMap({{ this.gap.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
    """)

    def __init__(self, *, gap: MacroElement, config: dict[str, Any]):
        super().__init__()
        self._name = "SafetygapSites"
        self.gap = gap
        self.config = config


def service_types(view: WorkspaceView) -> list[dict[str, Any]]:
    """The taxonomy's service types for the siting and what-if forms: name, family, label,
    reach in the workspace's unit (``reach`` in words) and the median capacity of the
    workspace's providers of the type (None without any)."""
    from safetygap.labels import fmt_distance, service_label
    from safetygap.taxonomy import taxonomy_from_content

    taxonomy = taxonomy_from_content(view.manifest["taxonomy"]["content"],
                                     label="workspace manifest")
    d = view.distance
    mode = d["distance_model"].removeprefix("network-")
    capacity = view.providers.groupby("service_type")["capacity"].median()
    out = []
    for name, st in sorted(taxonomy.service_types.items(),
                           key=lambda kv: (FAMILIES.index(kv[1].family), kv[0])):
        reach = st.catchment_m if d["unit"] == "m" else st.catchment_for(mode)
        cap = capacity.get(name)
        out.append({"name": name, "family": st.family, "label": service_label(name),
                    "catchment": float(reach),
                    "reach": fmt_distance(reach, d["unit"], d["distance_model"]),
                    "capacity": None if cap is None else float(cap)})
    return out


def sites_api_url(options: MapOptions, *, family: str, k: int) -> str:
    return f"{options.api_prefix}/sites?family={family}&k={k}"


def build_sites_map(
    view: WorkspaceView,
    *,
    family: str = "response",
    k: int = 5,
    options: MapOptions | None = None,
) -> folium.Map:
    """The gap map of ``family`` with the ``k`` recommended new sites (fetched by the page
    from ``GET /api/sites``, which computes them once per workspace version)."""
    options = options or MapOptions()
    m = _base_map(view, options, bounds=view.bounds("neighborhood"))
    m.default_js = [*m.default_js, ("safetygap_sites", f"{options.static_prefix}/{SITES_JS}")]
    label = FAMILY_STYLE[family]["label"]
    title = f"{k} new {label.lower()} site{'' if k == 1 else 's'}"  # as the page retitles
    config = _config(view, options, family=family, level="neighborhood", ward=None, year=None,
                     level_toggle=True, title=title, options_open=False)
    gap = _Wiring(config=config).add_to(m)
    api = sites_api_url(options, family=family, k=k)
    _SitesWiring(gap=gap, config={
        "k": k, "maxSites": MAX_SITES, "family": family, "families": list(FAMILIES),
        "familyOrder": list(FAMILIES), "serviceTypes": service_types(view),
        "api": {"sites": f"{options.api_prefix}/sites",
                "scenarios": f"{options.api_prefix}/scenarios"}}).add_to(m)
    unit = view.distance["unit"]
    panel = render("sites_panel.html", k=k, family=family, family_label=label,
                   families=FAMILIES, family_style=FAMILY_STYLE, max_sites=MAX_SITES,
                   pages_prefix=options.pages_prefix, api_url=api,
                   reach_unit="minutes" if unit == "min" else "metres, straight-line")
    return _page(m, view, title, options, panel)
