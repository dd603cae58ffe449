"""OGC API - Features over the published layers (/ogc): a real client no one here wrote
(OWSLib) against a real server, and checks from the standard's abstract test suite
(OGC 17-069r4, Annex A): links, conformance, paging, bbox, 404s, formats."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from openapi_spec_validator import validate
from owslib.ogcapi.features import Features

from safetygap.api.app import create_app
from safetygap.settings import Settings
from tests._live import live_server

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON_CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"


@pytest.fixture(scope="module")
def demo_app(demo_workspace):
    """The demo workspace served with the public privacy threshold (the default 11)."""
    return create_app(demo_workspace, settings=Settings(tiles="none", api_token=None))


@pytest.fixture(scope="module")
def ogc(demo_app):
    from fastapi.testclient import TestClient

    with TestClient(demo_app, raise_server_exceptions=False) as c:
        yield c


def _rel(body, rel):
    return [lk for lk in body["links"] if lk["rel"] == rel]


# ------------------------------------------------------------------ a real client


def test_owslib_lists_pages_and_filters(demo_app, demo_workspace, ogc):
    api = ogc.get("/api/neighborhoods", params={"tolerance": 0}).json()
    expected = {str(f["id"]): f for f in api["features"]}
    assert len(expected) == 80
    with live_server(demo_app) as url:
        client = Features(f"{url}/ogc/")
        assert CORE in client.conformance()["conformsTo"]
        assert set(client.feature_collections()) == {
            "neighborhoods", "wards", "providers", "hexbins", "sites"}
        # page through every neighborhood with a limit smaller than their number
        seen, offset = {}, 0
        while True:
            page = client.collection_items("neighborhoods", limit=25, offset=offset)
            assert page["numberMatched"] == 80
            assert page["numberReturned"] == len(page["features"]) <= 25
            for f in page["features"]:
                assert f["id"] not in seen
                seen[f["id"]] = f
            if not _rel(page, "next"):
                break
            offset += 25
        assert offset == 75 and len(seen) == 80
        # the same features the JSON API gives: geometry and every property
        for fid, f in seen.items():
            geom = expected[fid]["geometry"]
            assert f["geometry"] == {"type": geom["type"], "coordinates": geom["coordinates"]}
            want = {k: v for k, v in expected[fid]["properties"].items()
                    if v is None or isinstance(v, str | int | float | bool)}
            assert f["properties"] == want
        # bbox: the neighborhoods intersecting a small box, worked out with geopandas
        areas = gpd.read_parquet(demo_workspace / "neighborhoods.parquet").to_crs(4326)
        pt = areas.geometry.iloc[10].representative_point()
        box = (pt.x - 0.004, pt.y - 0.003, pt.x + 0.004, pt.y + 0.003)
        want_ids = set(areas.loc[areas.intersects(shapely.box(*box)), "area_id"].astype(str))
        got = client.collection_items("neighborhoods", bbox=list(box), limit=100)
        assert {f["id"] for f in got["features"]} == want_ids
        assert got["numberMatched"] == len(want_ids) >= 1
        one = client.collection_item("neighborhoods", next(iter(want_ids)))
        assert one["id"] in want_ids and one["type"] == "Feature"


# ------------------------------------------------------------------ abstract test suite


def test_landing_page_links_and_conformance(ogc):
    r = ogc.get("/ogc/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    for rel in ("self", "service-desc", "conformance", "data"):
        assert _rel(body, rel), rel
    assert _rel(body, "service-desc")[0]["type"] == \
        "application/vnd.oai.openapi+json;version=3.0"
    conf = ogc.get("/ogc/conformance").json()["conformsTo"]
    assert CORE in conf and GEOJSON_CONF in conf
    assert ogc.get("/ogc").status_code == 200  # without the slash too


def test_openapi_30_document_is_valid(ogc):
    r = ogc.get("/ogc/api")
    assert r.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = r.json()
    assert doc["openapi"].startswith("3.0.")
    validate(doc)  # raises on an invalid OpenAPI 3.0 document
    assert "/ogc/collections/{collectionId}/items" in doc["paths"]


def test_collections_have_extent_crs_and_item_links(ogc, demo_workspace):
    body = ogc.get("/ogc/collections").json()
    assert _rel(body, "self")
    areas = gpd.read_parquet(demo_workspace / "neighborhoods.parquet").to_crs(4326)
    for c in body["collections"]:
        assert c["itemType"] == "feature"
        assert "http://www.opengis.net/def/crs/OGC/1.3/CRS84" in c["crs"]
        items = [lk for lk in _rel(c, "items") if lk["type"] == "application/geo+json"]
        assert items, c["id"]
        one = ogc.get(f"/ogc/collections/{c['id']}").json()
        assert one["id"] == c["id"] and _rel(one, "self")
    nb = next(c for c in body["collections"] if c["id"] == "neighborhoods")
    x0, y0, x1, y1 = nb["extent"]["spatial"]["bbox"][0]
    bx0, by0, bx1, by1 = areas.total_bounds
    assert abs(x0 - bx0) < 1e-5 and abs(y0 - by0) < 1e-5
    assert abs(x1 - bx1) < 1e-5 and abs(y1 - by1) < 1e-5
    start, end = nb["extent"]["temporal"]["interval"][0]
    assert start.startswith("2022-01-01") and end.startswith("2024-12-31")


def test_paging_links_cover_every_feature_once(ogc):
    first = ogc.get("/ogc/collections/providers/items", params={"limit": 7}).json()
    total = first["numberMatched"]
    assert total > 7 and first["numberReturned"] == 7
    ids, page, pages = [], first, 0
    while True:
        ids += [f["id"] for f in page["features"]]
        pages += 1
        nxt = _rel(page, "next")
        if not nxt:
            break
        page = ogc.get(nxt[0]["href"].replace("http://testserver", "")).json()
        assert _rel(page, "prev")
    assert len(ids) == len(set(ids)) == total and pages == -(-total // 7)
    assert not _rel(first, "prev")
    beyond = ogc.get("/ogc/collections/providers/items", params={"offset": total}).json()
    assert beyond["numberReturned"] == 0 and beyond["numberMatched"] == total


def test_bbox_edges_touching_and_outside(ogc):
    feats = ogc.get("/ogc/collections/providers/items", params={"limit": 1000}).json()
    p = feats["features"][0]["geometry"]["coordinates"]
    # a box whose corner is exactly the point: the point intersects it
    touch = ogc.get("/ogc/collections/providers/items",
                    params={"bbox": f"{p[0]},{p[1]},{p[0] + 0.01},{p[1] + 0.01}",
                            "limit": 1000}).json()
    assert feats["features"][0]["id"] in {f["id"] for f in touch["features"]}
    # a box far away: nothing
    far = ogc.get("/ogc/collections/neighborhoods/items", params={"bbox": "0,0,1,1"}).json()
    assert far["numberMatched"] == 0 and far["features"] == []
    # the whole world: everything
    world = ogc.get("/ogc/collections/neighborhoods/items",
                    params={"bbox": "-180,-90,180,90"}).json()
    assert world["numberMatched"] == 80


@pytest.mark.parametrize("params, name", [
    ({"limit": 0}, "limit"), ({"limit": 10_001}, "limit"), ({"limit": "abc"}, "limit"),
    ({"offset": -1}, "offset"), ({"bbox": "1,2,3"}, "bbox"), ({"bbox": "3,0,1,1"}, "bbox"),
    ({"bbox": "0,0,1,95"}, "bbox"), ({"bbox": "a,b,c,d"}, "bbox"), ({"bbox": "nan,0,1,1"}, "bbox"),
    ({"f": "xml"}, "f"), ({"unknown_thing": "1"}, "unknown_thing"),
    ({"datetime": "not-a-date"}, "datetime"),
    ({"datetime": "2024-01-01T00:00:00Z/2023-01-01T00:00:00Z"}, "datetime"),
])
def test_bad_parameters_are_400_naming_them(ogc, params, name):
    r = ogc.get("/ogc/collections/neighborhoods/items", params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["detail"]["parameter"] == name and body["detail"]["code"]
    assert body["message"]


def test_unknown_collection_and_feature_are_404(ogc):
    for url in ("/ogc/collections/calls", "/ogc/collections/calls/items",
                "/ogc/collections/neighborhoods/items/no-such-area"):
        r = ogc.get(url)
        assert r.status_code == 404 and r.json()["detail"]["code"] == "NotFound", url


def test_property_filter_matches_the_providers_table(ogc, demo_workspace):
    import pandas as pd

    prov = pd.read_parquet(demo_workspace / "providers.parquet")
    for fam in ("response", "prevention", "restoration"):
        body = ogc.get("/ogc/collections/providers/items",
                       params={"family": fam, "limit": 1000}).json()
        assert body["numberMatched"] == int((prov["family"] == fam).sum()) > 0
        assert {f["properties"]["family"] for f in body["features"]} == {fam}
    q = ogc.get("/ogc/collections/providers/queryables").json()
    assert q["properties"]["family"] == {"type": "string"}
    assert q["properties"]["capacity"]["type"] == "number"
    numeric = ogc.get("/ogc/collections/neighborhoods/items",
                      params={"gap_class_response": 5, "limit": 100}).json()
    assert all(f["properties"]["gap_class_response"] == 5 for f in numeric["features"])


def test_datetime_inside_and_outside_the_period(ogc):
    inside = ogc.get("/ogc/collections/wards/items", params={"datetime": "2023-06-01T00:00:00Z"})
    assert inside.json()["numberMatched"] == 13
    open_end = ogc.get("/ogc/collections/wards/items", params={"datetime": "2024-06-01/.."})
    assert open_end.json()["numberMatched"] == 13
    outside = ogc.get("/ogc/collections/wards/items", params={"datetime": "1999-01-01/2000-01-01"})
    assert outside.json()["numberMatched"] == 0


def test_html_by_f_and_by_accept_header(ogc):
    for r in (ogc.get("/ogc/collections", params={"f": "html"}),
              ogc.get("/ogc/collections", headers={"Accept": "text/html,*/*"}),
              ogc.get("/ogc/collections/neighborhoods/items", params={"f": "html", "limit": 3})):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert r.text.count("<h1>") == 1 and 'lang="en"' in r.text
    js = ogc.get("/ogc/collections", headers={"Accept": "application/json"})
    assert js.headers["content-type"].startswith("application/json")


def test_counts_are_suppressed_as_on_the_maps(ogc):
    """The hexagons and the areas' call counts are the public layers' (privacy applied)."""
    hexes = ogc.get("/ogc/collections/hexbins/items", params={"limit": 10_000}).json()
    api = ogc.get("/api/hexbins").json()
    assert hexes["numberMatched"] == len(api["features"])
    assert [f["properties"]["calls"] for f in hexes["features"]] == \
        [f["properties"]["calls"] for f in api["features"]]
    assert api["hidden_hexagons"] == sum(f["properties"]["calls"] is None
                                         for f in hexes["features"])


def test_sites_are_the_default_recommendation(ogc):
    sites = ogc.get("/ogc/collections/sites/items", params={"limit": 100}).json()
    for fam in ("prevention", "restoration"):
        api = ogc.get("/api/sites", params={"family": fam}).json()
        mine = [f for f in sites["features"] if f["properties"]["family"] == fam]
        assert [f["properties"]["site_id"] for f in mine] == [s["site_id"] for s in api["sites"]]
        assert [f["properties"]["marginal_calls"] for f in mine] == \
            [s["marginal_calls"] for s in api["sites"]]
        assert [f["id"] for f in mine] == [f"{fam}-{s['rank']}" for s in api["sites"]]
