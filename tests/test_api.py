"""The JSON / GeoJSON API on the tiny city (answers worked out by hand in conftest and
below) and on a small demo city: every route, status codes, response schemas."""

from __future__ import annotations

import hashlib
import json
import math
import shutil

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import CRS, HOSTILE_AREA, HOSTILE_PROVIDER, TINY_YEARS, X0, Y0
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import shape

from safetygap.api.app import create_app
from safetygap.api.models import (
    AreaCollection,
    AreaProfile,
    ErrorResponse,
    GapRanking,
    Health,
    HexCollection,
    ProviderCollection,
    Summary,
)
from safetygap.errors import ValidationError


def ok(client, url, model):
    r = client.get(url)
    assert r.status_code == 200, r.text
    return model.model_validate(r.json()), r.json()


def props(fc: dict) -> dict[str, dict]:
    return {f["id"]: f["properties"] for f in fc["features"]}


# --------------------------------------------------------------- health, summary


def test_health(client, api_workspace):
    h, _ = ok(client, "/health", Health)
    assert h.status == "ok" and h.workspace == api_workspace.name  # no server path
    assert len(h.manifest_sha256) == 64


def test_summary(client):
    s, _ = ok(client, "/api/summary", Summary)
    assert s.totals.input_rows == 11 and s.totals.calls_in_areas == 8
    assert sum(s.quality.status_counts.values()) == 11
    assert s.quality.analysed_in_areas == 8 and s.quality.excluded_from_areas == 3
    # diverted: call 1 (BCR) of the 9 unique calls police or an alternative handled (the
    # fire call 6 left out); 1 of the 7 such 2023 calls; none in 2024
    assert s.diverted_share == {"all": round(1 / 9, 6), "2023": round(1 / 7, 6), "2024": 0.0}
    assert s.diversion is not None and s.diversion.denominator_calls == 9
    assert s.diversion.diverted_calls == 1
    assert {f: v.providers for f, v in s.families.items()} == {
        "response": 1, "prevention": 2, "restoration": 2}
    assert s.families["response"].need_calls == 3
    assert s.years == [2023, 2024] and s.synthetic is False


# ----------------------------------------------------------------------- layers


def test_neighborhoods_geojson_values(client):
    fc, raw = ok(client, "/api/neighborhoods", AreaCollection)
    assert fc.crs == "EPSG:4326" and fc.level == "neighborhood" and fc.period == "all"
    p = props(raw)
    assert list(p) == ["A", "B", "C", "D"]
    assert p["D"]["name"] == HOSTILE_AREA  # JSON carries the raw name; pages escape it
    assert [p[i]["calls_total"] for i in "ABCD"] == [3, 2, 1, 2]
    assert p["A"]["calls_response"] == 3
    assert p["A"]["rate_response"] == pytest.approx(3 / TINY_YEARS)  # conftest.tiny_options
    # exact Poisson 95% interval of 3 calls: (0.6187, 8.7673) per TINY_YEARS thousand
    assert p["A"]["rate_response_ci_low"] == pytest.approx(0.61867 / TINY_YEARS, rel=1e-4)
    assert p["A"]["rate_response_ci_high"] == pytest.approx(8.76727 / TINY_YEARS, rel=1e-4)
    assert p["A"]["class_label_response"] == "high need, high access"
    assert p["A"]["ranked"] == 1 and type(p["A"]["class_response"]) is int
    assert p["B"]["calls_prevention"] == 2
    assert p["A"]["population"] == 1000 and p["A"]["area_km2"] == pytest.approx(1.0)
    assert set(fc.classes) == {"response", "prevention", "restoration"}


def test_geometry_is_wgs84(client):
    """Square A's corners transformed independently with pyproj."""
    _, raw = ok(client, "/api/neighborhoods?tolerance=0", AreaCollection)
    a = shape(next(f for f in raw["features"] if f["id"] == "A")["geometry"])
    tr = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform([X0, X0 + 1000, X0, X0 + 1000], [Y0, Y0, Y0 + 1000, Y0 + 1000])
    assert a.bounds == pytest.approx((min(lon), min(lat), max(lon), max(lat)), abs=2e-6)


def test_family_and_year_select(client):
    _, raw = ok(client, "/api/neighborhoods?family=prevention", AreaCollection)
    keys = set(raw["features"][0]["properties"])
    assert "gap_prevention" in keys and "gap_response" not in keys and "calls_total" not in keys
    assert set(raw["classes"]) == {"prevention"}
    _, y23 = ok(client, "/api/neighborhoods?year=2023&family=response", AreaCollection)
    _, y24 = ok(client, "/api/neighborhoods?year=2024&family=prevention", AreaCollection)
    assert y23["period"] == "2023"
    # calls 1 and 2 in 2023 (call 11 has no date); call 4 in B in 2024
    assert props(y23)["A"]["calls_response"] == 2
    assert [props(y24)[i]["calls_prevention"] for i in "ABCD"] == [0, 1, 0, 0]


def test_wards_layer(client):
    fc, _ = ok(client, "/api/wards?family=response", AreaCollection)
    assert [f.id for f in fc.features] == ["1", "2"]
    # ward 1 holds A (calls 1, 2, 11), call 4 at x=1050 and C (call 5); ward 2 the rest
    _, all_ = ok(client, "/api/wards", AreaCollection)
    assert [props(all_)[w]["calls_total"] for w in ("1", "2")] == [5, 3]
    assert [props(all_)[w]["population"] for w in ("1", "2")] == pytest.approx([7000, 3000])


def test_neighborhoods_of_a_ward(client):
    _, raw = ok(client, "/api/neighborhoods?ward=2&family=response", AreaCollection)
    assert [f["id"] for f in raw["features"]] == ["B", "D"]  # ward 2 is x in [1500, 2000]


def test_simplification_stays_within_tolerance(demo_client, demo_workspace):
    exact = gpd.read_parquet(demo_workspace / "neighborhoods.parquet")
    n_exact = shapely.get_num_coordinates(exact.geometry.to_numpy()).sum()
    _, raw = ok(demo_client, "/api/neighborhoods?family=response&tolerance=50", AreaCollection)
    web = gpd.GeoSeries([shape(f["geometry"]) for f in raw["features"]], crs="EPSG:4326")
    assert shapely.get_num_coordinates(web.to_numpy()).sum() < n_exact
    back = web.to_crs(exact.crs).to_numpy()
    hd = shapely.hausdorff_distance(back, exact.geometry.to_numpy())
    assert hd.max() <= 50 + 1.0  # + rounding to 1e-6 degrees
    # shared edges simplified once: neighbours neither overlap nor open gaps
    union = shapely.union_all(back)
    assert union.area == pytest.approx(sum(g.area for g in back), rel=1e-6)
    assert union.area == pytest.approx(exact.union_all().area, rel=5e-3)


# --------------------------------------------------------------------- profiles


def test_neighborhood_profile(client):
    p, _ = ok(client, "/api/neighborhoods/A", AreaProfile)
    assert p.calls == 3 and p.calls_by_year == {"2023": 2, "unknown": 1}
    assert [(c.category, c.family, c.calls, c.by_year) for c in p.calls_by_category] == [
        ("behavioral_crisis", "response", 3, {"2023": 2, "unknown": 1})]
    assert [(q.provider_id, q.distance_m) for q in p.providers_inside] == [("P1", 0.0)]
    # outside A (a 1 km square at the origin) and within their catchment:
    # PY (1700, 300): 700 m, catchment 1600; P2 (1900, 100): 900 m, catchment 1200;
    # PX (1900, 1900): hypot(900, 900) = 1272.8 m, catchment 4000; P3 is 49 km away
    assert [(q.provider_id, q.distance_m) for q in p.providers_in_reach] == [
        ("PY", 700.0), ("P2", 900.0), ("PX", 1272.8)]
    m = {(x.family, x.measure): x for x in p.measures}
    assert m[("response", "calls")].value == 3 and m[("response", "calls")].rank == 1
    assert m[("response", "calls")].city == pytest.approx(0.75)  # 3 calls / 4 areas
    # city rate: 8 calls * 1000 / (10,000 residents * 487/365.25 covered years)
    assert m[("total", "rate")].city == pytest.approx(0.8 / TINY_YEARS)
    rate = m[("response", "rate")]
    assert (rate.ci_low, rate.ci_high) == (pytest.approx(0.61867 / TINY_YEARS, rel=1e-4),
                                           pytest.approx(8.76727 / TINY_YEARS, rel=1e-4))
    assert m[("response", "class")].text == "high need, high access"
    assert m[("response", "gap")].city is None


def test_gap_ranks_by_hand(client):
    """Restoration: only C has a call (domestic). One call is no evidence that C differs:
    Marshall's prior variance s2 - m/mean(b) is negative, so every smoothed need is the
    city's 1 call / 13.3 thousand resident-years = 0.075 and all four areas are "middle
    need". Access (PX at D's far corner reaches every cell): D > C > B > A (B and C
    mirror each other about the diagonal through PX, but B's cells on the ward line at
    x = 1500 are cut in two, which lowers B a little): A low, B and C middle, D high. So A
    is middle need, low access (rank 1), B and C middle/middle (ranks 2, 3: equal need,
    layer order), D middle need, high access. The secondary gap index, from the raw rate:
    rate ranks C first, the others tie (1/3); access percentiles A 0, B 1/3, C 2/3, D 1, so
    gaps are A 1/3, B 0, C 1/3, D -2/3."""
    g, _ = ok(client, "/api/gaps?family=restoration", GapRanking)
    rows = g.families["restoration"]
    assert [r.area_id for r in rows] == ["A", "B", "C", "D"]
    assert [r.need for r in rows] == pytest.approx([1 / (10 * TINY_YEARS)] * 4)
    assert [r.label for r in rows] == ["middle need, low access", "middle need, middle access",
                                       "middle need, middle access",
                                       "middle need, high access"]
    assert not any(r.underserved for r in rows)
    assert [r.gap for r in rows] == pytest.approx([1 / 3, 0, 1 / 3, -2 / 3], abs=1e-6)
    assert rows[3].name == HOSTILE_AREA
    p, _ = ok(client, "/api/neighborhoods/C", AreaProfile)
    gap = next(x for x in p.measures if (x.family, x.measure) == ("restoration", "gap"))
    assert (gap.rank, gap.of, gap.value) == (1, 4, pytest.approx(1 / 3))  # tied with A


def test_gap_classes_are_integers_in_json(client):
    """Class numbers are JSON integers everywhere (3, never 3.0) and agree."""
    layer = client.get("/api/neighborhoods?family=restoration").json()
    want = {f["id"]: f["properties"]["gap_class_restoration"] for f in layer["features"]}
    rows = client.get("/api/gaps?family=restoration").json()["families"]["restoration"]
    assert {r["area_id"]: r["gap_class"] for r in rows} == want
    for area_id, cls in want.items():
        measures = client.get(f"/api/neighborhoods/{area_id}").json()["measures"]
        (got,) = [m["value"] for m in measures
                  if (m["family"], m["measure"]) == ("restoration", "gap_class")]
        assert got == cls and type(got) is int and type(cls) is int


def test_gaps_parameters(client):
    g, _ = ok(client, "/api/gaps?family=restoration&top=2", GapRanking)
    assert [r.rank for r in g.families["restoration"]] == [1, 2] and g.top == 2
    g, _ = ok(client, "/api/gaps", GapRanking)
    assert set(g.families) == {"response", "prevention", "restoration"}
    assert all(len(v) == 4 for v in g.families.values())
    g, _ = ok(client, "/api/gaps?level=ward&top=1", GapRanking)
    assert g.level == "ward" and all(len(v) == 1 for v in g.families.values())
    g, _ = ok(client, "/api/gaps?family=prevention&year=2024", GapRanking)
    assert g.period == "2024"


def test_ward_profile(client):
    p, _ = ok(client, "/api/wards/2", AreaProfile)
    assert {q.provider_id for q in p.providers_inside} == {"P2", "PX", "PY"}
    assert HOSTILE_PROVIDER in {q.name for q in p.providers_inside}
    assert p.calls == 3
    p1, _ = ok(client, "/api/wards/1", AreaProfile)
    assert [q.provider_id for q in p1.providers_inside] == ["P1"]


# ------------------------------------------------------------- providers, calls


def test_providers(client):
    fc, _ = ok(client, "/api/providers", ProviderCollection)
    assert [f.id for f in fc.features] == ["P1", "P2", "P3", "PX", "PY"]
    p3 = next(f for f in fc.features if f.id == "P3")
    assert p3.properties.neighborhood_id is None and p3.properties.ward_id is None
    fc, _ = ok(client, "/api/providers?family=restoration", ProviderCollection)
    assert [f.id for f in fc.features] == ["P3", "PX"]
    fc, _ = ok(client, "/api/providers?ward=2&family=prevention", ProviderCollection)
    assert [f.id for f in fc.features] == ["P2", "PY"]
    fc, _ = ok(client, "/api/providers?neighborhood=A", ProviderCollection)
    assert [f.id for f in fc.features] == ["P1"]


def test_hexbins(client, api_workspace):
    fc, raw = ok(client, "/api/hexbins?family=response&size=100", HexCollection)
    assert fc.total_calls == 3 and fc.size_m == 100
    fc_all, _ = ok(client, "/api/hexbins", HexCollection)
    assert fc_all.total_calls == 8  # every call placed in an area
    # second method: each placed response call lies in a returned hexagon
    calls = gpd.read_parquet(api_workspace / "calls.parquet")
    placed = calls[calls["status"].isin(["ok", "unparseable_date", "unknown_call_type"])
                   & (calls["family"] == "response")].to_crs("EPSG:4326")
    hexes = shapely.union_all([shape(f["geometry"]) for f in raw["features"]])
    assert all(shapely.dwithin(hexes, pt, 1e-6) for pt in placed.geometry)
    _, y = ok(client, "/api/hexbins?year=2024", HexCollection)
    assert y["total_calls"] == 1  # call 4


def test_demo_layers(demo_client, demo_workspace):
    fc, raw = ok(demo_client, "/api/neighborhoods", AreaCollection)
    nb = gpd.read_parquet(demo_workspace / "neighborhoods.parquet")
    assert len(fc.features) == len(nb)
    for col in ("gap_response", "calls_prevention", "access_restoration"):
        got = np.array([f["properties"][col] for f in raw["features"]], dtype=float)
        assert np.allclose(got, nb[col].to_numpy(float), equal_nan=True)
    hx, _ = ok(demo_client, "/api/hexbins?family=response", HexCollection)
    calls = gpd.read_parquet(demo_workspace / "calls.parquet",
                             columns=["status", "family", "geometry"])
    placed = calls["status"].isin(["ok", "unparseable_date", "unknown_call_type"])
    assert hx.total_calls == int((placed & (calls["family"] == "response")).sum())
    assert len(hx.features) < hx.total_calls  # aggregated, never one feature per call


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("url", "param", "allowed"),
    [
        ("/api/neighborhoods?family=police", "family", "'response', 'prevention' or "
                                                        "'restoration'"),
        ("/api/wards?family=", "family", "'response'"),
        ("/api/gaps?level=city", "level", "'neighborhood' or 'ward'"),
        ("/api/gaps?top=0", "top", "greater than or equal to 1"),
        ("/api/gaps?top=ten", "top", "valid integer"),
        ("/api/neighborhoods?year=1999", "year", "2023, 2024"),
        ("/api/wards?year=abc", "year", "valid integer"),
        ("/api/neighborhoods?tolerance=-1", "tolerance", "greater than or equal to 0"),
        ("/api/neighborhoods?tolerance=nan", "tolerance", "finite"),
        ("/api/neighborhoods?tolerance=5000", "tolerance", "less than or equal to 1000"),
        ("/api/neighborhoods?ward=9", "ward", "allowed: 1, 2"),
        ("/api/providers?neighborhood=Z", "neighborhood", "allowed: A, B, C, D"),
        ("/api/hexbins?size=10", "size", "greater than or equal to 100"),
        ("/api/hexbins?year=2030", "year", "2023, 2024"),
        ("/maps/gaps?family=x", "family", "'response'"),
        ("/maps/gaps?level=x", "level", "'ward'"),
    ],
)
def test_bad_parameters_422(client, url, param, allowed):
    r = client.get(url)
    assert r.status_code == 422
    body = ErrorResponse.model_validate(r.json()).model_dump()
    assert f"query parameter '{param}'" in body["message"]
    assert allowed in body["message"]
    assert body["detail"][0]["loc"] == ["query", param]


@pytest.mark.parametrize("url", ["/api/neighborhoods/Z", "/api/wards/3", "/api/wards/A",
                                 "/api/neighborhoods/a", "/maps/wards/9", "/nope"])
def test_unknown_ids_404(client, url):
    r = client.get(url)
    assert r.status_code == 404
    if url.startswith("/api/"):
        assert "no " in r.json()["message"] and "id" in r.json()["message"]


def test_openapi_documents_every_route(client):
    spec = client.get("/openapi.json").json()
    for path in ("/health", "/api/summary", "/api/neighborhoods", "/api/wards",
                 "/api/neighborhoods/{area_id}", "/api/wards/{area_id}", "/api/gaps",
                 "/api/providers", "/api/hexbins", "/", "/maps/gaps", "/maps/wards/{ward}",
                 "/report"):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    for name in ("AreaCollection", "AreaProfile", "GapRanking", "Summary", "HexCollection",
                 "ProviderCollection"):
        assert name in schemas
    ref = spec["paths"]["/api/neighborhoods"]["get"]["responses"]
    assert "AreaCollection" in json.dumps(ref["200"])
    assert "ErrorResponse" in json.dumps(ref["422"]) and "ErrorResponse" in json.dumps(ref["404"])
    assert client.get("/docs").status_code == 200


ROUTES = ["/api/neighborhoods", "/api/wards", "/api/gaps", "/api/providers", "/api/hexbins",
          "/maps/gaps"]
PARAMS = ["family", "year", "tolerance", "level", "top", "ward", "size", "neighborhood"]


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(ROUTES),
    params=st.dictionaries(st.sampled_from(PARAMS),
                           st.one_of(st.text(max_size=12), st.integers(-10**6, 10**6),
                                     st.sampled_from(["response", "ward", "2023", "1e308",
                                                      "inf", "-0", "1", "A", "2"])),
                           max_size=4),
)
def test_no_request_gives_500(client, route, params):
    r = client.get(route, params=params)
    assert r.status_code in (200, 422), (route, params, r.text[:300])
    if r.status_code == 422:
        assert "parameter" in r.json()["message"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["/api/neighborhoods/", "/api/wards/", "/maps/wards/"]),
       area=st.text(min_size=1, max_size=10).filter(lambda s: s not in (".", "..")))
def test_no_id_gives_500(client, kind, area):
    from urllib.parse import quote

    r = client.get(kind + quote(area, safe=""))
    assert r.status_code in (200, 404), (kind, area, r.text[:300])


# ------------------------------------------------------------------- workspaces


def test_create_app_refuses_a_non_workspace(tmp_path):
    with pytest.raises(ValidationError, match=r"manifest\.json"):
        create_app(tmp_path)


def test_reloads_when_the_manifest_changes(api_workspace, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(api_workspace, ws)
    with TestClient(create_app(ws)) as c:
        assert c.get("/api/summary").json()["label"] == ""
        key = c.get("/health").json()["manifest_sha256"]
        summary = json.loads((ws / "summary.json").read_text())
        (ws / "summary.json").write_text(json.dumps(summary | {"label": "second run"}))
        # same manifest: the cached view is still served
        assert c.get("/api/summary").json()["label"] == ""
        manifest = json.loads((ws / "manifest.json").read_text())
        manifest["files"]["summary.json"]["sha256"] = hashlib.sha256(
            (ws / "summary.json").read_bytes()).hexdigest()  # as a writer records it
        (ws / "manifest.json").write_text(json.dumps(manifest | {"created": "later"}))
        assert c.get("/api/summary").json()["label"] == "second run"
        assert c.get("/health").json()["manifest_sha256"] != key
        # a rewrite in progress (no manifest): the last complete workspace is served
        (ws / "manifest.json").unlink()
        assert c.get("/api/summary").json()["label"] == "second run"


def test_503_when_never_readable(api_workspace, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(api_workspace, ws)
    app = create_app(ws)
    (ws / "manifest.json").unlink()
    with TestClient(app) as c:
        r = c.get("/api/summary")
        assert r.status_code == 503 and "manifest.json" in r.json()["message"]


def test_nan_never_reaches_json(client):
    """Undefined values are null (JSON has no NaN)."""
    r = client.get("/api/neighborhoods/D")
    assert "NaN" not in r.text and "Infinity" not in r.text
    cov = next(m for m in r.json()["measures"]
               if (m["family"], m["measure"]) == ("response", "coverage"))
    assert cov["value"] is None  # no response calls in D
    assert not any(isinstance(v, float) and math.isnan(v) for v in
                   r.json()["calls_by_year"].values())


def test_summary_shows_boundary_sensitivity_and_distance_model(client, api_workspace):
    import json

    s, _ = ok(client, "/api/summary", Summary)
    raw = json.loads((api_workspace / "summary.json").read_text())["boundary_sensitivity"]
    b = s.boundary_sensitivity
    assert b is not None and b.policy == "contain" and b.compared_with == "split"
    # no tiny-city call lies within 5 m of a line (the closest, call 4, is 50 m away)
    assert b.calls_shared == {"neighborhood": 0, "ward": 0} == raw["calls_shared"]
    assert b.areas_changing_gap_class == raw["areas_changing_gap_class"]
    assert all(v == 0 for fams in b.areas_changing_gap_class.values() for v in fams.values())
    assert b.areas_compared["neighborhood"]["response"] == 4
    assert s.travel is not None and s.travel.distance_model == "straight-line"
    assert s.travel.catchments["bcr_team"] == 6000.0


def test_index_page_shows_the_ranking_robustness(client):
    page = client.get("/").text
    assert "How robust is the ranking?" in page
    assert "0 of 4" in " ".join(page.split())


def test_demo_sensitivity_matches_its_summary(demo_client, demo_workspace):
    import json

    raw = json.loads((demo_workspace / "summary.json").read_text())["boundary_sensitivity"]
    b = demo_client.get("/api/summary").json()["boundary_sensitivity"]
    assert b["calls_shared"] == raw["calls_shared"] and b["calls_shared"]["neighborhood"] > 0
    assert b["areas_changing_gap_class"] == raw["areas_changing_gap_class"]
    flat = " ".join(demo_client.get("/").text.split())
    n = raw["areas_changing_gap_class"]["neighborhood"]["response"]
    assert f"{n} of {raw['areas_compared']['neighborhood']['response']}" in flat
