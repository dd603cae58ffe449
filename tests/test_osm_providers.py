"""`safetygap providers osm`: the tag mapping on a recorded Overpass answer
(tests/data/overpass_features.json, hand-made), served from 127.0.0.1; never the internet."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _osm_server import PLACE_POLYGON, FakeOSM
from shapely.geometry import shape

from safetygap.errors import ValidationError
from safetygap.inventory.osm import load_tag_rules, overpass_tags
from safetygap.taxonomy import load_taxonomy

ANSWER = Path(__file__).parent / "data" / "overpass_features.json"


@pytest.fixture
def overpass():
    fake = FakeOSM(answer=json.loads(ANSWER.read_text())).start()
    yield fake
    fake.stop()


def _run(tmp_path, overpass, *extra):
    from typer.testing import CliRunner

    from safetygap.cli import app

    gpd.GeoDataFrame(geometry=[shape(PLACE_POLYGON)], crs="EPSG:4326").to_file(
        tmp_path / "boundary.geojson")
    out = tmp_path / "osm.csv"
    res = CliRunner().invoke(app, ["providers", "osm", "--boundary",
                                   str(tmp_path / "boundary.geojson"), "--out", str(out),
                                   "--overpass-url", overpass.overpass_url, *extra])
    return res, out


def test_tag_mapping_on_the_recorded_answer(tmp_path, overpass):
    res, out = _run(tmp_path, overpass)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("osm_id")
    # by hand from the fixture: the senior home matches no rule, the far centre is outside
    assert got["service_type"].to_dict() == {
        "node/1001": "community_center", "node/1002": "youth_program",
        "node/1003": "victim_services", "node/1004": "community_center",
        "node/1006": "reentry", "way/2001": "youth_program"}
    p = got.loc["node/1001"]
    assert p["opening_hours"] == "Mo-Fr 09:00-21:00; Sa 10:00-16:00"
    assert p["address"] == "2323 11th Avenue South, Minneapolis"
    assert (p["last_verified"], p["source"], p["provider_id"]) == ("2024-05-02", "osm",
                                                                   "osm:node/1001")
    assert p["organisation"] == "Minneapolis Park and Recreation Board"
    assert json.loads(p["osm_tags"])["phone"] == "+1 612 555 0101"
    assert got.loc["node/1003", "phone"] == "612-555-0133"
    assert got.loc["node/1003", "eligibility"] == "abused"
    assert "1 features matched no rule" in res.output
    # the way's polygon is placed inside it (the square -400..-300 m E, 300..400 m N)
    from _osm_server import _ll
    (w_lon, s_lat), (e_lon, n_lat) = _ll(-400, 300), _ll(-300, 400)
    assert w_lon < float(got.loc["way/2001", "longitude"]) < e_lon
    assert s_lat < float(got.loc["way/2001", "latitude"]) < n_lat
    # Overpass was asked once, for the mapping's first tags
    posts = [r for r in overpass.requests if r[0] == "POST"]
    assert len(posts) == 1 and "social_facility" in posts[0][2]["data"][0]
    # the output is a provider file the analysis reads
    from safetygap.inputs import read_providers

    assert len(read_providers(out, taxonomy=load_taxonomy()).frame) == 6


def test_edited_mapping_file(tmp_path, overpass):
    rules = tmp_path / "tags.toml"
    rules.write_text('[[rule]]\nservice_type = "victim_services"\ncapacity = 2\n'
                     'capacity_unit = "staff FTE"\n'
                     'tags = { amenity = "social_facility", "social_facility:for" = "*" }\n')
    res, out = _run(tmp_path, overpass, "--tags", str(rules))
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, dtype=str).set_index("osm_id")
    assert sorted(got.index) == ["node/1002", "node/1003", "node/1005", "node/1006"]
    assert set(got["capacity_unit"]) == {"staff FTE"} and set(got["capacity"]) == {"2.0"}


def test_bad_mapping_names_every_rule():
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write('[[rule]]\nservice_type = "spa"\ntags = { amenity = "spa" }\n'
                '[[rule]]\nservice_type = "reentry"\ncolour = "red"\n')
    with pytest.raises(ValidationError) as err:
        load_tag_rules(f.name, taxonomy=load_taxonomy())
    text = str(err.value)
    assert "rule 1" in text and "'spa'" in text and "rule 2" in text and "'colour'" in text


def test_packaged_mapping_query():
    tags = overpass_tags(load_tag_rules(None, taxonomy=load_taxonomy()))
    assert tags == {"amenity": ["community_centre", "library", "social_facility",
                                "youth_centre"], "leisure": ["youth_centre"]}


def _export_geojson(path: Path) -> None:
    """The recorded answer as Overpass turbo / osmtogeojson export it: one feature per
    tagged element, id ``node/1001``, the tags as properties, the way as its polygon."""
    elements = json.loads(ANSWER.read_text())["elements"]
    nodes = {e["id"]: (e["lon"], e["lat"]) for e in elements if e["type"] == "node"}
    feats = []
    for e in elements:
        if not e.get("tags"):
            continue
        geom = ({"type": "Point", "coordinates": list(nodes[e["id"]])} if e["type"] == "node"
                else {"type": "Polygon", "coordinates": [[list(nodes[n]) for n in e["nodes"]]]})
        oid = f"{e['type']}/{e['id']}"
        feats.append({"type": "Feature", "id": oid, "geometry": geom,
                      "properties": {"@id": oid, **e["tags"]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))


def test_saved_features_offline(tmp_path):
    """`--features FILE`: the same mapping as from Overpass, with no server at all."""
    from typer.testing import CliRunner

    from safetygap.cli import app

    _export_geojson(tmp_path / "export.geojson")
    gpd.GeoDataFrame(geometry=[shape(PLACE_POLYGON)], crs="EPSG:4326").to_file(
        tmp_path / "boundary.geojson")
    out = tmp_path / "osm.csv"
    res = CliRunner().invoke(app, ["providers", "osm", "--features",
                                   str(tmp_path / "export.geojson"), "--boundary",
                                   str(tmp_path / "boundary.geojson"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("osm_id")
    assert got["service_type"].to_dict() == {
        "node/1001": "community_center", "node/1002": "youth_program",
        "node/1003": "victim_services", "node/1004": "community_center",
        "node/1006": "reentry", "way/2001": "youth_program"}
    assert got.loc["node/1001", "opening_hours"] == "Mo-Fr 09:00-21:00; Sa 10:00-16:00"
    assert "1 features matched no rule" in res.output  # the elder home
    # without the boundary the far centre (outside it) is kept too
    res = CliRunner().invoke(app, ["providers", "osm", "--features",
                                   str(tmp_path / "export.geojson"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "node/1007" in set(pd.read_csv(out, dtype=str)["osm_id"])
    res = CliRunner().invoke(app, ["providers", "osm", "--out", str(out)])
    assert res.exit_code != 0 and "--features FILE" in res.output


def test_features_written_by_osmnx_layout(tmp_path):
    """OSMnx features saved with to_file: ``element`` and ``id`` columns."""
    from safetygap.inventory.osm import map_features, read_features

    _export_geojson(tmp_path / "export.geojson")
    feats = gpd.read_file(tmp_path / "export.geojson")
    feats[["element", "id"]] = feats["@id"].str.split("/", expand=True)
    feats = feats.drop(columns="@id")
    feats.to_file(tmp_path / "features.gpkg")
    frame, report = map_features(read_features(tmp_path / "features.gpkg"),
                                 load_tag_rules(None, taxonomy=load_taxonomy()))
    assert sorted(frame["osm_id"]) == ["node/1001", "node/1002", "node/1003", "node/1004",
                                       "node/1006", "node/1007", "way/2001"]
    assert report["unmatched"] == 1
    feats.loc[0, "element"] = "point"
    feats.to_file(tmp_path / "bad.gpkg")
    with pytest.raises(ValidationError, match="feature 1: no OSM element id"):
        read_features(tmp_path / "bad.gpkg")
