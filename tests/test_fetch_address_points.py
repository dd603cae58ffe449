"""`safetygap fetch minneapolis --layers address_points`, then `providers geocode` against
the fetched file: a hand-made address-point layer (Minnesota address point standard
fields) served by the local ArcGIS stand-in on 127.0.0.1."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from _arcgis_server import FakeArcGIS, FakeLayer
from pyproj import Transformer
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.fetch import RetryPolicy, fetch_minneapolis

UTM = Transformer.from_crs("EPSG:26915", "EPSG:4326", always_xy=True)
X0, Y0 = 478_000.0, 4_980_000.0
# (number, pre-direction, name, type, x, y in metres from X0, Y0): Lake St numbered
# west to east, 100 at x = 0 and 120 at x = 200 on the north side (even)
POINTS = [(100, "E", "Lake", "St", 0.0, 20.0), (120, "E", "Lake", "St", 200.0, 20.0),
          (101, "E", "Lake", "St", 0.0, -20.0), (3001, "", "Chicago", "Ave", 900.0, 400.0)]


def _feature(i, rec):
    number, pre, name, kind, x, y = rec
    lon, lat = UTM.transform(X0 + x, Y0 + y)
    return {"type": "Feature", "id": i + 1,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"OBJECTID": i + 1, "ANUMBER": number, "ST_PRE_DIR": pre,
                           "ST_NAME": name, "ST_POS_TYP": kind, "ST_POS_DIR": "",
                           "CITY": "Minneapolis"}}


def _tiny(props, geometry=None):
    return FakeLayer([{"type": "Feature", "id": 1, "geometry": geometry,
                       "properties": {"OBJECTID": 1, **props}}])


SQUARE = {"type": "Polygon", "coordinates": [[[-93.3, 44.9], [-93.2, 44.9], [-93.2, 45.0],
                                              [-93.3, 45.0], [-93.3, 44.9]]]}


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake = FakeArcGIS({
        "Address_Points": FakeLayer([_feature(i, r) for i, r in enumerate(POINTS)]),
        "Adressen": FakeLayer([_feature(0, POINTS[0])]),
        "Minneapolis_Neighborhoods": _tiny({"BDNUM": "1", "BDNAME": "A"}, SQUARE),
        "CityCouncilWards_WebEOC": _tiny({"BDNUM": "1"}, SQUARE),
        "Minneapolis_Communities": _tiny({"CommName": "C"}, SQUARE),
        "Police_Precincts": _tiny({"PRECINCT": "1"}, SQUARE),
        "Incidents_Reported_911": _tiny({"Response_Date": 1_640_995_200_000 + 3_600_000}),
    }).start()
    yield fake
    fake.stop()


def _asked(server, layer):
    return (sum(n for (name, _), n in server.page_hits.items() if name == layer)
            + sum(n for (name, _), n in server.other_hits.items() if name == layer))


def test_address_points_fetched_only_when_asked(server, tmp_path):
    fast = RetryPolicy(retries=0, timeout_s=2.0)
    manifest = fetch_minneapolis(tmp_path, years=(2022,), base_url=server.base_url,
                                 retry=fast, quiet=True)
    assert "address_points" not in manifest["layers"]
    assert _asked(server, "Address_Points") == 0 and _asked(server, "Incidents_Reported_911")
    manifest = fetch_minneapolis(tmp_path, years=(2022,), base_url=server.base_url,
                                 retry=fast, layers=("address_points",), quiet=True)
    entry = manifest["layers"]["address_points"]
    assert entry["records"] == 4 and entry["role"] == "address_points"
    assert entry["url"].endswith("/Address_Points/FeatureServer/0/query")
    assert "id_column" not in entry  # not a boundary layer


def test_fetch_then_geocode_against_the_fetched_points(server, tmp_path):
    res = CliRunner().invoke(app, ["fetch", "minneapolis", "--out", str(tmp_path / "d"),
                                   "--years", "2022", "--base-url", server.base_url,
                                   "--layers", "address_points", "--quiet"])
    assert res.exit_code == 0, res.output
    fetched = tmp_path / "d" / "address_points.parquet"
    assert f"--address-points {fetched}" in res.output
    assert len(gpd.read_parquet(fetched)) == 4
    pd.DataFrame({
        "name": ["At 120", "At 110", "Chicago", "Nowhere"],
        "service_type": ["youth_program"] * 4,
        "capacity": [1, 1, 1, 1],
        "address": ["120 East Lake Street", "110 E Lake St", "3001 Chicago Avenue",
                    "5 Elm St"],
    }).to_csv(tmp_path / "list.csv", index=False)
    out = tmp_path / "placed.csv"
    res = CliRunner().invoke(app, ["providers", "geocode", str(tmp_path / "list.csv"),
                                   "--address-points", str(fetched), "--out", str(out)])
    assert res.exit_code == 0, res.output
    placed = pd.read_csv(out).set_index("name")
    assert list(placed.index) == ["At 120", "At 110", "Chicago"]
    assert list(placed["geocode_quality"]) == ["exact", "street_interpolation", "exact"]
    # by hand: 120 is the point at (200, 20); 110 is half-way between 100 and 120
    # on the even side, (100, 20); 3001 Chicago Ave the point at (900, 400)
    for name, (x, y) in {"At 120": (200, 20), "At 110": (100, 20),
                         "Chicago": (900, 400)}.items():
        lon, lat = UTM.transform(X0 + x, Y0 + y)
        assert placed.loc[name, "longitude"] == pytest.approx(lon, abs=2e-7)
        assert placed.loc[name, "latitude"] == pytest.approx(lat, abs=2e-7)
    review = pd.read_csv(tmp_path / "placed.review.csv")
    assert list(review["name"]) == ["Nowhere"] and list(review["reason"]) == [
        "street not found"]


def test_service_name_renames_a_layer(server, tmp_path):
    args = ["fetch", "minneapolis", "--out", str(tmp_path), "--years", "2022",
            "--base-url", server.base_url, "--layers", "address_points", "--quiet"]
    res = CliRunner().invoke(app, [*args, "--service-name", "address_points=Adressen"])
    assert res.exit_code == 0, res.output
    assert len(gpd.read_parquet(tmp_path / "address_points.parquet")) == 1
    assert _asked(server, "Address_Points") == 0
    res = CliRunner().invoke(app, [*args, "--service-name", "adress_points=X",
                                   "--service-name", "wards=a b"])
    assert res.exit_code != 0
    assert "unknown layer" in res.output and "adress_points" in res.output
    assert "not an ArcGIS service name" in res.output
    res = CliRunner().invoke(app, [*args, "--service-name", "address_points"])
    assert res.exit_code != 0 and "expected LAYER=SERVICE" in res.output
