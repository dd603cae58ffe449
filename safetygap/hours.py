"""Opening hours (OpenStreetMap ``opening_hours`` syntax) and the hours of the week.

Providers carry their hours in the ``opening_hours`` column (``Mo-Fr 09:00-17:00``,
``24/7``; the syntax: https://wiki.openstreetmap.org/wiki/Key:opening_hours/specification).
They are parsed with the maintained ``opening-hours-py`` library (a Rust implementation of
the specification). :func:`open_at` says, for each call, whether a set of hours was open
at the call's time, evaluated on the call's own date (weekday, month and week rules all
apply); public-holiday rules (``PH``) are not applied, as the analysis has no holiday
calendar.

A provider whose hours are empty, or cannot be parsed, has *unknown* hours; the caller
decides whether those count as open (the time-blind coverage of the analysis assumes every
provider is always open; see :data:`UNKNOWN_HOURS`).

The hour of the week (:func:`hour_of_week`) numbers the 168 hours from Monday 00:00-00:59
(0) to Sunday 23:00-23:59 (167), in the calls' own wall-clock time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from safetygap.errors import Problems

__all__ = [
    "ALWAYS",
    "DAYS",
    "HOURS_OF_WEEK",
    "UNKNOWN_HOURS",
    "hour_of_week",
    "hours_problem",
    "open_at",
    "parse_hours",
]

HOURS_OF_WEEK = 168
DAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                         "Sunday")
ALWAYS = "24/7"
UNKNOWN_HOURS = ("open", "closed")
"""What unknown hours count as: ``open`` (the default: as the time-blind coverage does, so
the two agree when no provider states its hours) or ``closed``."""


def hours_problem(text: str) -> str | None:
    """Why ``text`` is not valid ``opening_hours`` syntax (the parser's first line), or
    None when it is."""
    import opening_hours

    try:
        opening_hours.OpeningHours(text)
    except (SyntaxError, ValueError, opening_hours.ParserError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        expected = next((ln.lstrip("= ").strip() for ln in lines if ln.startswith("=")), "")
        return f"not opening_hours syntax ({expected or lines[0] if lines else 'unparsed'})"
    return None


def parse_hours(text: str, *, where: str, problems: Problems | None = None) -> bool:
    """Check ``text``; a bad value is added to ``problems`` (or raised alone) naming
    ``where``, the value and an example. True when it parses."""
    why = hours_problem(text)
    if why is None:
        return True
    own = problems if problems is not None else Problems()
    own.add(where, why, value=text,
            allowed="OpenStreetMap opening_hours syntax, e.g. 24/7 or Mo-Fr 09:00-17:00")
    if problems is None:
        own.raise_if_any()
    return False


def hour_of_week(times: pd.Series | np.ndarray) -> np.ndarray:
    """Hour of the week (0 = Monday 00:00-00:59 .. 167 = Sunday 23:00-23:59) of each time,
    -1 where the time is missing."""
    t = pd.DatetimeIndex(pd.to_datetime(pd.Series(times)).to_numpy())
    out = (t.dayofweek * 24 + t.hour).to_numpy()
    return np.where(t.isna(), -1, out).astype(np.int16)


def open_at(text: str, times: Sequence[object] | np.ndarray | pd.Series, *,
            unknown: str = "open") -> np.ndarray:
    """Whether hours ``text`` are open at each of ``times`` (naive wall-clock datetimes).

    Empty or unparseable hours, and a state the expression leaves unknown, count as
    ``unknown`` says (:data:`UNKNOWN_HOURS`); a missing time is never open. The intervals
    of the whole span of ``times`` are computed once and each time found by binary
    search, so millions of times take well under a second.
    """
    import opening_hours

    if unknown not in UNKNOWN_HOURS:
        raise ValueError(f"unknown must be one of {UNKNOWN_HOURS}, got {unknown!r}")
    t = pd.to_datetime(pd.Series(times)).to_numpy(dtype="datetime64[s]")
    valid = ~np.isnat(t)
    fallback = unknown == "open"
    if not str(text).strip() or hours_problem(str(text)) is not None:
        return valid & fallback
    if not valid.any():
        return valid
    lo = pd.Timestamp(t[valid].min()).to_pydatetime()
    hi = pd.Timestamp(t[valid].max()).to_pydatetime() + dt.timedelta(minutes=1)
    starts, states = [], []
    for start, _end, state, _comment in opening_hours.OpeningHours(str(text)).intervals(
            lo, hi):
        starts.append(np.datetime64(start, "s"))
        name = str(state).rsplit(".", 1)[-1].lower()
        states.append(fallback if name == "unknown" else name == "open")
    idx = np.searchsorted(np.array(starts, dtype="datetime64[s]"), t, side="right") - 1
    is_open = np.array([*states, False], dtype=bool)[np.where(idx < 0, len(states), idx)]
    return valid & is_open
