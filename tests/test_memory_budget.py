"""Bounded memory on the siting routes: the coverage matrix is built in chunks and refused
before it outgrows the budget (measured with tracemalloc), catchments are bounded by the
study area's extent, and the public routes answer 422 with a message instead of growing."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from safetygap.geo.siting import CoverageTooLarge, coverage_matrix_straight
from tests.conftest import app_client


def test_chunked_coverage_matches_brute_force():
    rng = np.random.default_rng(3)
    cand = rng.uniform(0, 1000, (40, 2))
    dem = rng.uniform(0, 1000, (500, 2))
    m = coverage_matrix_straight((cand[:, 0], cand[:, 1]), (dem[:, 0], dem[:, 1]),
                                 radius_m=150.0, chunk_pairs=100)
    expected = cdist(cand, dem) <= 150.0
    assert (m.toarray() == expected).all()


def test_coverage_past_the_budget_is_refused_without_building_it():
    """500 candidates x 200,000 demand points all within 1e6 m: 1e8 pairs (about 500 MB
    as CSR, several GB as Python lists). With room for 2e6 pairs it is refused, and the
    peak traced allocation stays far below what building it would need."""
    rng = np.random.default_rng(1)
    dem = rng.uniform(0, 1000, (200_000, 2))
    cand = rng.uniform(0, 1000, (500, 2))
    tracemalloc.start()
    try:
        with pytest.raises(CoverageTooLarge) as exc:
            coverage_matrix_straight((cand[:, 0], cand[:, 1]), (dem[:, 0], dem[:, 1]),
                                     radius_m=1e6, max_pairs=2_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exc.value.pairs == 500 * 200_000
    assert peak < 60e6, f"peak {peak / 1e6:.0f} MB"


@pytest.fixture(scope="module")
def small_budget(demo_workspace):
    """The demo city served with a 20 MB memory budget."""
    with app_client(demo_workspace, privacy_min_count=None, memory_budget_mb=20) as c:
        yield c


def test_big_catchment_siting_is_refused_with_a_message(small_budget):
    r = small_budget.get("/api/sites?family=prevention&k=20&catchment=6000")
    assert r.status_code == 422, r.text[:500]
    text = r.text
    assert "memory budget" in text and "SAFETYGAP_MEMORY_BUDGET_MB" in text
    assert "catchment" in text


def test_big_catchment_siting_among_candidates_sent_is_refused_too(small_budget,
                                                                   demo_workspace):
    """POST /api/sites: 2,500 candidates sent over the city's bounding box, a 6,000 m
    catchment and every need call counted (existing providers ignored: 4,473 calls), up to
    11 million pairs (134 MB at 12 bytes a pair), under the 20 MB budget: 422 naming the
    budget; the same candidates with 300 m answer."""
    import geopandas as gpd

    nb = gpd.read_parquet(demo_workspace / "neighborhoods.parquet").to_crs("EPSG:4326")
    minx, miny, maxx, maxy = nb.total_bounds
    grid = [{"latitude": float(y), "longitude": float(x)}
            for x in np.linspace(minx, maxx, 50) for y in np.linspace(miny, maxy, 50)]
    body = {"family": "prevention", "k": 2, "catchment": 6000, "existing": "ignore",
            "candidates": grid}
    r = small_budget.post("/api/sites", json=body)
    assert r.status_code == 422, r.text[:500]
    assert "memory budget" in r.text and "SAFETYGAP_MEMORY_BUDGET_MB" in r.text
    r = small_budget.post("/api/sites", json=body | {"catchment": 300})
    assert r.status_code == 200, r.text[:500]


def test_catchment_beyond_the_study_area_is_refused(demo_client, demo_workspace):
    import geopandas as gpd

    nb = gpd.read_parquet(demo_workspace / "neighborhoods.parquet")
    minx, miny, maxx, maxy = nb.total_bounds
    diagonal = float(np.hypot(maxx - minx, maxy - miny))
    r = demo_client.get(f"/api/sites?family=prevention&k=2&catchment={diagonal * 1.5:.0f}")
    assert r.status_code == 422, r.text[:500]
    assert "extent" in r.text and f"{diagonal:,.0f}" in r.text
    body = {"family": "prevention", "k": 2, "catchment": diagonal * 1.5,
            "candidates": [{"latitude": 44.97, "longitude": -93.26}]}
    r = demo_client.post("/api/sites", json=body)
    assert r.status_code == 422 and "extent" in r.text


def test_siting_within_the_budget_still_answers(demo_client):
    r = demo_client.get("/api/sites?family=prevention&k=2&catchment=800")
    assert r.status_code == 200, r.text[:500]
    assert len(r.json()["sites"]) == 2


def test_siting_results_cache_is_bounded_in_bytes(demo_workspace):
    """Every parameter is in the key (two catchments: two entries); the bytes kept stay
    under the store's bound, the oldest dropped first."""
    from safetygap.api._scenarios import ScenarioStore
    from safetygap.api._store import WorkspaceStore

    store = ScenarioStore(WorkspaceStore(demo_workspace), max_bytes=2500)
    for i in range(5):
        store.response("sites", ("query", i), lambda v, m, b: b"x" * 1000)
    assert store.result_bytes <= 2500 and store.computed == 5
    store.response("sites", ("query", 4), lambda v, m, b: b"y")  # kept: not computed again
    assert store.computed == 5
    store.response("sites", ("query", 0), lambda v, m, b: b"z" * 10)  # dropped: computed
    assert store.computed == 6


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmRSS:"))


def test_the_geopackage_export_is_built_within_the_memory_budget(demo_workspace, tmp_path):
    """The GeoPackage export (the costliest public route: +797 MB in the server, 0.8x the
    budget, on the 650,000-call demo) is built by a compute worker whose address space is
    limited to SAFETYGAP_MEMORY_BUDGET_MB above what it holds while it computes. With a
    5 MB budget it answers 503 naming the export and the setting, the server process did
    not grow, its worker is still there (other computations answer); with the default
    budget the same workspace exports a GeoPackage. The default sites are precomputed, so
    the export's own layers are what the budget stops."""
    import http.client
    import json
    import shutil

    from _live import served

    from safetygap.api.precompute import precompute

    ws = tmp_path / "ws"
    shutil.copytree(demo_workspace, ws)
    precompute(ws, privacy_min_count=1)  # what served() serves with

    def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()

    with served(ws, env={"SAFETYGAP_MEMORY_BUDGET_MB": "5"}) as (host, port, proc):
        conn = http.client.HTTPConnection(host, port, timeout=300)
        assert get(conn, "/api/summary")[0] == 200
        before = _rss(proc.pid)
        status, body = get(conn, "/api/export.gpkg")
        grown = _rss(proc.pid) - before
        assert status == 503, body[:300]
        message = json.loads(body)["message"]
        assert "GeoPackage export" in message and "SAFETYGAP_MEMORY_BUDGET_MB" in message
        assert "5 MB" in message
        assert grown < 30_000_000, f"the server grew by {grown / 1e6:.0f} MB"
        assert get(conn, "/health")[0] == 200
        status, body = get(conn, "/api/hexbins?size=150")  # the worker computes on
        assert status in (200, 503), body[:300]
    with served(ws) as (host, port, _):
        conn = http.client.HTTPConnection(host, port, timeout=300)
        status, body = get(conn, "/api/export.gpkg")
        assert status == 200 and body.startswith(b"SQLite format 3\x00"), body[:300]
