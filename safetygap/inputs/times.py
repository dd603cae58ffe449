"""Call times: the forms safetygap reads, detecting the form of a file, and parsing it.

A calls file writes its times in one form. ``time_format`` (a column-map field, a
``[calls]`` key of a city configuration, ``--time-format``) names it:

===================  ============================================================
``auto``             detect the form on a sample of the file (the default)
``iso``              ISO 8601, with or without a zone: ``2018-04-12T12:50:17``,
                     ``2018-04-12 12:50``, ``2018-04-12T17:50:17Z``,
                     ``2018-04-12T12:50:17-05:00``, ``2018-04-12``
``us_12h``           month first, 12-hour clock: ``04/12/2018 12:50:17 PM``,
                     ``4/12/2018 1:05 AM``
``us_24h``           month first, 24-hour clock: ``04/12/2018 13:50``,
                     ``04/12/2018 13:50:17``, ``04/12/2018`` (no time)
``day_first_12h``    day first, 12-hour clock: ``12/04/2018 12:50:17 PM``
``day_first_24h``    day first, 24-hour clock: ``12/04/2018 13:50``
``year_first``       ``2018/04/12 13:50:17`` (a ``+00`` zone suffix allowed)
``epoch_s``          seconds since 1970-01-01 (``1523537417``)
``epoch_ms``         milliseconds since 1970-01-01 (``1523537417000``)
a strftime pattern   anything containing ``%``, e.g. ``%Y%m%d %H%M``
===================  ============================================================

Seconds are optional in every named clock form. A date and a time of day in two
columns are joined with a space first (``"04/12/2018" + " " + "12:50:17 PM"``) and
read as one value. Zones are dropped: times are kept as the wall-clock time written
(see :func:`parse_times`).

:func:`detect_time_form` looks at up to :data:`SAMPLE` values and picks the form that
fits most of them (the values it does not fit are undated, and counted: see
:func:`safetygap.inputs.calls.check_undated`). A slash date whose two first numbers are
never above 12 in the sample could be month-first or day-first: it is refused, naming
both choices; so are values no form fits, with examples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd

from safetygap.defaults import UNDATED_MAX_SHARE as _DEFAULT_UNDATED_MAX_SHARE
from safetygap.errors import Problems, ValidationError
from safetygap.errors import option as mark_option
from safetygap.inputs.files import to_float

__all__ = [
    "AUTO",
    "FORM_WORDS",
    "NAMED_FORMS",
    "SAMPLE",
    "TimeForm",
    "check_time_format",
    "detect_time_form",
    "parse_times",
]

AUTO = "auto"
"""``time_format`` value asking for detection."""

FORM_WORDS: dict[str, str] = {
    "iso": "ISO 8601 (2018-04-12T12:50:17, zone optional)",
    "us_12h": "US month/day/year, 12-hour clock with AM/PM (04/12/2018 12:50:17 PM)",
    "us_24h": "US month/day/year, 24-hour clock (04/12/2018 13:50)",
    "day_first_12h": "day/month/year, 12-hour clock with AM/PM (12/04/2018 12:50:17 PM)",
    "day_first_24h": "day/month/year, 24-hour clock (12/04/2018 13:50)",
    "year_first": "year/month/day, 24-hour clock (2018/04/12 13:50:17)",
    "epoch_s": "seconds since 1970-01-01 (1523537417)",
    "epoch_ms": "milliseconds since 1970-01-01 (1523537417000)",
}
"""The named forms, in words with an example."""

NAMED_FORMS: tuple[str, ...] = tuple(FORM_WORDS)

# strftime patterns tried in order for each named clock form (seconds optional)
_PATTERNS: dict[str, tuple[str, ...]] = {
    "us_12h": ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p"),
    "us_24h": ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y"),
    "day_first_12h": ("%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M %p"),
    "day_first_24h": ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"),
    "year_first": ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d"),
}

SAMPLE = 2000
"""Values :func:`detect_time_form` looks at (spread evenly over the values given)."""

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
                  r"\s*(Z|[+-]\d{2}(:?\d{2})?)?$", re.IGNORECASE)
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?"
                    r"\s*([AaPp]\.?[Mm]\.?)?)?$")
_ISO_ZONE = (r"([T ])(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_YEAR_FIRST = re.compile(r"^\d{4}/\d{1,2}/\d{1,2}( \d{1,2}:\d{2}(:\d{2})?(\+00)?)?$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_EPOCH_S = (0.0, 4.1e9)  # 1970 .. 2100
_EPOCH_MS = (1e11, 4.1e12)  # 1973 .. 2100


@dataclass(frozen=True)
class TimeForm:
    """The form the call times were read with, and how it was chosen."""

    form: str
    """A name of :data:`NAMED_FORMS`, or the strftime pattern given."""
    detected: bool
    """True when :func:`detect_time_form` chose it; False when it was given."""
    sampled: int = 0
    """Values looked at to detect it (0 when given)."""
    fitting: int = 0
    """Of those, the values the form fits."""
    column: str = ""
    """The source column(s) of the time, e.g. ``"date+time"``."""

    @property
    def words(self) -> str:
        return FORM_WORDS.get(self.form, f"the pattern {self.form!r}")

    def describe(self) -> str:
        """One line for the progress output and quality.json."""
        how = (f"detected on {self.sampled:,} sampled values" if self.detected
               else "as configured")
        return f"{self.column or 'time'}: {self.words} ({self.form}), {how}"

    def to_dict(self) -> dict[str, object]:
        return {"form": self.form, "words": self.words, "detected": self.detected,
                "sampled": self.sampled, "fitting": self.fitting, "column": self.column,
                "description": self.describe()}


def check_time_format(value: str, where: str, problems: Problems) -> None:
    """Add a problem when ``value`` is neither ``auto``, a named form nor a strftime
    pattern."""
    if value == AUTO or value in NAMED_FORMS or "%" in value:
        return
    problems.add(where, "unknown time format", value=value,
                 allowed=[AUTO, *NAMED_FORMS, "a strftime pattern such as %Y-%m-%d %H:%M"])


def _sample(values: pd.Series) -> list[str]:
    text = pd.Series(values).dropna().astype(str).str.strip()
    text = text[text != ""]
    if len(text) > SAMPLE:
        text = text.iloc[np.linspace(0, len(text) - 1, SAMPLE).astype(int)]
    return text.tolist()


def detect_time_form(values: pd.Series, *, column: str,
                     option: str = mark_option("time_format"), what: str = "calls"
                     ) -> TimeForm:
    """The named form most sampled values of ``values`` fit (see module docstring).

    Raises a ValidationError naming ``what`` (the file), ``column``, three example values
    and ``option`` when no value is present, when no form fits any, or when a slash date
    could be month-first or day-first (both choices named).
    """
    sample = _sample(values)
    problems = Problems()
    where = f"{what} column {column!r}"
    if not sample:
        problems.add(where, "no time values to read: every value is empty",
                     allowed=f"a column holding the call times ({option})")
        problems.raise_if_any()
    numbers = [float(s) for s in sample if _NUMBER.match(s)]
    nums = np.array(numbers)
    slash = [m for m in (_SLASH.match(s) for s in sample) if m]
    fits = {
        "epoch_ms": int(((nums >= _EPOCH_MS[0]) & (nums <= _EPOCH_MS[1])).sum()),
        "epoch_s": int(((nums >= _EPOCH_S[0]) & (nums < _EPOCH_MS[0])).sum()),
        "iso": sum(bool(_ISO.match(s)) for s in sample),
        "year_first": sum(bool(_YEAR_FIRST.match(s)) for s in sample),
        "slash": len(slash),
    }
    best = max(fits, key=lambda k: fits[k])
    if fits[best] == 0:
        return _no_form(sample, where, option, problems, "no known form fits the values")
    if best == "slash":
        form = _slash_form(slash, sample, where, option, problems)
        return TimeForm(form, True, len(sample), len(slash), column)
    return TimeForm(best, True, len(sample), fits[best], column)


def _slash_form(matches: list[re.Match[str]], sample: list[str], where: str, option: str,
                problems: Problems) -> str:
    """The slash form of the values that have one: 12-hour clock when most have AM/PM;
    month-first or day-first (refused when the sample cannot tell, or fits neither)."""
    first = np.array([int(m.group(1)) for m in matches])
    second = np.array([int(m.group(2)) for m in matches])
    twelve = 2 * sum(m.group(7) is not None for m in matches) > len(matches)
    month_first = bool((second > 12).any())
    day_first = bool((first > 12).any())
    suffix = "12h" if twelve else "24h"
    us, eu = f"us_{suffix}", f"day_first_{suffix}"
    if month_first and day_first:
        return _no_form(sample, where, option, problems,
                        "both the first and the second number exceed 12 in some values: "
                        "neither month-first nor day-first fits every value")
    if not month_first and not day_first:
        ex = ", ".join(repr(m.group(0)) for m in matches[:3])
        problems.add(where, "ambiguous dates: in every sampled value both the first and the "
                     "second number are 12 or less, so month-first (US) and day-first "
                     f"cannot be told apart (e.g. {ex})",
                     allowed=f"{_set(option, us)} ({FORM_WORDS[us]}) or "
                             f"{_set(option, eu)} ({FORM_WORDS[eu]})")
        problems.raise_if_any()
    return us if month_first else eu


def _set(option: str, value: str) -> str:
    """``option`` given ``value``: ``option `time_format` us_24h``, or with an option that
    ends in ``=`` (a field of a mapping) ``...time_format=us_24h``."""
    return option + value if option.endswith("=") else f"{option} {value}"


def _no_form(bad: list[str], where: str, option: str, problems: Problems, why: str
             ) -> NoReturn:
    ex = ", ".join(repr(s) for s in bad[:3])
    problems.add(where, f"cannot tell the time format: {why} (e.g. {ex})",
                 allowed=f"{_set(option, 'FORM')} with FORM one of {', '.join(NAMED_FORMS)}, "
                         "or a strftime pattern such as %Y-%m-%d %H:%M")
    raise ValidationError(problems.items)


def parse_times(raw: pd.Series, fmt: str) -> tuple[pd.Series, np.ndarray]:
    """Parse call times; returns (naive datetime64[ns] Series, mask of undated rows).

    ``fmt`` is a named form (:data:`NAMED_FORMS`) or a strftime pattern (not ``auto``:
    detect first). Missing values count as undated too (a call without a time cannot be
    placed in a year). Time zones are dropped: wall-clock times are kept as written,
    which matches the city's layer (local time labelled UTC).
    """
    raw = pd.Series(raw).reset_index(drop=True)
    if fmt in ("epoch_ms", "epoch_s"):
        num = pd.Series(to_float(raw))
        unit = "ms" if fmt == "epoch_ms" else "s"
        # bound to years 1900..2200 so garbage numbers do not overflow
        lo, hi = (-2.2e12, 7.2e12) if unit == "ms" else (-2.2e9, 7.2e9)
        num = num.where((num >= lo) & (num <= hi))
        times = _whole_epoch(num.to_numpy(), unit)
        if times is None:  # fractions: pandas' own rounding
            times = pd.to_datetime(num, unit=unit, errors="coerce")
    else:
        text = raw.astype("string")
        codes, uniques = pd.factorize(text)
        uniq = pd.Series(uniques, dtype="string")
        parsed = _parse_unique(uniq, fmt)
        vals = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
        has = codes >= 0
        vals[has] = parsed[codes[has]]
        times = pd.Series(vals)
    times = pd.Series(times.to_numpy(dtype="datetime64[ns]"))
    bad = times.isna().to_numpy()
    return times, bad


_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000}


def _whole_epoch(num: np.ndarray, unit: str) -> pd.Series | None:
    """Whole numbers of ``unit`` since 1970 (NaN: missing) as datetime64[ns], by integer
    arithmetic: what ``pd.to_datetime(num, unit=unit)`` gives, without its per-value
    conversion. None when some value has a fraction (then pandas rounds it)."""
    ok = ~np.isnan(num)
    whole = num[ok]
    if not np.array_equal(whole, np.floor(whole)):
        return None
    ns = np.full(len(num), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    ns[ok] = whole.astype(np.int64) * _NS_PER[unit]
    return pd.Series(ns.view("datetime64[ns]"))


def _parse_unique(uniq: pd.Series, fmt: str) -> np.ndarray:
    """datetime64[ns] of each distinct text value (NaT where it does not parse)."""
    if fmt == "iso":  # the zone dropped as written (files may mix offsets)
        text = uniq.str.strip().str.replace(_ISO_ZONE, r"\1\2", regex=True)
        return _naive(pd.to_datetime(text, format="ISO8601", errors="coerce", utc=False))
    if fmt in _PATTERNS:
        text = uniq.str.strip()
        if fmt == "year_first":
            text = text.str.replace(r"\+00$", "", regex=True)
        elif fmt.endswith("12h"):  # "p.m." -> "PM"
            text = text.str.replace(r"([AaPp])\.?([Mm])\.?$", r"\1\2", regex=True)
        out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
        todo = np.ones(len(text), dtype=bool)
        for pattern in _PATTERNS[fmt]:
            if not todo.any():
                break
            got = _naive(pd.to_datetime(text[todo], format=pattern, errors="coerce"))
            idx = np.flatnonzero(todo)
            out[idx] = got
            todo[idx[~np.isnat(got)]] = False
        return out
    return _naive(pd.to_datetime(uniq, format=fmt, errors="coerce"))


def _naive(parsed: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    parsed = pd.Series(parsed)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    return parsed.to_numpy(dtype="datetime64[ns]")


UNDATED_MAX_SHARE = _DEFAULT_UNDATED_MAX_SHARE
"""Default largest share of calls that may be undated before the analysis stops."""


def undated_report(undated: np.ndarray, *, form: TimeForm | None, examples: list[dict],
                   max_share: float = UNDATED_MAX_SHARE, accept: bool = False,
                   where: str = "calls") -> dict[str, object]:
    """The undated calls of a run, for quality.json and the summary; stops the run when
    they are more than ``max_share`` of the calls and ``accept`` is False.

    ``undated`` marks every call without a usable time; ``examples`` are rows of them
    (``{"row", "value", ...}``, as :func:`safetygap.inputs.read_calls` keeps them). The
    error names the time column, the form tried, three example values and the options
    that resolve it. With ``accept`` the report says ``rates_undated``: every output
    then says the rates rest on undated calls.
    """
    n = len(undated)
    k = int(np.count_nonzero(undated))
    share = k / n if n else 0.0
    over = share > max_share
    column = form.column if form is not None else ""
    if over and not accept:
        problems = Problems()
        shown = ", ".join("<empty>" if e.get("value") is None else repr(e["value"])
                          for e in examples[:3])
        read = (f"read as {form.words}" if form is not None
                else "no time column is mapped")
        problems.add(
            f"{where} column {column!r}" if column else where,
            f"{k:,} of {n:,} calls ({share:.1%}) cannot be dated, more than the "
            f"{max_share:.0%} allowed; {read}" + (f" (e.g. {shown})" if shown else ""),
            allowed=f"{mark_option('time')} COLUMN / {mark_option('date')} COLUMN "
                    f"and {mark_option('time_format')} FORM (one of "
                    f"{', '.join(NAMED_FORMS)}, or a strftime pattern) to read them; "
                    f"{mark_option('accept_undated')} to run anyway, every output then "
                    f"saying the rates are undated; {mark_option('undated_max_share')} "
                    "to change the limit")
        problems.raise_if_any()
    return {
        "calls": k,
        "share": round(share, 6),
        "max_share": max_share,
        "over_max_share": over,
        "rates_undated": bool(over and accept),
        "column": column or None,
        "form": None if form is None else form.to_dict(),
        "words": (f"{k:,} of {n:,} calls ({share:.1%}) have no usable date"
                  + (": rates are undated (the per-year figures leave these calls out and "
                     "the period they cover is not known)" if over and accept else "")),
    }
