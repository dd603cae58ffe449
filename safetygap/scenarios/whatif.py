"""What-if: the indices recomputed with hypothetical providers, the change per area."""

from __future__ import annotations

import os
import time
from typing import Any

import geopandas as gpd

from safetygap import FAMILIES
from safetygap.inputs.files import read_table
from safetygap.scenarios.baseline import (
    Baseline,
    area_changes,
    lonlat,
    recompute,
)
from safetygap.scenarios.hypothetical import new_providers
from safetygap.scenarios.reach import existing_reach, reach_region, residents
from safetygap.tables import calls as C


def whatif(base: Baseline, extra: gpd.GeoDataFrame) -> dict[str, Any]:
    """Indices recomputed with hypothetical providers; the change per area.

    Compares the recomputed layers with the workspace's stored ones for the
    families of the new providers (all areas, both levels).
    """
    t0 = time.perf_counter()
    nbhd, wards, covered = recompute(base, extra)
    families = [f for f in FAMILIES if (extra["family"] == f).any()]
    lon, lat = lonlat(base, extra.geometry.x.to_numpy(), extra.geometry.y.to_numpy())
    was = base.calls[C.COVERED].to_numpy()
    eligible = base.calls[C.ELIGIBLE].to_numpy()
    totals = {}
    for f in families:
        sel = ((base.calls[C.FAMILY] == f).to_numpy() & base.in_areas
               & base.calls[C.COVERABLE].to_numpy())
        n = int(sel.sum())
        mine = extra[(extra["family"] == f).to_numpy()]
        totals[f] = {"need_calls": n,
                     "coverage_before": float(was[sel].mean()) if n else None,
                     "coverage_after": float(covered[sel].mean()) if n else None,
                     "calls_newly_covered": int(covered[sel].sum() - was[sel].sum()),
                     "eligible_newly_covered": int((covered & ~was & eligible & sel).sum()),
                     "residents_newly_reached": residents(
                         base, [reach_region(base, mine)],
                         existing=existing_reach(
                             base, f, service_types=set(mine["service_type"].astype(str))))[0]}
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
