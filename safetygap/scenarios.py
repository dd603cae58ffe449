"""What-if scenarios and site recommendations on a finished workspace.

Both recompute the indices with providers added, without touching the
workspace on disk, by running the pipeline's own steps
(:func:`safetygap.pipeline.coverage`, :func:`safetygap.pipeline.level_indices`;
for siting, its one-family form :func:`safetygap._steps.areas.family_layers`)
on what the workspace holds: the calls with their areas, family, flags and
coverage; the areas with their population; the providers; the taxonomy (in
the manifest); and the distance model (the street network file named in the
manifest, checked against its checksum).

* :func:`whatif` adds hypothetical providers and reports the change per area.
* :func:`recommend_sites` chooses ``k`` new sites of a family that cover the
  most need calls not yet covered (:mod:`safetygap.geo.siting`) and reports
  each site's marginal calls, the areas that gain and the change in their gap.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely
from pyproj import CRS, Transformer

from safetygap import FAMILIES
from safetygap._status import ANALYSED_STATUSES
from safetygap._steps.areas import (
    boundary_allocations,
    coverage,
    family_layers,
    level_indices,
)
from safetygap._steps.places import place_providers
from safetygap.errors import Problem, Problems, ValidationError
from safetygap.geo.aggregate import NONE_CODE
from safetygap.geo.join import assign_areas
from safetygap.geo.residents import residents_newly_reached
from safetygap.geo.streetnames import StreetNames
from safetygap.geo.travel import Travel
from safetygap.inputs import providers_from_frame
from safetygap.inputs._files import read_table
from safetygap.taxonomy import Taxonomy, taxonomy_from_content
from safetygap.workspace import Workspace

COMPARED = ("coverage", "access", "gap", "gap_class")
"""Measures compared before and after, per area and family."""
DEFAULT_GRID_M = 200.0
"""Spacing of default candidate sites for straight-line workspaces."""
SHORT_STRAIGHT_CATCHMENT_M = 100.0
"""A straight-line catchment given below this many metres is warned about (likely meant
as minutes)."""
LONG_NETWORK_CATCHMENT_MIN = 180.0
"""A network catchment given above this many minutes is warned about (likely meant as
metres)."""
MAX_OUTSIDE_M = 10_000.0
"""Hypothetical providers and candidate sites farther than this (metres) outside every
neighborhood of the city are refused."""


@dataclass(frozen=True)
class Baseline:
    """What a workspace holds, ready to recompute indices with more providers."""

    path: Path
    crs: CRS
    taxonomy: Taxonomy
    travel: Travel
    neighborhoods: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    calls: pd.DataFrame
    providers: gpd.GeoDataFrame
    in_areas: np.ndarray
    years: tuple[int, ...]
    boundary: dict[str, dict[str, Any]]
    policy: str
    tolerance_m: float
    streets: StreetNames | None = None
    """Street names that name proposed sites (None: the analysis had none)."""


def load_baseline(path: str | os.PathLike) -> Baseline:
    """Open a workspace and rebuild the inputs of :func:`level_indices` from it."""
    ws = Workspace.open(path)
    manifest = ws.manifest
    crs = CRS.from_user_input(manifest["crs"])
    taxonomy = taxonomy_from_content(manifest["taxonomy"]["content"],
                                     label=f"workspace {ws.path} manifest")
    opts = manifest.get("options", {})
    travel = ws.travel()

    nbhd = ws.neighborhoods
    wards = ws.wards
    cols = ["status", "neighborhood_id", "ward_id", "family", "year", "eligible", "diverted",
            "covered", "geometry"]
    if "diversion_base" in pq.read_schema(ws.path / "calls.parquet").names:
        cols.append("diversion_base")  # absent from workspaces written before the rules
    raw = ws.calls(columns=cols)
    geom = raw.geometry
    has = geom.notna().to_numpy() & ~geom.is_empty.to_numpy()
    x = np.full(len(raw), np.nan)
    y = np.full(len(raw), np.nan)
    x[has] = shapely.get_x(geom.to_numpy()[has])
    y[has] = shapely.get_y(geom.to_numpy()[has])
    fam_codes = {f: i for i, f in enumerate(FAMILIES)}
    calls = pd.DataFrame({
        "x": x,
        "y": y,
        "status": raw["status"].to_numpy(),
        "n_idx": _codes(raw["neighborhood_id"], nbhd["area_id"]),
        "w_idx": _codes(raw["ward_id"], wards["area_id"]),
        "family": raw["family"].astype(object).to_numpy(),
        "family_code": raw["family"].astype(object).map(fam_codes).fillna(NONE_CODE)
        .astype(np.int8).to_numpy(),
        "year": raw["year"].to_numpy(),
        "eligible": raw["eligible"].to_numpy(dtype=bool),
        "diverted": raw["diverted"].to_numpy(dtype=bool),
        "covered": raw["covered"].to_numpy(dtype=bool),
        "diversion_base": (raw["diversion_base"].to_numpy(dtype=bool)
                           if "diversion_base" in raw else np.ones(len(raw), dtype=bool)),
    })
    in_areas = calls["status"].isin(ANALYSED_STATUSES).to_numpy()
    years = tuple(sorted(int(v) for v in pd.unique(calls.loc[in_areas, "year"]) if v > 0))
    policy = opts.get("boundary_policy", "contain")
    tolerance_m = float(opts.get("boundary_tolerance_m", 5.0))
    boundary = boundary_allocations(calls, nbhd, wards, crs, tolerance_m, policies=(policy,))
    return Baseline(path=ws.path, crs=crs, taxonomy=taxonomy, travel=travel,
                    neighborhoods=nbhd, wards=wards, calls=calls, providers=ws.providers,
                    in_areas=in_areas, years=years, boundary=boundary, policy=policy,
                    tolerance_m=tolerance_m, streets=ws.street_names())


def _codes(values: pd.Series, ids: pd.Series) -> np.ndarray:
    """Row index in ``ids`` of each (categorical) area id in ``values``; -1 for none."""
    pos = {str(v): i for i, v in enumerate(ids)}
    cat = values.astype("category")
    lookup = np.array([pos.get(str(c), -1) for c in cat.cat.categories] + [-1], dtype=np.int64)
    codes = cat.cat.codes.to_numpy().astype(np.int64)
    return lookup[np.where(codes >= 0, codes, len(lookup) - 1)]


def new_providers(
    base: Baseline, frame: pd.DataFrame, *, where: str, crs: str | None = None,
    geometry: Any = None, geometry_crs: str | None = None,
    crs_flag: str = "--providers-crs",
) -> gpd.GeoDataFrame:
    """Validate hypothetical providers and place them like the pipeline places providers.

    A point more than :data:`MAX_OUTSIDE_M` outside the city's neighborhoods is refused,
    the message saying where the city is (most often the point belongs to another city
    than the one analysed), or that its two coordinates look exchanged when exchanging
    them puts it inside. ``crs_flag`` is the option that gives ``crs``, named in the
    messages.
    """
    rows, src_crs = providers_from_frame(frame, taxonomy=base.taxonomy, crs=crs, where=where,
                                         geometry=geometry, geometry_crs=geometry_crs,
                                         crs_flag=crs_flag)
    rows = rows.assign(provider_id=[f"new:{p}" for p in rows["provider_id"]])
    clash = set(rows["provider_id"]) & set(base.providers["provider_id"].astype(str))
    if clash:
        problems = Problems()
        problems.add(where, "provider_id already used in the workspace",
                     column="provider_id", value=sorted(clash)[0])
        problems.raise_if_any()
    gdf, _ = place_providers(rows, src_crs, base.crs, base.taxonomy, base.neighborhoods,
                        base.wards, mode=base.travel.mode or "walk")
    x, y = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    bad = ~(np.isfinite(x) & np.isfinite(y))
    outside = _distance_outside(base.neighborhoods, x, y)
    far = np.flatnonzero(bad | (outside > MAX_OUTSIDE_M))[:50]
    if not len(far):
        return gdf
    near = f"a point in the city or within {MAX_OUTSIDE_M / 1000:g} km of its neighborhoods"
    sx, sy = rows["x"].to_numpy(float)[far], rows["y"].to_numpy(float)[far]
    geographic = bool(CRS.from_user_input(src_crs).is_geographic)
    swapped = _inside(base, sy, sx, src_crs)
    unsigned = _near(base, -sx, sy, src_crs) if geographic else np.zeros(len(far), bool)
    span = _city_span(base)
    problems = Problems()
    for j, i in enumerate(far):
        what = (f"the coordinates cannot be placed in the workspace's CRS "
                f"({base.crs.to_string()})" if bad[i] else
                f"the point is {outside[i] / 1000:,.1f} km outside the city's neighborhoods")
        if swapped[j]:
            hint = ("with its two coordinates exchanged it falls inside the city: "
                    f"{'latitude and longitude' if geographic else 'x and y'} swapped?")
        elif unsigned[j]:
            hint = ("with the opposite sign of longitude it is in or near the city: a "
                    "longitude without its minus sign?")
        else:
            hint = f"is this point in the city being analysed? {span}"
            if not geographic:
                hint += f"; or are the x/y not in {src_crs}, see {crs_flag}?"
        problems.add(f"{where} row {i + 1}", f"{what} ({hint})", column="coordinates",
                     value=f"latitude {sy[j]}, longitude {sx[j]}" if geographic
                     else f"{sx[j]}, {sy[j]}", allowed=near)
    problems.raise_if_any()
    return gdf  # pragma: no cover - problems were added


def _projected(base: Baseline, x: np.ndarray, y: np.ndarray, crs: Any
               ) -> tuple[np.ndarray, np.ndarray]:
    """Points (``x``, ``y`` in ``crs``; longitude, latitude when geographic) in the
    workspace CRS; NaN where they cannot be placed."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if CRS.from_user_input(crs).is_geographic:
        ok &= (np.abs(x) <= 180) & (np.abs(y) <= 90)
    px, py = np.full(len(x), np.nan), np.full(len(x), np.nan)
    if ok.any():
        tr = Transformer.from_crs(crs, base.crs, always_xy=True)
        px[ok], py[ok] = tr.transform(x[ok], y[ok])
    px[~np.isfinite(px) | ~np.isfinite(py)] = np.nan
    return px, py


def _inside(base: Baseline, x: np.ndarray, y: np.ndarray, crs: Any) -> np.ndarray:
    """Whether each point (see :func:`_projected`) lies in a neighborhood."""
    return assign_areas(_projected(base, x, y, crs), base.neighborhoods, crs=base.crs) >= 0


def _near(base: Baseline, x: np.ndarray, y: np.ndarray, crs: Any) -> np.ndarray:
    """Whether each point (see :func:`_projected`) is within :data:`MAX_OUTSIDE_M` of a
    neighborhood (would be accepted)."""
    return _distance_outside(base.neighborhoods, *_projected(base, x, y, crs)) <= MAX_OUTSIDE_M


def _city_span(base: Baseline) -> str:
    """Where the city is, in words: its neighborhoods' latitude and longitude range."""
    lon0, lat0, lon1, lat1 = base.neighborhoods.geometry.to_crs("EPSG:4326").total_bounds
    return (f"the city spans latitude {lat0:.3f} to {lat1:.3f}, longitude {lon0:.3f} to "
            f"{lon1:.3f}")


def _distance_outside(areas: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance (CRS units: metres) from each point to the nearest area; 0 inside, NaN for
    points that are not finite."""
    out = np.full(len(x), np.nan)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if len(ok) and len(areas):
        tree = shapely.STRtree(areas.geometry.to_numpy())
        (pt, _), dist = tree.query_nearest(shapely.points(x[ok], y[ok]),
                                           return_distance=True, all_matches=False)
        out[ok[pt]] = dist
    return out


def recompute(base: Baseline, extra: gpd.GeoDataFrame, *, family: str | None = None
              ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray]:
    """Neighborhood and ward layers with ``extra`` providers added, and each call's
    coverage then (the workspace is not touched).

    By default every measure of every family (:func:`level_indices`, as the what-if
    job needs). With ``family``, only that family's period-"all" measures
    (:func:`family_layers`: the same values, without the work for the other
    families, the single years and the tidy table), as the siting job needs.
    """
    providers = (pd.concat([base.providers, extra], ignore_index=True) if len(extra)
                 else base.providers)
    providers = gpd.GeoDataFrame(providers, geometry="geometry", crs=base.providers.crs)
    calls = base.calls
    if len(extra):  # only calls not yet covered can change
        covered = calls["covered"].to_numpy().copy()
        todo = np.flatnonzero(~covered)
        covered[todo] = coverage(calls[["x", "y", "family_code"]].iloc[todo], extra,
                                 base.travel)
        calls = calls.assign(covered=covered)
    population = base.neighborhoods["population"].to_numpy(float)
    args = (calls, base.years, base.neighborhoods, base.wards, population, providers,
            base.boundary)
    if family is not None:
        nbhd, wards = family_layers(*args, family=family, policy=base.policy,
                                    travel=base.travel)
    else:
        nbhd, wards, _, _, _ = level_indices(*args, policy=base.policy,
                                             tolerance_m=base.tolerance_m, travel=base.travel)
    return nbhd, wards, calls["covered"].to_numpy()


def area_changes(
    before: pd.DataFrame, after: pd.DataFrame, families: list[str],
    *, only: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Per area (rows of ``only``, default all) and family: measures before, after, change."""
    out = []
    rows = np.arange(len(before)) if only is None else np.asarray(only)
    for i in rows:
        for family in families:
            rec: dict[str, Any] = {"area_id": str(before["area_id"].iat[i]),
                                   "name": str(before["name"].iat[i]), "family": family}
            for m in COMPARED:
                b = float(before[f"{m}_{family}"].iat[i])
                a = float(after[f"{m}_{family}"].iat[i])
                kind = _int if m == "gap_class" else _num
                rec[f"{m}_before"] = kind(b)
                rec[f"{m}_after"] = kind(a)
                rec[f"{m}_change"] = kind(a - b)
            out.append(rec)
    return out


def _num(v: float) -> float | None:
    return None if not np.isfinite(v) else round(float(v), 9)


def _int(v: float) -> int | None:
    """A class number (stored as float in the layers) as an int; None when undefined."""
    return None if not np.isfinite(v) else round(float(v))


LONLAT_DECIMALS = 7
"""Decimals of longitude/latitude in results: 1e-7 degrees is about 1 cm."""
METRE_DECIMALS = 1
"""Decimals of projected coordinates (metres) in results: 0.1 m."""


def _lonlat(base: Baseline, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4326 longitude, latitude of points in the workspace CRS, rounded to
    :data:`LONLAT_DECIMALS` (no float noise such as 43.718999999999994 in the JSON)."""
    tr = Transformer.from_crs(base.crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.round(lon, LONLAT_DECIMALS), np.round(lat, LONLAT_DECIMALS)


# -------------------------------------------------------------------- what-if


def whatif(base: Baseline, extra: gpd.GeoDataFrame) -> dict[str, Any]:
    """Indices recomputed with hypothetical providers; the change per area.

    Compares the recomputed layers with the workspace's stored ones for the
    families of the new providers (all areas, both levels).
    """
    t0 = time.perf_counter()
    nbhd, wards, covered = recompute(base, extra)
    families = [f for f in FAMILIES if (extra["family"] == f).any()]
    lon, lat = _lonlat(base, extra.geometry.x.to_numpy(), extra.geometry.y.to_numpy())
    was = base.calls["covered"].to_numpy()
    eligible = base.calls["eligible"].to_numpy()
    totals = {}
    for f in families:
        sel = (base.calls["family"] == f).to_numpy() & base.in_areas
        n = int(sel.sum())
        mine = extra[(extra["family"] == f).to_numpy()]
        totals[f] = {"need_calls": n,
                     "coverage_before": float(was[sel].mean()) if n else None,
                     "coverage_after": float(covered[sel].mean()) if n else None,
                     "calls_newly_covered": int(covered[sel].sum() - was[sel].sum()),
                     "eligible_newly_covered": int((covered & ~was & eligible & sel).sum()),
                     "residents_newly_reached": residents(
                         base, [reach_region(base, mine)], existing=existing_reach(base, f))[0]}
    return {
        "workspace": str(base.path),
        "distance_model": base.travel.name,
        "catchment_unit": base.travel.unit,
        "providers": [
            {"provider_id": r.provider_id.removeprefix("new:"), "name": r.name,
             "family": r.family, "service_type": r.service_type,
             "capacity": float(r.capacity),
             "catchment": float(getattr(r, base.travel.catchment_column)),
             "neighborhood_id": r.neighborhood_id, "ward_id": r.ward_id,
             "longitude": float(lo), "latitude": float(la)}
            for r, lo, la in zip(extra.itertuples(), lon, lat, strict=True)
        ],
        "families": families,
        "totals": totals,
        "neighborhoods": area_changes(base.neighborhoods, nbhd, families),
        "wards": area_changes(base.wards, wards, families),
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }


def read_hypothetical(base: Baseline, path: str | os.PathLike, *,
                      crs: str | None = None) -> gpd.GeoDataFrame:
    """Hypothetical providers from a file in the provider format (docs/PROVIDERS.md)."""
    table = read_table(path, where="providers")
    return new_providers(base, table.frame, where=f"providers {table.path}", crs=crs,
                         geometry=table.geometry, geometry_crs=table.crs)


# ---------------------------------------------------------------------- reach


def reach_region(base: Baseline, providers: pd.DataFrame) -> shapely.Geometry | None:
    """What ``providers`` reach together, in the workspace CRS: each one's catchment area
    (a disc straight-line, the area reached on the network: :func:`site_catchments`'
    rule), or the polygon an area-serving provider serves (``serves_wkt``); providers
    without a place (``placeless``) or a catchment reach no area. None: nothing."""
    from safetygap.geo.siting import catchment_area

    travel = base.travel
    col = travel.catchment_column
    geoms = []
    for r in providers.itertuples(index=False):
        wkt = str(getattr(r, "serves_wkt", "") or "")
        if wkt:
            geoms.append(shapely.from_wkt(wkt))
            continue
        if bool(getattr(r, "placeless", False) or False):
            continue
        c = float(getattr(r, col, np.nan))
        if not np.isfinite(c) or r.geometry is None or r.geometry.is_empty:
            continue
        geoms.append(catchment_area(r.geometry.x, r.geometry.y, catchment=c,
                                    net=travel.network, mode=travel.mode))
    return shapely.union_all(geoms) if geoms else None


_REACH: dict[tuple[int, str], shapely.Geometry | None] = {}
_REACH_LOCK = threading.Lock()


def existing_reach(base: Baseline, family: str) -> shapely.Geometry | None:
    """What the workspace's providers of ``family`` reach (:func:`reach_region`), computed
    once per baseline (forgotten with it)."""
    key = (id(base), family)
    with _REACH_LOCK:
        if key in _REACH:
            return _REACH[key]
    region = reach_region(base, base.providers[(base.providers["family"] == family)
                                               .to_numpy()])
    with _REACH_LOCK:
        if not any(k[0] == id(base) for k in _REACH):
            weakref.finalize(base, _forget_reach, id(base))
        _REACH[key] = region
    return region


def _forget_reach(base_id: int) -> None:
    with _REACH_LOCK:
        for k in [k for k in _REACH if k[0] == base_id]:
            del _REACH[k]


def residents(base: Baseline, regions: list[shapely.Geometry | None], *,
              existing: shapely.Geometry | None) -> list[float]:
    """Residents newly reached by each of the ranked ``regions`` (areal weighting over
    the neighborhoods, :mod:`safetygap.geo.residents`), rounded to whole residents."""
    got = residents_newly_reached(
        base.neighborhoods.geometry.to_numpy(),
        base.neighborhoods["population"].to_numpy(float),
        [r if r is not None else shapely.Polygon() for r in regions], existing=existing)
    return [float(round(v)) for v in got]


# --------------------------------------------------------------------- siting


def default_service_type(base: Baseline, family: str) -> str:
    """The family's most common service type among existing providers (else the first)."""
    pf = base.providers[base.providers["family"] == family]
    if len(pf):
        counts = pf["service_type"].value_counts()
        return str(sorted(counts[counts == counts.max()].index)[0])
    return sorted(n for n, s in base.taxonomy.service_types.items() if s.family == family)[0]


def default_capacity(base: Baseline, service_type: str) -> float:
    """Median capacity of the workspace's providers of ``service_type`` (else 1)."""
    same = base.providers[base.providers["service_type"] == service_type]
    return float(same["capacity"].median()) if len(same) else 1.0


def default_candidates(base: Baseline) -> tuple[np.ndarray, np.ndarray]:
    """Network nodes (routable in the mode) in the city, or a 200 m grid for straight-line."""
    city = shapely.union_all(base.neighborhoods.geometry.to_numpy())
    if base.travel.network is not None and base.travel.mode is not None:
        net = base.travel.network
        nodes = net.graph(base.travel.mode).routable
        x, y = net.x[nodes], net.y[nodes]
    else:
        minx, miny, maxx, maxy = city.bounds
        gx, gy = np.meshgrid(np.arange(minx, maxx + 1, DEFAULT_GRID_M),
                             np.arange(miny, maxy + 1, DEFAULT_GRID_M))
        x, y = gx.ravel(), gy.ravel()
    inside = shapely.intersects_xy(city.buffer(1.0), x, y)  # nodes on the limits count
    return x[inside], y[inside]


def read_candidates(base: Baseline, path: str | os.PathLike, *, crs: str | None = None,
                    service_type: str, capacity: float,
                    crs_flag: str = "--candidates-crs") -> gpd.GeoDataFrame:
    """Candidate sites from a file: points (lat/lon, x/y with ``crs``, or geometry).

    See :func:`candidates_from_frame` for the columns; ``crs_flag`` names the option
    that gives ``crs`` in messages.
    """
    table = read_table(path, where="candidates")
    return candidates_from_frame(base, table.frame, where=f"candidates {table.path}", crs=crs,
                                 service_type=service_type, capacity=capacity,
                                 geometry=table.geometry, geometry_crs=table.crs,
                                 crs_flag=crs_flag)


def candidates_from_frame(
    base: Baseline, frame: pd.DataFrame, *, where: str, service_type: str, capacity: float,
    crs: str | None = None, geometry: Any = None, geometry_crs: str | None = None,
    crs_flag: str = "--candidates-crs",
) -> gpd.GeoDataFrame:
    """Candidate sites from rows (a file read, or sites sent to the API), validated and
    placed like providers. Columns ``name``, ``service_type`` and ``capacity`` are
    optional here: where missing or blank they are ``candidate <row>`` and the siting
    run's own service type and capacity."""
    frame = frame.copy()
    n = len(frame)
    fills = {"name": [f"candidate {i + 1}" for i in range(n)],
             "service_type": [service_type] * n, "capacity": [capacity] * n}
    for col, default in fills.items():
        if col not in frame.columns:
            frame[col] = default
        else:
            blank = frame[col].isna() | (frame[col].astype("string").str.strip() == "")
            frame[col] = frame[col].astype(object).where(~blank.to_numpy(), pd.Series(
                default, index=frame.index, dtype=object))
    return new_providers(base, frame, where=where, crs=crs, geometry=geometry,
                         geometry_crs=geometry_crs, crs_flag=crs_flag)


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
    "straight": "circle of the catchment radius around the site",
    "network": "the points the site reaches within the catchment: the street-network nodes "
               "it reaches, each with the area snapping to it within the walk left",
}
"""How :func:`site_catchments` draws a site's catchment, per distance model."""


def catchment_warnings(base: Baseline, catchment: float | None) -> list[str]:
    """Warnings about a catchment given in what looks like the other unit: a straight-line
    catchment under :data:`SHORT_STRAIGHT_CATCHMENT_M` metres (minutes meant?), a network
    one over :data:`LONG_NETWORK_CATCHMENT_MIN` minutes (metres meant?)."""
    if catchment is None or not np.isfinite(catchment):
        return []
    if base.travel.kind == "straight" and catchment < SHORT_STRAIGHT_CATCHMENT_M:
        return [f"catchment {catchment:g} m: did you mean minutes? this workspace uses "
                "straight-line metres (travel minutes need a workspace analysed with "
                "--travel network)"]
    if base.travel.kind == "network" and catchment > LONG_NETWORK_CATCHMENT_MIN:
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
            or base.taxonomy.service_types[service_type].family != family):
        problems.add("service_type", f"not a service type of family {family!r}",
                     value=service_type,
                     allowed=sorted(n for n, st in base.taxonomy.service_types.items()
                                    if st.family == family))
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
    if capacity is not None and not (np.isfinite(capacity) and capacity > 0):
        problems.add("capacity", "must be a positive number", value=capacity)
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
    if base.travel.kind == "network":
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
    weighting, :func:`residents`: within its catchment area and not within that of the
    existing providers, when kept, or of the sites ranked above) and the
    ``eligible_newly_covered`` (newly covered calls a non-police responder could take).

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
    """
    from safetygap.geo.siting import (
        CoverageTooLarge,
        catchment_area,
        coverage_matrix_network,
        coverage_matrix_straight,
        max_cover,
    )

    t0 = time.perf_counter()
    check_siting_options(base, family=family, k=k, service_type=service_type,
                         catchment=catchment, capacity=capacity)
    stype = service_type or default_service_type(base, family)
    st = base.taxonomy.service_types[stype]
    travel = base.travel
    limit = float(catchment if catchment is not None else
                  st.catchment_m if travel.kind == "straight"
                  else st.catchment_for(str(travel.mode)))
    cap = float(capacity if capacity is not None else default_capacity(base, stype))

    if candidates is None:
        cx, cy = default_candidates(base)
        what = "network node" if travel.kind == "network" else "grid point"
        frame = pd.DataFrame({"provider_id": [f"site{i + 1}" for i in range(len(cx))],
                              "name": [f"{what} {i + 1}" for i in range(len(cx))],
                              "service_type": stype, "capacity": cap, "x": cx, "y": cy})
        candidates = new_providers(base, frame, where="candidates", crs=base.crs.to_string())
        # name default candidates by the neighborhood they stand in, so a ranked list reads
        # "network node 812 in Copper Trail" rather than a bare number
        names = dict(zip(base.neighborhoods["area_id"].astype(str),
                         base.neighborhoods["name"].astype(str), strict=True))
        candidates["name"] = [
            f"{n} in {names[str(a)]}" if isinstance(a, str) and str(a) in names else n
            for n, a in zip(candidates["name"], candidates["neighborhood_id"], strict=True)]
        source = ("network nodes" if travel.kind == "network"
                  else f"{DEFAULT_GRID_M:.0f} m grid") + " in the city"
    else:
        source = candidates_source
    cx, cy = candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy()

    calls = base.calls
    fam = (calls["family"] == family).to_numpy() & base.in_areas
    already = calls["covered"].to_numpy() if keep_existing else np.zeros(len(calls), bool)
    demand = np.flatnonzero(fam & ~already & np.isfinite(calls["x"].to_numpy()))
    dxy = (calls["x"].to_numpy()[demand], calls["y"].to_numpy()[demand])
    t1 = time.perf_counter()
    budget = None if memory_budget_mb is None else memory_budget_mb * 1e6
    max_pairs = None if budget is None else int(budget // SITING_BYTES_PER_PAIR)
    try:
        if travel.kind == "network":
            assert travel.network is not None and travel.mode is not None
            cover = coverage_matrix_network(
                travel.network, (cx, cy), dxy, mode=travel.mode, catchment_min=limit,
                max_pairs=max_pairs, max_batch_bytes=None if budget is None
                else int(budget // 4))
        else:
            cover = coverage_matrix_straight((cx, cy), dxy, radius_m=limit,
                                             max_pairs=max_pairs)
    except CoverageTooLarge as exc:
        assert memory_budget_mb is not None
        raise coverage_budget_error(exc, catchment=limit, unit=travel.unit,
                                    n_candidates=len(cx),
                                    memory_budget_mb=memory_budget_mb) from exc
    t2 = time.perf_counter()
    picks = max_cover(cover, np.ones(len(demand)), k)
    t3 = time.perf_counter()

    # indices after each site, against the layers after the sites ranked above it
    chosen = candidates.iloc[[p.candidate for p in picks]].copy()
    chosen[travel.catchment_column] = limit
    nb_prev, wd_prev = base.neighborhoods, base.wards
    lon, lat = _lonlat(base, chosen.geometry.x.to_numpy(), chosen.geometry.y.to_numpy())
    sites = []
    cumulative = 0
    n_idx = calls["n_idx"].to_numpy()
    w_idx = calls["w_idx"].to_numpy()
    eligible = calls["eligible"].to_numpy()
    sx, sy = chosen.geometry.x.to_numpy(), chosen.geometry.y.to_numpy()
    addresses = (base.streets.describe(sx, sy) if base.streets is not None
                 else [None] * len(chosen))
    reached = residents(
        base, [catchment_area(x, y, catchment=limit, net=travel.network, mode=travel.mode)
               for x, y in zip(sx, sy, strict=True)],
        existing=existing_reach(base, family) if keep_existing else None)
    for rank, p in enumerate(picks, start=1):
        nb_after, wd_after, _ = recompute(base, chosen.iloc[:rank], family=family)
        new_calls = demand[p.newly_covered]
        cumulative += len(new_calls)
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
            "marginal_calls": len(new_calls),
            "cumulative_calls": cumulative,
            "eligible_newly_covered": int(eligible[new_calls].sum()),
            "residents_newly_reached": reached[rank - 1],
            "neighborhoods": _gains(new_calls, n_idx, nb_prev, nb_after, family),
            "wards": _gains(new_calls, w_idx, wd_prev, wd_after, family),
        })
        nb_prev, wd_prev = nb_after, wd_after
    need = int(fam.sum())
    covered_before = int((fam & already).sum())
    return {
        "workspace": str(base.path),
        "family": family,
        "k": k,
        "service_type": stype,
        "capacity": cap,
        "distance_model": travel.name,
        "catchment": limit,
        "catchment_unit": travel.unit,
        "warnings": catchment_warnings(base, catchment),
        "candidates": {"count": len(candidates), "source": source},
        "existing": "keep" if keep_existing else "ignore",
        "need_calls": need,
        "residents_newly_reached": float(sum(s["residents_newly_reached"] for s in sites)),
        "eligible_newly_covered": int(sum(s["eligible_newly_covered"] for s in sites)),
        "covered_before": covered_before,
        "covered_after": covered_before + cumulative,
        "coverage_before": covered_before / need if need else None,
        "coverage_after": (covered_before + cumulative) / need if need else None,
        "sites": sites,
        "stopped_early": len(picks) < k,
        "stopped_reason": stopped_reason(family, k=k, sites=len(picks),
                                         candidates=len(candidates), demand=len(demand)),
        "method": "greedy maximal covering with lazy evaluation, improved by swaps",
        "timings_s": {"coverage_sets": round(t2 - t1, 3), "optimise": round(t3 - t2, 3),
                      "total": round(time.perf_counter() - t0, 3)},
    }


def stopped_reason(family: str, *, k: int, sites: int, candidates: int, demand: int
                   ) -> str | None:
    """Why fewer than ``k`` sites were chosen (None when ``k`` were): no need call of
    ``family`` left uncovered, every candidate used, or no (further) candidate adds a
    call."""
    if sites >= k:
        return None
    if demand == 0:
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
