"""bench/compare_workspaces.py: two runs of the same analysis compare identical (timings and
directories ignored); a changed option or a changed value is reported where it is."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import make_tiny_areas, write_tiny_city

from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions
from safetygap.run import run_analysis

ROOT = Path(__file__).resolve().parents[1]


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        "compare_workspaces", ROOT / "bench" / "compare_workspaces.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cw = _load_tool()


def _tiny_workspace(base: Path, inputs: Path, **options: object) -> Path:
    """The tiny city analysed from a copy of ``inputs`` in ``base/in`` into ``base/ws``
    (the same bytes: a GeoPackage written twice differs in its timestamps)."""
    shutil.copytree(inputs, base / "in")
    files = {role: base / "in" / path.name for role, path in TINY_FILES.items()}
    run_analysis(AnalysisInputs(**files), base / "ws", quiet=True,
                 options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                                         **options))
    return base / "ws"


TINY_FILES: dict[str, Path] = {}


@pytest.fixture(scope="module")
def tiny_inputs(tmp_path_factory) -> Path:
    inputs = tmp_path_factory.mktemp("tiny_inputs")
    TINY_FILES.update(write_tiny_city(inputs, make_tiny_areas()))
    return inputs


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, tiny_inputs) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("compare")
    return _tiny_workspace(base / "a", tiny_inputs), _tiny_workspace(base / "b", tiny_inputs)


def test_two_runs_of_the_same_analysis_are_identical(two_runs):
    a, b = two_runs
    # they really differ in what is ignored: directories and the creation time
    qa, qb = (json.loads((w / "quality.json").read_text()) for w in (a, b))
    assert qa["calls"]["file"] != qb["calls"]["file"]
    diffs = cw.compare(a, b)
    assert set(diffs) == {*cw.JSON_FILES, *cw.PARQUET_FILES}
    assert diffs == {name: [] for name in diffs}
    assert cw.fingerprint(a) == cw.fingerprint(b)


def test_a_different_option_is_found(two_runs, tiny_inputs, tmp_path):
    a, _ = two_runs
    c = _tiny_workspace(tmp_path / "c", tiny_inputs, boundary_policy="split")
    diffs = cw.compare(a, c)
    assert any(".options.boundary_policy" in d for d in diffs["manifest.json"])
    assert diffs["summary.json"], "the summary names the boundary policy"
    assert diffs["calls.parquet"] == []  # the calls table does not depend on the policy
    assert cw.fingerprint(a) != cw.fingerprint(c)


def test_one_changed_cell_and_one_added_key_are_named(two_runs, tiny_inputs, tmp_path):
    a, _ = two_runs
    d = _tiny_workspace(tmp_path / "d", tiny_inputs)  # then changed by hand
    table = pq.read_table(d / "calls.parquet")
    covered = table.column("covered").to_pylist()
    covered[3] = not covered[3]
    i = table.column_names.index("covered")
    table = table.set_column(i, "covered", pa.array(covered, type=table.schema.field(i).type))
    pq.write_table(table, d / "calls.parquet")
    summary = json.loads((d / "summary.json").read_text())
    summary["extra"] = 1
    (d / "summary.json").write_text(json.dumps(summary))

    diffs = cw.compare(a, d)
    assert diffs["calls.parquet"] == [
        f"column covered: 1 of {table.num_rows} rows differ; first at row 3: "
        f"A {json.dumps(not covered[3])} != B {json.dumps(covered[3])}"]
    assert diffs["summary.json"] == [".extra: only in B"]
    assert all(not v for k, v in diffs.items() if k not in ("calls.parquet", "summary.json")), diffs
    assert cw.fingerprint(a) != cw.fingerprint(d)


def test_a_missing_file_and_a_changed_dtype(two_runs, tiny_inputs, tmp_path):
    a, _ = two_runs
    d = _tiny_workspace(tmp_path / "d", tiny_inputs)
    (d / "providers.parquet").unlink()
    frame = pq.read_table(d / "indices.parquet").to_pandas()
    frame["value"] = frame["value"].astype("float32")  # the values survive, the dtype not
    frame.to_parquet(d / "indices.parquet", index=False)
    diffs = cw.compare(a, d)
    assert diffs["providers.parquet"] == ["only in A"]
    assert diffs["indices.parquet"] == ["column value: dtype float64 in A, float32 in B"]
