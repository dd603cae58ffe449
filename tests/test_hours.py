"""Opening hours (OpenStreetMap syntax, parsed with opening-hours-py) and coverage by the
hour of the week, checked against hand-worked cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import CRS, X0, Y0

from safetygap.errors import ValidationError
from safetygap.geo.travel import Travel
from safetygap.hours import (
    covered_while_open,
    hour_of_week,
    hours_problem,
    open_at,
    parse_hours,
    week_table,
)
from safetygap.pipeline import coverage
from safetygap.taxonomy import load_taxonomy

# Monday 2024-01-08 .. Sunday 2024-01-14
TIMES = pd.to_datetime(["2024-01-08 10:00", "2024-01-08 20:00", "2024-01-08 23:00",
                        "2024-01-13 10:00", "2024-01-14 01:30", None])


def test_hour_of_week() -> None:
    # Monday 10:00 -> 10; Monday 20:00 -> 20; 23:00 -> 23; Saturday 10:00 -> 5*24+10;
    # Sunday 01:30 -> 6*24+1; missing -> -1
    assert hour_of_week(TIMES).tolist() == [10, 20, 23, 130, 145, -1]


@pytest.mark.parametrize(("hours", "expected"), [
    ("24/7", [True, True, True, True, True, False]),
    ("Mo-Fr 09:00-17:00", [True, False, False, False, False, False]),
    ("Mo-Su 06:00-22:00", [True, True, False, True, False, False]),
    # an evening team past midnight: Sunday 01:30 is Saturday night's shift
    ("Mo-Su 18:00-02:00", [False, True, True, False, True, False]),
    ("", [True, True, True, True, True, False]),           # unknown -> open (default)
    ("whenever", [True, True, True, True, True, False]),   # unparseable -> unknown
])
def test_open_at_by_hand(hours: str, expected: list[bool]) -> None:
    assert open_at(hours, TIMES).tolist() == expected


def test_unknown_hours_closed_and_parsing_messages() -> None:
    assert not open_at("", TIMES, unknown="closed").any()
    assert hours_problem("Mo-Fr 09:00-17:00") is None
    assert "not opening_hours syntax" in hours_problem("whenever")
    with pytest.raises(ValidationError, match="'Mo-Fr 25:00-26:00'"):
        parse_hours("Mo-Fr 25:00-26:00", where="providers row 3 opening_hours")
    with pytest.raises(ValueError, match="unknown must be"):
        open_at("24/7", TIMES, unknown="maybe")


def _providers(rows: list[tuple[str, float, float, float, str]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=["family", "x", "y", "catchment_m", "opening_hours"])
    # the service types that handle the calls below: crisis teams, youth programs
    frame["service_type"] = frame["family"].map({"response": "bcr_team",
                                                 "prevention": "youth_program"})
    return gpd.GeoDataFrame(frame.drop(columns=["x", "y"]), crs=CRS,
                            geometry=gpd.points_from_xy(frame["x"] + X0, frame["y"] + Y0))


def test_coverage_by_the_hour_by_hand() -> None:
    """Four crisis calls (family response) at (100, 100), and one prevention call.

    P1 response, at the origin, 6000 m catchment, Mo-Fr 09:00-17:00: in reach of every
    response call, open only for the Monday 10:00 one.
    P2 response, 50 km away, 24/7: open, never in reach.
    P3 prevention, at the origin, 24/7: in reach, but not of the response family.

    As recorded: [Mon 10:00 yes, Mon 20:00 no, Mon 23:00 no, Sat 10:00 no] -> 1 of 4.
    A 6 a.m.-10 p.m. team instead: Mon 10:00, Mon 20:00 and Sat 10:00 -> 3 of 4.
    24/7: 4 of 4. The prevention call is covered by P3 at Sunday 01:30 (24/7).
    """
    calls = pd.DataFrame({
        "x": np.full(5, X0 + 100.0), "y": np.full(5, Y0 + 100.0),
        "family_code": [0, 0, 0, 0, 1],  # response, ..., prevention
        "category": ["behavioral_crisis"] * 4 + ["violence"],
        "time": TIMES[:5]})
    prov = _providers([("response", 0, 0, 6000, "Mo-Fr 09:00-17:00"),
                       ("response", 50_000, 0, 6000, "24/7"),
                       ("prevention", 0, 0, 6000, "24/7")])
    travel = Travel("straight")
    taxonomy = load_taxonomy()

    def by(c: pd.DataFrame, p: pd.DataFrame) -> np.ndarray:
        return coverage(c, p, travel, taxonomy)

    assert covered_while_open(calls, prov, covered_by=by).tolist() == [
        True, False, False, False, True]
    assert covered_while_open(calls, prov, covered_by=by, hours="Mo-Su 06:00-22:00"
                              ).tolist() == [True, True, False, True, False]
    assert covered_while_open(calls, prov, covered_by=by, hours="24/7").all()
    # time-blind coverage (the analysis'): every call covered
    assert coverage(calls, prov, travel, taxonomy).all()
    # a provider with no stated hours: open (default) or closed
    blank = _providers([("response", 0, 0, 6000, "")])
    assert covered_while_open(calls, blank, covered_by=by)[:4].all()
    assert not covered_while_open(calls, blank, covered_by=by, unknown="closed").any()
    table = week_table(hour_of_week(calls["time"]), weights={
        "calls": np.ones(5), "covered": covered_while_open(calls, prov, covered_by=by)})
    assert table["calls"][10] == table["covered"][10] == 1
    assert table["calls"][20] == 1 and table["covered"][20] == 0
    assert sum(table["calls"]) == 5 and sum(table["covered"]) == 2
