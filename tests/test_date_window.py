"""Calls dated outside the plausible window (default 1990-01-01 through tomorrow) are
counted in quality.json by reason and left out of the areas, the years and every rate."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from safetygap.errors import ValidationError
from safetygap.inputs import load_preset
from safetygap.inputs.date_window import AFTER, BEFORE, INSIDE, DateWindow
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze

GENERIC = load_preset("generic")


def test_window_edges():
    w = DateWindow.of("1990-01-01", "2024-12-31")
    times = pd.Series(pd.to_datetime([
        "1989-12-31T23:59:59", "1990-01-01T00:00:00", "2024-12-31T23:59:59",
        "2025-01-01T00:00:00", None, "1900-06-01T00:00:00", "2200-01-01T00:00:00"]))
    assert w.classify(times).tolist() == [BEFORE, INSIDE, INSIDE, AFTER, INSIDE, BEFORE, AFTER]


def test_default_window_ends_tomorrow():
    w = DateWindow.of(None, None, today=dt.date(2025, 3, 10))
    assert (w.start, w.end) == (dt.date(1990, 1, 1), dt.date(2025, 3, 11))


def test_bad_windows_are_refused_naming_the_option():
    with pytest.raises(ValidationError, match=r"date_from.*not a date"):
        DateWindow.of("01/02/1990", None)
    with pytest.raises(ValidationError, match=r"date_to.*ends before it starts"):
        DateWindow.of("2020-01-01", "2019-12-31")
    with pytest.raises(ValidationError, match="date_to"):
        AnalysisOptions(date_to="tomorrow").validate()


@pytest.fixture
def far_dates(tiny_files, tmp_path):
    """The tiny city's calls plus two Shootings in A dated 1900 and 2200."""
    calls = pd.read_csv(tiny_files["calls"], dtype=str)
    extra = calls.iloc[[0, 0]].copy()
    extra["id"], extra["call_type"], extra["agency"] = ["90", "91"], "Shooting (P)", "POLICE"
    extra["time"] = ["1900-01-01T12:00:00", "2200-01-01T12:00:00"]
    p = tmp_path / "calls_far.csv"
    pd.concat([calls, extra]).to_csv(p, index=False)
    return AnalysisInputs(**{**tiny_files, "calls": p})


def test_far_dates_are_counted_and_left_out_of_rates(tiny_files, far_dates):
    opts = AnalysisOptions(columns=GENERIC, accept_undated=True)  # its one undated row of 11
    base = analyze(AnalysisInputs(**tiny_files), options=opts)
    far = analyze(far_dates, options=opts)
    q = far.quality["calls"]
    assert q["status_counts"]["date_outside_window"] == 2
    assert q["input_rows"] == 13 and sum(q["status_counts"].values()) == 13
    window = q["date_window"]
    assert (window["before"], window["after"], window["outside"]) == (1, 1, 2)
    assert [(e["row"], e["id"], e["reason"]) for e in window["examples"]] == [
        (12, "90", "before"), (13, "91", "after")]
    assert far.summary["years"] == base.summary["years"] == [2023, 2024]
    # the rates are those of the run without the two rows (a second, independent run)
    for col in ("rate_total", "rate_response", "calls_total"):
        assert np.allclose(far.neighborhoods[col].to_numpy(float),
                           base.neighborhoods[col].to_numpy(float), equal_nan=True), col
    status = far.calls.set_index("call_id")["status"]
    assert status["90"] == status["91"] == "date_outside_window"
    flags = far.calls.set_index("call_id")["flag_date_outside_window"]
    assert flags["90"] and flags["91"] and int(flags.sum()) == 2
    assert q["flag_counts"]["date_outside_window"] == 2


def test_the_window_is_a_setting(far_dates):
    wide = analyze(far_dates, options=AnalysisOptions(
        columns=GENERIC, accept_undated=True, date_from="1800-01-01", date_to="2300-01-01"))
    q = wide.quality["calls"]
    assert q["status_counts"]["date_outside_window"] == 0
    assert q["date_window"]["from"] == "1800-01-01"
    assert wide.summary["years"] == [1900, 2023, 2024, 2200]
