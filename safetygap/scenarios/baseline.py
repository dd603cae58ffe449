"""What a workspace holds, rebuilt for recomputing its indices with more providers
(:class:`Baseline`, :func:`load_baseline`), the recomputation itself
(:func:`recompute`) and the per-area comparison of before and after."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from safetygap.defaults import DEFAULT_BOUNDARY_TOLERANCE_M
from safetygap.geo.aggregate import NONE_CODE
from safetygap.geo.streetnames import StreetNames
from safetygap.geo.travel import Travel
from safetygap.stages.areas import (
    boundary_allocations,
    coverage,
    family_layers,
    level_indices,
)
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.taxonomy import Taxonomy, taxonomy_from_content
from safetygap.vocab import BoundaryPolicy
from safetygap.workspace import Workspace

COMPARED = (M.COVERAGE, M.ACCESS, M.GAP, M.GAP_CLASS)
"""Measures compared before and after, per area and family."""


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
    calls = C.working_table(ws.path / C.FILE, nbhd[M.AREA_ID],
                                      wards[M.AREA_ID], none_code=NONE_CODE)
    # each layer placed on its own; calls not counted as demand are placed in neither
    # (C.working_table)
    in_areas = (calls[C.N_IDX].to_numpy() >= 0) | (calls[C.W_IDX].to_numpy() >= 0)
    years = tuple(sorted(int(v) for v in pd.unique(calls.loc[in_areas, C.YEAR])
                         if v > 0))
    policy = opts.get("boundary_policy", BoundaryPolicy.CONTAIN.value)
    tolerance_m = float(opts.get("boundary_tolerance_m", DEFAULT_BOUNDARY_TOLERANCE_M))
    boundary = boundary_allocations(calls, nbhd, wards, crs, tolerance_m, policies=(policy,))
    return Baseline(path=ws.path, crs=crs, taxonomy=taxonomy, travel=travel,
                    neighborhoods=nbhd, wards=wards, calls=calls, providers=ws.providers,
                    in_areas=in_areas, years=years, boundary=boundary, policy=policy,
                    tolerance_m=tolerance_m, streets=ws.street_names())


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
        covered = calls[C.COVERED].to_numpy().copy()
        todo = np.flatnonzero(~covered)
        covered[todo] = coverage(calls[[C.X, C.Y, C.FAMILY_CODE]].iloc[todo], extra,
                                 base.travel)
        calls = calls.assign(covered=covered)
    population = base.neighborhoods[M.POPULATION].to_numpy(float)
    args = (calls, base.years, base.neighborhoods, base.wards, population, providers,
            base.boundary)
    if family is not None:
        nbhd, wards = family_layers(*args, family=family, policy=base.policy,
                                    travel=base.travel)
    else:
        nbhd, wards, _, _, _ = level_indices(*args, policy=base.policy,
                                             tolerance_m=base.tolerance_m, travel=base.travel)
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


def lonlat(base: Baseline, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4326 longitude, latitude of points in the workspace CRS, rounded to
    :data:`LONLAT_DECIMALS` (no float noise such as 43.718999999999994 in the JSON)."""
    tr = Transformer.from_crs(base.crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.round(lon, LONLAT_DECIMALS), np.round(lat, LONLAT_DECIMALS)
