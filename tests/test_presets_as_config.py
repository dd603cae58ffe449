"""The built-in presets became city configuration files (issue 21, item 1): the Minneapolis
preset gives the same workspace as before, whichever way it is named.

"Before" is the preset table the package shipped until then (``safetygap/data/presets.toml``,
copied below verbatim): a run with those column maps is compared, file by file, with runs
through ``--preset`` and ``--config`` of the built-in configuration."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.inputs import ColumnMap, load_preset, preset_names
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, default_inputs
from safetygap.run import run_analysis

OLD_PRESETS = tomllib.loads('''
[minneapolis-911]
description = "City of Minneapolis 911 calls for service (ArcGIS layer Incidents_Reported_911)"
id = "Master_Incident_Number"
call_type = "Problem__Final_"
agency = "Agency_Type"
time = "Response_Date"
time_format = "epoch_ms"
latitude = "Latitude"
longitude = "Longitude"
crs = "EPSG:4326"
zero_is_missing = true
disposition = "Call_Disposition"
priority = "Final_Priority"

[minneapolis-police-incidents]
description = "City of Minneapolis police incident export (Police_Incidents_<YEAR>)"
id = "caseNumber"
call_type = "description"
time = "reportedDateTime"
time_format = "%Y/%m/%d %H:%M:%S+00"
latitude = "centerLat"
longitude = "centerLong"
crs = "EPSG:4326"
zero_is_missing = true
default_agency = "POLICE"

[minneapolis-incidents-reduced]
description = "Reduced Minneapolis police incidents (JSON records: date MM/DD/YYYY, time, centerLong, centerLat, description; no id)"
call_type = "description"
date = "date"
time = "time"
time_format = "%m/%d/%Y %H:%M:%S"
latitude = "centerLat"
longitude = "centerLong"
crs = "EPSG:4326"
zero_is_missing = true
default_agency = "POLICE"

[generic]
description = "Generic calls file: id, call_type, agency, time (ISO 8601), latitude, longitude"
id = "id"
call_type = "call_type"
agency = "agency"
time = "time"
time_format = "iso"
latitude = "latitude"
longitude = "longitude"
crs = "EPSG:4326"
zero_is_missing = true
''')  # noqa: E501 (the file's lines, verbatim)


def test_every_old_preset_is_a_built_in_configuration_with_the_same_columns():
    assert preset_names() == sorted(OLD_PRESETS)
    for name, entry in OLD_PRESETS.items():
        old, new = ColumnMap(**entry), load_preset(name)
        differ = {k for k in entry if getattr(old, k) != getattr(new, k)}
        # the generic preset now detects the time form (ISO files are detected as iso)
        assert differ == ({"time_format", "description"} if name == "generic" else set())
    assert load_preset("generic").time_format == "auto"


def _same_workspace(a: Path, b: Path) -> None:
    """Every table equal column by column; the JSON files equal but for run times, the
    inputs' paths and how the columns were named (preset or configuration)."""
    for name in ("neighborhoods", "wards", "calls", "providers", "indices"):
        pd.testing.assert_frame_equal(pd.read_parquet(a / f"{name}.parquet"),
                                      pd.read_parquet(b / f"{name}.parquet"))
    for name in ("summary.json", "quality.json"):
        ja, jb = (json.loads((d / name).read_text()) for d in (a, b))
        for j in (ja, jb):
            j.pop("generated", None)
        assert ja == jb, name
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    for key in ("taxonomy", "diversion_rules", "crs", "synthetic", "label"):
        assert ma[key] == mb[key], key
    assert ma["options"]["columns"] == mb["options"]["columns"]
    assert {k: v["sha256"] for k, v in ma["inputs"].items()} == \
        {k: v["sha256"] for k, v in mb["inputs"].items()}


def _cli(files: AnalysisInputs, out: Path, *extra: str) -> None:
    args = ["analyze", "--out", str(out), "--quiet", *extra]
    for f in fields(files):  # every input the run had (the demo has demographics too)
        path = getattr(files, f.name)
        if path is not None:
            args += [f"--{f.name.replace('_', '-')}", str(path)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> AnalysisInputs:
    """A small synthetic city in the city's 911 schema (the minneapolis-911 preset)."""
    from safetygap.demo import generate_city, write_city

    d = tmp_path_factory.mktemp("demo911")
    write_city(generate_city(seed=11, n_calls=3000), d)
    return default_inputs(d)


def test_minneapolis_911_preset_gives_the_same_workspace_as_before(demo_files, tmp_path):
    before = tmp_path / "before"
    _cli(demo_files, tmp_path / "preset", "--preset", "minneapolis-911")
    _cli(demo_files, tmp_path / "config", "--config", "minneapolis-911")
    # the providers' staleness is measured at the runs' date: the same one (a run after
    # midnight would otherwise differ by a day)
    quality = json.loads((tmp_path / "preset" / "quality.json").read_text())
    as_of = dt.date.fromisoformat(quality["providers"]["verification"]["as_of"])
    run_analysis(demo_files, before, quiet=True, options=AnalysisOptions(
        columns=ColumnMap(**OLD_PRESETS["minneapolis-911"]), preset="minneapolis-911",
        as_of=as_of))
    _same_workspace(before, tmp_path / "preset")
    _same_workspace(before, tmp_path / "config")
    calls = pd.read_parquet(before / "calls.parquet", columns=["counted", "source"])
    assert calls["counted"].all() and (calls["source"] == "not_recorded").all()


@pytest.mark.realdata
def test_minneapolis_incidents_preset_gives_the_same_workspace_as_before(shared_data,
                                                                         tmp_path):
    from test_realdata import facilities_providers

    files = AnalysisInputs(
        calls=shared_data / "incidents" / "Police_Incidents_2021_Jan-May.csv",
        providers=facilities_providers(shared_data, tmp_path),
        neighborhoods=shared_data / "boundaries" / "Minneapolis_Neighborhoods.geojson",
        wards=shared_data / "boundaries" / "City_Council_Wards_2012-2022.geojson",
        population=shared_data / "population" / "MplsDemo_2015_ACS.csv")
    name = "minneapolis-police-incidents"
    run_analysis(files, tmp_path / "before", quiet=True, options=AnalysisOptions(
        columns=ColumnMap(**OLD_PRESETS[name]), preset=name))
    _cli(files, tmp_path / "config", "--config", name, "--preset", name)
    _same_workspace(tmp_path / "before", tmp_path / "config")
