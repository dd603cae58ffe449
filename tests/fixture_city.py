"""Riverton: a fixture city in another city's export schema, built from hand-made geometry.

Not Minneapolis' schema anywhere: the calls are a CSV with ids ``RV-18-000001``, the
city's own call-type words (``CallTypeDesc``), US 12-hour times (``04/12/2018 12:50:17
PM``), state-plane coordinates in US feet (``XCoord``/``YCoord``, EPSG:2276, NAD83 /
Texas North Central), no agency column and an officer-initiated flag (``SelfInitiated``
Y/N). The neighborhoods are a shapefile without a ``.prj`` (no CRS) whose ids are numbers
(``NBHD_NUM``); the ward-like layer is the city's planning areas (a GeoPackage in
EPSG:2276, ids ``PA-1``...) and misses the east of the city.

Drawing (feet from the origin X0, Y0)::

    y=6000 +---------+---------+---------+
           | 104     | 105     | 106     |     neighborhoods: 3000 ft squares
           | North-  | Oak     | River-  |
    y=3000 +---------+---------+---------+     planning areas: PA-1 x 0..3750,
           | 101     | 102     | 103     |                     PA-2 x 3750..7500
           | Blue-   | Cedar   | East-   |     (x 7500..9000 is in no planning area:
    y=0    +---------+---------+---------+      1/6 of the city's area)
           x=0      3000      6000      9000

Run ``python tests/fixture_city.py DIR`` to write the files into DIR.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

CRS = "EPSG:2276"
"""NAD83 / Texas North Central (US survey feet)."""
X0, Y0 = 2_480_000.0, 6_960_000.0

NEIGHBORHOODS = [  # NBHD_NUM, NBHD_LABEL, x0, y0 (3000 ft squares)
    (101, "Bluebonnet", 0, 0), (102, "Cedar Flats", 3000, 0), (103, "Eastgate", 6000, 0),
    (104, "Northside", 0, 3000), (105, "Oak Hollow", 3000, 3000),
    (106, "Riverbend", 6000, 3000),
]
PLANNING_AREAS = [  # PLAN_AREA, AREA_NAME, x0, x1 (full height 0..6000)
    ("PA-1", "West Planning Area", 0, 3750), ("PA-2", "Central Planning Area", 3750, 7500),
]
RESIDENTS = {"Bluebonnet": 2100, "Cedar Flats": 3400, "Eastgate": 1800, "Northside": 2600,
             "Oak Hollow": 3900, "Riverbend": 1500}

# The city's own call types: (type, known to the packaged taxonomy?, its family there).
# "known" is worked out by hand from safetygap/data/taxonomy.toml (case and spacing
# ignored): WELFARE CHECK, PERSON IN CRISIS, SHOOTING, FIGHT and THEFT REPORT are names
# it lists; the others are this city's own words.
TYPES = {
    "W": ("WELFARE CHECK", True, "response"),
    "C": ("PERSON IN CRISIS", True, "response"),
    "S": ("SHOOTING", True, "prevention"),
    "F": ("FIGHT", True, "prevention"),
    "T": ("THEFT REPORT", True, "response"),
    "M": ("MENTAL HEALTH CALL", False, "none"),
    "A": ("ALARM-COMMERCIAL BLDG", False, "none"),
    "V": ("MVA - MINOR INJURY", False, "none"),
    "P": ("LOUD PARTY COMPLAINT", False, "none"),
    "K": ("SUSP VEH CHK", False, "none"),
}

# Hand-placed calls: (type key, x, y in feet from the origin, officer-initiated?).
# Placed away from every line (at least 100 ft), so the neighborhood and planning area
# of each is plain from the drawing.
CALLS = [
    # 101 Bluebonnet (PA-1)
    ("W", 500, 500, "N"), ("C", 1500, 800, "N"), ("S", 2500, 2500, "N"),
    ("M", 800, 2200, "N"), ("K", 1200, 1200, "Y"), ("K", 1300, 1300, "Y"),
    # 102 Cedar Flats: x < 3750 in PA-1, x > 3750 in PA-2
    ("F", 3500, 500, "N"), ("T", 4500, 1500, "N"), ("A", 5500, 2500, "N"),
    ("K", 4000, 400, "Y"), ("K", 5000, 2000, "Y"), ("V", 3300, 2900, "N"),
    # 103 Eastgate: x < 7500 in PA-2, x > 7500 in no planning area
    ("W", 6500, 500, "N"), ("S", 7800, 1000, "N"), ("M", 8500, 2500, "N"),
    ("K", 8000, 1500, "Y"), ("K", 8800, 200, "Y"), ("P", 7000, 2800, "N"),
    # 104 Northside (PA-1)
    ("C", 500, 3500, "N"), ("F", 2500, 5500, "N"), ("P", 1500, 4500, "N"),
    ("K", 1000, 5000, "Y"), ("K", 2000, 3300, "Y"), ("K", 2800, 4000, "Y"),
    # 105 Oak Hollow: PA-1 / PA-2
    ("T", 3200, 3200, "N"), ("W", 4500, 4500, "N"), ("V", 5800, 5800, "N"),
    ("K", 4200, 3600, "Y"), ("A", 3600, 5500, "Y"), ("M", 5200, 4100, "N"),
    # 106 Riverbend: x < 7500 in PA-2, x > 7500 in no planning area
    ("S", 6500, 3500, "N"), ("F", 7700, 4500, "N"), ("C", 8600, 5600, "N"),
    ("K", 8200, 5000, "Y"), ("K", 6800, 5800, "Y"), ("P", 8900, 3100, "N"),
    # outside the city (east of x 9000)
    ("W", 9500, 1000, "N"),
]

START = pd.Timestamp("2018-04-02 09:15:30")


def call_frame(*, undated: int = 1, missing_location: int = 1) -> pd.DataFrame:
    """The calls as the city exports them (one row per entry of :data:`CALLS`, then the
    last ``undated`` rows given a time no form reads, then ``missing_location`` rows of
    :data:`CALLS`' first entries repeated with an empty location)."""
    rows = []
    for i, (key, x, y, officer) in enumerate(CALLS):
        when = START + pd.Timedelta(days=2 * i, hours=7 * i, minutes=13 * i)
        rows.append({"IncidentNum": f"RV-18-{i + 1:06d}", "CallTypeDesc": TYPES[key][0],
                     "CallDateTime": when.strftime("%m/%d/%Y %I:%M:%S %p"),
                     "XCoord": f"{X0 + x:.2f}", "YCoord": f"{Y0 + y:.2f}",
                     "SelfInitiated": officer, "Beat": f"B{(i % 4) + 1}"})
    for j in range(missing_location):
        key, _, _, officer = CALLS[j]
        rows.append({"IncidentNum": f"RV-18-{len(rows) + 1:06d}",
                     "CallTypeDesc": TYPES[key][0],
                     "CallDateTime": START.strftime("%m/%d/%Y %I:%M:%S %p"),
                     "XCoord": "", "YCoord": "", "SelfInitiated": officer, "Beat": "B1"})
    frame = pd.DataFrame(rows)
    for k in range(undated):
        frame.loc[len(CALLS) - 1 - k, "CallDateTime"] = "PENDING"
    return frame


def neighborhoods() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"NBHD_NUM": [n for n, *_ in NEIGHBORHOODS],
         "NBHD_LABEL": [name for _, name, *_ in NEIGHBORHOODS]},
        geometry=[box(X0 + x, Y0 + y, X0 + x + 3000, Y0 + y + 3000)
                  for *_, x, y in NEIGHBORHOODS], crs=CRS)


def planning_areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"PLAN_AREA": [a for a, *_ in PLANNING_AREAS],
         "AREA_NAME": [n for _, n, *_ in PLANNING_AREAS]},
        geometry=[box(X0 + x0, Y0, X0 + x1, Y0 + 6000) for *_, x0, x1 in PLANNING_AREAS],
        crs=CRS)


def write_fixture_city(directory: str | Path, *, undated: int = 1,
                       missing_location: int = 1) -> dict[str, Path]:
    """Write Riverton's files into ``directory``; returns their paths by role."""
    from pyproj import Transformer

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    calls = d / "riverton_calls_for_service.csv"
    call_frame(undated=undated, missing_location=missing_location).to_csv(calls, index=False)
    nb = d / "neighborhoods.shp"
    neighborhoods().to_file(nb)
    nb.with_suffix(".prj").unlink()  # the portal's shapefile comes without a .prj
    wards = d / "planning_areas.gpkg"
    planning_areas().to_file(wards)
    pop = d / "population.csv"
    pd.DataFrame({"Neighborhood": list(RESIDENTS), "Residents": list(RESIDENTS.values())}
                 ).to_csv(pop, index=False)
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    prov = []
    for pid, name, stype, family, cap, x, y in (
        ("RV1", "Riverton Crisis Team", "bcr_team", "response", 4, 1500, 1500),
        ("RV2", "Oak Hollow Youth Center", "youth_program", "prevention", 10, 4500, 4500),
        ("RV3", "Eastgate Victim Services", "victim_services", "restoration", 3, 7000, 1000),
    ):
        lon, lat = to_ll.transform(X0 + x, Y0 + y)
        prov.append({"provider_id": pid, "name": name, "service_type": stype,
                     "family": family, "capacity": cap, "latitude": round(lat, 7),
                     "longitude": round(lon, 7)})
    providers = d / "providers.csv"
    pd.DataFrame(prov).to_csv(providers, index=False)
    return {"calls": calls, "neighborhoods": nb, "wards": wards, "population": pop,
            "providers": providers}


if __name__ == "__main__":
    for role, path in write_fixture_city(sys.argv[1] if len(sys.argv) > 1 else "riverton"
                                         ).items():
        print(f"{role}: {path}")
