"""The plausible window of call dates: parsed dates outside it are counted, not used.

A call dated 1900 or 2200 (a typing slip, a default value of the source system) would
add a calendar year to the analysis and rescale every per-year rate. Dates are checked
after parsing (:func:`safetygap.inputs.calls.parse_times`), independently of it: a row
whose date parses but falls outside the window gets the status
``date_outside_window`` (left out of the areas and so of every rate), and
``quality.json`` counts those rows by reason (``before`` the window, ``after`` it) with
examples. The window is a setting: from :data:`DEFAULT_DATE_FROM` through tomorrow by
default (tomorrow so that wall-clock times of any time zone pass).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from safetygap.errors import Problems, option

DEFAULT_DATE_FROM = "1990-01-01"
"""First plausible call date (ISO): computer-aided dispatch exports start in the 1990s."""
INSIDE, BEFORE, AFTER = 0, 1, 2
REASONS = {BEFORE: "before", AFTER: "after"}
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class DateWindow:
    """Call times from ``start`` 00:00 through the whole day ``end`` are plausible."""

    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, date_from: str | dt.date | None, date_to: str | dt.date | None, *,
           today: dt.date | None = None) -> DateWindow:
        """The window from two ISO dates (``date_from`` None: :data:`DEFAULT_DATE_FROM`;
        ``date_to`` None: the day after ``today``, default today). A ValidationError
        names a date that is not ISO ``YYYY-MM-DD`` or a window that ends before it
        starts."""
        problems = Problems()
        days: dict[str, dt.date | None] = {}
        for name, value in (("date_from", date_from or DEFAULT_DATE_FROM),
                            ("date_to", date_to)):
            if value is None or isinstance(value, dt.date):
                days[name] = value
                continue
            try:
                days[name] = dt.date.fromisoformat(str(value))
            except ValueError:
                problems.add(name, "not a date", value=value, allowed="YYYY-MM-DD")
        problems.raise_if_any()
        start = days["date_from"]
        end = days["date_to"] or (today or dt.date.today()) + dt.timedelta(days=1)
        assert start is not None
        if end < start:
            problems.add("date_to", f"the date window ends before it starts ({start})",
                         value=end.isoformat())
        problems.raise_if_any()
        return cls(start, end)

    def classify(self, times: pd.Series) -> np.ndarray:
        """Per call time: :data:`INSIDE`, :data:`BEFORE` or :data:`AFTER` the window
        (int8; missing times are INSIDE: they are the parser's ``unparseable_date``)."""
        # in seconds: a window edge past 2262 does not fit in nanoseconds
        t = pd.Series(times).to_numpy(dtype="datetime64[ns]").astype("datetime64[s]")
        lo = np.datetime64(self.start.isoformat(), "s")
        hi = np.datetime64((self.end + dt.timedelta(days=1)).isoformat(), "s")
        out = np.full(len(t), INSIDE, dtype=np.int8)
        known = ~np.isnat(t)
        out[known & (t < lo)] = BEFORE
        out[known & (t >= hi)] = AFTER
        return out

    def quality(self, where: np.ndarray, rows: np.ndarray, ids: pd.Series,
                times: pd.Series) -> dict[str, Any]:
        """The ``quality.json`` entry: the window, rows outside it by reason, examples."""
        out: dict[str, Any] = {"from": self.start.isoformat(), "to": self.end.isoformat(),
                               "outside": int((where != INSIDE).sum())}
        for code, reason in REASONS.items():
            out[reason] = int((where == code).sum())
        idx = np.flatnonzero(where != INSIDE)[:MAX_EXAMPLES]
        out["examples"] = [
            {"row": int(rows[i]), "id": None if pd.isna(ids.iat[i]) else str(ids.iat[i]),
             "reason": REASONS[int(where[i])],
             "value": pd.Timestamp(times.iat[i]).isoformat()} for i in idx]
        out["note"] = ("calls dated outside the window are left out of the areas and of every "
                       "rate (status date_outside_window); the window is a setting "
                       f"(SAFETYGAP_DATE_FROM, SAFETYGAP_DATE_TO, {option('date_from')}, "
                       f"{option('date_to')})")
        return out
