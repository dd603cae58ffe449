"""Every input is checked before the calls are read, and all problems come in one error;
inputs that would give meaningless results (no call rows, wards elsewhere) are refused;
boundary layers say which columns they were read with."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import CRS, X0, Y0, make_tiny_areas, sq, write_tiny_city
from typer.testing import CliRunner

from safetygap.boundaries import load_boundaries
from safetygap.cli import app
from safetygap.errors import ValidationError
from safetygap.inputs import ColumnMap, load_preset, read_calls
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze

GENERIC = load_preset("generic")
MPLS_911 = ["Master_Incident_Number", "Agency_Type", "is_911_Call", "Problem__Final_",
            "Response_Date", "Latitude", "Longitude", "Ward__GIS_", "OBJECTID"]


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    return write_tiny_city(tmp_path, make_tiny_areas())


def run(files: dict[str, Path], **options):
    return analyze(AnalysisInputs(**files), options=AnalysisOptions(columns=GENERIC,
                                                                    accept_undated=True, **options))


def _break_every_file(files: dict[str, Path]) -> dict[str, Path]:
    """Calls without agency and time, providers without capacity, no neighborhoods file,
    population without a name column: four files, five problems."""
    calls = pd.read_csv(files["calls"], dtype=str)
    calls.drop(columns=["agency", "time"]).to_csv(files["calls"], index=False)
    prov = gpd.read_file(files["providers"])
    prov.drop(columns=["capacity"]).to_file(files["providers"])
    files["population"].write_text("area_label,population\nAlpha,1000\n")
    return files | {"neighborhoods": files["neighborhoods"].with_name("nope.gpkg")}


def test_every_bad_file_is_reported_in_one_error(files, monkeypatch):
    import safetygap.pipeline as pipeline

    def never(*args, **kwargs):
        raise AssertionError("the calls were read before the inputs were checked")

    monkeypatch.setattr(pipeline, "read_calls", never)
    bad = _break_every_file(files)
    with pytest.raises(ValidationError) as err:
        run(bad)
    found = {(p.where.split(" ")[0], p.column, p.message) for p in err.value.problems}
    assert found == {
        ("neighborhoods", None, "file not found"),
        ("providers", "capacity", "required column missing"),
        ("calls", "agency", "required column missing"),
        ("calls", "time", "required column missing"),
        ("population", None, "no area-name column"),
    }
    text = str(err.value)
    assert text.startswith("5 problems:") and "nope.gpkg" in text
    # each file's columns listed once, naming the file
    assert f"columns of calls {bad['calls']} (4): 'id', 'call_type', 'latitude', " \
           "'longitude'" in text
    assert text.count("'service_type'") == 1  # the providers' columns, once


def test_cli_reports_every_bad_file_at_once(files, tmp_path):
    bad = _break_every_file(files)
    res = CliRunner().invoke(app, [
        "analyze", "--calls", str(bad["calls"]), "--providers", str(bad["providers"]),
        "--boundaries", str(bad["neighborhoods"]), "--wards", str(bad["wards"]),
        "--population", str(bad["population"]), "--preset", "generic", "--accept-undated",
        "--out", str(tmp_path / "ws"), "--quiet"])
    assert res.exit_code == 2
    assert "5 problems" in res.output
    for text in ("nope.gpkg: file not found", "column 'capacity'", "column 'agency'",
                 "column 'time'", "no area-name column"):
        assert text in res.output
    assert "input:" not in res.output
    assert not (tmp_path / "ws").exists()


def test_bad_crs_options_are_reported_with_the_files(files):
    with pytest.raises(ValidationError) as err:
        run(files | {"wards": files["wards"].with_name("none.gpkg")}, crs="EPSG:4326")
    text = str(err.value)
    assert "none.gpkg: file not found" in text
    assert "crs: the analysis CRS must be projected in metres (got 'EPSG:4326')" in text
    with pytest.raises(ValidationError, match=r"crs: unknown CRS \(got 'EPSG:999999'\)"):
        run(files, crs="EPSG:999999")


# ------------------------------------------------------------------ presets


def _mpls_header_csv(path: Path) -> Path:
    row = ["21-001", "POLICE", "True", "Theft (P)", "1609459200000", "44.98", "-93.27", "3",
           "1"]
    path.write_text(",".join(MPLS_911) + "\n" + ",".join(row) + "\n")
    return path


def test_missing_columns_suggest_the_preset_whose_columns_match(tmp_path):
    p = _mpls_header_csv(tmp_path / "calls.csv")
    with pytest.raises(ValidationError) as err:
        read_calls(p, columns=GENERIC)
    e = err.value
    assert [q.column for q in e.problems] == ["id", "call_type", "agency", "time", "longitude",
                                             "latitude"]
    assert all(q.allowed is None for q in e.problems)  # the columns are listed once, below
    assert e.notes == [
        f"columns of calls {p} (9): " + ", ".join(repr(c) for c in MPLS_911),
        "the columns match preset 'minneapolis-911': add option `preset` minneapolis-911",
    ]
    assert str(e).count("'Response_Date'") == 1
    # with the preset the same file reads
    assert len(read_calls(p, columns=load_preset("minneapolis-911")).frame) == 1


def test_no_preset_suggested_when_none_matches(tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text("Master_Incident_Number,Problem__Final_,Latitude,Longitude\n1,x,45,-93\n")
    with pytest.raises(ValidationError) as err:
        read_calls(p, columns=GENERIC)
    notes = err.value.notes
    assert notes[0].startswith("columns of calls") and "add option `preset`" not in str(err.value)
    assert notes[1:] == [n for n in notes if n.startswith("no agency column 'agency'")]


def test_cli_suggests_the_preset(files, tmp_path):
    p = _mpls_header_csv(tmp_path / "mpls.csv")
    res = CliRunner().invoke(app, [
        "analyze", "--calls", str(p), "--providers", str(files["providers"]),
        "--neighborhoods", str(files["neighborhoods"]), "--wards", str(files["wards"]),
        "--out", str(tmp_path / "ws"), "--quiet"])
    assert res.exit_code == 2
    assert "add --preset minneapolis-911" in res.output
    assert res.output.count("'Master_Incident_Number'") == 1


# ------------------------------------------------------- meaningless inputs


def test_header_only_calls_stop_the_cli(files, tmp_path):
    files["calls"].write_text("id,call_type,agency,time,latitude,longitude\n")
    res = CliRunner().invoke(app, [
        "analyze", "--calls", str(files["calls"]), "--providers", str(files["providers"]),
        "--neighborhoods", str(files["neighborhoods"]), "--wards", str(files["wards"]),
        "--preset", "generic", "--accept-undated", "--out", str(tmp_path / "ws"), "--quiet"])
    assert res.exit_code == 2
    assert "no data rows" in res.output and "calls.csv" in res.output
    assert "most underserved" not in res.output


def test_wards_elsewhere_are_refused_with_both_bounds(tmp_path):
    nbhd, wards = make_tiny_areas()
    wards = wards.set_geometry(wards.geometry.translate(xoff=100_000))  # 100 km east
    files = write_tiny_city(tmp_path, (nbhd, wards))
    with pytest.raises(ValidationError) as err:
        run(files)
    (problem,) = err.value.problems
    assert problem.where == f"wards {files['wards']}"
    assert str(files["neighborhoods"]) in problem.message
    # bounds worked out from the drawing in conftest, in the analysis CRS (EPSG:26915)
    assert "wards x 600,000..602,000, y 4,980,000..4,982,000" in problem.message
    assert "neighborhoods x 500,000..502,000, y 4,980,000..4,982,000" in problem.message
    assert "EPSG:26915" in problem.message


def test_wards_covering_part_of_the_city_warn_and_are_recorded(tmp_path):
    nbhd, wards = make_tiny_areas()
    # ward 2 ends at x = 1800 instead of 2000: the wards cover 1800 x 2000 of 2000 x 2000
    wards.loc[1, "geometry"] = sq(1500, 0, 1800, 2000)
    files = write_tiny_city(tmp_path, (nbhd, wards))
    with pytest.warns(UserWarning, match=r"cover only 90.0% of the neighborhoods"):
        a = run(files)
    rec = a.quality["boundaries"]["wards_cover_neighborhoods"]
    assert rec["neighborhood_area_in_wards"] == pytest.approx(0.9)
    assert rec["ward_area_in_neighborhoods"] == pytest.approx(1.0)
    assert rec["neighborhood_area_outside_wards_m2"] == pytest.approx(200 * 2000)
    assert "warning" in rec


def test_wards_covering_the_city_are_recorded_without_warning(files):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = run(files)
    rec = a.quality["boundaries"]["wards_cover_neighborhoods"]
    assert rec["neighborhood_area_in_wards"] == 1.0 and "warning" not in rec


# ------------------------------------------------------------ boundaries


def _features(*geoms) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"area_id": str(i + 1), "name": f"n{i + 1}"},
         "geometry": g} for i, g in enumerate(geoms)]})


def test_bad_geometries_reported_once_each_with_type_names(tmp_path):
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    p = tmp_path / "b.geojson"
    p.write_text(_features(square, None, {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                           {"type": "Point", "coordinates": [0, 0]}))
    with pytest.raises(ValidationError) as err:
        load_boundaries(p, layer="neighborhoods")
    got = [(q.where.rsplit(" ", 2)[-2:], q.message) for q in err.value.problems]
    assert got == [
        (["row", "2"], "empty or missing geometry"),
        (["row", "3"], "not a polygon: a LineString"),
        (["row", "4"], "not a polygon: a Point"),
    ]
    assert "int32" not in str(err.value)


def test_boundaries_without_crs_are_refused(tmp_path):
    nbhd, _ = make_tiny_areas()
    p = tmp_path / "nocrs.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio: "'crs' was not provided"
        nbhd.set_crs(None, allow_override=True).to_file(p)
    with pytest.raises(ValidationError) as err:
        load_boundaries(p, layer="wards")
    (problem,) = err.value.problems
    assert problem.where == f"wards {p}" and problem.message.startswith("no CRS")


def test_id_and_name_columns_are_recorded(files):
    a = run(files)
    for layer in ("neighborhoods", "wards"):
        rec = a.quality["boundaries"][layer]
        assert (rec["id_column"], rec["name_column"], rec["id_note"]) == ("area_id", "name",
                                                                          None)


@pytest.mark.parametrize("columns, layer, flag, expected_id", [
    # the option that gives the id column, as the core names it (the CLI shows --ward-id)
    ({"OBJECTID": [7, 8], "NAME": ["North", "South"]}, "wards", "option `ward_id`", "OBJECTID"),
    ({"NAME": ["North", "South"]}, "neighborhoods", "option `neighborhood_id`", None),
])
def test_row_number_ids_are_warned_and_noted(tmp_path, columns, layer, flag, expected_id):
    p = tmp_path / "areas.gpkg"
    gpd.GeoDataFrame(columns, geometry=[sq(0, 0, 1, 1), sq(1, 0, 2, 1)], crs=CRS).to_file(p)
    with pytest.warns(UserWarning, match=flag) as caught:
        gdf, report = load_boundaries(p, layer=layer)
    assert report.id_column == expected_id and report.name_column == "NAME"
    assert flag in report.to_dict()["id_note"] and str(p) in str(caught[0].message)
    assert list(gdf["area_id"]) == (["7", "8"] if expected_id else ["1", "2"])
    # a given id column is used without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, given = load_boundaries(p, layer=layer, id_column="NAME")
    assert given.id_column == "NAME" and given.id_note is None


# ----------------------------------------------------------------- calls


def test_geoparquet_calls_without_crs(tmp_path):
    pts = gpd.GeoDataFrame({"id": ["a", "b"], "call_type": ["Theft (P)", "Fight (P)"]},
                           geometry=gpd.points_from_xy([X0 + 100, X0 + 1500],
                                                       [Y0 + 100, Y0 + 500]))
    p = tmp_path / "calls.parquet"
    pts.to_parquet(p)
    cmap = ColumnMap(id="id", call_type="call_type")
    with pytest.raises(ValidationError) as err:
        read_calls(p, columns=cmap)
    (problem,) = err.value.problems
    assert problem.where == f"calls {p}" and problem.message.startswith("no CRS")
    assert "`calls_crs`" in problem.allowed
    c = read_calls(p, columns=cmap.with_overrides(crs=CRS))
    assert c.crs == CRS and c.frame["x"].tolist() == [X0 + 100, X0 + 1500]
