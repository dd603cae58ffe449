"""Hard input errors raise one ValidationError naming file, column and value;
row faults are counted, never dropped."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from safetygap.errors import ValidationError
from safetygap.inputs import ColumnMap, load_preset, read_calls, read_population, read_providers
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze
from safetygap.taxonomy import load_taxonomy

GENERIC = load_preset("generic")


def test_missing_file(tmp_path):
    with pytest.raises(ValidationError, match="file not found") as err:
        read_calls(tmp_path / "nope.csv", columns=GENERIC)
    assert "nope.csv" in str(err.value)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(ValidationError, match="empty"):
        read_calls(p, columns=GENERIC)


def test_missing_columns_named_together(tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text("id,call_type,when\n1,Theft (P),2023-01-01\n")
    with pytest.raises(ValidationError) as err:
        read_calls(p, columns=GENERIC)
    text = str(err.value)
    for col in ("'agency'", "'time'", "'latitude'", "'longitude'"):
        assert col in text
    assert "4 problems" in text and "calls.csv" in text
    assert len(err.value.problems) == 4


def test_wrong_delimiter_hint(tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text("id;call_type;agency;time;latitude;longitude\n1;Theft (P);POLICE;2023;45;-93\n")
    # the sniffer reads semicolons: the file works
    c = read_calls(p, columns=GENERIC)
    assert c.frame["call_type"].iloc[0] == "Theft (P)"


def test_unknown_preset():
    with pytest.raises(ValidationError, match="minneapolis-911"):
        load_preset("nope")


def test_xy_without_crs_is_an_error(tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text("id,call_type,x,y\n1,Theft (P),500000,4980000\n")
    cmap = ColumnMap(id="id", call_type="call_type", x="x", y="y")
    with pytest.raises(ValidationError, match="no CRS"):
        read_calls(p, columns=cmap)
    ok = read_calls(p, columns=cmap.with_overrides(crs="EPSG:26915"))
    assert ok.frame["x"].iloc[0] == 500000.0


def test_row_faults_are_flagged(tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text(
        "id,call_type,agency,time,latitude,longitude\n"
        "1,Theft (P),POLICE,2023-01-01T00:00:00,44.9,-93.2\n"
        "2,Theft (P),POLICE,2023-01-01T00:00:00,,\n"
        "3,Theft (P),POLICE,2023-01-01T00:00:00,abc,-93.2\n"
        "4,Theft (P),POLICE,2023-01-01T00:00:00,0,0\n"
        "5,Theft (P),POLICE,2023-13-45,95.0,-93.2\n"
    )
    c = read_calls(p, columns=GENERIC)
    assert list(c.frame["coord_fault"]) == [0, 1, 2, 3, 2]
    assert c.frame["time"].isna().tolist() == [False] * 4 + [True]
    assert c.examples["invalid_coordinates"][0] == {"row": 3, "id": "3",
                                                   "column": "longitude/latitude",
                                                   "value": "-93.2, abc"}
    assert c.examples["unparseable_date"][0]["value"] == "2023-13-45"


def test_geojson_calls_with_geometry(tmp_path):
    gdf = gpd.GeoDataFrame({"id": ["a", "b"], "call_type": ["Theft (P)", "Fight (P)"]},
                           geometry=gpd.points_from_xy([-93.2, -93.3], [44.9, 45.0]),
                           crs="EPSG:4326")
    p = tmp_path / "calls.geojson"
    gdf.to_file(p)
    c = read_calls(p, columns=ColumnMap(id="id", call_type="call_type"))
    assert c.crs.endswith("4326")
    assert c.frame["x"].tolist() == pytest.approx([-93.2, -93.3])
    pq = tmp_path / "calls.parquet"
    gdf.to_crs("EPSG:26915").to_parquet(pq)
    c2 = read_calls(pq, columns=ColumnMap(id="id", call_type="call_type"))
    assert "26915" in c2.crs
    gpkg = tmp_path / "calls.gpkg"
    gdf.to_file(gpkg)
    assert len(read_calls(gpkg, columns=ColumnMap(id="id", call_type="call_type")).frame) == 2


def test_unreadable_geometry_file(tmp_path):
    p = tmp_path / "calls.gpkg"
    p.write_bytes(b"this is not a geopackage" * 10)
    with pytest.raises(ValidationError) as err:
        read_calls(p, columns=ColumnMap(id="id", call_type="call_type"))
    (problem,) = err.value.problems
    assert str(problem).startswith(f"calls {p}: cannot open as a vector file: ")
    assert "calls.gpkg" in str(err.value)


def _providers(tmp_path: Path, rows: list[dict]) -> Path:
    p = tmp_path / "providers.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_provider_errors_listed_together(tmp_path):
    p = _providers(tmp_path, [
        {"name": "A", "service_type": "bcr_team", "capacity": 1, "latitude": 45,
         "longitude": -93, "family": "response"},
        {"name": "B", "service_type": "spaceship", "capacity": 1, "latitude": 45,
         "longitude": -93, "family": ""},
        {"name": "C", "service_type": "youth_program", "capacity": -2, "latitude": 45,
         "longitude": -93, "family": "restoration"},
        {"name": "", "service_type": "youth_program", "capacity": 2, "latitude": None,
         "longitude": -93, "family": ""},
    ])
    with pytest.raises(ValidationError) as err:
        read_providers(p, taxonomy=load_taxonomy())
    text = str(err.value)
    assert "row 2" in text and "'spaceship'" in text and "bcr_team" in text
    assert "row 3" in text and "capacity" in text and "'-2'" in text
    assert "family does not match" in text and "'restoration'" in text
    assert "row 4" in text and "name is empty" in text and "coordinates" in text


def test_blank_provider_ids_get_their_row_number(tmp_path):
    p = _providers(tmp_path, [
        {"provider_id": "A1", "name": "A", "service_type": "bcr_team", "capacity": 1,
         "latitude": 45, "longitude": -93},
        {"provider_id": None, "name": "B", "service_type": "bcr_team", "capacity": 1,
         "latitude": 45, "longitude": -93},
        {"provider_id": " ", "name": "C", "service_type": "bcr_team", "capacity": 1,
         "latitude": 45, "longitude": -93},
    ])
    got = read_providers(p, taxonomy=load_taxonomy()).frame
    assert list(got["provider_id"]) == ["A1", "P0002", "P0003"]


def test_population_bad_rows_are_reported(tmp_path):
    p = tmp_path / "pop.csv"
    p.write_text("neighborhood,population\nAlpha,100\nBravo,n/a\nCharlie,-5\n")
    pin = read_population(p)
    assert pin.frame["name"].tolist() == ["Alpha"]
    assert [b["row"] for b in pin.bad_rows] == [2, 3]


def test_boundaries_errors(tmp_path, tiny_files):
    from safetygap.boundaries import load_boundaries

    with pytest.raises(ValidationError, match="file not found"):
        load_boundaries(tmp_path / "none.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "x"},
         "geometry": {"type": "Point", "coordinates": [0, 0]}},
        {"type": "Feature", "properties": {"name": "x"},
         "geometry": {"type": "Point", "coordinates": [1, 0]}},
    ]}))
    with pytest.raises(ValidationError) as err:
        load_boundaries(bad, layer="neighborhoods", id_column="name")
    text = str(err.value)
    assert "not a polygon" in text and "duplicate area id" in text


def test_self_intersecting_polygon_is_repaired(tmp_path):
    from safetygap.boundaries import load_boundaries

    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    p = tmp_path / "b.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "bow"}, "geometry": bowtie}]}))
    with pytest.warns(UserWarning, match="repaired 1 invalid"), \
            pytest.warns(UserWarning, match="no id column found"):
        gdf, report = load_boundaries(p)
    assert gdf.geometry.is_valid.all() and report.repaired == ["1"]  # no id column: row number
    # area in squared degrees of the unprojected test shape (two triangles of 0.25)
    assert gdf.geometry.values[0].area == pytest.approx(0.5)


def test_pipeline_counts_missing_and_invalid_coordinates(tmp_path, tiny_files):
    df = pd.read_csv(tiny_files["calls"], dtype=str)
    df.loc[1, "latitude"] = None
    df.loc[2, "longitude"] = "east"
    df.to_csv(tiny_files["calls"], index=False)
    a = analyze(AnalysisInputs(**tiny_files), options=AnalysisOptions(columns=GENERIC,
                                                                      accept_undated=True))
    counts = a.quality["calls"]["status_counts"]
    assert counts["missing_coordinates"] == 1 and counts["invalid_coordinates"] == 1
    assert sum(counts.values()) == len(df)
    assert len(a.calls) == len(df)  # nothing dropped from calls.parquet


def test_population_names_matched_with_aliases(tiny_files):
    a = analyze(AnalysisInputs(**tiny_files), options=AnalysisOptions(columns=GENERIC,
                                                                      accept_undated=True))
    pop = a.quality["population"]
    assert pop["unmatched_rows"] == [] and pop["areas_without_population"] == []
    assert pop["matched_by_alias_or_folding"] == {"alpha": "Alpha", "BRAVO": "Bravo"}


def test_no_population_gives_nan_rates_not_errors(tiny_files):
    files = dict(tiny_files, population=None)
    a = analyze(AnalysisInputs(**files), options=AnalysisOptions(columns=GENERIC,
                                                                 accept_undated=True))
    assert a.neighborhoods["rate_total"].isna().all()
    assert a.neighborhoods["calls_total"].sum() == 8
    assert len(a.quality["population"]["areas_without_population"]) == 4


def test_time_from_date_and_time_columns(tmp_path):
    """The reduced incidents preset joins `date` (MM/DD/YYYY) and `time` (HH:MM:SS)."""
    records = [
        {"date": "04/24/2021", "time": "12:54:00", "centerLong": -93.3, "centerLat": 45.0,
         "description": "AUTOMOBILE THEFT"},
        {"date": "12/31/2019", "time": "18:16:00", "centerLong": 0, "centerLat": 0,
         "description": "OTHER THEFT"},
        {"date": "13/01/2021", "time": "01:00:00", "centerLong": -93.2, "centerLat": 44.9,
         "description": "OTHER THEFT"},
        {"date": "01/02/2021", "time": None, "centerLong": -93.2, "centerLat": 44.9,
         "description": "OTHER THEFT"},
    ]
    p = tmp_path / "incidents.json"
    p.write_text(json.dumps(records))
    c = read_calls(p, columns=load_preset("minneapolis-incidents-reduced"))
    times = c.frame["time"]
    assert times.iloc[0] == pd.Timestamp("2021-04-24 12:54:00")
    assert times.iloc[1] == pd.Timestamp("2019-12-31 18:16:00")
    assert times.iloc[2:].isna().all()
    assert list(c.frame["coord_fault"]) == [0, 3, 0, 0]
    assert c.frame["call_id"].isna().all()
    assert (c.frame["agency"] == "POLICE").all()
    ex = c.examples["unparseable_date"]
    assert ex[0] == {"row": 3, "id": None, "column": "date+time", "value": "13/01/2021 01:00:00"}
    assert ex[1]["row"] == 4 and ex[1]["value"] is None


def test_date_column_missing_is_named(tmp_path):
    p = tmp_path / "incidents.json"
    p.write_text(json.dumps([{"when": "01/02/2021", "time": "01:00:00", "centerLong": -93.2,
                              "centerLat": 44.9, "description": "OTHER THEFT"}]))
    with pytest.raises(ValidationError) as err:
        read_calls(p, columns=load_preset("minneapolis-incidents-reduced"))
    assert "'date'" in str(err.value) and "incidents.json" in str(err.value)


def test_boundaries_from_geoparquet(tmp_path, tiny_areas):
    """GeoParquet boundaries (what `safetygap fetch` writes) read like any vector file."""
    from safetygap.boundaries import load_boundaries

    nbhd, _ = tiny_areas
    p = tmp_path / "nbhd.parquet"
    nbhd.rename(columns={"area_id": "BDNUM", "name": "BDNAME"}).to_parquet(p)
    gdf, report = load_boundaries(p, layer="neighborhoods")
    assert list(gdf["area_id"]) == ["A", "B", "C", "D"]
    assert list(gdf["name"]) == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert gdf.crs.to_epsg() == 26915 and report.n_areas == 4
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(ValidationError, match=r"bad\.parquet"):
        load_boundaries(bad, layer="wards")
