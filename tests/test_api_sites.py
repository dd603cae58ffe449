"""Siting and what-if over HTTP: GET/POST /api/sites, POST /api/scenarios, /maps/sites.

Values are worked out by hand on the tiny city (conftest) and checked against
``recommend_sites`` / ``whatif`` called directly; bad parameters and payloads answer 422
naming each problem; the stored workspace never changes; results are cached per
workspace version.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import (
    CRS,
    X0,
    Y0,
    app_client,
    grid_segments,
    make_tiny_areas,
    tiny_residents_within,
    write_tiny_city,
)
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import shape

from safetygap.api._scenarios import DRAW_TOLERANCE_M
from safetygap.api.app import create_app
from safetygap.api.models import ErrorResponse
from safetygap.api.models_sites import ScenarioResult, SiteRecommendation
from safetygap.geo.siting import CIRCLE_QUAD_SEGS, reachable_area
from safetygap.inputs import load_preset
from safetygap.methods import Methods
from safetygap.pipeline import AnalysisInputs, AnalysisOptions
from safetygap.run import run_analysis
from safetygap.scenarios import load_baseline, new_providers, recommend_sites, whatif

TO_LL = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
LONLAT_TOL = 5.1e-8
"""Longitude/latitude in responses are rounded to 7 decimals: within half of 1e-7."""
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def ll(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of a point of the tiny city given relative to its origin."""
    lon, lat = TO_LL.transform(X0 + x, Y0 + y)
    return lon, lat


def _workspace(root: Path, *, network: bool) -> Path:
    """The tiny city analysed straight-line (residents at the centroids, so the access
    changes below can be worked by hand) or on its walking grid (the default grid)."""
    files = write_tiny_city(root, make_tiny_areas())
    opts: dict = {"columns": load_preset("generic"), "accept_undated": True}
    if not network:
        opts["methods"] = Methods(demand="centroid", bootstrap=20, hotspot_permutations=0)
    if network:
        from safetygap.inputs.network import segments_to_graph, write_graphml

        x, y, u, v = grid_segments()
        graph = segments_to_graph(X0 + x, Y0 + y, u, v, crs=CRS,
                                  highway=np.full(len(u), "residential", dtype=object))
        files["network"] = write_graphml(graph, root / "tiny.graphml")
        opts |= {"travel": "network", "mode": "walk"}
    run_analysis(AnalysisInputs(**files), root / "ws", options=AnalysisOptions(**opts),
                 quiet=True)
    return root / "ws"


@pytest.fixture(scope="module")
def straight_ws(tmp_path_factory) -> Path:
    return _workspace(tmp_path_factory.mktemp("sites-straight"), network=False)


@pytest.fixture(scope="module")
def walk_ws(tmp_path_factory) -> Path:
    return _workspace(tmp_path_factory.mktemp("sites-walk"), network=True)


@pytest.fixture(scope="module")
def straight(straight_ws):
    with app_client(straight_ws) as c:
        yield c


@pytest.fixture(scope="module")
def walk(walk_ws):
    with app_client(walk_ws) as c:
        yield c


def checksums(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def get_sites(client, url: str) -> tuple[SiteRecommendation, dict]:
    r = client.get(url)
    assert r.status_code == 200, r.text
    return SiteRecommendation.model_validate(r.json()), r.json()


def hypothetical(x: float, y: float, **kw) -> dict:
    lon, lat = ll(x, y)
    return {"name": "New Center", "service_type": "youth_program", "capacity": 10.0,
            "latitude": lat, "longitude": lon} | kw


def strip_timing(d: dict) -> dict:
    return {k: v for k, v in d.items() if k not in ("timings_s", "elapsed_s")}


# ------------------------------------------------------------------ GET /api/sites


def test_sites_straight_line_by_hand(straight, straight_ws):
    """Prevention: P2 (youth program, 1,200 m) at (1900, 100) covers call 3 (500 m) but
    not call 4 at (1050, 950) (1,202 m). Candidates: the 200 m grid over the city, 11 x 11,
    in row order from (0, 0); the first within 1,200 m of call 4 is (400, 0)
    (hypot(650, 950) = 1,151 m; (200, 0) is 1,275 m away). One site covers the one call
    left, so k = 3 stops after one site. Call 4 is in B and in ward 1 (x < 1,500)."""
    s, raw = get_sites(straight, "/api/sites?family=prevention&k=3")
    assert (s.family, s.k, s.service_type, s.distance_model) == (
        "prevention", 3, "youth_program", "straight-line")
    assert (s.catchment, s.catchment_unit, s.capacity) == (1200.0, "m", 10.0)
    assert s.candidates.count == 121 and s.candidates.source == "200 m grid in the city"
    assert (s.need_calls, s.covered_before, s.covered_after) == (2, 1, 2)
    assert (s.coverage_before, s.coverage_after) == (0.5, 1.0)
    assert s.stopped_early and len(s.sites) == 1
    site = s.sites[0]
    assert (site.longitude, site.latitude) == pytest.approx(ll(400, 0), abs=LONLAT_TOL)
    assert (site.neighborhood_id, site.ward_id) == ("A", "1")
    assert (site.marginal_calls, site.cumulative_calls) == (1, 1)
    (b,) = site.neighborhoods
    assert (b.area_id, b.name, b.calls_newly_covered) == ("B", "Bravo", 1)
    assert (b.coverage_before, b.coverage_after, b.coverage_change) == (0.5, 1.0, 0.5)
    (w,) = site.wards
    assert (w.area_id, w.coverage_before, w.coverage_after) == ("1", 0.0, 1.0)
    # the catchment: a circle of 1,200 m around (400, 0), back in metres
    area = gpd.GeoSeries([shape(raw["sites"][0]["catchment_area"])], crs="EPSG:4326") \
        .to_crs(CRS).iloc[0]
    assert area.area == pytest.approx(math.pi * 1200**2, rel=2e-3)
    assert (area.centroid.x - X0, area.centroid.y - Y0) == pytest.approx((400, 0), abs=0.5)
    assert "circle" in s.catchment_area_method

    # the same as recommend_sites and whatif called directly
    base = load_baseline(straight_ws)
    direct = recommend_sites(base, family="prevention", k=3)
    for key in ("need_calls", "covered_before", "covered_after", "catchment", "service_type"):
        assert raw[key] == direct[key]
    got, want = raw["sites"][0], direct["sites"][0]
    assert got["neighborhoods"] == want["neighborhoods"] and got["wards"] == want["wards"]
    extra = new_providers(base, pd.DataFrame([hypothetical(400, 0)]), where="test")
    after = {r["area_id"]: r for r in whatif(base, extra)["neighborhoods"]}
    for key in ("gap_before", "gap_after", "access_after", "coverage_after"):
        assert b.model_dump()[key] == after["B"][key]


def test_sites_on_the_walking_network_by_hand(walk, walk_ws):
    """On the 500 m walking grid both prevention calls are uncovered; node (500, 500) is
    the first reaching both within 15 min (test_scenarios). Its catchment is the area
    worked out in test_siting.test_reachable_area_on_the_tiny_grid_by_hand."""
    s, raw = get_sites(walk, "/api/sites?family=prevention&k=2")
    assert (s.distance_model, s.catchment, s.catchment_unit) == ("network-walk", 15.0, "min")
    assert s.candidates.count == 25 and s.candidates.source == "network nodes in the city"
    assert len(s.sites) == 1 and s.sites[0].marginal_calls == 2 and s.stopped_early
    assert (s.sites[0].longitude, s.sites[0].latitude) == pytest.approx(ll(500, 500),
                                                                        abs=LONLAT_TOL)
    assert [a.area_id for a in s.sites[0].neighborhoods] == ["B"]
    assert sorted(w.area_id for w in s.sites[0].wards) == ["1", "2"]
    assert "street-network nodes" in s.catchment_area_method
    area = gpd.GeoSeries([shape(raw["sites"][0]["catchment_area"])], crs="EPSG:4326") \
        .to_crs(CRS).iloc[0]
    r, h = 700.0, 250.0
    strip = 2 * h * h + (h * math.sqrt(r * r - h * h) + r * r * math.asin(h / r))
    # drawn simplified by DRAW_TOLERANCE_M: the area moves by at most perimeter x tolerance
    assert area.area == pytest.approx(3 * 500 * 500 + 2 * strip + 6 * math.pi * 200**2,
                                      abs=area.length * DRAW_TOLERANCE_M)
    exact = reachable_area(load_baseline(walk_ws).travel.network, X0 + 500, Y0 + 500,
                           mode="walk", catchment_min=15.0)
    assert shapely.hausdorff_distance(area, exact) <= DRAW_TOLERANCE_M + 0.2
    direct = recommend_sites(load_baseline(walk_ws), family="prevention", k=2)
    assert raw["sites"][0]["neighborhoods"] == direct["sites"][0]["neighborhoods"]


def test_sites_options_and_nothing_left_to_cover(straight):
    # restoration: call 5 at (500, 1500); P3 is 50 km away, so it is uncovered
    s, _ = get_sites(straight, "/api/sites?family=restoration&k=1&service_type=victim_services"
                               "&catchment=300&capacity=2.5")
    assert (s.service_type, s.catchment, s.capacity) == ("victim_services", 300.0, 2.5)
    assert len(s.sites) == 1 and s.sites[0].neighborhoods[0].area_id == "C"
    # the site is within 300 m of (500, 1500) on the 200 m grid
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(
        s.sites[0].longitude, s.sites[0].latitude)
    assert math.hypot(x - X0 - 500, y - Y0 - 1500) <= 300
    # response: P1 (BCR, 6,000 m) covers every response call: no site adds anything
    s, _ = get_sites(straight, "/api/sites?family=response")
    assert s.k == 5 and s.sites == [] and s.stopped_early
    assert s.coverage_before == s.coverage_after == 1.0


@pytest.mark.parametrize(("client", "query", "unit", "warned"), [
    ("straight", "catchment=15", "m", "did you mean minutes? this workspace uses "
                                      "straight-line metres"),
    ("straight", "catchment=100", "m", None),
    ("straight", "", "m", None),  # the service type's 1,200 m
    ("walk", "catchment=15", "min", None),
    ("walk", "catchment=30", "min", None),
])
def test_sites_catchment_unit_and_warning(client, query, unit, warned, request):
    s, _ = get_sites(request.getfixturevalue(client),
                     f"/api/sites?family=prevention&k=1&{query}")
    assert s.catchment_unit == unit
    if warned is None:
        assert s.warnings == []
    else:
        (w,) = s.warnings
        assert warned in w


def test_network_catchment_in_metres_is_refused_with_the_hint(walk):
    """1200 'minutes' on the tiny city (2,828 m corner to corner, 35 min on foot): past
    the study area's extent, refused, and the message asks whether metres were meant."""
    r = walk.get("/api/sites?family=prevention&k=1&catchment=1200")
    assert r.status_code == 422
    assert "extent" in r.text and "did you mean metres?" in r.text


def test_sites_say_why_they_stopped(straight):
    """One prevention call is left uncovered (call 4), and no response call."""
    s, _ = get_sites(straight, "/api/sites?family=prevention&k=3")
    assert s.stopped_reason == "no further candidate covers any remaining call"
    s, _ = get_sites(straight, "/api/sites?family=response&k=3")
    assert s.stopped_reason == ("every response need call a bcr_team handles is already "
                                "covered (or it handles none)")
    lon, lat = ll(1000, 1000)
    r = straight.post("/api/sites", json={"family": "prevention", "k": 2, "candidates": [
        {"latitude": lat, "longitude": lon}]})
    assert r.status_code == 200, r.text
    assert r.json()["stopped_reason"] == "all 1 candidate used"
    s, _ = get_sites(straight, "/api/sites?family=prevention&k=1")
    assert s.stopped_reason is None and not s.stopped_early


@pytest.mark.parametrize(
    ("url", "param", "text"),
    [
        ("/api/sites", "family", "Field required"),
        ("/api/sites?family=police", "family", "'response', 'prevention' or 'restoration'"),
        ("/api/sites?family=prevention&k=0", "k", "greater than or equal to 1"),
        ("/api/sites?family=prevention&k=21", "k", "less than or equal to 20"),
        ("/api/sites?family=prevention&k=two", "k", "valid integer"),
        ("/api/sites?family=prevention&service_type=bcr_team", "service_type",
         "'community_center'"),
        ("/api/sites?family=prevention&service_type=spa", "service_type", "youth_program"),
        ("/api/sites?family=prevention&catchment=0", "catchment", "greater than 0"),
        ("/api/sites?family=prevention&catchment=nan", "catchment", "finite"),
        ("/api/sites?family=prevention&capacity=-1", "capacity", "greater than 0"),
        ("/api/sites?family=prevention&capacity=1000001", "capacity", "less than or equal to"),
        ("/maps/sites?family=x", "family", "'response'"),
        ("/maps/sites?k=50", "k", "less than or equal to 20"),
    ],
)
def test_sites_bad_parameters_422(straight, url, param, text):
    r = straight.get(url)
    assert r.status_code == 422, r.text
    body = ErrorResponse.model_validate(r.json()).model_dump()
    assert f"query parameter '{param}'" in body["message"]
    assert text in body["message"]
    assert body["detail"][0]["loc"] == ["query", param]


@pytest.mark.parametrize(("method", "url", "status"), [
    ("get", "/api/sites/1", 404), ("get", "/maps/sites/prevention", 404),
    ("get", "/api/scenarios", 405), ("put", "/api/sites", 405)])
def test_sites_unknown_routes(straight, method, url, status):
    assert getattr(straight, method)(url).status_code == status


# ------------------------------------------------------------------ POST /api/sites


def test_sites_among_given_candidates(straight):
    """(100, 1900) reaches no uncovered call; (1000, 1000) covers call 4 (71 m)."""
    lon1, lat1 = ll(100, 1900)
    lon2, lat2 = ll(1000, 1000)
    body = {"family": "prevention", "k": 2, "candidates": [
        {"latitude": lat1, "longitude": lon1},
        {"latitude": lat2, "longitude": lon2, "name": "Old school"}]}
    r = straight.post("/api/sites", json=body)
    assert r.status_code == 200, r.text
    s = SiteRecommendation.model_validate(r.json())
    assert s.candidates.count == 2 and s.candidates.source == "request body"
    assert [(x.name, x.marginal_calls) for x in s.sites] == [("Old school", 1)]
    assert (x := s.sites[0]).neighborhood_id in ("A", "B", "C", "D")
    assert (x.longitude, x.latitude) == pytest.approx((lon2, lat2), abs=LONLAT_TOL)


def test_sites_among_bad_candidates_lists_every_problem(straight):
    body = {"family": "prevention", "k": 1, "candidates": [
        {"latitude": 95.0, "longitude": -93.0},
        {"latitude": 44.9, "longitude": 200.0},
        {"latitude": float("nan"), "longitude": -93.0}]}
    r = straight.post("/api/sites", content=json.dumps(body),
                      headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    locs = [e["loc"] for e in r.json()["detail"]]
    assert locs == [["body", "candidates", i, "latitude/longitude"] for i in range(3)]
    assert "out of range" in r.json()["message"] and "missing or unreadable" in \
        r.json()["message"]
    for body in ({"family": "prevention", "candidates": []},
                 {"family": "nope", "candidates": [{"latitude": 1, "longitude": 1}]},
                 {"family": "prevention", "k": 1, "service_type": "spa",
                  "candidates": [{"latitude": 44.9, "longitude": -93.2}]},
                 {"family": "prevention", "candidates": [{"lat": 44.9, "lon": -93.2}]}):
        r = straight.post("/api/sites", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["message"].startswith("body")


def test_sites_request_size_and_numbers_are_bounded(straight, straight_ws):
    """At most MAX_CANDIDATES candidates (the 422 quotes an excerpt of them, not all);
    a capacity past the providers' MAX_CAPACITY is refused by the API and by the core."""
    from safetygap.api.models_sites import MAX_CANDIDATES
    from safetygap.errors import ValidationError
    from safetygap.inputs.providers import MAX_CAPACITY
    from safetygap.scenarios import check_siting_options, load_baseline

    lon, lat = ll(1000, 1000)
    many = [{"latitude": lat, "longitude": lon}] * (MAX_CANDIDATES + 1)
    r = straight.post("/api/sites", json={"family": "prevention", "k": 1, "candidates": many})
    assert r.status_code == 422 and f"at most {MAX_CANDIDATES} items" in r.json()["message"]
    assert len(r.content) < 4000, len(r.content)
    for capacity in (MAX_CAPACITY * 2, 1e308):
        r = straight.post("/api/sites", json={"family": "prevention", "k": 1,
                                              "capacity": capacity, "candidates": many[:1]})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "capacity"]
    with pytest.raises(ValidationError, match="up to 1,000,000"):
        check_siting_options(load_baseline(straight_ws), family="prevention", k=1,
                             capacity=MAX_CAPACITY * 2)


# ------------------------------------------------------------- POST /api/scenarios


def test_scenario_by_hand_and_as_whatif(straight, straight_ws):
    """A youth program (capacity 10, 1,200 m) at (1000, 1000): call 4 is 71 m away, so B's
    prevention coverage goes 0.5 -> 1; every neighborhood centroid is 707 m away, so the
    capacity is shared by all 10,000 residents: +1 per 1,000 residents everywhere. It newly
    reaches the residents of its disc outside the disc of P2 (1,200 m at (1900, 100)),
    counted by geopandas overlay; call 4 (a shooting) is not of a kind a non-police
    responder takes."""
    r = straight.post("/api/scenarios", json={"providers": [hypothetical(1000, 1000)]})
    assert r.status_code == 200, r.text
    s = ScenarioResult.model_validate(r.json())
    assert s.families == ["prevention"] and s.distance_model == "straight-line"
    totals = s.totals["prevention"].model_dump()
    reached = totals.pop("residents_newly_reached")
    assert totals == {
        "need_calls": 2, "coverage_before": 0.5, "coverage_after": 1.0,
        "calls_newly_covered": 1, "eligible_newly_covered": 0}
    new = shapely.Point(1000, 1000).buffer(1200, quad_segs=CIRCLE_QUAD_SEGS).difference(
        shapely.Point(1900, 100).buffer(1200, quad_segs=CIRCLE_QUAD_SEGS))
    assert reached == pytest.approx(tiny_residents_within(new), abs=1.0)
    nb = {a.area_id: a for a in s.neighborhoods}
    assert set(nb) == {"A", "B", "C", "D"} and {a.family for a in s.neighborhoods} == \
        {"prevention"}
    assert (nb["B"].coverage_before, nb["B"].coverage_after) == (0.5, 1.0)
    assert [nb[a].access_change for a in "ABCD"] == pytest.approx([1.0] * 4)
    (p,) = s.providers
    assert (p.name, p.family, p.catchment, p.capacity) == ("New Center", "prevention",
                                                           1200.0, 10.0)
    assert (p.longitude, p.latitude) == pytest.approx(ll(1000, 1000), abs=LONLAT_TOL)
    assert [w.area_id for w in s.wards] == ["1", "2"]
    # what the CLI's whatif computes, value for value
    base = load_baseline(straight_ws)
    direct = whatif(base, new_providers(base, pd.DataFrame([hypothetical(1000, 1000)]),
                                        where="providers"))
    assert r.json()["neighborhoods"] == direct["neighborhoods"]
    assert r.json()["wards"] == direct["wards"]
    assert r.json()["totals"] == direct["totals"]


def test_scenario_matches_the_command_line(straight, straight_ws, tmp_path):
    from typer.testing import CliRunner

    from safetygap.cli import app

    rows = [hypothetical(1000, 1000), hypothetical(600, 1400, name="Safe Haven",
                                                   service_type="victim_services",
                                                   capacity=3.0)]
    path = tmp_path / "proposed.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["whatif", "--workspace", str(straight_ws), "--providers",
                                   str(path), "--out", str(tmp_path / "w.json")])
    assert res.exit_code == 0, res.output
    cli = json.loads((tmp_path / "w.json").read_text())
    api = straight.post("/api/scenarios", json={"providers": rows}).json()
    assert cli["families"] == api["families"] == ["prevention", "restoration"]
    for key in ("totals", "neighborhoods", "wards"):
        assert cli[key] == api[key]
    # victim services (4,000 m) at (600, 1400) reach call 5 in C
    assert api["totals"]["restoration"]["calls_newly_covered"] == 1


def test_scenario_bad_providers_list_every_problem(straight):
    body = {"providers": [
        hypothetical(0, 0, service_type="spa"),
        hypothetical(0, 0, capacity=0),
        hypothetical(0, 0, capacity=-1, name=" "),
        hypothetical(0, 0, latitude=95.0),
        hypothetical(0, 0, family="response"),
    ]}
    r = straight.post("/api/scenarios", json=body)
    assert r.status_code == 422
    err = ErrorResponse.model_validate(r.json())
    locs = [e.loc for e in err.detail]
    assert locs == [["body", "providers", 0, "service_type"],
                    ["body", "providers", 1, "capacity"],
                    ["body", "providers", 2, "capacity"],
                    ["body", "providers", 2, "name"],
                    ["body", "providers", 3, "latitude/longitude"],
                    ["body", "providers", 4, "family"]]
    assert "unknown service type" in err.message and "'youth_program'" in err.message
    assert "capacity must be a positive number" in err.message
    assert "out of range" in err.message and "allowed: 'prevention'" in err.message


def test_scenario_type_errors_are_listed_with_every_other_problem(straight):
    """A value of the wrong JSON type (text for the capacity, true for a latitude, a list
    for a name) is a problem of its row like any other: one 422 names every row and field,
    as a provider file's problems are."""
    body = {"providers": [
        hypothetical(0, 0, capacity="x"),
        hypothetical(0, 0, service_type="spa"),
        hypothetical(0, 0, capacity=-1),
        hypothetical(0, 0, name=""),
        hypothetical(0, 0, latitude=True),
        hypothetical(0, 0, name=["a"], capacity="12"),  # '12' is a number: fine
        {"name": "Only a name"},
    ]}
    r = straight.post("/api/scenarios", json=body)
    assert r.status_code == 422, r.text
    err = ErrorResponse.model_validate(r.json())
    got = [(e.loc, e.input) for e in err.detail]
    assert got == [
        (["body", "providers", 0, "capacity"], "x"),
        (["body", "providers", 1, "service_type"], "spa"),
        (["body", "providers", 2, "capacity"], "-1"),
        (["body", "providers", 3, "name"], None),
        (["body", "providers", 4, "latitude/longitude"], None),
        (["body", "providers", 6, "service_type"], None),
        (["body", "providers", 6, "capacity"], None),
        (["body", "providers", 6, "latitude/longitude"], None),
    ]
    assert "capacity must be a positive number up to 1,000,000 (got 'x')" in err.message
    assert "unknown service type; allowed: " in err.message and "(got 'spa')" in err.message
    # the same rows one at a time: each alone is refused for the same reason
    for i, want in ((0, "capacity"), (4, "latitude/longitude")):
        one = straight.post("/api/scenarios", json={"providers": [body["providers"][i]]})
        assert one.status_code == 422 and one.json()["detail"][0]["loc"][-1] == want
    ok = straight.post("/api/scenarios", json={"providers": [body["providers"][5]]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["providers"][0]["name"] == '["a"]'


def test_sites_among_candidates_type_errors_listed_with_the_options(straight):
    lon, lat = ll(1000, 1000)
    body = {"family": "prevention", "k": 1, "service_type": "spa", "candidates": [
        {"latitude": "north", "longitude": lon},
        {"latitude": lat, "longitude": lon},
        {"latitude": lat, "longitude": False},
        {"longitude": lon, "name": 7}]}
    r = straight.post("/api/sites", json=body)
    assert r.status_code == 422, r.text
    locs = [e["loc"] for e in r.json()["detail"]]
    assert locs == [["body", "service_type"]] + [
        ["body", "candidates", i, "latitude/longitude"] for i in (0, 2, 3)]
    body["service_type"] = None
    r = straight.post("/api/sites", json=body)
    assert [e["loc"] for e in r.json()["detail"]] == locs[1:]
    body["candidates"] = [body["candidates"][1],
                          {"latitude": str(lat), "longitude": str(lon), "name": 7}]
    r = straight.post("/api/sites", json=body)
    assert r.status_code == 200, r.text
    assert [c.get("name") for c in r.json()["sites"]] == ["candidate 1"]


def test_openapi_documents_row_field_types(straight):
    """Rows are checked by the project's validation, but the schema still says what each
    field is and which are required."""
    schemas = straight.get("/openapi.json").json()["components"]["schemas"]
    hp = schemas["HypotheticalProvider"]
    assert hp["required"] == ["name", "service_type", "capacity", "latitude", "longitude"]
    assert hp["properties"]["capacity"]["type"] == "number"
    assert hp["properties"]["name"]["type"] == "string"
    assert "default" not in hp["properties"]["latitude"]
    cs = schemas["CandidateSite"]
    assert cs["required"] == ["latitude", "longitude"]
    assert cs["properties"]["longitude"]["type"] == "number"


@pytest.mark.parametrize(("body", "where"), [
    ({}, "providers"),
    ({"providers": []}, "providers"),
    ({"providers": [hypothetical(0, 0) for _ in range(101)]}, "providers"),
    ({"providers": [{"name": "x"}]}, "service_type"),
    ({"providers": [hypothetical(0, 0, capacity="lots")]}, "capacity"),
    ({"providers": [hypothetical(0, 0, colour="red")]}, "colour"),
    ({"providers": [hypothetical(0, 0)], "dry_run": True}, "dry_run"),
])
def test_scenario_malformed_payloads_422(straight, body, where):
    r = straight.post("/api/scenarios", json=body)
    assert r.status_code == 422
    assert where in r.json()["message"]


def test_scenario_not_json(straight):
    r = straight.post("/api/scenarios", content=b"{not json",
                      headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["message"]
    r = straight.post("/api/scenarios", content=b"\xff\xfe{",
                      headers={"content-type": "application/json"})
    assert r.status_code == 400 and "parsing the body" in r.json()["message"]


def test_scenario_off_the_map(straight):
    """A point the workspace's CRS cannot hold (lon 180 on the equator in UTM 15N)."""
    r = straight.post("/api/scenarios",
                      json={"providers": [hypothetical(0, 0, latitude=0.0, longitude=180.0)]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "providers", 0, "coordinates"]
    assert "EPSG:26915" in r.json()["message"]


# ------------------------------------------------------ read-only, caching, versions


def test_workspace_never_changes(straight_ws, walk_ws):
    for ws in (straight_ws, walk_ws):
        before = checksums(ws)
        with TestClient(create_app(ws)) as c:
            assert c.get("/api/sites?family=prevention&k=2").status_code == 200
            assert c.post("/api/scenarios",
                          json={"providers": [hypothetical(1000, 1000)]}).status_code == 200
            lon, lat = ll(1000, 1000)
            assert c.post("/api/sites", json={"family": "prevention", "candidates": [
                {"latitude": lat, "longitude": lon}]}).status_code == 200
            assert c.get("/maps/sites?family=prevention&k=2").status_code == 200
        assert checksums(ws) == before


def test_results_cached_per_workspace_version(straight_ws, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(straight_ws, ws)
    app = create_app(ws)
    store = app.state.scenarios
    with TestClient(app) as c:
        first = c.get("/api/sites?family=prevention&k=2")
        again = c.get("/api/sites?family=prevention&k=2")
        assert first.content == again.content and store.computed == 1
        c.post("/api/scenarios", json={"providers": [hypothetical(1000, 1000)]})
        c.post("/api/scenarios", json={"providers": [hypothetical(1000, 1000)]})
        assert store.computed == 2 and store.loads == 1  # one baseline for both
        c.get("/api/sites?family=prevention&k=3")
        assert store.computed == 3
        # concurrent identical requests compute once
        out: list[int] = []
        threads = [threading.Thread(target=lambda: out.append(
            c.get("/api/sites?family=restoration&k=1").status_code)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert out == [200] * 4 and store.computed == 4
        # a new workspace version: the baseline is loaded again and results recomputed
        manifest = json.loads((ws / "manifest.json").read_text())
        (ws / "manifest.json").write_text(json.dumps(manifest | {"created": "later"}))
        third = c.get("/api/sites?family=prevention&k=2")
        assert store.loads == 2 and store.computed == 5
        assert len(store._results) == 1  # the older version's results are let go
        assert third.json()["manifest_sha256"] != first.json()["manifest_sha256"]
        assert strip_timing(third.json() | {"manifest_sha256": ""}) == strip_timing(
            first.json() | {"manifest_sha256": ""})
        assert third.json()["manifest_sha256"] == c.get("/health").json()["manifest_sha256"]


def test_sites_follow_a_rerun_workspace(straight_ws, tmp_path):
    """A re-run (versioned) workspace: siting reads the active version; after a re-run
    with a youth program next to call 4, no prevention call is left to cover."""
    from safetygap.run import rebuild

    ws = tmp_path / "ws"
    shutil.copytree(straight_ws, ws)
    v1 = rebuild(ws)
    app = create_app(ws)
    with TestClient(app) as c:
        r = c.get("/api/sites?family=prevention&k=2")
        assert r.status_code == 200 and len(r.json()["sites"]) == 1
        key = hashlib.sha256((v1 / "manifest.json").read_bytes()).hexdigest()
        assert r.json()["manifest_sha256"] == key
        assert r.headers["x-safetygap-workspace"] == key
        assert app.state.scenarios.baseline()[1].path == v1
        prov = gpd.read_file(Path(json.loads((v1 / "manifest.json").read_text())
                                  ["inputs"]["providers"]["path"]))
        extra = prov.iloc[[1]].assign(provider_id="P4", name="Next door")
        extra = extra.set_geometry(gpd.points_from_xy([X0 + 1000], [Y0 + 1000]), crs=prov.crs)
        pd.concat([prov, extra]).to_file(tmp_path / "providers.gpkg")
        v2 = rebuild(ws, {"providers": tmp_path / "providers.gpkg"})
        r = c.get("/api/sites?family=prevention&k=2")
        assert r.json()["sites"] == [] and r.json()["coverage_before"] == 1.0
        assert app.state.scenarios.baseline()[1].path == v2
        assert app.state.scenarios.loads == 2
        s = c.post("/api/scenarios", json={"providers": [hypothetical(1000, 1000)]})
        assert s.headers["x-safetygap-workspace"] == s.json()["manifest_sha256"] != key


def test_503_when_the_baseline_cannot_be_read(straight_ws, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(straight_ws, ws)
    with TestClient(create_app(ws), raise_server_exceptions=False) as c:
        assert c.get("/api/summary").status_code == 200
        (ws / "calls.parquet").write_bytes(b"not parquet")
        r = c.get("/api/sites?family=prevention")
        assert r.status_code == 503 and "siting and what-if" in r.json()["message"]


# ----------------------------------------------------------------------- the page


def test_sites_map_page(straight):
    r = straight.get("/maps/sites?family=prevention&k=3")
    assert r.status_code == 200
    html = r.text
    assert "safetygap.sitesMap(" in html and "safetygap.gapMap(" in html
    assert '"sites": "/api/sites"' in html and '"scenarios": "/api/scenarios"' in html
    assert 'href="/api/sites?family=prevention&amp;k=3&amp;format=csv" download' in html
    assert "/static/safetygap/safetygap-sites.js" in html
    assert straight.get("/static/safetygap/safetygap-sites.js").status_code == 200
    assert '<option value="prevention" selected>' in html and 'value="3" required' in html
    assert 'id="sg-sites-list"' in html and 'id="sg-whatif-form"' in html
    default = straight.get("/maps/sites").text
    assert '<option value="response" selected>' in default and 'value="5" required' in default


def test_index_links_the_sites_maps(straight):
    html = straight.get("/").text
    for family in ("response", "prevention", "restoration"):
        assert f'href="/maps/sites?family={family}&amp;k=5"' in html


def test_openapi_documents_the_new_routes(straight):
    spec = straight.get("/openapi.json").json()
    assert {"get", "post"} <= set(spec["paths"]["/api/sites"])
    assert "post" in spec["paths"]["/api/scenarios"] and "/maps/sites" in spec["paths"]
    for name in ("SiteRecommendation", "ScenarioResult", "ScenarioRequest", "SiteRequest"):
        assert name in spec["components"]["schemas"]
    assert "ErrorResponse" in json.dumps(spec["paths"]["/api/scenarios"]["post"]["responses"])


# -------------------------------------------------------------------- never a 500

VALUES = st.one_of(st.text(max_size=10), st.integers(-10**6, 10**6),
                   st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from(["prevention", "youth_program", "1", "20", "0", "-1e308"]))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["family", "k", "service_type", "catchment",
                                               "capacity"]), VALUES, max_size=5))
def test_sites_query_never_500(straight, params):
    r = straight.get("/api/sites", params=params)
    assert r.status_code in (200, 422), (params, r.text[:300])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(family=st.sampled_from(["response", "prevention", "restoration"]),
       k=st.integers(1, 4), catchment=st.one_of(st.none(), st.floats(1e-6, 400)))
def test_network_sites_never_500(walk, family, k, catchment):
    """Any catchment on the walking network: the drawn areas are valid polygons."""
    params = {"family": family, "k": k} | ({} if catchment is None else
                                           {"catchment": catchment})
    r = walk.get("/api/sites", params=params)
    if catchment is not None and catchment > 2828.5 / 80:  # past the city's extent on foot
        assert r.status_code == 422 and "extent" in r.text, (params, r.text[:300])
        return
    assert r.status_code == 200, (params, r.text[:300])
    for site in SiteRecommendation.model_validate(r.json()).sites:
        assert site.catchment_area.type in ("Polygon", "MultiPolygon")


FIELD_VALUES = st.one_of(st.none(), st.booleans(), st.text(max_size=8),
                         st.floats(allow_nan=False, allow_infinity=False, width=32),
                         st.integers(-200, 200), st.sampled_from(["youth_program", "spa"]))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(
    st.floats(-500, 2500), st.floats(-500, 2500),
    st.dictionaries(st.sampled_from(["name", "service_type", "capacity", "latitude",
                                     "longitude", "provider_id", "family"]),
                    FIELD_VALUES, max_size=3)), max_size=3))
def test_scenarios_payload_never_500(straight, rows):
    """Valid providers in and around the city with up to three fields replaced."""
    body = {"providers": [hypothetical(x, y) | changes for x, y, changes in rows]}
    r = straight.post("/api/scenarios", json=body)
    assert r.status_code in (200, 422), (body, r.text[:300])
    if r.status_code == 200:
        ScenarioResult.model_validate(r.json())


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=st.lists(st.tuples(st.floats(-3000, 5000), st.floats(-3000, 5000),
                                 st.sampled_from([None, "", "x", "<b>site</b>"])),
                       min_size=1, max_size=6),
       k=st.integers(1, 3), family=st.sampled_from(["prevention", "restoration"]))
def test_sites_among_candidates_never_500(walk, points, k, family):
    cands = []
    for x, y, name in points:
        lon, lat = ll(x, y)
        cands.append({"latitude": lat, "longitude": lon, "name": name})
    r = walk.post("/api/sites", json={"family": family, "k": k, "candidates": cands})
    assert r.status_code in (200, 422), (cands, r.text[:300])
