"""Take-away: ?format=csv and ?format=geojson on the area, ranking, provider and site routes
give the same values as the JSON answers, as files to download."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest

from tests.conftest import app_client


def _csv(r) -> pd.DataFrame:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    assert r.headers["content-disposition"].endswith('.csv"')
    return pd.read_csv(io.StringIO(r.text), dtype={"area_id": str, "neighborhood_id": str,
                                                   "ward_id": str, "provider_id": str})


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return str(a) == str(b)


@pytest.mark.parametrize("level", ["neighborhoods", "wards"])
def test_area_csv_and_geojson_equal_the_json(demo_client, level):
    js = demo_client.get(f"/api/{level}", params={"family": "prevention"}).json()
    table = _csv(demo_client.get(f"/api/{level}", params={"family": "prevention",
                                                          "format": "csv"}))
    assert len(table) == len(js["features"])
    for (_, row), f in zip(table.iterrows(), js["features"], strict=True):
        for k, v in f["properties"].items():
            assert _same(row[k], v), (k, row[k], v)
    gj = demo_client.get(f"/api/{level}", params={"family": "prevention", "format": "geojson"})
    assert gj.headers["content-type"].startswith("application/geo+json")
    assert gj.headers["content-disposition"].endswith('.geojson"')
    assert gj.json()["features"] == js["features"]


def test_ranking_csv_rows_are_the_ranking(demo_client):
    js = demo_client.get("/api/gaps", params={"top": 5}).json()["families"]
    table = _csv(demo_client.get("/api/gaps", params={"top": 5, "format": "csv"}))
    want = [{"family": f, **r} for f in ("response", "prevention", "restoration")
            for r in js[f]]
    assert len(table) == len(want) == 15
    for (_, row), w in zip(table.iterrows(), want, strict=True):
        assert all(_same(row[k], v) for k, v in w.items()), w
    gj = demo_client.get("/api/gaps", params={"top": 5, "format": "geojson",
                                              "family": "response"}).json()
    areas = {f["id"]: f["geometry"] for f in demo_client.get(
        "/api/neighborhoods").json()["features"]}
    assert [f["properties"]["area_id"] for f in gj["features"]] == \
        [r["area_id"] for r in js["response"]]
    for f in gj["features"]:
        assert f["geometry"]["coordinates"] == areas[f["properties"]["area_id"]]["coordinates"]


def test_providers_csv_has_their_coordinates(demo_client):
    js = demo_client.get("/api/providers", params={"family": "restoration"}).json()
    table = _csv(demo_client.get("/api/providers", params={"family": "restoration",
                                                           "format": "csv"}))
    assert list(table["provider_id"]) == [str(f["properties"]["provider_id"])
                                          for f in js["features"]]
    assert list(table["longitude"]) == [f["geometry"]["coordinates"][0] for f in js["features"]]
    assert list(table["latitude"]) == [f["geometry"]["coordinates"][1] for f in js["features"]]
    assert (table["family"] == "restoration").all()


def test_sites_csv_and_geojson_equal_the_recommendation(demo_client):
    js = demo_client.get("/api/sites", params={"family": "prevention", "k": 3}).json()
    table = _csv(demo_client.get("/api/sites", params={"family": "prevention", "k": 3,
                                                       "format": "csv"}))
    assert list(table["rank"]) == [s["rank"] for s in js["sites"]]
    assert list(table["site_id"]) == [s["site_id"] for s in js["sites"]]
    assert list(table["marginal_calls"]) == [s["marginal_calls"] for s in js["sites"]]
    assert list(table["longitude"]) == [s["longitude"] for s in js["sites"]]
    gj = demo_client.get("/api/sites", params={"family": "prevention", "k": 3,
                                               "format": "geojson"}).json()
    assert [f["geometry"]["coordinates"] for f in gj["features"]] == \
        [[s["longitude"], s["latitude"]] for s in js["sites"]]


def test_bad_format_is_422(demo_client):
    r = demo_client.get("/api/neighborhoods", params={"format": "xlsx"})
    assert r.status_code == 422 and "format" in r.json()["message"]


def test_hidden_counts_stay_hidden_in_csv(demo_workspace):
    """With the public privacy threshold the CSV shows exactly the JSON's values: a count
    hidden (null) in the JSON is an empty cell, never the number."""
    with app_client(demo_workspace, privacy_min_count=None) as c:
        js = c.get("/api/neighborhoods").json()["features"]
        table = _csv(c.get("/api/neighborhoods", params={"format": "csv"}))
    cols = [k for k in js[0]["properties"] if k.startswith("calls_")]
    assert cols
    for (_, row), f in zip(table.iterrows(), js, strict=True):
        for k in cols:
            assert _same(row[k], f["properties"][k])
