"""The GeoPackage of a workspace: every published layer, read back with pyogrio; the map's
classes and colours in a layer_styles table that parses as QML and SLD."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from safetygap.cli import app as cli_app
from safetygap.maps.gpkg import public_quality
from safetygap.maps.style import FAMILY_STYLE, NO_VALUE_COLOR, NOT_RANKED_COLOR, class_color

SLD = "{http://www.opengis.net/sld}"
OGC = "{http://www.opengis.net/ogc}"


@pytest.fixture(scope="module")
def gpkg(demo_client, tmp_path_factory) -> Path:
    r = demo_client.get("/api/export.gpkg")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geopackage+sqlite3"
    assert r.headers["content-disposition"].endswith('.gpkg"')
    path = tmp_path_factory.mktemp("gpkg") / "export.gpkg"
    path.write_bytes(r.content)
    return path


def _hex(rgba: str) -> str:
    r, g, b, _ = (int(v) for v in rgba.split(","))
    return f"#{r:02x}{g:02x}{b:02x}"


def test_every_layer_read_back_equals_the_api(gpkg, demo_client):
    layers = dict(pyogrio.list_layers(gpkg))
    assert layers == {"neighborhoods": "Polygon", "wards": "Polygon", "providers": "Point",
                      "hexbins": "Polygon", "sites": "Point", "summary": None,
                      "quality": None, "layer_styles": None}
    for layer in ("neighborhoods", "wards", "providers", "hexbins", "sites"):
        frame = pyogrio.read_dataframe(gpkg, layer=layer)
        ogc = demo_client.get(f"/ogc/collections/{layer}/items",
                              params={"limit": 10_000}).json()
        assert len(frame) == ogc["numberMatched"] > 0, layer
        assert frame.crs.to_epsg() == 4326
        assert list(frame["feature_id"]) == [f["id"] for f in ogc["features"]]
        for col in ("name", "calls_response", "gap_class_prevention", "calls"):
            if col in frame.columns:
                want = [f["properties"].get(col) for f in ogc["features"]]
                got = [None if v != v else v for v in frame[col].tolist()]  # NaN -> None
                assert got == want, (layer, col)
    info = pyogrio.read_info(gpkg, layer="neighborhoods")
    assert info["geometry_name"] == "geom"


def test_summary_and_quality_tables_are_the_public_ones(gpkg, demo_client, demo_workspace):
    summary = pyogrio.read_dataframe(gpkg, layer="summary")
    api = demo_client.get("/api/summary").json()
    rows = dict(zip(summary["key"], summary["value"], strict=True))
    assert json.loads(rows["totals.input_rows"]) == api["totals"]["input_rows"]

    def leaves(d, prefix=""):
        if isinstance(d, dict) and d:
            for k, v in d.items():
                yield from leaves(v, f"{prefix}.{k}" if prefix else k)
        else:
            yield prefix, d

    assert {k: json.loads(v) for k, v in rows.items()} == dict(leaves(api))
    quality = pyogrio.read_dataframe(gpkg, layer="quality")
    raw = json.loads((demo_workspace / "quality.json").read_text())
    assert dict(zip(quality["key"], quality["value"], strict=True)) == dict(public_quality(raw))
    assert json.loads(dict(zip(quality["key"], quality["value"], strict=True))
                      ["calls.input_rows"]) == raw["calls"]["input_rows"]
    text = " ".join(quality["key"]) + " ".join(quality["value"])
    assert "examples" not in text and str(demo_workspace.parent) not in text
    assert not any("/" in v for v in quality["value"])  # no file path


def test_styles_parse_and_carry_the_map_classes(gpkg, demo_client):
    styles = pyogrio.read_dataframe(gpkg, layer="layer_styles")
    assert set(styles["f_table_name"]) == {"neighborhoods", "wards", "providers", "hexbins",
                                           "sites"}
    assert (styles["f_geometry_column"] == "geom").all()
    defaults = styles[styles["useAsDefault"].astype(bool)]
    assert sorted(defaults["f_table_name"]) == sorted(set(styles["f_table_name"]))
    layer = demo_client.get("/api/neighborhoods").json()
    for fam in ("response", "prevention", "restoration"):
        # the need/access classes (the map's), then the secondary gap-index classes
        for kind, attr, key, extra_color in (
                ("need and access", f"class_{fam}", "class", NOT_RANKED_COLOR),
                ("gap class (secondary)", f"gap_class_{fam}", "gap_class", NO_VALUE_COLOR)):
            row = styles[(styles["f_table_name"] == "neighborhoods")
                         & styles["styleName"].str.startswith(kind)
                         & styles["styleName"].str.endswith(fam)].iloc[0]
            qml = ET.fromstring(row["styleQML"].split(">", 1)[1])  # after the DOCTYPE
            renderer = qml.find("renderer-v2")
            assert renderer.get("attr") == attr
            cats = renderer.findall("categories/category")
            want = [c for c in layer["need_access" if key == "class" else "classes"][fam]
                    if c[key] > 0]
            colors_want = ([c["color"] for c in want] if key == "class" else
                           [class_color(c["gap_class"], len(want)) for c in want])
            assert [c.get("value") for c in cats] == [str(c[key]) for c in want] + ["0"]
            colors = {s.get("name"): _hex(s.find("layer/Option/Option[@name='color']")
                                          .get("value"))
                      for s in renderer.findall("symbols/symbol")}
            assert [colors[c.get("symbol")] for c in cats] == [*colors_want, extra_color]
            sld = ET.fromstring(row["styleSLD"])
            rules = sld.findall(f".//{SLD}Rule")
            assert [r.find(f".//{OGC}Literal").text for r in rules] == \
                [str(c[key]) for c in want] + ["0"]
            assert [r.find(f".//{SLD}CssParameter[@name='fill']").text for r in rules] == \
                [*colors_want, extra_color]
    prov = styles[styles["f_table_name"] == "providers"].iloc[0]
    renderer = ET.fromstring(prov["styleQML"].split(">", 1)[1]).find("renderer-v2")
    assert [c.get("value") for c in renderer.findall("categories/category")] == \
        ["response", "prevention", "restoration"]
    shapes = [s.find("layer/Option/Option[@name='name']").get("value")
              for s in renderer.findall("symbols/symbol")]
    assert len(set(shapes)) == 3  # a shape per family, not colour alone
    assert [_hex(s.find("layer/Option/Option[@name='color']").get("value"))
            for s in renderer.findall("symbols/symbol")] == \
        [FAMILY_STYLE[f]["color"] for f in ("response", "prevention", "restoration")]


def test_cli_export_writes_the_same_layers(demo_workspace, tmp_path):
    out = tmp_path / "ws.gpkg"
    result = CliRunner().invoke(cli_app, ["export", str(demo_workspace), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "GeoPackage written" in result.output
    layers = dict(pyogrio.list_layers(out))
    assert {"neighborhoods", "wards", "providers", "hexbins", "sites", "layer_styles"} <= \
        set(layers)
    assert len(pyogrio.read_dataframe(out, layer="neighborhoods")) == 80
    bad = CliRunner().invoke(cli_app, ["export", str(demo_workspace), "--out",
                                       str(tmp_path / "x.shp")])
    assert bad.exit_code != 0 and ".gpkg" in bad.output
