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
from safetygap.maps.data import WorkspaceView
from safetygap.maps.gap_map import (
    FAMILY_STYLE,
    MapOptions,
    _base_map,
    _config,
    _page,
    _Wiring,
)
from safetygap.maps.pages import render

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
    title = f"{k} new {label.lower()} sites"
    config = _config(view, options, family=family, level="neighborhood", ward=None, year=None,
                     level_toggle=True, title=title, options_open=False)
    gap = _Wiring(config=config).add_to(m)
    api = sites_api_url(options, family=family, k=k)
    _SitesWiring(gap=gap, config={"k": k, "api": {"sites": api}}).add_to(m)
    panel = render("sites_panel.html", k=k, family=family, family_label=label,
                   families=FAMILIES, family_style=FAMILY_STYLE, max_sites=MAX_SITES,
                   pages_prefix=options.pages_prefix, api_url=api)
    return _page(m, view, title, options, panel)
