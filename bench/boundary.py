"""Cost of the boundary step (calls near area lines + split allocation) per run.

Baseline, measured in the same run on the same points: the point-in-polygon join
(``assign_areas``) that every analysis already does. Points: the real 2021
incidents when ../shared/data/minneapolis is there (repeated to N points with
metre-scale jitter, so they stay on the street centrelines), else uniform
random points over the neighborhoods' bounding box.

    python bench/boundary.py [N]          # default N = 650,000 (the demo city's calls)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from safetygap.geo.boundary import allocate, near_boundaries
from safetygap.geo.join import assign_areas

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "minneapolis"


def points(nbhd: gpd.GeoDataFrame, n: int, rng: np.random.Generator) -> tuple:
    inc = SHARED / "incidents" / "Police_Incidents_2021_Jan-May.csv"
    if inc.is_file():
        raw = pd.read_csv(inc, encoding="utf-8-sig")
        raw = raw[(raw["centerLong"] != 0) & (raw["centerLat"] != 0)]
        pts = gpd.GeoSeries(gpd.points_from_xy(raw["centerLong"], raw["centerLat"]),
                            crs="EPSG:4326").to_crs(nbhd.crs)
        pick = rng.integers(0, len(pts), n)
        jitter = rng.normal(0.0, 2.0, (2, n))  # metres
        return (pts.x.to_numpy()[pick] + jitter[0], pts.y.to_numpy()[pick] + jitter[1]), \
            "2021 incidents, resampled with 2 m jitter"
    minx, miny, maxx, maxy = nbhd.total_bounds
    return (rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)), "uniform random"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 650_000
    src = SHARED / "boundaries" / "Minneapolis_Neighborhoods.geojson"
    if not src.is_file():
        sys.exit(f"needs {src}")
    nbhd = gpd.read_file(src)
    nbhd = nbhd.to_crs(nbhd.estimate_utm_crs())
    (x, y), kind = points(nbhd, n, np.random.default_rng(7))
    t0 = time.perf_counter()
    assigned = assign_areas((x, y), nbhd, crs=nbhd.crs)
    t_join = time.perf_counter() - t0
    for tol in (1.0, 5.0):
        t0 = time.perf_counter()
        near = near_boundaries(x, y, nbhd, tolerance_m=tol, crs=nbhd.crs)
        split = allocate(assigned, near, policy="split")
        t_b = time.perf_counter() - t0
        shared = int((split.k >= 2).sum())
        print(f"{n:,} points ({kind}), tolerance {tol:g} m: boundary step {t_b:.2f} s, "
              f"join baseline {t_join:.2f} s, ratio {t_b / t_join:.2f}; "
              f"{shared:,} calls shared ({shared / n:.1%})")


if __name__ == "__main__":
    main()
