"""Coverage, accessibility, boundary allocations and the per-area indices of both levels.

A stage of :func:`safetygap.pipeline.analyze`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from safetygap import FAMILIES
from safetygap.boundaries import (
    apportion,
    crosswalk,
)
from safetygap.geo.access import e2sfca_from_cost_matrix
from safetygap.geo.aggregate import AreaCounts, count_calls
from safetygap.geo.boundary import (
    Allocation,
    allocate,
    near_boundaries,
)
from safetygap.geo.indices import build_indices, tidy_frame, wide_frame
from safetygap.geo.travel import Travel
from safetygap.inventory.serves import served_mask, serving_cost, split_serving
from safetygap.stages.travel import catchment_labels
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.vocab import BOUNDARY_POLICIES, BoundaryPolicy

CONTAIN = BoundaryPolicy.CONTAIN

if TYPE_CHECKING:
    from safetygap.stages.options import AnalysisOptions


def _provider_stats(
    providers: gpd.GeoDataFrame, key: str, ids: np.ndarray,
    families: tuple[str, ...] = FAMILIES,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    pos = {v: i for i, v in enumerate(ids)}
    count: dict[str, np.ndarray] = {}
    cap: dict[str, np.ndarray] = {}
    for family in families:
        pf = providers[(providers["family"] == family) & providers[key].notna()]
        idx = np.array([pos[v] for v in pf[key]], dtype=np.int64)
        count[family] = np.bincount(idx, minlength=len(ids)).astype(np.int64)
        cap[family] = np.bincount(idx, weights=pf["capacity"].to_numpy(float),
                                  minlength=len(ids))
    return count, cap


def coverage(calls: pd.DataFrame, providers: gpd.GeoDataFrame, travel: Travel) -> np.ndarray:
    """Boolean per call: within the catchment of a provider of the call's family, or inside
    the areas an area-serving provider of the family serves (``serves_wkt``).

    Calls need ``x``, ``y`` (analysis CRS) and ``family_code``; providers
    ``family`` and the travel model's catchment column (metres or minutes).
    """
    covered = np.zeros(len(calls), dtype=bool)
    fam_code = calls[C.FAMILY_CODE].to_numpy()
    x = calls[C.X].to_numpy(float)
    y = calls[C.Y].to_numpy(float)
    for f, family in enumerate(FAMILIES):
        sel = fam_code == f
        pf = providers[providers["family"] == family]
        if not sel.any() or len(pf) == 0:
            continue
        serving, polygons = split_serving(pf)  # area-serving providers: their areas only
        pc = pf[~serving]
        if len(pc):
            covered[sel] = travel.covered(
                (x[sel], y[sel]), (pc.geometry.x.to_numpy(), pc.geometry.y.to_numpy()),
                pc[travel.catchment_column].to_numpy(float))
        if polygons:
            covered[sel] |= served_mask(x[sel], y[sel], polygons).any(axis=1)
    return covered


def _access(
    nbhd: gpd.GeoDataFrame, population: np.ndarray, providers: gpd.GeoDataFrame,
    travel: Travel, families: tuple[str, ...] = FAMILIES,
) -> dict[str, np.ndarray]:
    """E2SFCA per family from neighborhood centroids, capacity per 1,000 residents."""
    cent = nbhd.geometry.centroid
    d = (cent.x.to_numpy(), cent.y.to_numpy())
    out = {}
    for family in families:
        pf = providers[providers["family"] == family]
        catchment = pf[travel.catchment_column].to_numpy(float)
        cost = travel.cost_matrix((pf.geometry.x.to_numpy(), pf.geometry.y.to_numpy()), d,
                                  cutoff=float(catchment.max()) if len(catchment) else None)
        cost = serving_cost(cost, d, pf)  # area-serving providers: full weight inside only
        acc = e2sfca_from_cost_matrix(population, pf["capacity"].to_numpy(float), cost,
                                      catchment=catchment, kernel="truncated_gaussian")
        out[family] = acc * 1000.0  # capacity per 1,000 residents
    return out


def boundary_allocations(
    calls: pd.DataFrame,
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    crs: CRS,
    tolerance_m: float,
    *,
    policies: tuple[str, ...] = BOUNDARY_POLICIES,
) -> dict[str, dict[str, Any]]:
    """Per level: calls within ``tolerance_m`` of an area line and their allocation
    under each of ``policies`` (both by default).

    Calls need ``x``, ``y`` (analysis CRS) and ``n_idx``/``w_idx`` (the containing
    area row, -1 when the call is not placed). With ``policies=("contain",)`` the
    distance search is skipped (``within``/``shared`` are then None): the what-if
    and siting jobs use that when the workspace was analysed with ``contain``.
    """
    out: dict[str, dict[str, Any]] = {}
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    for level, areas, col in (("neighborhood", nbhd, "n_idx"), ("ward", wards, "w_idx")):
        assigned = calls[col].to_numpy()
        placed = assigned >= 0
        entry: dict[str, Any] = {"placed": int(placed.sum()), "within": None, "shared": None}
        near = empty
        if BoundaryPolicy.SPLIT in policies:
            x = np.where(placed, calls[C.X].to_numpy(), np.nan)
            y = np.where(placed, calls[C.Y].to_numpy(), np.nan)
            near = near_boundaries(x, y, areas, tolerance_m=tolerance_m, crs=crs)
            within = np.zeros(len(calls), dtype=bool)
            within[near[0]] = True
            entry["within"] = int(within.sum())
        for pol in policies:
            entry[pol] = allocate(assigned, near, policy=pol)
        if BoundaryPolicy.SPLIT in policies:
            entry["shared"] = int((entry[BoundaryPolicy.SPLIT].k >= 2).sum())
        out[level] = entry
    return out


def _count(
    calls: pd.DataFrame, alloc: Allocation, n_areas: int, years: tuple[int, ...],
    families: tuple[str, ...] | None = None,
) -> AreaCounts:
    """Counts of the allocated calls; with ``families``, of those families' calls only
    (their counts are the full ones, in the same order of summing; "total" and the
    other families are then partial)."""
    c, area, weight = alloc.call, alloc.area, alloc.weight
    if families is not None:
        codes = [FAMILIES.index(f) for f in families]
        keep = np.isin(calls[C.FAMILY_CODE].to_numpy()[c], codes)
        c, area, weight = c[keep], area[keep], weight[keep]
    return count_calls(
        area, calls[C.YEAR].to_numpy()[c], calls[C.FAMILY_CODE].to_numpy()[c],
        calls[C.DIVERTED].to_numpy()[c], calls[C.ELIGIBLE].to_numpy()[c],
        calls[C.COVERED].to_numpy()[c], n_areas=n_areas, years=years,
        weight=None if alloc.policy == BoundaryPolicy.CONTAIN else weight,
        base=calls[C.DIVERSION_BASE].to_numpy()[c] if "diversion_base" in calls else None)


@dataclass(frozen=True)
class _LevelResults:
    """:func:`build_indices` results per boundary policy of both levels."""

    neighborhood: dict[str, dict]
    ward: dict[str, dict]
    ward_population: np.ndarray
    crosswalk: pd.DataFrame


def _level_results(
    calls: pd.DataFrame,
    years: tuple[int, ...],
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    population: np.ndarray,
    providers: gpd.GeoDataFrame,
    boundary: dict[str, dict[str, Any]],
    *,
    policies: list[str],
    travel: Travel,
    families: tuple[str, ...] | None = None,
    periods: tuple[str, ...] | None = None,
    contain_counts: tuple[AreaCounts, AreaCounts] | None = None,
) -> _LevelResults:
    """The indices at both levels under each of ``policies``, of ``families`` and
    ``periods`` (default: every family, "total" included, and every period);
    shared by :func:`level_indices` and :func:`family_layers`."""
    fams = FAMILIES if families is None else families
    # neighborhoods
    n_prov, n_cap = _provider_stats(providers, "neighborhood_id", nbhd[M.AREA_ID].to_numpy(),
                                    fams)
    n_access = _access(nbhd, population, providers, travel, fams)
    n_results = {
        pol: build_indices(contain_counts[0] if contain_counts and pol == CONTAIN else
                           _count(calls, boundary["neighborhood"][pol], len(nbhd), years,
                                  families),
                           population=population, access=n_access, providers=n_prov,
                           capacity=n_cap, periods=periods, families=families)
        for pol in policies
    }

    # wards: calls joined directly; population and access apportioned by area
    cw = crosswalk(nbhd, wards)
    w_pop = apportion(population, cw, len(wards))
    w_has_pop = np.bincount(cw["target"], weights=np.isfinite(population)[cw["source"]]
                            .astype(float), minlength=len(wards)) > 0
    w_pop = np.where(w_has_pop, w_pop, np.nan)
    w_access = {}
    for family in fams:
        num = apportion(np.nan_to_num(population) * n_access[family], cw, len(wards))
        den = apportion(np.nan_to_num(population), cw, len(wards))
        w_access[family] = np.divide(num, den, out=np.full(len(wards), np.nan), where=den > 0)
    w_prov, w_cap = _provider_stats(providers, "ward_id", wards[M.AREA_ID].to_numpy(), fams)
    w_results = {
        pol: build_indices(contain_counts[1] if contain_counts and pol == CONTAIN else
                           _count(calls, boundary["ward"][pol], len(wards), years,
                                  families),
                           population=w_pop, access=w_access, providers=w_prov,
                           capacity=w_cap, periods=periods, families=families)
        for pol in policies
    }
    return _LevelResults(n_results, w_results, w_pop, cw)


def _layer(base: gpd.GeoDataFrame, pop: np.ndarray, result: dict) -> gpd.GeoDataFrame:
    """An area layer: id, name, population, area (km², from the projected CRS), the
    period-"all" measures of ``result`` as ``<measure>_<family>`` columns, geometry."""
    wide = wide_frame(result)
    head = pd.DataFrame({
        "area_id": base[M.AREA_ID].to_numpy(),
        "name": base["name"].to_numpy(),
        "population": pop,
        "area_km2": base.geometry.area.to_numpy() / 1e6,
    })
    frame = pd.concat([head, wide], axis=1)
    return gpd.GeoDataFrame(frame, geometry=base.geometry.to_numpy(), crs=base.crs)


def family_layers(
    calls: pd.DataFrame,
    years: tuple[int, ...],
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    population: np.ndarray,
    providers: gpd.GeoDataFrame,
    boundary: dict[str, dict[str, Any]],
    *,
    family: str,
    policy: str,
    travel: Travel,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The neighborhood and ward layers of :func:`level_indices` with only ``family``'s
    period-"all" measures (``<measure>_<family>`` columns): the same values, computed
    without the other families, the single years, the other boundary policy and the
    tidy table. What the siting job compares after each ranked site."""
    res = _level_results(calls, years, nbhd, wards, population, providers, boundary,
                         policies=[policy], travel=travel, families=(family,),
                         periods=("all",))
    return (_layer(nbhd, population, res.neighborhood[policy]),
            _layer(wards, res.ward_population, res.ward[policy]))


def level_indices(
    calls: pd.DataFrame,
    years: tuple[int, ...],
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    population: np.ndarray,
    providers: gpd.GeoDataFrame,
    boundary: dict[str, dict[str, Any]],
    *,
    policy: str,
    tolerance_m: float,
    travel: Travel,
    contain_counts: tuple[AreaCounts, AreaCounts] | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, dict[str, Any],
           dict[str, Any] | None]:
    """Indices of neighborhoods and wards from classified, covered calls and providers.

    Calls need ``year``, ``family_code``, ``diverted``, ``eligible`` and
    ``covered``; ``boundary`` holds each level's call-to-area allocations under
    both policies (:func:`boundary_allocations`); ``contain_counts`` (neighborhoods,
    wards) are the "contain" counts when already made (by the dask engine).
    Returns (neighborhood layer, ward layer, tidy indices, crosswalk quality,
    boundary sensitivity). Used by :func:`analyze` and by the what-if job
    (the siting job needs one family only: :func:`family_layers`).
    """
    policies = [p for p in BOUNDARY_POLICIES if p in boundary["neighborhood"]]
    res = _level_results(calls, years, nbhd, wards, population, providers, boundary,
                         policies=policies, travel=travel, contain_counts=contain_counts)
    n_results, w_results, w_pop, cw = (res.neighborhood, res.ward, res.ward_population,
                                       res.crosswalk)
    n_result = n_results[policy]
    w_result = w_results[policy]
    sensitivity = None if len(policies) < 2 else _boundary_sensitivity(
        {"neighborhood": n_results, "ward": w_results},
        {"neighborhood": nbhd, "ward": wards}, boundary, policy=policy,
        tolerance_m=tolerance_m)

    nbhd_out = _layer(nbhd, population, n_result)
    ward_out = _layer(wards, w_pop, w_result)
    tidy = pd.concat([
        tidy_frame(n_result, level="neighborhood", area_ids=nbhd[M.AREA_ID].to_numpy()),
        tidy_frame(w_result, level="ward", area_ids=wards[M.AREA_ID].to_numpy()),
    ], ignore_index=True)
    tidy["distance_model"] = travel.name
    tidy["catchment"] = tidy["family"].map(catchment_labels(providers, travel)).fillna("")
    cw_quality = {
        "pairs": len(cw),
        "neighborhoods_split_across_wards": int((cw.groupby("source").size() > 1).sum()),
        "population_neighborhoods": float(np.nansum(population)),
        "population_wards": float(np.nansum(w_pop)),
    }
    return nbhd_out, ward_out, tidy, cw_quality, sensitivity


def _boundary_sensitivity(
    results: dict[str, dict[str, dict]],
    layers: dict[str, gpd.GeoDataFrame],
    boundary: dict[str, dict[str, Any]],
    *,
    policy: str,
    tolerance_m: float,
) -> dict[str, Any]:
    """How many areas change gap class (period "all") between the two boundary policies."""
    other = next(p for p in BOUNDARY_POLICIES if p != policy)
    changed: dict[str, dict[str, int]] = {}
    compared: dict[str, dict[str, int]] = {}
    areas: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for level, by_policy in results.items():
        layer = layers[level]
        changed[level], compared[level], areas[level] = {}, {}, {}
        for family in FAMILIES:
            mine = np.asarray(by_policy[policy]["all"][family]["gap_class"])
            theirs = np.asarray(by_policy[other]["all"][family]["gap_class"])
            both = (mine > 0) & (theirs > 0)
            diff = np.flatnonzero(both & (mine != theirs))
            changed[level][family] = len(diff)
            compared[level][family] = int(both.sum())
            areas[level][family] = [
                {"area_id": str(layer[M.AREA_ID].iat[i]), "name": str(layer["name"].iat[i]),
                 M.column(M.GAP_CLASS, policy): int(mine[i]),
                 M.column(M.GAP_CLASS, other): int(theirs[i])}
                for i in diff
            ]
    return {
        "policy": policy,
        "compared_with": other,
        "tolerance_m": tolerance_m,
        "calls_shared": {level: b["shared"] for level, b in boundary.items()},
        "areas_changing_gap_class": changed,
        "areas_compared": compared,
        "changed_areas": areas,
        "notes": (
            "Gap classes (period 'all') under the run's boundary policy compared with the "
            "other policy: 'contain' counts each call in the polygon containing it; 'split' "
            "shares each call within tolerance_m of the lines of k >= 2 areas as 1/k per "
            "area. areas_compared counts areas with a gap class under both policies."
        ),
    }


def near_boundary_quality(boundary: dict[str, dict[str, Any]],
                           opts: AnalysisOptions) -> dict[str, Any]:
    """The quality report's count of calls near neighborhood and ward lines."""
    def share(n: int, d: int) -> float | None:
        return None if d == 0 else round(n / d, 6)

    out: dict[str, Any] = {"tolerance_m": opts.boundary_tolerance_m,
                           "policy": opts.boundary_policy}
    for level, b in boundary.items():
        out[level] = {
            "calls_in_areas": b["placed"],
            "within_tolerance": b["within"],
            "within_tolerance_share": share(b["within"], b["placed"]),
            "shared": b["shared"],
            "shared_share": share(b["shared"], b["placed"]),
        }
    out["notes"] = (
        "within_tolerance: calls in areas lying within tolerance_m metres of any line of the "
        "layer (city limits included); shared: of those, calls within tolerance_m of the "
        "lines of two or more areas (the calls the 'split' policy shares out). Shares are of "
        "calls_in_areas."
    )
    return out
