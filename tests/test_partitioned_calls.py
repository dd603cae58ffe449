"""--calls as a dataset of several files: a directory or a glob of local files, read lazily
in the order of the files' names, rows numbered on from file to file: the same canonical
table as the one file they were cut from; every file's header checked, problems naming
their file."""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import load_compare_workspaces

from safetygap.errors import ValidationError
from safetygap.inputs import load_preset, read_calls
from safetygap.inputs.sources import natural_key
from tests.test_large_inputs import calls_csv

GENERIC = load_preset("generic")
CUTS = (0, 700, 1400, 2999, 3000)  # a part of one row (2999) and the faults across parts


def cut(df: pd.DataFrame, folder, fmt: str, names=("part-0", "part-2", "part-10", "part-11"),
        ) -> list:
    """``df`` cut at :data:`CUTS` into files named so that text order would mix them up."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, a, b in zip(names, CUTS[:-1], CUTS[1:], strict=False):
        part = df.iloc[a:b]
        p = folder / f"{name}.{fmt}"
        if fmt == "csv":
            part.to_csv(p, index=False)
        else:
            pq.write_table(pa.Table.from_pandas(part, preserve_index=False), p)
        paths.append(p)
    return paths


def strip_files(examples: dict) -> dict:
    return {k: [{f: v for f, v in e.items() if f not in ("file", "file_row")} for e in ex]
            for k, ex in examples.items()}


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    calls_csv(folder / "calls.csv", 3000)
    df = pd.read_csv(folder / "calls.csv", dtype=str)  # empty values missing
    return df, read_calls(folder / "calls.csv", columns=GENERIC)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_directory_reads_as_the_whole_file(whole, tmp_path, fmt):
    df, one = whole
    cut(df, tmp_path / "calls" / "year=2023", fmt)
    (tmp_path / "calls" / "_SUCCESS").write_text("")
    (tmp_path / "calls" / ".part-0.crc").write_text("junk")
    many = read_calls(tmp_path / "calls", columns=GENERIC)
    pd.testing.assert_frame_equal(one.frame, many.frame)
    assert strip_files(many.examples) == one.examples
    assert many.source is not None and len(many.source.files) == 4
    # row 3000 (the last file's only row) has the bad latitude "95": its file and line
    bad = many.examples["invalid_coordinates"][-1]
    assert bad["row"] == 3000
    assert bad["file"].endswith("part-11." + fmt) and bad["file_row"] == 1
    first = many.examples["invalid_coordinates"][0]
    assert (first["row"], first["file_row"]) == (8, 8)


def test_glob_in_natural_order(whole, tmp_path):
    df, one = whole
    cut(df, tmp_path, "csv")
    (tmp_path / "notes.parquet").write_bytes(b"not matched by the glob")
    many = read_calls(str(tmp_path / "part-*.csv"), columns=GENERIC)
    pd.testing.assert_frame_equal(one.frame, many.frame)
    assert [f.name for f in many.source.files] == ["part-0.csv", "part-2.csv", "part-10.csv",
                                                    "part-11.csv"]
    assert sorted(["part-10", "part-2", "part-0"], key=natural_key) == [
        "part-0", "part-2", "part-10"]


def test_url_is_refused(tmp_path):
    """The core never downloads: a URL is refused, saying so, before anything is read."""
    for url in ("s3://bucket/calls/", "https://example.org/calls.csv", "file:///tmp/x.csv"):
        with pytest.raises(ValidationError, match="a URL: only local files are read"):
            read_calls(url, columns=GENERIC)


def test_dataset_problems_name_their_files(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_text("no calls here")
    with pytest.raises(ValidationError, match="directory holds no calls file"):
        read_calls(empty, columns=GENERIC)
    with pytest.raises(ValidationError, match="no file matches the glob"):
        read_calls(tmp_path / "nothing-*.csv", columns=GENERIC)
    mixed = tmp_path / "mixed"
    calls_csv(tmp_path / "calls.csv", 3000)
    df = pd.read_csv(tmp_path / "calls.csv", dtype=str)
    cut(df, mixed, "csv", names=("a", "b", "c", "d"))
    cut(df, mixed, "parquet", names=("e", "f", "g", "h"))
    with pytest.raises(ValidationError, match="mixes CSV and Parquet"):
        read_calls(mixed, columns=GENERIC)
    bad = tmp_path / "bad"
    paths = cut(df.drop(columns=["call_type"]), bad, "csv")
    cut(df.iloc[:1400], bad, "csv", names=("part-0", "part-2"))  # these two are fine
    with pytest.raises(ValidationError) as exc:
        read_calls(bad, columns=GENERIC)
    text = str(exc.value)
    assert "2 problems" in text and "column 'call_type'" in text
    assert str(paths[2]) in text and str(paths[3]) in text and str(paths[0]) not in text
    many = tmp_path / "many"
    cut(df.drop(columns=["call_type"]), many, "csv")
    cut(df.drop(columns=["call_type"]).iloc[:1400], many, "csv", names=("q", "r"))
    with pytest.raises(ValidationError, match="3 more files of the dataset have the problem"):
        read_calls(many, columns=GENERIC)


def test_analysis_of_a_directory_equals_the_file(tiny_files, tmp_path):
    """The tiny city's calls cut into three Parquet files: the same analysis; the
    manifest records the dataset (its files' count and one checksum)."""
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze

    calls = pd.read_csv(tiny_files["calls"], dtype=str, keep_default_na=False)
    folder = tmp_path / "calls-parts"
    folder.mkdir()
    for i, (a, b) in enumerate([(0, 4), (4, 9), (9, 11)]):
        pq.write_table(pa.Table.from_pandas(calls.iloc[a:b], preserve_index=False),
                       folder / f"{i}.parquet")
    opts = AnalysisOptions(columns=GENERIC, accept_undated=True)
    one = analyze(AnalysisInputs(**tiny_files), options=opts)
    many = analyze(AnalysisInputs(**{**tiny_files, "calls": folder}), options=opts)
    pd.testing.assert_frame_equal(one.calls, many.calls)
    pd.testing.assert_frame_equal(one.indices, many.indices)
    assert strip_files(many.quality.calls.examples) == one.quality.calls.examples
    rec = many.manifest["inputs"]["calls"]
    assert rec["files"] == 3 and len(rec["sha256"]) == 64
    assert rec["bytes"] == sum(p.stat().st_size for p in folder.iterdir())


def test_malformed_row_deep_in_a_partition_named_by_file_and_line(whole, tmp_path):
    """A row with a field too many, past the block the header check reads: skipped and
    listed with its partition and line (the other rows keep their numbers); refused,
    naming them, when no malformed row is allowed."""
    df, _ = whole
    paths = cut(df, tmp_path / "calls", "csv")
    lines = paths[2].read_text().splitlines(keepends=True)  # part-10: rows 1401-2999
    bad = 1500  # a line of the file (the header is line 1), well past 64 KiB
    assert sum(len(x) for x in lines[:bad]) > 1 << 16
    fields = lines[bad - 1].count(",") + 2
    lines[bad - 1] = lines[bad - 1].rstrip("\n") + ",extra\n"
    paths[2].write_text("".join(lines))
    with pytest.raises(ValidationError) as exc:
        read_calls(tmp_path / "calls", columns=GENERIC, max_malformed_share=0)
    text = str(exc.value)
    assert paths[2].name in text and f"line {bad} ({fields} fields)" in text
    with pytest.warns(UserWarning, match=f"line {bad} "):
        cin = read_calls(tmp_path / "calls", columns=GENERIC)
    assert len(cin.frame) == len(df) - 1
    [row] = cin.malformed.to_dict(len(df), 0.01)["rows"]
    assert (row["line"], row["fields"]) == (bad, fields) and paths[2].name in row["file"]
    missing = set(range(1, len(df) + 1)) - set(cin.frame["row"].tolist())
    assert missing == {cin.file_starts[2] + bad - 1}  # the data row on that line


def test_truncated_parquet_partition_named(whole, tmp_path):
    df, _ = whole
    paths = cut(df, tmp_path / "calls", "parquet")
    paths[1].write_bytes(paths[1].read_bytes()[:100])
    with pytest.raises(ValidationError, match=f"calls {paths[1]}: cannot read as Parquet"):
        read_calls(tmp_path / "calls", columns=GENERIC)


@pytest.fixture(scope="module")
def demo_city(tmp_path_factory):
    """The synthetic demo city with 20,000 calls (faults included) as files."""
    from safetygap.demo import generate_city, write_city
    from safetygap.pipeline import default_inputs

    folder = tmp_path_factory.mktemp("demo")
    city = generate_city(seed=7, n_calls=20_000)
    paths = write_city(city, folder)
    as_of = json.loads(paths["meta"].read_text(encoding="utf-8"))["inventory"]["as_of"]
    return city, default_inputs(folder), as_of


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_partitioned_demo_city_gives_the_same_workspace(demo_city, tmp_path, fmt):
    """The demo city's calls file cut into 7 partitions (every value the same text): the
    workspace equals the single file's (bench/compare_workspaces.py's comparison), but for
    the manifest's record of the input and the file and row the quality examples add."""
    import dataclasses
    import datetime as dt

    import pyarrow.csv as pacsv

    from safetygap.pipeline import AnalysisOptions
    from safetygap.run import run_analysis

    city, inputs, as_of = demo_city
    lines = inputs.calls.read_text(encoding="utf-8").splitlines(keepends=True)
    table = pacsv.read_csv(inputs.calls)
    assert len(lines) == table.num_rows + 1 == 20_001  # no value spans lines
    table = pacsv.read_csv(inputs.calls, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in table.column_names},
        strings_can_be_null=True, quoted_strings_can_be_null=False))  # as the reader does
    folder = tmp_path / "calls"
    folder.mkdir()
    bounds = [0, 1, 2_000, 2_001, 7_000, 12_345, 19_000, 20_000]  # one of one row
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        if fmt == "csv":  # the very text of the file's rows
            (folder / f"part-{i}.csv").write_text("".join([lines[0], *lines[1 + a:1 + b]]),
                                                  encoding="utf-8")
        else:
            pq.write_table(table.slice(a, b - a), folder / f"part-{i}.parquet")
    opts = AnalysisOptions(columns=load_preset("minneapolis-911"), preset="minneapolis-911",
                           label=city.label, synthetic=True,
                           as_of=dt.date.fromisoformat(as_of))
    one = tmp_path / "one"
    many = tmp_path / "many"
    run_analysis(inputs, one, options=opts, quiet=True)
    run_analysis(dataclasses.replace(inputs, calls=folder), many, options=opts, quiet=True)
    cw = load_compare_workspaces()
    diffs = cw.compare(one, many)
    for name in ("summary.json", *cw.PARQUET_FILES):
        assert diffs[name] == [], (name, diffs[name])
    manifest = [d for d in diffs["manifest.json"] if "inputs.calls" not in d]
    assert manifest == [], diffs["manifest.json"]
    qa, qb = (cw.normalised_json(w, "quality.json") for w in (one, many))
    assert qa["calls"]["examples"]  # the demo city's faults are there to compare
    examples = qb["calls"]["examples"]
    assert strip_files(examples) == qa["calls"]["examples"]
    qb["calls"]["examples"] = qa["calls"]["examples"]
    assert qa["calls"]["file"].endswith("calls.csv") and qb["calls"]["file"].endswith("calls")
    qb["calls"]["file"] = qa["calls"]["file"]
    assert qa == qb
    starts = {f"part-{i}.{fmt}": a for i, a in enumerate(bounds[:-1])}
    assert {"duplicate_id", "unknown_call_type", "zero_coordinates"} <= set(examples)
    for ex in examples.values():
        for e in ex:
            assert e["row"] == starts[e["file"]] + e["file_row"]


def test_rerun_of_a_dataset_workspace(tiny_files, tmp_path):
    """A workspace analysed from a directory of partitions re-runs from it (the manifest
    records the directory); once the directory is gone the re-run says so."""
    import shutil

    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import rebuild, rerun_plan, run_analysis
    from safetygap.workspace import Workspace

    calls = pd.read_csv(tiny_files["calls"], dtype=str, keep_default_na=False)
    folder = tmp_path / "calls-parts"
    folder.mkdir()
    for i, (a, b) in enumerate([(0, 6), (6, 11)]):
        calls.iloc[a:b].to_csv(folder / f"part-{i}.csv", index=False)
    ws = tmp_path / "ws"
    run_analysis(AnalysisInputs(**{**tiny_files, "calls": folder}), ws, quiet=True,
                 options=AnalysisOptions(columns=GENERIC, accept_undated=True))
    inputs, _ = rerun_plan(ws, {})
    assert str(inputs.calls) == str(folder.resolve())
    v1 = rebuild(ws)
    assert Workspace(v1).summary["totals"] == Workspace(ws).summary["totals"]
    shutil.rmtree(folder)
    with pytest.raises(ValidationError, match="the calls files of the analysis are gone"):
        rerun_plan(ws, {})


def test_time_form_detected_once_for_the_dataset(whole, tmp_path):
    """time_format auto: the form found on the first batch (here the whole first file,
    700 rows) reads every file, as it reads the whole file: the same times."""
    df, _ = whole
    auto = GENERIC.with_overrides(time_format="auto")
    df.to_csv(tmp_path / "whole.csv", index=False)  # the cut files are written the same way
    one = read_calls(tmp_path / "whole.csv", columns=auto)
    cut(df, tmp_path / "calls", "csv")
    many = read_calls(tmp_path / "calls", columns=auto)
    assert one.time_form is not None and many.time_form is not None
    assert many.time_form.form == one.time_form.form == "iso"
    assert (one.time_form.sampled, many.time_form.sampled) == (2000, 700)  # the first file
    pd.testing.assert_frame_equal(one.frame, many.frame)



def test_make_calls_partitions_repeat_ids_across_files(tmp_path):
    """bench/make_calls.py: the partitions hold the calls asked for, and the ids it says it
    repeated (within a partition and from earlier ones) are exactly the repeated ids a
    reader of the whole dataset finds."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "make_calls.py"
    spec = importlib.util.spec_from_file_location("make_calls", path)
    make_calls = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = make_calls
    spec.loader.exec_module(make_calls)
    out = tmp_path / "big"
    assert make_calls.main(["--calls", "5000", "--partition-size", "2000", "--out", str(out),
                            "--template-calls", "3000", "--duplicates-per-million",
                            "20000"]) == 0
    meta = json.loads((out / "make_calls.json").read_text())
    parts = sorted((out / "calls").glob("*.parquet"))
    assert meta["calls"] == 5000 and meta["partitions"] == len(parts) == 3
    ids = pd.concat([pd.read_parquet(p, columns=["Master_Incident_Number"]) for p in parts])
    ids = ids["Master_Incident_Number"]
    assert len(ids) == 5000 and meta["repeated_ids"] == int(ids.duplicated().sum()) > 20
    later = pd.read_parquet(parts[2], columns=["Master_Incident_Number"]).iloc[:, 0]
    assert later.str.startswith("P00000-").any() or later.str.startswith("P00001-").any()
    calls = read_calls(out / "calls", columns=load_preset("minneapolis-911"))
    assert int(calls.frame["call_id"].duplicated().sum()) == meta["repeated_ids"]


@pytest.mark.filterwarnings("ignore:the wards .* cover only:UserWarning")
def test_a_new_city_from_partitions_init_and_analyze(tmp_path):
    """Riverton (tests/fixture_city.py) with its calls export cut into three CSV files:
    `safetygap init --calls DIR` guesses the same [calls] section as from the one file, and
    `analyze --config` gives the same workspace (tables and summary equal)."""
    import tomllib

    from fixture_city import write_fixture_city
    from typer.testing import CliRunner

    from safetygap.cli import app

    files = write_fixture_city(tmp_path / "downloads")
    lines = files["calls"].read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) > 20
    folder = tmp_path / "downloads" / "calls"
    folder.mkdir()
    for i, (a, b) in enumerate([(1, 8), (8, 9), (9, len(lines))]):
        (folder / f"export-{i}.csv").write_text("".join([lines[0], *lines[a:b]]),
                                                encoding="utf-8")
    cw = load_compare_workspaces()
    docs, workspaces = [], []
    for name, calls in (("one", files["calls"]), ("many", folder)):
        config = tmp_path / f"{name}.toml"
        args = ["init", "--calls", calls, "--neighborhoods", files["neighborhoods"],
                "--wards", files["wards"], "--providers", files["providers"],
                "--population", files["population"], "--out", config, "--name", "Riverton"]
        init = CliRunner().invoke(app, [str(a) for a in args])
        assert init.exit_code == 0, init.output
        docs.append(tomllib.loads(config.read_text()))
        ws = tmp_path / f"ws-{name}"
        run = CliRunner().invoke(app, ["analyze", "--config", str(config), "--out", str(ws),
                                       "--quiet", "--accept-undated"])
        assert run.exit_code == 0, run.output
        workspaces.append(ws)
    one, many = docs
    assert many["calls"].pop("file").endswith("calls")
    one["calls"].pop("file")
    assert one == many
    diffs = cw.compare(*workspaces)
    for name in ("summary.json", *cw.PARQUET_FILES):
        assert diffs[name] == [], (name, diffs[name])


def test_profile_of_a_dataset_equals_the_file(demo_city, tmp_path):
    """`safetygap profile DIR --json`: the same profile as of the one file (the preset
    found from the first file's header)."""
    from typer.testing import CliRunner

    from safetygap.cli import app

    _, inputs, _ = demo_city
    lines = inputs.calls.read_text(encoding="utf-8").splitlines(keepends=True)
    folder = tmp_path / "calls"
    folder.mkdir()
    for i, (a, b) in enumerate([(1, 5_001), (5_001, 15_000), (15_000, len(lines))]):
        (folder / f"part-{i}.csv").write_text("".join([lines[0], *lines[a:b]]),
                                              encoding="utf-8")
    out = []
    for calls in (inputs.calls, folder):
        run = CliRunner().invoke(app, ["profile", str(calls), "--json"])
        assert run.exit_code == 0, run.output
        out.append(json.loads(run.output))
    one, many = out
    assert one["rows"] == many["rows"] == 20_000
    assert one["preset"] == many["preset"] == "minneapolis-911"
    assert one["coordinates"] and one["problem_types"]  # there is something to compare
    assert many.pop("file").endswith("calls") and one.pop("file").endswith("calls.csv")
    assert one == many
