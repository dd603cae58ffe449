"""Coverage: is a point within the catchment of at least one provider?"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def within_catchment(
    x: np.ndarray,
    y: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    catchment: np.ndarray,
) -> np.ndarray:
    """Boolean per point: straight-line distance to some provider <= its catchment.

    Coordinates in one projected CRS (metres); ``catchment`` is per provider.
    Points with NaN coordinates are not covered. Providers are grouped by
    catchment so each group is one KD-tree nearest-neighbour query.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    covered = np.zeros(len(x), dtype=bool)
    ok = np.isfinite(x) & np.isfinite(y)
    if len(px) == 0 or not ok.any():
        return covered
    pts = np.column_stack([x[ok], y[ok]])
    hit = np.zeros(len(pts), dtype=bool)
    catchment = np.asarray(catchment, dtype=float)
    for radius in np.unique(catchment):
        sel = catchment == radius
        tree = cKDTree(np.column_stack([np.asarray(px)[sel], np.asarray(py)[sel]]))
        todo = ~hit
        dist, _ = tree.query(pts[todo], k=1, distance_upper_bound=radius * (1 + 1e-12))
        hit[np.flatnonzero(todo)[dist <= radius]] = True
    covered[ok] = hit
    return covered
