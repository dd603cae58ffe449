"""The path to 20%: moving calls to non-police channels, worked out by hand on a tiny week
of calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from safetygap.diversion_scenario import (
    Move,
    ShiftPattern,
    load_time_on_task,
    run_scenario,
    wilson_interval,
)
from safetygap.errors import ValidationError

# One week, Monday 2023-01-02 to Sunday 2023-01-08 (7 days: 7 / 365.25 years, 1 week).
#   ward 1: 1 BCR call (diverted); 4 welfare checks (behavioral_crisis) at 03:00, 03:00,
#           10:00, 10:00 Monday; 3 disturbances (quality_of_life); 2 shootings; 1 fire call
#           (outside the denominator)                                  base 10, diverted 1
#   ward 2: 1 welfare check Tuesday 12:00, 4 shootings                  base 5, diverted 0
#   ward 3: 3 shootings                                                 base 3, diverted 0
ROWS = (
    [("1", "Behavioral Crisis Welfare Ck", "behavioral_crisis", "behavioral_crisis",
      "2023-01-02 09:00")]
    + [("1", "Check the Welfare (P)", "behavioral_crisis", "police", t) for t in
       ("2023-01-02 03:00", "2023-01-02 03:30", "2023-01-02 10:00", "2023-01-02 10:30")]
    + [("1", "Disturbance (P)", "quality_of_life", "police", "2023-01-05 20:00")] * 3
    + [("1", "Shooting (P)", "violence", "police", "2023-01-08 23:00")] * 2
    + [("1", "Heart (FE)", "medical_fire", "fire_ems", "2023-01-06 12:00")]
    + [("2", "Check the Welfare (P)", "behavioral_crisis", "police", "2023-01-03 12:00")]
    + [("2", "Shooting (P)", "violence", "police", "2023-01-07 01:00")] * 4
    + [("3", "Shooting (P)", "violence", "police", "2023-01-04 02:00")] * 3
)


@pytest.fixture
def calls() -> pd.DataFrame:
    f = pd.DataFrame(ROWS, columns=["ward_id", "call_type", "category", "channel", "time"])
    f["time"] = pd.to_datetime(f["time"])
    f["diverted"] = f["channel"] == "behavioral_crisis"
    f["diversion_base"] = f["channel"] != "fire_ems"
    f["neighborhood_id"] = "N" + f["ward_id"]
    return f


CRISIS = Move("behavioral_crisis", categories=("behavioral_crisis",))


def _ward(result: dict, ward: str) -> dict:
    return next(r for r in result["levels"]["ward"] if r["area_id"] == ward)


def test_a_scenario_that_moves_nothing_changes_nothing(calls: pd.DataFrame) -> None:
    for moves in ([], [Move("behavioral_crisis", categories=("behavioral_crisis",),
                            share=0.0)],
                  [Move("traffic_control", categories=("traffic",))]):  # no such calls
        r = run_scenario(calls, moves)
        assert r["changes_nothing"]
        assert r["city"]["share_after"] == r["city"]["share_before"] == round(1 / 18, 6)
        assert r["city"]["interval_after"] == r["city"]["interval_before"]
        for level in ("ward", "neighborhood"):
            for row in r["levels"][level]:
                assert row["share_after"] == row["share_before"] and row["moved"] == 0
        assert r["police_hours_freed_per_year"] == 0
        assert r["staffing"]["fte"] == 0 and r["staffing"]["responder_hours_per_year"] == 0
        assert not any(r["hour_of_week"]["moved_per_week"])
        assert all(v["before"] == v["after"] for v in r["by_channel"].values())


def test_moving_crisis_calls_by_hand(calls: pd.DataFrame) -> None:
    r = run_scenario(calls, [CRISIS])
    # city: base 18 (the fire call is out), 1 diverted; 5 welfare checks move -> 6 / 18
    c = r["city"]
    assert (c["base"], c["diverted_before"], c["moved"]) == (18, 1, 5)
    assert c["share_before"] == round(1 / 18, 6) and c["share_after"] == round(6 / 18, 6)
    assert c["reaches_target"]
    assert [(_ward(r, w)["share_after"], _ward(r, w)["reaches_target"]) for w in "123"] == [
        (0.5, True), (0.2, True), (0.0, False)]  # ward 2: 1 / 5 is the target exactly
    assert r["by_channel"]["police"] == {"before": 17, "after": 12}
    assert r["by_channel"]["behavioral_crisis"] == {"before": 1, "after": 6}
    # moved per hour of the week (one week of data): Monday 03:00 (2), Monday 10:00 (2),
    # Tuesday 12:00 (1)
    week = r["hour_of_week"]["moved_per_week"]
    assert week[3] == week[10] == 2 and week[24 + 12] == 1 and sum(week) == 5
    assert r["hour_of_week"]["busiest_hour"] == 3
    # time on task (packaged): 30 responder minutes (STAR), 35 police minutes, 1 officer;
    # 7 days = 7 / 365.25 years
    years = 7 / 365.25
    s = r["staffing"]
    assert s["team_hours_per_year"] == pytest.approx(5 * 0.5 / years, abs=0.05)
    assert s["responder_hours_per_year"] == pytest.approx(2 * 5 * 0.5 / years, abs=0.05)
    on_duty = 10 * 4 * 365.25 / 7 * 0.75  # a full-time post's on-duty hours a year
    assert s["fte_for_workload"] == pytest.approx(2 * 5 * 0.5 / years / on_duty, abs=0.01)
    # one 2-person team on duty all 168 hours of every week
    assert s["fte_to_keep_one_team_on_duty"] == pytest.approx(
        168 * 365.25 / 7 * 2 / on_duty, abs=0.01)
    assert s["fte"] == s["fte_to_keep_one_team_on_duty"]
    assert r["police_hours_freed_per_year"] == pytest.approx(5 * 35 / 60 / years, abs=0.05)
    assert r["time_on_task"]["categories"][0]["responder_source"].startswith("CBS Colorado")


def test_hours_share_and_what_reaches_the_target(calls: pd.DataFrame) -> None:
    # a 6 a.m.-10 p.m. team: the two 03:00 welfare checks stay with police
    r = run_scenario(calls, [CRISIS], shift=ShiftPattern(hours="Mo-Su 06:00-22:00"))
    assert r["city"]["moved"] == 3 and _ward(r, "1")["share_after"] == 0.3
    # the team's 16 hours a day: 16 * 7 hours a week on duty
    assert r["staffing"]["on_duty_hours_per_week"] == 112
    # half of each category
    r = run_scenario(calls, [Move("behavioral_crisis", categories=("behavioral_crisis",),
                                  share=0.5)])
    assert r["city"]["moved"] == 2.5 and r["city"]["diverted_after"] == 3.5
    # nothing moved: what takes each ward to 20%? Ward 1 needs 2 * 10 * 0.2 - 1 = 1 more
    # diverted call; its NICJR-eligible police calls: 4 crisis (tier 2), 3 disturbances
    # (tier 2): the largest category suffices. Ward 2 needs 1: its crisis call. Ward 3
    # has only shootings (tier 4): out of reach.
    r = run_scenario(calls, [])
    assert _ward(r, "1")["to_target"] == {"categories": ["behavioral_crisis"],
                                          "reachable": True, "share": 0.5,
                                          "calls_needed": 1}
    assert _ward(r, "2")["to_target"]["categories"] == ["behavioral_crisis"]
    assert _ward(r, "3")["to_target"] == {"categories": [], "reachable": False,
                                          "share": 0.0, "calls_needed": 1}
    # a whole model: Denver STAR's eligible calls (welfare checks, disturbances)
    r = run_scenario(calls, [Move("behavioral_crisis", model="star")])
    assert r["city"]["moved"] == 8 and r["moves"][0]["words"].startswith("the calls")


def test_bad_settings_are_named() -> None:
    calls = pd.DataFrame({"ward_id": [], "neighborhood_id": [], "call_type": [],
                          "category": [], "channel": [], "time": [], "diverted": [],
                          "diversion_base": []})
    with pytest.raises(ValidationError) as err:
        run_scenario(calls, [Move("police", categories=("x",)), Move("traffic_control"),
                             Move("animal_control", categories=("animal",), share=2)],
                     shift=ShiftPattern(hours="sometimes", team_size=0), target=2)
    text = str(err.value)
    for part in ("moves[0]", "non-police", "moves[1]", "needs categories", "moves[2]",
                 "share must be", "shift pattern hours", "team_size", "target"):
        assert part in text, part
    with pytest.raises(ValidationError, match="responder minutes behavioral_crisis"):
        load_time_on_task(responder={"behavioral_crisis": -5})


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (45, 300)])
def test_wilson_interval_against_scipy(k: int, n: int) -> None:
    lo, hi = wilson_interval(k, n)
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert (float(lo), float(hi)) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert np.isnan(wilson_interval(0, 0)[0])
