"""JavaScript and CSS the map pages load, served by the app itself (never a CDN).

Leaflet, Leaflet.markercluster and Font Awesome come from the XStatic
packages the project installs (``xstatic-leaflet``,
``xstatic-leaflet-markercluster``, ``xstatic-font-awesome``); the map code
and styles of safetygap from ``safetygap/maps/static``. :func:`asset_dirs`
says which directory each URL prefix serves; :func:`js_links` and
:func:`css_links` are what a Folium map's ``default_js`` / ``default_css``
are set to, so a page references no host but the app (and the tile URL).
"""

from __future__ import annotations

from pathlib import Path

STATIC_PREFIX = "/static"

_JS = (
    ("leaflet", "leaflet/leaflet.js"),
    ("markercluster", "markercluster/leaflet.markercluster.js"),
    ("safetygap", "safetygap/safetygap-map.js"),
)
_CSS = (
    ("leaflet_css", "leaflet/leaflet.css"),
    ("markercluster_css", "markercluster/MarkerCluster.css"),
    ("markercluster_default_css", "markercluster/MarkerCluster.Default.css"),
    ("font_awesome_css", "font-awesome/css/all.min.css"),
    ("safetygap_css", "safetygap/safetygap.css"),
)


def asset_dirs() -> dict[str, Path]:
    """URL prefix (under :data:`STATIC_PREFIX`) -> directory of files it serves."""
    import xstatic.pkg.font_awesome as font_awesome
    import xstatic.pkg.leaflet as leaflet
    import xstatic.pkg.leaflet_markercluster as markercluster

    return {
        "leaflet": Path(leaflet.BASE_DIR),
        "markercluster": Path(markercluster.BASE_DIR),
        "font-awesome": Path(font_awesome.BASE_DIR),
        "safetygap": Path(__file__).parent / "static",
    }


def js_links(prefix: str = STATIC_PREFIX) -> list[tuple[str, str]]:
    """(name, URL) of every script a map page loads, in load order."""
    return [(name, f"{prefix}/{path}") for name, path in _JS]


def css_links(prefix: str = STATIC_PREFIX) -> list[tuple[str, str]]:
    """(name, URL) of every stylesheet a map page loads."""
    return [(name, f"{prefix}/{path}") for name, path in _CSS]


def asset_files(prefix: str = STATIC_PREFIX) -> dict[str, Path]:
    """URL -> file of every script and stylesheet (to check that each exists)."""
    dirs = asset_dirs()
    out = {}
    for _, rel in (*_JS, *_CSS):
        head, tail = rel.split("/", 1)
        out[f"{prefix}/{rel}"] = dirs[head] / tail
    return out
