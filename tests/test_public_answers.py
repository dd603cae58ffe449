"""What every public answer carries and never carries: security headers on every response,
a CSP that lets the map pages load their own assets and tiles, no server path, short
error excerpts, bounded numbers."""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.conftest import app_client
from tests.test_write_api import make_client, upload

ROUTES = ["/", "/maps/gaps", "/api/summary", "/api/neighborhoods?family=response",
          "/health", "/docs", "/api/nope", "/api/hexbins?size=1", "/static/maps/nope.js",
          "/openapi.json"]


@pytest.mark.parametrize("url", ROUTES)
def test_security_headers_on_every_response(client, url):
    r = client.get(url)
    h = r.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "strict-origin-when-cross-origin"
    csp = h["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "object-src 'none'" in csp


def test_an_unexpected_error_is_a_500_with_the_headers_and_an_error_id(api_workspace,
                                                                        caplog):
    """A bug in a route (a stand-in raising with a server path in its text): a JSON 500
    carrying the security headers and an error id; the traceback only in the log."""
    from fastapi.testclient import TestClient

    from safetygap.api.app import create_app
    from safetygap.settings import get_settings

    app = create_app(api_workspace, settings=get_settings())

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError(f"boom in {api_workspace}")

    with TestClient(app, raise_server_exceptions=False) as c, \
            caplog.at_level(logging.ERROR, logger="safetygap.api"):
        r = c.get("/api/boom")
    assert r.status_code == 500
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    message = r.json()["message"]
    error_id = message.split("error id ")[1].split(",")[0]
    assert len(error_id) == 12 and "boom" not in r.text and "Traceback" not in r.text
    assert error_id in caplog.text and "boom in" in caplog.text


def test_csp_allows_the_configured_tiles_only(api_workspace):
    with app_client(api_workspace, tiles="https://{s}.tiles.example.org/{z}/{x}/{y}.png") \
            as c:
        csp = c.get("/maps/gaps").headers["content-security-policy"]
    img = next(d for d in csp.split(";") if d.strip().startswith("img-src"))
    assert "https://*.tiles.example.org" in img and "openstreetmap" not in csp
    with app_client(api_workspace, tiles="none") as c:
        csp = c.get("/maps/gaps").headers["content-security-policy"]
    img = next(d for d in csp.split(";") if d.strip().startswith("img-src"))
    assert img.split() == ["img-src", "'self'", "data:"]


def test_a_huge_bad_body_is_not_echoed(client):
    """An 869 KB body once came back whole in the 422."""
    junk = {"providers": "x" * 900_000}
    r = client.post("/api/scenarios", content=json.dumps(junk),
                    headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert len(r.content) < 4000, len(r.content)
    assert "xxxx" in r.text  # an excerpt, not nothing


def test_no_server_path_in_upload_answers(tiny_ws):
    ws, files = tiny_ws
    roots = {str(ws.parent), str(ws.parent.resolve()), str(ws.resolve())}
    with make_client(ws) as c:
        good = files["calls"].read_text()
        # a warning-raising upload (a bad date) and a rejected one
        r = upload(c, "calls", "calls.csv", good.replace("2023-03-01T10:00:00", "soon")
                   .encode())
        assert r.status_code in (201, 422)
        bad = upload(c, "neighborhoods", "n.geojson", b"{not json")
        assert bad.status_code == 422
        listed = c.get("/api/datasets")
        for text in (r.text, bad.text, listed.text, c.get("/health").text):
            assert not any(root in text for root in roots), text[:500]


def test_capacity_must_be_finite_and_bounded(tiny_ws):
    ws, _ = tiny_ws
    with make_client(ws) as c:
        r = upload(c, "providers", "p.csv", b"name,service_type,capacity,latitude,longitude"
                   b"\nX,youth_program,1e308,44.97,-93.26\n")
        assert r.status_code == 422, r.text
        assert "capacity" in r.text and "1,000,000" in r.text


def _get_routes(c) -> list[str]:
    """Every GET route of the app's schema with its path parameters filled from the
    served workspace (an area, a ward, a collection, an item) and no query."""
    spec = c.get("/openapi.json").json()
    nbhd = c.get("/api/neighborhoods").json()["features"][0]["id"]
    ward = c.get("/api/wards").json()["features"][0]["id"]
    fill = {"neighborhood_id": nbhd, "area_id": nbhd, "ward": ward, "ward_id": ward,
            "collection_id": "neighborhoods", "collection": "neighborhoods",
            "feature_id": nbhd, "item_id": nbhd, "level": "neighborhood",
            "family": "response", "job_id": "nope", "analysis_id": "nope"}
    out = []
    for path, ops in spec["paths"].items():
        if "get" in ops:
            ids = fill | ({"area_id": ward} if "/wards/" in path else {})
            out.append(re.sub(r"\{([^}]+)\}", lambda m, ids=ids: str(ids.get(m[1], "x")),
                              path))
    return out


def test_no_server_path_and_every_header_on_every_get_route(client, api_workspace):
    """The workspace's inputs (and the paths quality.json and the manifest keep of them)
    live under the workspace's parent: no GET route of the schema, whatever its status,
    names that directory; every answer carries the security headers."""
    roots = {str(api_workspace.parent), str(api_workspace.parent.resolve())}
    stored = (api_workspace / "quality.json").read_text() + \
        (api_workspace / "manifest.json").read_text()
    assert any(root in stored for root in roots)  # the paths are there to leak
    routes = _get_routes(client)
    assert len(routes) > 30 and "/api/neighborhoods/{neighborhood_id}" not in routes
    for url in routes:
        r = client.get(url)
        assert r.status_code < 500, (url, r.text[:300])
        assert not any(root in r.text for root in roots), (url, r.text[:500])
        assert r.headers["x-content-type-options"] == "nosniff", url
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], url
