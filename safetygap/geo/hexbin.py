"""Hexagonal binning of points, for map layers that aggregate calls.

Pointy-top hexagons of circumradius ``size_m`` (metres, in the projected
analysis CRS) on an axial grid whose hexagon (0, 0) is centred on the
origin ``(x0, y0)``. A point belongs to the hexagon whose centre is nearest
(cube-coordinate rounding; points exactly on an edge go to one of the two
neighbours deterministically).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

SQRT3 = float(np.sqrt(3.0))


def hex_axial(
    x: np.ndarray, y: np.ndarray, *, size_m: float, origin: tuple[float, float] = (0.0, 0.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Axial coordinates (q, r) of the hexagon holding each point (x, y in metres)."""
    if not size_m > 0:
        raise ValueError(f"size_m must be positive, got {size_m!r}")
    px = (np.asarray(x, dtype=float) - origin[0]) / size_m
    py = (np.asarray(y, dtype=float) - origin[1]) / size_m
    qf = SQRT3 / 3.0 * px - py / 3.0
    rf = 2.0 / 3.0 * py
    sf = -qf - rf
    q = np.rint(qf)
    r = np.rint(rf)
    s = np.rint(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)


def hex_centres(
    q: np.ndarray, r: np.ndarray, *, size_m: float, origin: tuple[float, float] = (0.0, 0.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Centres (x, y in metres) of the hexagons with axial coordinates (q, r)."""
    q = np.asarray(q, dtype=float)
    r = np.asarray(r, dtype=float)
    return origin[0] + size_m * SQRT3 * (q + r / 2.0), origin[1] + size_m * 1.5 * r


def hex_polygons(
    q: np.ndarray, r: np.ndarray, *, size_m: float, origin: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Shapely hexagons (pointy-top, circumradius ``size_m``) for axial (q, r)."""
    cx, cy = hex_centres(q, r, size_m=size_m, origin=origin)
    angles = np.deg2rad(np.array([30.0, 90.0, 150.0, 210.0, 270.0, 330.0, 30.0]))
    xs = cx[:, None] + size_m * np.cos(angles)[None, :]
    ys = cy[:, None] + size_m * np.sin(angles)[None, :]
    coords = np.stack([xs, ys], axis=2)
    return shapely.polygons(coords)


def hexbin_counts(
    x: np.ndarray,
    y: np.ndarray,
    *,
    size_m: float,
    origin: tuple[float, float] = (0.0, 0.0),
) -> pd.DataFrame:
    """Count finite points per hexagon: columns ``q, r, count`` (non-empty hexagons only),
    sorted by (q, r)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return pd.DataFrame({"q": np.array([], np.int64), "r": np.array([], np.int64),
                             "count": np.array([], np.int64)})
    q, r = hex_axial(x[ok], y[ok], size_m=size_m, origin=origin)
    keys, counts = np.unique(np.stack([q, r], axis=1), axis=0, return_counts=True)
    return pd.DataFrame({"q": keys[:, 0], "r": keys[:, 1], "count": counts.astype(np.int64)})
