"""JavaScript and CSS the map pages load, served by the app itself (never a CDN).

Leaflet, Leaflet.markercluster and Font Awesome come from the XStatic
packages the project installs (``xstatic-leaflet``,
``xstatic-leaflet-markercluster``, ``xstatic-font-awesome``); the map code
and styles of safetygap from ``safetygap/maps/static``; Swagger UI (5.x, which
reads the OpenAPI 3.1 schema FastAPI writes) for the API page ``/docs`` from
the static files of the ``fastapi-offline`` package (only its files are used,
not its app factory). :func:`asset_dirs`
says which directory each URL prefix serves; :func:`js_links` and
:func:`css_links` are what a Folium map's ``default_js`` / ``default_css``
are set to, so a page references no host but the app (and the tile URL);
:data:`DOCS_FILES` are the API page's files under :data:`DOCS_PREFIX`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

STATIC_PREFIX = "/static"
DOCS_PREFIX = f"{STATIC_PREFIX}/docs"
"""Where the Swagger UI files are served."""
DOCS_FILES = {
    "swagger_js": "swagger-ui-bundle.js",
    "swagger_css": "swagger-ui.css",
    "favicon": "favicon.png",
}
"""The API page's files (in :func:`docs_dir`) by role."""

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
        "docs": docs_dir(),
    }


def docs_dir() -> Path:
    """The directory of the Swagger UI files installed by ``fastapi-offline``
    (located without importing the package)."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("fastapi-offline is not installed (a dependency of "
                                  "safetygap: pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def docs_url(role: str, prefix: str = DOCS_PREFIX) -> str:
    """URL of one of the API page's files (``swagger_js``, ``swagger_css``, ``favicon``)."""
    return f"{prefix}/{DOCS_FILES[role]}"


def js_links(prefix: str = STATIC_PREFIX) -> list[tuple[str, str]]:
    """(name, URL) of every script a map page loads, in load order."""
    return [(name, f"{prefix}/{path}") for name, path in _JS]


def css_links(prefix: str = STATIC_PREFIX) -> list[tuple[str, str]]:
    """(name, URL) of every stylesheet a map page loads."""
    return [(name, f"{prefix}/{path}") for name, path in _CSS]


def asset_files(prefix: str = STATIC_PREFIX) -> dict[str, Path]:
    """URL -> file of every script and stylesheet of the maps and the API pages (to
    check that each exists)."""
    dirs = asset_dirs()
    out = {}
    for _, rel in (*_JS, *_CSS, *(("", f"docs/{f}") for f in DOCS_FILES.values())):
        head, tail = rel.split("/", 1)
        out[f"{prefix}/{rel}"] = dirs[head] / tail
    return out
