"""Population matched to neighborhoods; providers placed in areas.

A stage of :func:`safetygap.pipeline.analyze`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from safetygap import FAMILIES
from safetygap.boundaries import (
    match_names,
)
from safetygap.boundaries.names import MINNEAPOLIS_ALIASES
from safetygap.geo.join import assign_areas
from safetygap.inputs import PopulationInput
from safetygap.inputs.inventory_fields import STALE_AFTER_MONTHS, completeness, stale_flags
from safetygap.inventory.serves import SERVES_COLUMN, WKT_COLUMN, resolve_serves
from safetygap.tables import measures as M
from safetygap.tables.report import PopulationQuality, ProvidersQuality
from safetygap.taxonomy import Taxonomy


def match_population(
    pin: PopulationInput | None, nbhd: gpd.GeoDataFrame
) -> tuple[np.ndarray, PopulationQuality]:
    """Population per neighborhood (NaN where none matched) from the table read
    (``None``: no population file), and the matching's quality record."""
    pop = np.full(len(nbhd), np.nan)
    if pin is None:
        return pop, PopulationQuality(file=None,
                                      areas_without_population=nbhd["name"].tolist(),
                                      areas_with_zero_population=[])
    names = pin.frame["name"].tolist()
    matched = match_names(names, nbhd["name"].tolist(), aliases=MINNEAPOLIS_ALIASES)
    by_id = {}
    for name, count in zip(names, pin.frame[M.POPULATION], strict=True):
        target = matched[name]
        if target is not None:
            by_id[target] = by_id.get(target, 0.0) + float(count)
    pop = nbhd["name"].map(by_id).to_numpy(dtype=float, na_value=np.nan)
    renamed = {n: t for n, t in matched.items() if t is not None and t != n}
    return pop, PopulationQuality(
        file=str(pin.path),
        rows=len(pin.frame) + len(pin.bad_rows),
        matched_rows=sum(t is not None for t in matched.values()),
        matched_by_alias_or_folding=renamed,
        unmatched_rows=sorted(n for n, t in matched.items() if t is None),
        bad_rows=pin.bad_rows,
        areas_without_population=sorted(nbhd["name"][~np.isfinite(pop)].tolist()),
        areas_with_zero_population=sorted(nbhd["name"][pop == 0].tolist()),
        notes=("Names are matched after folding case, accents, punctuation and '&'/'and', "
               "then through the alias table of renamed neighborhoods "
               "(safetygap.boundaries.names.MINNEAPOLIS_ALIASES). Areas without population "
               "or with population 0 get no rate and so no gap (NaN, gap class 0)."),
        total_population_matched=float(np.nansum(pop)),
    )


def place_providers(
    frame: pd.DataFrame,
    src_crs: str,
    crs: CRS,
    taxonomy: Taxonomy,
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    *,
    mode: str,
    today: dt.date | None = None,
    stale_after_months: float = STALE_AFTER_MONTHS,
    where: str = "providers",
) -> tuple[gpd.GeoDataFrame, ProvidersQuality]:
    """Providers (validated rows, x/y in ``src_crs``) in the analysis CRS, with catchments,
    their neighborhood and ward, the served polygon of area-serving providers
    (``serves_wkt``, WKT in ``crs``; such a provider without coordinates is placed at a
    point inside its areas) and the stale flags (``months_since_verified``, ``stale``:
    not verified within ``stale_after_months`` of ``today``, or never). Returns the
    layer and its quality record."""
    today = today or dt.date.today()
    x, y = to_crs_xy(frame["x"].to_numpy(float), frame["y"].to_numpy(float), src_crs, crs)
    out = frame.drop(columns=["x", "y"]).copy()
    serves = (out[SERVES_COLUMN] if SERVES_COLUMN in out.columns
              else pd.Series([""] * len(out), index=out.index))
    wkt = resolve_serves(serves, nbhd, wards, src_crs=src_crs, crs=crs, where=where)
    out[WKT_COLUMN] = wkt
    for i, w in enumerate(wkt):
        if w and not (np.isfinite(x[i]) and np.isfinite(y[i])):
            pt = shapely.from_wkt(w).representative_point()
            x[i], y[i] = pt.x, pt.y
    last = (out["last_verified"] if "last_verified" in out.columns
            else pd.Series([""] * len(out), index=out.index))
    out["months_since_verified"], out["stale"] = stale_flags(last, today=today,
                                                             months=stale_after_months)
    out["placeless"] = [taxonomy.service_types[s].placeless for s in out["service_type"]]
    out["catchment_m"] = [taxonomy.service_types[s].catchment_m for s in out["service_type"]]
    out["catchment_min"] = [taxonomy.service_types[s].catchment_for(mode)
                            for s in out["service_type"]]
    n_idx = assign_areas((x, y), nbhd, crs=crs)
    w_idx = assign_areas((x, y), wards, crs=crs)
    out["neighborhood_id"] = np.where(n_idx >= 0, nbhd[M.AREA_ID].to_numpy()[n_idx], None)
    out["ward_id"] = np.where(w_idx >= 0, wards[M.AREA_ID].to_numpy()[w_idx], None)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x, y), crs=crs)
    outside = gdf[(n_idx < 0) | (w_idx < 0)]
    return gdf, ProvidersQuality(
        rows=len(gdf),
        by_family={f: int((gdf["family"] == f).sum()) for f in FAMILIES},
        outside_boundaries=len(outside),
        outside_examples=outside[["provider_id", "name"]].head(10).to_dict("records"),
        serving_areas=int(sum(bool(w) for w in wkt)),
        verification=verification_quality(gdf, today=today, months=stale_after_months),
        completeness=completeness(gdf),
    )


def verification_quality(providers: pd.DataFrame, *, today: dt.date, months: float
                         ) -> dict[str, Any]:
    """``quality.json``'s providers.verification: how many providers are stale (by family),
    how many were never verified, and the stale ones listed."""
    stale = providers["stale"].to_numpy(bool)
    never = ~np.isfinite(providers["months_since_verified"].to_numpy(float))
    listed = providers[stale].sort_values("months_since_verified", ascending=False,
                                          na_position="first")
    return {
        "as_of": today.isoformat(),
        "stale_after_months": months,
        "stale": int(stale.sum()),
        "never_verified": int(never.sum()),
        "stale_by_family": {f: int((stale & (providers["family"] == f).to_numpy()).sum())
                            for f in FAMILIES},
        "stale_providers": [
            {"provider_id": str(r.provider_id), "name": str(r.name),
             "last_verified": str(r.last_verified) if "last_verified" in listed.columns
             else "", "months_since_verified": (None if not np.isfinite(r.months_since_verified)
                                                else float(r.months_since_verified))}
            for r in listed.head(50).itertuples()
        ],
        "notes": (f"A provider is stale when its last_verified date is more than {months:g} "
                  "months before as_of, or it has none (never verified); the setting is "
                  "SAFETYGAP_STALE_AFTER_MONTHS / analyze --stale-after-months. At most 50 "
                  "are listed, the oldest first."),
    }

def to_crs_xy(x: np.ndarray, y: np.ndarray, src: str, dst: CRS) -> tuple[np.ndarray, np.ndarray]:
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
