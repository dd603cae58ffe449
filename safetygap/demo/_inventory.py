"""The raw sources of the demo city's asset inventory, made from its (made-up) services.

A real city does not have a clean provider file: it has its own facilities, lists kept by
departments and non-profits with street addresses, and what OpenStreetMap knows. The demo
city ships the same kinds of sources, generated from :attr:`DemoCity.providers` (the
services that "really" exist in the made-up city), so that ``make demo`` builds its
provider file through the same steps a city would (:mod:`safetygap.demo.inventory`):

``city_facilities.csv``   the response services the city runs (police, fire, crisis
                          teams, ...), with coordinates: a hand-kept file;
``organisations.csv``     prevention and restoration programmes with a street address and
                          no coordinates (the usual form of a list), hours, phone, web,
                          eligibility, languages, the date last checked; three violence
                          interruption programmes serve named areas;
``osm_features.geojson``  an OpenStreetMap-like extract: community centres, some youth
                          centres and victim-service offices as tagged nodes (two as
                          building polygons), one feature no rule maps;
``osm_tags.toml``         the demo's tag mapping: the packaged rules with the demo's unit
                          (staff FTE) as capacity;
``address_points.parquet``  one point per address on the demo's streets
                          (:func:`safetygap.demo.streets.address_points`).

Every community centre is in OpenStreetMap, 8 of them in the list too (with names spelt
differently: "Centre"); 5 youth programmes and 2 victim-service offices are in both; the
other programmes only in the list. The list has the faults real lists have: one address
on a street the city does not have (that centre is found through OpenStreetMap), one
house number past the end of its street (placed on the street only, for review), four
numbers between two address points (interpolated), two rows never verified and about a
fifth of rows last checked more than 18 months before the inventory date.

Everything is drawn from ``numpy.random.default_rng([seed, 18])``, so the city's own
draws (and its calls) are unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safetygap.demo._shapes import CRS
from safetygap.demo.streets import address_points, generate_streets


class DemoCity(Protocol):
    """What the inventory reads of :class:`safetygap.demo.city.DemoCity` (a protocol, so
    this module does not import the city module that imports it)."""

    seed: int
    parameters: dict[str, Any]
    neighborhoods: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    providers: gpd.GeoDataFrame

PROGRAMMES: dict[str, dict[str, Any]] = {
    "violence_interruption": {
        "organisations": ("Safe Streets Collective", "Office of Violence Prevention"),
        "eligibility": ("young people 14-30 at risk of violence, and their families",)},
    "youth_program": {
        "organisations": ("Prairie Youth Alliance", "Parks and Recreation Department"),
        "eligibility": ("ages 6-18", "ages 12-24")},
    "community_center": {
        "organisations": ("Parks and Recreation Department",),
        "eligibility": ("everyone",)},
    "victim_services": {
        "organisations": ("Family Justice Network", "Safe Harbor Victim Services"),
        "eligibility": ("survivors of crime and abuse, and their families",)},
    "restorative_justice": {
        "organisations": ("Community Mediation Services",),
        "eligibility": ("people referred by courts, schools or police, and those they "
                        "harmed",)},
    "reentry": {
        "organisations": ("Second Chance Coalition",),
        "eligibility": ("people returning from prison or jail",)},
}
LANGUAGES = ("Spanish", "Somali", "Hmong", "Oromo", "Vietnamese")
OSM_TAGS: dict[str, dict[str, str]] = {
    "community_center": {"amenity": "community_centre"},
    "youth_program": {"amenity": "community_centre", "community_centre": "youth_centre"},
    "victim_services": {"amenity": "social_facility", "social_facility": "outreach",
                        "social_facility:for": "abused"},
}
DEMO_TAGS = """\
# The demo city's OpenStreetMap tag mapping (`safetygap providers osm --tags`): the
# packaged rules the demo's extract uses, with capacities in the demo's unit, staff
# full-time equivalents (OSM has no capacities: a city puts its own typical figure here,
# or leaves 1 "site" and does not mix the result with staffed lists).

[[rule]]
service_type = "victim_services"
tags = { amenity = "social_facility", "social_facility:for" = ["abused", "victim"] }
capacity = 6
capacity_unit = "staff FTE"

[[rule]]
service_type = "youth_program"
tags = { amenity = "community_centre", community_centre = ["youth_centre", "youth"] }
capacity = 6
capacity_unit = "staff FTE"

[[rule]]
service_type = "community_center"
tags = { amenity = "community_centre" }
capacity = 10
capacity_unit = "staff FTE"
"""
UNKNOWN_STREET = "Old Mill Road"
"""The street of the list's one address the city's address points do not have."""
CAPACITY_UNIT = "staff FTE"


@dataclass
class InventorySources:
    """The demo inventory's raw sources (see the module docstring)."""

    city_facilities: pd.DataFrame
    organisations: pd.DataFrame
    osm_features: dict[str, Any]
    address_points: gpd.GeoDataFrame
    tags: str
    as_of: dt.date
    channels: dict[str, str]
    """provider_id of the city's services -> where the inventory can find it: ``city``,
    ``list``, ``osm`` or ``both``."""


def inventory_date(years: list[int] | tuple[int, ...], *, today: dt.date | None = None
                   ) -> dt.date:
    """The day the demo's inventory was assembled: 31 January after the calls' last year
    (never after today, so no row is verified in the future)."""
    today = today or dt.date.today()
    return min(dt.date(int(max(years)) + 1, 1, 31), today)


def _days_before(as_of: dt.date, months: float) -> str:
    return (as_of - dt.timedelta(days=round(months * 30.4375))).isoformat()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def inventory_sources(city: DemoCity) -> InventorySources:
    """Generate the inventory's sources from ``city`` (deterministic in its seed)."""
    rng = np.random.default_rng([city.seed, 18])
    as_of = inventory_date(city.parameters["years"])
    streets = generate_streets(city.neighborhoods, seed=city.seed)
    points = address_points(streets)
    pv = city.providers.reset_index(drop=True)
    pxy = shapely.get_coordinates(pv.geometry.to_numpy())
    axy = shapely.get_coordinates(points.geometry.to_numpy())
    from scipy.spatial import cKDTree

    _, nearest = cKDTree(axy).query(pxy)
    number = points["ANUMBER"].to_numpy()
    street_key = (points["ST_NAME"] + " " + points["ST_POS_TYP"]).to_numpy()
    long_type = {"Ave": "Avenue", "St": "Street"}

    def written(j: int, n: int | None = None) -> str:
        return (f"{number[j] if n is None else n} {points['ST_NAME'].iat[j]} "
                f"{long_type[points['ST_POS_TYP'].iat[j]]}")

    channels = _channels(pv, rng)
    stype = pv["service_type"].to_numpy()
    # the list's faults, among its own rows
    listed = [i for i, p in enumerate(pv["provider_id"]) if channels[p] in ("list", "both")]
    only_list = [i for i in listed if channels[pv["provider_id"].iat[i]] == "list"]
    unknown = next(i for i in listed if stype[i] == "community_center")  # also in OSM
    ends = {}
    for i in only_list:
        same = np.flatnonzero(street_key == street_key[nearest[i]])
        lo, hi = same[np.argmin(number[same])], same[np.argmax(number[same])]
        d_lo, d_hi = (float(np.hypot(*(axy[k] - pxy[i]))) for k in (lo, hi))
        ends[i] = (min(d_lo, d_hi), int(number[lo]) - 4 if d_lo < d_hi
                   else int(number[hi]) + 4)
    street_only = min(ends, key=lambda i: (ends[i][0], i))
    between = [i for i in only_list if i != street_only and number[nearest[i]] % 100 in (20, 21)]
    interpolated = set(rng.choice(between, size=min(4, len(between)), replace=False).tolist())
    never = set(rng.choice([i for i in only_list if i not in interpolated and i != street_only],
                           size=2, replace=False).tolist())
    serving = _serving(city, pv, rng)

    city_rows, list_rows, features = [], [], []
    lon, lat = _wgs84(pxy)
    osm_seq = 0
    for i, r in enumerate(pv.itertuples(index=False)):
        ch = channels[r.provider_id]
        phone = f"(507) 555-01{i % 100:02d}"
        if ch == "city":
            city_rows.append({
                "provider_id": r.provider_id, "name": r.name, "service_type": r.service_type,
                "capacity": r.capacity, "capacity_unit": CAPACITY_UNIT,
                "latitude": round(float(lat[i]), 6), "longitude": round(float(lon[i]), 6),
                "address": written(nearest[i]), "opening_hours": r.opening_hours,
                "phone": phone, "website": f"https://city.example.org/{_slug(r.name)}",
                "last_verified": _days_before(as_of, rng.uniform(0.5, 10.0)),
            })
            continue
        spec = PROGRAMMES[r.service_type]
        org = str(rng.choice(spec["organisations"]))
        hours = str(r.opening_hours)  # the service's own hours (safetygap.demo._providers)
        if ch in ("list", "both"):
            if i == unknown:
                address = f"{100 + 2 * int(rng.integers(10, 40))} {UNKNOWN_STREET}"
            elif i == street_only:
                address = written(nearest[i], ends[i][1])
            elif i in interpolated:
                address = written(nearest[i], int(number[nearest[i]]) + 10)
            else:
                address = written(nearest[i])
            if rng.random() < 0.15:
                address += f", Suite {int(rng.integers(1, 4)) * 100}"
            months = rng.uniform(0.5, 17.0) if rng.random() < 0.78 else rng.uniform(19, 34)
            langs = ["English", *sorted(rng.choice(LANGUAGES, size=int(rng.integers(0, 3)),
                                                   replace=False).tolist())]
            list_rows.append({
                "name": r.name, "organisation": org, "service_type": r.service_type,
                "capacity": r.capacity, "capacity_unit": CAPACITY_UNIT, "address": address,
                "opening_hours": hours, "phone": phone,
                "website": f"https://{_slug(org)}.example.org",
                "eligibility": str(rng.choice(spec["eligibility"])),
                "languages": "; ".join(langs),
                "last_verified": "" if i in never else _days_before(as_of, months),
                "serves": serving.get(i, ""),
            })
        if ch in ("osm", "both"):
            osm_seq += 1
            features.append(_osm_feature(r, i, ch, points, nearest[i], org, hours, phone,
                                         osm_seq, as_of, rng))
    features.append(_unmapped_feature(axy, rng))
    return InventorySources(
        city_facilities=pd.DataFrame(city_rows),
        organisations=pd.DataFrame(list_rows),
        osm_features={"type": "FeatureCollection",
                      "generator": "safetygap demo city (an OpenStreetMap-like extract, "
                                   "made up)",
                      "features": features},
        address_points=points,
        tags=DEMO_TAGS,
        as_of=as_of,
        channels=channels,
    )


def _channels(pv: pd.DataFrame, rng: np.random.Generator) -> dict[str, str]:
    """Where each service can be found: response -> the city's file; every community
    centre in OSM (8 in the list too); 5 youth programmes and 2 victim-service offices in
    both; the rest only in the list."""
    out: dict[str, str] = {}
    both_count = {"community_center": 8, "youth_program": 5, "victim_services": 2}
    for st, grp in pv.groupby("service_type", sort=True):
        ids = grp["provider_id"].tolist()
        if (grp["family"] == "response").all():
            out.update(dict.fromkeys(ids, "city"))
            continue
        k = min(both_count.get(str(st), 0), len(ids))
        both = set(rng.choice(ids, size=k, replace=False).tolist()) if k else set()
        rest = "osm" if st == "community_center" else "list"
        out.update({p: "both" if p in both else rest for p in ids})
    return out


def _serving(city: DemoCity, pv: pd.DataFrame, rng: np.random.Generator) -> dict[int, str]:
    """``serves`` of three violence interruption programmes: two serve their own
    neighborhood and one next to it, one serves the ward it is in."""
    vi = np.flatnonzero((pv["service_type"] == "violence_interruption").to_numpy())
    chosen = sorted(rng.choice(vi, size=min(3, len(vi)), replace=False).tolist())
    nb = city.neighborhoods.reset_index(drop=True)
    wards = city.wards.reset_index(drop=True)
    out = {}
    for k, i in enumerate(chosen):
        pt = pv.geometry.iat[i]
        if k == 2:
            w = int(np.flatnonzero(wards.geometry.contains(pt).to_numpy())[0])
            out[i] = f"ward:{wards['ward_id'].iat[w]}"
            continue
        own = int(np.flatnonzero(nb.geometry.contains(pt).to_numpy())[0])
        touching = np.flatnonzero(nb.geometry.touches(nb.geometry.iat[own]).to_numpy()
                                  | nb.geometry.intersects(nb.geometry.iat[own].boundary)
                                  .to_numpy())
        touching = touching[touching != own]
        other = int(rng.choice(touching))
        out[i] = f"{nb['name'].iat[own]}; {nb['name'].iat[other]}"
    return out


def _wgs84(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1])
    return np.asarray(lon), np.asarray(lat)


def _osm_feature(r: Any, i: int, channel: str, points: gpd.GeoDataFrame, j: int, org: str,
                 hours: str, phone: str, seq: int, as_of: dt.date,
                 rng: np.random.Generator) -> dict[str, Any]:
    """A tagged feature at the provider's address (the point plus a few metres)."""
    x, y = shapely.get_coordinates(points.geometry.iat[j])[0] + rng.normal(0.0, 6.0, 2)
    name = str(r.name)
    if channel == "both" and "Center" in name:
        name = name.replace("Center", "Centre")  # as mappers often spell it
    tags: dict[str, str] = {**OSM_TAGS[r.service_type], "name": name, "operator": org}
    if rng.random() < 0.7:
        tags["opening_hours"] = hours
    if rng.random() < 0.5:
        tags["phone"] = "+1 507 555 01" + phone[-2:]
    if rng.random() < 0.5:
        tags["website"] = f"https://{_slug(name)}.example.org"
    if rng.random() < 0.6:
        tags["addr:housenumber"] = str(points["ANUMBER"].iat[j])
        tags["addr:street"] = (f"{points['ST_NAME'].iat[j]} "
                               f"{'Avenue' if points['ST_POS_TYP'].iat[j] == 'Ave' else 'Street'}")
    if rng.random() < 0.4:
        tags["check_date"] = _days_before(as_of, rng.uniform(1.0, 30.0))
    if seq in (3, 7):  # mapped as the building's outline
        ring = np.array([[-15, -15], [15, -15], [15, 15], [-15, 15], [-15, -15]]) + np.array([x, y])
        lon, lat = _wgs84(ring)
        oid = f"way/{700000 + seq}"
        geom = {"type": "Polygon", "coordinates": [[[round(a, 7), round(b, 7)]
                                                    for a, b in zip(lon, lat, strict=True)]]}
    else:
        lon, lat = _wgs84(np.array([[x, y]]))
        oid = f"node/{900000 + seq}"
        geom = {"type": "Point", "coordinates": [round(float(lon[0]), 7),
                                                 round(float(lat[0]), 7)]}
    return {"type": "Feature", "id": oid, "geometry": geom,
            "properties": {"@id": oid, **tags}}


def _unmapped_feature(axy: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    """A feature no rule of the mapping takes (it is counted, not mapped)."""
    x, y = axy[int(rng.integers(len(axy)))]
    lon, lat = _wgs84(np.array([[x, y]]))
    return {"type": "Feature", "id": "node/900999",
            "geometry": {"type": "Point", "coordinates": [round(float(lon[0]), 7),
                                                          round(float(lat[0]), 7)]},
            "properties": {"@id": "node/900999", "amenity": "place_of_worship",
                           "name": "Prairie Chapel"}}


def geojson_text(collection: dict[str, Any]) -> str:
    """The extract as GeoJSON text (keys in a fixed order: identical bytes every time)."""
    return json.dumps(collection, ensure_ascii=False, indent=1) + "\n"
