"""Site recommendations: ``k`` new sites of a family covering the most need calls not
yet covered (maximal covering, :mod:`safetygap.geo.siting`), each with its marginal
calls and the change of the areas it serves."""

from __future__ import annotations

import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safetygap import FAMILIES
from safetygap.errors import Problem, Problems, ValidationError
from safetygap.inputs.providers import MAX_CAPACITY
from safetygap.scenarios.baseline import (
    METRE_DECIMALS,
    Baseline,
    area_changes,
    lonlat,
    recompute,
)
from safetygap.scenarios.candidates import (
    DEFAULT_GRID_M,
    default_candidates,
)
from safetygap.scenarios.hypothetical import new_providers
from safetygap.scenarios.reach import existing_reach, residents
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.vocab import TravelKind

SHORT_STRAIGHT_CATCHMENT_M = 100.0
"""A straight-line catchment given below this many metres is warned about (likely meant
as minutes)."""
LONG_NETWORK_CATCHMENT_MIN = 180.0
"""A network catchment given above this many minutes is warned about (likely meant as
metres)."""


def default_service_type(base: Baseline, family: str) -> str:
    """The family's most common service type with a place among existing providers (else
    the first with a place); one that handles calls is preferred."""
    types = base.taxonomy.service_types
    placed = {n for n, st in types.items() if st.family == family and not st.placeless}
    handling = {n for n in placed if types[n].handles}
    pool = handling or placed
    pf = base.providers[base.providers["service_type"].isin(pool)]
    if len(pf):
        counts = pf["service_type"].value_counts()
        return str(sorted(counts[counts == counts.max()].index)[0])
    return sorted(pool)[0]


def default_capacity(base: Baseline, service_type: str) -> float:
    """Median capacity of the workspace's providers of ``service_type`` (else 1)."""
    same = base.providers[base.providers["service_type"] == service_type]
    return float(same["capacity"].median()) if len(same) else 1.0


def site_catchments(base: Baseline, result: dict[str, Any]) -> list[shapely.Geometry]:
    """What each site of a :func:`recommend_sites` result covers, in the workspace CRS:
    the circle of the catchment radius straight-line, the reachable area on a network
    (:func:`safetygap.geo.siting.catchment_area`)."""
    from safetygap.geo.siting import catchment_area

    travel = base.travel
    return [catchment_area(s["x"], s["y"], catchment=float(result["catchment"]),
                           net=travel.network, mode=travel.mode)
            for s in result["sites"]]


CATCHMENT_AREAS = {
    TravelKind.STRAIGHT.value: "circle of the catchment radius around the site",
    TravelKind.NETWORK.value: "the points the site reaches within the catchment: the "
                              "street-network nodes it reaches, each with the area snapping to "
                              "it within the walk left",
}
"""How :func:`site_catchments` draws a site's catchment, per distance model."""


def catchment_warnings(base: Baseline, catchment: float | None) -> list[str]:
    """Warnings about a catchment given in what looks like the other unit: a straight-line
    catchment under :data:`SHORT_STRAIGHT_CATCHMENT_M` metres (minutes meant?), a network
    one over :data:`LONG_NETWORK_CATCHMENT_MIN` minutes (metres meant?)."""
    if catchment is None or not np.isfinite(catchment):
        return []
    if base.travel.kind == TravelKind.STRAIGHT and catchment < SHORT_STRAIGHT_CATCHMENT_M:
        return [f"catchment {catchment:g} m: did you mean minutes? this workspace uses "
                "straight-line metres (travel minutes need a workspace analysed with "
                "option `travel` network)"]
    if base.travel.kind == TravelKind.NETWORK and catchment > LONG_NETWORK_CATCHMENT_MIN:
        return [f"catchment {catchment:g} min: did you mean metres? this workspace uses "
                f"{base.travel.mode} travel minutes on its street network"]
    return []


def check_siting_options(
    base: Baseline,
    *,
    family: str,
    k: int,
    service_type: str | None = None,
    catchment: float | None = None,
    capacity: float | None = None,
) -> None:
    """Raise one ValidationError naming every bad option of :func:`recommend_sites`."""
    problems = Problems()
    if family not in FAMILIES:
        problems.add("family", "unknown family", value=family, allowed=FAMILIES)
    if k < 1:
        problems.add("k", "must be at least 1", value=k)
    if service_type is not None and family in FAMILIES and (
            service_type not in base.taxonomy.service_types
            or base.taxonomy.service_types[service_type].family != family
            or base.taxonomy.service_types[service_type].placeless):
        problems.add("service_type", f"not a service type with a place of family {family!r}",
                     value=service_type,
                     allowed=sorted(n for n, st in base.taxonomy.service_types.items()
                                    if st.family == family and not st.placeless))
    if catchment is not None and not (np.isfinite(catchment) and catchment > 0):
        problems.add("catchment", f"must be a positive number of {base.travel.unit}",
                     value=catchment)
    elif catchment is not None:
        limit, across = max_catchment(base)
        if catchment > limit:
            hint = "".join(f" ({w})" for w in catchment_warnings(base, catchment))
            problems.add("catchment", f"larger than the study area's extent: {across}, so "
                                      f"a catchment over {limit:,.0f} {base.travel.unit} "
                                      f"reaches nothing more{hint}", value=catchment,
                         allowed=f"a number of {base.travel.unit} from 0 (exclusive) to "
                                 f"{limit:,.0f}")
    if capacity is not None and not (np.isfinite(capacity) and 0 < capacity <= MAX_CAPACITY):
        problems.add("capacity", f"must be a positive number up to {MAX_CAPACITY:,.0f}",
                     value=capacity)
    problems.raise_if_any()


def max_catchment(base: Baseline) -> tuple[float, str]:
    """The largest catchment that can matter in the workspace's unit, and its reason in
    words: the diagonal of the neighborhoods' bounding box (projected CRS, metres)
    straight-line; on a street network, the minutes to walk it at 4.8 km/h (the slowest
    mode, so a longer time reaches nothing more in either mode)."""
    from safetygap.geo.network import CONNECTOR_M_PER_MIN

    minx, miny, maxx, maxy = base.neighborhoods.total_bounds
    diagonal = float(np.hypot(maxx - minx, maxy - miny))
    across = f"the city is {diagonal:,.0f} m across corner to corner"
    if base.travel.kind == TravelKind.NETWORK:
        minutes = diagonal / CONNECTOR_M_PER_MIN
        return minutes, f"{across}, {minutes:,.0f} min on foot at 4.8 km/h"
    return diagonal, across


SITING_BYTES_PER_PAIR = 12
"""Memory of one (candidate, call) pair while siting: the boolean CSR matrix (5 bytes) and
the optimiser's working copies of rows (counted generously)."""


def coverage_budget_error(exc: Exception, *, catchment: float, unit: str,
                          n_candidates: int, memory_budget_mb: float) -> ValidationError:
    """The message of a siting refused because its coverage matrix would pass the budget."""
    pairs = getattr(exc, "pairs", 0)
    need = pairs * SITING_BYTES_PER_PAIR / 1e6
    what = "about" if getattr(exc, "exact", True) else "more than"
    return ValidationError(Problem(
        "catchment", f"with a catchment of {catchment:,.6g} {unit} the {n_candidates:,} "
                     f"candidate sites reach {what} {pairs:,} (site, call) pairs, which "
                     f"would need {what} {need:,.0f} MB, more than the server's memory "
                     f"budget of {memory_budget_mb:,.0f} MB (SAFETYGAP_MEMORY_BUDGET_MB); "
                     "use a smaller catchment or fewer candidate sites"))


def recommend_sites(
    base: Baseline,
    *,
    family: str,
    k: int,
    candidates: gpd.GeoDataFrame | None = None,
    service_type: str | None = None,
    catchment: float | None = None,
    capacity: float | None = None,
    candidates_source: str = "user file",
    memory_budget_mb: float | None = None,
    keep_existing: bool = True,
) -> dict[str, Any]:
    """Choose ``k`` new sites of ``family`` covering the most need calls not yet covered.

    ``keep_existing`` False places the sites as if the family had no provider: every need
    call counts as not covered yet (coverage before 0, every resident unreached); the
    index changes of the areas still add the sites to the existing providers.

    Each site also has its ``address`` (the nearest intersection or street, when the
    workspace has street names, else None), the ``residents_newly_reached`` (areal
    weighting, :func:`~safetygap.scenarios.reach.residents`: within its catchment area
    and not within that of the existing providers, when kept, or of the sites ranked
    above) and the ``eligible_newly_covered`` (newly covered calls a non-police responder
    could take).

    ``memory_budget_mb`` bounds the coverage matrix (:data:`SITING_BYTES_PER_PAIR` per
    pair): past it, ValidationError naming the catchment (None: unbounded, the CLI).

    ``catchment`` overrides the service type's (in the workspace's unit:
    minutes on a network, metres straight-line). Without ``candidates`` the
    candidates are :func:`default_candidates`; given ones are described in the
    result as ``candidates_source`` (e.g. ``"request body"``). Each ranked site
    reports its marginal calls, the neighborhoods and wards whose calls it newly
    covers, and the change of their indices from adding it to the sites ranked
    above. Fewer than ``k`` sites come back when the candidates run out or none
    adds a call; ``stopped_reason`` says which.

    The steps, one function each: the options checked and completed
    (:func:`siting_parameters`), the candidates (:func:`candidate_sites`), the need
    calls not yet covered (:func:`uncovered_demand`), which candidate covers which of them
    (:func:`coverage_sets`), the greedy choice (:func:`safetygap.geo.siting.max_cover`),
    and each chosen site's gains (:func:`ranked_sites`).
    """
    from safetygap.geo.siting import max_cover

    t0 = time.perf_counter()
    check_siting_options(base, family=family, k=k, service_type=service_type,
                         catchment=catchment, capacity=capacity)
    stype, limit, cap = siting_parameters(base, family=family, service_type=service_type,
                                          catchment=catchment, capacity=capacity)
    if candidates is None:
        candidates, source = candidate_sites(base, service_type=stype, capacity=cap)
    else:
        source = candidates_source
    need, demand = uncovered_demand(base, family, keep_existing=keep_existing,
                                    service_type=stype)
    t1 = time.perf_counter()
    cover = coverage_sets(base, candidates, demand, catchment=limit,
                          memory_budget_mb=memory_budget_mb)
    t2 = time.perf_counter()
    picks = max_cover(cover, np.ones(len(demand)), k)
    t3 = time.perf_counter()
    chosen = candidates.iloc[[p.candidate for p in picks]].copy()
    chosen[base.travel.catchment_column] = limit
    sites = ranked_sites(base, chosen, [demand[p.newly_covered] for p in picks],
                         family=family, catchment=limit, keep_existing=keep_existing)
    cumulative = sites[-1]["cumulative_calls"] if sites else 0
    covered_before = (int((need & base.calls[C.COVERED].to_numpy()).sum())
                      if keep_existing else 0)
    n_need = int(need.sum())
    return {
        "workspace": str(base.path),
        "family": family,
        "k": k,
        "service_type": stype,
        "capacity": cap,
        "distance_model": base.travel.name,
        "catchment": limit,
        "catchment_unit": base.travel.unit,
        "warnings": catchment_warnings(base, catchment),
        "candidates": {"count": len(candidates), "source": source},
        "existing": "keep" if keep_existing else "ignore",
        "need_calls": n_need,
        "residents_newly_reached": float(sum(s["residents_newly_reached"] for s in sites)),
        "eligible_newly_covered": int(sum(s["eligible_newly_covered"] for s in sites)),
        "covered_before": covered_before,
        "covered_after": covered_before + cumulative,
        "coverage_before": covered_before / n_need if n_need else None,
        "coverage_after": (covered_before + cumulative) / n_need if n_need else None,
        "sites": sites,
        "stopped_early": len(picks) < k,
        "stopped_reason": stopped_reason(family, k=k, sites=len(picks),
                                         candidates=len(candidates), demand=len(demand),
                                         service_type=stype),
        "method": "greedy maximal covering with lazy evaluation, improved by swaps",
        "timings_s": {"coverage_sets": round(t2 - t1, 3), "optimise": round(t3 - t2, 3),
                      "total": round(time.perf_counter() - t0, 3)},
    }


def siting_parameters(base: Baseline, *, family: str, service_type: str | None,
                      catchment: float | None, capacity: float | None
                      ) -> tuple[str, float, float]:
    """The service type, catchment (the workspace's unit) and capacity of the new sites:
    those given, else the family's most common type, its catchment in the workspace's
    distance model and the type's median capacity."""
    stype = service_type or default_service_type(base, family)
    st = base.taxonomy.service_types[stype]
    limit = float(catchment if catchment is not None else
                  st.catchment_m if base.travel.kind == TravelKind.STRAIGHT
                  else st.catchment_for(str(base.travel.mode)))
    cap = float(capacity if capacity is not None else default_capacity(base, stype))
    return stype, limit, cap


def candidate_sites(base: Baseline, *, service_type: str, capacity: float
                    ) -> tuple[gpd.GeoDataFrame, str]:
    """The default candidates (:func:`default_candidates`) placed like providers, each named
    by the neighborhood it stands in ("network node 812 in Copper Trail"), and their
    source in words."""
    network = base.travel.kind == TravelKind.NETWORK
    cx, cy = default_candidates(base)
    what = "network node" if network else "grid point"
    frame = pd.DataFrame({"provider_id": [f"site{i + 1}" for i in range(len(cx))],
                          "name": [f"{what} {i + 1}" for i in range(len(cx))],
                          "service_type": service_type, "capacity": capacity,
                          "x": cx, "y": cy})
    candidates = new_providers(base, frame, where="candidates", crs=base.crs.to_string())
    names = dict(zip(base.neighborhoods[M.AREA_ID].astype(str),
                     base.neighborhoods["name"].astype(str), strict=True))
    candidates["name"] = [
        f"{n} in {names[str(a)]}" if isinstance(a, str) and str(a) in names else n
        for n, a in zip(candidates["name"], candidates["neighborhood_id"], strict=True)]
    source = ("network nodes" if network else f"{DEFAULT_GRID_M:.0f} m grid") + " in the city"
    return candidates, source


def uncovered_demand(base: Baseline, family: str, *, keep_existing: bool = True,
                     service_type: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The family's coverable need calls in areas (a mask over the calls) and the row
    positions of those with a location not yet covered (by the existing providers;
    ``keep_existing`` False: every located one) that ``service_type`` handles (every
    category of the family without one): the calls a new site can add."""
    calls = base.calls
    need = ((calls[C.FAMILY] == family).to_numpy() & base.in_areas
            & calls[C.COVERABLE].to_numpy())
    handled = np.ones(len(calls), dtype=bool)
    if service_type is not None:
        handles = base.taxonomy.service_types[service_type].handles
        handled = np.isin(calls[C.CATEGORY].to_numpy(), list(handles))
    already = calls[C.COVERED].to_numpy() if keep_existing else np.zeros(len(calls), bool)
    demand = np.flatnonzero(need & handled & ~already & np.isfinite(calls[C.X].to_numpy()))
    return need, demand


def coverage_sets(base: Baseline, candidates: gpd.GeoDataFrame, demand: np.ndarray, *,
                  catchment: float, memory_budget_mb: float | None) -> Any:
    """Which of the ``demand`` calls each candidate reaches within ``catchment`` (the
    workspace's distance model), as a sparse matrix; refused with a ValidationError naming
    the catchment when it would pass ``memory_budget_mb``."""
    from safetygap.geo.siting import (
        CoverageTooLarge,
        coverage_matrix_network,
        coverage_matrix_straight,
    )

    travel = base.travel
    cxy = (candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy())
    dxy = (base.calls[C.X].to_numpy()[demand], base.calls[C.Y].to_numpy()[demand])
    budget = None if memory_budget_mb is None else memory_budget_mb * 1e6
    max_pairs = None if budget is None else int(budget // SITING_BYTES_PER_PAIR)
    try:
        if travel.kind == TravelKind.NETWORK:
            assert travel.network is not None and travel.mode is not None
            return coverage_matrix_network(
                travel.network, cxy, dxy, mode=travel.mode, catchment_min=catchment,
                max_pairs=max_pairs, max_batch_bytes=None if budget is None
                else int(budget // 4))
        return coverage_matrix_straight(cxy, dxy, radius_m=catchment, max_pairs=max_pairs)
    except CoverageTooLarge as exc:
        assert memory_budget_mb is not None
        raise coverage_budget_error(exc, catchment=catchment, unit=travel.unit,
                                    n_candidates=len(cxy[0]),
                                    memory_budget_mb=memory_budget_mb) from exc


def ranked_sites(base: Baseline, chosen: gpd.GeoDataFrame, new_calls: list[np.ndarray], *,
                 family: str, catchment: float, keep_existing: bool = True
                 ) -> list[dict[str, Any]]:
    """Each chosen site in rank order: where it is, its address (nearest intersection or
    street, None without street names), the calls it newly covers (``new_calls``, row
    positions; those a non-police responder could take), the residents it newly reaches
    within ``catchment`` (beyond the existing providers' reach when ``keep_existing``, and
    the sites ranked above) and the areas that gain, with the change of their indices
    from adding it to the sites ranked above (:func:`recompute`, family only)."""
    from safetygap.geo.siting import catchment_area

    nb_prev, wd_prev = base.neighborhoods, base.wards
    lon, lat = lonlat(base, chosen.geometry.x.to_numpy(), chosen.geometry.y.to_numpy())
    n_idx = base.calls[C.N_IDX].to_numpy()
    w_idx = base.calls[C.W_IDX].to_numpy()
    sites = []
    cumulative = 0
    eligible = base.calls[C.ELIGIBLE].to_numpy()
    sx, sy = chosen.geometry.x.to_numpy(), chosen.geometry.y.to_numpy()
    addresses = (base.streets.describe(sx, sy) if base.streets is not None
                 else [None] * len(chosen))
    travel = base.travel
    reached = residents(
        base, [catchment_area(x, y, catchment=catchment, net=travel.network, mode=travel.mode)
               for x, y in zip(sx, sy, strict=True)],
        existing=existing_reach(base, family, service_types=set(
            chosen["service_type"].astype(str))) if keep_existing else None)
    for rank, calls in enumerate(new_calls, start=1):
        nb_after, wd_after, _ = recompute(base, chosen.iloc[:rank], family=family)
        cumulative += len(calls)
        row = chosen.iloc[rank - 1]
        sites.append({
            "rank": rank,
            "site_id": str(row["provider_id"]).removeprefix("new:"),
            "name": str(row["name"]),
            "longitude": float(lon[rank - 1]), "latitude": float(lat[rank - 1]),
            "x": round(float(row.geometry.x), METRE_DECIMALS),
            "y": round(float(row.geometry.y), METRE_DECIMALS),
            "neighborhood_id": row["neighborhood_id"], "ward_id": row["ward_id"],
            "address": addresses[rank - 1],
            "marginal_calls": len(calls),
            "cumulative_calls": cumulative,
            "eligible_newly_covered": int(eligible[calls].sum()),
            "residents_newly_reached": reached[rank - 1],
            "neighborhoods": _gains(calls, n_idx, nb_prev, nb_after, family),
            "wards": _gains(calls, w_idx, wd_prev, wd_after, family),
        })
        nb_prev, wd_prev = nb_after, wd_after
    return sites


def stopped_reason(family: str, *, k: int, sites: int, candidates: int, demand: int,
                   service_type: str | None = None) -> str | None:
    """Why fewer than ``k`` sites were chosen (None when ``k`` were): no need call of
    ``family`` (that ``service_type`` handles) left uncovered, every candidate used, or no
    (further) candidate adds a call."""
    if sites >= k:
        return None
    if demand == 0:
        if service_type is not None:
            return (f"every {family} need call a {service_type} handles is already covered "
                    "(or it handles none)")
        return f"every {family} need call is already covered"
    if sites == candidates:
        return f"all {candidates:,} candidate{'' if candidates == 1 else 's'} used"
    return f"no {'further ' if sites else ''}candidate covers any remaining call"


def _gains(new_calls: np.ndarray, idx: np.ndarray, before: pd.DataFrame,
           after: pd.DataFrame, family: str) -> list[dict[str, Any]]:
    """Areas whose calls a site newly covers, most calls first, with their index changes."""
    areas = idx[new_calls]
    areas = areas[areas >= 0]
    counts = np.bincount(areas, minlength=len(before))
    order = sorted(np.flatnonzero(counts), key=lambda i: (-counts[i], i))
    out = area_changes(before, after, [family], only=np.array(order, dtype=np.int64))
    for rec, i in zip(out, order, strict=True):
        rec["calls_newly_covered"] = int(counts[i])
        del rec["family"]
    return out
