"""A declared CRS for boundary files that carry none; a contradiction is an error (issue
21, item 5)."""

from __future__ import annotations

import pytest
from conftest import make_tiny_areas

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
