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
    _header,
    _layers,
    _page,
    _Wiring,
)
from safetygap.maps.pages import render
from safetygap.maps.style import FAMILY_STYLE
from safetygap.readmodel import WorkspaceView

SITES_JS = "safetygap/safetygap-sites.js"
"""The sites script, under the app's static prefix (served with the other map code)."""
MAX_SITES = 20
"""Largest number of sites a request may ask for."""


class _SitesWiring(MacroElement):
    """Calls ``safetygap.sitesMap`` with the site layers and the page configuration."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            safetygap.sitesMap({
                map: {{ this._parent.get_name() }},
                sites: {{ this.sites.get_name() }},
                catchments: {{ this.catchments.get_name() }},
            }, {{ this.config|tojson }});
        {% endmacro %}
    """)

    def __init__(self, *, sites: folium.FeatureGroup, catchments: folium.FeatureGroup,
                 config: dict[str, Any]):
        super().__init__()
        self._name = "SafetygapSites"
        self.sites = sites
        self.catchments = catchments
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
    # before the gap map's layers: its layer control is added last and must see these
    sites = folium.FeatureGroup(name="Recommended new sites", overlay=True,
                                show=True).add_to(m)
    catchments = folium.FeatureGroup(name="Catchments of the new sites", overlay=True,
                                     show=True).add_to(m)
    # the layer list folded: the sites' popups need the room
    layers = _layers(view, m, family=family, ward=None, hexbins_shown=False,
                     layer_list_open=False)
    config = _config(options, family=family, level="neighborhood", ward=None, year=None,
                     level_toggle=True, reach=view.reach_info())
    _Wiring(**layers, config=config).add_to(m)
    api = sites_api_url(options, family=family, k=k)
    _SitesWiring(sites=sites, catchments=catchments,
                 config={**config, "k": k, "api": {**config["api"], "sites": api}}).add_to(m)
    label = FAMILY_STYLE[family]["label"]
    panel = render("sites_panel.html", k=k, family=family, family_label=label,
                   families=FAMILIES, family_style=FAMILY_STYLE, max_sites=MAX_SITES,
                   pages_prefix=options.pages_prefix, api_url=api)
    return _page(m, _header(view, f"{k} new {label.lower()} sites", options), panel)
