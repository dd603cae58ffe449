"""`safetygap fetch minneapolis` against a local ArcGIS-like server on 127.0.0.1.

The server's pages are built from the real files in ../shared/data/minneapolis
(tests/_arcgis_server.py); no test touches the network.
"""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _arcgis_server import FakeArcGIS, FakeLayer, incidents_as_911, minneapolis_layers
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.errors import ValidationError
from safetygap.fetch import FetchError, RetryPolicy, fetch_minneapolis, parse_years
from safetygap.fetch.arcgis import ArcGISClient
from safetygap.fetch.minneapolis import fetched_inputs, years_where

CALLS = "Incidents_Reported_911"
FAST = RetryPolicy(retries=3, backoff_s=1.0, timeout_s=0.5)


class Sleeps(list):
    """Records the back-off waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(autouse=True)
def _no_proxy_for_localhost(monkeypatch):
    """urllib honours HTTP(S)_PROXY: keep requests to the local server off any proxy."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def layers(shared_data_module):
    return minneapolis_layers(shared_data_module)


@pytest.fixture(scope="module")
def shared_data_module():
    from conftest import require_shared

    return require_shared()


@pytest.fixture
def server(layers):
    fresh = {k: FakeLayer(list(v.features), v.oid, v.max_record_count) for k, v in
             layers.items()}
    fake = FakeArcGIS(fresh).start()
    yield fake
    fake.stop()


def _source_ids(shared, years=None):
    feats = incidents_as_911(shared)
    if years is None:
        return [f["properties"]["Master_Incident_Number"] for f in feats]
    lo = dt.datetime(min(years), 1, 1, tzinfo=dt.UTC).timestamp() * 1000
    hi = dt.datetime(max(years) + 1, 1, 1, tzinfo=dt.UTC).timestamp() * 1000
    return [f["properties"]["Master_Incident_Number"] for f in feats
            if lo <= f["properties"]["Response_Date"] < hi]


def _fetch(server, out, **kw):
    kw.setdefault("years", (2021, 2026))
    kw.setdefault("page_size", 1000)
    kw.setdefault("retry", FAST)
    kw.setdefault("quiet", True)
    kw.setdefault("sleep", Sleeps())
    return fetch_minneapolis(out, base_url=server.base_url, **kw)


def test_years():
    today = dt.date(2026, 11, 27)
    assert parse_years("2022-2024", today=today) == (2022, 2023, 2024)
    assert parse_years(" 2023 ", today=today) == (2023,)
    assert parse_years(None, today=today) == (2025,)
    for bad in ("2024-2022", "22-24", "2030", "2009-2010", "last year"):
        with pytest.raises(ValidationError, match="--years"):
            parse_years(bad, today=today)
    with pytest.raises(ValidationError) as err:
        parse_years("2031", today=today)
    assert len(err.value.problems) == 1  # one year, out of range once
    assert years_where("Response_Date", (2022, 2023, 2024)) == (
        "Response_Date >= TIMESTAMP '2022-01-01 00:00:00' AND "
        "Response_Date < TIMESTAMP '2025-01-01 00:00:00'")


def test_backoff_delays():
    p = RetryPolicy(backoff_s=1.0, max_backoff_s=10.0)
    assert [p.delay(i) for i in range(5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert p.delay(0, retry_after=3.0) == 3.0


def test_every_record_arrives_once_through_failing_pages(server, shared_data_module, tmp_path):
    # one page each: HTTP 503, dropped connection, timeout, ArcGIS error body, half a body
    faults = {2000: "503", 3000: "drop", 4000: "timeout", 5000: "arcgis500", 6000: "truncated"}
    server.fail_once = {(CALLS, o): m for o, m in faults.items()}
    sleeps = Sleeps()
    manifest = _fetch(server, tmp_path, sleep=sleeps)
    calls = gpd.read_parquet(tmp_path / "calls_911.parquet")
    ids = _source_ids(shared_data_module)
    assert len(ids) == 6305 + 13
    assert len(calls) == len(ids) and sorted(calls["Master_Incident_Number"]) == sorted(ids)
    # every page asked once, the failing ones exactly twice
    hits = {o: n for (layer, o), n in server.page_hits.items() if layer == CALLS}
    assert hits == {o: (2 if o in faults else 1) for o in range(0, 7000, 1000)}
    assert sleeps == [1.0] * len(faults)  # first retry of each failing page waits 1 s
    entry = manifest["layers"]["calls_911"]
    assert entry["records"] == entry["expected_records"] == 6318
    assert entry["pages"] == 7 and entry["duplicates_dropped"] == 0
    assert entry["query"]["where"] == years_where("Response_Date", (2021, 2026))
    assert entry["query"]["orderByFields"] == "OBJECTID ASC"
    assert entry["url"].endswith("/Incidents_Reported_911/FeatureServer/0/query")
    assert len(entry["sha256"]) == 64 and entry["fetched"] >= entry["started"]
    assert "warning" not in entry
    assert not (tmp_path / ".partial").exists()


def test_boundaries_and_manifest(server, shared_data_module, tmp_path):
    manifest = _fetch(server, tmp_path, layers=("neighborhoods", "wards", "communities",
                                                "precincts"))
    nb = gpd.read_parquet(tmp_path / "neighborhoods.parquet")
    ref = gpd.read_file(shared_data_module / "boundaries" / "Minneapolis_Neighborhoods.geojson")
    assert len(nb) == 87 and nb.crs.to_epsg() == 4326
    assert sorted(nb["BDNAME"]) == sorted(ref["BDNAME"])
    a = nb.set_index("BDNUM").geometry.to_crs(26915).area.sort_index()
    b = ref.set_index("BDNUM").geometry.to_crs(26915).area.sort_index()
    assert np.allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9)
    layers = manifest["layers"]
    assert set(layers) == {"neighborhoods", "wards", "communities", "precincts"}
    assert layers["wards"]["object_id_field"] == "FID"  # read from the layer metadata
    assert layers["wards"]["id_column"] == "BDNUM" and layers["wards"]["records"] == 13
    assert layers["neighborhoods"]["name_column"] == "BDNAME"
    assert layers["communities"]["name_column"] == "CommName"
    assert layers["precincts"]["records"] == 5
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk["kind"] == "safetygap-fetch" and on_disk["layers"] == layers


def test_fetch_logs_the_id_columns_it_chose(server, tmp_path, capsys):
    _fetch(server, tmp_path, layers=("wards",), quiet=False)
    err = capsys.readouterr().err
    # the 2012-2022 wards stand in: FID, BDNUM, Shape_STAr, Shape_STLe
    assert "wards: id column 'BDNUM', no name column among BDNAME, WARD_NAME, NAME" in err


def test_columns_line_without_an_id_column():
    from safetygap.fetch.minneapolis import LAYERS, _columns_line

    wards = next(s for s in LAYERS if s.name == "wards")
    line = _columns_line(wards, {"id_column": None, "name_column": "NAME",
                                 "columns": ["OBJECTID", "NAME"]})
    assert line == ("wards: no id column among BDNUM, WARD, Ward, WARD_NUM, WARDNUM, name "
                    "column 'NAME' (columns: OBJECTID, NAME; give the id column to "
                    "`safetygap analyze` with --ward-id)")


def test_interrupted_download_resumes_without_refetching(server, shared_data_module,
                                                          tmp_path):
    server.fail_once = {(CALLS, 1000): "503"}

    def stop_after_three(name, offset, n):
        if name == "calls_911" and offset == 2000:
            raise KeyboardInterrupt  # the user pressed Ctrl-C after the third page

    with pytest.raises(KeyboardInterrupt):
        _fetch(server, tmp_path, years=(2021,), on_page=stop_after_three)
    state = json.loads((tmp_path / ".partial" / "calls_911" / "state.json").read_text())
    assert sorted(int(k) for k in state["pages"]) == [0, 1000, 2000]
    assert not (tmp_path / "calls_911.parquet").exists()
    # the boundaries finished before the interruption and are in the manifest
    first = json.loads((tmp_path / "manifest.json").read_text())
    assert "neighborhoods" in first["layers"] and "calls_911" not in first["layers"]

    manifest = _fetch(server, tmp_path, years=(2021,))
    calls = gpd.read_parquet(tmp_path / "calls_911.parquet")
    ids = _source_ids(shared_data_module, years=(2021,))
    assert len(ids) == 6305
    assert len(calls) == 6305 and sorted(calls["Master_Incident_Number"]) == sorted(ids)
    hits = {o: n for (layer, o), n in server.page_hits.items() if layer == CALLS}
    assert hits == {0: 1, 1000: 2, 2000: 1, 3000: 1, 4000: 1, 5000: 1, 6000: 1}
    # layers done in the first run are not fetched again
    assert server.page_hits[("Minneapolis_Neighborhoods", 0)] == 1
    entry = manifest["layers"]["calls_911"]
    assert entry["pages"] == 7 and entry["pages_fetched_this_run"] == 4
    assert entry["records"] == 6305 and entry["years"] == [2021]


def test_other_query_starts_over(server, tmp_path):
    def stop(name, offset, n):
        if name == "calls_911" and offset == 1000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _fetch(server, tmp_path, years=(2021,), layers=("calls_911",), on_page=stop)
    manifest = _fetch(server, tmp_path, years=(2021, 2026), layers=("calls_911",))
    assert manifest["layers"]["calls_911"]["records"] == 6318
    assert server.page_hits[(CALLS, 0)] == 2  # the first page was for another where clause


def test_retries_exhausted_then_resume(server, tmp_path):
    server.fail_once = {(CALLS, 3000): "always503"}
    sleeps = Sleeps()
    with pytest.raises(FetchError, match="failed after 4 attempts: HTTP 503"):
        _fetch(server, tmp_path, layers=("calls_911",), sleep=sleeps)
    assert sleeps == [1.0, 2.0, 4.0]  # exponential back-off
    assert server.page_hits[(CALLS, 3000)] == 4
    server.fail_once = {}
    manifest = _fetch(server, tmp_path, layers=("calls_911",))
    assert manifest["layers"]["calls_911"]["records"] == 6318
    hits = {o: n for (layer, o), n in server.page_hits.items() if layer == CALLS}
    assert hits == {0: 1, 1000: 1, 2000: 1, 3000: 5, 4000: 1, 5000: 1, 6000: 1}


def test_page_size_follows_the_layer_limit(server, tmp_path):
    server.layers[CALLS].max_record_count = 2500
    manifest = _fetch(server, tmp_path, layers=("calls_911",), page_size=16_000)
    entry = manifest["layers"]["calls_911"]
    assert entry["page_size"] == 2500 and entry["pages"] == 3 and entry["records"] == 6318


def test_hidden_page_limit_is_a_clear_error(server, tmp_path):
    server.layers[CALLS].max_record_count = 800
    server.layers[CALLS].advertise_max = False
    with pytest.raises(FetchError, match="--page-size 800"):
        _fetch(server, tmp_path, layers=("calls_911",))


def test_already_fetched_layers_are_skipped(server, tmp_path):
    _fetch(server, tmp_path, layers=("neighborhoods",))
    _fetch(server, tmp_path, layers=("neighborhoods",))
    assert server.page_hits[("Minneapolis_Neighborhoods", 0)] == 1
    _fetch(server, tmp_path, layers=("neighborhoods",), force=True)
    assert server.page_hits[("Minneapolis_Neighborhoods", 0)] == 2


def test_arcgis_client_errors(server):
    client = ArcGISClient(server.base_url, retry=FAST, sleep=Sleeps())
    with pytest.raises(FetchError, match="invalid where clause"):
        client.count(CALLS, "Response_Date > yesterday")
    with pytest.raises(FetchError, match="HTTP 404"):
        client.layer_info("No_Such_Layer")
    offline = ArcGISClient("http://127.0.0.1:9/arcgis/rest/services",
                           retry=RetryPolicy(retries=1, timeout_s=0.5), sleep=Sleeps())
    with pytest.raises(FetchError, match="cannot connect"):
        offline.layer_info(CALLS)


def test_refuses_a_workspace_directory(server, tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"safetygap_version": "0.1.0"}))
    with pytest.raises(ValidationError, match="not written by `safetygap fetch`"):
        _fetch(server, tmp_path, layers=("neighborhoods",))


def test_fetched_inputs_errors(tmp_path):
    with pytest.raises(ValidationError, match=r"no manifest\.json"):
        fetched_inputs(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "safetygap-fetch",
                                                        "layers": {}}))
    with pytest.raises(ValidationError) as err:
        fetched_inputs(tmp_path)
    assert all(n in str(err.value) for n in ("calls_911", "neighborhoods", "wards"))


# --------------------------------------------------------- fetch, then analyse it


@pytest.fixture
def fetched(server, tmp_path, shared_data_module):
    out = tmp_path / "mpls"
    res = CliRunner().invoke(app, [
        "fetch", "minneapolis", "--out", str(out), "--years", "2021-2026",
        "--base-url", server.base_url, "--page-size", "1500", "--timeout", "2"])
    assert res.exit_code == 0, res.output
    assert "calls_911.parquet: 6,318 records" in res.output
    assert "page 5/5" in res.output  # progress on stderr (mixed into output by the runner)
    from safetygap.sources.minneapolis import providers_from_facilities

    prov = providers_from_facilities(
        shared_data_module / "facilities",
        shared_data_module / "boundaries" / "Minneapolis_City_Boundary.geojson",
    ).write(tmp_path / "providers.csv")
    return out, prov


def test_analyze_data_shortcut(fetched, tmp_path, shared_data_module):
    out, prov = fetched
    ws = tmp_path / "ws"
    res = CliRunner().invoke(app, ["analyze", "--data", str(out), "--providers", str(prov),
                                   "--out", str(ws), "--quiet"])
    assert res.exit_code == 0, res.output
    summary = json.loads((ws / "summary.json").read_text())
    quality = json.loads((ws / "quality.json").read_text())
    manifest = json.loads((ws / "manifest.json").read_text())
    assert manifest["options"]["preset"] == "minneapolis-911"
    assert manifest["options"]["ward_id"] == "BDNUM"
    s = quality["calls"]["status_counts"]
    # one incident and one 911 sample row have 0,0 locations
    assert s["zero_coordinates"] == 2
    assert quality["calls"]["input_rows"] == 6318
    assert s["unknown_call_type"] == 0  # "(P)"/"(FE)" suffixes stripped by the taxonomy
    # the 911 sample's two BCR calls are diverted; dates are kept as wall-clock time
    assert summary["diverted_by_agency"] == {"BCR": 2}
    assert summary["years"] == [2021, 2026]
    calls = pd.read_parquet(ws / "calls.parquet", columns=["call_id", "time", "agency"])
    t = calls.set_index("call_id")["time"]
    assert t["26-280179"] == pd.Timestamp("2026-09-27 05:28:02")  # 1790486882000 ms
    # per-neighborhood counts against an independent count of the served records
    feats = incidents_as_911(shared_data_module)
    pts = gpd.GeoDataFrame(
        {"i": range(len(feats))},
        geometry=gpd.points_from_xy([f["properties"]["Longitude"] for f in feats],
                                    [f["properties"]["Latitude"] for f in feats],
                                    crs="EPSG:4326"))
    nb = gpd.read_file(shared_data_module / "boundaries" / "Minneapolis_Neighborhoods.geojson")
    wd = gpd.read_file(shared_data_module / "boundaries" / "City_Council_Wards_2012-2022.geojson")
    jn = gpd.sjoin(pts, nb[["BDNUM", "geometry"]], predicate="within")
    jw = gpd.sjoin(pts, wd[["BDNUM", "geometry"]], predicate="within")
    both = jn[jn["i"].isin(set(jw["i"]))]
    ref = both.groupby("BDNUM").size()
    ours = gpd.read_parquet(ws / "neighborhoods.parquet").set_index("area_id")["calls_total"]
    assert ours.sum() == len(both)
    assert (ours.reindex(ref.index.astype(str)).to_numpy() == ref.to_numpy()).all()


def test_analyze_data_needs_providers(fetched, tmp_path):
    out, _ = fetched
    res = CliRunner().invoke(app, ["analyze", "--data", str(out), "--out",
                                   str(tmp_path / "ws")])
    assert res.exit_code == 2
    assert "--providers is required" in res.output and "PROVIDERS.md" in res.output


def test_analyze_without_inputs_lists_them(tmp_path):
    res = CliRunner().invoke(app, ["analyze", "--out", str(tmp_path / "ws")])
    assert res.exit_code == 2
    for flag in ("--calls", "--neighborhoods", "--wards", "--providers"):
        assert flag in res.output


def test_fetch_cli_error_keeps_pages(server, tmp_path):
    server.fail_once = {(CALLS, 1000): "always503"}
    res = CliRunner().invoke(app, [
        "fetch", "minneapolis", "--out", str(tmp_path), "--years", "2021",
        "--base-url", server.base_url, "--page-size", "1000", "--retries", "0",
        "--layers", "calls_911", "--quiet"])
    assert res.exit_code == 2
    assert "HTTP 503" in res.output and "run the same command again to resume" in res.output
    assert (tmp_path / ".partial" / "calls_911" / "page-0000000000.parquet").is_file()


def test_fetch_cli_interrupted(server, tmp_path, monkeypatch):
    import safetygap.fetch.download as download

    real_record = download.LayerState.record

    def record_then_stop(self, offset, n, more):
        real_record(self, offset, n, more)
        if offset == 1000:
            raise KeyboardInterrupt

    monkeypatch.setattr(download.LayerState, "record", record_then_stop)
    args = ["fetch", "minneapolis", "--out", str(tmp_path), "--years", "2021",
            "--base-url", server.base_url, "--page-size", "1000", "--layers", "calls_911",
            "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 130 and "run the same command again to resume" in res.output
    monkeypatch.setattr(download.LayerState, "record", real_record)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "6,305 records" in res.output
    hits = {o: n for (layer, o), n in server.page_hits.items() if layer == CALLS}
    assert hits == {o: 1 for o in range(0, 7000, 1000)}
