"""The interactive gap maps (Folium / Leaflet): the city map and a ward's map.

The page holds the map frame only: one base layer per family (the gap-index
choropleth; a layer switch picks the family), overlays for ward outlines,
providers of each family (clustered when numerous) and calls counted in
hexagons, a legend with the class breaks, the distance model and the family's
catchments, and a scale bar. The layers are
filled in the browser by ``static/safetygap-map.js`` with GeoJSON fetched from
the API, so the HTML stays small. Scripts and styles come from the app's own
``/static`` (see :mod:`safetygap.maps.assets`); the only other host a page may
contact is the configured tile server (none with ``tiles="none"``).

Every string from the data that the page itself contains (area names in the
title and side panel) is HTML-escaped; the configuration handed to the script
is JSON with ``<``, ``>``, ``&`` and ``'`` escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.plugins import MarkerCluster
from folium.template import Template

from safetygap import FAMILIES
from safetygap.maps.assets import STATIC_PREFIX, css_links, js_links
from safetygap.maps.data import DEFAULT_HEX_SIZE_M, DEFAULT_TOLERANCE_M, WorkspaceView

FAMILY_STYLE: dict[str, dict[str, str]] = {
    "response": {"label": "Response", "color": "#c0392b", "icon": "fa-truck-medical"},
    "prevention": {"label": "Prevention", "color": "#1f78b4", "icon": "fa-seedling"},
    "restoration": {"label": "Restoration", "color": "#6a3d9a", "icon": "fa-hand-holding-heart"},
}
"""Label, marker colour and Font Awesome icon of each family."""

GAP_COLORS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
"""Gap classes 1 (best served) .. 5 (most underserved): ColorBrewer YlOrRd."""
NO_VALUE_COLOR = "#d9d9d9"
HEX_COLOR = "#253494"
CLUSTER_ABOVE = 30
"""Providers of a family are clustered when there are more than this many on the map."""
MAX_ZOOM = 19
"""Deepest zoom of the map pages. Set on the map itself, not only on the tile layer: with
``tiles="none"`` Leaflet would have no maximum, and Leaflet.markercluster refuses a map
without one (the page would stay blank)."""


def class_color(gap_class: int, n_classes: int) -> str:
    """Fill colour of a gap class when ``n_classes`` classes exist (same rule as the
    map script: the classes are spread over the whole colour ramp)."""
    if gap_class <= 0:
        return NO_VALUE_COLOR
    if n_classes <= 1:
        return GAP_COLORS[len(GAP_COLORS) // 2]
    return GAP_COLORS[round((gap_class - 1) * (len(GAP_COLORS) - 1) / (n_classes - 1))]


@dataclass(frozen=True)
class MapOptions:
    """How map pages are drawn (from :class:`safetygap.settings.Settings` in the app).

    ``tiles`` is a Leaflet tile URL template or ``"none"`` for no base map;
    ``api_prefix`` and ``static_prefix`` are where the app serves the API and
    the assets; ``tolerance_m`` and ``hex_size_m`` are in metres.
    """

    tiles: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    attribution: str = "&copy; OpenStreetMap contributors"
    api_prefix: str = "/api"
    pages_prefix: str = "/maps"
    static_prefix: str = STATIC_PREFIX
    tolerance_m: float = DEFAULT_TOLERANCE_M
    hex_size_m: float = DEFAULT_HEX_SIZE_M


class _Raw(Element):
    """Verbatim HTML. Branca's ``Element(text)`` parses ``text`` as a Jinja template, so
    data containing ``{{`` would be evaluated; this one is never parsed."""

    def __init__(self, html: str):
        super().__init__()
        self.html = html

    def render(self, **kwargs: Any) -> str:
        return self.html


class _Wiring(MacroElement):
    """Calls ``safetygap.gapMap`` with the Folium layers and the page configuration."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            safetygap.gapMap({
                map: {{ this._parent.get_name() }},
                areas: {
                {%- for family, layer in this.areas.items() %}
                    {{ family|tojson }}: {{ layer.get_name() }},
                {%- endfor %}
                },
                providers: {
                {%- for family, layer in this.providers.items() %}
                    {{ family|tojson }}: {{ layer.get_name() }},
                {%- endfor %}
                },
                outline: {{ this.outline.get_name() }},
                hexbins: {{ this.hexbins.get_name() }},
            }, {{ this.config|tojson }});
        {% endmacro %}
    """)

    def __init__(self, *, areas: dict, providers: dict, outline: folium.FeatureGroup,
                 hexbins: folium.FeatureGroup, config: dict[str, Any]):
        super().__init__()
        self._name = "SafetygapWiring"
        self.areas = areas
        self.providers = providers
        self.outline = outline
        self.hexbins = hexbins
        self.config = config


def _base_map(view: WorkspaceView, options: MapOptions, *, bounds: list[list[float]]
              ) -> folium.Map:
    (s, w), (n, e) = bounds
    m = folium.Map(location=[(s + n) / 2, (w + e) / 2], zoom_start=12, tiles=None,
                   control_scale=True, prefer_canvas=False, maxZoom=MAX_ZOOM)
    # per-instance asset lists: local files instead of Folium's CDN defaults
    m.default_js = js_links(options.static_prefix)
    m.default_css = css_links(options.static_prefix)
    if options.tiles.strip().lower() != "none":
        folium.TileLayer(tiles=options.tiles, attr=options.attribution, name="base map",
                         control=False, max_zoom=MAX_ZOOM).add_to(m)
    m.fit_bounds(bounds)
    return m


_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')


def render_page(m: folium.Map) -> str:
    """The page's HTML: Folium's rendering with pinch zoom allowed (Folium's viewport says
    ``user-scalable=no``), the document's language and a favicon."""
    html = m.get_root().render()
    html = _VIEWPORT.sub('<meta name="viewport" content="width=device-width, '
                         'initial-scale=1" />', html, count=1)
    html = html.replace("<html>", '<html lang="en">', 1)
    return html.replace("<head>", '<head><link rel="icon" href="/favicon.svg" '
                                  'type="image/svg+xml">', 1)


CAVEAT_LABELS = {"uncalibrated": "uncalibrated", "rates_undated": "rates undated",
                 "wards_partial": "wards miss part of the city"}
"""The map header's short label of each caveat (the full text is its tooltip)."""


def _header(view: WorkspaceView, title: str, options: MapOptions) -> str:
    notice = ""
    if view.synthetic:
        notice = ("<span class='sg-synthetic' title='" + escape(view.label) +
                  "'>synthetic demo data</span>")
    for caveat in view.caveats:  # uncalibrated lists, undated rates, wards missing a part
        short = CAVEAT_LABELS.get(caveat["kind"], caveat["headline"])
        notice += (f"<span class='sg-synthetic sg-caveat' id='caveat-{escape(caveat['kind'])}'"
                   f" title='{escape(caveat['headline'])}: {escape(caveat['text'])}'>"
                   f"{escape(short)}</span>")
    return (
        "<header class='sg-header'><a class='sg-skip' href='#sg-map'>Skip to the map</a>"
        "<a href='/' title='all maps'>safetygap</a>"
        f"<h1 class='sg-title'>{escape(title)}</h1>{notice}<span class='sg-spacer'></span>"
        f"<nav aria-label='pages'><a href='{escape(options.pages_prefix)}/gaps'>city map</a>"
        "<a href='/docs'>API</a></nav></header>"
    )


def _layers(view: WorkspaceView, m: folium.Map, *, family: str, ward: str | None,
            hexbins_shown: bool, layer_list_open: bool | None = None) -> dict[str, Any]:
    areas = {
        f: folium.FeatureGroup(name=f"{FAMILY_STYLE[f]['label']} gap", overlay=False,
                               show=(f == family)).add_to(m)
        for f in FAMILIES
    }
    outline = folium.FeatureGroup(name="Ward outline" if ward else "Ward outlines",
                                  overlay=True, show=True).add_to(m)
    p = view.providers
    if ward is not None:
        p = p[p["ward_id"].astype(str) == ward]
    providers: dict[str, Any] = {}
    for f in FAMILIES:
        n = int((p["family"] == f).sum())
        name = f"{FAMILY_STYLE[f]['label']} providers ({n})"
        if n > CLUSTER_ABOVE:
            layer = MarkerCluster(name=name, overlay=True, show=True,
                                  options={"showCoverageOnHover": False,
                                           "maxClusterRadius": 45})
            layer.default_js = []  # markercluster comes from the map's local assets
            layer.default_css = []
        else:
            layer = folium.FeatureGroup(name=name, overlay=True, show=True)
        providers[f] = layer.add_to(m)
    hexbins = folium.FeatureGroup(name="Calls of the family (hexagons)", overlay=True,
                                  show=hexbins_shown).add_to(m)
    # the city map shows its layer list open; a ward's map keeps it folded (room for the ward)
    if layer_list_open is None:
        layer_list_open = ward is None
    folium.LayerControl(collapsed=not layer_list_open, position="topright").add_to(m)
    return {"areas": areas, "providers": providers, "outline": outline, "hexbins": hexbins}


def _config(options: MapOptions, *, family: str, level: str, ward: str | None,
            year: int | None, level_toggle: bool, reach: dict[str, Any]) -> dict[str, Any]:
    api = options.api_prefix
    return {
        "reach": reach,
        "family": family,
        "level": level,
        "levelToggle": level_toggle,
        "ward": ward,
        "year": year,
        "tolerance": options.tolerance_m,
        "hexSize": options.hex_size_m,
        "families": FAMILY_STYLE,
        "familyOrder": list(FAMILIES),
        "colors": list(GAP_COLORS),
        "noValueColor": NO_VALUE_COLOR,
        "hexColor": HEX_COLOR,
        "api": {
            "areas": {"neighborhood": f"{api}/neighborhoods", "ward": f"{api}/wards"},
            "providers": f"{api}/providers",
            "hexbins": f"{api}/hexbins",
        },
        "pages": {"ward": f"{options.pages_prefix}/wards/"},
    }


def _page(m: folium.Map, header: str, panel: str | None = None) -> folium.Map:
    root = m.get_root()
    root.header.add_child(_Raw("<title>safetygap</title>"), name="sg_title")
    right = "380px" if panel is not None else "0"
    mid = m.get_name()
    root.header.add_child(_Raw(
        f"<style>#{mid} {{position: absolute !important; top: 44px !important; "
        f"bottom: 0 !important; left: 0 !important; right: {right} !important; "
        f"width: auto !important; height: auto !important;}}"
        f"@media (max-width: 800px) {{#{mid} {{right: 0 !important; "
        f"bottom: {'45vh' if panel is not None else '0'} !important;}}}}</style>"),
        name="sg_map_style")
    root.html.add_child(_Raw(header.replace("#sg-map", f"#{mid}")), name="sg_header")
    if panel is not None:
        root.html.add_child(_Raw(panel), name="sg_panel")
    return m


def build_gap_map(
    view: WorkspaceView,
    *,
    family: str = "response",
    level: str = "neighborhood",
    year: int | None = None,
    options: MapOptions | None = None,
) -> folium.Map:
    """The city's gap map: ``family`` and ``level`` are what shows first."""
    options = options or MapOptions()
    m = _base_map(view, options, bounds=view.bounds("neighborhood"))
    layers = _layers(view, m, family=family, ward=None, hexbins_shown=False)
    _Wiring(**layers, config=_config(options, family=family, level=level, ward=None,
                                     year=year, level_toggle=True,
                                     reach=view.reach_info())).add_to(m)
    title = "Where services fall short" + (f" — {year}" if year else "")
    return _page(m, _header(view, title, options))


def build_ward_map(
    view: WorkspaceView,
    ward: str,
    *,
    family: str = "response",
    options: MapOptions | None = None,
) -> folium.Map:
    """A council member's view of one ward: its neighborhoods shaded by gap, its
    providers, and a side table of the ward's figures against the city."""
    options = options or MapOptions()
    m = _base_map(view, options, bounds=view.bounds("ward", ward))
    layers = _layers(view, m, family=family, ward=ward, hexbins_shown=False)
    _Wiring(**layers, config=_config(options, family=family, level="neighborhood", ward=ward,
                                     year=None, level_toggle=False,
                                     reach=view.reach_info())).add_to(m)
    from safetygap.maps.pages import ward_panel

    name = view.area_name("ward", ward)
    return _page(m, _header(view, name, options), ward_panel(view, ward))
