"""Point-in-polygon join: safetygap's assign_areas against geopandas.sjoin, same run.

Draws N random points (default 3,000,000, seeded) over the bounding box of the
87 real Minneapolis neighborhoods (projected to EPSG:26915) and times

* the one-time index build of the layer (cached per layer afterwards),
* ``assign_areas`` on the points (index cached),
* the baseline ``geopandas.points_from_xy`` + ``geopandas.sjoin(predicate="within")``,

then prints the ratio and the number of points whose answers differ (sjoin's
lowest matching index per point; a point on a boundary, which sjoin's
"within" leaves unmatched, is checked against the documented boundary rule).

    python bench/join.py [--points N] [--seed S] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from safetygap.geo.join import area_index, assign_areas, clear_index_cache

LAYER = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "minneapolis"
         / "boundaries" / "Minneapolis_Neighborhoods.geojson")
CRS = "EPSG:26915"


def sjoin_baseline(x: np.ndarray, y: np.ndarray, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Lowest index of an area whose interior holds each point, -1 for none (by sjoin)."""
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=areas.crs)
    joined = gpd.sjoin(pts, areas[["geometry"]].reset_index(drop=True), predicate="within",
                       how="inner")
    out = np.full(len(x), -1, dtype=np.int64)
    left = joined.index.to_numpy()
    right = joined["index_right"].to_numpy()
    order = np.lexsort((right, left))[::-1]  # lowest right index written last
    out[left[order]] = right[order]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=3_000_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--repeat", type=int, default=3, help="best of R timings of each method")
    args = ap.parse_args(argv)
    if not LAYER.is_file():
        print(f"real Minneapolis neighborhoods not found at {LAYER}", file=sys.stderr)
        return 1
    areas = gpd.read_file(LAYER).to_crs(CRS)
    rng = np.random.default_rng(args.seed)
    xmin, ymin, xmax, ymax = areas.total_bounds
    x = rng.uniform(xmin, xmax, args.points)
    y = rng.uniform(ymin, ymax, args.points)
    print(f"{args.points:,} random points over {len(areas)} Minneapolis neighborhoods "
          f"({shapely.get_num_coordinates(areas.geometry.values).sum():,} vertices), {CRS}")

    clear_index_cache()
    t0 = time.perf_counter()
    index = area_index(areas)
    build = time.perf_counter() - t0
    ny, nx = index.labels.shape
    print(f"index build (once per layer, cached): {build:8.3f} s   "
          f"grid {nx} x {ny} cells of {index.cell:.2f} m, {index.mixed_share:.2%} mixed")

    fast_times, slow_times = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        got = assign_areas((x, y), areas, crs=CRS)
        fast_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref = sjoin_baseline(x, y, areas)
        slow_times.append(time.perf_counter() - t0)
    fast, slow = min(fast_times), min(slow_times)
    print(f"assign_areas:                         {fast:8.3f} s   (best of {args.repeat})")
    print(f"points_from_xy + sjoin (baseline):    {slow:8.3f} s   (best of {args.repeat})")
    print(f"speed-up:                             {slow / fast:8.1f} x")
    print(f"speed-up including the index build:   {slow / (fast + build):8.1f} x")

    differ = np.flatnonzero(got != ref)
    # sjoin "within" leaves a point on a boundary unmatched; the rule gives it the
    # lowest-index area whose closure covers it: count only genuine disagreements
    mismatches = 0
    for i in differ:
        p = shapely.Point(x[i], y[i])
        covering = [k for k, g in enumerate(areas.geometry) if g.covers(p)]
        on_boundary_only = ref[i] == -1 and covering and got[i] == min(covering)
        mismatches += not on_boundary_only
    print(f"mismatches: {mismatches}   (points on a boundary, assigned by the rule: "
          f"{len(differ) - mismatches})")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
