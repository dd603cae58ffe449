"""Minneapolis facilities -> a response-family provider file.

The City of Minneapolis publishes its fire stations (CSV: ``X`` = longitude,
``Y`` = latitude, ``STATION_NU``, ``RIG_COUNT``) and police stations (GeoJSON
points: ``BUILDING_N``, ``TYPE``); HIFLD publishes hospitals (CSV:
``LATITUDE``, ``LONGITUDE``, ``NAME``, ``STATUS``, ``TYPE``, ``BEDS``,
``TRAUMA``). :func:`providers_from_facilities` turns those three files into
one provider table in the format of ``docs/PROVIDERS.md``:

==================  =================  ==========================================
service type        source             capacity (unit)
==================  =================  ==========================================
``fire_station``    Fire_Stations.csv  ``RIG_COUNT`` (apparatus)
``police_station``  Police_Stations    1 per building (precinct or substation)
``hospital``        HIFLD hospitals    ``BEDS`` (licensed beds)
==================  =================  ==========================================

Hospitals are kept when open, of a type with an emergency department
(general acute care, children's, military, critical access) and within
``near_m`` metres of the city limits (distances in the city's UTM zone). Every
facility left out is listed with its reason in
:attr:`FacilityProviders.excluded`; nothing is dropped silently.

All three families share one capacity axis in E2SFCA, so beds (hundreds per
hospital) outweigh rigs (1-3 per station): the response-family access this
file gives is mostly hospital access. Build one file per service type to
study them apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from safetygap.errors import Problems

FIRE_FILE = "Fire_Stations.csv"
POLICE_FILE = "Police_Stations.geojson"
HOSPITAL_FILE = "Hospitals_MN_HIFLD.csv"
HOSPITAL_TYPES = ("GENERAL ACUTE CARE", "CHILDREN", "MILITARY", "CRITICAL ACCESS")
"""HIFLD hospital types kept (those that run an emergency department)."""
OUTPUT_COLUMNS = ("provider_id", "name", "service_type", "capacity", "latitude", "longitude",
                  "source")


@dataclass
class FacilityProviders:
    """The provider table (``OUTPUT_COLUMNS``, WGS84) and the facilities left out."""

    frame: pd.DataFrame
    excluded: list[dict[str, Any]] = field(default_factory=list)

    def write(self, path: str | os.PathLike) -> Path:
        """Write the provider table as CSV (readable by ``safetygap analyze --providers``)."""
        p = Path(path)
        self.frame.to_csv(p, index=False)
        return p


def providers_from_facilities(
    facilities_dir: str | os.PathLike,
    city: gpd.GeoDataFrame | str | os.PathLike,
    *,
    near_m: float = 2000.0,
) -> FacilityProviders:
    """Fire stations, police stations and nearby hospitals as response providers.

    ``facilities_dir`` holds ``Fire_Stations.csv``, ``Police_Stations.geojson``
    and ``Hospitals_MN_HIFLD.csv``; ``city`` is the city-limits polygon layer
    (a file or a GeoDataFrame with a CRS); hospitals farther than ``near_m``
    metres from it are left out. Missing files or columns raise one
    :class:`~safetygap.errors.ValidationError`.
    """
    d = Path(facilities_dir)
    problems = Problems()
    for name in (FIRE_FILE, POLICE_FILE, HOSPITAL_FILE):
        if not (d / name).is_file():
            problems.add(f"facilities {d}", "file not found", value=name)
    problems.raise_if_any()
    fire = pd.read_csv(d / FIRE_FILE, encoding="utf-8-sig")
    police = gpd.read_file(d / POLICE_FILE)
    hosp = pd.read_csv(d / HOSPITAL_FILE, encoding="utf-8-sig")
    for label, frame, cols in (
        (FIRE_FILE, fire, ("X", "Y", "STATION_NU", "RIG_COUNT")),
        (POLICE_FILE, police, ("BUILDING_N",)),
        (HOSPITAL_FILE, hosp, ("ID", "NAME", "LATITUDE", "LONGITUDE", "STATUS", "TYPE",
                               "BEDS", "TRAUMA")),
    ):
        for c in cols:
            if c not in frame.columns:
                problems.add(f"facilities {d / label}", "required column missing", column=c,
                             allowed=list(frame.columns)[:30])
    problems.raise_if_any()

    excluded: list[dict[str, Any]] = []
    rows = [
        {"provider_id": f"FS{int(r.STATION_NU)}", "name": f"Fire Station {int(r.STATION_NU)}",
         "service_type": "fire_station", "capacity": float(r.RIG_COUNT),
         "latitude": float(r.Y), "longitude": float(r.X), "source": FIRE_FILE}
        for r in fire.itertuples()
    ]
    police = police.to_crs("EPSG:4326")
    for i, r in enumerate(police.itertuples()):
        rows.append({"provider_id": f"PS{i + 1}", "name": str(r.BUILDING_N).strip(),
                     "service_type": "police_station", "capacity": 1.0,
                     "latitude": float(r.geometry.y), "longitude": float(r.geometry.x),
                     "source": POLICE_FILE})
    rows.extend(_hospitals(hosp, _city_polygon(city), near_m, excluded))
    frame = pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))
    return FacilityProviders(frame, excluded)


def _city_polygon(city: gpd.GeoDataFrame | str | os.PathLike) -> gpd.GeoDataFrame:
    gdf = city if isinstance(city, gpd.GeoDataFrame) else gpd.read_file(city)
    if gdf.crs is None or len(gdf) == 0:
        problems = Problems()
        problems.add("city limits", "needs at least one polygon and a CRS",
                     value=f"{len(gdf)} rows, CRS {gdf.crs}")
        problems.raise_if_any()
    return gdf


def _hospitals(
    hosp: pd.DataFrame, city: gpd.GeoDataFrame, near_m: float, excluded: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    utm = city.estimate_utm_crs()
    limits = city.to_crs(utm).union_all()
    pts = gpd.GeoSeries(gpd.points_from_xy(hosp["LONGITUDE"], hosp["LATITUDE"]),
                        crs="EPSG:4326").to_crs(utm)
    dist = pts.distance(limits).to_numpy()
    beds = pd.to_numeric(hosp["BEDS"], errors="coerce").to_numpy(float)
    far = dist > near_m
    if far.any():
        excluded.append({"source": HOSPITAL_FILE, "name": f"{int(far.sum())} hospitals",
                         "reason": f"farther than {near_m:g} m from the city limits"})
    out = []
    for i, r in enumerate(hosp.itertuples()):
        reason = None
        if far[i]:
            continue
        if str(r.STATUS).strip().upper() != "OPEN":
            reason = f"status {r.STATUS}"
        elif str(r.TYPE).strip().upper() not in HOSPITAL_TYPES:
            reason = f"type {r.TYPE} (no emergency department)"
        elif not (np.isfinite(beds[i]) and beds[i] > 0):
            reason = f"BEDS not available ({r.BEDS})"
        if reason is not None:
            excluded.append({"source": HOSPITAL_FILE, "name": str(r.NAME), "reason": reason})
            continue
        trauma = str(r.TRAUMA).strip()
        name = str(r.NAME).strip()
        if trauma and trauma.upper() != "NOT AVAILABLE":
            name = f"{name} (trauma {trauma})"
        out.append({"provider_id": f"H{r.ID}", "name": name, "service_type": "hospital",
                    "capacity": float(beds[i]), "latitude": float(r.LATITUDE),
                    "longitude": float(r.LONGITUDE), "source": HOSPITAL_FILE})
    return out
