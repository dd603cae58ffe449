"""Point-in-polygon assignment of points to areas.

:func:`assign_areas` gives, for each point, the positional index of the area
containing it, or -1 when none does.

Boundary rule (deterministic): a point strictly inside one area gets that
area. A point inside no area's interior but on the boundary of one or more
areas (for example on a street-centreline boundary shared by two
neighborhoods, or on a vertex) gets the *lowest positional index* among the
areas whose closure covers it. Where areas overlap, a point in several
interiors also gets the lowest index.

Speed: each boundary layer is indexed once by a raster of pure and mixed
cells (:mod:`safetygap.geo._grid_index`); points in pure cells are assigned by
an array lookup, the others by exact GEOS predicates, so the answers equal the
exact method's. Indexes are cached in memory per layer, keyed by a SHA-256 of
the geometries' WKB (and the resolution), so joining calls and providers to
the same layer builds the index once per process.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import geopandas as gpd
import numpy as np
import shapely

from safetygap.geo._grid_index import GridIndex
from safetygap.geo.crs import require_same_crs

CACHE_SIZE = 8
_cache: OrderedDict[tuple[str, int | None], GridIndex] = OrderedDict()
_cache_lock = threading.Lock()


def assign_areas(
    points: gpd.GeoSeries | tuple[np.ndarray, np.ndarray],
    areas: gpd.GeoDataFrame,
    *,
    crs: object = None,
    resolution: int | None = None,
) -> np.ndarray:
    """Positional index (int64) of the area containing each point, -1 for none.

    ``points`` is a GeoSeries of points, or an ``(x, y)`` pair of arrays whose
    CRS is given with ``crs``; ``areas`` holds Polygon/MultiPolygon geometries
    in the same CRS (a mismatch raises :class:`~safetygap.errors.CRSMismatchError`).
    NaN coordinates and empty points give -1. ``resolution`` (cells along the
    longer side of the layer's bounding box) tunes the index only, never the
    answers; by default it is chosen from the layer's boundary length.
    """
    if isinstance(points, gpd.GeoSeries):
        require_same_crs(points, areas, "points", "areas")
        geoms = points.values._data
        x = shapely.get_x(geoms)
        y = shapely.get_y(geoms)
        x = np.where(shapely.is_empty(geoms) | shapely.is_missing(geoms), np.nan, x)
        y = np.where(shapely.is_empty(geoms) | shapely.is_missing(geoms), np.nan, y)
    else:
        x, y = (np.asarray(a, dtype=float) for a in points)
        require_same_crs(crs, areas, "points", "areas")
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    return area_index(areas, resolution=resolution).assign(x, y)


def area_index(areas: gpd.GeoDataFrame, *, resolution: int | None = None) -> GridIndex:
    """The (cached) grid index of a boundary layer; built on first use.

    The cache holds the last :data:`CACHE_SIZE` layers, keyed by a SHA-256 of
    the geometries' WKB and ``resolution``; the index owns its own copy of
    the geometries, so later changes to ``areas`` never reach it.
    """
    wkb = shapely.to_wkb(areas.geometry.values._data)
    h = hashlib.sha256()
    for blob in wkb:
        h.update(b"\x00" if blob is None else len(blob).to_bytes(8, "little") + blob)
    key = (h.hexdigest(), resolution)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    polys = shapely.from_wkb(wkb)  # own copy: preparing never touches the caller's objects
    shapely.prepare(polys)
    index = GridIndex.build(polys, resolution=resolution)
    with _cache_lock:
        _cache[key] = index
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return index


def clear_index_cache() -> None:
    """Forget every cached layer index (benchmarks use it to time a cold build)."""
    with _cache_lock:
        _cache.clear()
