"""Coverage, accessibility, boundary allocations and the per-area indices of both levels.

Long file (about 530 lines): service-matched coverage, the demand points' supply, the
boundary allocations and the indices of both levels are one stage; the what-if and siting
jobs rerun exactly these functions, so they stay together.

A stage of :func:`safetygap.pipeline.analyze`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy import sparse

from safetygap import FAMILIES
from safetygap.boundaries import (
    apportion,
    crosswalk,
)
from safetygap.geo.access import e2sfca_from_cost_matrix
from safetygap.geo.aggregate import AreaCounts, CountSums
from safetygap.geo.bivariate import class_label
from safetygap.geo.boundary import (
    Allocation,
    allocate,
    near_boundaries,
)
from safetygap.geo.demand import DemandPoints, area_mean
from safetygap.geo.indices import Supply, area_flags, build_indices, tidy_frame, wide_frame
from safetygap.geo.join import assign_areas
from safetygap.geo.travel import Travel
from safetygap.inventory.serves import served_mask, serving_cost, split_serving
from safetygap.methods import Methods
from safetygap.stages.travel import catchment_labels
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.tables.report import (
    BoundarySensitivity,
    CrosswalkQuality,
    NearBoundary,
    NearBoundaryLevel,
)
from safetygap.taxonomy import Taxonomy
from safetygap.vocab import BOUNDARY_POLICIES, BoundaryPolicy, Level

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
    located = providers[~_placeless(providers)]
    for family in families:
        pf = located[(located["family"] == family) & located[key].notna()]
        idx = np.array([pos[v] for v in pf[key]], dtype=np.int64)
        count[family] = np.bincount(idx, minlength=len(ids)).astype(np.int64)
        cap[family] = np.bincount(idx, weights=pf["capacity"].to_numpy(float),
                                  minlength=len(ids))
    return count, cap


def _placeless(providers: pd.DataFrame) -> np.ndarray:
    """Boolean per provider: a service without a place (``placeless`` column)."""
    if "placeless" not in providers.columns:
        return np.zeros(len(providers), dtype=bool)
    return providers["placeless"].fillna(False).to_numpy(dtype=bool)


def with_placeless(providers: gpd.GeoDataFrame, taxonomy: Taxonomy) -> gpd.GeoDataFrame:
    """``providers`` with the ``placeless`` column from the taxonomy (added when missing,
    e.g. in a workspace written before it existed)."""
    if "placeless" in providers.columns:
        return providers
    out = providers.copy()
    out["placeless"] = [bool(getattr(taxonomy.service_types.get(str(s)), "placeless", False))
                        for s in out["service_type"]]
    return out


def coverage(calls: pd.DataFrame, providers: gpd.GeoDataFrame, travel: Travel,
             taxonomy: Taxonomy) -> np.ndarray:
    """Boolean per call: within the catchment of a provider whose service type handles the
    call's category (:meth:`Taxonomy.handlers`), or inside the areas such a provider
    serves (``serves_wkt``). Placeless services cover nothing.

    Calls need ``x``, ``y`` (analysis CRS) and ``category``; providers ``service_type``,
    ``placeless`` and the travel model's catchment column (metres or minutes).
    """
    covered = np.zeros(len(calls), dtype=bool)
    x = calls[C.X].to_numpy(float)
    y = calls[C.Y].to_numpy(float)
    codes, cats = pd.factorize(calls[C.CATEGORY])  # the distinct values, not every row
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, cat in enumerate(cats):
        handlers = taxonomy.handlers(str(cat))
        if handlers:
            groups.setdefault(handlers, []).append(i)
    located = providers[~_placeless(providers)]
    for handlers, idx in groups.items():
        pf = located[located["service_type"].isin(handlers)]
        if len(pf) == 0:
            continue
        sel = np.isin(codes, idx)
        serving, polygons = split_serving(pf)  # area-serving providers: their areas only
        pc = pf[~serving]
        hit = np.zeros(int(sel.sum()), dtype=bool)
        if len(pc):
            hit = travel.covered(
                (x[sel], y[sel]), (pc.geometry.x.to_numpy(), pc.geometry.y.to_numpy()),
                pc[travel.catchment_column].to_numpy(float))
        if polygons:
            hit |= served_mask(x[sel], y[sel], polygons).any(axis=1)
        covered[sel] = hit
    return covered


@dataclass(frozen=True)
class Demand:
    """Where the residents and the calls are, for accessibility and reach.

    ``points`` are the neighborhoods' demand points (:mod:`safetygap.geo.demand`);
    ``ward_weights`` (wards x points) the residents each point gives each ward: the points
    inside the ward (grid: the pieces are cut along the ward lines too, so a ward's
    residents are exactly its areal share of the neighborhoods'), or the neighborhoods'
    residents shared by the area crosswalk (centroid, as wards were always apportioned);
    ``call_point`` each call's demand point (-1: none) and ``call_weight`` what it adds to
    need-based demand (1 / the covered years of its source: calls a year).
    """

    points: DemandPoints
    ward_weights: sparse.csr_matrix
    call_point: np.ndarray
    call_weight: np.ndarray
    need: dict[str, np.ndarray] | None = None
    """Per family, per point: the calls' weights summed, when summed already (the
    streaming engine; ``call_point``/``call_weight`` are then empty)."""


def ward_weights(points: DemandPoints, wards: gpd.GeoDataFrame, cw: pd.DataFrame
                 ) -> sparse.csr_matrix:
    """(wards x points) resident weights, see :class:`Demand`."""
    if points.model == "centroid":
        w = points.residents[cw["source"].to_numpy()] * cw["weight"].to_numpy()
        return sparse.csr_matrix((w, (cw["target"].to_numpy(), cw["source"].to_numpy())),
                                 shape=(len(wards), len(points)))
    ward = (points.zone if points.zone is not None and points.n_zones == len(wards)
            else assign_areas((points.x, points.y), wards, crs=wards.crs))
    ok = ward >= 0
    return sparse.csr_matrix((points.residents[ok], (ward[ok], np.flatnonzero(ok))),
                             shape=(len(wards), len(points)))


def _ward_mean(weights: sparse.csr_matrix, values: np.ndarray) -> np.ndarray:
    num = weights @ np.nan_to_num(np.asarray(values, dtype=float))
    den = np.asarray(weights.sum(axis=1)).ravel()
    return np.divide(num, den, out=np.full(len(den), np.nan), where=den > 0)


def point_supply(
    demand: Demand, calls: pd.DataFrame, providers: gpd.GeoDataFrame, travel: Travel,
    families: tuple[str, ...], *, kernel: str,
) -> dict[str, dict[str, np.ndarray]]:
    """Per family, per demand point: ``access`` (E2SFCA, residents as demand, capacity per
    1,000 residents), ``access_need`` (calls a year as demand, capacity per 1,000 calls a
    year) and ``reach`` (1 when within reach of a provider of the family, else 0).
    Placeless providers are left out."""
    pts = demand.points
    d = (pts.x, pts.y)
    located = providers[~_placeless(providers)]
    fam_code = None if demand.need is not None else calls[C.FAMILY_CODE].to_numpy()
    out: dict[str, dict[str, np.ndarray]] = {}
    for family in families:
        pf = located[located["family"] == family]
        catchment = pf[travel.catchment_column].to_numpy(float)
        cost = travel.cost_matrix((pf.geometry.x.to_numpy(), pf.geometry.y.to_numpy()), d,
                                  cutoff=float(catchment.max()) if len(catchment) else None)
        cost = serving_cost(cost, d, pf)  # area-serving providers: full weight inside only
        cap = pf["capacity"].to_numpy(float)
        if demand.need is not None:
            need = demand.need[family]
        else:
            sel = (fam_code == FAMILIES.index(family)) & (demand.call_point >= 0)
            need = np.bincount(demand.call_point[sel], weights=demand.call_weight[sel],
                               minlength=len(pts))
        out[family] = {
            "access": e2sfca_from_cost_matrix(pts.residents, cap, cost, catchment=catchment,
                                              kernel=kernel) * 1000.0,
            "access_need": e2sfca_from_cost_matrix(need, cap, cost, catchment=catchment,
                                                   kernel=kernel) * 1000.0,
            "reach": (cost <= catchment[None, :]).any(axis=1).astype(float)
            if len(pf) else np.zeros(len(pts)),
        }
    return out


def _supply(per_point: dict[str, dict[str, np.ndarray]], aggregate: Any,
            providers: dict[str, np.ndarray], capacity: dict[str, np.ndarray]) -> Supply:
    def agg(name: str) -> dict[str, np.ndarray]:
        return {f: aggregate(v[name]) for f, v in per_point.items()}
    return Supply(access=agg("access"), providers=providers, capacity=capacity,
                  access_need=agg("access_need"), reach=agg("reach"))


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
    families: tuple[str, ...] | None = None, n_sources: int = 1,
) -> AreaCounts:
    """Counts of the allocated calls; with ``families``, of those families' calls only
    (their counts are the full ones, in the same order of summing; "total" and the
    other families are then partial)."""
    sums = AllocationSums(n_areas, alloc.policy, calls, years=years)
    sums.add(calls, alloc, families=families, by_source=n_sources > 1)
    return sums.counts.result(years, sources=tuple(range(n_sources)) if n_sources > 1
                              else None)


def _total_calls(alloc: Allocation, n_areas: int) -> np.ndarray:
    """Calls (whole or shared) counted in each area under ``alloc``."""
    return np.bincount(alloc.area, weights=alloc.weight.astype(float), minlength=n_areas)


@dataclass(frozen=True)
class Allocated:
    """One level's counts under one boundary policy, made by :class:`AllocationSums`."""

    counts: AreaCounts
    calls_per_area: np.ndarray
    """Calls (whole or shared) counted in each area (what decides the area flags)."""


class AllocationSums:
    """The counts of a level's allocated calls under one policy (:func:`_count`) and its
    calls per area, a batch of calls and their :class:`Allocation` at a time: what the
    streaming engine keeps instead of every call's allocation. Equal to the counts of
    all the calls at once to the last bit (:class:`safetygap.geo.aggregate.CountSums`:
    fractional shares are added in the calls' order). ``calls`` (any batch) says
    whether the calls carry the diversion-base and coverable columns; ``years`` None:
    learnt from the calls (given to :meth:`result`)."""

    def __init__(self, n_areas: int, policy: str, calls: pd.DataFrame, *,
                 years: tuple[int, ...] | None = None) -> None:
        self.n_areas = n_areas
        self.policy = policy
        self.counts = CountSums(n_areas, weighted=policy != CONTAIN,
                                base=C.DIVERSION_BASE in calls, coverable=C.COVERABLE in calls,
                                years=years)
        self.per_area = np.zeros(n_areas)

    def add(self, calls: pd.DataFrame, alloc: Allocation, *,
            families: tuple[str, ...] | None = None, by_source: bool = True) -> None:
        """Add a batch: its calls and their allocation (call positions in the batch)."""
        c, area, weight = alloc.call, alloc.area, alloc.weight
        if self.policy == CONTAIN:
            self.per_area += np.bincount(area, minlength=self.n_areas)
        else:
            np.add.at(self.per_area, area, np.asarray(weight, dtype=float))
        if families is not None:
            codes = [FAMILIES.index(f) for f in families]
            keep = np.isin(calls[C.FAMILY_CODE].to_numpy()[c], codes)
            c, area, weight = c[keep], area[keep], weight[keep]

        def col(name: str) -> np.ndarray | None:
            return calls[name].to_numpy()[c] if name in calls else None

        self.counts.add(
            area, col(C.YEAR), col(C.FAMILY_CODE), col(C.DIVERTED), col(C.ELIGIBLE),
            col(C.COVERED), weight=None if self.policy == CONTAIN else weight,
            base=col(C.DIVERSION_BASE), coverable=col(C.COVERABLE),
            source=col(C.SOURCE_CODE) if by_source else None)

    def merge(self, other: AllocationSums) -> AllocationSums:
        """Add ``other``'s sums (its calls after these; in place, returns self): then
        equal to one :class:`AllocationSums` that added these batches then ``other``'s
        (:meth:`CountSums.merge <safetygap.geo.aggregate.CountSums.merge>`). ``contain``
        only: the fractional shares of ``split`` are summed in the calls' order."""
        if self.policy != CONTAIN or other.policy != CONTAIN:
            raise ValueError(f"only {CONTAIN.value} sums can be merged, not "
                             f"{self.policy} with {other.policy}")
        if self.n_areas != other.n_areas:
            raise ValueError(f"sums of {other.n_areas} areas merged into {self.n_areas}")
        self.counts.merge(other.counts)
        self.per_area += other.per_area
        return self

    def result(self, years: tuple[int, ...], *, sources: tuple[int, ...] | None = None
               ) -> Allocated:
        """The counts (periods ``"all"`` then ``years``; by source in the order of
        ``sources`` when given) and the calls per area."""
        return Allocated(self.counts.result(years, sources=sources), self.per_area)


@dataclass(frozen=True)
class MeasureContext:
    """What the measures need besides calls, areas and providers: the demand points, the
    method settings and each source's covered years per period (sources x periods:
    ``"all"`` then each year, :func:`safetygap.geo.timespan.period_years`)."""

    demand: Demand
    methods: Methods
    source_years: np.ndarray

    @property
    def n_sources(self) -> int:
        return int(self.source_years.shape[0])


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
    context: MeasureContext,
    families: tuple[str, ...] | None = None,
    periods: tuple[str, ...] | None = None,
    counted: dict[str, dict[str, Allocated]] | None = None,
) -> _LevelResults:
    """The indices at both levels under each of ``policies``, of ``families`` and
    ``periods`` (default: every family, "total" included, and every period);
    shared by :func:`level_indices` and :func:`family_layers`."""
    fams = FAMILIES if families is None else families
    methods = context.methods
    demand = context.demand
    per_point = point_supply(demand, calls, providers, travel, fams, kernel=methods.kernel)
    cw = crosswalk(nbhd, wards)
    w_pop = apportion(population, cw, len(wards))
    w_has_pop = np.bincount(cw["target"], weights=np.isfinite(population)[cw["source"]]
                            .astype(float), minlength=len(wards)) > 0
    w_pop = np.where(w_has_pop, w_pop, np.nan)
    levels = (
        (Level.NEIGHBORHOOD, nbhd, population, C.NEIGHBORHOOD_ID,
         lambda v: area_mean(v, demand.points)),
        (Level.WARD, wards, w_pop, C.WARD_ID, lambda v: _ward_mean(demand.ward_weights, v)),
    )
    out: dict[str, dict[str, dict]] = {}
    for level, areas, pop, key, aggregate in levels:
        n_prov, n_cap = _provider_stats(providers, key, areas[M.AREA_ID].to_numpy(), fams)
        supply = _supply(per_point, aggregate, n_prov, n_cap)
        out[level] = {}
        for pol in policies:
            made = None if counted is None else counted[level][pol]
            alloc = boundary[level][pol]
            flags = area_flags(_total_calls(alloc, len(areas)) if made is None
                               else made.calls_per_area, pop,
                               min_population=methods.min_population,
                               nonresident_ratio=methods.nonresident_ratio)
            counts = (made.counts if made is not None else
                      _count(calls, alloc, len(areas), years, families, context.n_sources))
            out[level][pol] = build_indices(
                counts, population=pop, supply=supply, years=context.source_years,
                ranked=flags[M.RANKED], flags=flags, confidence=methods.confidence,
                periods=periods, families=families)
    return _LevelResults(out[Level.NEIGHBORHOOD], out[Level.WARD], w_pop, cw)


def _layer(base: gpd.GeoDataFrame, pop: np.ndarray, result: dict) -> gpd.GeoDataFrame:
    """An area layer: id, name, population, area (km², from the projected CRS), the
    period-"all" measures of ``result`` as ``<measure>_<family>`` columns (see
    :func:`safetygap.geo.indices.column_name`), the plain class labels
    (``class_label_<family>``), geometry."""
    wide = wide_frame(result)
    head = pd.DataFrame({
        "area_id": base[M.AREA_ID].to_numpy(),
        "name": base["name"].to_numpy(),
        "population": pop,
        "area_km2": base.geometry.area.to_numpy() / 1e6,
    })
    labels = {M.column(M.CLASS_LABEL, f): [class_label(int(c)) for c in np.nan_to_num(
        wide[M.column(M.CLASS, f)].to_numpy(float))]
        for f in FAMILIES if M.column(M.CLASS, f) in wide}
    frame = pd.concat([head, wide, pd.DataFrame(labels)], axis=1)
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
    context: MeasureContext,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The neighborhood and ward layers of :func:`level_indices` with only ``family``'s
    period-"all" measures (``<measure>_<family>`` columns): the same values, computed
    without the other families, the single years, the other boundary policy and the
    tidy table. What the siting job compares after each ranked site."""
    res = _level_results(calls, years, nbhd, wards, population, providers, boundary,
                         policies=[policy], travel=travel, context=context,
                         families=(family,), periods=("all",))
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
    context: MeasureContext,
    counted: dict[str, dict[str, Allocated]] | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, CrosswalkQuality,
           BoundarySensitivity | None]:
    """Indices of neighborhoods and wards from classified, covered calls and providers.

    Calls need ``year``, ``family_code``, ``diverted``, ``eligible``, ``coverable``,
    ``covered`` and (several sources) ``source_code``; ``boundary`` holds each level's
    call-to-area allocations under both policies (:func:`boundary_allocations`);
    ``context`` the demand points, method settings and covered years;
    ``counted`` each level's counts under each policy when made batch by batch (by the
    streaming and dask engines, :class:`AllocationSums`: ``boundary`` then
    holds no allocations). Returns (neighborhood layer, ward layer, tidy indices,
    crosswalk quality, boundary sensitivity). Used by :func:`analyze` and by the what-if
    job (the siting job needs one family only: :func:`family_layers`); the bootstrap and
    hot spots are added by :mod:`safetygap.stages.uncertainty` in :func:`analyze` only.
    """
    policies = [p for p in BOUNDARY_POLICIES if p in boundary["neighborhood"]]
    res = _level_results(calls, years, nbhd, wards, population, providers, boundary,
                         policies=policies, travel=travel, context=context,
                         counted=counted)
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
    cw_quality = CrosswalkQuality(
        pairs=len(cw),
        neighborhoods_split_across_wards=int((cw.groupby("source").size() > 1).sum()),
        population_neighborhoods=float(np.nansum(population)),
        population_wards=float(np.nansum(w_pop)),
    )
    return nbhd_out, ward_out, tidy, cw_quality, sensitivity


def _boundary_sensitivity(
    results: dict[str, dict[str, dict]],
    layers: dict[str, gpd.GeoDataFrame],
    boundary: dict[str, dict[str, Any]],
    *,
    policy: str,
    tolerance_m: float,
) -> BoundarySensitivity:
    """How many areas change gap class (period "all") between the two boundary policies."""
    other = next(p for p in BOUNDARY_POLICIES if p != policy)
    changed: dict[str, dict[str, int]] = {}
    compared: dict[str, dict[str, int]] = {}
    areas: dict[str, dict[str, list[dict[str, Any]]]] = {}
    cls_changed: dict[str, dict[str, int]] = {}
    for level, by_policy in results.items():
        layer = layers[level]
        changed[level], compared[level], areas[level] = {}, {}, {}
        cls_changed[level] = {}
        for family in FAMILIES:
            a = np.asarray(by_policy[policy][M.ALL_PERIOD][family][M.CLASS])
            b = np.asarray(by_policy[other][M.ALL_PERIOD][family][M.CLASS])
            cls_changed[level][family] = int(((a > 0) & (b > 0) & (a != b)).sum())
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
    return BoundarySensitivity(
        policy=policy,
        compared_with=other,
        tolerance_m=tolerance_m,
        calls_shared={level: b["shared"] for level, b in boundary.items()},
        areas_changing_class=cls_changed,
        areas_changing_gap_class=changed,
        areas_compared=compared,
        changed_areas=areas,
        notes=(
            "Need/access classes and gap classes (period 'all') under the run's boundary "
            "policy compared with the other policy: "
            "'contain' counts each call in the polygon containing it; 'split' "
            "shares each call within tolerance_m of the lines of k >= 2 areas as 1/k per "
            "area. areas_compared counts areas with a gap class under both policies."
        ),
    )


def near_boundary_quality(boundary: dict[str, dict[str, Any]],
                           opts: AnalysisOptions) -> NearBoundary:
    """The quality report's count of calls near neighborhood and ward lines."""
    def share(n: int, d: int) -> float | None:
        return None if d == 0 else round(n / d, 6)

    def counts(b: dict[str, Any]) -> NearBoundaryLevel:
        return NearBoundaryLevel(
            calls_in_areas=b["placed"], within_tolerance=b["within"],
            within_tolerance_share=share(b["within"], b["placed"]), shared=b["shared"],
            shared_share=share(b["shared"], b["placed"]))

    return NearBoundary(
        tolerance_m=opts.boundary_tolerance_m, policy=opts.boundary_policy,
        neighborhood=counts(boundary[Level.NEIGHBORHOOD]), ward=counts(boundary[Level.WARD]),
        notes=(
            "within_tolerance: calls in areas lying within tolerance_m metres of any line of "
            "the layer (city limits included); shared: of those, calls within tolerance_m of "
            "the lines of two or more areas (the calls the 'split' policy shares out). "
            "Shares are of calls_in_areas."))
