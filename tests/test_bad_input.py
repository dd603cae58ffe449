"""Bad input through the whole pipeline (complements tests/test_inputs.py, which tests the
readers): each case gives a clear error naming file, column and value, or an entry in the
quality report; no input row is ever lost without being counted.

Cases: empty files of every kind, wrong encoding, an unknown delimiter, coordinates
swapped (a whole file, or a few rows), invalid polygons (repaired with a warning, or
refused), overlapping neighborhoods, boundary files in another CRS (reprojected: the
answer equals the same-CRS run), call types absent from the taxonomy. Uploads (the 2 GB
one included) are tested through the API in tests/test_write_api.py."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import make_tiny_areas, sq, write_tiny_city

from safetygap.errors import ValidationError
from safetygap.inputs import load_preset, read_calls
from safetygap.pipeline import STATUS_ORDER, AnalysisInputs, AnalysisOptions, analyze

GENERIC = load_preset("generic")


def run(files: dict[str, Path], **options):
    return analyze(AnalysisInputs(**files),
                   options=AnalysisOptions(columns=GENERIC, accept_undated=True, **options))


def assert_rows_conserved(analysis, n_rows: int) -> None:
    """Every input row is in calls.parquet with one status, and the counts add up."""
    counts = analysis.quality["calls"]["status_counts"]
    assert list(counts) == list(STATUS_ORDER)
    assert sum(counts.values()) == n_rows == len(analysis.calls)
    assert analysis.calls["row"].tolist() == list(range(1, n_rows + 1))


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    return write_tiny_city(tmp_path, make_tiny_areas())


# --------------------------------------------------------------------- files


@pytest.mark.parametrize("role", ["calls", "providers", "neighborhoods", "wards",
                                  "population"])
def test_empty_file_of_any_kind_is_named(files, role):
    files[role].write_bytes(b"")
    with pytest.raises(ValidationError, match=r"empty \(0 bytes\)") as err:
        run(files)
    assert files[role].name in str(err.value)


def test_a_long_value_keeps_its_end_so_a_deep_path_still_names_the_file():
    from safetygap.errors import Problems

    deep = "/srv/" + "/".join(f"level{i}" for i in range(20)) + "/calls.csv"
    problems = Problems()
    problems.add("calls", "file is empty (0 bytes)", value=deep)
    with pytest.raises(ValidationError) as err:
        problems.raise_if_any()
    got = str(err.value).split("(got ", 1)[1]
    assert got.startswith("'/srv/level0/") and got.endswith("/calls.csv')")
    assert "..." in got and len(got) - 1 <= 80  # 80 characters and the closing bracket


def test_wrong_encoding_is_named_with_the_way_out(files):
    text = files["calls"].read_text().replace("Domestic (P)", "Doméstic (P)")
    files["calls"].write_bytes(text.encode("latin-1"))
    with pytest.raises(ValidationError) as err:
        run(files)
    msg = str(err.value)
    assert "calls.csv" in msg and "cannot decode the file as utf-8" in msg
    assert "`encoding` latin-1" in msg  # the option; the command line shows --encoding
    # with the right encoding the file reads, and the value survives
    a = run(files, encoding="latin-1")
    assert "Doméstic (P)" in set(a.calls["call_type"])
    assert_rows_conserved(a, 11)


def test_unknown_delimiter_gives_a_hint(files):
    df = pd.read_csv(files["calls"], dtype=str)
    files["calls"].write_text(df.to_csv(index=False, sep=":"))
    with pytest.raises(ValidationError) as err:
        run(files)
    msg = str(err.value)
    for col in ("'id'", "'call_type'", "'latitude'", "'longitude'"):
        assert col in msg
    assert "the header is one column read with the delimiter ','" in msg


def test_semicolons_and_tabs_are_sniffed(files):
    df = pd.read_csv(files["calls"], dtype=str)
    base = run(files).quality["calls"]["status_counts"]
    for sep in (";", "\t", "|"):
        files["calls"].write_text(df.to_csv(index=False, sep=sep))
        assert run(files).quality["calls"]["status_counts"] == base


# ------------------------------------------------------------------ coordinates


def test_swapped_coordinate_columns_are_refused(files):
    """Latitude values in the longitude column and back: 9 of the 10 rows with numeric
    coordinates (row 8 is 0,0) fall inside the city only once exchanged (row 9 lies
    outside either way), so the file is refused with the columns and an example."""
    df = pd.read_csv(files["calls"], dtype=str)
    df["latitude"], df["longitude"] = df["longitude"].copy(), df["latitude"].copy()
    df.to_csv(files["calls"], index=False)
    with pytest.raises(ValidationError) as err:
        run(files)
    msg = str(err.value)
    assert "calls.csv" in msg and "'longitude/latitude'" in msg
    assert "look swapped: 9 of 10 rows" in msg
    lat1, lon1 = df.loc[0, "longitude"], df.loc[0, "latitude"]  # as they were
    assert f"row 1: {float(lat1):g}, {float(lon1):g}" in msg
    assert "exchange the two columns" in msg


def test_a_few_swapped_rows_are_counted_not_dropped(files):
    df = pd.read_csv(files["calls"], dtype=str)
    for i in (1, 4):  # rows 2 (in A) and 5 (in C)
        df.loc[i, ["latitude", "longitude"]] = df.loc[i, ["longitude", "latitude"]].to_numpy()
    df.to_csv(files["calls"], index=False)
    with pytest.warns(UserWarning, match="2 rows outside the neighborhoods would fall inside"):
        a = run(files)
    q = a.quality["calls"]
    assert q["faults"]["swapped_coordinates"] == 2
    ex = q["examples"]["swapped_coordinates"]
    assert [(e["row"], e["swapped_into"]) for e in ex] == [(2, "A"), (5, "C")]
    # |latitude| > 90 once swapped in Minneapolis: the rows are invalid, and counted
    status = a.calls.set_index("row")["status"]
    assert status[2] == status[5] == "invalid_coordinates"
    assert q["status_counts"]["invalid_coordinates"] == 2
    assert_rows_conserved(a, 11)


def test_no_swapped_entry_for_a_clean_file(files):
    a = run(files)
    assert a.quality["calls"]["faults"]["swapped_coordinates"] == 0
    assert "swapped_coordinates" not in a.quality["calls"]["examples"]


def test_swapped_projected_xy_are_detected_too(tmp_path, files):
    """x/y columns in a projected CRS mapped the wrong way round: every point lands
    far outside; exchanged, inside."""
    rows = [(str(i), "Theft (P)", "POLICE", "2023-01-01", 4_980_100 + 150 * i,
             500_100 + 150 * i) for i in range(10)]
    p = tmp_path / "xy.csv"
    pd.DataFrame(rows, columns=["id", "call_type", "agency", "time", "x", "y"]).to_csv(
        p, index=False)
    cmap = GENERIC.with_overrides(latitude="", longitude="", x="x", y="y", crs="EPSG:26915")
    with pytest.raises(ValidationError, match="look swapped: 10 of 10 rows"):
        analyze(AnalysisInputs(**dict(files, calls=p)), options=AnalysisOptions(columns=cmap))


# -------------------------------------------------------------------- polygons


def _write_geojson(path: Path, areas: gpd.GeoDataFrame, geometries: dict[str, dict]) -> Path:
    fc = json.loads(areas.to_crs("EPSG:4326").to_json())
    for feature in fc["features"]:
        if feature["properties"]["area_id"] in geometries:
            feature["geometry"] = geometries[feature["properties"]["area_id"]]
    path.write_text(json.dumps(fc))
    return path


def _ll(x: float, y: float) -> list[float]:
    from conftest import CRS, X0, Y0
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(X0 + x, Y0 + y)
    return [lon, lat]


def test_self_intersecting_neighborhood_is_repaired_and_reported(tmp_path, files):
    """Neighborhood A with a zero-width spike (a self-intersection): repaired to its
    square, listed in quality.json with a warning; the answer equals the clean run's."""
    nbhd, _ = make_tiny_areas()
    spike = {"type": "Polygon", "coordinates": [[
        _ll(0, 0), _ll(1000, 0), _ll(1000, 1000), _ll(500, 1000), _ll(500, 1400),
        _ll(500, 1000), _ll(0, 1000), _ll(0, 0)]]}
    clean = run(dict(files, neighborhoods=_write_geojson(tmp_path / "clean.geojson", nbhd, {})),
                crs="EPSG:26915")
    bad = _write_geojson(tmp_path / "spiky.geojson", nbhd, {"A": spike})
    with pytest.warns(UserWarning, match="repaired 1 invalid polygon"):
        a = run(dict(files, neighborhoods=bad), crs="EPSG:26915")
    report = a.quality["boundaries"]["neighborhoods"]
    assert report["repaired_invalid_geometries"] == ["A"]
    assert a.neighborhoods["area_km2"].iloc[0] == pytest.approx(1.0, rel=1e-6)
    pd.testing.assert_frame_equal(a.neighborhoods.drop(columns="geometry"),
                                  clean.neighborhoods.drop(columns="geometry"))
    assert_rows_conserved(a, 11)


def test_polygon_with_no_area_is_refused(tmp_path, files):
    nbhd, _ = make_tiny_areas()
    line = {"type": "Polygon", "coordinates": [[_ll(0, 0), _ll(1000, 1000), _ll(0, 0)]]}
    bad = _write_geojson(tmp_path / "flat.geojson", nbhd, {"B": line})
    with pytest.raises(ValidationError) as err:
        run(dict(files, neighborhoods=bad))
    msg = str(err.value)
    assert "flat.geojson row 2" in msg and "'geometry'" in msg and "no area" in msg
    assert "'B'" in msg


def test_overlapping_neighborhoods_are_measured_and_warned(tmp_path, files):
    """B reaches 100 m into A: the overlap is 100 m x 1000 m = 100,000 m², 10% of A."""
    nbhd, _ = make_tiny_areas()
    nbhd.loc[1, "geometry"] = sq(900, 0, 2000, 1000)
    nbhd.to_file(tmp_path / "overlap.gpkg")
    with pytest.warns(UserWarning) as record:
        a = run(dict(files, neighborhoods=tmp_path / "overlap.gpkg"))
    texts = [str(w.message) for w in record]
    assert any("1 pair(s) of areas overlap" in t and "A 'Alpha' / B 'Bravo': 100,000 m²" in t
               for t in texts), texts
    report = a.quality["boundaries"]["neighborhoods"]
    assert report["overlap_m2"] == pytest.approx(100_000)
    assert report["overlapping_pairs"] == 1
    assert report["overlaps"] == [{"a": "A", "a_name": "Alpha", "b": "B", "b_name": "Bravo",
                                   "area_m2": pytest.approx(100_000),
                                   "share_of_smaller": pytest.approx(0.1)}]
    assert a.quality["boundaries"]["wards"]["overlaps"] == []
    assert_rows_conserved(a, 11)


def test_touching_areas_are_not_overlaps(files):
    a = run(files)
    for level in ("neighborhoods", "wards"):
        assert a.quality["boundaries"][level]["overlaps"] == []
        assert a.quality["boundaries"][level]["overlap_m2"] == 0


# ------------------------------------------------------------------------ CRS


MEASURES = ["population", "area_km2", "calls_total", "rate_total", "coverage_response",
            "access_response", "gap_response", "gap_prevention", "gap_class_response",
            "rate_prevention", "access_restoration"]


@pytest.mark.parametrize("layer, crs", [("wards", "EPSG:4326"), ("neighborhoods", "EPSG:4326"),
                                        ("wards", "EPSG:3857")])
def test_boundary_file_in_another_crs_is_reprojected(tmp_path, files, layer, crs):
    """The layer written in another CRS gives the same answer as the same-CRS run (the
    analysis CRS pinned to EPSG:26915), and quality.json says it was reprojected."""
    same = run(files, crs="EPSG:26915")
    other = gpd.read_file(files[layer]).to_crs(crs)
    path = tmp_path / f"{layer}_other.gpkg"
    other.to_file(path)
    a = run(dict(files, **{layer: path}), crs="EPSG:26915")
    report = a.quality["boundaries"][layer]
    assert report["crs"] == crs and report["reprojected_to"] == "EPSG:26915"
    untouched = "wards" if layer == "neighborhoods" else "neighborhoods"
    assert a.quality["boundaries"][untouched]["reprojected_to"] is None
    for lv in ("neighborhoods", "wards"):
        got, want = getattr(a, lv), getattr(same, lv)
        for col in MEASURES:
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                       rtol=1e-6, atol=1e-9, equal_nan=True, err_msg=col)
    assert a.summary["totals"] == same.summary["totals"]
    assert a.quality["calls"]["status_counts"] == same.quality["calls"]["status_counts"]


# ------------------------------------------------------------------- taxonomy


def test_call_types_absent_from_the_taxonomy_are_counted(files):
    df = pd.read_csv(files["calls"], dtype=str)
    df.loc[2, "call_type"] = "Alien Landing"  # row 3, in B
    df.loc[4, "call_type"] = "Alien Landing"  # row 5, in C
    df.loc[5, "call_type"] = ""  # row 6, in D: empty
    df.to_csv(files["calls"], index=False)
    a = run(files)
    q = a.quality["calls"]
    assert q["status_counts"]["unknown_call_type"] == 4  # with row 7, Fireworks Galore
    assert q["unknown_call_types"] == {"Alien Landing": 2, "<missing>": 1,
                                       "Fireworks Galore (P)": 1}
    # still placed in their areas (counted in totals), with no family
    assert q["analysed_in_areas"] == 8
    rows = a.calls.set_index("row")
    assert rows.loc[[3, 5, 6], "neighborhood_id"].tolist() == ["B", "C", "D"]
    assert (rows.loc[[3, 5, 6], "family"] == "none").all()
    assert_rows_conserved(a, 11)


def test_reader_keeps_source_coordinates_for_the_checks(files):
    c = read_calls(files["calls"], columns=GENERIC)
    x, y = c.source_xy
    assert len(x) == len(y) == 11 and np.isfinite(x).sum() == 11
    assert c.coordinate_label == "longitude/latitude"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(files)  # a clean city raises no warning
