"""The owners of the tables between stages (safetygap/tables): the calls table's columns as
stored, and no module outside the owner spelling a calls column on a calls frame."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

import safetygap
from safetygap.tables import calls as C

PACKAGE = Path(safetygap.__file__).parent
CALLS_FRAMES = {"calls", "raw", "placed", "calls_out"}
"""Names the code gives a calls table (``base.calls`` and ``self.calls`` too)."""


def test_the_stored_calls_table_is_the_one_the_owner_names(tiny_ws):
    ws, _ = tiny_ws
    schema = pq.read_schema(ws / C.FILE)
    assert schema.names == [c for c in C.COLUMNS if c not in (C.X, C.Y)] + [C.GEOMETRY]
    frame = C.read(ws / C.FILE)
    for col, dtype in C.DTYPES.items():
        if col in (C.X, C.Y):
            continue
        got = str(frame[col].dtype)
        if dtype == "string":  # text columns come back as pandas' string or object dtype
            assert got in ("string", "str", "object"), (col, got)
        elif dtype == "datetime64[ns]":
            assert got.startswith("datetime64"), (col, got)
        else:
            assert got == dtype, (col, got)
    x, y = C.xy(frame)
    ok = (frame[C.STATUS].astype(str) == "ok").to_numpy()
    assert ok.sum() == 6 and pd.notna(x[ok]).all() and pd.notna(y[ok]).all()
    assert pd.notna(x).sum() == (frame.geometry.notna() & ~frame.geometry.is_empty).sum()


def test_working_table_round_trips_the_stages_columns(tiny_ws):
    ws, _ = tiny_ws
    from safetygap.workspace import Workspace

    w = Workspace.open(ws)
    table = C.working_table(ws / C.FILE, w.neighborhoods["area_id"], w.wards["area_id"],
                            none_code=3)
    stored = C.read(ws / C.FILE)
    assert list(table.columns) == [C.X, C.Y, C.STATUS, C.N_IDX, C.W_IDX, C.FAMILY,
                                   C.FAMILY_CODE, C.YEAR, C.ELIGIBLE, C.DIVERTED, C.COVERED,
                                   C.DIVERSION_BASE, C.CATEGORY, C.COVERABLE, C.TIME,
                                   C.SOURCE_CODE]
    assert table.attrs["sources"] == [C.SINGLE_SOURCE]
    assert (table[C.COVERABLE].to_numpy() == stored[C.COVERABLE].to_numpy()).all()
    # positions point back at the stored ids
    ids = w.neighborhoods["area_id"].astype(str).to_numpy()
    has = table[C.N_IDX].to_numpy() >= 0
    assert (ids[table[C.N_IDX].to_numpy()[has]]
            == stored[C.NEIGHBORHOOD_ID].astype(str).to_numpy()[has]).all()
    assert stored[C.NEIGHBORHOOD_ID].isna().to_numpy()[~has].all()


def _frame_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _spelled_columns(path: Path) -> list[str]:
    """``calls["family"]``-like subscripts and ``.calls(columns=[...])`` literals."""
    names = set(C.DTYPES) | set(C.CANONICAL) | set(C.FEATURES) | {
        C.N_IDX, C.W_IDX, C.COVERED, C.STATUS, C.GEOMETRY}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Subscript) and _frame_name(node.value) in CALLS_FRAMES:
            keys = node.slice.elts if isinstance(node.slice, ast.List) else [node.slice]
            found += [f"{path.name}:{node.lineno} {k.value}" for k in keys
                      if isinstance(k, ast.Constant) and k.value in names]
        if isinstance(node, ast.List | ast.Tuple):  # a list of calls columns, e.g. to read
            values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            if C.STATUS in values and len(values & names) >= 2:
                found.append(f"{path.name}:{node.lineno} {sorted(values & names)}")
        if isinstance(node, ast.Call) and _frame_name(node.func) == "calls":
            for kw in node.keywords:
                if kw.arg == "columns" and isinstance(kw.value, ast.List | ast.Tuple):
                    found += [f"{path.name}:{node.lineno} {e.value}" for e in kw.value.elts
                              if isinstance(e, ast.Constant) and e.value in names]
    return found


def test_no_module_outside_the_owner_spells_a_calls_column():
    spelled = [s for p in sorted(PACKAGE.rglob("*.py"))
               if "tables" not in p.relative_to(PACKAGE).parts
               for s in _spelled_columns(p)]
    assert spelled == []


def test_the_scan_finds_a_spelled_column(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('def f(calls, ws):\n    calls["family"]\n    ws.calls(columns=["year"])\n'
                   '    cols = ["status", "ward_id"]\n')
    assert sorted(_spelled_columns(bad)) == ["bad.py:2 family", "bad.py:3 year",
                                             "bad.py:4 ['status', 'ward_id']"]


def test_the_stored_measures_are_the_ones_the_owner_names(tiny_ws):
    from safetygap.tables import measures as M
    from safetygap.vocab import ALL_FAMILIES

    ws, _ = tiny_ws
    layer = pq.read_schema(ws / "neighborhoods.parquet").names
    assert layer[:len(M.AREA_COLUMNS)] == list(M.AREA_COLUMNS)
    measured = [c for c in layer if c not in (*M.AREA_COLUMNS, M.GEOMETRY)]
    # every measure, the intervals of the measures that have one and the area flags
    fams = [f for f in ALL_FAMILIES if f != M.TOTAL]
    skipped: set[str] = set()
    expected = [M.column(m, f) for f in ALL_FAMILIES
                for m in (M.TOTAL_MEASURES if f == M.TOTAL else M.MEASURES)
                if m not in skipped]
    expected += [M.column(m + s, f) for f in ALL_FAMILIES for m in M.INTERVAL_MEASURES
                 for s in M.CI_SUFFIXES if f in fams or m in M.TOTAL_MEASURES]
    expected += list(M.AREA_FLAGS)
    assert sorted(measured) == sorted(expected)
    assert all(M.is_column(c) for c in measured)
    assert {M.base_measure(M.measure_of(c)) for c in measured} == (
        set(M.MEASURES) - skipped) | set(M.AREA_FLAGS)
    assert pq.read_schema(ws / M.FILE).names == list(M.INDICES_COLUMNS)


def _measure_spellings(path: Path) -> list[str]:
    """``f"gap_{family}"``-like names built outside the owner, and tuples of measure names."""
    from safetygap.tables import measures as M

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(
                node.values[0], ast.Constant) and len(node.values) > 1:
            head = str(node.values[0].value)
            if any(head == f"{m}_" for m in M.MEASURES):
                found.append(f"{path.name}:{node.lineno} f{head!r}...")
        if isinstance(node, ast.Tuple | ast.List):
            values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            if len(values & set(M.MEASURES)) >= 3:
                found.append(f"{path.name}:{node.lineno} {sorted(values & set(M.MEASURES))}")
    return found


def test_no_module_outside_the_owner_builds_a_measure_column():
    spelled = [s for p in sorted(PACKAGE.rglob("*.py"))
               if "tables" not in p.relative_to(PACKAGE).parts
               for s in _measure_spellings(p)]
    assert spelled == []


def test_the_measure_scan_finds_a_spelled_column(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('def f(v, family):\n    v[f"gap_class_{family}"]\n'
                   '    return ("calls", "rate", "gap")\n')
    assert sorted(_measure_spellings(bad)) == ["bad.py:2 f'gap_class_'...",
                                       "bad.py:3 ['calls', 'gap', 'rate']"]


def test_reports_are_typed_complete_and_written_as_they_are(tiny_files, tmp_path):
    import json

    from safetygap.inputs import load_preset
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import run_analysis
    from safetygap.tables.report import Quality, Summary

    a = run_analysis(AnalysisInputs(**tiny_files), tmp_path / "ws", quiet=True,
                     options=AnalysisOptions(columns=load_preset("generic"),
                                             accept_undated=True))
    assert isinstance(a.quality, Quality) and isinstance(a.summary, Summary)
    # built once, complete: the parts once patched in afterwards are fields
    assert a.quality.calls.faults["swapped_coordinates"] == 0
    assert list(a.quality.calls.faults)[-1] == "swapped_coordinates"
    assert a.quality.boundaries.near_boundary["tolerance_m"] == 5.0
    assert a.quality.travel and a.summary.travel["distance_model"] == "straight-line"
    assert a.summary.boundary_sensitivity["policy"] == "contain"
    assert a.summary.totals.input_rows == a.quality.calls.input_rows == 11
    # the JSON on disk is to_dict(), key order included; the mapping view reads the same
    for name, rep in (("quality.json", a.quality), ("summary.json", a.summary)):
        on_disk = json.loads((tmp_path / "ws" / name).read_text())
        assert list(on_disk) == list(rep.to_dict()) == list(rep)
        assert on_disk == json.loads(json.dumps(rep.to_dict()))
    assert "reports" not in a.quality.to_dict()  # no reports file: no reports section
    assert a.summary["totals"]["unique_calls"] == a.summary.totals.unique_calls


def test_api_summary_model_derives_from_the_report():
    import dataclasses

    from safetygap.api import models
    from safetygap.tables import report

    for api, core in ((models.Totals, report.Totals), (models.Summary, report.Summary)):
        for f in dataclasses.fields(core):
            if f.name in api.model_fields and f.name not in (
                    "totals", "families", "quality", "diversion", "boundary_sensitivity",
                    "travel"):  # the Summary's typed parts: API models of their own
                assert api.model_fields[f.name].description == f.metadata["description"]
    assert list(models.Totals.model_fields) == [f.name for f in dataclasses.fields(
        report.Totals)]
    assert set(models.Summary.model_fields) <= {f.name for f in dataclasses.fields(
        report.Summary)}
