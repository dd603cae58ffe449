"""Covered time per source, with gaps, by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from safetygap.geo.timespan import (
    NO_DAY,
    covered_span,
    covered_spans,
    day_numbers,
    period_years,
)


def _days(*dates: str) -> np.ndarray:
    return day_numbers(np.array(dates, dtype="datetime64[ns]"))


def test_day_numbers():
    d = day_numbers(np.array(["1970-01-02T23:59", "NaT", "1969-12-31"], dtype="datetime64[ns]"))
    assert list(d) == [1, NO_DAY, -1]


def test_span_without_gaps_by_hand():
    s = covered_span(_days("2021-03-15", "2021-03-20", "2021-03-15", "NaT"))
    assert s.calls == 3 and s.span_days == 6 and s.gaps == () and s.covered_days == 6
    assert s.covered_years == pytest.approx(6 / 365.25)


def test_far_off_dates_become_gaps_not_years():
    # three years of daily calls and one call dated 1970: without gap detection the span
    # would be 54 years; with it the 1970 day counts as one day
    days = np.arange(_days("2021-01-01")[0], _days("2023-12-31")[0] + 1)
    s = covered_span(np.concatenate([days, _days("1970-01-01")]))
    assert len(s.gaps) == 1
    assert s.covered_days == len(days) + 1
    d = s.to_dict()
    assert d["first"] == "1970-01-01" and d["gaps"][0]["first"] == "1970-01-02"
    assert d["gaps"][0]["last"] == "2020-12-31"


def test_gap_threshold_and_years():
    # daily calls through 2022 except 10 missing days in March (gap) and 5 in May (not)
    days = np.arange(_days("2022-01-01")[0], _days("2022-12-31")[0] + 1)
    mar = (days >= _days("2022-03-01")[0]) & (days <= _days("2022-03-10")[0])
    may = (days >= _days("2022-05-01")[0]) & (days <= _days("2022-05-05")[0])
    s = covered_span(days[~mar & ~may], gap_days=7)
    assert s.gaps == ((int(_days("2022-03-01")[0]), int(_days("2022-03-10")[0])),)
    assert s.covered_days == 365 - 10
    assert s.covered_years_in_year(2022) == pytest.approx(355 / 365.25)
    assert s.covered_years_in_year(2021) == 0.0
    assert covered_span(days[~mar & ~may], gap_days=4).covered_days == 365 - 15
    with pytest.raises(ValueError):
        covered_span(days, gap_days=-1)


def test_spans_per_source_and_period_years():
    days = _days("2021-07-01", "2022-06-30", "2022-01-01", "2022-01-02")
    src = np.array([0, 0, 1, 1])
    a, b = covered_spans(days, src, ["911", "311"], gap_days=400)
    assert a.covered_days == 365 and b.covered_days == 2
    years = period_years([a, b], ("all", "2021", "2022"))
    assert years[0] == pytest.approx([365 / 365.25, 184 / 365.25, 181 / 365.25])
    assert years[1] == pytest.approx([2 / 365.25, 0.0, 2 / 365.25])
    empty = covered_span(np.array([NO_DAY]))
    assert empty.first is None and empty.covered_days == 0
    assert empty.to_dict()["first"] is None
    assert dt.date(2021, 7, 1).isoformat() == a.to_dict()["first"]
