"""Diverted records from outside 911 (311 / online reports): read, placed by coordinates or
by names, counted in the diverted share (or beside it), kept in the workspace."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import CRS, X0, Y0
from pyproj import Transformer
from typer.testing import CliRunner

from safetygap.errors import ValidationError
from safetygap.inputs import load_preset, read_records
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze

_TR = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def _ll(x: float, y: float) -> tuple[float, float]:
    lon, lat = _TR.transform(X0 + x, Y0 + y)
    return round(lat, 7), round(lon, 7)


# Six records in the tiny city (conftest drawing: A/B bottom, C/D top; ward 1 = x < 1500).
#   R1 point in A (100,100)                          -> A, ward 1, coordinates
#   R2 no point, "bravo", "Ward 2"                   -> B, ward 2, names (folded case)
#   R3 no point, ward "1" only                       -> no neighborhood, ward 1 (its id)
#   R4 point outside the city, "Charlie"             -> C, no ward, names
#   R5 nothing                                       -> unplaced
#   R6 point 0,0 (missing), "Nowhere"                -> unplaced, name listed as unmatched
RECORDS = [
    ("R1", "Theft Report", "2023-04-01T09:00:00", *_ll(100, 100), "", ""),
    ("R2", "Property Damage", "2023-04-02T09:00:00", None, None, "bravo", "Ward 2"),
    ("R3", "Theft Report", "2023-04-03T09:00:00", None, None, "", "1"),
    ("R4", "Lost Property", "2023-04-04T09:00:00", *_ll(5000, 5000), "Charlie", ""),
    ("R5", "Theft Report", "2023-04-05T09:00:00", None, None, "", ""),
    ("R6", "Theft Report", "2023-04-06T09:00:00", 0.0, 0.0, "Nowhere", ""),
]


def _write(path: Path, names: tuple[str, ...] = ("id", "call_type", "time", "latitude",
                                                 "longitude", "neighborhood", "ward")) -> Path:
    pd.DataFrame(RECORDS, columns=list(names)).to_csv(path, index=False)
    return path


def test_records_are_placed_by_point_then_by_name(tiny_files: dict[str, Path],
                                                  tmp_path: Path) -> None:
    reports = _write(tmp_path / "311.csv")
    a = analyze(AnalysisInputs(**tiny_files, reports=reports),
                options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True))
    rec = a.records.set_index("record_id")
    assert rec["neighborhood_id"].astype(object).fillna("-").tolist() == [
        "A", "B", "-", "C", "-", "-"]
    assert rec["ward_id"].astype(object).fillna("-").tolist() == ["1", "2", "1", "-", "-", "-"]
    assert rec["located_by"].astype(str).tolist() == [
        "coordinates", "names", "names", "names", "unplaced", "unplaced"]
    assert set(rec["channel"].astype(str)) == {"report_311_online"}
    assert rec["category"].tolist()[:2] == ["report_only_property"] * 2
    q = a.quality["reports"]
    assert q["located_by"] == {"coordinates": 1, "names": 3, "unplaced": 2}
    assert q["unmatched_names"]["neighborhood_names"] == ["Nowhere"]
    # the diverted share: the tiny city has 9 unique non-fire calls, 1 diverted (call 1,
    # BCR); the 6 records count in both: (1 + 6) / (9 + 6). 2023: 7 such calls, 1 diverted
    # (calls 1 2 3 5 7 8 9), with the 6 records (1 + 6) / (7 + 6); 2024: call 4 alone, 0 / 1
    s = a.summary
    assert s["diverted_share"]["all"] == pytest.approx(7 / 15, abs=1e-6)
    assert s["diverted_share"]["2023"] == pytest.approx(7 / 13, abs=1e-6)
    assert s["diverted_share"]["2024"] == 0.0
    d = s["diversion"]
    assert (d["denominator_calls"], d["diverted_calls"]) == (15, 7)
    assert d["calls_911"] == {"denominator_calls": 9, "diverted_calls": 1,
                              "diverted_share": pytest.approx(1 / 9, abs=1e-6)}
    assert "311 and online reports" in d["denominator_words"]
    assert d["by_channel"]["report_311_online"] == 6
    assert d["outside_911"]["located_by"] == {"coordinates": 1, "names": 3, "unplaced": 2}


def test_records_not_counted_and_written_to_the_workspace(tiny_files: dict[str, Path],
                                                          tmp_path: Path) -> None:
    from safetygap.run import rebuild, run_analysis
    from safetygap.workspace import Workspace

    reports = _write(tmp_path / "311.csv", ("ID", "type", "when", "lat", "lon", "hood",
                                            "w"))
    cols = {"id": "ID", "call_type": "type", "time": "when", "latitude": "lat",
            "longitude": "lon", "neighborhood": "hood", "ward": "w"}
    ws = tmp_path / "ws"
    run_analysis(AnalysisInputs(**tiny_files, reports=reports), ws, quiet=True,
                 options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                                         reports_columns=cols, reports_counted=False))
    w = Workspace.open(ws)
    assert w.summary["diverted_share"]["all"] == pytest.approx(1 / 9, abs=1e-6)
    assert "311" not in w.summary["diversion"]["denominator_words"]
    assert w.summary["diversion"]["outside_911"]["counted"] is False
    assert len(w.records()) == 6 and not w.records()["diversion_base"].any()
    assert w.verify() == []
    # a re-run keeps the reports file and its column names
    v = Workspace(rebuild(ws))
    assert len(v.records()) == 6
    assert v.manifest["inputs"]["reports"]["path"] == str(reports.resolve())


def test_bad_reports_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    pd.DataFrame({"id": ["1"], "created": ["2023-01-01"]}).to_csv(p, index=False)
    with pytest.raises(ValidationError) as err:
        read_records(p)
    text = str(err.value)
    assert "r.csv" in text and "time column 'time' not found" in text
    assert "no way to place the records" in text and "'created'" in text
    with pytest.raises(ValidationError, match="unknown field"):
        read_records(p, columns={"when": "created"})
    assert len(read_records(p, columns={"time": "created", "ward": "id"}).frame) == 1


def test_a_reports_file_of_points_without_crs_takes_a_declared_one(
        tiny_files: dict[str, Path], tmp_path: Path) -> None:
    """A shapefile of 311 points without its .prj was a pyproj error ('None'), not a
    message; now it names the option, and a declared CRS places the points."""
    import geopandas as gpd
    from shapely.geometry import Point

    from safetygap.cli._app import cli_message

    points = gpd.GeoDataFrame(
        {"time": ["2018-04-12T10:00:00", "2018-04-12T11:00:00"], "call_type": ["Theft"] * 2},
        geometry=[Point(X0 + 500, Y0 + 500), Point(X0 + 1500, Y0 + 1500)], crs=CRS)
    p = tmp_path / "reports.shp"
    points.to_file(p)
    p.with_suffix(".prj").unlink()
    with pytest.raises(ValidationError) as err:
        read_records(p)
    text = str(err.value)
    assert "reports.shp" in text and "no CRS" in text
    assert "--reports-column crs=EPSG:n" in cli_message(text)
    assert read_records(p, columns={"crs": "EPSG:26915"}).crs == "EPSG:26915"
    a = analyze(AnalysisInputs(**tiny_files, reports=p), options=AnalysisOptions(
        columns=load_preset("generic"), accept_undated=True,
        reports_columns={"crs": "EPSG:26915"}))
    assert a.summary["diversion"]["outside_911"]["located_by"]["coordinates"] == 2
    # by hand: (500, 500) is in A, (1500, 1500) in D
    assert a.records["neighborhood_id"].astype(str).tolist() == ["A", "D"]
    assert a.quality["reports"]["time_form"] == (
        "ISO 8601 (2018-04-12T12:50:17, zone optional) (detected)")
    points.to_crs(4326).to_file(tmp_path / "degrees.gpkg")  # a file with its own CRS
    with pytest.raises(ValidationError, match="contradicts the file's own"):
        read_records(tmp_path / "degrees.gpkg", columns={"crs": "EPSG:26915"})


def test_cli_reports_options(tiny_files: dict[str, Path], tmp_path: Path) -> None:
    from safetygap.cli import app

    reports = _write(tmp_path / "311.csv")
    args = ["analyze", "--calls", str(tiny_files["calls"]), "--preset", "generic",
            "--accept-undated",
            "--providers", str(tiny_files["providers"]),
            "--neighborhoods", str(tiny_files["neighborhoods"]),
            "--wards", str(tiny_files["wards"]), "--out", str(tmp_path / "ws"), "--quiet",
            "--reports", str(reports)]
    res = CliRunner().invoke(app, [*args, "--reports-channel", "police"])
    assert res.exit_code == 2 and "reports_channel" in res.output
    res = CliRunner().invoke(app, [*args, "--reports-column", "time"])
    assert res.exit_code == 2 and "FIELD=COLUMN" in res.output
    res = CliRunner().invoke(app, [*args, "--reports-column", "id=id"])
    assert res.exit_code == 0, res.output
    assert "diverted to non-police services: 46.7%" in res.output  # 7 / 15


def test_a_reports_file_in_another_time_form_is_detected(tmp_path: Path) -> None:
    """The records' times are detected as the calls' are (they were read as ISO only)."""
    from safetygap.cli._app import cli_message

    p = tmp_path / "r.csv"
    pd.DataFrame({"time": ["04/12/2018 12:50:17 PM", "04/13/2018 01:05:00 AM"],
                  "ward": ["1", "2"]}).to_csv(p, index=False)
    rin = read_records(p)
    assert rin.frame["time"].tolist() == [pd.Timestamp("2018-04-12 12:50:17"),
                                          pd.Timestamp("2018-04-13 01:05:00")]
    assert rin.unparseable_times == 0 and rin.time_form.startswith("US month/day/year")
    assert rin.time_form.endswith("(detected)")
    ambiguous = tmp_path / "a.csv"
    pd.DataFrame({"time": ["04/05/2018 10:00", "03/11/2018 09:00"],
                  "ward": ["1", "2"]}).to_csv(ambiguous, index=False)
    with pytest.raises(ValidationError) as err:
        read_records(ambiguous)
    text = cli_message(str(err.value))
    assert "reports" in text and "a.csv column 'time'" in text and "ambiguous" in text
    assert "--reports-column time_format=us_24h" in text
    assert len(read_records(ambiguous, columns={"time_format": "day_first_24h"}).frame) == 2
