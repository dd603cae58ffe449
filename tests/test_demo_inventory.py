"""The demo city's inventory, built the way a city builds its own: address points on its
streets, an OpenStreetMap-like extract and an organisations list, mapped, geocoded and
merged into providers.csv. Checked against the city's own services and a second method."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from safetygap.demo import generate_city, write_city
from safetygap.demo._inventory import UNKNOWN_STREET, inventory_sources
from safetygap.demo.streets import generate_streets

TO_LL = Transformer.from_crs("EPSG:26915", "EPSG:4326", always_xy=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    city = generate_city(seed=2025, n_calls=1000)
    out = tmp_path_factory.mktemp("demo-inventory")
    paths = write_city(city, out)
    return city, paths


def read(paths, key):
    return pd.read_csv(paths[key], dtype=str, keep_default_na=False)


def test_address_points_lie_along_the_streets(built):
    city, paths = built
    import geopandas as gpd

    pts = gpd.read_parquet(paths["address_points"])
    streets = generate_streets(city.neighborhoods, seed=city.seed)
    segs = shapely.linestrings(np.stack([np.column_stack([streets.x[streets.u],
                                                          streets.y[streets.u]]),
                                         np.column_stack([streets.x[streets.v],
                                                          streets.y[streets.v]])], axis=1))
    full = {"St": "Street", "Ave": "Avenue"}
    for (name, kind), grp in pts.groupby(["ST_NAME", "ST_POS_TYP"]):
        line = shapely.union_all(segs[streets.name == f"{name} {full[kind]}"])
        # 12 m off the centre line of the street of the same name
        assert np.allclose(shapely.distance(grp.geometry.to_numpy(), line), 12.0, atol=1e-6)
        num = grp["ANUMBER"].to_numpy()
        xy = shapely.get_coordinates(grp.geometry.to_numpy())
        along = xy[:, 0] if kind == "St" else xy[:, 1]  # Streets run east, Avenues north
        for parity in (0, 1):
            side = num % 2 == parity
            order = np.argsort(num[side])
            assert (np.diff(along[side][order]) > 0).all()  # numbers grow along the street
        # k20 (even) is north of a Street / east of an Avenue, k21 across from it
        pair = pd.DataFrame({"n": num, "across": xy[:, 1] if kind == "St" else xy[:, 0]})
        even = pair.set_index("n")["across"]
        odd_of = even.index[even.index % 2 == 1]
        assert (even.loc[odd_of - 1].to_numpy() > even.loc[odd_of].to_numpy()).all()
    assert "Interstate" not in set(pts["ST_NAME"])  # the freeway has no addresses


def test_list_geocoded_with_the_qualities_it_was_made_with(built):
    city, paths = built
    src = inventory_sources(city)
    listed = sum(ch in ("list", "both") for ch in src.channels.values())
    rows = read(paths, "organisations")
    assert len(rows) == listed and not {"latitude", "longitude"} & set(rows.columns)
    placed, review = read(paths, "geocoded"), read(paths, "review")
    # made with: one street the city lacks, one number past its street's end, four
    # numbers between two address points; the rest are address points
    assert placed["geocode_quality"].value_counts().to_dict() == {
        "exact": listed - 6, "street_interpolation": 4, "street_only": 1}
    assert len(placed) == listed - 1
    assert list(review["geocode_quality"]) == ["none", "street_only"]
    assert UNKNOWN_STREET in review["address"].iat[0]
    assert review["reason"].iat[0] == "street not found"
    # second method: look the address up in the layer by hand
    import geopandas as gpd

    pts = gpd.read_parquet(paths["address_points"])
    xy = shapely.get_coordinates(pts.geometry.to_numpy())
    lon, lat = TO_LL.transform(xy[:, 0], xy[:, 1])
    table = pd.DataFrame({"n": pts["ANUMBER"], "street": pts["ST_NAME"] + " "
                          + pts["ST_POS_TYP"].map({"St": "Street", "Ave": "Avenue"}),
                          "lon": lon, "lat": lat}).set_index(["street", "n"])
    for r in placed.itertuples():
        m = re.match(r"(\d+) ([^,]+)", r.address)
        n, street = int(m.group(1)), m.group(2)
        if r.geocode_quality == "exact":
            want = table.loc[(street, n)]
            assert float(r.longitude) == pytest.approx(want["lon"], abs=2e-7)
            assert float(r.latitude) == pytest.approx(want["lat"], abs=2e-7)
        elif r.geocode_quality == "street_interpolation":  # k30 is 1/4 from k20 to k60
            a, b = table.loc[(street, n - 10)], table.loc[(street, n + 30)]
            assert float(r.longitude) == pytest.approx(a["lon"] + 0.25 * (b["lon"] - a["lon"]),
                                                       abs=2e-7)
            assert float(r.latitude) == pytest.approx(a["lat"] + 0.25 * (b["lat"] - a["lat"]),
                                                      abs=2e-7)


def test_inventory_has_every_service_once_near_where_it_is(built):
    city, paths = built
    prov = read(paths, "providers")
    truth = city.providers.set_index("name")
    assert sorted(prov["name"]) == sorted(truth.index)
    assert (prov["service_type"].to_numpy() == truth.loc[prov["name"], "service_type"]).all()
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:26915", always_xy=True).transform(
        prov["longitude"].astype(float).to_numpy(), prov["latitude"].astype(float).to_numpy())
    true_xy = shapely.get_coordinates(truth.loc[prov["name"]].geometry.to_numpy())
    moved = np.hypot(x - true_xy[:, 0], y - true_xy[:, 1])
    street_only = (prov["geocode_quality"] == "street_only").to_numpy()
    # at its address: the nearest address point (within a block), or a few metres off it
    assert moved[~street_only].max() < 150
    assert (moved[prov["source"] == "city facilities"] < 0.5).all()  # given coordinates
    meta = json.loads(paths["meta"].read_text())["inventory"]
    sources = prov["source"].value_counts().to_dict()
    assert sources == {"city facilities": 22, "organisations list": meta["geocode"]["placed"],
                       "osm": meta["osm"]["providers"] - meta["merge"]["merged_away"]}
    assert meta["services_in_the_city"] == len(city.providers) == len(prov)
    # the inventory fields came along
    for col in ("opening_hours", "phone", "website", "last_verified", "address"):
        assert (prov[col] != "").mean() > 0.8, col
    assert (prov["serves"] != "").sum() == 3
    hours = prov[prov["opening_hours"] != ""]
    assert (hours["opening_hours"].to_numpy()
            == truth.loc[hours["name"], "opening_hours"].to_numpy()).all()  # the service's own
    assert set(prov["capacity_unit"]) == {"staff FTE"}


def test_duplicates_are_the_list_and_osm_rows_of_one_service(built):
    city, paths = built
    dup = read(paths, "duplicates")
    src = inventory_sources(city)
    both = [p for p, ch in src.channels.items() if ch == "both"]
    groups = dup[~dup["group"].str.startswith("check")].groupby("group")
    assert len(groups) == len(both) - 1  # the centre at an unknown street is OSM's alone
    for _, g in groups:
        assert list(g["source"]) == ["organisations list", "osm"]
        assert list(g["decision"].str[:6]) == ["kept", "merged"]
        a, b = (n.replace("Centre", "Center") for n in g["name"])
        assert a == b
        assert g["distance_m"].astype(float).max() < 40
    prov = read(paths, "providers").set_index("name")
    kept = dup.loc[dup["decision"] == "kept", "name"]
    assert (prov.loc[kept, "osm_id"] != "").all()  # the OSM id filled into the list's row


def test_stale_rows_counted_by_calendar(built):
    """Second method: pandas' calendar months, not safetygap's month arithmetic."""
    import datetime as dt

    from safetygap.inputs.inventory_fields import stale_flags

    _, paths = built
    prov = read(paths, "providers")
    as_of = dt.date.fromisoformat(json.loads(paths["meta"].read_text())["inventory"]["as_of"])
    assert as_of == dt.date(2025, 1, 31)
    limit = pd.Timestamp(as_of) - pd.DateOffset(months=18)
    dates = pd.to_datetime(prov["last_verified"].replace("", None))
    by_hand = (dates.isna() | (dates < limit)).to_numpy()
    _, stale = stale_flags(prov["last_verified"], today=as_of)
    assert (stale == by_hand).all()
    assert 0.1 <= by_hand.mean() <= 0.35 and dates.isna().sum() >= 2
