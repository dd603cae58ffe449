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
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from safetygap.errors import Problems
from safetygap.tables import calls as C

__all__ = [
    "ALWAYS",
    "DAYS",
    "HOURS_OF_WEEK",
    "UNKNOWN_HOURS",
    "covered_while_open",
    "hour_of_week",
    "hours_problem",
    "open_at",
    "parse_hours",
    "week_table",
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
    out = (t.day_of_week * 24 + t.hour).to_numpy()
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


def covered_while_open(
    calls: pd.DataFrame,
    providers: pd.DataFrame,
    *,
    covered_by: Callable[[pd.DataFrame, pd.DataFrame], np.ndarray],
    hours: str | None = None,
    unknown: str = "open",
) -> np.ndarray:
    """Per call: a provider that covers it is open at the call's ``time``.

    ``covered_by(calls, providers)`` is the analysis' own coverage (a bool per call: a
    provider that handles the call is within reach; e.g.
    ``lambda c, p: safetygap.pipeline.coverage(c, p, travel, taxonomy)``), so the matching of
    calls to providers stays the analysis' and this function only adds the clock. The
    providers are grouped by their ``opening_hours``; a call is covered when, for some
    group, the group covers it and its hours are open at the call's time. ``hours``
    replaces every provider's hours (a what-if: ``24/7``, ``Mo-Su 06:00-22:00``);
    ``unknown`` is what empty, unparseable or undetermined hours count as.
    """
    out = np.zeros(len(calls), dtype=bool)
    if len(providers) == 0 or len(calls) == 0:
        return out
    if hours is not None:
        texts = pd.Series(hours, index=providers.index)
    elif "opening_hours" in providers:
        texts = providers["opening_hours"].fillna("").astype(str).str.strip()
    else:
        texts = pd.Series("", index=providers.index)
    times = pd.to_datetime(calls[C.TIME]).reset_index(drop=True)
    for text, group in providers.groupby(texts, sort=True):
        reach = np.asarray(covered_by(calls, group), dtype=bool)
        if reach.any():
            idx = np.flatnonzero(reach)
            out[idx] |= open_at(str(text), times.iloc[idx], unknown=unknown)
    return out


def week_table(how: np.ndarray, *, weights: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """Sums per hour of the week (168 values each) of every array of ``weights``, over the
    calls whose hour of the week ``how`` (:func:`hour_of_week`) is known."""
    ok = how >= 0
    return {k: np.bincount(how[ok], weights=np.asarray(w, dtype=float)[ok],
                           minlength=HOURS_OF_WEEK).tolist() for k, w in weights.items()}
