"""The read model's answers against the records that declare them
(:mod:`safetygap.readmodel.records`), and the API's response models derived from those
records: a field added to a record is in the API schema; an answer that grows or loses a
key, or changes a value's type, fails here."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import pandas as pd
import pytest
from conftest import CRS, X0, Y0, make_tiny_areas, tiny_options, write_tiny_city
from pyproj import Transformer

from safetygap.api import models as api
from safetygap.api import models_diversion as dv
from safetygap.api import models_equity as eq
from safetygap.api import models_sites as st
from safetygap.api._scenarios import scenario_response, sites_response
from safetygap.diversion_scenario import Move
from safetygap.eligibility import MODELS
from safetygap.readmodel import WorkspaceView, records, records_diversion, records_equity
from safetygap.readmodel.directory import area_directory
from safetygap.readmodel.diversion import (
    eligibility_view,
    hours_view,
    model_info,
    scenario_view,
)
from safetygap.readmodel.equity import equity_layer, equity_report
from safetygap.readmodel.records import Doc
from safetygap.scenarios import load_baseline, new_providers, recommend_sites, whatif
from safetygap.scenarios import records as records_sites
from safetygap.tables import report
from safetygap.vocab import Channel
from safetygap.workspace import Workspace

PAIRS = [
    (records.AreaCollection, api.AreaCollection), (records.AreaFeature, api.AreaFeature),
    (records.AreaProperties, api.AreaProperties),
    (records.NeedAccessClass, api.NeedAccessClass), (records.GapClass, api.GapClass),
    (records.InventoryFields, api.InventoryFields),
    (records.ProviderProperties, api.ProviderProperties),
    (records.ProviderFeature, api.ProviderFeature),
    (records.ProviderCollection, api.ProviderCollection),
    (records.HexProperties, api.HexProperties), (records.HexFeature, api.HexFeature),
    (records.HexCollection, api.HexCollection), (records.MeasureValue, api.MeasureValue),
    (records.CategoryCalls, api.CategoryCalls), (records.NearbyProvider, api.NearbyProvider),
    (records.AreaProfile, api.AreaProfile), (records.DirectoryEntry, api.DirectoryEntry),
    (records.AreaDirectory, api.AreaDirectory), (records.GapRow, api.GapRow),
    (records.GapRanking, api.GapRanking),
    *[(getattr(records_equity, m.__name__), m) for m in (
        eq.EquityInterval, eq.EquityTotal, eq.EquityMeanAccess, eq.EquityDisparity,
        eq.EquityGroup, eq.EquityScope, eq.EquityLayout, eq.EquitySettings, eq.EquityReport,
        eq.EquityAreaProperties, eq.EquityAreaFeature, eq.EquityLegendItem,
        eq.EquityAreaCollection)],
    *[(getattr(records_sites, m.__name__), m) for m in (
        st.IndexChange, st.AreaGain, st.Site, st.Candidates, st.SiteRecommendation,
        st.PlacedProvider, st.FamilyTotals, st.AreaChange, st.ScenarioResult)],
    *[(getattr(records_diversion, m.__name__), m) for m in (
        dv.Share, dv.EligibilityCounts, dv.EligibilityUnit, dv.EligibilityArea, dv.TierInfo,
        dv.TierCount, dv.ModelInfo, dv.EligibilityAnswer, dv.RuleInfo, dv.DiversionOverview,
        dv.DiversionHourScenario, dv.DiversionHoursAnswer, dv.DiversionMoveOut,
        dv.DiversionScenarioUnit, dv.DiversionToTarget, dv.DiversionScenarioArea,
        dv.DiversionScenarioAnswer)],
]


def _doc(hint: Any) -> Doc:
    while typing.get_origin(hint) in (NotRequired, Annotated):
        if typing.get_origin(hint) is Annotated:
            return next((m for m in hint.__metadata__ if isinstance(m, Doc)), Doc())
        hint = typing.get_args(hint)[0]
    return Doc()


@pytest.mark.parametrize(("record", "model"), PAIRS, ids=[r.__name__ for r, _ in PAIRS])
def test_each_response_model_has_its_records_fields_in_order(record, model):
    hints = typing.get_type_hints(record, include_extras=True)
    fields = {f.alias or name: f for name, f in model.model_fields.items()}
    assert list(fields) == list(hints)
    for key, hint in hints.items():
        doc = _doc(hint)
        assert fields[key].description == doc.text, key
        if doc.default is records.REQUIRED:
            assert fields[key].is_required(), key
        else:
            assert fields[key].get_default(call_default_factory=True) == doc.default, key
    assert model.__doc__ == record.__doc__ or record.__doc__ is None


class Inner(TypedDict):
    """An inner record."""

    n: Annotated[int, Doc("a count")]


class Wider(records.GapClass):
    added: Annotated[list[Inner] | None, Doc("a field the core added", default=None)]


Keyworded = TypedDict("Keyworded", {"class": int, "items": Annotated[
    list[str], Doc("words", default=[])]})


def test_a_field_added_to_a_record_is_in_the_derived_schema():
    schema = api.model_from_record(Wider).model_json_schema()
    assert list(schema["properties"]) == [*typing.get_type_hints(records.GapClass), "added"]
    added = schema["properties"]["added"]
    assert added["description"] == "a field the core added"
    assert added["default"] is None
    assert added["anyOf"] == [{"type": "array", "items": {"$ref": "#/$defs/Inner"}},
                              {"type": "null"}]
    assert schema["$defs"]["Inner"]["description"] == "An inner record."
    assert "added" not in schema["required"] and "areas" in schema["required"]

    keyed = api.model_from_record(Keyworded)
    assert list(keyed.model_json_schema(by_alias=True)["properties"]) == ["class", "items"]
    dumped = keyed.model_validate({"class": 3}).model_dump(by_alias=True)
    assert dumped == {"class": 3, "items": []}
    assert api.model_from_record(Keyworded) is keyed  # one model per record


# ---------------------------------------------------------- answers against records


def problems(value: Any, hint: Any, where: str = "$", *, extra_ok: tuple[type, ...] = ()
             ) -> list[str]:
    """Where ``value`` does not have the type ``hint`` declares (records: exactly their
    keys, every required one; ``extra_ok`` records may carry more)."""
    while typing.get_origin(hint) in (NotRequired, Annotated):
        hint = typing.get_args(hint)[0]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return []
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not a {hint.__name__}"]
        hints = typing.get_type_hints(hint, include_extras=True)
        out = [f"{where}: missing {k}" for k, h in hints.items()
               if typing.get_origin(h) is not NotRequired and k not in value]
        if hint not in extra_ok:
            out += [f"{where}: undeclared {k}" for k in value if k not in hints]
        for k, h in hints.items():
            if k in value:
                out += problems(value[k], h, f"{where}.{k}", extra_ok=extra_ok)
        return out
    if origin in (typing.Union, types.UnionType):
        tries = [problems(value, a, where, extra_ok=extra_ok) for a in args]
        return [] if any(not t for t in tries) else min(tries, key=len)
    if origin is Literal:
        return [] if value in args else [f"{where}: {value!r} not in {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, v in enumerate(value)
                for p in problems(v, args[0], f"{where}[{i}]", extra_ok=extra_ok)]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: not a dict"]
        return [p for k, v in value.items()
                for p in problems(k, args[0], f"{where} key", extra_ok=extra_ok)
                + problems(v, args[1], f"{where}[{k!r}]", extra_ok=extra_ok)]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        ok = value in {m.value for m in hint}
        return [] if ok else [f"{where}: {value!r} not one of {hint.__name__}"]
    if hint is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not a number"]
    if hint is int and isinstance(value, bool):
        return [f"{where}: {value!r} is a bool, not an int"]
    return [] if isinstance(value, hint) else [f"{where}: {value!r} is not {hint.__name__}"]


@pytest.fixture(scope="module")
def view(api_workspace) -> WorkspaceView:
    return WorkspaceView(Workspace.open(api_workspace), privacy_min_count=1)


def test_the_read_models_answers_are_their_records(view):
    nb = view.area_ids("neighborhood")[0]
    ward = view.area_ids("ward")[0]
    answers = [
        (view.layer("neighborhood"), records.AreaCollection),
        (view.layer("ward", family="response", year=None), records.AreaCollection),
        (view.providers_layer(), records.ProviderCollection),
        (view.hexbins(), records.HexCollection),
        (view.profile("neighborhood", nb), records.AreaProfile),
        (view.profile("ward", ward), records.AreaProfile),
        (area_directory(view, "neighborhood", nb), records.AreaDirectory),
        (area_directory(view, "ward", ward), records.AreaDirectory),
        *[(row, records.GapRow) for f in ("response", "prevention", "restoration")
          for row in view.ranking("neighborhood", f)],
    ]
    for answer, record in answers:
        assert problems(answer, record, extra_ok=(records.AreaProperties,)) == [], record
    # the answers are not empty: the checks above looked at every kind of record
    profile = view.profile("neighborhood", nb)
    assert profile["measures"] and profile["calls_by_category"]
    assert any(profile["providers_inside"] + profile["providers_in_reach"])
    assert any(view.ranking("neighborhood", f) for f in ("response", "prevention"))


def test_the_diversion_answers_are_their_records(view):
    ward = view.area_ids("ward")[0]
    moved = scenario_view(view, [Move(Channel.BEHAVIORAL_CRISIS,
                                      categories=("behavioral_crisis",))])
    assert moved["moves"] and moved["levels"]["ward"]
    answers = [
        *[(model_info(m), records_diversion.ModelInfo) for m in MODELS],
        (eligibility_view(view, model="nicjr"), records_diversion.EligibilityAnswer),
        (hours_view(view, model="nicjr"), records_diversion.DiversionHoursAnswer),
        (hours_view(view, model="star", level="ward", area_id=ward),
         records_diversion.DiversionHoursAnswer),
        (moved, records_diversion.DiversionScenarioAnswer),
        (scenario_view(view, []), records_diversion.DiversionScenarioAnswer),
    ]
    for answer, record in answers:
        assert problems(answer, record) == [], record


def test_the_siting_and_whatif_answers_are_their_records(api_workspace):
    base = load_baseline(api_workspace)
    sites = recommend_sites(base, family="prevention", k=2, keep_existing=False)
    assert sites["sites"] and sites["sites"][0]["neighborhoods"]
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(
        X0 + 400, Y0)
    extra = new_providers(base, pd.DataFrame([{
        "name": "New Center", "service_type": "youth_program", "capacity": 10.0,
        "latitude": lat, "longitude": lon}]), where="test")
    scenario = whatif(base, extra)
    assert scenario["neighborhoods"] and scenario["totals"]
    answers = [(sites_response(base, "checksum", sites), records_sites.SiteRecommendation),
               (scenario_response("checksum", scenario), records_sites.ScenarioResult)]
    for answer, record in answers:
        assert problems(answer, record) == [], record


def test_the_equity_answers_are_their_records(demo_workspace):
    view = WorkspaceView(Workspace.open(demo_workspace), privacy_min_count=1)
    ward = view.area_ids("ward")[0]
    report = equity_report(view)
    assert report["groups"] and report["groups"][0]["disparity"]  # every part present
    group = report["groups"][0]["key"]
    answers = [
        (report, records_equity.EquityReport),
        (equity_report(view, ward=ward), records_equity.EquityReport),
        (equity_layer(view, "neighborhood", group, "response", tolerance_m=20.0),
         records_equity.EquityAreaCollection),
        (equity_layer(view, "ward", group, "prevention", tolerance_m=20.0),
         records_equity.EquityAreaCollection),
    ]
    for answer, record in answers:
        assert problems(answer, record) == [], record


def test_the_checker_names_a_drifted_answer(view):
    nb = view.area_ids("neighborhood")[0]
    profile = dict(view.profile("neighborhood", nb))
    profile["new_key"] = 1
    del profile["reach"]
    profile["calls"] = "many"
    found = problems(profile, records.AreaProfile)
    assert "$: missing reach" in found and "$: undeclared new_key" in found
    assert any(p.startswith("$.calls:") for p in found)


# ---------------------------------------------------------- report parts (tables.report)


REPORT_PARTS = [
    (report.DiversionSummary, api.DiversionSummary, ("calls_911", "outside_911")),
    (report.DiversionRulesRef, api.DiversionRulesRef, ()),
    (report.RuleCount, api.RuleCount, ()),
    (report.BoundarySensitivity, api.BoundarySensitivity, ("notes",)),
    (report.TravelSummary, api.DistanceModel,
     ("catchment_column", "network", "walk_speed_kph", "off_network_legs")),
]


@pytest.mark.parametrize(("part", "model", "left_out"), REPORT_PARTS,
                         ids=[p.__name__ for p, _, _ in REPORT_PARTS])
def test_the_summary_models_are_the_report_parts_less_what_the_api_leaves_out(
        part, model, left_out):
    names = [f.name for f in dataclasses.fields(part)]
    assert set(left_out) <= set(names)
    assert list(model.model_fields) == [n for n in names if n not in left_out]
    described = report.described_fields(part)
    for name, field in model.model_fields.items():
        assert field.description == (described[name][1] or None), name


def test_report_parts_write_their_json_in_order():
    rules = report.DiversionRulesRef(name="r", version="1", source="f.toml", checksum="c")
    part = report.DiversionSummary(
        rules=rules, denominator="all_calls", denominator_words="all calls",
        denominator_calls=10, diverted_calls=2,
        calls_911={"denominator_calls": 10, "diverted_calls": 2, "diverted_share": 0.2},
        outside_911=None, by_channel={"police": 8, "behavioral_crisis": 2},
        by_rule=[report.RuleCount(rule="bcr", channel="behavioral_crisis", calls=2),
                 report.RuleCount(rule="default", channel="police", calls=8)])
    expected = {
        "rules": {"name": "r", "version": "1", "source": "f.toml", "checksum": "c"},
        "denominator": "all_calls", "denominator_words": "all calls",
        "denominator_calls": 10, "diverted_calls": 2,
        "calls_911": {"denominator_calls": 10, "diverted_calls": 2, "diverted_share": 0.2},
        "outside_911": None, "by_channel": {"police": 8, "behavioral_crisis": 2},
        "by_rule": [{"rule": "bcr", "channel": "behavioral_crisis", "calls": 2},
                    {"rule": "default", "channel": "police", "calls": 8}]}
    assert json.dumps(part.to_dict()) == json.dumps(expected)  # same keys, same order
    assert part["by_rule"][1]["calls"] == 8 and part.by_rule[1].calls == 8

    straight = report.TravelSummary(distance_model="straight-line", unit="m",
                                    catchment_column="catchment_m",
                                    catchments={"bcr_team": 1500.0})
    assert list(straight.to_dict()) == ["distance_model", "unit", "catchment_column",
                                        "catchments"]  # the network's parts left out
    network = report.TravelSummary(distance_model="network-walk", unit="min",
                                   catchment_column="catchment_min",
                                   network={"nodes": 3}, walk_speed_kph=4.8,
                                   off_network_legs="walked", catchments={"x": 10.0})
    assert list(network.to_dict()) == ["distance_model", "unit", "catchment_column",
                                       "network", "walk_speed_kph", "off_network_legs",
                                       "catchments"]


def test_the_summary_of_a_run_holds_typed_parts_and_writes_them_as_before(api_workspace):
    written = json.loads((api_workspace / "summary.json").read_text())
    assert list(written["diversion"]) == [f.name for f in
                                          dataclasses.fields(report.DiversionSummary)]
    assert list(written["travel"]) == ["distance_model", "unit", "catchment_column",
                                       "catchments"]
    assert list(written["boundary_sensitivity"]) == [
        f.name for f in dataclasses.fields(report.BoundarySensitivity)]
    rebuilt = report.BoundarySensitivity(**written["boundary_sensitivity"])
    assert json.dumps(rebuilt.to_dict()) == json.dumps(written["boundary_sensitivity"])
    diversion = written["diversion"]
    typed = report.DiversionSummary(**{
        **diversion, "rules": report.DiversionRulesRef(**diversion["rules"]),
        "by_rule": [report.RuleCount(**r) for r in diversion["by_rule"]]})
    assert json.dumps(typed.to_dict()) == json.dumps(diversion)


def test_a_run_builds_its_summary_from_typed_parts(tmp_path):
    from safetygap.pipeline import AnalysisInputs
    from safetygap.run import run_analysis

    files = write_tiny_city(tmp_path, make_tiny_areas())
    analysis = run_analysis(AnalysisInputs(**files), tmp_path / "ws", quiet=True,
                            options=tiny_options())
    summary = analysis.summary
    assert isinstance(summary.diversion, report.DiversionSummary)
    assert all(isinstance(r, report.RuleCount) for r in summary.diversion.by_rule)
    assert isinstance(summary.boundary_sensitivity, report.BoundarySensitivity)
    assert isinstance(summary.travel, report.TravelSummary)
    written = json.loads((tmp_path / "ws" / "summary.json").read_text())
    assert written["travel"] == summary.travel.to_dict() == summary["travel"]
    assert written["diversion"]["by_rule"] == [
        {"rule": r.rule, "channel": r.channel, "calls": r.calls}
        for r in summary.diversion.by_rule]
    manifest = json.loads((tmp_path / "ws" / "manifest.json").read_text())
    assert manifest["travel"] == written["travel"]
    quality = analysis.quality
    assert isinstance(quality.travel, report.TravelQuality)
    assert isinstance(quality.boundaries.crosswalk, report.CrosswalkQuality)
    stored = json.loads((tmp_path / "ws" / "quality.json").read_text())
    assert stored["travel"] == {"distance_model": "straight-line"}  # no network parts
    assert list(stored["boundaries"]["crosswalk"]) == [
        "pairs", "neighborhoods_split_across_wards", "population_neighborhoods",
        "population_wards"]
    assert stored["boundaries"]["crosswalk"]["pairs"] == quality.boundaries.crosswalk.pairs
    near = quality.boundaries.near_boundary
    assert isinstance(near, report.NearBoundary)
    assert list(stored["boundaries"]["near_boundary"]) == [
        "tolerance_m", "policy", "neighborhood", "ward", "notes"]
    assert stored["boundaries"]["near_boundary"]["ward"] == near.ward.to_dict()
    assert isinstance(quality.population, report.PopulationQuality)
    assert isinstance(quality.providers, report.ProvidersQuality)
    assert list(stored["population"]) == [
        "file", "rows", "matched_rows", "matched_by_alias_or_folding", "unmatched_rows",
        "bad_rows", "areas_without_population", "areas_with_zero_population", "notes",
        "total_population_matched"]
    assert list(stored["providers"]) == [f.name for f in
                                         dataclasses.fields(report.ProvidersQuality)]
    nb = near.neighborhood
    assert nb.calls_in_areas > 0
    assert nb.within_tolerance_share == round(nb.within_tolerance / nb.calls_in_areas, 6)


def test_a_run_without_population_writes_its_population_quality_as_before():
    from safetygap.stages.places import match_population

    nbhd, _ = make_tiny_areas()
    _, quality = match_population(None, nbhd)
    assert json.dumps(quality.to_dict()) == json.dumps({
        "file": None, "areas_without_population": nbhd["name"].tolist(),
        "areas_with_zero_population": []})
