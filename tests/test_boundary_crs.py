"""A declared CRS for boundary files that carry none (neighborhoods, wards, the
demographics' tract polygons, the finer population layer); a contradiction is an error
(issue 21, item 5)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from conftest import CRS, X0, Y0, make_tiny_areas, sq
from test_equity_pipeline import LAYOUT as BY_NAME

from safetygap.boundaries import load_boundaries
from safetygap.cli._app import cli_message
from safetygap.errors import ValidationError


def _shapefile_without_prj(tmp_path, crs="EPSG:26915"):
    nbhd, _ = make_tiny_areas()
    p = tmp_path / "nbhd.shp"
    nbhd.to_crs(crs).to_file(p)
    p.with_suffix(".prj").unlink()
    return p, nbhd


def test_a_file_without_crs_names_the_option_to_declare_it(tmp_path):
    p, _ = _shapefile_without_prj(tmp_path)
    with pytest.raises(ValidationError) as err:
        load_boundaries(p, layer="neighborhoods")
    assert "no CRS" in str(err.value) and "option `neighborhoods_crs` EPSG:n" in str(err.value)
    assert "--neighborhoods-crs EPSG:n" in cli_message(str(err.value))  # the CLI's flag
    with pytest.raises(ValidationError, match="option `wards_crs` EPSG:n"):
        load_boundaries(p, layer="wards")


def test_a_declared_crs_is_taken_for_a_file_without_one(tmp_path):
    p, nbhd = _shapefile_without_prj(tmp_path)
    gdf, report = load_boundaries(p, layer="neighborhoods", crs="EPSG:26915")
    assert gdf.crs.to_epsg() == 26915 and report.crs_source == "declared"
    assert report.to_dict()["crs_source"] == "declared"
    # the coordinates are the file's, not reprojected
    assert gdf.geometry.bounds.round(3).values.tolist() == \
        nbhd.geometry.bounds.round(3).values.tolist()


def test_a_declared_crs_contradicting_the_file_is_an_error(tmp_path):
    nbhd, _ = make_tiny_areas()
    p = tmp_path / "nbhd.gpkg"
    nbhd.to_file(p)  # EPSG:26915
    with pytest.raises(ValidationError) as err:
        load_boundaries(p, layer="neighborhoods", crs="EPSG:4326")
    text = str(err.value)
    assert "option `neighborhoods_crs` EPSG:4326" in text and "contradicts" in text
    assert "EPSG:26915" in text
    _, report = load_boundaries(p, layer="neighborhoods", crs="EPSG:26915")
    assert report.crs_source == "file, as declared"


def test_an_esri_prj_agrees_with_its_epsg_code(tmp_path):
    p = tmp_path / "sp.shp"
    make_tiny_areas()[0].to_crs("EPSG:2276").to_file(p)  # .prj in ESRI WKT
    _, report = load_boundaries(p, layer="wards", crs="EPSG:2276")
    assert report.crs_source == "file, as declared"
    with pytest.raises(ValidationError, match="contradicts"):
        load_boundaries(p, layer="wards", crs="EPSG:2277")


def test_an_unknown_declared_crs_is_named(tmp_path):
    p, _ = _shapefile_without_prj(tmp_path)
    with pytest.raises(ValidationError, match=r"unknown CRS.*EPSG:99999999"):
        load_boundaries(p, layer="neighborhoods", crs="EPSG:99999999")


# ------------------------------------------- the demographics' tracts and the finer layer

LAYOUT = BY_NAME.replace('column = "area"\nby = "name"', 'by = "geometry"')
"""The tiny city's children layout, interpolated from tract polygons."""


def _tracts(tmp_path: Path, *, prj: bool) -> tuple[Path, Path]:
    """Two tracts over the tiny city (EPSG:26915), as a shapefile with or without .prj."""
    tracts = gpd.GeoDataFrame(
        {"pop": [7000, 3000], "pop_moe": [300, 200], "kids": [700, 300],
         "kids_moe": [60, 40]},
        geometry=[sq(0, 0, 1500, 2000), sq(1500, 0, 2000, 2000)], crs=CRS)
    p = tmp_path / "tracts.shp"
    tracts.to_file(p)
    if not prj:
        p.with_suffix(".prj").unlink()
    layout = tmp_path / "tracts.toml"
    layout.write_text(LAYOUT, encoding="utf-8")
    return p, layout


def _run(tiny_files, **kw):
    from safetygap.inputs import load_preset
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze

    files = {k: kw.pop(k) for k in ("demographics", "demographics_mapping",
                                    "fine_population") if k in kw}
    return analyze(AnalysisInputs(**tiny_files, **files), options=AnalysisOptions(
        columns=load_preset("generic"), accept_undated=True, equity_draws=100, **kw))


def test_tracts_without_crs_are_refused_naming_the_option(tiny_files, tmp_path):
    tracts, layout = _tracts(tmp_path, prj=False)
    with pytest.raises(ValidationError) as err:  # was a ValueError from to_crs
        _run(tiny_files, demographics=tracts, demographics_mapping=layout)
    text = str(err.value)
    assert "tracts.shp" in text and "no CRS" in text
    assert "option `demographics_crs` EPSG:n" in text
    assert "--demographics-crs EPSG:n" in cli_message(text)


def test_tracts_take_a_declared_crs(tiny_files, tmp_path):
    tracts, layout = _tracts(tmp_path, prj=False)
    a = _run(tiny_files, demographics=tracts, demographics_mapping=layout,
             demographics_crs="EPSG:26915")
    n = a.neighborhoods.set_index("name")
    # by hand: A is a third of tract 1; B a sixth of tract 1 and half of tract 2
    assert n.loc["Alpha", "group_count_kids"] == pytest.approx(700 / 3, rel=1e-6)
    assert n.loc["Bravo", "group_count_kids"] == pytest.approx(700 / 6 + 150, rel=1e-6)
    q = a.quality["demographics"]
    assert (q["crs_source"], q["crs"]) == ("declared", "EPSG:26915")


def test_a_tract_crs_contradicting_the_file_is_an_error(tiny_files, tmp_path):
    tracts, layout = _tracts(tmp_path, prj=True)
    with pytest.raises(ValidationError) as err:
        _run(tiny_files, demographics=tracts, demographics_mapping=layout,
             demographics_crs="EPSG:4269")
    text = str(err.value)
    assert "option `demographics_crs` EPSG:4269" in text and "contradicts" in text
    assert "EPSG:26915" in text
    a = _run(tiny_files, demographics=tracts, demographics_mapping=layout,
             demographics_crs="EPSG:26915")
    assert a.quality["demographics"]["crs_source"] == "file, as declared"


def test_a_table_by_name_refuses_a_declared_crs(tmp_path):
    from safetygap.inputs.demographics import read_demographics

    table = tmp_path / "acs.csv"
    table.write_text("area,pop,pop_moe,kids,kids_moe\nAlpha,10,1,2,1\n")
    layout = tmp_path / "by_name.toml"
    layout.write_text(BY_NAME)
    with pytest.raises(ValidationError, match=r"option `demographics_crs`.*by name"):
        read_demographics(table, mapping=layout, crs="EPSG:4326")


def test_the_finer_layer_takes_a_declared_crs(tiny_files, tmp_path):
    from shapely.geometry import Point

    tracts, layout = _tracts(tmp_path, prj=True)
    # tract 1's residents: 10 in A, 30 in B (left half), 60 in C; tract 2's all in D
    pts = gpd.GeoDataFrame({"residents": [10, 30, 60, 5]}, geometry=[
        Point(X0 + 500, Y0 + 500), Point(X0 + 1200, Y0 + 500), Point(X0 + 500, Y0 + 1500),
        Point(X0 + 1800, Y0 + 1800)], crs=CRS)
    points = tmp_path / "points.shp"
    pts.to_file(points)
    points.with_suffix(".prj").unlink()
    kw = {"demographics": tracts, "demographics_mapping": layout,
          "fine_population": points, "fine_population_column": "residents"}
    with pytest.raises(ValidationError, match="option `fine_population_crs` EPSG:n"):
        _run(tiny_files, **kw)
    a = _run(tiny_files, **kw, fine_population_crs="EPSG:26915")
    n = a.neighborhoods.set_index("name")
    # by hand: kids of tract 1 (700) split 10:30:60 over A, B, C; tract 2's 300 to D
    assert n["group_count_kids"].tolist() == pytest.approx([70, 210, 420, 300])
    fine = a.quality["demographics"]["finer_population"]
    assert (fine["crs_source"], fine["crs"]) == ("declared", "EPSG:26915")
