"""Method settings: defaults, validation naming every bad value, NAME=VALUE pairs, the
command line, the manifest round trip."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.errors import ValidationError
from safetygap.methods import DESCRIPTIONS, Methods


def test_defaults_are_the_documented_ones():
    m = Methods()
    assert (m.demand, m.demand_cell_m, m.kernel, m.gap_days, m.confidence) == (
        "grid", 200.0, "dai", 7, 0.95)
    assert (m.min_population, m.nonresident_ratio, m.bootstrap, m.top) == (500, 2.5, 200, 10)
    assert (m.uncertain_below, m.hotspot_permutations, m.fdr_alpha) == (0.8, 999, 0.05)
    assert set(DESCRIPTIONS) == set(m.to_dict())  # every setting is described
    assert Methods.from_dict(m.to_dict()) == m
    assert Methods.from_dict({"kernel": "truncated_gaussian", "later": 1}).kernel == \
        "truncated_gaussian"


def test_every_bad_value_in_one_error():
    bad = Methods(demand="hexagons", kernel="box", gap_days=-1, confidence=1.0,
                  bootstrap=2.5, demand_cell_m=0)
    with pytest.raises(ValidationError) as err:
        bad.problems().raise_if_any()
    text = str(err.value)
    for name in ("demand", "kernel", "gap_days", "confidence", "bootstrap", "demand_cell_m"):
        assert name in text
    assert "dai" in text and "centroid" in text  # the allowed values are named


def test_pairs():
    m = Methods().with_pairs(["gap_days=14", "nonresident-ratio=3", "kernel=truncated_gaussian"])
    assert (m.gap_days, m.nonresident_ratio, m.kernel) == (14, 3.0, "truncated_gaussian")
    with pytest.raises(ValidationError, match="NAME=VALUE"):
        Methods().with_pairs(["nonsense"])
    with pytest.raises(ValidationError, match="gap_days needs a number"):
        Methods().with_pairs(["gap_days=soon"])


def test_command_line_methods(tiny_files, tmp_path):
    args = ["analyze", "--calls", str(tiny_files["calls"]),
            "--providers", str(tiny_files["providers"]),
            "--neighborhoods", str(tiny_files["neighborhoods"]),
            "--wards", str(tiny_files["wards"]),
            "--population", str(tiny_files["population"]), "--preset", "generic",
            "--accept-undated", "--quiet"]
    runner = CliRunner()
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "ws"), "--kernel",
                            "truncated_gaussian", "--demand", "centroid", "--bootstrap", "0",
                            "--method", "gap_days=400", "--method", "hotspot_permutations=0"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "ws" / "manifest.json").read_text())
    got = manifest["options"]["methods"]
    assert (got["kernel"], got["demand"], got["bootstrap"], got["gap_days"]) == (
        "truncated_gaussian", "centroid", 0, 400)
    assert not (tmp_path / "ws" / "bootstrap.parquet").exists()
    bad = runner.invoke(app, [*args, "--out", str(tmp_path / "bad"), "--kernel", "box",
                              "--method", "confidence=2"])
    assert bad.exit_code == 2
    assert "kernel" in bad.output and "confidence" in bad.output


def test_placeless_provider_without_coordinates(tiny_files, tmp_path):
    """A 311 line (service type online_311, placeless) listed without coordinates: read,
    listed among the placeless services, left out of coverage and access (the layers equal
    the run without it), and the API's provider layer and GeoPackage still answer."""
    from dataclasses import replace

    import geopandas as gpd
    import pandas as pd

    from safetygap.pipeline import AnalysisInputs
    from safetygap.run import run_analysis
    from tests.conftest import app_client, tiny_options

    prov = gpd.read_file(tiny_files["providers"])
    rows = pd.DataFrame({"provider_id": prov["provider_id"], "name": prov["name"],
                         "service_type": prov["service_type"], "capacity": prov["capacity"],
                         "x": prov.geometry.x, "y": prov.geometry.y})
    line = pd.DataFrame([{"provider_id": "L1", "name": "311 line",
                          "service_type": "online_311", "capacity": 5.0}])
    opts = replace(tiny_options(bootstrap=0, hotspot_permutations=0),
                   providers_crs="EPSG:26915")
    out = {}
    for name, frame in (("without", rows), ("with", pd.concat([rows, line]))):
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        out[name] = run_analysis(AnalysisInputs(**(tiny_files | {"providers": path})),
                                 tmp_path / name, options=opts, quiet=True)
    listed = out["with"].summary["placeless_services"]["providers"]
    assert [p["provider_id"] for p in listed] == ["L1"]
    cols = [c for c in out["without"].neighborhoods.columns
            if c.startswith(("coverage_", "access_", "reach_", "providers_", "capacity_"))]
    pd.testing.assert_frame_equal(out["with"].neighborhoods[cols],
                                  out["without"].neighborhoods[cols])
    with app_client(tmp_path / "with") as c:
        ids = [f["id"] for f in c.get("/api/providers").json()["features"]]
        assert "L1" not in ids and len(ids) == 3
        assert c.get("/api/export.gpkg").status_code == 200
