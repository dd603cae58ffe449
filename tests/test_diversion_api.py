"""/api/diversion*: the diverted share and its rules, eligibility per area, coverage by the
hour of the week, the path-to-20% scenario; hand-worked on the tiny city."""

from __future__ import annotations

import pytest
from conftest import app_client

from safetygap.api.models_diversion import EligibilityCounts
from safetygap.eligibility import COUNTS, MODELS
from safetygap.settings import Settings

# The tiny city (conftest): unique calls 1-9 and 11 (10 repeats 1); call 6 is FIRE, so 9
# calls are in the denominator and 1 is diverted (call 1, BCR). Person In Crisis calls 1, 2
# and 11 are in A (ward 1); ward 1 also holds calls 4 (B, x=1050) and 5 (C); ward 2 calls 3
# and 7 (and the fire call 6). Calls 8 and 9 have no area.


def test_overview_and_rules(client) -> None:
    r = client.get("/api/diversion")
    assert r.status_code == 200, r.text
    d = r.json()
    assert (d["diverted_calls"], d["denominator_calls"]) == (1, 9)
    assert d["diverted_share"]["value"] == pytest.approx(1 / 9, abs=1e-6)
    assert d["diverted_share"]["low"] < 1 / 9 < d["diverted_share"]["high"]
    assert "fire/EMS calls left out" in d["denominator_words"]
    assert d["rule_list"][0]["id"] == "bcr_agency"
    assert "Behavioral health crisis" in d["rule_list"][0]["source"]
    assert d["models"] == list(MODELS) and d["default_model"] == "nicjr"
    assert d["target"] == 0.2 and d["outside_911"] is None
    models = client.get("/api/diversion/models").json()
    assert [m["name"] for m in models] == list(MODELS)
    assert all(r["reference"] for m in models for r in m["rules"])


def test_eligibility_by_hand(client) -> None:
    e = client.get("/api/diversion/eligibility?model=nicjr").json()
    # NICJR: the three Person In Crisis calls (behavioral_crisis) are tier 2, eligible; one
    # of them (call 1) diverted
    assert e["city"]["counts"] == {"base": 9, "diverted": 1, "eligible": 3,
                                   "eligible_diverted": 1, "eligible_not_diverted": 2,
                                   "diverted_not_eligible": 0}
    assert e["city"]["eligible_diverted_share"]["value"] == pytest.approx(1 / 3, abs=1e-6)
    assert e["city"]["small"]  # 9 < 30
    ward1 = next(w for w in e["levels"]["ward"] if w["area_id"] == "1")
    assert ward1["counts"]["base"] == 5 and ward1["counts"]["eligible_not_diverted"] == 2
    a = next(n for n in e["levels"]["neighborhood"] if n["area_id"] == "A")
    assert a["counts"]["eligible"] == 3 and a["name"] == "Alpha"
    tiers = {t["tier"]: t["calls"] for t in e["tiers"]}
    assert tiers == {"tier1": 0, "tier2": 3, "tier3": 0, "tier4": 6}
    star = client.get("/api/diversion/eligibility?model=star").json()
    assert star["model"]["hours"] == "Mo-Su 06:00-22:00"
    bad = client.get("/api/diversion/eligibility?model=nope")
    assert bad.status_code == 422 and "model" in bad.text


def test_small_sensitive_counts_are_hidden(api_workspace) -> None:
    with app_client(api_workspace, privacy_min_count=None) as c:
        e = c.get("/api/diversion/eligibility").json()
        body = {"moves": [{"channel": "behavioral_crisis",
                           "categories": ["behavioral_crisis"]}]}
        s = c.post("/api/diversion/scenario", json=body).json()
    a = next(n for n in e["levels"]["neighborhood"] if n["area_id"] == "A")
    # 3 crisis calls in A: fewer than 11 and sensitive -> hidden, with their shares
    assert a["counts"]["eligible"] is None and a["eligible_share"]["value"] is None
    assert "hidden" in e["privacy"]
    # the moved crisis calls: call 2 (Thursday 10:00, hour 82) alone in its hour -> hidden
    # (call 11 has no date); ward 1's moved count (2 crisis calls) and its share after too
    week = s["hour_of_week"]["moved_per_week"]
    assert week[82] is None and [v for i, v in enumerate(week) if i != 82] == [0.0] * 167
    w1 = next(w for w in s["levels"]["ward"] if w["area_id"] == "1")
    assert w1["moved"] is None and w1["share_after"] is None


def test_hours_by_hand(client) -> None:
    h = client.get("/api/diversion/hours").json()
    # eligible 911 calls with a place and a time: calls 1 and 2 (call 11 has no date);
    # P1, the crisis team at A's corner, covers them; its hours are not stated: open
    assert h["eligible_calls"] == 2
    recorded = h["scenarios"][0]
    assert recorded["scenario"] == "recorded"
    assert recorded["covered_share"]["value"] == 1.0
    # call 1 Wednesday 2023-03-01 10:00 (hour 2*24+10), call 2 Thursday 10:00 (3*24+10)
    assert recorded["by_hour"][58] == 1.0 and recorded["by_hour"][82] == 1.0
    assert recorded["by_hour"][0] is None  # no call that hour
    assert h["responders"]["hours_stated"] == 0 and h["responders"]["hours_unreadable"] == 0
    closed = client.get("/api/diversion/hours?unknown=closed").json()
    assert closed["scenarios"][0]["covered_share"]["value"] == 0.0
    # a 6 a.m.-10 p.m. team covers both (10:00)
    assert closed["scenarios"][2]["hours"] == "Mo-Su 06:00-22:00"
    assert closed["scenarios"][2]["covered_share"]["value"] == 1.0
    ward = client.get("/api/diversion/hours?level=ward&area=2").json()
    assert ward["eligible_calls"] == 0 and ward["name"] == "Ward 2"
    assert client.get("/api/diversion/hours?level=ward&area=9").status_code == 422
    assert client.get("/api/diversion/hours?level=ward").status_code == 422
    assert client.get("/api/diversion/hours?unknown=maybe").status_code == 422


def test_scenario_by_hand(client) -> None:
    body = {"moves": [{"channel": "behavioral_crisis", "categories": ["behavioral_crisis"]}]}
    r = client.post("/api/diversion/scenario", json=body)
    assert r.status_code == 200, r.text
    s = r.json()
    # police crisis calls 2 and 11 move: 3 of 9 diverted; ward 1: 3 of 5
    assert s["city"]["share_before"] == pytest.approx(1 / 9, abs=1e-6)
    assert s["city"]["share_after"] == pytest.approx(3 / 9, abs=1e-6)
    w1 = next(w for w in s["levels"]["ward"] if w["area_id"] == "1")
    assert (w1["base"], w1["moved"], w1["share_after"]) == (5, 2, 0.6)
    assert s["police_hours_freed_per_year"] > 0 and s["staffing"]["fte"] > 0
    assert "Moving" in s["headline"] and s["moves"][0]["calls_moved"] == 2
    nothing = client.post("/api/diversion/scenario", json={"moves": []}).json()
    assert nothing["changes_nothing"]
    assert nothing["city"]["share_after"] == nothing["city"]["share_before"]
    assert "nothing changes" in nothing["headline"]
    for bad, where in (({"moves": [{"channel": "police", "categories": ["x"]}]}, "channel"),
                       ({"moves": [{"channel": "animal_control"}]}, "needs categories"),
                       ({"shift": {"hours": "whenever"}}, "opening_hours"),
                       ({"minutes": {"behavioral_crisis": 0}}, "minutes"),
                       ({"moves": [], "colour": 1}, "colour")):
        r = client.post("/api/diversion/scenario", json=bad)
        assert r.status_code == 422 and where in r.text, (bad, r.text)


def test_models_follow_the_core() -> None:
    assert tuple(EligibilityCounts.model_fields) == COUNTS
    assert Settings.model_fields["eligibility_model"].annotation.__args__ == MODELS


def test_cli_gives_the_api_answers(client, api_workspace, monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from safetygap.cli import app

    monkeypatch.setenv("SAFETYGAP_PRIVACY_MIN_COUNT", "1")
    ws = str(api_workspace)
    run = CliRunner().invoke
    res = run(app, ["diversion", "scenario", "--workspace", ws, "--move",
                    "behavioral_crisis=behavioral_crisis", "--json"])
    assert res.exit_code == 0, res.output
    body = {"moves": [{"channel": "behavioral_crisis", "categories": ["behavioral_crisis"]}]}
    api = client.post("/api/diversion/scenario", json=body).json()
    assert json.loads(res.stdout)["city"] == api["city"]
    res = run(app, ["diversion", "scenario", "--workspace", ws, "--move",
                    "behavioral_crisis=behavioral_crisis"])
    assert "from 11.1% to 33.3%" in res.output and "Ward 1: 11.1% -> 33.3%" not in res.output
    assert "Ward 1: 20.0% -> 60.0%" in res.output
    res = run(app, ["diversion", "eligibility", "--workspace", ws, "--model", "cahoots"])
    assert res.exit_code == 0 and "Eugene CAHOOTS: 33.3% of calls eligible (3 of 9)" in \
        res.output
    res = run(app, ["diversion", "hours", "--workspace", ws, "--level", "ward", "--area",
                    "1"])
    assert res.exit_code == 0 and "2 eligible calls in Ward 1" in res.output
    for args, words in ((["--move", "behavioral_crisis=police"], "non-police"),
                        (["--move", "behavioral_crisis=boat"], "unknown channel"),
                        (["--move", "behavioral_crisis"], "NAME=VALUE"),
                        (["--minutes", "traffic=soon"], "must be a number"),
                        (["--hours", "whenever"], "opening_hours")):
        res = run(app, ["diversion", "scenario", "--workspace", ws, *args])
        assert res.exit_code == 2 and words in res.output, (args, res.output)


def test_hours_with_stated_opening_hours(tiny_files, tmp_path) -> None:
    """The crisis team P1 works weekday afternoons only (12:00-17:00): the two dated crisis
    calls (Wednesday and Thursday 10:00) arrive while it is closed -> 0 of 2 as recorded,
    2 of 2 with a 24/7 team or a 6 a.m.-10 p.m. one. P2's hours cannot be read."""
    import geopandas as gpd

    from safetygap.inputs import load_preset
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.readmodel import WorkspaceView
    from safetygap.readmodel.diversion import hours_view
    from safetygap.run import run_analysis
    from safetygap.workspace import Workspace

    prov = gpd.read_file(tiny_files["providers"])
    prov["opening_hours"] = ["Mo-Fr 12:00-17:00", "whenever", ""]
    prov.to_file(tiny_files["providers"])
    run_analysis(AnalysisInputs(**tiny_files), tmp_path / "ws", quiet=True,
                 options=AnalysisOptions(columns=load_preset("generic"),
                                         accept_undated=True))  # the tiny city's undated row
    view = WorkspaceView(Workspace.open(tmp_path / "ws"), privacy_min_count=1)
    h = hours_view(view, model="nicjr")
    shares = {s["scenario"]: s["covered_share"]["value"] for s in h["scenarios"]}
    assert shares == {"recorded": 0.0, "24/7": 1.0, "06:00-22:00": 1.0}
    r = h["responders"]
    assert (r["providers"], r["hours_stated"], r["hours_unreadable"]) == (3, 2, 1)
    assert r["hours_unreadable_examples"][0]["opening_hours"] == "whenever"


def test_wkb_points_read_straight_from_the_buffer() -> None:
    import numpy as np
    import pyarrow as pa
    import shapely

    from safetygap.readmodel.diversion import _points_xy

    geoms = [shapely.Point(1.5, -2.25), None, shapely.Point(), shapely.Point(3, 4),
             shapely.LineString([(0, 0), (1, 1)]), shapely.Point(5, 6, 7)]
    wkb = [None if g is None else shapely.to_wkb(g, byte_order=1) for g in geoms]
    wkb[3] = shapely.to_wkb(geoms[3], byte_order=0)  # big-endian: the slow path
    x, y = _points_xy(pa.chunked_array([pa.array(wkb[:2]), pa.array(wkb[2:])]))
    np.testing.assert_array_equal(x, [1.5, np.nan, np.nan, 3.0, np.nan, 5.0])
    np.testing.assert_array_equal(y, [-2.25, np.nan, np.nan, 4.0, np.nan, 6.0])
