"""A first run on another city (issue 21): Riverton (tests/fixture_city.py), in another
city's export schema, from `safetygap init` to `safetygap analyze --config`.

Expected values are worked out from the fixture's own hand-made tables (which types the
taxonomy knows, who started each call) and with geopandas.sjoin on the raw files, never
with safetygap's readers."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import app_client
from fixture_city import (
    CRS,
    TYPES,
    call_frame,
    neighborhoods,
    planning_areas,
    write_fixture_city,
)
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore:the wards .* cover only:UserWarning")


def _invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> dict[str, Path]:
    """Riverton's files, the configuration `init` wrote for them, the workspace that
    `analyze --config` wrote from it (and both commands' output)."""
    d = tmp_path_factory.mktemp("riverton")
    files = write_fixture_city(d / "downloads")
    config = d / "riverton.toml"
    init = _invoke("init", "--calls", files["calls"], "--neighborhoods",
                   files["neighborhoods"], "--wards", files["wards"], "--providers",
                   files["providers"], "--population", files["population"], "--out", config,
                   "--name", "Riverton")
    assert init.exit_code == 0, init.output
    run = _invoke("analyze", "--config", config, "--out", d / "ws", "--quiet")
    assert run.exit_code == 0, run.output
    return {**files, "config": config, "ws": d / "ws", "init_output": init.output,
            "output": run.output, "dir": d}


def _counts_by_sjoin(frame: pd.DataFrame, layer: gpd.GeoDataFrame, key: str) -> dict:
    """Calls per area of ``layer`` by geopandas.sjoin on the raw coordinates."""
    xy = frame.dropna(subset=["XCoord", "YCoord"])
    pts = gpd.GeoDataFrame(xy, geometry=gpd.points_from_xy(xy["XCoord"].astype(float),
                                                           xy["YCoord"].astype(float)),
                           crs=CRS)
    joined = gpd.sjoin(pts, layer, predicate="within")
    return joined.groupby(key).size().to_dict()


def _raw() -> pd.DataFrame:
    frame = call_frame()
    frame["XCoord"] = pd.to_numeric(frame["XCoord"], errors="coerce")
    frame["YCoord"] = pd.to_numeric(frame["YCoord"], errors="coerce")
    return frame


# ------------------------------------------------------------------ init and the config


def test_init_guesses_every_field_and_marks_the_guesses(city):
    text = city["config"].read_text()
    doc = tomllib.loads(text)
    calls = doc["calls"]
    assert (calls["id"], calls["call_type"], calls["time"]) == (
        "IncidentNum", "CallTypeDesc", "CallDateTime")
    assert calls["time_format"] == "us_12h"
    assert (calls["x"], calls["y"], calls["crs"]) == ("XCoord", "YCoord", "EPSG:2276")
    assert calls["source"] == "SelfInitiated"
    assert calls["source_values"] == {"Y": "officer_initiated", "N": "public_911"}
    assert "agency" not in calls and calls["default_agency"] == "POLICE"
    # the shapefile has no .prj: its CRS is guessed from the planning areas' extent
    assert doc["neighborhoods"]["crs"] == "EPSG:2276"
    assert (doc["neighborhoods"]["id"], doc["neighborhoods"]["name"]) == ("NBHD_NUM",
                                                                          "NBHD_LABEL")
    assert (doc["wards"]["id"], doc["wards"]["name"]) == ("PLAN_AREA", "AREA_NAME")
    assert (doc["population"]["name_column"],
            doc["population"]["population_column"]) == ("Neighborhood", "Residents")
    # every guess is commented as one
    for key in ("id", "call_type", "time_format", "crs", "default_agency", "source"):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"{key} = "))
        assert "# GUESS:" in line, line
    neighborhood_crs = re.search(r"\[neighborhoods\][^\[]*?\ncrs = [^\n]*", text).group(0)
    assert "GUESS: the file declares no CRS" in neighborhood_crs
    assert "UNRESOLVED" not in text.replace('"UNRESOLVED" must be set', "")
    assert "--write-taxonomy taxonomy.toml" in " ".join(city["init_output"].split())


def test_init_marks_what_it_cannot_tell_and_analyze_refuses_it(city, tmp_path):
    out = tmp_path / "partial.toml"
    res = _invoke("init", "--calls", city["calls"], "--neighborhoods", city["neighborhoods"],
                  "--out", out)
    assert res.exit_code == 0, res.output
    assert "[wards] file" in res.output and "[providers] file" in res.output
    text = out.read_text()
    assert 'file = "UNRESOLVED"  # UNRESOLVED: no --wards given' in text
    # no other layer declares a CRS: the neighborhoods' CRS cannot be told
    assert re.search(r'\ncrs = "UNRESOLVED"  # UNRESOLVED: the file declares no CRS', text)
    run = _invoke("analyze", "--config", out, "--out", tmp_path / "ws")
    assert run.exit_code == 2
    for key in ("[wards] file", "[providers] file", "[neighborhoods] crs"):
        assert f"{key} is UNRESOLVED" in run.output
    assert _invoke("init", "--calls", city["calls"], "--neighborhoods",
                   city["neighborhoods"], "--out", out).exit_code == 2  # never overwritten


def test_init_lists_every_method_setting_at_its_default(city, tmp_path):
    """The starter's [methods] section names every method setting, commented out at its
    default; uncommented as it is, the file's methods are the defaults, and a line changed
    there reaches the configuration."""
    from dataclasses import fields

    from safetygap.config.city import load_city_config
    from safetygap.methods import Methods

    text = city["config"].read_text()
    assert "[methods]" not in tomllib.loads(text)  # nothing set: every line commented
    section = text.split("\n[methods]\n", 1)[1]
    lines = [ln for ln in section.splitlines() if ln.startswith("# ") and " = " in ln]
    names = [ln[2:].split(" = ", 1)[0] for ln in lines]
    assert names == [f.name for f in fields(Methods)]
    assert 'kernel = "dai"' in section and "bootstrap = 200  #" in section

    uncommented = text.replace(section, "\n".join(ln[2:] for ln in lines) + "\n")
    defaults = tmp_path / "defaults.toml"
    defaults.write_text(uncommented)
    assert load_city_config(defaults).methods == Methods()
    changed = tmp_path / "changed.toml"
    changed.write_text(uncommented.replace('kernel = "dai"', 'kernel = "truncated_gaussian"')
                       .replace("bootstrap = 200", "bootstrap = 50"))
    assert load_city_config(changed).methods == Methods(kernel="truncated_gaussian",
                                                        bootstrap=50)


TRACT_LAYOUT = """
name = "riverton-tracts"
source = "hand-made"
[key]
by = "geometry"
[universes.persons]
label = "residents"
count = "TOTPOP"
moe = "TOTPOP_M"
[groups.kids]
label = "children"
universe = "persons"
count = "KIDS"
moe = "KIDS_M"
"""


def test_init_writes_the_demographics_with_a_guessed_crs_and_an_unresolved_layout(
        city, tmp_path):
    from fixture_city import X0, Y0
    from shapely.geometry import box

    # two census tracts in the city's state-plane feet, a shapefile without its .prj:
    # T1 x 0..4500, T2 x 4500..9000 (full height 0..6000)
    tracts = gpd.GeoDataFrame(
        {"GEOID": ["48001", "48002"], "TOTPOP": [9000, 6000], "TOTPOP_M": [300, 250],
         "KIDS": [600, 300], "KIDS_M": [60, 50]},
        geometry=[box(X0, Y0, X0 + 4500, Y0 + 6000), box(X0 + 4500, Y0, X0 + 9000, Y0 + 6000)],
        crs=CRS)
    shp = tmp_path / "tracts.shp"
    tracts.to_file(shp)
    shp.with_suffix(".prj").unlink()
    cfg = tmp_path / "with-tracts.toml"
    res = _invoke("init", "--calls", city["calls"], "--neighborhoods", city["neighborhoods"],
                  "--wards", city["wards"], "--providers", city["providers"],
                  "--population", city["population"], "--demographics", shp, "--out", cfg)
    assert res.exit_code == 0, res.output
    text = cfg.read_text()
    section = text[text.index("[demographics]"):]
    assert re.search(r'\ncrs = "EPSG:2276"  # GUESS: the file declares no CRS; .*'
                     r"planning_areas\.gpkg", section)
    assert 'mapping = "UNRESOLVED"  # UNRESOLVED: a layout file' in section
    assert "[demographics] mapping" in " ".join(res.output.split())
    stop = _invoke("analyze", "--config", cfg, "--out", tmp_path / "ws")
    assert stop.exit_code == 2 and "[demographics] mapping is UNRESOLVED" in stop.output
    (tmp_path / "tracts.toml").write_text(TRACT_LAYOUT)
    cfg.write_text(text.replace('mapping = "UNRESOLVED"', 'mapping = "tracts.toml"'))
    run = _invoke("analyze", "--config", cfg, "--out", tmp_path / "ws", "--quiet")
    assert run.exit_code == 0, run.output
    ws = Workspace.open(tmp_path / "ws")
    kids = dict(zip(ws.neighborhoods["area_id"], ws.neighborhoods["group_count_kids"],
                    strict=True))
    # by area: Bluebonnet (0..3000) is a third of T1; Cedar Flats (3000..6000) a sixth of
    # T1 and a sixth of T2 (measured in the UTM zone the run projects to: not exact)
    assert kids["101"] == pytest.approx(600 / 3, rel=1e-3)
    assert kids["102"] == pytest.approx(600 / 6 + 300 / 6, rel=1e-3)
    assert ws.quality["demographics"]["crs_source"] == "declared"


def test_command_line_options_override_the_config(city, tmp_path):
    res = _invoke("analyze", "--config", city["config"], "--out", tmp_path / "ws",
                  "--count-calls-from", "all", "--quiet")
    assert res.exit_code == 0, res.output
    summary = Workspace.open(tmp_path / "ws").summary
    assert summary["demand"]["count_calls_from"] == "all"
    assert summary["label"] == "Riverton"  # the rest from the config


def test_a_declared_crs_contradicting_the_file_is_an_error(city, tmp_path):
    text = city["config"].read_text().replace(
        'crs = "EPSG:2276"  # the file\'s own', 'crs = "EPSG:2277"  # the file\'s own')
    bad = city["dir"] / "contradiction.toml"
    bad.write_text(text)
    res = _invoke("analyze", "--config", bad, "--out", tmp_path / "ws")
    assert res.exit_code == 2
    assert "--wards-crs EPSG:2277" in res.output and "contradicts" in res.output


# ------------------------------------------------------------------ times


def test_dates_parsed_with_the_form_reported(city):
    ws = Workspace.open(city["ws"])
    time = ws.quality["calls"]["time"]
    assert time["form"]["form"] == "us_12h" and time["column"] == "CallDateTime"
    assert "12-hour clock" in ws.summary["undated"]["form"]
    assert f"times read as: {ws.summary['undated']['form']}" in city["output"]
    assert time["form"]["description"].startswith(
        "CallDateTime: US month/day/year, 12-hour clock")
    raw = call_frame()
    want = pd.to_datetime(raw["CallDateTime"], format="%m/%d/%Y %I:%M:%S %p", errors="coerce")
    got = ws.calls(columns=["row", "time"]).sort_values("row")["time"]
    assert got.reset_index(drop=True).equals(want.rename("time").astype("datetime64[ns]"))
    assert time["calls"] == int(want.isna().sum()) == 1  # the one "PENDING"


def test_undated_share_stops_the_run_and_the_flag_accepts_it(tmp_path, city):
    write_fixture_city(tmp_path / "downloads", undated=3)  # 3 of 38 rows: 7.9%
    cfg = tmp_path / "riverton.toml"  # the same configuration, its paths relative to it
    cfg.write_text(city["config"].read_text())
    stop = _invoke("analyze", "--config", cfg, "--out", tmp_path / "ws")
    assert stop.exit_code == 2
    msg = " ".join(stop.output.split())
    assert "column 'CallDateTime'" in msg and "3 of 38 calls (7.9%) cannot be dated" in msg
    assert "'PENDING', 'PENDING', 'PENDING'" in msg and "--accept-undated" in msg
    ok = _invoke("analyze", "--config", cfg, "--out", tmp_path / "ws", "--accept-undated",
                 "--quiet")
    assert ok.exit_code == 0, ok.output
    assert "RATES ARE UNDATED" in ok.output
    summary = Workspace.open(tmp_path / "ws").summary
    assert summary["undated"]["rates_undated"]
    assert [c["kind"] for c in summary["caveats"]].count("rates_undated") == 1
    with app_client(tmp_path / "ws") as client:
        for path in ("/", "/report", "/maps/gaps?family=response", "/maps/wards/PA-1",
                     "/maps/sites?family=response&k=1", "/neighborhoods/101", "/wards/PA-1",
                     "/diversion", "/neighborhoods/101/directory", "/wards/PA-1/directory"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert "caveat-rates_undated" in page.text, path
        assert client.get("/api/summary").json()["undated"]["rates_undated"]


# ------------------------------------------------------------------ call types


def test_unknown_type_share_is_exact_and_the_headline_uncalibrated(city):
    raw = call_frame()
    public = raw[raw["SelfInitiated"] == "N"]  # the calls counted as demand, all unique
    known = {name: k for name, k, _ in TYPES.values()}
    unknown = int((~public["CallTypeDesc"].map(known)).sum())
    ws = Workspace.open(city["ws"])
    types = ws.summary["call_types"]
    assert (types["unknown_type_calls"], types["calls"]) == (unknown, len(public))
    assert types["unknown_type_share"] == round(unknown / len(public), 6)
    assert unknown / len(public) > 0.10 and types["uncalibrated"]
    assert ws.summary["top_underserved"]["status"] == "uncalibrated"
    assert "safetygap profile" in types["advice"]
    assert "option `write_rules`" in types["advice"] and "--" not in types["advice"]
    assert "--write-rules rules.toml" in " ".join(city["output"].split())  # the CLI's flag
    assert "UNCALIBRATED" in city["output"]
    assert "most underserved for response (UNCALIBRATED)" in city["output"]
    assert f"{unknown / len(public):.1%} of the calls" in city["output"]
    with app_client(city["ws"]) as client:
        body = client.get("/api/summary").json()
        assert body["uncalibrated"] and body["call_types"]["unknown_type_calls"] == unknown
        assert client.get("/api/gaps").json()["status"] == "uncalibrated"
        index = client.get("/").text
        assert "(uncalibrated)" in index and "caveat-uncalibrated" in index
        assert "caveat-uncalibrated" in client.get("/maps/gaps?family=prevention").text
        assert "uncalibrated" in client.get("/report").text


def test_below_the_threshold_the_headline_is_calibrated(city, tmp_path):
    res = _invoke("analyze", "--config", city["config"], "--out", tmp_path / "ws",
                  "--unknown-type-max-share", "0.5", "--quiet")
    assert res.exit_code == 0, res.output
    summary = Workspace.open(tmp_path / "ws").summary
    assert not summary["uncalibrated"] and summary["top_underserved"]["status"] == "calibrated"
    assert "uncalibrated" not in [c["kind"] for c in summary["caveats"]]


def test_the_starter_taxonomy_of_profile_calibrates_the_run(city, tmp_path):
    from safetygap.taxonomy import load_taxonomy

    path = tmp_path / "riverton-taxonomy.toml"
    res = _invoke("profile", "--config", city["config"], "--write-taxonomy", path)
    assert res.exit_code == 0, res.output
    assert "5 of the file's own types added, each marked REVIEW; 0 UNRESOLVED" in res.output
    tax = load_taxonomy(path)
    # by hand, from the words in the fixture's own types (fixture_city.TYPES)
    assert {name: tax.category_of(name) for name, known, _ in TYPES.values()
            if not known} == {"MENTAL HEALTH CALL": "behavioral_crisis",
                              "ALARM-COMMERCIAL BLDG": "alarm",
                              "MVA - MINOR INJURY": "traffic_injury",
                              "LOUD PARTY COMPLAINT": "quality_of_life",
                              "SUSP VEH CHK": "proactive_admin"}
    run = _invoke("analyze", "--config", city["config"], "--taxonomy", path,
                  "--out", tmp_path / "ws", "--quiet")
    assert run.exit_code == 0, run.output
    summary = Workspace.open(tmp_path / "ws").summary
    assert summary["call_types"]["unknown_type_calls"] == 0
    assert not summary["uncalibrated"] and summary["top_underserved"]["status"] == "calibrated"
    assert "UNCALIBRATED" not in run.output


# ------------------------------------------------------------------ layers joined independently


def test_calls_outside_the_wards_keep_their_neighborhood(city):
    ws = Workspace.open(city["ws"])
    public = _raw()[lambda f: f["SelfInitiated"] == "N"]
    by_nbhd = _counts_by_sjoin(public, neighborhoods(), "NBHD_NUM")
    by_ward = _counts_by_sjoin(public, planning_areas(), "PLAN_AREA")
    got_n = dict(zip(ws.neighborhoods["area_id"], ws.neighborhoods["calls_total"],
                     strict=True))
    got_w = dict(zip(ws.wards["area_id"], ws.wards["calls_total"], strict=True))
    assert got_n == {str(k): v for k, v in by_nbhd.items()}
    assert got_w == by_ward
    # the calls east of the planning areas are counted in Eastgate and Riverbend
    assert sum(got_n.values()) > sum(got_w.values())
    cover = ws.quality["boundaries"]["wards_cover_neighborhoods"]
    assert cover["calls_outside_wards"] == sum(got_n.values()) - sum(got_w.values())
    # 7500 of 9000 ft of width (measured in the UTM zone the run projects to)
    assert cover["neighborhood_area_in_wards"] == pytest.approx(7500 / 9000, rel=1e-4)
    partly = {n["area_id"]: n for n in cover["neighborhoods_partly_outside_wards"]}
    assert set(partly) == {"103", "106"}
    ft2 = 0.3048006096012192 ** 2  # US survey foot
    assert partly["103"]["area_outside_wards_m2"] == pytest.approx(1500 * 3000 * ft2,
                                                                   rel=1e-3)
    assert "THE WARDS MISS PART OF THE CITY" in city["output"]
    # the public caveat says it without the server's paths (quality.json's warning has them)
    caveat = next(c for c in ws.summary["caveats"] if c["kind"] == "wards_partial")
    assert caveat["text"] == cover["words"] + "." and "planning_areas" in cover["warning"]
    with app_client(city["ws"]) as client:
        for path in ("/api/summary", "/", "/report", "/wards/PA-1", "/diversion"):
            assert str(city["dir"]) not in client.get(path).text, path


# ------------------------------------------------------------------ who started the call


def test_officer_initiated_calls_are_out_of_the_demand_denominators(city, tmp_path):
    raw = _raw()
    public = raw[raw["SelfInitiated"] == "N"]
    ws = Workspace.open(city["ws"])
    demand = ws.summary["demand"]
    assert demand["count_calls_from"] == "public" and demand["source_recorded"]
    assert demand["counted_calls"] == len(public)
    assert demand["left_out_calls"] == int((raw["SelfInitiated"] == "Y").sum())
    assert demand["by_source"] == {"public_911": len(public),
                                   "officer_initiated": demand["left_out_calls"]}
    # no FIRE calls: the diverted share's denominator is every counted call
    assert ws.summary["diversion"]["denominator_calls"] == len(public)
    assert "officer-initiated and alarm-company calls left out" in ws.summary[
        "diverted_share_basis"]
    # the diverted share's denominator says so wherever the share is shown
    words = ws.summary["diversion"]["denominator_words"]
    assert words.endswith(", counting only " + demand["words"])
    line = f"{ws.summary['diverted_share']['all']:.1%} of {words}"
    assert f"diverted to non-police services: {line}" in " ".join(city["output"].split())
    calls = ws.calls(columns=["row", "source", "counted", "neighborhood_id"])
    officer = calls["source"] == "officer_initiated"
    assert not calls.loc[officer, "counted"].any() and calls.loc[~officer, "counted"].all()
    assert calls.loc[officer, "neighborhood_id"].notna().sum() > 0  # still located
    # counted where the setting says: all
    res = _invoke("analyze", "--config", city["config"], "--out", tmp_path / "all",
                  "--count-calls-from", "all", "--quiet")
    assert res.exit_code == 0, res.output
    every = Workspace.open(tmp_path / "all")
    want = _counts_by_sjoin(raw, neighborhoods(), "NBHD_NUM")
    assert dict(zip(every.neighborhoods["area_id"], every.neighborhoods["calls_total"],
                    strict=True)) == {str(k): v for k, v in want.items()}
    assert every.summary["diversion"]["denominator_calls"] == len(raw)
    assert every.summary["demand"]["left_out_calls"] == 0
    assert "demand_basis" in [c["kind"] for c in ws.summary["caveats"]]
    assert "demand_basis" not in [c["kind"] for c in every.summary["caveats"]]
    with app_client(city["ws"]) as client:
        assert "calls from the public" in client.get("/").text
        assert "calls from the public" in client.get("/report").text
        assert "caveat-demand_basis" in client.get("/maps/gaps?family=response").text
        assert "caveat-demand_basis" in client.get("/neighborhoods/101").text
        assert f"Shares are of {words}." in client.get("/diversion").text
        assert client.get("/api/diversion").json()["denominator_words"] == words
        assert "caveat-demand_basis" in client.get("/wards/PA-1/directory").text


def test_unmapped_source_values_are_named(city, tmp_path):
    text = city["config"].read_text().replace('Y = "officer_initiated"', "")
    cfg = city["dir"] / "no-y.toml"
    cfg.write_text(text)
    res = _invoke("analyze", "--config", cfg, "--out", tmp_path / "ws")
    assert res.exit_code == 2
    n_y = int((call_frame()["SelfInitiated"] == "Y").sum())
    assert f"'Y' ({n_y})" in res.output and "source_values" in res.output


def test_agency_defaults_to_the_stated_department(city):
    ws = Workspace.open(city["ws"])
    assert set(ws.calls(columns=["agency"])["agency"]) == {"POLICE"}
    assert ws.summary["agency"] == {
        "column": None, "default": "POLICE",
        "words": "every call is counted as POLICE's: the calls file has no agency column "
                 "(default_agency)"}
    assert "agency: every call is counted as POLICE's" in city["output"]
    manifest = json.loads((city["ws"] / "manifest.json").read_text())
    assert manifest["options"]["columns"]["agency"] is None
    assert manifest["options"]["columns"]["default_agency"] == "POLICE"


def test_every_section_of_a_configuration_reaches_the_run(tmp_path):
    from safetygap.config.city import analysis_setup, load_city_config

    (tmp_path / "in").mkdir()
    cfg = tmp_path / "city.toml"
    cfg.write_text('''
[city]
name = "Testville"
[calls]
file = "in/calls.csv"
time = "when"
time_format = "us_24h"
default_agency = "SHERIFF"
source = "how"
source_values = { phone = "non_emergency", "9-1-1" = "public_911" }
[neighborhoods]
file = "in/n.gpkg"
crs = "EPSG:2276"
[wards]
file = "in/w.gpkg"
id = "WARD"
[providers]
file = "in/p.csv"
crs = "EPSG:26915"
[population]
file = "in/pop.csv"
population_column = "people"
[rules]
count_calls_from = "all"
diverted_denominator = "all_calls"
[analysis]
undated_max_share = 0.2
accept_undated = true
unknown_type_max_share = 0.3
ward_cover_min = 0.5
[reports]
file = "in/311.csv"
counted = false
[demographics]
file = "in/acs.csv"
groups = ["black", "poverty"]
equity_draws = 500
crs = "EPSG:4269"
fine_population_crs = "EPSG:2276"
''')
    config = load_city_config(cfg)
    inputs, opts = analysis_setup(config, files={"wards": tmp_path / "other.gpkg"},
                                  columns={"id": "cid"}, options={"ward_cover_min": 0.9})
    assert inputs.calls == (tmp_path / "in" / "calls.csv").resolve()
    assert inputs.wards == tmp_path / "other.gpkg"  # the command line wins
    assert inputs.reports.name == "311.csv" and inputs.demographics.name == "acs.csv"
    c = opts.columns
    assert (c.id, c.time, c.time_format, c.agency, c.default_agency, c.source) == (
        "cid", "when", "us_24h", None, "SHERIFF", "how")
    assert c.source_values == {"phone": "non_emergency", "9-1-1": "public_911"}
    assert (opts.neighborhoods_crs, opts.ward_id, opts.providers_crs) == (
        "EPSG:2276", "WARD", "EPSG:26915")
    assert (opts.count_calls_from, opts.diversion_denominator) == ("all", "all_calls")
    assert (opts.undated_max_share, opts.accept_undated, opts.unknown_type_max_share,
            opts.ward_cover_min) == (0.2, True, 0.3, 0.9)
    assert (opts.reports_counted, opts.demographic_groups, opts.equity_draws) == (
        False, ("black", "poverty"), 500)
    assert (opts.population_column, opts.label) == ("people", "Testville")
    assert (opts.demographics_crs, opts.fine_population_crs) == ("EPSG:4269", "EPSG:2276")


@pytest.mark.parametrize(("text", "message"), [
    ("[calls]\ntime = 5\n", "[calls] time must be text"),
    ("[calls]\nwhen = \"t\"\n", "[calls] unknown key"),
    ("[city2]\n", "unknown section"),
    ("[analysis]\naccept_undated = \"yes\"\n", "[analysis] accept_undated must be true or false"),
    ("[calls]\ntime_format = \"dd.mm.yyyy\"\n", "unknown time format"),
    ("[calls]\nsource = \"s\"\n[calls.source_values]\nY = \"cops\"\n", "unknown call source"),
    ("[calls]\nid = \"UNRESOLVED\"\n", "[calls] id is UNRESOLVED"),
])
def test_a_bad_configuration_names_the_key(tmp_path, text, message):
    from safetygap.config.city import load_city_config
    from safetygap.errors import ValidationError

    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ValidationError) as err:
        load_city_config(cfg)
    assert message in str(err.value) and str(cfg) in str(err.value)


# ------------------------------------------------------------------ pages with caveats

CAVEAT_PAGES = ["/", "/report", "/maps/gaps", "/maps/wards/PA-1", "/maps/sites?family=response",
                "/diversion", "/neighborhoods/101", "/wards/PA-1",
                "/neighborhoods/101/directory", "/wards/PA-1/directory"]


@pytest.mark.slow
def test_pages_with_caveats_pass_axe_and_fit_a_phone(city):
    """Riverton's pages carry three caveats each (uncalibrated, calls from the public, the
    wards missing part of the city): axe finds no serious or critical violation and
    nothing scrolls sideways, at phone and desktop size (the demo's pages, which
    test_accessibility checks, have none)."""
    from test_browser import LAUNCH_ARGS, _browser_or_skip, _serving

    sync_playwright = _browser_or_skip()
    from axe_playwright_python.sync_playwright import Axe

    problems = []
    with _serving(city["ws"], tiles="none") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        for width, height in ((390, 844), (1440, 900)):
            page = browser.new_page(viewport={"width": width, "height": height})
            for url in CAVEAT_PAGES:
                assert page.goto(base + url, wait_until="load").status == 200, url
                page.wait_for_timeout(600)
                assert page.locator("[id^=caveat-]").count() == 3, url
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    problems.append(f"{url}: {scroll} px wide at {width}")
                problems += [f"{url} at {width}: {v['id']} ({v['impact']})"
                             for v in Axe().run(page).response["violations"]
                             if v["impact"] in ("serious", "critical")]
            page.close()
        browser.close()
    assert problems == []
