"""Point-in-polygon assignment of points to areas.

:func:`assign_areas` gives, for each point, the positional index of the area
containing it, or -1 when none does.

Boundary rule (deterministic): a point strictly inside one area gets that
area. A point inside no area's interior but on the boundary of one or more
areas (for example on a street-centreline boundary shared by two
neighborhoods, or on a vertex) gets the *lowest positional index* among the
areas whose closure covers it. Where areas overlap, a point in several
interiors also gets the lowest index.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from safetygap.geo._crs import require_same_crs


def assign_areas(
    points: gpd.GeoSeries | tuple[np.ndarray, np.ndarray],
    areas: gpd.GeoDataFrame,
    *,
    crs: object = None,
) -> np.ndarray:
    """Positional index (int64) of the area containing each point, -1 for none.

    ``points`` is a GeoSeries of points, or an ``(x, y)`` pair of arrays whose
    CRS is given with ``crs``; ``areas`` holds Polygon/MultiPolygon geometries
    in the same CRS (a mismatch raises :class:`~safetygap.errors.CRSMismatchError`).
    NaN coordinates and empty points give -1.
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
    return _assign_xy(x, y, areas.geometry.values._data)


def _assign_xy(x: np.ndarray, y: np.ndarray, polys: np.ndarray) -> np.ndarray:
    n = len(x)
    out = np.full(n, -1, dtype=np.int64)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if len(ok) == 0 or len(polys) == 0:
        return out
    pts = shapely.points(x[ok], y[ok])
    tree = shapely.STRtree(polys)
    # covers = interior or boundary; resolve to the lowest area index per point,
    # preferring areas whose interior contains the point.
    p_idx, a_idx = tree.query(pts, predicate="intersects")
    if len(p_idx) == 0:
        return out
    inside = shapely.contains_properly(polys[a_idx], pts[p_idx])
    # sort key: point, then interior hits before boundary hits, then area index
    order = np.lexsort((a_idx, ~inside, p_idx))
    p_sorted = p_idx[order]
    first = np.ones(len(p_sorted), dtype=bool)
    first[1:] = p_sorted[1:] != p_sorted[:-1]
    chosen_p = p_sorted[first]
    chosen_a = a_idx[order][first]
    # a point on a boundary of one area that lies in another's interior is
    # that other area's; a point only on boundaries goes to the lowest index.
    out[ok[chosen_p]] = chosen_a
    return out
