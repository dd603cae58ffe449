"""Crosswalks between two boundary layers by shared area.

``crosswalk(source, target)`` gives, for every (source area, target area)
pair that overlaps, the share of the source area's area lying in the target
area. Shares of a source area sum to 1 over the targets it touches
(renormalised, so a sliver of a source area outside every target does not
lose its population). Areas must be in the same projected CRS.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safetygap.geo.crs import require_projected, require_same_crs


def crosswalk(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame) -> pd.DataFrame:
    """Area-weighted crosswalk: columns ``source`` and ``target`` (positional
    indices), ``area_m2`` of the overlap and ``weight`` (share of the source
    area, renormalised to sum to 1 per source area that touches any target).
    """
    require_same_crs(source, target, "source", "target")
    require_projected(source, "source")
    sg = source.geometry.values._data
    tg = target.geometry.values._data
    tree = shapely.STRtree(tg)
    s_idx, t_idx = tree.query(sg, predicate="intersects")
    inter = shapely.area(shapely.intersection(sg[s_idx], tg[t_idx]))
    cw = pd.DataFrame({"source": s_idx, "target": t_idx, "area_m2": inter})
    cw = cw[cw["area_m2"] > 0].reset_index(drop=True)
    totals = cw.groupby("source")["area_m2"].transform("sum")
    cw["weight"] = cw["area_m2"] / totals
    return cw


def apportion(
    values: np.ndarray, cw: pd.DataFrame, n_target: int
) -> np.ndarray:
    """Move per-source ``values`` to targets by crosswalk weight.

    NaN values contribute nothing. The sum over targets equals the sum of the
    non-NaN source values that touch any target (conservation).
    """
    vals = np.nan_to_num(np.asarray(values, dtype=float)[cw["source"].to_numpy()])
    return np.bincount(cw["target"].to_numpy(), weights=vals * cw["weight"].to_numpy(),
                       minlength=n_target)
