"""bench/compare_api.py: every GET route of the schema is fetched (path parameters filled
from the workspace), what differs between two runs of the same code is masked, and a
changed, missing or added answer is named."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from conftest import app_client

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compare_api():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("compare_api",
                                                  ROOT / "bench" / "compare_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_get_route_of_the_schema_is_fetched(compare_api, api_workspace):
    with app_client(api_workspace) as client:
        schema = client.get("/openapi.json").json()
        urls = compare_api.urls(client, schema)
    gets = [p for p, ops in schema["paths"].items() if "get" in ops]
    paths = {u.split("?")[0] for u in urls if not u.startswith("UNFILLED")}
    # each template once with its ids: the tiny city's first neighborhood is A, ward 1
    assert "/api/neighborhoods/A" in paths and "/api/wards/1/directory" in paths
    assert "/neighborhoods/A/directory" in paths and "/maps/wards/1" in paths
    assert "/ogc/collections/neighborhoods/items/A" in paths
    filled = len(paths - {"/openapi.json"}) + sum(u.startswith("UNFILLED") for u in urls)
    assert filled == len(gets)
    assert urls.count("UNFILLED /api/analyses/{job_id}") == 1  # no job to name
    # every enumerated value of a query parameter, and the workspace's samples
    for url in ("/api/gaps?format=csv", "/api/gaps?level=ward", "/api/wards?family=restoration",
                "/api/providers?ward=1", "/api/providers?neighborhood=A",
                "/api/diversion/hours?model=star"):
        assert url in urls


def test_differences_name_each_url_and_ignore_what_runs_change(compare_api):
    run = "<div id=\"map_" + "0123456789abcdef" * 2 + "\"></div> 2026-12-07T21:39:54.347Z"
    again = "<div id=\"map_" + "fedcba9876543210" * 2 + "\"></div> 2026-12-07T22:01:02Z"
    timed = '{"k": 1, "timings_s": {"total": 1.5}}'
    before = {"/maps/gaps": [200, "text/html", run], "/api/sites": [200, "json", timed],
              "/api/summary": [200, "json", '{"a": 1}'], "/gone": [200, "json", "{}"]}
    after = {"/maps/gaps": [200, "text/html", again],
             "/api/sites": [200, "json", '{"k": 1, "timings_s": {"total": 9.0}}'],
             "/api/summary": [200, "json", '{"a": 2}'], "/new": [404, "json", "{}"]}
    diffs = compare_api.differences(before, after)
    assert len(diffs) == 3
    assert diffs[0].startswith("/api/summary: body differs at byte 6")
    assert diffs[1] == "/gone: only before" and diffs[2] == "/new: only after"
    same = {k: v for k, v in before.items() if k != "/gone"}
    assert compare_api.differences(same, {**same, "/maps/gaps": after["/maps/gaps"]}) == []
    assert compare_api.fingerprint(same) == compare_api.fingerprint(
        {**same, "/maps/gaps": after["/maps/gaps"]})
    status = compare_api.differences({"/x": [200, "json", "{}"]}, {"/x": [500, "json", "{}"]})
    assert status == ["/x: status/type 200 json -> 500 json"]
