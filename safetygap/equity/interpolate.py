"""Moving counts and their margins of error from source polygons (census tracts) to
target areas (neighborhoods, wards).

Weights ``w[s, t]`` say which share of source ``s``'s count lies in target ``t``:

- area-weighted: ``w = area(s ∩ t) / area(s)`` (residents spread evenly over the source);
- dasymetric, with a finer population layer (blocks as polygons, or address points with a
  head count): ``w = P(s ∩ t) / P(s)``, where ``P(region)`` is the finer layer's population
  in the region (a polygon's population spread evenly over its own area, a point's counted
  where it lies). A source with no finer population falls back to area weights (listed).

Counts move as ``c_t = sum_s w[s, t] c_s`` and their 90% margins of error as
``MOE_t = sqrt(sum_s (w[s, t] MOE_s)^2)`` (:func:`safetygap.equity.moe.moe_weighted_sum`:
a constant times an estimate has MOE ``|w| MOE``, and the sum formula). The weights of a
source sum to the share of it inside the targets, so totals are conserved wherever the
targets cover the sources (a tract reaching outside the city keeps its outside share out).

Both layers in the same projected CRS (metres).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safetygap.geo.crs import require_projected, require_same_crs

__all__ = ["Weights", "apportion_with_moe", "area_weights", "dasymetric_weights"]


@dataclass(frozen=True)
class Weights:
    """Sparse interpolation weights: ``source``, ``target`` positions and ``weight``;
    ``inside`` per source is the share of it the targets hold (1 = fully covered);
    ``fallback`` lists sources that fell back to area weights (no finer population)."""

    frame: pd.DataFrame
    n_source: int
    n_target: int
    method: str
    fallback: tuple[int, ...] = ()

    @property
    def inside(self) -> np.ndarray:
        return np.bincount(self.frame["source"].to_numpy(),
                           weights=self.frame["weight"].to_numpy(), minlength=self.n_source)


def _overlaps(sg: np.ndarray, tg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (source, target) whose intersection has an area, and the intersections."""
    tree = shapely.STRtree(tg)
    s_idx, t_idx = tree.query(sg, predicate="intersects")
    inter = shapely.intersection(sg[s_idx], tg[t_idx])
    keep = shapely.area(inter) > 0
    return s_idx[keep], t_idx[keep], inter[keep]


def area_weights(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame) -> Weights:
    """Area-weighted interpolation weights ``area(s ∩ t) / area(s)`` (not renormalised:
    a source's share outside every target stays out)."""
    require_same_crs(source, target, "source", "target")
    require_projected(source, "source")
    sg, tg = source.geometry.values._data, target.geometry.values._data
    s, t, inter = _overlaps(sg, tg)
    s_area = shapely.area(sg)
    w = np.divide(shapely.area(inter), s_area[s], out=np.zeros(len(s)), where=s_area[s] > 0)
    frame = pd.DataFrame({"source": s, "target": t, "weight": w})
    return Weights(frame, len(source), len(target), "area")


def _population_in(pieces: np.ndarray, fine: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """Population of the finer layer inside each of ``pieces`` (polygons)."""
    pop = pd.to_numeric(fine[column], errors="coerce").fillna(0.0).to_numpy(float)
    fg = fine.geometry.values._data
    out = np.zeros(len(pieces))
    if not len(pieces) or not len(fg):
        return out
    tree = shapely.STRtree(fg)
    p_idx, f_idx = tree.query(pieces, predicate="intersects")
    points = shapely.get_type_id(fg[f_idx]) == 0
    share = np.ones(len(p_idx))
    poly = ~points
    if poly.any():
        f_area = shapely.area(fg[f_idx[poly]])
        inter = shapely.area(shapely.intersection(pieces[p_idx[poly]], fg[f_idx[poly]]))
        share[poly] = np.divide(inter, f_area, out=np.zeros(len(inter)), where=f_area > 0)
    if points.any():  # a point on a shared edge counts once: in the first piece holding it
        pt_rows = np.flatnonzero(points)
        inside = shapely.covers(pieces[p_idx[pt_rows]], fg[f_idx[pt_rows]])
        share[pt_rows] = inside.astype(float)
        first = pd.Series(inside).groupby(f_idx[pt_rows]).cumsum().to_numpy() > 1
        share[pt_rows[first]] = 0.0
    np.add.at(out, p_idx, pop[f_idx] * share)
    return out


def dasymetric_weights(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame,
                       fine: gpd.GeoDataFrame, *, population_column: str) -> Weights:
    """Dasymetric weights ``P(s ∩ t) / P(s)`` from a finer population layer ``fine``
    (polygons or points with ``population_column``); sources without finer population
    fall back to :func:`area_weights` (their positions in ``Weights.fallback``)."""
    require_same_crs(source, fine, "source", "finer population")
    area = area_weights(source, target)
    sg, tg = source.geometry.values._data, target.geometry.values._data
    s, t, inter = _overlaps(sg, tg)
    p_piece = _population_in(inter, fine, population_column)
    p_source = _population_in(sg, fine, population_column)
    ok = p_source[s] > 0
    w = np.divide(p_piece, p_source[s], out=np.zeros(len(s)), where=ok)
    frame = pd.DataFrame({"source": s, "target": t, "weight": w})
    no_pop = np.flatnonzero(p_source <= 0)
    if len(no_pop):
        frame = pd.concat([frame[~np.isin(s, no_pop)],
                           area.frame[np.isin(area.frame["source"], no_pop)]],
                          ignore_index=True)
    return Weights(frame, len(source), len(target), "dasymetric",
                   tuple(int(i) for i in no_pop))


def apportion_with_moe(estimate: np.ndarray, moe: np.ndarray | None, weights: Weights
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Counts per target ``sum_s w c_s`` and MOEs ``sqrt(sum_s (w MOE_s)^2)``.

    A source with a NaN count contributes nothing and its targets' MOEs are NaN only when
    every contributing source lacks a MOE; ``moe`` None gives NaN MOEs. A target no source
    reaches gets NaN (no data), not 0.
    """
    src = weights.frame["source"].to_numpy()
    tgt = weights.frame["target"].to_numpy()
    w = weights.frame["weight"].to_numpy()
    est = np.asarray(estimate, dtype=float)[src]
    have = np.isfinite(est)
    n = weights.n_target
    total = np.bincount(tgt, weights=np.where(have, w * est, 0.0), minlength=n)
    reached = np.bincount(tgt, weights=have.astype(float), minlength=n) > 0
    total = np.where(reached, total, np.nan)
    if moe is None:
        return total, np.full(n, np.nan)
    m = np.asarray(moe, dtype=float)[src]
    m_ok = have & np.isfinite(m)
    sq = np.bincount(tgt, weights=np.where(m_ok, (w * m) ** 2, 0.0), minlength=n)
    with_moe = np.bincount(tgt, weights=m_ok.astype(float), minlength=n) > 0
    return total, np.where(reached & with_moe, np.sqrt(sq), np.nan)
