"""Geocoding an organisations list: addresses with known coordinates, every match quality
and the unmatched rows exact; the online fallback only against a local stand-in."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from _nominatim_server import FakeNominatim
from pyproj import Transformer

from safetygap.inventory.geocode import (
    AddressPoints,
    MatchQuality,
    ParsedAddress,
    geocode_frame,
    parse_address,
)

CRS = "EPSG:26915"
X0, Y0 = 478_000.0, 4_980_000.0
# the address-point layer, metres from (X0, Y0): even numbers on one side of Main St,
# odd on the other; one point of 200 N 1st Ave
POINTS = [("100 Main St", 0, 0), ("110 Main St", 100, 0), ("101 Main St", 0, 30),
          ("121 Main St", 200, 30), ("200 N 1st Ave", 500, 500),
          ("200 N 1st Ave Unit 2", 510, 500)]
TO_LL = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def ll(x, y):
    lon, lat = TO_LL.transform(X0 + x, Y0 + y)
    return round(lat, 7), round(lon, 7)


@pytest.fixture
def points():
    layer = gpd.GeoDataFrame({"ADDRESS": [p[0] for p in POINTS]},
                             geometry=gpd.points_from_xy([X0 + p[1] for p in POINTS],
                                                         [Y0 + p[2] for p in POINTS]), crs=CRS)
    return AddressPoints.from_layer(layer)


LIST = pd.DataFrame({
    "name": ["Exact", "Even", "Odd", "Beyond", "Nowhere", "Box", "Given", "Spelled"],
    "address": ["100 Main Street, Suite 4, Tinytown MN 55401", "104 Main St", "111 Main St",
                "900 Main St", "12 Nowhere Rd", "PO Box 12", "", "200 North 1st Avenue"],
    "latitude": ["", "", "", "", "", "", "44.95", ""],
    "longitude": ["", "", "", "", "", "", "-93.25", ""],
})


def test_parse_and_normalise():
    assert parse_address("200 North First Avenue") == parse_address("200 N First Ave.")
    assert parse_address("2100 Nicollet Ave S, Suite 200").street == "NICOLLET AVE S"
    assert parse_address("PO Box 12") is None


def test_quality_levels_and_positions_by_hand(points):
    res = geocode_frame(LIST, points)
    got = {r.name: r for r in res.placed.itertuples()}
    q = {n: r.geocode_quality for n, r in got.items()}
    assert q == {"Exact": "exact", "Even": "street_interpolation",
                 "Odd": "street_interpolation", "Beyond": "street_only", "Given": "given",
                 "Spelled": "exact"}
    # 104 between 100 (x=0) and 110 (x=100) on the even side: 40% of the way
    expect = {"Exact": ll(0, 0), "Even": ll(40, 0), "Odd": ll(100, 30),
              "Beyond": ll(200, 30), "Given": (44.95, -93.25), "Spelled": ll(505, 500)}
    for n, (lat, lon) in expect.items():
        assert got[n].latitude == pytest.approx(lat, abs=1e-6), n
        assert got[n].longitude == pytest.approx(lon, abs=1e-6), n
    assert res.counts == {"given": 1, "exact": 2, "street_interpolation": 2,
                          "street_only": 1, "none": 2, "placed": 6, "not_placed": 2}


def test_review_lists_street_only_and_unmatched_rows(points):
    res = geocode_frame(LIST, points)
    review = res.review.set_index("name")
    assert list(review.index) == ["Beyond", "Nowhere", "Box"]
    assert list(review["row"]) == [4, 5, 6]
    assert list(review["placed"]) == [True, False, False]
    assert review.loc["Nowhere", "reason"] == "street not found"
    assert review.loc["Box", "reason"] == "address not understood"
    assert "Nowhere" not in set(res.placed["name"])


def test_min_quality_leaves_worse_rows_unplaced(points):
    res = geocode_frame(LIST, points, min_quality=MatchQuality.EXACT)
    assert set(res.placed["name"]) == {"Exact", "Given", "Spelled"}
    assert set(res.review["name"]) == {"Even", "Odd", "Beyond", "Nowhere", "Box"}


def test_component_columns_minnesota_standard():
    layer = gpd.GeoDataFrame({"ANUMBER": [10, 20], "ST_PRE_DIR": ["", ""],
                              "ST_NAME": ["Lake", "Lake"], "ST_POS_TYP": ["Street", "St"],
                              "ST_POS_DIR": ["W", "W"]},
                             geometry=gpd.points_from_xy([X0, X0 + 100], [Y0, Y0]), crs=CRS)
    pts = AddressPoints.from_layer(layer)
    q, x, _, _ = pts.match(parse_address("14 Lake St W"))
    assert q is MatchQuality.STREET_INTERPOLATION and x == pytest.approx(X0 + 40)


def test_standard_fields_read_as_the_written_address_parses():
    """The Minnesota standard's fields are normalised without parsing text; the keys
    equal those of the same addresses written out and parsed (a float number too)."""
    from safetygap.inventory.geocode import _standard_keys

    layer = pd.DataFrame({
        "ANUMBER": [2100.0, 15, None, 7],
        "ST_PRE_DIR": ["", "North", "", "SE"],
        "ST_NAME": ["Nicollet", "Martin Luther King Jr", "Lake", "5th"],
        "ST_POS_TYP": ["Avenue", "Blvd", "St", "Av"],
        "ST_POS_DIR": ["S", "", "W", ""],
    })
    written = ["2100 Nicollet Avenue South", "15 N Martin Luther King Jr Boulevard",
               "Lake Street West", "7 SE 5th Ave"]
    assert _standard_keys(layer) == [parse_address(t) for t in written]
    assert _standard_keys(layer)[0] == ParsedAddress(2100, "NICOLLET AVE S")


def test_online_fallback_against_a_local_server(points, tmp_path):
    from safetygap.fetch.nominatim import NominatimGeocoder

    fake = FakeNominatim({
        "12 Nowhere Rd": [{"lat": "44.9", "lon": "-93.2", "display_name": "12, Nowhere Road",
                           "class": "place", "type": "house",
                           "address": {"house_number": "12", "road": "Nowhere Road"}}],
    }).start()
    try:
        cache = tmp_path / "cache.json"
        online = NominatimGeocoder(url=fake.url, cache=cache, user_agent="safetygap-test")
        res = geocode_frame(LIST, points, online=online)
        row = res.placed.set_index("name").loc["Nowhere"]
        assert (row["geocode_quality"], row["geocoder"]) == ("exact", "nominatim")
        assert (row["latitude"], row["longitude"]) == (44.9, -93.2)
        # only the rows the address points could not place were asked, at most 1 a second,
        # with the user agent; the not-found answer is cached too
        asked = [r[0] for r in fake.requests]
        assert asked == ["12 Nowhere Rd", "PO Box 12"]
        assert {r[1] for r in fake.requests} == {"safetygap-test"}
        assert fake.requests[1][2] - fake.requests[0][2] >= 0.95
        assert json.loads(cache.read_text())["PO Box 12"] is None
        again = NominatimGeocoder(url=fake.url, cache=cache, user_agent="safetygap-test")
        geocode_frame(LIST, points, online=again)
        assert len(fake.requests) == 2 and again.requests == 0
    finally:
        fake.stop()


def test_coarse_online_answer_is_not_a_match():
    from safetygap.fetch.nominatim import answer_quality

    assert answer_quality({"class": "boundary", "type": "administrative"}) == "none"
    assert answer_quality({"class": "highway", "type": "residential"}) == "street_only"


def test_cli_geocode_writes_placed_and_review(points, tmp_path):
    from typer.testing import CliRunner

    from safetygap.cli import app

    layer = gpd.GeoDataFrame({"ADDRESS": [p[0] for p in POINTS]},
                             geometry=gpd.points_from_xy([X0 + p[1] for p in POINTS],
                                                         [Y0 + p[2] for p in POINTS]), crs=CRS)
    layer.to_file(tmp_path / "points.gpkg")
    LIST.assign(service_type="youth_program", capacity=2).to_csv(tmp_path / "list.csv",
                                                                 index=False)
    out = tmp_path / "placed.csv"
    res = CliRunner().invoke(app, ["providers", "geocode", str(tmp_path / "list.csv"),
                                   "--out", str(out), "--address-points",
                                   str(tmp_path / "points.gpkg")])
    assert res.exit_code == 0, res.output
    assert "placed 6 of 8 rows" in res.output and "3 rows to review" in res.output
    assert len(pd.read_csv(out)) == 6
    review = pd.read_csv(tmp_path / "placed.review.csv")
    assert list(review["row"]) == [4, 5, 6]
    # the placed file is a provider file the analysis reads
    from safetygap.inputs import read_providers
    from safetygap.taxonomy import load_taxonomy

    assert len(read_providers(out, taxonomy=load_taxonomy()).frame) == 6
    bad = CliRunner().invoke(app, ["providers", "geocode", str(tmp_path / "list.csv"),
                                   "--out", str(out), "--min-quality", "good"])
    assert bad.exit_code != 0 and "--min-quality" in bad.output
