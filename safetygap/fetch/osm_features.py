"""Downloading OpenStreetMap features inside a study area (``safetygap providers osm``).

The only function here that needs the internet: OSMnx's ``features_from_polygon`` asks the
Overpass API (OSMnx's public server unless ``overpass_url`` names another, e.g. a city's
own mirror) for the features carrying the mapping's tags
(:func:`safetygap.inventory.osm.overpass_tags`) inside the boundary. OSMnx's settings are
changed only while it runs, and it writes no cache files.
"""

from __future__ import annotations

import geopandas as gpd
import shapely

from safetygap.fetch._osmnx import osmnx_settings


def features_in_boundary(
    boundary: gpd.GeoDataFrame,
    tags: dict[str, bool | list[str]],
    *,
    overpass_url: str | None = None,
    timeout_s: float = 180.0,
) -> gpd.GeoDataFrame:
    """The OSM features with any of ``tags`` inside ``boundary`` (its polygons united), in
    EPSG:4326, indexed by (element type, OSM id); an empty frame when there are none."""
    import osmnx as ox

    polygon = shapely.union_all(boundary.to_crs("EPSG:4326").geometry.to_numpy())
    with osmnx_settings(ox, overpass_url=overpass_url, requests_timeout=timeout_s,
                        use_cache=False):
        try:
            return ox.features_from_polygon(polygon, tags=tags)
        except ox._errors.InsufficientResponseError:
            return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
