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
from folium.template import Template

from safetygap import FAMILIES
from safetygap.labels import script_labels
from safetygap.maps.assets import STATIC_PREFIX, css_links, js_links
from safetygap.maps.style import (
    BIVARIATE_COLORS,
    CLUSTER_UNTIL_ZOOM,
    FAMILY_STYLE,
    GAP_COLORS,
    HEX_COLOR,
    NO_VALUE_COLOR,
    NOT_RANKED_COLOR,
)
from safetygap.readmodel import DEFAULT_HEX_SIZE_M, DEFAULT_SIMPLIFY_TOLERANCE_M, WorkspaceView
from safetygap.tables import measures as M

MAX_ZOOM = 19
"""Deepest zoom of the map pages. Set on the map itself, not only on the tile layer: with
``tiles="none"`` Leaflet would have no maximum, and Leaflet.markercluster refuses a map
without one (the page would stay blank)."""


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
    tolerance_m: float = DEFAULT_SIMPLIFY_TOLERANCE_M
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
    """Calls ``safetygap.gapMap`` with the map and the page configuration (the script
    makes every layer and control, :file:`static/safetygap-map.js`)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = safetygap.gapMap(
                {map: {{ this._parent.get_name() }}}, {{ this.config|tojson }});
        {% endmacro %}
    """)

    def __init__(self, *, config: dict[str, Any]):
        super().__init__()
        self._name = "SafetygapWiring"
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
_MAP_DIV = re.compile(r'(<div class="folium-map" id="map_[0-9a-f]+" ></div>)')


def render_page(m: folium.Map) -> str:
    """The page's HTML: Folium's rendering with pinch zoom allowed (Folium's viewport says
    ``user-scalable=no``), the document's language, a favicon and the map as the page's
    main landmark."""
    html = m.get_root().render()
    html = _VIEWPORT.sub('<meta name="viewport" content="width=device-width, '
                         'initial-scale=1" />', html, count=1)
    html = _MAP_DIV.sub(r'<main class="sg-main" aria-label="map">\1</main>', html, count=1)
    html = html.replace("<html>", '<html lang="en">', 1)
    return html.replace("<head>", '<head><link rel="icon" href="/favicon.svg" '
                                  'type="image/svg+xml">', 1)


CAVEAT_LABELS = {"uncalibrated": "uncalibrated", "rates_undated": "rates undated",
                 "wards_partial": "wards miss part of the city",
                 "demand_basis": "calls from the public"}
"""The map header's short label of each caveat (the full text is its tooltip)."""


def _header(view: WorkspaceView, title: str, options: MapOptions) -> str:
    notice = ""
    if view.synthetic:
        notice = ("<span class='sg-synthetic' title='" + escape(view.label) +
                  "'>synthetic data</span>")
    for caveat in view.caveats:  # uncalibrated lists, undated rates, wards missing a part
        short = CAVEAT_LABELS.get(caveat["kind"], caveat["headline"])
        notice += (f"<span class='sg-synthetic sg-caveat' id='caveat-{escape(caveat['kind'])}'"
                   f" title='{escape(caveat['headline'])}: {escape(caveat['text'])}'>"
                   f"{escape(short)}</span>")
    return (
        "<header class='sg-header'><a class='sg-skip' href='#sg-map'>Skip to the map</a>"
        "<a class='sg-home' href='/'>safetygap</a>"
        f"<h1 class='sg-title'>{escape(title)}</h1>{notice}<span class='sg-spacer'></span>"
        f"<nav aria-label='pages'><a href='{escape(options.pages_prefix)}/gaps'>City map</a>"
        "<a href='/'>All pages</a></nav></header>"
    )


def _ward_labels(view: WorkspaceView) -> list[dict[str, Any]]:
    """Where each ward's name is written on the city map: a point inside it (EPSG:4326)."""
    wards = view.areas["ward"]
    pts = wards.geometry.representative_point().to_crs("EPSG:4326")
    return [{"id": str(i), "label": str(n), "lat": round(float(p.y), 6),
             "lon": round(float(p.x), 6)}
            for i, n, p in zip(wards[M.AREA_ID], wards["name"], pts, strict=True)]


def _config(view: WorkspaceView, options: MapOptions, *, family: str, level: str,
            ward: str | None, year: int | None, level_toggle: bool, title: str,
            options_open: bool = True) -> dict[str, Any]:
    api = options.api_prefix
    providers = view.providers
    if ward is not None:
        providers = providers[providers["ward_id"].astype(str) == ward]
    counts = providers["family"].value_counts()
    return {
        "title": title,
        "reach": view.reach_info(),
        "family": family,
        "level": level,
        "levelToggle": level_toggle,
        "optionsOpen": options_open,
        "ward": ward,
        "year": year,
        "years": list(view.years),
        "tolerance": options.tolerance_m,
        "hexSize": options.hex_size_m,
        "families": FAMILY_STYLE,
        "familyOrder": list(FAMILIES),
        "providerCounts": {f: int(counts.get(f, 0)) for f in FAMILIES},
        "clusterUntilZoom": CLUSTER_UNTIL_ZOOM,
        "wardLabels": _ward_labels(view) if ward is None else [],
        "labels": script_labels(),
        "colors": list(GAP_COLORS),
        "noValueColor": NO_VALUE_COLOR,
        "bivariate": {str(k): v for k, v in BIVARIATE_COLORS.items()},
        "notRankedColor": NOT_RANKED_COLOR,
        "uncertainBelow": view.uncertain_below,
        "hexColor": HEX_COLOR,
        "api": {
            "areas": {"neighborhood": f"{api}/neighborhoods", "ward": f"{api}/wards"},
            "providers": f"{api}/providers",
            "hexbins": f"{api}/hexbins",
        },
        "pages": {"ward": f"{options.pages_prefix}/wards/",
                  "area": {"neighborhood": "/neighborhoods/", "ward": "/wards/"}},
    }


def _page(m: folium.Map, view: WorkspaceView, title: str, options: MapOptions,
          panel: str | None = None) -> folium.Map:
    """The map page around ``m``: title, header with the h1, the map's place, ``panel``."""
    root = m.get_root()
    header = _header(view, title, options)
    root.header.add_child(_Raw(f"<title>{escape(title)} · safetygap</title>"),
                          name="sg_title")
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


CITY_TITLE = "Where services fall short"


def build_gap_map(
    view: WorkspaceView,
    *,
    family: str = "response",
    level: str = "neighborhood",
    year: int | None = None,
    options: MapOptions | None = None,
) -> folium.Map:
    """The city's gap map: ``family``, ``level`` and ``year`` are what shows first (the
    page's address can ask for another view, see the script)."""
    options = options or MapOptions()
    m = _base_map(view, options, bounds=view.bounds("neighborhood"))
    _Wiring(config=_config(view, options, family=family, level=level, ward=None, year=year,
                           level_toggle=True, title=CITY_TITLE)).add_to(m)
    title = CITY_TITLE + (f" — {year}" if year else "")
    return _page(m, view, title, options)


def build_ward_map(
    view: WorkspaceView,
    ward: str,
    *,
    family: str = "response",
    year: int | None = None,
    options: MapOptions | None = None,
) -> folium.Map:
    """A council member's view of one ward: its neighborhoods shaded by gap, its
    providers, and a side panel with the ward's headline and figures against the city."""
    options = options or MapOptions()
    m = _base_map(view, options, bounds=view.bounds("ward", ward))
    name = view.area_name("ward", ward)
    _Wiring(config=_config(view, options, family=family, level="neighborhood", ward=ward,
                           year=year, level_toggle=False, title=name,
                           options_open=False)).add_to(m)
    from safetygap.maps.pages import ward_panel

    title = name + (f" — {year}" if year else "")
    return _page(m, view, title, options, ward_panel(view, ward))
