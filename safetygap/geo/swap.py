"""Points whose two coordinates were exchanged (latitude in the longitude column).

:func:`swapped_placement` places every point as if its source x and y were
swapped; the pipeline compares that with the true placement to tell a calls
file whose columns are mapped the wrong way round (most points outside the
city, inside it once swapped) from a few rows typed the wrong way round.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from safetygap.geo.join import assign_areas


def swapped_placement(
    x: np.ndarray,
    y: np.ndarray,
    areas: gpd.GeoDataFrame,
    *,
    src_crs: object,
) -> np.ndarray:
    """Positional index of the area of ``areas`` containing each point ``(y, x)`` (-1: none).

    ``x``, ``y`` are the coordinates as read, in ``src_crs`` (for a geographic
    CRS: longitude, latitude in degrees); the swapped pair is projected to the
    CRS of ``areas``. A swapped geographic pair out of range (|latitude| > 90)
    and NaN coordinates give -1.
    """
    sx = np.asarray(y, dtype=float).copy()
    sy = np.asarray(x, dtype=float).copy()
    src = CRS.from_user_input(src_crs)
    if src.is_geographic:
        bad = ~((np.abs(sy) <= 90) & (np.abs(sx) <= 180))
        sx[bad] = np.nan
        sy[bad] = np.nan
    dst = CRS.from_user_input(areas.crs)
    ok = np.isfinite(sx) & np.isfinite(sy)
    tx = np.full(len(sx), np.nan)
    ty = np.full(len(sy), np.nan)
    if ok.any():
        tr = Transformer.from_crs(src, dst, always_xy=True)
        tx[ok], ty[ok] = tr.transform(sx[ok], sy[ok])
    return assign_areas((tx, ty), areas, crs=areas.crs)
