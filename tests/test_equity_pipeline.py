"""Demographics through the pipeline on the tiny city: layer columns, ward apportioning,
mean access, tract polygons interpolated, and the messages for a table it cannot read."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from safetygap.errors import ValidationError
from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze
from tests.conftest import CRS, sq

LAYOUT = """
name = "tiny"
source = "hand-made"
[key]
column = "area"
by = "name"
[universes.persons]
label = "residents"
count = "pop"
moe = "pop_moe"
[groups.kids]
label = "children"
universe = "persons"
count = "kids"
moe = "kids_moe"
"""
# A, B, C, D: population 1000..4000 (the tiny city's); children and their MOEs by hand
TABLE = pd.DataFrame({"area": ["Alpha", "Bravo", "Charlie", "Delta"],
                      "pop": [1000, 2000, 3000, 4000], "pop_moe": [100, 120, 150, 200],
                      "kids": [100, 600, 300, 400], "kids_moe": [30, 60, 50, 40]})


def run(tiny_files, tmp_path, table=TABLE, layout=LAYOUT, **extra):
    table_path = tmp_path / "demo.csv"
    table.to_csv(table_path, index=False)
    layout_path = tmp_path / "layout.toml"
    layout_path.write_text(layout, encoding="utf-8")
    inputs = AnalysisInputs(**tiny_files, demographics=table_path,
                            demographics_mapping=layout_path, **extra)
    return analyze(inputs, options=AnalysisOptions(columns=load_preset("generic"),
                                                   accept_undated=True, equity_draws=200))


def test_layer_columns_and_ward_apportioning_by_hand(tiny_files, tmp_path):
    a = run(tiny_files, tmp_path)
    n = a.neighborhoods.set_index("name")
    assert n.loc["Bravo", "group_share_kids"] == pytest.approx(0.3)
    moe_b = math.sqrt(60**2 - 0.3**2 * 120**2) / 2000
    assert n.loc["Bravo", "group_share_moe_kids"] == pytest.approx(moe_b)
    assert n.loc["Bravo", "group_share_cv_kids"] == pytest.approx(moe_b / 1.645 / 0.3)
    # CV of Alpha's share: sqrt(30^2 - 0.1^2 100^2) / 1000 / 1.645 / 0.1 = 17%: caution
    assert n["group_reliability_kids"].tolist() == ["caution", "reliable", "reliable",
                                                    "reliable"]
    strict = analyze(AnalysisInputs(**tiny_files, demographics=tmp_path / "demo.csv",
                                    demographics_mapping=tmp_path / "layout.toml"),
                     options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                                             equity_draws=100,
                                             cv_caution=0.05, cv_unreliable=0.15))
    assert strict.neighborhoods["group_reliability_kids"].tolist() == [
        "unreliable", "reliable", "caution", "caution"]  # CVs 17%, 4.9%, 9.7%, 5.3%
    # ward 1 = A + C + half of B + half of D (the crosswalk's area shares)
    w1 = a.wards.set_index("area_id").loc["1"]
    assert w1["group_count_kids"] == pytest.approx(100 + 300 + 300 + 200)
    assert w1["group_count_moe_kids"] == pytest.approx(
        math.sqrt(30**2 + 50**2 + 30**2 + 20**2))
    assert w1["universe_persons"] == pytest.approx(1000 + 3000 + 1000 + 2000)
    # equity.json: the city's total and the children's population-weighted mean access
    city = a.equity["city"]["groups"]["kids"]
    assert city["total"]["share"] == pytest.approx(1400 / 10_000)
    assert city["total"]["group_moe"] == pytest.approx(math.sqrt(30**2 + 60**2 + 50**2 + 40**2))
    acc = n["access_prevention"].to_numpy(float)
    kids = TABLE["kids"].to_numpy(float)
    ok = np.isfinite(acc)
    assert city["mean_access"]["prevention"]["group"]["estimate"] == pytest.approx(
        (kids[ok] * acc[ok]).sum() / kids[ok].sum())
    # the analysis' own need/access classes feed the disparity; the tiny city under the
    # default methods has no area of high need and low access, so no one lives in one
    assert a.equity["disparity_available"] is True
    assert city["disparity"]["prevention"]["underserved_areas"] == 0
    assert city["disparity"]["prevention"]["share_group"]["estimate"] == 0
    assert a.quality["demographics"]["areas_without_data"] == []
    assert a.manifest["inputs"]["demographics"]["sha256"]


def test_tract_polygons_are_interpolated_through_the_pipeline(tiny_files, tmp_path):
    layout = LAYOUT.replace('column = "area"\nby = "name"', 'by = "geometry"')
    tracts = gpd.GeoDataFrame(
        {"pop": [7000, 3000], "pop_moe": [300, 200], "kids": [700, 300],
         "kids_moe": [60, 40]},
        geometry=[sq(0, 0, 1500, 2000), sq(1500, 0, 2000, 2000)], crs=CRS).to_crs(4326)
    path = tmp_path / "tracts.gpkg"
    tracts.to_file(path)
    layout_path = tmp_path / "tracts.toml"
    layout_path.write_text(layout, encoding="utf-8")
    a = analyze(AnalysisInputs(**tiny_files, demographics=path,
                               demographics_mapping=layout_path),
                options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                                        equity_draws=100))
    n = a.neighborhoods.set_index("name")
    # A gets a third of tract 1, B a sixth of tract 1 and half of tract 2
    assert n.loc["Alpha", "group_count_kids"] == pytest.approx(700 / 3, rel=1e-6)
    assert n.loc["Bravo", "group_count_kids"] == pytest.approx(700 / 6 + 150, rel=1e-6)
    assert n["universe_persons"].sum() == pytest.approx(10_000, rel=1e-6)
    q = a.quality["demographics"]
    assert q["method"] == "area-weighted" and q["sources"] == 2
    assert q["sources_partly_outside"] == 0


def test_unknown_table_is_one_error_naming_file_and_columns(tiny_files, tmp_path):
    bad = tmp_path / "weird.csv"
    pd.DataFrame({"hood": ["Alpha"], "people": [5]}).to_csv(bad, index=False)
    with pytest.raises(ValidationError) as exc:
        analyze(AnalysisInputs(**tiny_files, demographics=bad),
                options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True))
    text = str(exc.value)
    assert "weird.csv" in text and "match no packaged demographics layout" in text
    assert "'hood'" in text and "`demographics_mapping`" in text


def test_bad_values_are_listed_and_areas_without_data_say_why(tiny_files, tmp_path):
    table = TABLE.copy().astype({"kids": object})
    table.loc[1, "kids"] = "12abc"
    table = table[table["area"] != "Delta"]
    a = run(tiny_files, tmp_path, table=table)
    q = a.quality["demographics"]
    assert q["bad_values"] == [{"row": 2, "column": "kids", "value": "12abc"}]
    reasons = {m["name"]: m["reason"] for m in q["areas_without_data"]}
    assert set(reasons) == {"Bravo", "Delta"}
    assert "no row of the table matches its name" in reasons["Delta"]
    assert "kids" in reasons["Bravo"]
    assert json.dumps(a.equity)  # JSON-serialisable
    assert a.neighborhoods.set_index("name").loc["Bravo", "group_reliability_kids"] == "unknown"


def test_cli_options_reach_the_analysis(tiny_files, tmp_path):
    from typer.testing import CliRunner

    from safetygap.cli import app

    TABLE.assign(teens=TABLE["kids"] // 2, teens_moe=20).to_csv(tmp_path / "d.csv",
                                                                 index=False)
    layout = LAYOUT + ('[groups.teens]\nlabel = "teenagers"\nuniverse = "persons"\n'
                       'count = "teens"\nmoe = "teens_moe"\n')
    (tmp_path / "d.toml").write_text(layout, encoding="utf-8")
    args = ["analyze", *[a for k in ("calls", "providers", "neighborhoods", "wards")
                         for a in (f"--{k}", str(tiny_files[k]))],
            "--preset", "generic", "--accept-undated", "--out", str(tmp_path / "ws"), "--quiet",
            "--demographics", str(tmp_path / "d.csv"),
            "--demographics-mapping", str(tmp_path / "d.toml")]
    res = CliRunner().invoke(app, [*args, "--demographic-groups", "kids,babies"])
    assert res.exit_code == 2 and "unknown group" in res.output and "'babies'" in res.output
    res = CliRunner().invoke(app, [*args, "--demographic-groups", "teens", "--cv-caution",
                                   "0.3", "--cv-unreliable", "0.2"])
    assert res.exit_code == 2 and "0 < caution < unreliable" in res.output
    res = CliRunner().invoke(app, [*args, "--demographic-groups", "teens",
                                   "--equity-draws", "150", "--equity-seed", "9",
                                   "--cv-unreliable", "0.4"])
    assert res.exit_code == 0, res.output
    eq = json.loads((tmp_path / "ws" / "equity.json").read_text())
    assert [g["key"] for g in eq["groups"]] == ["teens"]
    assert eq["settings"]["draws"] == 150 and eq["settings"]["seed"] == 9
    assert eq["settings"]["cv_unreliable"] == 0.4
    cols = pd.read_parquet(tmp_path / "ws" / "neighborhoods.parquet").columns
    assert "group_share_teens" in cols and "group_share_kids" not in cols


def test_dasymetric_through_the_pipeline_with_address_points(tiny_files, tmp_path):
    from shapely.geometry import Point

    from tests.conftest import X0, Y0

    layout = LAYOUT.replace('column = "area"\nby = "name"', 'by = "geometry"')
    tracts = gpd.GeoDataFrame(
        {"pop": [7000, 3000], "pop_moe": [300, 200], "kids": [700, 300],
         "kids_moe": [60, 40]},
        geometry=[sq(0, 0, 1500, 2000), sq(1500, 0, 2000, 2000)], crs=CRS)
    tracts.to_file(tmp_path / "tracts.gpkg")
    (tmp_path / "tracts.toml").write_text(layout, encoding="utf-8")
    # tract 1's residents: 10 in A, 30 in B (left half), 60 in C; tract 2's all in D
    pts = gpd.GeoDataFrame({"residents": [10, 30, 60, 5]}, geometry=[
        Point(X0 + 500, Y0 + 500), Point(X0 + 1200, Y0 + 500), Point(X0 + 500, Y0 + 1500),
        Point(X0 + 1800, Y0 + 1800)], crs=CRS)
    pts.to_file(tmp_path / "points.gpkg")
    a = analyze(AnalysisInputs(**tiny_files, demographics=tmp_path / "tracts.gpkg",
                               demographics_mapping=tmp_path / "tracts.toml",
                               fine_population=tmp_path / "points.gpkg"),
                options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                                        equity_draws=100,
                                        fine_population_column="residents"))
    n = a.neighborhoods.set_index("name")
    assert n["group_count_kids"].tolist() == pytest.approx([70, 210, 420, 300])
    assert n.loc["Charlie", "group_count_moe_kids"] == pytest.approx(0.6 * 60)
    q = a.quality["demographics"]
    assert q["method"] == "dasymetric" and q["finer_population"]["population"] == 105


def test_hostile_names_are_escaped_on_the_equity_pages(tiny_files, tmp_path):
    from tests.conftest import HOSTILE_AREA, app_client

    nb = gpd.read_file(tiny_files["neighborhoods"])
    nb.loc[3, "name"] = HOSTILE_AREA
    nb.to_file(tiny_files["neighborhoods"])
    table = TABLE.copy()
    table.loc[3, "area"] = HOSTILE_AREA
    layout = LAYOUT.replace('label = "children"', 'label = "kids <script>alert(1)</script>"')
    table.to_csv(tmp_path / "demo.csv", index=False)
    (tmp_path / "layout.toml").write_text(layout, encoding="utf-8")
    from safetygap.run import run_analysis

    run_analysis(AnalysisInputs(**tiny_files, demographics=tmp_path / "demo.csv",
                                demographics_mapping=tmp_path / "layout.toml"),
                 tmp_path / "ws", quiet=True,
                 options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                                         equity_draws=100))
    with app_client(tmp_path / "ws") as c:
        for url in ("/maps/equity?group=kids&family=response", "/report", "/wards/2"):
            html = c.get(url).text
            assert "<script>alert(1)</script>" not in html, url
            assert "<b>bold</b>" not in html, url
        page = c.get("/maps/equity?group=kids&family=response").text
        assert "Delta \\u0026lt;b\\u0026gt;bold" in page or "Delta &lt;b&gt;bold" in page


def test_disparity_of_the_stage_by_hand_with_given_classes(tiny_files, tmp_path):
    """The stage's disparity for the city and a ward from hand-made classes (A and B
    underserved), its intervals, and class replicates carried into them."""
    from safetygap.stages.equity import Underserved, equity_outputs

    a = run(tiny_files, tmp_path)
    base_n = a.neighborhoods[[c for c in a.neighborhoods.columns
                              if not c.startswith(("group_", "universe_"))]]
    base_w = a.wards[[c for c in a.wards.columns if not c.startswith(("group_", "universe_"))]]
    from safetygap.inputs.demographics import read_demographics
    from safetygap.stages.equity import match_demographics

    din = read_demographics(tmp_path / "demo.csv", mapping=tmp_path / "layout.toml")
    demo, _ = match_demographics(din, base_n)
    point = np.array([True, True, False, False])
    under = {"prevention": Underserved(point, np.ones(4, bool), None, "hand-made")}
    _, _, report = equity_outputs(demo, base_n, base_w, underserved=under, n_draws=2000,
                                  seed=3)
    d = report["city"]["groups"]["kids"]["disparity"]["prevention"]
    # kids 100, 600 of 1,400 in A and B; everyone else 900 + 1,400 of 8,600
    assert d["share_group"]["estimate"] == pytest.approx(700 / 1400, abs=1e-6)
    assert d["share_others"]["estimate"] == pytest.approx(2300 / 8600, abs=1e-6)
    assert d["ratio"]["estimate"] == pytest.approx(0.5 / (2300 / 8600), abs=1e-6)
    assert d["difference"]["low"] < d["difference"]["estimate"] < d["difference"]["high"]
    # ward 1: A, C whole, half of B and D
    w = report["wards"]["1"]["groups"]["kids"]["disparity"]["prevention"]
    assert w["share_group"]["estimate"] == pytest.approx(400 / 900, abs=1e-6)
    assert w["share_others"]["estimate"] == pytest.approx(1600 / 6100, abs=1e-6)
    assert report["disparity_available"] is True
    # replicates that sometimes drop B widen the interval down to that classification
    reps = np.array([[True, True, False, False], [True, False, False, False]] * 5)
    under = {"prevention": Underserved(point, np.ones(4, bool), reps, "hand-made")}
    _, _, wide = equity_outputs(demo, base_n, base_w, underserved=under, n_draws=2000,
                                seed=3)
    dw = wide["city"]["groups"]["kids"]["disparity"]["prevention"]
    assert dw["difference"]["low"] < 100 / 1400 - 900 / 8600 + 0.05
    assert dw["replicates"] == 10
    # the disparity reaches the API (validated by its models), the report and ward pages
    from safetygap.workspace import write_workspace
    from tests.conftest import app_client

    a.equity = report
    write_workspace(a, tmp_path / "ws")
    with app_client(tmp_path / "ws") as c:
        body = c.get("/api/equity").json()
        kids = next(g for g in body["groups"] if g["key"] == "kids")
        dp = kids["disparity"]["prevention"]
        assert dp["share_group"]["estimate"] == pytest.approx(0.5, abs=1e-6)
        assert "50.0% of children live in the areas underserved for prevention" in \
            dp["sentence"]
        html = c.get("/report").text
        assert "living in underserved areas vs everyone else" in html
        assert "+23.3" in html  # 50.0% - 26.7%, in points
        assert "living in underserved areas" in c.get("/wards/1").text


def test_underserved_from_the_class_tables():
    """The adapter from issue 13's documented tables: class 7 in a replicate is underserved
    there; areas not ranked are left out."""
    from safetygap.stages.equity import underserved_from_tables

    table = pd.DataFrame({"area_id": ["A", "B", "C"], "underserved": [True, False, False],
                          "ranked": [True, True, False]})
    reps = pd.DataFrame([[7, 7, 0], [4, 7, 0]], columns=["A", "B", "C"])
    u = underserved_from_tables(table, reps, definition="high need, low access")
    assert u.point.tolist() == [True, False, False]
    assert u.classified.tolist() == [True, True, False]
    assert u.replicates.tolist() == [[True, True, False], [False, True, False]]
    assert underserved_from_tables(table, pd.DataFrame()).replicates is None


def test_disparity_from_the_analysis_own_classes_by_hand(tiny_files, tmp_path):
    """analyze feeds issue 13's need/access classes into the equity disparity. Four more
    shootings in Charlie (3,000 residents, no prevention provider within reach: access 0)
    make it the area of highest prevention need (4 calls / 3,000 residents beside Bravo's
    2 / 2,000) and lowest access among the four ranked areas: class 7, high need, low
    access, the only underserved one. Children: 300 of the city's 1,400 live there;
    everyone else: 3,000 - 300 of 10,000 - 1,400."""
    from dataclasses import replace

    from pyproj import Transformer

    from tests.conftest import X0, Y0, tiny_options

    tr = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    calls = pd.read_csv(tiny_files["calls"])
    extra = []
    for i, (x, y) in enumerate([(400, 1400), (600, 1600), (450, 1550), (550, 1450)]):
        lon, lat = tr.transform(X0 + x, Y0 + y)
        extra.append({"id": f"c{i}", "call_type": "Shooting (P)", "agency": "POLICE",
                      "time": f"2023-0{i + 5}-10T22:00:00", "latitude": round(lat, 7),
                      "longitude": round(lon, 7)})
    pd.concat([calls, pd.DataFrame(extra)], ignore_index=True).to_csv(tiny_files["calls"],
                                                                       index=False)
    TABLE.to_csv(tmp_path / "demo.csv", index=False)
    (tmp_path / "layout.toml").write_text(LAYOUT, encoding="utf-8")
    a = analyze(AnalysisInputs(**tiny_files, demographics=tmp_path / "demo.csv",
                               demographics_mapping=tmp_path / "layout.toml"),
                options=replace(tiny_options(), equity_draws=2000))
    n = a.neighborhoods.set_index("name")
    # need: Delta < Alpha < Bravo < Charlie; access: Charlie (0) < Alpha = Delta < Bravo
    assert n["class_prevention"].tolist() == [5, 6, 7, 2]  # Alpha, Bravo, Charlie, Delta
    assert n.loc["Charlie", "access_prevention"] == 0
    assert a.equity["disparity_available"] is True
    assert "class 7" in a.equity["underserved_definition"]["prevention"]
    d = a.equity["city"]["groups"]["kids"]["disparity"]["prevention"]
    assert d["underserved_areas"] == 1 and d["areas"] == 4
    assert d["group_in_underserved"] == pytest.approx(300)
    assert d["share_group"]["estimate"] == pytest.approx(300 / 1400, abs=1e-6)
    assert d["share_others"]["estimate"] == pytest.approx(2700 / 8600, abs=1e-6)
    assert d["difference"]["estimate"] == pytest.approx(300 / 1400 - 2700 / 8600, abs=1e-6)
    assert d["ratio"]["estimate"] == pytest.approx((300 / 1400) / (2700 / 8600), abs=1e-6)
    assert d["difference"]["low"] <= d["difference"]["estimate"] <= d["difference"]["high"]
    assert d["replicates"] == 40  # tiny_options' bootstrap, every replicate's class used
    # ward 1 holds A and C whole and half of B and D: children 100 + 300 + 300 + 200
    w = a.equity["wards"]["1"]["groups"]["kids"]["disparity"]["prevention"]
    assert w["share_group"]["estimate"] == pytest.approx(300 / 900, abs=1e-6)
    assert w["share_others"]["estimate"] == pytest.approx(2700 / 6100, abs=1e-6)
    # no area is underserved for restoration (every area ties): no one lives in one
    r = a.equity["city"]["groups"]["kids"]["disparity"]["restoration"]
    assert r["underserved_areas"] == 0 and r["share_group"]["estimate"] == 0


def test_underserved_classes_from_a_layer_and_its_replicates():
    """pipeline.underserved_classes: class 7 is underserved, class 0 unclassified, and each
    replicate's class 7 underserved, in layer order."""
    from safetygap.methods import Methods
    from safetygap.pipeline import underserved_classes

    layer = pd.DataFrame({"area_id": ["A", "B", "C"], "name": ["a", "b", "c"],
                          **{f"class_{f}": [7, 0, 3] for f in
                             ("response", "prevention", "restoration")}})
    reps = pd.DataFrame({"level": "neighborhood", "family": "prevention",
                         "replicate": [0, 0, 0, 1, 1, 1], "area_id": ["C", "A", "B"] * 2,
                         "class": [7, 7, 0, 1, 4, 0]})
    u = underserved_classes(layer, reps, methods=Methods(bootstrap=2))
    p = u["prevention"]
    assert p.point.tolist() == [True, False, False]
    assert p.classified.tolist() == [True, False, True]
    assert p.replicates.tolist() == [[True, False, True], [False, False, False]]
    assert u["response"].replicates is None  # no replicate of that family
    assert underserved_classes(layer.drop(columns="class_response"), None,
                               methods=Methods()) is None
