"""The streaming engine (``engine="stream"``): the calls read, classified, joined, flagged
and written batch by batch give the very workspace the in-memory engine gives
(bench/compare_workspaces.py's comparison: every table, summary.json, quality.json), on
calls with repeated ids across batches, malformed rows, dates outside the window, calls
outside every area, in many small batches; repeated ids found exactly whatever the
hashes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import load_compare_workspaces

from safetygap.inputs import load_preset
from safetygap.stages import _seen_ids
from safetygap.stages._seen_ids import SeenIds, id_hashes

BATCH = 700


def _ids(rng: np.random.Generator, n: int) -> list[str | None]:
    """Ids drawn from a small pool (many repeats), some missing or blank, some not ASCII."""
    pool = [f"C{i}" for i in range(n // 3)] + ["", "  ", "café-1", "ÄÖ", "x" * 40]
    out: list[str | None] = [str(v) for v in rng.choice(pool, n)]
    for i in rng.choice(n, n // 20, replace=False):
        out[i] = None
    return out


def _repeated(seen: SeenIds, ids: list[str | None], batch: int) -> np.ndarray:
    return np.concatenate([seen.repeated(pa.array(ids[a:a + batch], type=pa.string()))
                           for a in range(0, len(ids), batch)])


@pytest.mark.parametrize(("seed", "max_merged"), [(1, None), (2, None), (3, None), (4, 150)])
def test_repeated_ids_equal_pandas_duplicated(tmp_path, monkeypatch, seed, max_merged):
    """... also when the hashes stay in several runs of at most ``max_merged``."""
    if max_merged is not None:
        monkeypatch.setattr(_seen_ids, "MAX_MERGED", max_merged)
    rng = np.random.default_rng(seed)
    ids = _ids(rng, 3000)
    s = pd.Series(ids, dtype=object)
    expected = (s.duplicated(keep="first") & s.notna()).to_numpy()
    seen = SeenIds(tmp_path)
    got = _repeated(seen, ids, 97)
    assert expected.sum() > 1000
    np.testing.assert_array_equal(got, expected)
    present = pa.array([i for i in ids if i is not None], type=pa.string())
    assert seen.count == len(np.unique(id_hashes(present)))  # each hash in one run only
    if max_merged is not None:
        assert len(seen.runs) > 3 and max(len(r) for r in seen.runs) <= max_merged


def test_colliding_hashes_are_told_apart_by_their_text(tmp_path, monkeypatch):
    """With a hash of 4 values every id collides with many others: the text decides."""
    monkeypatch.setattr(_seen_ids, "id_hashes", lambda ids: np.asarray(
        [len(v or "") % 4 for v in ids.to_pylist()], dtype=np.uint64))
    rng = np.random.default_rng(4)
    ids = _ids(rng, 1500)
    s = pd.Series(ids, dtype=object)
    seen = SeenIds(tmp_path)
    got = _repeated(seen, ids, 61)
    np.testing.assert_array_equal(got, (s.duplicated(keep="first") & s.notna()).to_numpy())
    assert seen.collisions > 100


def test_an_ids_hash_does_not_depend_on_its_batch():
    alone = id_hashes(pa.array(["C17"]))
    among = id_hashes(pa.array(["a much longer id than the others", "C17", None, ""]))
    assert alone[0] == among[1]
    assert among[2] == among[3]  # missing hashes like "" (missing ids never repeat)
    assert len(set(id_hashes(pa.array([f"C{i}" for i in range(10_000)])))) == 10_000
    # not ASCII: pandas' hash, the same in any batch too
    assert id_hashes(pa.array(["café", "C1"]))[0] == id_hashes(pa.array(["x", "café"]))[1]


def _faulty_dataset(calls_csv: Path, folder: Path) -> dict[str, int]:
    """The demo city's calls with faults added at known rows, cut into three CSV files:
    ids repeated from earlier batches, dates before and after the window, calls far
    outside every area, non-numeric coordinates, malformed lines (a field short).
    Returns how many of each were made."""
    lines = calls_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    names = header.rstrip("\n").split(",")
    col = {n: i for i, n in enumerate(names)}

    def edit(i: int, **values: str) -> None:
        f = rows[i].rstrip("\n").split(",")
        for k, v in values.items():
            f[col[k]] = v
        rows[i] = ",".join(f) + "\n"

    def field(i: int, name: str) -> str:
        return rows[i].rstrip("\n").split(",")[col[name]]

    made = {"repeated": 0, "before": 0, "after": 0, "far": 0, "bad": 0, "malformed": 0}
    for i, j in ((5_000, 10), (9_000, 20), (15_000, 20), (12_345, 4_000), (701, 699),
                 (19_990, 19_900)):
        edit(i, Master_Incident_Number=field(j, "Master_Incident_Number"))
        made["repeated"] += 1
    for i in (33, 7_777, 18_000):
        edit(i, Response_Date="315532800000")  # 1980-01-01
        made["before"] += 1
    for i in (2_222, 16_500):
        edit(i, Response_Date="4102444800000")  # 2100-01-01
        made["after"] += 1
    for i in (44, 6_000, 13_000, 19_999):
        edit(i, Latitude="40.0", Longitude="-100.0", geom_x="-100.0", geom_y="40.0")
        made["far"] += 1
    for i in (3_001, 11_111):
        edit(i, Latitude="north", Longitude="west", geom_x="", geom_y="")
        made["bad"] += 1
    for i in (1_500, 8_800, 17_300):
        rows[i] = ",".join(rows[i].rstrip("\n").split(",")[:-2]) + "\n"
        made["malformed"] += 1
    folder.mkdir(parents=True)
    for k, (a, b) in enumerate(((0, 6_500), (6_500, 14_000), (14_000, len(rows)))):
        (folder / f"part-{k}.csv").write_text("".join([header, *rows[a:b]]),
                                              encoding="utf-8")
    return made


@pytest.fixture(scope="module")
def two_engines(tmp_path_factory):
    """The faulty demo dataset analysed by both engines (the stream in batches of
    :data:`BATCH` rows)."""
    from safetygap.demo import generate_city, write_city
    from safetygap.pipeline import AnalysisOptions, default_inputs
    from safetygap.run import run_analysis

    root = tmp_path_factory.mktemp("stream")
    city = generate_city(seed=7, n_calls=20_000)
    paths = write_city(city, root / "city")
    inputs = default_inputs(root / "city")
    made = _faulty_dataset(inputs.calls, root / "calls")
    inputs = type(inputs)(**{**inputs.__dict__, "calls": root / "calls"})
    as_of = json.loads(paths["meta"].read_text(encoding="utf-8"))["inventory"]["as_of"]
    opts = {"columns": load_preset("minneapolis-911"), "preset": "minneapolis-911",
            "label": city.label, "synthetic": True, "as_of": dt.date.fromisoformat(as_of)}
    run_analysis(inputs, root / "memory", options=AnalysisOptions(**opts), quiet=True)
    run_analysis(inputs, root / "stream", quiet=True,
                 options=AnalysisOptions(engine="stream", batch_rows=BATCH, **opts))
    return root / "memory", root / "stream", made


def test_stream_gives_the_in_memory_workspace(two_engines):
    memory, stream, _ = two_engines
    cw = load_compare_workspaces()
    diffs = cw.compare(memory, stream)
    for name, found in diffs.items():
        if name == "manifest.json":  # the engine chosen is recorded, nothing else differs
            assert sorted(found) == ['.options.batch_rows: A null != B 700',
                                     '.options.engine: A "memory" != B "stream"'], found
        else:
            assert found == [], (name, found)
    assert not list(stream.glob("*.tmp")) and not list(stream.glob(".*"))


def test_the_faults_are_there_and_cross_batches(two_engines):
    """The comparison above is not vacuous: every kind of fault made is counted, and
    repeated ids have their first row in an earlier batch."""
    _, stream, made = two_engines
    q = json.loads((stream / "quality.json").read_text(encoding="utf-8"))["calls"]
    s = q["status_counts"]
    assert q["malformed_rows"]["count"] == made["malformed"]
    assert q["date_window"]["before"] >= made["before"]
    assert q["date_window"]["after"] >= made["after"]
    assert s["outside_boundaries"] >= made["far"]
    assert s["invalid_coordinates"] >= made["bad"]
    assert s["duplicate_id"] >= made["repeated"]
    assert q["input_rows"] > 25 * BATCH  # many batches
    calls = pd.read_parquet(stream / "calls.parquet", columns=["row", "call_id", "status"])
    dup = calls[calls["status"] == "duplicate_id"]
    first = calls.drop_duplicates("call_id").set_index("call_id")["row"]
    earlier = (first.loc[dup["call_id"]].to_numpy() - 1) // BATCH < (dup["row"] - 1) // BATCH
    assert earlier.sum() >= 4
    files = {e.get("file") for ex in q["examples"].values() for e in ex}
    assert {"part-0.csv", "part-1.csv", "part-2.csv"} <= files


def test_cli_stream_engine_in_batches_of_two(tiny_files, tmp_path):
    """``analyze --engine stream --batch-rows 2`` on the tiny city (its calls in batches of
    two, both boundary policies at play): the in-memory engine's workspace; a batch size
    below 1 refused."""
    from typer.testing import CliRunner

    from safetygap.cli import app

    args = ["analyze", "--calls", str(tiny_files["calls"]),
            "--providers", str(tiny_files["providers"]),
            "--neighborhoods", str(tiny_files["neighborhoods"]),
            "--wards", str(tiny_files["wards"]), "--population", str(tiny_files["population"]),
            "--preset", "generic", "--accept-undated", "--quiet", "--no-precompute",
            "--boundary-policy", "split", "--boundary-tolerance", "110"]
    for engine, extra in (("memory", []), ("stream", ["--batch-rows", "2"])):
        res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / engine),
                                       "--engine", engine, *extra])
        assert res.exit_code == 0, res.output
    diffs = load_compare_workspaces().compare(tmp_path / "memory", tmp_path / "stream")
    assert sorted(diffs.pop("manifest.json")) == [
        '.options.batch_rows: A null != B 2', '.options.engine: A "memory" != B "stream"']
    assert all(found == [] for found in diffs.values()), diffs
    quality = json.loads((tmp_path / "stream" / "quality.json").read_text())
    assert quality["boundaries"]["near_boundary"]["neighborhood"]["shared"] == 1
    assert quality["calls"]["input_rows"] > 4  # several batches
    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "bad"), "--engine",
                                   "stream", "--batch-rows", "0"])
    assert bad.exit_code == 2 and "batch_rows" in bad.output.replace("-", "_")


def test_split_policy_shares_summed_across_batches_to_the_last_bit(tmp_path):
    """Under ``split`` with a wide tolerance thousands of calls are shared out as 1/k:
    the streaming engine counts them batch by batch (no allocation of every call kept),
    and every rate, share and class equals the in-memory engine's to the last bit."""
    from safetygap.demo import generate_city, write_city
    from safetygap.pipeline import AnalysisOptions, default_inputs
    from safetygap.run import run_analysis

    city = generate_city(seed=11, n_calls=12_000)
    paths = write_city(city, tmp_path / "city")
    inputs = default_inputs(tmp_path / "city")
    as_of = json.loads(paths["meta"].read_text(encoding="utf-8"))["inventory"]["as_of"]
    opts = {"columns": load_preset("minneapolis-911"), "preset": "minneapolis-911",
            "synthetic": True, "as_of": dt.date.fromisoformat(as_of),
            "boundary_policy": "split", "boundary_tolerance_m": 150.0}
    run_analysis(inputs, tmp_path / "memory", options=AnalysisOptions(**opts), quiet=True)
    run_analysis(inputs, tmp_path / "stream", quiet=True,
                 options=AnalysisOptions(engine="stream", batch_rows=997, **opts))
    _same_but_engine(tmp_path / "memory", tmp_path / "stream", batch=997)
    quality = json.loads((tmp_path / "stream" / "quality.json").read_text())
    assert quality["boundaries"]["near_boundary"]["neighborhood"]["shared"] > 1000


def test_stream_on_a_street_network_equals_memory(tiny_files, tiny_network, tmp_path):
    """Walking times on the tiny city's street grid: the streaming engine (batches of
    three calls; it keeps the places of the calls only for their distance to the network)
    writes the in-memory engine's workspace, the distance to the network included."""
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import run_analysis

    inputs = AnalysisInputs(**tiny_files, network=tiny_network)
    opts = {"columns": load_preset("generic"), "accept_undated": True, "travel": "network",
            "mode": "walk"}
    run_analysis(inputs, tmp_path / "memory", options=AnalysisOptions(**opts), quiet=True)
    run_analysis(inputs, tmp_path / "stream", quiet=True,
                 options=AnalysisOptions(engine="stream", batch_rows=3, **opts))
    _same_but_engine(tmp_path / "memory", tmp_path / "stream", batch=3)
    quality = json.loads((tmp_path / "stream" / "quality.json").read_text())
    assert quality["travel"]["calls_snap"]["points"] > 3


def _same_but_engine(memory: Path, stream: Path, *, batch: int) -> None:
    """The two workspaces are identical; their manifests differ by the engine only."""
    diffs = load_compare_workspaces().compare(memory, stream)
    assert sorted(diffs.pop("manifest.json")) == [
        f".options.batch_rows: A null != B {batch}",
        '.options.engine: A "memory" != B "stream"']
    assert all(found == [] for found in diffs.values()), diffs


@pytest.mark.parametrize("where", ["pipeline.level_indices", "run.write_workspace"])
def test_no_temporary_folder_left_when_a_later_stage_fails(tiny_files, tmp_path,
                                                           monkeypatch, where):
    """The streamed calls table waits in a temporary folder (here under ``staging``)
    until the workspace is written: a stage failing after the stream (the indices) or the
    writing itself leaves nothing behind."""
    import importlib

    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import run_analysis

    module, name = where.split(".")

    def boom(*args, **kwargs):
        raise RuntimeError("a later stage failed")

    monkeypatch.setattr(importlib.import_module(f"safetygap.{module}"), name, boom)
    staging = tmp_path / "staging"
    staging.mkdir()
    opts = AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                           engine="stream", batch_rows=4, staging=staging)
    with pytest.raises(RuntimeError, match="later stage"):
        run_analysis(AnalysisInputs(**tiny_files), tmp_path / "ws", options=opts,
                     quiet=True)
    assert list(staging.iterdir()) == []


def test_parquet_read_in_batches_of_the_streams_size(tiny_files, tmp_path):
    """The streaming engine reads Parquet in batches of at most ``batch_rows`` rows (the
    reader's own batches, not one large batch cut afterwards: that is what lowers the
    memory a batch holds)."""
    from safetygap.inputs.calls import open_calls

    frame = pd.read_csv(tiny_files["calls"], dtype=str)
    path = tmp_path / "calls.parquet"
    frame.to_parquet(path, index=False)
    reader = open_calls(path, columns=load_preset("generic"), parquet_rows=3)
    sizes = [len(b.frame) for b in reader.batches({}, {})]
    assert max(sizes) == 3 and sum(sizes) == len(frame) and len(sizes) > 2
