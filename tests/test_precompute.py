"""The report and each family's default sites computed when an analysis is built
(``safetygap analyze --precompute``), served as they are, and only for the workspace
version and privacy setting they were made for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import app_client
from typer.testing import CliRunner

from safetygap import FAMILIES
from safetygap.api.precompute import DIRECTORY, INDEX, REPORT, sites_file
from safetygap.cli import app as cli


def _analyze(files: dict[str, Path], out: Path, *flags: str) -> None:
    args = ["analyze", *[a for k in ("calls", "providers", "neighborhoods", "wards",
                                     "population") for a in (f"--{k}", str(files[k]))],
            "--preset", "generic", "--out", str(out), "--quiet",
            "--accept-undated", *flags]  # the tiny city's one undated row of 11
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    from conftest import make_tiny_areas, write_tiny_city

    root = tmp_path_factory.mktemp("precompute")
    files = write_tiny_city(root, make_tiny_areas())
    _analyze(files, root / "plain")  # the tests' default: SAFETYGAP_PRECOMPUTE=false
    assert not (root / "plain" / DIRECTORY).exists()
    _analyze(files, root / "ws", "--precompute")
    return root / "ws"


def test_answers_are_served_as_precomputed(built):
    d = built / DIRECTORY
    index = json.loads((d / INDEX).read_text())
    assert set(index["files"]) == {REPORT, *(sites_file(f) for f in FAMILIES)}
    with app_client(built, privacy_min_count=index["privacy_min_count"]) as c:
        store = c.app.state.scenarios
        for family in FAMILIES:
            r = c.get(f"/api/sites?family={family}&k=5")
            assert r.status_code == 200
            assert r.content == (d / sites_file(family)).read_bytes()
        assert store.loads == 0 and store.computed == 0  # no siting run at all
        assert c.get("/report").text == (d / REPORT).read_text()
        # another question is computed, and agrees with the precomputed answer
        fresh = c.get("/api/sites?family=prevention&k=5&capacity=10").json()
        assert store.loads == 1
    kept = json.loads((d / sites_file("prevention")).read_text())
    for a, b in zip(kept["sites"], fresh["sites"], strict=True):
        assert (a["site_id"], a["marginal_calls"], a["address"], a["residents_newly_reached"]
                ) == (b["site_id"], b["marginal_calls"], b["address"],
                      b["residents_newly_reached"])


def test_other_versions_and_settings_compute_again(built, tmp_path):
    import shutil

    index = json.loads((built / DIRECTORY / INDEX).read_text())
    # another privacy setting: the report is drawn again
    with app_client(built, privacy_min_count=index["privacy_min_count"] + 1) as c:
        c.get("/api/sites?family=prevention&k=5")
        assert c.app.state.scenarios.loads == 1
    # a precomputed set that belongs to another manifest is ignored
    other = tmp_path / "ws"
    shutil.copytree(built, other)
    index["manifest_sha256"] = "0" * 64
    (other / DIRECTORY / INDEX).write_text(json.dumps(index))
    with app_client(other, privacy_min_count=index["privacy_min_count"]) as c:
        c.get("/api/sites?family=prevention&k=5")
        assert c.app.state.scenarios.loads == 1


def test_the_map_layers_are_warm_before_the_first_visit(built):
    """``serve`` computes the area layers a map page fetches first in its own process
    (``warm_map_layers``), cached as the layer routes cache them: no first visit waits for
    a compute worker. Layers not warmed still go to the workers."""
    from safetygap.api.routes_api import warm_map_layers

    with app_client(built) as c:
        asked: list[dict] = []
        compute = c.app.state.compute
        real = compute.answer

        def counted(view, task, params, **options):
            asked.append(params)
            return real(view, task, params, **options)

        compute.answer = counted
        view = c.app.state.store.view()
        warm_map_layers(view)
        wards = view.area_ids("ward")
        first = [f"/api/{level}s?family={f}&tolerance=20" for f in FAMILIES
                 for level in ("neighborhood", "ward")]
        first += [f"/api/neighborhoods?family=response&tolerance=20&ward={w}" for w in wards]
        for url in first:
            r = c.get(url)
            assert r.status_code == 200, url
            assert r.json()["features"], url
        assert asked == []
        year = view.years[0]
        assert c.get(f"/api/neighborhoods?family=response&tolerance=20&year={year}"
                     ).status_code == 200
        assert asked == [{"level": "neighborhood", "family": "response", "year": year,
                          "tolerance_m": 20.0, "ward": None}]


def test_a_siting_past_the_memory_budget_is_left_out_and_the_analysis_stands(tmp_path,
                                                                            monkeypatch):
    """A large city's default siting may pass the server's memory budget: the analysis
    still succeeds, that family is named as skipped with the reason, its route computes
    on demand and answers the same refusal."""
    from conftest import make_tiny_areas, write_tiny_city

    files = write_tiny_city(tmp_path, make_tiny_areas())
    monkeypatch.setenv("SAFETYGAP_MEMORY_BUDGET_MB", "0.000001")
    args = ["analyze", *[a for k in ("calls", "providers", "neighborhoods", "wards",
                                     "population") for a in (f"--{k}", str(files[k]))],
            "--preset", "generic", "--out", str(tmp_path / "ws"), "--accept-undated",
            "--precompute"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "ws" / "summary.json").is_file()
    index = json.loads((tmp_path / "ws" / DIRECTORY / INDEX).read_text())
    assert {"prevention", "restoration"} <= set(index["skipped"])  # their catchments reach
    assert all("memory budget" in why for why in index["skipped"].values())
    assert set(index["files"]) == {REPORT} | {
        sites_file(f) for f in FAMILIES if f not in index["skipped"]}
    assert "sites not precomputed" in res.output


def test_serve_listens_once_the_view_and_the_workers_are_warm(built, monkeypatch):
    """``safetygap serve`` starts listening (uvicorn.run, stood in for here) only once its
    own view has the first visit's map layers and its compute worker has read the
    workspace, so no first visit shares the machine with either."""
    import socket

    import uvicorn

    from safetygap.api import app as app_module
    from safetygap.api.routes_api import computed_key, layer_params

    futures: list = []
    start = app_module.ComputePool.start

    def spied(self, view=None):
        got = start(self, view)
        futures.extend(got)
        return got

    seen: dict = {}

    def listening(app, **kw) -> None:
        view = app.state.store.view()
        seen["workers"] = app.state.compute.workers
        seen["warm"] = [f.done() and f.exception() is None for f in futures]
        seen["layers"] = all(
            computed_key("layer", layer_params(level, family=f, year=None, tolerance_m=20.0,
                                               ward=None)) in view._cache
            for f in FAMILIES for level in ("neighborhood", "ward"))

    monkeypatch.setattr(app_module.ComputePool, "start", spied)
    monkeypatch.setattr(uvicorn, "run", listening)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SAFETYGAP_COMPUTE_WORKERS", "1")
    app_module.serve_workspace(built, host="127.0.0.1", port=port)
    assert seen == {"workers": 1, "warm": [True], "layers": True}
