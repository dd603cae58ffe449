"""The time the calls cover: first to last date per source, less the gaps.

Rates are per year of *covered* time, not per calendar year that has a call: a file
running from 15 March 2021 to 31 December 2023 covers 2.8 years, not 3; a few calls with
far-off dates (1970, a typo for 2021) no longer rescale every rate; and a month the
export is missing does not count as a month without calls.

For each source (each calls file, or each value of the calls' ``source`` column when
the file mixes exports), with every call that has a date:

* ``first``, ``last``: the first and last calendar day with a call;
* ``gaps``: every run of more than ``gap_days`` (default 7) consecutive days without a
  call between them: in a city's 911 record a week without one call is a hole in the
  data, not a quiet week;
* ``covered_days`` = (last − first + 1) − the days in gaps; ``covered_years`` =
  covered_days / 365.25.

A period's exposure for a source is its covered days inside the period (a calendar year,
or all years) / 365.25. Days are calendar days of the calls' local times.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

DEFAULT_GAP_DAYS = 7
"""Runs of more than this many days without a call are gaps in the data."""
DAYS_PER_YEAR = 365.25
_EPOCH = dt.date(1970, 1, 1)


def day_numbers(times: np.ndarray) -> np.ndarray:
    """Calendar day of each ``datetime64`` value as days since 1970-01-01 (negative
    before 1970); :data:`NO_DAY` for NaT."""
    t = np.asarray(times).astype("datetime64[D]")
    out = t.astype(np.int64)
    out[np.isnat(t)] = NO_DAY
    return out


NO_DAY = np.iinfo(np.int64).min
"""Day number of a call without a date."""


def _date(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(day))


@dataclass(frozen=True)
class Span:
    """The covered time of one source."""

    source: str
    calls: int
    """Calls with a date."""
    first: int | None
    last: int | None
    gaps: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    """(first day, last day) of each gap, day numbers, inclusive."""

    @property
    def span_days(self) -> int:
        return 0 if self.first is None or self.last is None else self.last - self.first + 1

    @property
    def gap_days(self) -> int:
        return sum(b - a + 1 for a, b in self.gaps)

    @property
    def covered_days(self) -> int:
        return self.span_days - self.gap_days

    @property
    def covered_years(self) -> float:
        return self.covered_days / DAYS_PER_YEAR

    def covered_days_in(self, start: int, end: int) -> int:
        """Covered days between day numbers ``start`` and ``end`` (inclusive)."""
        if self.first is None or self.last is None:
            return 0
        lo, hi = max(start, self.first), min(end, self.last)
        if hi < lo:
            return 0
        gap = sum(max(0, min(b, hi) - max(a, lo) + 1) for a, b in self.gaps)
        return hi - lo + 1 - gap

    def covered_years_in_year(self, year: int) -> float:
        """Covered years of calendar year ``year``."""
        start = (dt.date(year, 1, 1) - _EPOCH).days
        end = (dt.date(year, 12, 31) - _EPOCH).days
        return self.covered_days_in(start, end) / DAYS_PER_YEAR

    def to_dict(self) -> dict[str, object]:
        """What the quality report shows (ISO dates, days, years)."""
        return {
            "source": self.source,
            "calls_with_date": self.calls,
            "first": None if self.first is None else _date(self.first).isoformat(),
            "last": None if self.last is None else _date(self.last).isoformat(),
            "span_days": self.span_days,
            "gaps": [{"first": _date(a).isoformat(), "last": _date(b).isoformat(),
                      "days": b - a + 1} for a, b in self.gaps],
            "gap_days": self.gap_days,
            "covered_days": self.covered_days,
            "covered_years": round(self.covered_years, 6),
        }


def covered_span(days: np.ndarray, *, source: str = "calls",
                 gap_days: int = DEFAULT_GAP_DAYS) -> Span:
    """The :class:`Span` of calls on ``days`` (day numbers; :data:`NO_DAY` ignored)."""
    if gap_days < 0:
        raise ValueError(f"gap_days must be >= 0, got {gap_days}")
    d = np.asarray(days, dtype=np.int64)
    d = d[d != NO_DAY]
    return span_of_days(np.unique(d), len(d), source=source, gap_days=gap_days)


def span_of_days(u: np.ndarray, calls: int, *, source: str = "calls",
                 gap_days: int = DEFAULT_GAP_DAYS) -> Span:
    """The :class:`Span` of ``calls`` calls on the distinct days ``u`` (sorted day
    numbers): :func:`covered_span` from the days' set (what a batch-by-batch count keeps)."""
    if gap_days < 0:
        raise ValueError(f"gap_days must be >= 0, got {gap_days}")
    if not len(u):
        return Span(source, 0, None, None)
    step = np.diff(u)
    holes = np.flatnonzero(step - 1 > gap_days)
    gaps = tuple((int(u[i] + 1), int(u[i + 1] - 1)) for i in holes)
    return Span(source, calls, int(u[0]), int(u[-1]), gaps)


def covered_spans(days: np.ndarray, source: np.ndarray, names: list[str], *,
                  gap_days: int = DEFAULT_GAP_DAYS) -> list[Span]:
    """One :class:`Span` per source code 0..len(names)-1 of the calls."""
    source = np.asarray(source)
    return [covered_span(np.asarray(days)[source == i], source=name, gap_days=gap_days)
            for i, name in enumerate(names)]


def period_years(spans: list[Span], periods: tuple[str, ...]) -> np.ndarray:
    """(sources x periods) covered years: all covered time for ``"all"``, the covered
    days inside the calendar year for a year period."""
    out = np.zeros((len(spans), len(periods)))
    for i, s in enumerate(spans):
        for p, period in enumerate(periods):
            out[i, p] = s.covered_years if period == "all" else s.covered_years_in_year(
                int(period))
    return out
