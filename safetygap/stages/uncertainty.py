"""How sure the classes are, and where the clusters are: the bootstrap of the ranks and the
Gi* hot spots, added to the area layers after the indices.

A stage of :func:`safetygap.pipeline.analyze` (never of the what-if or siting jobs:
they recompute the indices only). Adds, per family, for period ``all``:

``rank_low``, ``rank_high``   90% bootstrap interval of the underserved rank
``p_top10``                  probability of being among the 10 most underserved
                              (``p_top<N>`` with another ``top``)
``class_agreement``          share of replicates giving the area its class
``p_underserved``            share of replicates in which it is high need, low access
``class_uncertain``          1 when class_agreement < ``uncertain_below``
``hotspot_need``             +1 hot spot, -1 cold spot, 0 neither (Gi* on need)
``gi_z_need``, ``gi_p_need``  its z-score and FDR-adjusted p-value
``hotspot_score``, ``gi_z_score``, ``gi_p_score``  the same on the underserved score
                              (need tercile - access tercile)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from safetygap import FAMILIES
from safetygap.geo.bivariate import UNDERSERVED_CLASS
from safetygap.geo.bootstrap import (
    INTERVAL,
    ClusterCounts,
    RankUncertainty,
    cluster_ids,
    cluster_matrix,
    rank_uncertainty,
    resample,
)
from safetygap.geo.hotspots import getis_ord_star, queen_neighbours
from safetygap.methods import Methods
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.vocab import LEVELS


@dataclass
class Uncertainty:
    """The layers with the new columns, their long-form rows, every replicate's class,
    and the summary record."""

    neighborhoods: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    tidy: pd.DataFrame
    replicates: pd.DataFrame | None
    """None without a bootstrap."""
    summary: dict[str, Any]


def top_measure(methods: Methods) -> str:
    """``p_top10`` (or ``p_top<N>`` for another ``top`` setting)."""
    return M.top_measure(methods.top)


def add_uncertainty(
    calls: pd.DataFrame,
    allocations: dict[str, Any],
    layers: dict[str, gpd.GeoDataFrame],
    *,
    methods: Methods,
    clusters: list[sparse.csr_matrix] | None = None,
) -> Uncertainty:
    """Bootstrap and hot spots of both levels.

    ``calls`` need ``x``, ``y``, ``day`` (:func:`safetygap.geo.timespan.day_numbers`) and
    ``family_code``; ``allocations`` the run's policy's :class:`Allocation` per level;
    ``clusters`` the bootstrap's cluster matrices of both levels when made already
    (:func:`cluster_counts` batch by batch: ``calls`` and ``allocations`` are then not
    read);
    ``layers`` the neighborhood and ward layers of :func:`level_indices` (with
    ``resident_years``, ``class``, ``access_tercile`` columns per family).
    """
    out = {level: layers[level].copy() for level in LEVELS}
    rows: list[pd.DataFrame] = []
    reps: list[pd.DataFrame] = []
    summary: dict[str, Any] = {
        "replicates": methods.bootstrap, "seed": methods.bootstrap_seed,
        "cluster": f"{methods.bootstrap_cell_m:g} m grid cell x calendar day",
        "interval": INTERVAL, "top": methods.top,
        "uncertain_below": methods.uncertain_below,
        "hotspots": {"permutations": methods.hotspot_permutations,
                     "fdr_alpha": methods.fdr_alpha, "seed": methods.hotspot_seed},
        "uncertain_classes": {}, "hotspot_areas": {},
    }
    if methods.bootstrap > 0:
        boot = _bootstrap(calls, allocations, layers, methods, clusters)
        for level in LEVELS:
            ids = out[level][M.AREA_ID].astype(str).to_numpy()
            summary["uncertain_classes"][level] = {}
            for family in FAMILIES:
                res = boot[level][family]
                uncertain = (res.class_agreement < methods.uncertain_below).astype(float)
                uncertain[~np.isfinite(res.class_agreement)] = np.nan
                cols = {M.RANK_LOW: res.rank_low, M.RANK_HIGH: res.rank_high,
                        top_measure(methods): res.p_top,
                        M.CLASS_AGREEMENT: res.class_agreement,
                        M.P_UNDERSERVED: res.p_underserved, M.CLASS_UNCERTAIN: uncertain}
                _put(out[level], rows, level, family, cols)
                summary["uncertain_classes"][level][family] = int(np.nansum(uncertain))
                reps.append(_replicate_frame(res, level, family, ids))
    if methods.hotspot_permutations > 0:
        for level in LEVELS:
            nb = queen_neighbours(out[level])
            summary["hotspot_areas"][level] = {}
            for family in FAMILIES:
                lay = out[level]
                ranked = lay[M.column(M.CLASS, family)].to_numpy(float) > 0
                need = np.where(ranked, lay[M.column(M.RATE_EB, family)], np.nan)
                score = np.where(ranked, lay[M.column(M.NEED_TERCILE, family)]
                                 - lay[M.column(M.ACCESS_TERCILE, family)], np.nan)
                cols: dict[str, np.ndarray] = {}
                counts: dict[str, dict[str, int]] = {}
                for what, values, names in (
                        ("need", need, (M.HOTSPOT_NEED, M.GI_Z_NEED, M.GI_P_NEED)),
                        ("score", score, (M.HOTSPOT_SCORE, M.GI_Z_SCORE, M.GI_P_SCORE))):
                    h = getis_ord_star(values, nb, permutations=methods.hotspot_permutations,
                                       alpha=methods.fdr_alpha, seed=methods.hotspot_seed)
                    cols[names[0]] = h.spot.astype(float)
                    cols[names[1]] = h.z
                    cols[names[2]] = h.p_adjusted
                    counts[what] = {"hot": int((h.spot > 0).sum()),
                                    "cold": int((h.spot < 0).sum())}
                _put(lay, rows, level, family, cols)
                summary["hotspot_areas"][level][family] = counts
    tidy = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    replicates = pd.concat(reps, ignore_index=True) if reps else None
    return Uncertainty(out["neighborhood"], out["ward"], tidy, replicates, summary)


def _put(layer: gpd.GeoDataFrame, rows: list[pd.DataFrame], level: str, family: str,
         cols: dict[str, np.ndarray]) -> None:
    """Add ``cols`` as columns of ``layer`` and as long-form rows (period ``all``)."""
    ids = layer[M.AREA_ID].to_numpy()
    for measure, values in cols.items():
        name = M.column(measure, family)
        if name in layer.columns:
            raise ValueError(f"column {name!r} already in the layer")
        layer[name] = np.asarray(values, dtype=float)
        rows.append(pd.DataFrame({M.LEVEL: level, M.AREA_ID: ids, M.PERIOD: M.ALL_PERIOD,
                                  M.FAMILY: family, M.MEASURE: measure,
                                  M.VALUE: np.asarray(values, dtype=float)}))


def cluster_counts(n_areas: tuple[int, int], *, methods: Methods,
                   origin: tuple[float, float] | None = None) -> ClusterCounts:
    """The bootstrap's cluster counts of both levels (``n_areas`` neighborhoods, wards),
    to :func:`add_clusters` batch by batch (the ``contain`` policy: whole calls);
    ``origin`` (metres) anchors the cells, for counts that are merged."""
    return ClusterCounts(tuple(n * len(FAMILIES) for n in n_areas),
                         cell_m=methods.bootstrap_cell_m, origin=origin)


def add_clusters(counts: ClusterCounts, calls: pd.DataFrame,
                 allocations: dict[str, Any]) -> None:
    """Add a batch of calls and their allocation per level to :func:`cluster_counts`."""
    counts.add(calls[C.X].to_numpy(), calls[C.Y].to_numpy(), calls[C.DAY].to_numpy(),
               [_columns(calls, allocations[level])[:2] for level in LEVELS])


def _columns(calls: pd.DataFrame, a: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The allocated calls of a family, their (area, family) column, and which
    allocation rows they are."""
    nf = len(FAMILIES)
    f = calls[C.FAMILY_CODE].to_numpy().astype(np.int64)[a.call]
    keep = f < nf
    return a.call[keep], a.area[keep] * nf + f[keep], keep


def _bootstrap(calls: pd.DataFrame, allocations: dict[str, Any],
               layers: dict[str, gpd.GeoDataFrame], methods: Methods,
               clusters: list[sparse.csr_matrix] | None = None,
               ) -> dict[str, dict[str, RankUncertainty]]:
    """Replicate counts of both levels from the same cluster draws, then the summaries."""
    nf = len(FAMILIES)
    mats = clusters
    if mats is None:
        cluster, k = cluster_ids(calls[C.X].to_numpy(), calls[C.Y].to_numpy(),
                                 calls[C.DAY].to_numpy(), cell_m=methods.bootstrap_cell_m)
        mats = []
        for level in LEVELS:
            a = allocations[level]
            call, column, keep = _columns(calls, a)
            mats.append(cluster_matrix(cluster[call], column, k,
                                       len(layers[level]) * nf,
                                       weight=a.weight[keep]))
    counts = resample(mats, replicates=methods.bootstrap, seed=methods.bootstrap_seed)
    out: dict[str, dict[str, RankUncertainty]] = {}
    for level, c in zip(LEVELS, counts, strict=True):
        lay = layers[level]
        n = len(lay)
        c = c.reshape(methods.bootstrap, n, nf)
        out[level] = {}
        for i, family in enumerate(FAMILIES):
            cls = np.nan_to_num(lay[M.column(M.CLASS, family)].to_numpy(float)).astype(int)
            out[level][family] = rank_uncertainty(
                c[:, :, i], lay[M.column(M.RESIDENT_YEARS, family)].to_numpy(float) / 1000,
                ranked=cls > 0,
                access_tercile=np.nan_to_num(
                    lay[M.column(M.ACCESS_TERCILE, family)].to_numpy(float)).astype(int),
                estimate_class=cls, top=methods.top)
    return out


def _replicate_frame(res: RankUncertainty, level: str, family: str,
                     ids: np.ndarray) -> pd.DataFrame:
    r, n = res.classes.shape
    return pd.DataFrame({
        M.LEVEL: level, M.FAMILY: family,
        "replicate": np.repeat(np.arange(r, dtype=np.int32), n),
        M.AREA_ID: np.tile(ids, r),
        M.CLASS: res.classes.ravel().astype(np.int8),
    })


def underserved_table(layer: pd.DataFrame, family: str) -> pd.DataFrame:
    """One row per area of ``layer`` (an area layer with the need/access classes), in
    layer order: ``area_id``, ``name``, ``underserved`` (bool: high need, low access),
    ``class`` (1..9, 0 not ranked), ``class_label``, ``ranked`` (bool),
    ``underserved_rank`` (1 = most underserved, NaN not ranked), ``p_underserved`` (share
    of bootstrap replicates in which the area is underserved; NaN without a bootstrap) and
    ``class_uncertain`` (bool). What :func:`safetygap.underserved.underserved_areas`
    returns."""
    def col(name: str, default: float = np.nan) -> np.ndarray:
        c = M.column(name, family)
        return (layer[c].to_numpy(float) if c in layer.columns
                else np.full(len(layer), default))

    cls = np.nan_to_num(col(M.CLASS, 0.0)).astype(np.int64)
    label = M.column(M.CLASS_LABEL, family)
    return pd.DataFrame({
        M.AREA_ID: layer[M.AREA_ID].astype(str).to_numpy(),
        M.NAME: layer[M.NAME].astype(str).to_numpy(),
        M.UNDERSERVED: cls == UNDERSERVED_CLASS,
        M.CLASS: cls,
        M.CLASS_LABEL: (layer[label].astype(str).to_numpy() if label in layer.columns
                        else ""),
        M.RANKED: cls > 0,
        M.UNDERSERVED_RANK: col(M.UNDERSERVED_RANK),
        M.P_UNDERSERVED: col(M.P_UNDERSERVED),
        M.CLASS_UNCERTAIN: np.nan_to_num(col(M.CLASS_UNCERTAIN, 0.0)) == 1,
    })


def replicate_classes(replicates: pd.DataFrame | None, area_ids: list[str], *,
                      level: str, family: str) -> pd.DataFrame:
    """Every bootstrap replicate's class of ``family`` at ``level`` (the long table of
    :attr:`Uncertainty.replicates` / ``bootstrap.parquet``) as one row per replicate
    (index ``replicate``) and one column per area of ``area_ids`` (their order), values
    1..9 (0: not ranked); no rows without a bootstrap. What
    :func:`safetygap.underserved.class_replicates` returns."""
    if replicates is None or not len(replicates):
        return pd.DataFrame(columns=area_ids, dtype=np.int8).rename_axis("replicate")
    sel = replicates[(replicates[M.LEVEL] == level) & (replicates[M.FAMILY] == family)]
    wide = sel.pivot(index="replicate", columns=M.AREA_ID, values=M.CLASS)
    return wide.reindex(columns=area_ids).astype(np.int8)
