"""The analysis pipeline: inputs in, an :class:`Analysis` out.

Steps (each a pure function in :mod:`safetygap.geo` or :mod:`safetygap.boundaries`):

1. load the taxonomy and both boundary layers; choose the projected analysis CRS
2. read population and match it to neighborhoods by name
3. read providers, place them in areas
4. read calls, classify them, flag row faults, join them to neighborhoods and wards
5. calls within ``boundary_tolerance_m`` of a neighborhood or ward line
   (:mod:`safetygap.geo.boundary`), allocated under both boundary policies
6. coverage of each need call by its family's providers (straight-line metres, or
   travel minutes on a street network: ``AnalysisOptions(travel="network", mode=...)``)
7. counts per area, period and family under both policies; E2SFCA
   accessibility; indices (the chosen policy's are the outputs, the other's
   only feed ``summary["boundary_sensitivity"]``)
8. ward population by area-weighted apportioning from neighborhoods
9. summary and data-quality report

:func:`analyze` returns everything in memory; :func:`safetygap.workspace.write_workspace`
writes it to disk.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from safetygap import FAMILIES, __version__
from safetygap._hashing import sha256_file
from safetygap._progress import Progress
from safetygap._status import (
    ANALYSED_STATUSES,
    STATUS_ORDER,
    placed,
    row_faults,
    status_codes,
)
from safetygap.boundaries import (
    apportion,
    crosswalk,
    load_boundaries,
    match_names,
)
from safetygap.boundaries.names import MINNEAPOLIS_ALIASES
from safetygap.errors import Problems
from safetygap.geo.access import e2sfca_from_cost_matrix
from safetygap.geo.aggregate import NONE_CODE, AreaCounts, count_calls
from safetygap.geo.boundary import (
    BOUNDARY_POLICIES,
    DEFAULT_TOLERANCE_M,
    Allocation,
    allocate,
    near_boundaries,
)
from safetygap.geo.indices import build_indices, tidy_frame, wide_frame
from safetygap.geo.join import assign_areas
from safetygap.geo.network import StreetNetwork
from safetygap.geo.travel import Travel
from safetygap.inputs import ColumnMap, read_calls, read_population, read_providers
from safetygap.inputs.calls import COORD_MISSING, COORD_ZERO
from safetygap.taxonomy import Taxonomy, load_taxonomy

ENGINES = ("memory", "dask")
"""Where the join and per-area counts run: in this process, or on a dask cluster."""


@dataclass(frozen=True)
class AnalysisInputs:
    """Paths of the input files; population is optional."""

    calls: Path
    providers: Path
    neighborhoods: Path
    wards: Path
    population: Path | None = None
    taxonomy: Path | None = None
    network: Path | None = None
    """Street network (OSM XML or GraphML) for ``travel="network"``."""


@dataclass(frozen=True)
class AnalysisOptions:
    """Options of one run (all keyword-only at the call sites)."""

    columns: ColumnMap = field(default_factory=ColumnMap)
    preset: str | None = None
    crs: str | None = None  # projected analysis CRS; default: the neighborhoods' own or UTM
    neighborhood_id: str | None = None
    neighborhood_name: str | None = None
    ward_id: str | None = None
    ward_name: str | None = None
    population_name_column: str | None = None
    population_column: str | None = None
    providers_crs: str | None = None
    encoding: str = "utf-8"
    label: str | None = None  # free text shown on maps; the demo sets its synthetic label
    synthetic: bool = False
    boundary_tolerance_m: float = DEFAULT_TOLERANCE_M  # metres, see safetygap.geo.boundary
    boundary_policy: str = "contain"  # "contain" or "split"
    travel: str = "straight"  # "straight" (metres) or "network" (minutes on inputs.network)
    mode: str = "walk"  # network travel mode: "walk" or "drive"
    engine: str = "memory"  # "memory", or "dask": join and counts on a dask cluster
    scheduler: str | None = None  # dask scheduler address; None: a local cluster
    staging: Path | None = None  # dask: folder for the partitioned calls (visible to workers)
    partitions: int | None = None  # dask: number of calls partitions (default by size)

    def validate(self) -> None:
        """Raise one ValidationError listing every bad option value."""
        problems = Problems()
        if self.boundary_policy not in BOUNDARY_POLICIES:
            problems.add("boundary_policy", "unknown boundary policy",
                         value=self.boundary_policy, allowed=BOUNDARY_POLICIES)
        tol = self.boundary_tolerance_m
        if not isinstance(tol, (int, float)) or not np.isfinite(tol) or tol < 0:
            problems.add("boundary_tolerance_m", "must be a number of metres >= 0", value=tol)
        if self.engine not in ENGINES:
            problems.add("engine", "unknown engine", value=self.engine,
                         allowed=", ".join(ENGINES))
        if self.partitions is not None and self.partitions < 1:
            problems.add("partitions", "must be at least 1", value=self.partitions)
        problems.raise_if_any()

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "columns"}
        d["columns"] = self.columns.to_dict()
        d["staging"] = None if self.staging is None else str(self.staging)
        return d


@dataclass
class Analysis:
    """Everything one run produced, in memory."""

    neighborhoods: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    calls: pd.DataFrame
    providers: gpd.GeoDataFrame
    indices: pd.DataFrame
    summary: dict[str, Any]
    quality: dict[str, Any]
    manifest: dict[str, Any]
    crs: str
    timings: dict[str, float] = field(default_factory=dict)
    network: StreetNetwork | None = None  # the street network of a network-travel run


def analysis_crs(areas: gpd.GeoDataFrame, requested: str | None) -> CRS:
    """The projected CRS the analysis runs in (metres)."""
    if requested:
        crs = CRS.from_user_input(requested)
        problems = Problems()
        if not crs.is_projected:
            problems.add("crs", "the analysis CRS must be projected (metres)",
                         value=requested, allowed="e.g. EPSG:26915 or a UTM zone")
        problems.raise_if_any()
        return crs
    crs = CRS.from_user_input(areas.crs)
    if crs.is_projected:
        return crs
    utm = areas.estimate_utm_crs()
    assert utm is not None
    return utm


def _to_crs_xy(x: np.ndarray, y: np.ndarray, src: str, dst: CRS) -> tuple[np.ndarray, np.ndarray]:
    src_crs = CRS.from_user_input(src)
    if src_crs == dst:
        return x.astype(float, copy=True), y.astype(float, copy=True)
    tr = Transformer.from_crs(src_crs, dst, always_xy=True)
    ok = np.isfinite(x) & np.isfinite(y)
    ox = np.full(len(x), np.nan)
    oy = np.full(len(y), np.nan)
    if ok.any():
        ox[ok], oy[ok] = tr.transform(x[ok], y[ok])
    return ox, oy


def analyze(
    inputs: AnalysisInputs,
    *,
    options: AnalysisOptions | None = None,
    progress: Progress | None = None,
) -> Analysis:
    """Run the whole analysis and return it in memory (see module docstring)."""
    opts = options or AnalysisOptions()
    opts.validate()
    prog = progress or Progress(9, enabled=False)

    with prog.step("loading taxonomy and boundaries") as info:
        taxonomy = load_taxonomy(inputs.taxonomy)
        nbhd, nbhd_report = load_boundaries(
            inputs.neighborhoods, layer="neighborhoods",
            id_column=opts.neighborhood_id, name_column=opts.neighborhood_name)
        wards, ward_report = load_boundaries(
            inputs.wards, layer="wards", id_column=opts.ward_id, name_column=opts.ward_name)
        crs = analysis_crs(nbhd, opts.crs)
        nbhd = nbhd.to_crs(crs)
        wards = wards.to_crs(crs)
        nbhd_report.measure(nbhd)  # reprojection, overlapping pairs (warned)
        ward_report.measure(wards)
        info["note"] = f"{len(nbhd)} neighborhoods, {len(wards)} wards, CRS {crs.to_string()}"

    with prog.step("loading street network") as info:
        travel = load_travel(opts.travel, opts.mode, inputs.network, crs,
                             bounds=nbhd.total_bounds)
        info["note"] = (travel.name if travel.network is None else
                        f"{travel.name}, {travel.network.n_nodes:,} nodes, "
                        f"{travel.network.n_segments:,} segments")

    with prog.step("matching population") as info:
        population, pop_quality = _population(inputs.population, nbhd, opts)
        info["note"] = f"{int(np.isfinite(population).sum())} of {len(nbhd)} areas with population"

    with prog.step("reading providers") as info:
        prov = read_providers(inputs.providers, taxonomy=taxonomy, crs=opts.providers_crs,
                              encoding=opts.encoding)
        providers, prov_quality = _providers(prov.frame, prov.crs, crs, taxonomy, nbhd, wards,
                                             mode=opts.mode)
        info["note"] = f"{len(providers)} providers"

    with prog.step("reading and classifying calls") as info:
        cin = read_calls(inputs.calls, columns=opts.columns, encoding=opts.encoding)
        calls = cin.frame
        calls["x"], calls["y"] = _to_crs_xy(calls["x"].to_numpy(), calls["y"].to_numpy(),
                                             cin.crs, crs)
        calls = _features(calls, taxonomy)
        info["note"] = f"{len(calls):,} rows"

    contain_counts = None
    with prog.step(f"joining calls to neighborhoods and wards ({opts.engine} engine)") as info:
        calls["covered"] = coverage(calls, providers, travel)  # needs no area
        if opts.engine == "dask":
            from safetygap.distributed import join_and_count

            joined = join_and_count(calls, nbhd, wards, crs=crs.to_string(),
                                    scheduler=opts.scheduler, staging=opts.staging,
                                    partitions=opts.partitions)
            n_idx, w_idx, contain_counts = joined.n_idx, joined.w_idx, joined.counts
            info["note"] = joined.note
        else:
            xy = (calls["x"].to_numpy(), calls["y"].to_numpy())
            n_idx = assign_areas(xy, nbhd, crs=crs)
            w_idx = assign_areas(xy, wards, crs=crs)
            info["note"] = f"{int((n_idx >= 0).sum()):,} in a neighborhood"
        swapped = swapped_coordinates(cin, n_idx, nbhd)  # raises when the file is swapped

    with prog.step("flagging faults") as info:
        calls, examples = _flag(calls, cin.examples, n_idx, w_idx)
        info["note"] = ", ".join(f"{k} {v:,}" for k, v in
                                 calls["status"].value_counts().items() if k != "ok")

    with prog.step("calls near neighborhood and ward lines") as info:
        boundary = boundary_allocations(calls, nbhd, wards, crs, opts.boundary_tolerance_m)
        info["note"] = (f"{boundary['neighborhood']['shared']:,} calls within "
                        f"{opts.boundary_tolerance_m:g} m of a line between neighborhoods")

    with prog.step("coverage, accessibility and indices") as info:
        in_areas = calls["n_idx"].to_numpy() >= 0
        years = tuple(sorted(int(y) for y in pd.unique(calls["year"].to_numpy()[in_areas])
                             if y > 0))
        result = level_indices(calls, years, nbhd, wards, population, providers,
                               boundary, policy=opts.boundary_policy,
                               tolerance_m=opts.boundary_tolerance_m, travel=travel,
                               contain_counts=None if contain_counts is None
                               else contain_counts(years))
        info["note"] = f"{travel.name}; years {', '.join(map(str, years)) or 'none'}"

    with prog.step("summary and data-quality report") as info:
        nbhd_out, ward_out, tidy, cw_quality, sensitivity = result
        quality = _quality(calls, examples, cin, pop_quality, prov_quality,
                           nbhd_report, ward_report, cw_quality)
        quality["boundaries"]["near_boundary"] = _near_boundary_quality(boundary, opts)
        quality["travel"] = travel_quality(travel, calls, providers)
        quality["calls"]["faults"]["swapped_coordinates"] = swapped["rows"]
        if swapped["examples"]:
            quality["calls"]["examples"]["swapped_coordinates"] = swapped["examples"]
        summary = _summary(calls, nbhd_out, ward_out, years, quality, opts, taxonomy, crs)
        summary["boundary_sensitivity"] = sensitivity
        summary["travel"] = travel_summary(travel, taxonomy)
        manifest = _manifest(inputs, opts, taxonomy, crs, cin.columns)
        manifest["travel"] = summary["travel"]
        info["note"] = f"{quality['calls']['analysed_in_areas']:,} calls in areas"

    calls_out = _calls_output(calls, nbhd, wards, boundary)
    return Analysis(
        neighborhoods=nbhd_out,
        wards=ward_out,
        calls=calls_out,
        providers=providers,
        indices=tidy,
        summary=summary,
        quality=quality,
        manifest=manifest,
        crs=crs.to_string(),
        timings=dict(prog.timings),
        network=travel.network,
    )


# -------------------------------------------------------------------- travel

SNAP_WARN_M = 500.0
"""Points snapped farther than this from the street network are reported."""


def load_travel(
    kind: str,
    mode: str,
    network: Path | None,
    crs: CRS,
    *,
    bounds: np.ndarray | None = None,
) -> Travel:
    """The run's distance model; loads the street network for ``kind == "network"``.

    ``bounds`` (minx, miny, maxx, maxy in ``crs``) of the city: a network
    that does not overlap them is refused (a network of another city).
    """
    from safetygap.geo.network import load_network

    problems = Problems()
    if kind == "network" and network is None:
        problems.add("network", "--travel network needs a street network file",
                     allowed="--network FILE (OSM XML or GraphML; "
                             "`safetygap network fetch` downloads one)")
    if kind == "straight" and network is not None:
        problems.add("network", "a street network was given but the distance model is "
                     "straight-line", value=str(network), allowed="add --travel network")
    problems.raise_if_any()
    if kind != "network":
        return Travel(kind)
    assert network is not None
    net = load_network(network, crs=crs)
    travel = Travel("network", mode, net)
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        g = net.graph(mode)
        nx_, ny_ = net.x[g.routable], net.y[g.routable]
        if not ((nx_ >= minx) & (nx_ <= maxx) & (ny_ >= miny) & (ny_ <= maxy)).any():
            problems.add(str(network), "the street network does not overlap the city",
                         value=f"network x {nx_.min():.0f}..{nx_.max():.0f}, "
                               f"y {ny_.min():.0f}..{ny_.max():.0f}",
                         allowed=f"nodes within x {minx:.0f}..{maxx:.0f}, "
                                 f"y {miny:.0f}..{maxy:.0f} ({crs.to_string()})")
            problems.raise_if_any()
    return travel


def _snap_stats(travel: Travel, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from safetygap.geo.network import snap

    assert travel.network is not None and travel.mode is not None
    _, dist = snap(travel.network, x, y, mode=travel.mode)
    d = dist[np.isfinite(dist)]
    if len(d) == 0:
        return {"points": 0}
    return {
        "points": len(d),
        "median_m": round(float(np.median(d)), 1),
        "p95_m": round(float(np.percentile(d, 95)), 1),
        "max_m": round(float(d.max()), 1),
        f"over_{SNAP_WARN_M:.0f}_m": int((d > SNAP_WARN_M).sum()),
    }


def travel_quality(travel: Travel, calls: pd.DataFrame,
                   providers: gpd.GeoDataFrame) -> dict[str, Any]:
    """How far calls and providers lie from the street network (network runs only)."""
    out: dict[str, Any] = {"distance_model": travel.name}
    if travel.network is None:
        return out
    placed = calls["status"].isin(ANALYSED_STATUSES).to_numpy()
    out["calls_snap"] = _snap_stats(travel, calls["x"].to_numpy(float)[placed],
                                    calls["y"].to_numpy(float)[placed])
    out["providers_snap"] = _snap_stats(travel, providers.geometry.x.to_numpy(),
                                        providers.geometry.y.to_numpy())
    out["notes"] = ("every point is snapped to the nearest routable node of the mode "
                    "(largest strongly connected component); the straight leg to it is "
                    "walked at 4.8 km/h and added to its travel times")
    return out


def travel_summary(travel: Travel, taxonomy: Taxonomy) -> dict[str, Any]:
    """The distance model and every service type's catchment in its unit."""
    out = travel.describe()
    out["catchments"] = {
        name: (st.catchment_m if travel.kind == "straight"
               else st.catchment_for(str(travel.mode)))
        for name, st in sorted(taxonomy.service_types.items())
    }
    return out


def _catchment_labels(providers: gpd.GeoDataFrame, travel: Travel) -> dict[str, str]:
    """Per family, e.g. ``"bcr_team 12 min; fire_station 4 min"`` (service types present)."""
    col = travel.catchment_column
    out = {}
    for family in FAMILIES:
        pf = providers[providers["family"] == family]
        pairs = pf.groupby("service_type")[col].first().sort_index()
        out[family] = "; ".join(f"{st} {v:g} {travel.unit}" for st, v in pairs.items())
    return out


# ---------------------------------------------------------------- population


def _population(
    path: Path | None, nbhd: gpd.GeoDataFrame, opts: AnalysisOptions
) -> tuple[np.ndarray, dict[str, Any]]:
    pop = np.full(len(nbhd), np.nan)
    if path is None:
        return pop, {"file": None, "areas_without_population": nbhd["name"].tolist(),
                     "areas_with_zero_population": []}
    pin = read_population(path, name_column=opts.population_name_column,
                          population_column=opts.population_column)
    names = pin.frame["name"].tolist()
    matched = match_names(names, nbhd["name"].tolist(), aliases=MINNEAPOLIS_ALIASES)
    by_id = {}
    for name, count in zip(names, pin.frame["population"], strict=True):
        target = matched[name]
        if target is not None:
            by_id[target] = by_id.get(target, 0.0) + float(count)
    pop = nbhd["name"].map(by_id).to_numpy(dtype=float, na_value=np.nan)
    renamed = {n: t for n, t in matched.items() if t is not None and t != n}
    return pop, {
        "file": str(pin.path),
        "rows": len(pin.frame) + len(pin.bad_rows),
        "matched_rows": sum(t is not None for t in matched.values()),
        "matched_by_alias_or_folding": renamed,
        "unmatched_rows": sorted(n for n, t in matched.items() if t is None),
        "bad_rows": pin.bad_rows,
        "areas_without_population": sorted(nbhd["name"][~np.isfinite(pop)].tolist()),
        "areas_with_zero_population": sorted(nbhd["name"][pop == 0].tolist()),
        "notes": ("Names are matched after folding case, accents, punctuation and '&'/'and', "
                  "then through the alias table of renamed neighborhoods "
                  "(safetygap.boundaries.names.MINNEAPOLIS_ALIASES). Areas without population "
                  "or with population 0 get no rate and so no gap (NaN, gap class 0)."),
        "total_population_matched": float(np.nansum(pop)),
    }


# ----------------------------------------------------------------- providers


def _providers(
    frame: pd.DataFrame,
    src_crs: str,
    crs: CRS,
    taxonomy: Taxonomy,
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    *,
    mode: str,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    x, y = _to_crs_xy(frame["x"].to_numpy(float), frame["y"].to_numpy(float), src_crs, crs)
    out = frame.drop(columns=["x", "y"]).copy()
    out["catchment_m"] = [taxonomy.service_types[s].catchment_m for s in out["service_type"]]
    out["catchment_min"] = [taxonomy.service_types[s].catchment_for(mode)
                            for s in out["service_type"]]
    n_idx = assign_areas((x, y), nbhd, crs=crs)
    w_idx = assign_areas((x, y), wards, crs=crs)
    out["neighborhood_id"] = np.where(n_idx >= 0, nbhd["area_id"].to_numpy()[n_idx], None)
    out["ward_id"] = np.where(w_idx >= 0, wards["area_id"].to_numpy()[w_idx], None)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x, y), crs=crs)
    outside = gdf[(n_idx < 0) | (w_idx < 0)]
    return gdf, {
        "rows": len(gdf),
        "by_family": {f: int((gdf["family"] == f).sum()) for f in FAMILIES},
        "outside_boundaries": len(outside),
        "outside_examples": outside[["provider_id", "name"]].head(10).to_dict("records"),
    }


# --------------------------------------------------------------------- calls


def _features(calls: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """Row features known before the join: taxonomy classes, agency, year, duplicate ids."""
    calls = calls.copy(deep=False)  # new columns only: the input frame is untouched
    cls = taxonomy.classify(calls["call_type"])
    calls["category"] = cls["category"].array
    calls["family"] = cls["family"].array
    calls["eligible"] = cls["eligible"].to_numpy(dtype=bool)
    calls["known"] = cls["known"].to_numpy(dtype=bool)
    fam_codes = {f: i for i, f in enumerate(FAMILIES)}
    codes, uniques = pd.factorize(calls["family"])
    lookup = np.array([fam_codes.get(u, NONE_CODE) for u in uniques] + [NONE_CODE],
                      dtype=np.int8)
    calls["family_code"] = lookup[np.where(codes < 0, len(uniques), codes)]
    div = taxonomy.diverted(calls["agency"])
    calls["diverted"] = div["diverted"].to_numpy(dtype=bool)
    calls["agency_known"] = div["agency_known"].to_numpy(dtype=bool)
    calls["year"] = calls["time"].dt.year.fillna(-1).astype(np.int32)
    ids = calls["call_id"]
    calls["dup"] = (ids.duplicated(keep="first") & ids.notna()).to_numpy()
    return calls


def _flag(
    calls: pd.DataFrame,
    read_examples: dict[str, list[dict]],
    n_idx: np.ndarray,
    w_idx: np.ndarray,
) -> tuple[pd.DataFrame, dict[str, list[dict]]]:
    """Exclusive status per row (:data:`STATUS_ORDER`), placed area indices, examples."""
    calls = calls.copy(deep=False)
    coord = calls["coord_fault"].to_numpy()
    known = calls["known"].to_numpy()
    faults = row_faults(calls["dup"].to_numpy(), coord, n_idx, w_idx,
                        calls["time"].isna().to_numpy(), known)
    status = status_codes(faults)
    calls["status"] = pd.Categorical.from_codes(status, categories=list(STATUS_ORDER))
    in_areas = placed(status)
    calls["n_idx"] = np.where(in_areas, n_idx, -1)
    calls["w_idx"] = np.where(in_areas, w_idx, -1)

    examples = {k: v for k, v in read_examples.items() if v}
    for kind in ("duplicate_id", "outside_boundaries", "unknown_call_type"):
        mask = faults[kind]
        if mask.any():
            col = {"duplicate_id": "call_id", "unknown_call_type": "call_type"}.get(kind)
            sub = calls.iloc[np.flatnonzero(mask)[:5]]
            examples[kind] = [
                {
                    "row": int(r.row),
                    "id": None if pd.isna(r.call_id) else str(r.call_id),
                    "column": col or "x/y",
                    "value": (str(getattr(r, col)) if col and not pd.isna(getattr(r, col))
                              else f"{r.x:.1f}, {r.y:.1f}" if col is None else None),
                }
                for r in sub.itertuples()
            ]
    calls.attrs["faults"] = {k: int(v.sum()) for k, v in faults.items()}
    calls.attrs["faults"]["unknown_agency"] = int((~calls["agency_known"]).sum())
    calls.attrs["faults"]["outside_neighborhoods"] = int(((coord == 0) & (n_idx < 0)).sum())
    calls.attrs["faults"]["outside_wards"] = int(((coord == 0) & (w_idx < 0)).sum())
    calls.attrs["unknown_types"] = (
        calls["call_type"][~known].fillna("<missing>").value_counts().head(20).to_dict())
    return calls, examples


SWAPPED_FILE_SHARE = 0.5
"""Above this share of located rows inside the city only once x and y are exchanged,
the calls file is refused as mapped the wrong way round."""


def swapped_coordinates(cin: Any, n_idx: np.ndarray, nbhd: gpd.GeoDataFrame
                        ) -> dict[str, Any]:
    """Rows outside the neighborhoods (or out of range) that fall inside one with their
    two coordinates exchanged (latitude read as longitude).

    When they are more than :data:`SWAPPED_FILE_SHARE` of the rows with numeric
    coordinates, the columns are mapped the wrong way round: a ValidationError
    names the file, the columns and an example. Otherwise returns ``{"rows": n,
    "examples": [...]}`` for the quality report (the rows keep their status,
    ``outside_boundaries`` or ``invalid_coordinates``, and a warning is issued).
    """
    from safetygap.geo.swap import swapped_placement

    out: dict[str, Any] = {"rows": 0, "examples": []}
    if cin.source_xy is None:
        return out
    x, y = cin.source_xy
    fault = cin.frame["coord_fault"].to_numpy()
    located = np.isfinite(x) & np.isfinite(y) & ~np.isin(fault, (COORD_MISSING, COORD_ZERO))
    unplaced = located & (n_idx < 0)
    if not unplaced.any():
        return out
    alt = swapped_placement(np.where(unplaced, x, np.nan), np.where(unplaced, y, np.nan),
                            nbhd, src_crs=cin.crs)
    hits = np.flatnonzero(unplaced & (alt >= 0))
    rows = cin.frame["row"].to_numpy()
    out["rows"] = len(hits)
    out["examples"] = [{"row": int(rows[i]), "column": cin.coordinate_label,
                        "value": f"{x[i]:g}, {y[i]:g}",
                        "swapped_into": str(nbhd["area_id"].iat[alt[i]])} for i in hits[:5]]
    if len(hits) > SWAPPED_FILE_SHARE * located.sum():
        ex = out["examples"][0]
        problems = Problems()
        problems.add(
            f"calls {cin.path}",
            f"the coordinates look swapped: {len(hits):,} of {int(located.sum()):,} rows "
            f"with coordinates fall outside the neighborhoods but inside them with the two "
            f"values exchanged (row {ex['row']}: {ex['value']})",
            column=cin.coordinate_label,
            allowed="exchange the two columns (e.g. --lat <longitude column> --lon "
                    "<latitude column>, or fix the file)")
        problems.raise_if_any()
    if len(hits):
        warnings.warn(f"calls {cin.path}: {len(hits):,} rows outside the neighborhoods would "
                      f"fall inside with their coordinates exchanged (e.g. row "
                      f"{out['examples'][0]['row']}); they are counted as "
                      "outside_boundaries/invalid_coordinates, see quality.json "
                      "calls.examples.swapped_coordinates", stacklevel=2)
    return out


# ------------------------------------------------------------------- indices


def _provider_stats(
    providers: gpd.GeoDataFrame, key: str, ids: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    pos = {v: i for i, v in enumerate(ids)}
    count: dict[str, np.ndarray] = {}
    cap: dict[str, np.ndarray] = {}
    for family in FAMILIES:
        pf = providers[(providers["family"] == family) & providers[key].notna()]
        idx = np.array([pos[v] for v in pf[key]], dtype=np.int64)
        count[family] = np.bincount(idx, minlength=len(ids)).astype(np.int64)
        cap[family] = np.bincount(idx, weights=pf["capacity"].to_numpy(float),
                                  minlength=len(ids))
    return count, cap


def coverage(calls: pd.DataFrame, providers: gpd.GeoDataFrame, travel: Travel) -> np.ndarray:
    """Boolean per call: within the catchment of a provider of the call's family.

    Calls need ``x``, ``y`` (analysis CRS) and ``family_code``; providers
    ``family`` and the travel model's catchment column (metres or minutes).
    """
    covered = np.zeros(len(calls), dtype=bool)
    fam_code = calls["family_code"].to_numpy()
    x = calls["x"].to_numpy(float)
    y = calls["y"].to_numpy(float)
    for f, family in enumerate(FAMILIES):
        sel = fam_code == f
        pf = providers[providers["family"] == family]
        if not sel.any() or len(pf) == 0:
            continue
        covered[sel] = travel.covered(
            (x[sel], y[sel]), (pf.geometry.x.to_numpy(), pf.geometry.y.to_numpy()),
            pf[travel.catchment_column].to_numpy(float))
    return covered


def _access(
    nbhd: gpd.GeoDataFrame, population: np.ndarray, providers: gpd.GeoDataFrame,
    travel: Travel,
) -> dict[str, np.ndarray]:
    """E2SFCA per family from neighborhood centroids, capacity per 1,000 residents."""
    cent = nbhd.geometry.centroid
    d = (cent.x.to_numpy(), cent.y.to_numpy())
    out = {}
    for family in FAMILIES:
        pf = providers[providers["family"] == family]
        catchment = pf[travel.catchment_column].to_numpy(float)
        cost = travel.cost_matrix((pf.geometry.x.to_numpy(), pf.geometry.y.to_numpy()), d,
                                  cutoff=float(catchment.max()) if len(catchment) else None)
        acc = e2sfca_from_cost_matrix(population, pf["capacity"].to_numpy(float), cost,
                                      catchment=catchment)
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
        if "split" in policies:
            x = np.where(placed, calls["x"].to_numpy(), np.nan)
            y = np.where(placed, calls["y"].to_numpy(), np.nan)
            near = near_boundaries(x, y, areas, tolerance_m=tolerance_m, crs=crs)
            within = np.zeros(len(calls), dtype=bool)
            within[near[0]] = True
            entry["within"] = int(within.sum())
        for pol in policies:
            entry[pol] = allocate(assigned, near, policy=pol)
        if "split" in policies:
            entry["shared"] = int((entry["split"].k >= 2).sum())
        out[level] = entry
    return out


def _count(
    calls: pd.DataFrame, alloc: Allocation, n_areas: int, years: tuple[int, ...]
) -> AreaCounts:
    c = alloc.call
    return count_calls(
        alloc.area, calls["year"].to_numpy()[c], calls["family_code"].to_numpy()[c],
        calls["diverted"].to_numpy()[c], calls["eligible"].to_numpy()[c],
        calls["covered"].to_numpy()[c], n_areas=n_areas, years=years,
        weight=None if alloc.policy == "contain" else alloc.weight)


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
    boundary sensitivity). Used by
    :func:`analyze` and by the what-if and siting jobs.
    """
    # neighborhoods
    n_prov, n_cap = _provider_stats(providers, "neighborhood_id", nbhd["area_id"].to_numpy())
    n_access = _access(nbhd, population, providers, travel)
    policies = [p for p in BOUNDARY_POLICIES if p in boundary["neighborhood"]]
    n_results = {
        pol: build_indices(contain_counts[0] if contain_counts and pol == "contain" else
                           _count(calls, boundary["neighborhood"][pol], len(nbhd), years),
                           population=population, access=n_access, providers=n_prov,
                           capacity=n_cap)
        for pol in policies
    }

    # wards: calls joined directly; population and access apportioned by area
    cw = crosswalk(nbhd, wards)
    w_pop = apportion(population, cw, len(wards))
    w_has_pop = np.bincount(cw["target"], weights=np.isfinite(population)[cw["source"]]
                            .astype(float), minlength=len(wards)) > 0
    w_pop = np.where(w_has_pop, w_pop, np.nan)
    w_access = {}
    for family in FAMILIES:
        num = apportion(np.nan_to_num(population) * n_access[family], cw, len(wards))
        den = apportion(np.nan_to_num(population), cw, len(wards))
        w_access[family] = np.divide(num, den, out=np.full(len(wards), np.nan), where=den > 0)
    w_prov, w_cap = _provider_stats(providers, "ward_id", wards["area_id"].to_numpy())
    w_results = {
        pol: build_indices(contain_counts[1] if contain_counts and pol == "contain" else
                           _count(calls, boundary["ward"][pol], len(wards), years),
                           population=w_pop, access=w_access, providers=w_prov,
                           capacity=w_cap)
        for pol in policies
    }
    n_result = n_results[policy]
    w_result = w_results[policy]
    sensitivity = None if len(policies) < 2 else _boundary_sensitivity(
        {"neighborhood": n_results, "ward": w_results},
        {"neighborhood": nbhd, "ward": wards}, boundary, policy=policy,
        tolerance_m=tolerance_m)

    def layer(base: gpd.GeoDataFrame, pop: np.ndarray, result: dict) -> gpd.GeoDataFrame:
        wide = wide_frame(result)
        head = pd.DataFrame({
            "area_id": base["area_id"].to_numpy(),
            "name": base["name"].to_numpy(),
            "population": pop,
            "area_km2": base.geometry.area.to_numpy() / 1e6,
        })
        frame = pd.concat([head, wide], axis=1)
        return gpd.GeoDataFrame(frame, geometry=base.geometry.to_numpy(), crs=base.crs)

    nbhd_out = layer(nbhd, population, n_result)
    ward_out = layer(wards, w_pop, w_result)
    tidy = pd.concat([
        tidy_frame(n_result, level="neighborhood", area_ids=nbhd["area_id"].to_numpy()),
        tidy_frame(w_result, level="ward", area_ids=wards["area_id"].to_numpy()),
    ], ignore_index=True)
    tidy["distance_model"] = travel.name
    tidy["catchment"] = tidy["family"].map(_catchment_labels(providers, travel)).fillna("")
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
                {"area_id": str(layer["area_id"].iat[i]), "name": str(layer["name"].iat[i]),
                 f"gap_class_{policy}": int(mine[i]), f"gap_class_{other}": int(theirs[i])}
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


def _near_boundary_quality(boundary: dict[str, dict[str, Any]],
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


# ---------------------------------------------------------- quality, summary


def _quality(
    calls: pd.DataFrame,
    examples: dict[str, list[dict]],
    cin: Any,
    pop_quality: dict[str, Any],
    prov_quality: dict[str, Any],
    nbhd_report: Any,
    ward_report: Any,
    cw_quality: dict[str, Any],
) -> dict[str, Any]:
    counts = calls["status"].value_counts()
    status_counts = {s: int(counts.get(s, 0)) for s in STATUS_ORDER}
    analysed = sum(status_counts[s] for s in ANALYSED_STATUSES)
    return {
        "calls": {
            "file": str(cin.path),
            "input_rows": len(calls),
            "status_order": list(STATUS_ORDER),
            "status_counts": status_counts,
            "analysed_in_areas": analysed,
            "excluded_from_areas": len(calls) - analysed,
            "faults": calls.attrs.get("faults", {}),
            "examples": examples,
            "unknown_call_types": calls.attrs.get("unknown_types", {}),
            "notes": (
                "status_counts are exclusive (each row has the first status in status_order "
                "that applies) and add up to input_rows; faults count every row with the fault."
                " Calls with status ok, unparseable_date or unknown_call_type are counted in "
                "areas (unparseable dates only in period 'all'); the others are kept in "
                "calls.parquet with no area."
            ),
        },
        "providers": prov_quality,
        "population": pop_quality,
        "boundaries": {
            "neighborhoods": nbhd_report.to_dict(),
            "wards": ward_report.to_dict(),
            "crosswalk": cw_quality,
        },
    }


def _top(layer: gpd.GeoDataFrame, family: str, n: int = 10) -> list[dict[str, Any]]:
    cols = ["area_id", "name", f"gap_{family}", f"gap_class_{family}", f"rate_{family}",
            f"access_{family}", f"coverage_{family}", f"calls_{family}"]
    top = layer[cols].dropna(subset=[f"gap_{family}"])
    top = top.sort_values([f"gap_{family}", "area_id"], ascending=[False, True]).head(n)
    return [
        {"area_id": r[0], "name": r[1], "gap": _num(r[2]), "gap_class": int(r[3]),
         "rate": _num(r[4]), "access": _num(r[5]), "coverage": _num(r[6]), "calls": _num(r[7])}
        for r in top.itertuples(index=False)
    ]


def _num(v: Any) -> float | None:
    v = float(v)
    return None if not np.isfinite(v) else round(v, 6)


def _summary(
    calls: pd.DataFrame,
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    years: tuple[int, ...],
    quality: dict[str, Any],
    opts: AnalysisOptions,
    taxonomy: Taxonomy,
    crs: CRS,
) -> dict[str, Any]:
    uniq = calls["status"].cat.codes.to_numpy() != STATUS_ORDER.index("duplicate_id")
    placed_rows = calls["n_idx"].to_numpy() >= 0
    year = calls["year"].to_numpy()
    fam = calls["family_code"].to_numpy()
    diverted = calls["diverted"].to_numpy()
    covered = calls["covered"].to_numpy()
    end = calls["eligible"].to_numpy() & ~diverted

    def share(mask: np.ndarray, values: np.ndarray) -> float | None:
        n = int(mask.sum())
        return None if n == 0 else round(float(values[mask].sum() / n), 6)

    by_year = {str(y): uniq & (year == y) for y in years}
    fam_counts = np.bincount(fam[placed_rows], minlength=NONE_CODE + 1)
    return {
        "label": opts.label or "",
        "synthetic": opts.synthetic,
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "safetygap_version": __version__,
        "crs": crs.to_string(),
        "years": list(years),
        "taxonomy": {"name": taxonomy.name, "version": taxonomy.version},
        "totals": {
            "input_rows": len(calls),
            "unique_calls": int(uniq.sum()),
            "calls_in_areas": int(placed_rows.sum()),
            "by_family": {f: int(fam_counts[i]) for i, f in enumerate((*FAMILIES, "none"))},
            "by_year": {str(y): int((placed_rows & (year == y)).sum()) for y in years},
            "neighborhoods": len(nbhd),
            "wards": len(wards),
            "population": _num(np.nansum(nbhd["population"].to_numpy(float))),
        },
        "diverted_share": {"all": share(uniq, diverted),
                           **{y: share(m, diverted) for y, m in by_year.items()}},
        "eligible_not_diverted_share": {"all": share(uniq, end),
                                        **{y: share(m, end) for y, m in by_year.items()}},
        "diverted_by_agency": {str(k): int(v) for k, v in
                               calls["agency"][uniq & diverted].value_counts().items()},
        "families": {
            f: {
                "need_calls": int(fam_counts[i]),
                "coverage": share(placed_rows & (fam == i), covered),
            }
            for i, f in enumerate(FAMILIES)
        },
        "top_underserved": {
            "neighborhood": {f: _top(nbhd, f) for f in FAMILIES},
            "ward": {f: _top(wards, f, n=5) for f in FAMILIES},
        },
        "quality": {
            "status_counts": quality["calls"]["status_counts"],
            "areas_without_population": len(quality["population"]["areas_without_population"]),
            "areas_with_zero_population": len(
                quality["population"]["areas_with_zero_population"]),
            "providers_outside_boundaries": quality["providers"]["outside_boundaries"],
        },
        "diverted_share_basis": "unique calls (duplicate ids excluded), all locations",
    }


def _manifest(
    inputs: AnalysisInputs,
    opts: AnalysisOptions,
    taxonomy: Taxonomy,
    crs: CRS,
    columns: ColumnMap,
) -> dict[str, Any]:
    files = {}
    for role in ("calls", "providers", "neighborhoods", "wards", "population", "taxonomy",
                 "network"):
        p = getattr(inputs, role)
        if p is None:
            continue
        p = Path(p)
        files[role] = {"path": str(p.resolve()), "bytes": p.stat().st_size,
                       "sha256": sha256_file(p)}
    return {
        "safetygap_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": files,
        "options": opts.to_dict() | {"columns": columns.to_dict()},
        "crs": crs.to_string(),
        "taxonomy": {
            "name": taxonomy.name,
            "version": taxonomy.version,
            "source": taxonomy.source,
            "checksum": taxonomy.checksum(),
            "content": taxonomy.to_dict(),
        },
        "synthetic": opts.synthetic,
        "label": opts.label or "",
        "host": os.uname().nodename if hasattr(os, "uname") else "",
    }


def _calls_output(calls: pd.DataFrame, nbhd: gpd.GeoDataFrame,
                  wards: gpd.GeoDataFrame, boundary: dict[str, dict[str, Any]]) -> pd.DataFrame:
    n_ids = nbhd["area_id"].to_numpy()
    w_ids = wards["area_id"].to_numpy()
    n_idx = calls["n_idx"].to_numpy()
    w_idx = calls["w_idx"].to_numpy()
    out = pd.DataFrame({
        "row": calls["row"].to_numpy(),
        "call_id": calls["call_id"].array,
        "call_type": calls["call_type"].array,
        "agency": calls["agency"].array,
        "time": calls["time"].to_numpy(),
        "year": calls["year"].to_numpy(),
        "status": calls["status"].array,
        "neighborhood_id": pd.Categorical.from_codes(np.where(n_idx >= 0, n_idx, -1),
                                                     categories=pd.Index(n_ids)),
        "ward_id": pd.Categorical.from_codes(np.where(w_idx >= 0, w_idx, -1),
                                             categories=pd.Index(w_ids)),
        "category": pd.Categorical(calls["category"].array),
        "family": pd.Categorical(calls["family"].array),
        "eligible": calls["eligible"].to_numpy(),
        "diverted": calls["diverted"].to_numpy(),
        "covered": calls["covered"].to_numpy(),
        "split_neighborhoods": boundary["neighborhood"]["split"].k.astype(np.int16),
        "split_wards": boundary["ward"]["split"].k.astype(np.int16),
        "x": calls["x"].to_numpy(),
        "y": calls["y"].to_numpy(),
    })
    return out


def default_inputs(directory: str | os.PathLike) -> AnalysisInputs:
    """The input paths the demo city writes into ``directory``."""
    d = Path(directory)
    return AnalysisInputs(
        calls=d / "calls.csv",
        providers=d / "providers.csv",
        neighborhoods=d / "neighborhoods.gpkg",
        wards=d / "wards.gpkg",
        population=d / "population.csv",
    )
