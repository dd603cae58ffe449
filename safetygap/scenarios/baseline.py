"""What a workspace holds, rebuilt for recomputing its indices with more providers
(:class:`Baseline`, :func:`load_baseline`), the recomputation itself
(:func:`recompute`) and the per-area comparison of before and after."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from safetygap.boundaries import crosswalk
from safetygap.defaults import DEFAULT_BOUNDARY_TOLERANCE_M
from safetygap.geo.aggregate import NONE_CODE
from safetygap.geo.bivariate import class_label
from safetygap.geo.demand import demand_points
from safetygap.geo.streetnames import StreetNames
from safetygap.geo.timespan import NO_DAY, covered_spans, day_numbers, period_years
from safetygap.geo.travel import Travel
from safetygap.methods import Methods
from safetygap.stages.areas import (
    Demand,
    MeasureContext,
    boundary_allocations,
    coverage,
    family_layers,
    level_indices,
    ward_weights,
    with_placeless,
)
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.taxonomy import Taxonomy, taxonomy_from_content
from safetygap.vocab import BoundaryPolicy, RowStatus
from safetygap.workspace import Workspace

COMPARED = (M.COVERAGE, M.REACH, M.ACCESS, M.GAP, M.GAP_CLASS)
"""Measures compared before and after (with the change), per area and family; the
need/access class is compared too (before and after, with its label)."""


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
    context: MeasureContext
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
    calls = C.working_table(ws.path / C.FILE, nbhd[M.AREA_ID], wards[M.AREA_ID],
                            none_code=NONE_CODE, coverable=taxonomy.coverable)
    sources = list(calls.attrs["sources"])
    calls[C.DAY] = day_numbers(calls[C.TIME].to_numpy())
    # each layer placed on its own; calls not counted as demand are placed in neither
    # (C.working_table)
    in_areas = (calls[C.N_IDX].to_numpy() >= 0) | (calls[C.W_IDX].to_numpy() >= 0)
    years = tuple(sorted(int(v) for v in pd.unique(calls.loc[in_areas, C.YEAR])
                         if v > 0))
    policy = opts.get("boundary_policy", BoundaryPolicy.CONTAIN.value)
    tolerance_m = float(opts.get("boundary_tolerance_m", DEFAULT_BOUNDARY_TOLERANCE_M))
    boundary = boundary_allocations(calls, nbhd, wards, crs, tolerance_m, policies=(policy,))
    methods = Methods.from_dict(opts.get("methods"))
    context = _context(ws, calls, nbhd, wards, sources, years, methods)
    return Baseline(path=ws.path, crs=crs, taxonomy=taxonomy, travel=travel,
                    neighborhoods=nbhd, wards=wards, calls=calls,
                    providers=with_placeless(ws.providers, taxonomy),
                    in_areas=in_areas, years=years, boundary=boundary, policy=policy,
                    tolerance_m=tolerance_m, context=context, streets=ws.street_names())


def _context(ws: Workspace, calls: pd.DataFrame, nbhd: gpd.GeoDataFrame,
             wards: gpd.GeoDataFrame, sources: list[str], years: tuple[int, ...],
             methods: Methods) -> MeasureContext:
    """The analysis' demand points (as stored; rebuilt from the settings for a workspace
    written before they were stored), each call's point and weight, and the covered years
    (from the calls' dates, as the analysis measured them)."""
    population = nbhd[M.POPULATION].to_numpy(float)
    points = demand_points(nbhd, population, model=methods.demand,
                           cell_m=methods.demand_cell_m, zones=wards)
    stored = ws.demand_points()
    if stored is not None and len(stored) == len(points):
        # the same pieces in the same order; the stored residents keep what a population
        # layer (not kept in the workspace) gave them
        points = replace(points, residents=stored["residents"].to_numpy(float))
    status = calls[C.STATUS].astype(str).to_numpy()
    dup = (status == RowStatus.DUPLICATE_ID) | (status == RowStatus.DATE_OUTSIDE_WINDOW)
    spans = covered_spans(np.where(dup, NO_DAY, calls[C.DAY].to_numpy()),
                          calls[C.SOURCE_CODE].to_numpy(), sources, gap_days=methods.gap_days)
    source_years = period_years(spans, (M.ALL_PERIOD, *(str(y) for y in years)))
    per_call = source_years[calls[C.SOURCE_CODE].to_numpy(), 0]
    weight = np.divide(1.0, per_call, out=np.zeros(len(per_call)), where=per_call > 0)
    point = points.locate(calls[C.X].to_numpy(), calls[C.Y].to_numpy(),
                          calls[C.N_IDX].to_numpy(), calls[C.W_IDX].to_numpy())
    demand = Demand(points, ward_weights(points, wards, crosswalk(nbhd, wards)), point, weight)
    return MeasureContext(demand, methods, source_years)


def recompute(base: Baseline, extra: gpd.GeoDataFrame, *, family: str | None = None
              ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray]:
    """Neighborhood and ward layers with ``extra`` providers added, and each call's
    coverage then (the workspace is not touched).

    By default every measure of every family (:func:`level_indices`, as the what-if
    job needs). With ``family``, only that family's period-"all" measures
    (:func:`family_layers`: the same values, without the work for the other
    families, the single years and the tidy table), as the siting job needs.
    """
    extra = with_placeless(extra, base.taxonomy)
    providers = (pd.concat([base.providers, extra], ignore_index=True) if len(extra)
                 else base.providers)
    providers = gpd.GeoDataFrame(providers, geometry="geometry", crs=base.providers.crs)
    calls = base.calls
    if len(extra):  # only calls not yet covered can change
        covered = calls[C.COVERED].to_numpy().copy()
        todo = np.flatnonzero(~covered)
        covered[todo] = coverage(calls[[C.X, C.Y, C.CATEGORY]].iloc[todo], extra,
                                 base.travel, base.taxonomy)
        calls = calls.assign(covered=covered)
    population = base.neighborhoods[M.POPULATION].to_numpy(float)
    args = (calls, base.years, base.neighborhoods, base.wards, population, providers,
            base.boundary)
    if family is not None:
        nbhd, wards = family_layers(*args, family=family, policy=base.policy,
                                    travel=base.travel, context=base.context)
    else:
        nbhd, wards, _, _, _ = level_indices(*args, policy=base.policy,
                                             tolerance_m=base.tolerance_m, travel=base.travel,
                                             context=base.context)
    return nbhd, wards, calls[C.COVERED].to_numpy()


def area_changes(
    before: pd.DataFrame, after: pd.DataFrame, families: list[str],
    *, only: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Per area (rows of ``only``, default all) and family: measures before, after, change."""
    out = []
    rows = np.arange(len(before)) if only is None else np.asarray(only)
    for i in rows:
        for family in families:
            rec: dict[str, Any] = {"area_id": str(before[M.AREA_ID].iat[i]),
                                   "name": str(before["name"].iat[i]), "family": family}
            for m in COMPARED:
                b = float(before[M.column(m, family)].iat[i])
                a = float(after[M.column(m, family)].iat[i])
                kind = _int if m == M.GAP_CLASS else _num
                rec[f"{m}_before"] = kind(b)
                rec[f"{m}_after"] = kind(a)
                rec[f"{m}_change"] = kind(a - b)
            for key, label_key, frame in (("class_before", "class_label_before", before),
                                          ("class_after", "class_label_after", after)):
                c = _int(float(frame[M.column(M.CLASS, family)].iat[i]))
                rec[key] = c
                rec[label_key] = class_label(c or 0)
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


def lonlat(base: Baseline, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4326 longitude, latitude of points in the workspace CRS, rounded to
    :data:`LONLAT_DECIMALS` (no float noise such as 43.718999999999994 in the JSON)."""
    tr = Transformer.from_crs(base.crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.round(lon, LONLAT_DECIMALS), np.round(lat, LONLAT_DECIMALS)
