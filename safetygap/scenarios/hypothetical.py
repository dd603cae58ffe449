"""Hypothetical providers (what-if) and candidate sites (siting) checked and placed
like the pipeline places providers; points far outside the city refused with a
hint (swapped coordinates, a missing minus sign, another city)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from safetygap.errors import Problems, option
from safetygap.geo.join import assign_areas
from safetygap.inputs import providers_from_frame
from safetygap.scenarios.baseline import (
    Baseline,
)
from safetygap.stages.places import place_providers
from safetygap.vocab import TravelMode

MAX_OUTSIDE_M = 10_000.0
"""Hypothetical providers and candidate sites farther than this (metres) outside every
neighborhood of the city are refused."""


def new_providers(
    base: Baseline, frame: pd.DataFrame, *, where: str, crs: str | None = None,
    geometry: Any = None, geometry_crs: str | None = None,
    crs_option: str = "providers_crs",
) -> gpd.GeoDataFrame:
    """Validate hypothetical providers and place them like the pipeline places providers.

    A point more than :data:`MAX_OUTSIDE_M` outside the city's neighborhoods is refused,
    the message saying where the city is (most often the point belongs to another city
    than the one analysed), or that its two coordinates look exchanged when exchanging
    them puts it inside. ``crs_option`` is the option that gives ``crs``, named in the
    messages.
    """
    rows, src_crs = providers_from_frame(frame, taxonomy=base.taxonomy, crs=crs, where=where,
                                         geometry=geometry, geometry_crs=geometry_crs,
                                         crs_option=crs_option)
    rows = rows.assign(provider_id=[f"new:{p}" for p in rows["provider_id"]])
    clash = set(rows["provider_id"]) & set(base.providers["provider_id"].astype(str))
    if clash:
        problems = Problems()
        problems.add(where, "provider_id already used in the workspace",
                     column="provider_id", value=sorted(clash)[0])
        problems.raise_if_any()
    gdf, _ = place_providers(rows, src_crs, base.crs, base.taxonomy, base.neighborhoods,
                        base.wards, mode=base.travel.mode or TravelMode.WALK)
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
                hint += f"; or are the x/y not in {src_crs}, see {option(crs_option)}?"
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
