"""The dask engine end to end (``engine="dask"``): the workers read the calls files
themselves, find the repeated ids over the whole dataset, run the streaming engine's
batches and send back totals the client merges in the files' order; the workspace is the
in-memory engine's, table for table (bench/compare_workspaces.py's comparison), on a
LocalCluster given by address and on one the CLI starts itself."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import load_compare_workspaces
from test_stream_engine import _faulty_dataset
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.errors import ValidationError
from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions
from safetygap.run import run_analysis

distributed = pytest.importorskip("distributed")

# what only the dask engine's manifest records (its options), nothing else may differ
_DASK_OPTIONS = ("engine", "batch_rows", "partitions", "scheduler", "staging")


@pytest.fixture(scope="module")
def scheduler():
    """One small LocalCluster for the module, used through its scheduler address."""
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


def _same_but_engine(memory: Path, dask: Path) -> None:
    """Every table, summary.json and quality.json identical; the manifests differ only
    by the dask engine's own options."""
    diffs = load_compare_workspaces().compare(memory, dask)
    manifest = diffs.pop("manifest.json")
    assert manifest, "the manifest records the engine"
    assert all(d.split(":")[0].removeprefix(".options.") in _DASK_OPTIONS
               for d in manifest), manifest
    assert all(found == [] for found in diffs.values()), diffs


def _cut_csv(calls: Path, folder: Path, cuts: list[int]) -> Path:
    """``calls`` (CSV) cut into files at the data rows ``cuts``."""
    lines = calls.read_text(encoding="utf-8").splitlines(keepends=True)
    bounds = [0, *cuts, len(lines) - 1]
    folder.mkdir(parents=True)
    for k, (a, b) in enumerate(itertools.pairwise(bounds)):
        (folder / f"part-{k}.csv").write_text("".join([lines[0], *lines[1 + a:1 + b]]),
                                              encoding="utf-8")
    return folder


def _demo(root: Path, *, seed: int, n_calls: int) -> tuple[AnalysisInputs, dict]:
    from safetygap.demo import generate_city, write_city
    from safetygap.pipeline import default_inputs

    city = generate_city(seed=seed, n_calls=n_calls)
    paths = write_city(city, root / "city")
    as_of = json.loads(paths["meta"].read_text(encoding="utf-8"))["inventory"]["as_of"]
    return default_inputs(root / "city"), {
        "columns": load_preset("minneapolis-911"), "preset": "minneapolis-911",
        "label": city.label, "synthetic": True, "as_of": dt.date.fromisoformat(as_of)}


def test_faulty_dataset_read_by_the_workers_equals_memory(tmp_path, scheduler):
    """The demo city with faults at known rows in three CSV files (repeated ids whose
    first row is in another file, dates outside the window, calls far outside, bad
    coordinates, malformed lines), in two tasks of batches of 700 rows."""
    inputs, opts = _demo(tmp_path, seed=7, n_calls=20_000)
    made = _faulty_dataset(inputs.calls, tmp_path / "calls")
    inputs = dataclasses.replace(inputs, calls=tmp_path / "calls")
    staging = tmp_path / "staging"
    run_analysis(inputs, tmp_path / "memory", options=AnalysisOptions(**opts), quiet=True)
    run_analysis(inputs, tmp_path / "dask", quiet=True, options=AnalysisOptions(
        engine="dask", scheduler=scheduler, batch_rows=700, partitions=2, staging=staging,
        **opts))
    _same_but_engine(tmp_path / "memory", tmp_path / "dask")
    q = json.loads((tmp_path / "dask" / "quality.json").read_text())["calls"]
    assert q["malformed_rows"]["count"] == made["malformed"]
    assert q["status_counts"]["duplicate_id"] >= made["repeated"]
    calls = pd.read_parquet(tmp_path / "dask" / "calls.parquet",
                            columns=["row", "call_id", "status"])
    dup = calls[calls["status"] == "duplicate_id"]
    first = calls.drop_duplicates("call_id").set_index("call_id")["row"]
    # repeats whose first row is in an earlier file (part-0 ends at row 6,500)
    assert ((first.loc[dup["call_id"]].to_numpy() <= 6_500) & (dup["row"] > 6_500)).sum() >= 3
    assert {e.get("file") for ex in q["examples"].values() for e in ex} >= {
        "part-0.csv", "part-1.csv", "part-2.csv"}
    assert list(staging.iterdir()) == []  # nothing left behind


def test_split_policy_shares_added_in_the_calls_order(tmp_path, scheduler):
    """Under ``split`` thousands of calls are shared out as 1/k: each task leaves its
    shares to the client, which adds them in the calls' order: the in-memory engine's
    rates, shares and classes to the last bit (four files, four tasks, Parquet)."""
    inputs, opts = _demo(tmp_path, seed=11, n_calls=12_000)
    frame = pd.read_csv(inputs.calls, dtype=str)
    folder = tmp_path / "calls"
    folder.mkdir()
    for k, a in enumerate(range(0, len(frame), 3_000)):
        frame.iloc[a:a + 3_000].to_parquet(folder / f"part-{k}.parquet", index=False)
    inputs = dataclasses.replace(inputs, calls=folder)
    opts |= {"boundary_policy": "split", "boundary_tolerance_m": 150.0}
    run_analysis(inputs, tmp_path / "memory", options=AnalysisOptions(**opts), quiet=True)
    run_analysis(inputs, tmp_path / "dask", quiet=True, options=AnalysisOptions(
        engine="dask", scheduler=scheduler, batch_rows=997, **opts))
    _same_but_engine(tmp_path / "memory", tmp_path / "dask")
    quality = json.loads((tmp_path / "dask" / "quality.json").read_text())
    assert quality["boundaries"]["near_boundary"]["neighborhood"]["shared"] > 1000


def test_tiny_city_on_a_street_network_with_two_feeds(tiny_files, tiny_network, tmp_path,
                                                      scheduler):
    """The tiny city's 11 calls in three files, two feeds, walking times on its street
    grid: the conftest's hand-worked counts hold, and the workspace is memory's."""
    calls = pd.read_csv(tiny_files["calls"], dtype=str)
    calls["feed"] = ["911", "911", "311", "911", "911", "911", "311", "911", "911", "911",
                     "911"]
    calls.to_csv(tiny_files["calls"], index=False)
    files = {**tiny_files, "calls": _cut_csv(tiny_files["calls"], tmp_path / "calls",
                                             [4, 7])}
    inputs = AnalysisInputs(**files, network=tiny_network)
    opts = {"columns": load_preset("generic").with_overrides(feed="feed"),
            "accept_undated": True, "travel": "network", "mode": "walk"}
    run_analysis(inputs, tmp_path / "memory", options=AnalysisOptions(**opts), quiet=True)
    run_analysis(inputs, tmp_path / "dask", quiet=True, options=AnalysisOptions(
        engine="dask", scheduler=scheduler, batch_rows=2, **opts))
    _same_but_engine(tmp_path / "memory", tmp_path / "dask")
    nbhd = pd.read_parquet(tmp_path / "dask" / "neighborhoods.parquet")
    assert list(nbhd["calls_total"]) == [3, 2, 1, 2]
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert [s["source"] for s in summary["time_covered"]] == ["311", "911"]


def test_cli_dask_engine_on_its_own_local_cluster(tiny_files, tmp_path):
    """`safetygap analyze --engine dask` starts its own LocalCluster; same workspace."""
    files = {**tiny_files, "calls": _cut_csv(tiny_files["calls"], tmp_path / "calls",
                                             [3, 6, 9])}
    args = ["analyze", "--calls", str(files["calls"]),
            "--providers", str(files["providers"]),
            "--neighborhoods", str(files["neighborhoods"]),
            "--wards", str(files["wards"]),
            "--population", str(files["population"]), "--preset", "generic",
            "--accept-undated", "--quiet", "--no-precompute"]
    runner = CliRunner()
    r1 = runner.invoke(app, [*args, "--out", str(tmp_path / "mem")])
    r2 = runner.invoke(app, [*[a for a in args if a != "--quiet"], "--out",
                             str(tmp_path / "dask"), "--engine", "dask", "--partitions", "3"])
    assert r1.exit_code == 0, r1.output
    assert r2.exit_code == 0, r2.output
    # progress: each pass, and a line per file as its task's totals are merged
    assert "4 files scanned by the workers: 11 calls" in r2.output, r2.output
    assert "repeated call ids found over the 4 files" in r2.output
    assert "file 4/4 part-3.csv: 2 rows (11 so far)" in r2.output
    _same_but_engine(tmp_path / "mem", tmp_path / "dask")
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["options"]["engine"] == "dask"


def test_unknown_engine_is_an_error():
    with pytest.raises(ValidationError, match="memory, dask"):
        AnalysisOptions(engine="spark").validate()
    with pytest.raises(ValidationError, match="partitions"):
        AnalysisOptions(engine="dask", partitions=0).validate()


@pytest.mark.filterwarnings("ignore:the wards .* cover only:UserWarning")
def test_riverton_independent_layers_and_call_sources_same_as_memory(scheduler, tmp_path):
    """The fixture city (tests/fixture_city.py): wards that miss part of the city and
    officer-initiated calls left out of the counts, its calls in three files."""
    from fixture_city import write_fixture_city

    from safetygap.inputs import ColumnMap

    files = write_fixture_city(tmp_path / "in")
    n = len(pd.read_csv(files["calls"], dtype=str))
    files["calls"] = _cut_csv(Path(files["calls"]), tmp_path / "calls", [n // 3, n // 2])
    cmap = ColumnMap(id="IncidentNum", call_type="CallTypeDesc", time="CallDateTime",
                     x="XCoord", y="YCoord", crs="EPSG:2276", source="SelfInitiated",
                     source_values={"Y": "officer_initiated", "N": "public_911"})
    opts = AnalysisOptions(columns=cmap, neighborhoods_crs="EPSG:2276",
                           neighborhood_id="NBHD_NUM", neighborhood_name="NBHD_LABEL",
                           ward_id="PLAN_AREA", population_name_column="Neighborhood",
                           population_column="Residents")
    inputs = AnalysisInputs(**files)
    run_analysis(inputs, tmp_path / "memory", options=opts, quiet=True)
    run_analysis(inputs, tmp_path / "dask", quiet=True, options=dataclasses.replace(
        opts, engine="dask", scheduler=scheduler, staging=tmp_path / "st"))
    _same_but_engine(tmp_path / "memory", tmp_path / "dask")
    quality = json.loads((tmp_path / "dask" / "quality.json").read_text())
    cover = quality["boundaries"]["wards_cover_neighborhoods"]
    assert cover["calls_outside_wards"] > 0
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert summary["demand"]["left_out_calls"] > 0


@pytest.mark.realdata
def test_minneapolis_incidents_in_five_files_same_as_memory(tmp_path, scheduler):
    """The real 2021 incidents (6,305 rows) cut into five files, on the real
    neighborhoods, wards, stations and population."""
    from conftest import require_shared
    from test_realdata import facilities_providers

    shared = require_shared()
    src = shared / "incidents" / "Police_Incidents_2021_Jan-May.csv"
    n = len(src.read_text(encoding="utf-8").splitlines()) - 1
    inputs = AnalysisInputs(
        calls=_cut_csv(src, tmp_path / "calls", [k * n // 5 for k in range(1, 5)]),
        providers=facilities_providers(shared, tmp_path),
        neighborhoods=shared / "boundaries" / "Minneapolis_Neighborhoods.geojson",
        wards=shared / "boundaries" / "City_Council_Wards_2012-2022.geojson",
        population=shared / "population" / "MplsDemo_2015_ACS.csv")
    opts = AnalysisOptions(columns=load_preset("minneapolis-police-incidents"))
    run_analysis(inputs, tmp_path / "memory", options=opts, quiet=True)
    run_analysis(inputs, tmp_path / "dask", quiet=True, options=dataclasses.replace(
        opts, engine="dask", scheduler=scheduler, partitions=2))
    _same_but_engine(tmp_path / "memory", tmp_path / "dask")
    quality = json.loads((tmp_path / "dask" / "quality.json").read_text())
    assert quality["calls"]["input_rows"] == 6305


def test_a_file_the_workers_refuse_is_a_clear_error_and_nothing_is_left(tiny_files, tmp_path,
                                                                       scheduler):
    """A worker finding a file with too many malformed rows: the command exits 2 with the
    reader's message naming the file and its lines (raised on the worker, shown as the
    in-memory engine shows it), no traceback, and the staging folder is emptied."""
    folder = _cut_csv(tiny_files["calls"], tmp_path / "calls", [4, 7])
    bad = folder / "part-2.csv"
    bad.write_text(bad.read_text(encoding="utf-8") + "oops,1\nagain,2\n", encoding="utf-8")
    staging = tmp_path / "staging"
    args = ["analyze", "--calls", str(folder), "--providers", str(tiny_files["providers"]),
            "--neighborhoods", str(tiny_files["neighborhoods"]),
            "--wards", str(tiny_files["wards"]), "--population", str(tiny_files["population"]),
            "--preset", "generic", "--accept-undated", "--quiet", "--no-precompute",
            "--engine", "dask", "--scheduler", scheduler, "--staging", str(staging)]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "dask")])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "part-2.csv" in text and "line 6 (2 fields)" in text, text
    assert "Traceback" not in res.output
    assert list(staging.iterdir()) == []
    assert not (tmp_path / "dask").exists()


def test_a_worker_that_cannot_see_the_files_says_which(tiny_files, tmp_path):
    """A worker on a machine without the calls files or the staging folder at the same
    paths: one message naming both (pass 1 checks before reading)."""
    from safetygap.inputs.calls import open_calls
    from safetygap.stages.partitions import scan_file

    folder = _cut_csv(tiny_files["calls"], tmp_path / "calls", [4, 7])
    reader = open_calls(folder, columns=load_preset("generic"))
    (folder / "part-1.csv").unlink()  # gone from this "worker"
    with pytest.raises(ValidationError) as err:
        scan_file(None, reader, 1, folder=tmp_path / "no-such-staging", buckets=2)
    text = str(err.value)
    assert "part-1.csv" in text and "cannot see this file" in text
    assert "no-such-staging" in text and "cannot see this folder" in text
