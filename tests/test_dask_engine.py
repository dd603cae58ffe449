"""The dask engine gives exactly the in-memory engine's results (LocalCluster, several
partitions): on the tiny hand-made city and on the real Minneapolis incidents."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.errors import ValidationError
from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze
from safetygap.workspace import Workspace

pytest.importorskip("dask_geopandas")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler():
    """One small LocalCluster for the module, used through its scheduler address."""
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


def assert_same_analysis(a, b) -> None:
    pd.testing.assert_frame_equal(a.calls, b.calls)
    pd.testing.assert_frame_equal(a.indices, b.indices)
    pd.testing.assert_frame_equal(pd.DataFrame(a.neighborhoods), pd.DataFrame(b.neighborhoods))
    pd.testing.assert_frame_equal(pd.DataFrame(a.wards), pd.DataFrame(b.wards))
    pd.testing.assert_frame_equal(a.replicates, b.replicates)  # every bootstrap class
    pd.testing.assert_frame_equal(pd.DataFrame(a.demand_points),
                                  pd.DataFrame(b.demand_points))
    assert a.quality == b.quality
    sa, sb = dict(a.summary), dict(b.summary)
    sa.pop("generated"), sb.pop("generated")
    assert sa == sb


def test_tiny_city_same_as_memory(tiny_files, scheduler, tmp_path):
    inputs = AnalysisInputs(**tiny_files)
    generic = load_preset("generic")
    mem = analyze(inputs, options=AnalysisOptions(columns=generic, accept_undated=True))
    dsk = analyze(inputs, options=AnalysisOptions(columns=generic,
                                                  accept_undated=True, engine="dask",
                                                  scheduler=scheduler, partitions=3,
                                                  staging=tmp_path / "staging"))
    assert_same_analysis(mem, dsk)
    # the hand-worked answers of conftest hold on the dask engine too
    assert list(dsk.neighborhoods["calls_total"]) == [3, 2, 1, 2]
    assert list(dsk.wards["calls_total"]) == [5, 3]
    assert dsk.quality["calls"]["status_counts"]["outside_boundaries"] == 1
    assert list((tmp_path / "staging").iterdir()) == []  # staging cleaned up


def test_sources_same_as_memory(tiny_files, scheduler, tmp_path):
    """Calls from two feeds (a mapped ``feed`` column): each feed's covered time divides
    its own calls, on both engines alike."""
    calls = pd.read_csv(tiny_files["calls"], dtype=str)
    calls["feed"] = ["911", "911", "311", "911", "911", "911", "311", "911", "911", "911",
                     "911"]
    calls.to_csv(tiny_files["calls"], index=False)
    inputs = AnalysisInputs(**tiny_files)
    cols = load_preset("generic").with_overrides(feed="feed")
    mem = analyze(inputs, options=AnalysisOptions(columns=cols, accept_undated=True))
    dsk = analyze(inputs, options=AnalysisOptions(columns=cols, accept_undated=True,
                                                  engine="dask",
                                                  scheduler=scheduler, partitions=2,
                                                  staging=tmp_path / "staging"))
    assert_same_analysis(mem, dsk)
    assert [s["source"] for s in mem.summary["time_covered"]] == ["311", "911"]
    assert set(mem.calls["feed"].astype(str)) == {"311", "911"}


def test_cli_dask_engine_on_a_local_cluster(tiny_files, tmp_path):
    """`safetygap analyze --engine dask` starts its own LocalCluster; same workspace."""
    args = ["analyze", "--calls", str(tiny_files["calls"]),
            "--providers", str(tiny_files["providers"]),
            "--neighborhoods", str(tiny_files["neighborhoods"]),
            "--wards", str(tiny_files["wards"]),
            "--population", str(tiny_files["population"]), "--preset", "generic",
                                           "--accept-undated", "--quiet"]
    runner = CliRunner()
    r1 = runner.invoke(app, [*args, "--out", str(tmp_path / "mem")])
    r2 = runner.invoke(app, [*args, "--out", str(tmp_path / "dask"), "--engine", "dask",
                             "--partitions", "4"])
    assert r1.exit_code == 0, r1.output
    assert r2.exit_code == 0, r2.output
    mem, dsk = Workspace.open(tmp_path / "mem"), Workspace.open(tmp_path / "dask")
    pd.testing.assert_frame_equal(mem.calls(), dsk.calls())
    pd.testing.assert_frame_equal(mem.indices, dsk.indices)
    assert mem.quality == dsk.quality
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["options"]["engine"] == "dask"


def test_unknown_engine_is_an_error():
    with pytest.raises(ValidationError, match="memory, dask"):
        AnalysisOptions(engine="spark").validate()
    with pytest.raises(ValidationError, match="partitions"):
        AnalysisOptions(engine="dask", partitions=0).validate()


@pytest.mark.realdata
def test_minneapolis_same_as_memory(tmp_path_factory, scheduler):
    from test_realdata import run_real

    calls, preset = "Police_Incidents_2021_Jan-May.csv", "minneapolis-police-incidents"
    _, mem = run_real(tmp_path_factory, calls, preset)
    _, dsk = run_real(tmp_path_factory, calls, preset, engine="dask", scheduler=scheduler,
                      partitions=5)
    assert_same_analysis(mem, dsk)
    assert mem.quality["calls"]["input_rows"] == 6305
    assert int((dsk.calls["neighborhood_id"].notna()).sum()) > 6000


@pytest.mark.filterwarnings("ignore:the wards .* cover only:UserWarning")
def test_riverton_independent_layers_and_call_sources_same_as_memory(scheduler, tmp_path):
    """The fixture city (tests/fixture_city.py): wards that miss part of the city and
    officer-initiated calls left out of the counts, on both engines."""
    import dataclasses

    from fixture_city import write_fixture_city

    from safetygap.inputs import ColumnMap

    files = write_fixture_city(tmp_path / "in")
    cmap = ColumnMap(id="IncidentNum", call_type="CallTypeDesc", time="CallDateTime",
                     x="XCoord", y="YCoord", crs="EPSG:2276", source="SelfInitiated",
                     source_values={"Y": "officer_initiated", "N": "public_911"})
    opts = AnalysisOptions(columns=cmap, neighborhoods_crs="EPSG:2276",
                           neighborhood_id="NBHD_NUM", neighborhood_name="NBHD_LABEL",
                           ward_id="PLAN_AREA", population_name_column="Neighborhood",
                           population_column="Residents")
    inputs = AnalysisInputs(**files)
    mem = analyze(inputs, options=opts)
    dsk = analyze(inputs, options=dataclasses.replace(
        opts, engine="dask", scheduler=scheduler, partitions=3, staging=tmp_path / "st"))
    assert_same_analysis(mem, dsk)
    cover = dsk.quality["boundaries"]["wards_cover_neighborhoods"]
    assert cover["calls_outside_wards"] > 0
    assert dsk.neighborhoods["calls_total"].sum() == cover["calls_in_neighborhoods"]
    assert dsk.summary["demand"]["left_out_calls"] > 0
