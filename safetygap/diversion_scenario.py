"""The path to 20%: move calls police answer today to non-police channels, and see what
the diverted share, the responders and the police would become.

Long file (about 460 lines): one scenario: the moves, the shift pattern, the recount of the
diverted share city-wide and per area, and the responder hours, read in one pass over the
calls.

A scenario is a list of :class:`Move` s: calls of chosen taxonomy categories or call types
(or every call an eligibility model marks eligible, :mod:`safetygap.eligibility`) go to a
chosen channel, all of them or a share. Only calls police answer today (channel
``police``) and that count in the diverted share's denominator move; a call the first
matching move takes is not taken by a later one. When the new responders work set hours
(:class:`ShiftPattern`, OpenStreetMap ``opening_hours`` syntax, e.g. Denver STAR's
``Mo-Su 06:00-22:00``), only calls arriving while they are on duty move.

A share below 1 moves that fraction of every matching call as an expected value (a call
counts as ``share`` of a call), so the result is deterministic and adds up exactly.

:func:`run_scenario` reports, before and after, the diverted share city-wide and per area
(with 95% Wilson intervals); the calls moved per hour of the week; the responder hours the
moved calls need (time on task per category, :class:`TimeOnTask`, sourced defaults in
``safetygap/data/time_on_task.toml``) and the full-time staff that is at the stated shift
pattern; the police hours freed; and for each area, which further categories would take it
to the target (20% unless told). A scenario that moves nothing changes nothing.

Pure functions on frames: nothing here reads a workspace (the read model does, see
:mod:`safetygap.readmodel.diversion`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from safetygap._taxonomy_match import normalize
from safetygap.errors import Problems
from safetygap.hours import ALWAYS, HOURS_OF_WEEK, hour_of_week, open_at, parse_hours
from safetygap.tables import calls as C
from safetygap.vocab import Channel, allowed

__all__ = [
    "TARGET",
    "Move",
    "ShiftPattern",
    "TimeOnTask",
    "load_time_on_task",
    "run_scenario",
    "wilson_interval",
]

TARGET = 0.20
"""The city's goal: 20% of calls diverted to non-police services."""
WEEKS_PER_YEAR = 365.25 / 7
LEVEL_COLUMNS: dict[str, str] = {"ward": "ward_id", "neighborhood": "neighborhood_id"}
"""Area levels a scenario reports, and the calls column holding each one's area id."""


def wilson_interval(k: np.ndarray | float, n: np.ndarray | float, *, level: float = 0.95
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson (1927) score interval of the share ``k / n`` (NaN where ``n`` <= 0).

    ``k`` may be fractional (expected moved calls). For z the normal quantile,
    centre ``(p + z²/2n) / (1 + z²/n)``, half-width ``z √(p(1-p)/n + z²/4n²) / (1 + z²/n)``.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    bad = ~(n > 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


@dataclass(frozen=True)
class Move:
    """Calls police answer today that go to ``channel`` instead."""

    channel: Channel
    categories: tuple[str, ...] = ()
    """Taxonomy categories (the calls' ``category``)."""
    call_types: tuple[str, ...] = ()
    """Call-type names, matched like the taxonomy (case, spaces, agency suffixes ignored)."""
    model: str | None = None
    """An eligibility model (:data:`safetygap.eligibility.MODELS` or a file): every call it
    marks eligible."""
    share: float = 1.0
    """Fraction of the matching calls moved, 0..1 (an expected value)."""

    def check(self, where: str, problems: Problems) -> None:
        """Add every problem of this move to ``problems``."""
        if not Channel(self.channel).diverted:
            problems.add(where, "calls can only move to a non-police alternative",
                         value=str(self.channel),
                         allowed=[str(c) for c in Channel if c.diverted])
        if not (self.categories or self.call_types or self.model):
            problems.add(where, "a move needs categories, call types or a model",
                         allowed="categories=..., call_types=... or model=...")
        if not (isinstance(self.share, int | float) and 0 <= self.share <= 1
                and math.isfinite(self.share)):
            problems.add(where, "share must be a number from 0 to 1", value=self.share)

    def words(self) -> str:
        what = []
        if self.model:
            what.append(f"the calls eligible under {self.model}")
        if self.categories:
            what.append(", ".join(c.replace("_", " ") for c in self.categories) + " calls")
        if self.call_types:
            what.append(", ".join(self.call_types))
        part = "" if self.share >= 1 else f"{self.share:.0%} of "
        return f"{part}{' and '.join(what)} to {str(self.channel).replace('_', ' ')}"


@dataclass(frozen=True)
class ShiftPattern:
    """When the new responders work and how a full-time post is counted."""

    hours: str = ALWAYS
    """On duty, OpenStreetMap ``opening_hours`` syntax: only calls arriving then move."""
    team_size: int = 2
    """Responders sent to each call (CAHOOTS and STAR send two)."""
    shift_hours: float = 10.0
    shifts_per_week: float = 4.0
    available: float = 0.75
    """Share of paid hours a responder is on duty (the rest: leave, training,
    administration). ASSUMPTION: set your own."""

    @property
    def paid_hours_per_year(self) -> float:
        return self.shift_hours * self.shifts_per_week * WEEKS_PER_YEAR

    @property
    def on_duty_hours_per_year(self) -> float:
        """Hours a year one full-time responder is on duty."""
        return self.paid_hours_per_year * self.available

    def check(self, problems: Problems) -> None:
        parse_hours(self.hours, where="shift pattern hours", problems=problems)
        for name, value, lo, hi in (("team_size", self.team_size, 1, 20),
                                    ("shift_hours", self.shift_hours, 1, 24),
                                    ("shifts_per_week", self.shifts_per_week, 1, 7),
                                    ("available", self.available, 0.05, 1)):
            if not (isinstance(value, int | float) and lo <= value <= hi):
                problems.add(f"shift pattern {name}", f"must be from {lo} to {hi}",
                             value=value)

    def words(self) -> str:
        return (f"{self.team_size}-person teams on duty {self.hours}; full-time posts of "
                f"{self.shifts_per_week:g} {self.shift_hours:g}-hour shifts a week "
                f"({self.paid_hours_per_year:,.0f} paid hours a year), "
                f"{self.available:.0%} of them on duty")


@dataclass(frozen=True)
class TimeOnTask:
    """Minutes per call by taxonomy category: the responder team's and police's."""

    responder: Mapping[str, float]
    police: Mapping[str, float]
    sources: Mapping[str, str] = field(default_factory=dict)
    """Per ``responder.<category>`` / ``police.<category>``: the reference."""
    officers_per_call: float = 1.0
    """Officers each call takes today. ASSUMPTION: one (many departments send two)."""

    def minutes(self, side: str, category: str) -> float:
        table = self.responder if side == "responder" else self.police
        return float(table.get(category, table["default"]))

    def source(self, side: str, category: str) -> str:
        key = f"{side}.{category}" if f"{side}.{category}" in self.sources else \
            f"{side}.default"
        return self.sources.get(key, "given")


def load_time_on_task(*, responder: Mapping[str, float] | None = None,
                      police: Mapping[str, float] | None = None,
                      officers_per_call: float | None = None) -> TimeOnTask:
    """The packaged time-on-task table (``safetygap/data/time_on_task.toml``) with
    overrides (category -> minutes; ``default`` for every other category). Values must be
    positive minutes below a day."""
    text = (resources.files("safetygap") / "data" / "time_on_task.toml").read_text("utf-8")
    doc = tomllib.loads(text)
    refs = doc["sources"]
    tables: dict[str, dict[str, float]] = {}
    sources: dict[str, str] = {}
    problems = Problems()
    for side, given in (("responder", responder), ("police", police)):
        tables[side] = {k: float(v["minutes"]) for k, v in doc[side].items()}
        sources |= {f"{side}.{k}": refs[v["source"]] for k, v in doc[side].items()}
        for k, v in (given or {}).items():
            if not (isinstance(v, int | float) and 0 < v < 24 * 60):
                problems.add(f"{side} minutes {k}", "must be minutes from 0 to 1440",
                             value=v)
                continue
            tables[side][k] = float(v)
            sources[f"{side}.{k}"] = "given"
    opc = 1.0 if officers_per_call is None else officers_per_call
    if not (isinstance(opc, int | float) and 0 < opc <= 10):
        problems.add("officers_per_call", "must be from 0 to 10", value=opc)
    problems.raise_if_any()
    return TimeOnTask(tables["responder"], tables["police"], sources, float(opc))


# -- the scenario ---------------------------------------------------------------------


def _moved_weights(calls: pd.DataFrame, moves: Sequence[Move], on_duty: np.ndarray,
                   eligible: Callable[[str], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per call: the share of it moved (0..1) and the index of the move taking it (-1)."""
    n = len(calls)
    movable = ((calls[C.CHANNEL].astype(object) == str(Channel.POLICE)).to_numpy(bool)
               & calls[C.DIVERSION_BASE].to_numpy(bool) & on_duty)
    weight = np.zeros(n)
    which = np.full(n, -1, dtype=np.int16)
    category = calls[C.CATEGORY].astype(object).to_numpy()
    ctype = calls[C.CALL_TYPE].astype(object)
    codes, uniques = pd.factorize(ctype)
    norm_names = np.array([normalize(str(u)) for u in uniques] + [""], dtype=object)
    names = norm_names[np.where(codes < 0, len(uniques), codes)]
    for i, move in enumerate(moves):
        m = np.zeros(n, dtype=bool)
        if move.categories:
            m |= np.isin(category, list(move.categories))
        if move.call_types:
            m |= np.isin(names, [normalize(t) for t in move.call_types])
        if move.model:
            m |= eligible(move.model)
        take = m & movable & (which < 0)
        which[take] = i
        weight[take] = move.share
    return weight, which


def _period_years(times: pd.Series) -> tuple[float, str | None, str | None]:
    """Years from the first call's day to the last's, both whole (365.25 days a year);
    1 year when no call has a time."""
    t = pd.to_datetime(times).dropna()
    if t.empty:
        return 1.0, None, None
    first, last = t.min().normalize(), t.max().normalize()
    days = (last - first).days + 1
    return days / 365.25, first.date().isoformat(), last.date().isoformat()


def _unit(base: float, before: float, moved: float) -> dict[str, Any]:
    after = before + moved
    lo0, hi0 = wilson_interval(before, base)
    lo1, hi1 = wilson_interval(after, base)

    def share(k: float) -> float | None:
        return None if base <= 0 else round(float(k / base), 6)

    return {
        "base": int(base), "diverted_before": int(before), "moved": round(float(moved), 3),
        "diverted_after": round(float(after), 3), "share_before": share(before),
        "interval_before": None if base <= 0 else [round(float(lo0), 6), round(float(hi0), 6)],
        "share_after": share(after),
        "interval_after": None if base <= 0 else [round(float(lo1), 6), round(float(hi1), 6)],
    }


def _to_target(candidates: Sequence[tuple[str, float]], base: float, after: float,
               target: float) -> dict[str, Any]:
    """Fewest further categories (largest first) that take an area from ``after`` diverted
    calls of ``base`` to ``target``: ``candidates`` are (category, calls that could move)."""
    if base <= 0:
        return {"categories": [], "reachable": False, "share": None, "calls_needed": None}
    needed = max(0.0, target * base - after)
    chosen, got = [], 0.0
    for category, calls in sorted(candidates, key=lambda c: (-c[1], c[0])):
        if got >= needed - 1e-9:
            break
        chosen.append(str(category))
        got += float(calls)
    reachable = got >= needed - 1e-9
    return {"categories": chosen, "reachable": reachable,
            "share": round((after + got) / base, 6), "calls_needed": math.ceil(needed)}


def run_scenario(
    calls: pd.DataFrame,
    moves: Sequence[Move],
    *,
    target: float = TARGET,
    shift: ShiftPattern | None = None,
    time_on_task: TimeOnTask | None = None,
    candidates_model: str | None = None,
    levels: Mapping[str, str] = LEVEL_COLUMNS,
    sensitive: np.ndarray | None = None,
    eligibility: Callable[[str], np.ndarray] | None = None,
) -> dict[str, Any]:
    """The scenario's outcome (see the module docstring) as a JSON-ready dict.

    ``calls``: one row per call counted (duplicates already left out; records from
    outside 911 included) with ``diversion_base``, ``diverted``, ``channel``,
    ``category``, ``call_type``, ``time`` and the area columns of ``levels``.
    ``candidates_model``: the eligibility model whose eligible calls the per-area "to the
    target" search may move (None: :data:`safetygap.eligibility.DEFAULT_MODEL`).
    ``sensitive`` (a bool per call): every area row then also says how many sensitive
    calls each of its counts holds (``sensitive``: base, diverted_before, moved), so a
    public answer can hide small ones (:mod:`safetygap.privacy`). ``eligibility(model)``:
    the ``eligible`` flag of every call under a model (default: assessed here; a read
    model passes its cached one).
    Raises :class:`~safetygap.errors.ValidationError` naming every bad move or setting.
    """
    from safetygap.eligibility import DEFAULT_MODEL, load_model

    shift = shift or ShiftPattern()
    tot = time_on_task or load_time_on_task()
    problems = Problems()
    for i, move in enumerate(moves):
        move.check(f"moves[{i}]", problems)
    shift.check(problems)
    if not (isinstance(target, int | float) and 0 < target <= 1):
        problems.add("target", "must be a share from 0 to 1", value=target)
    problems.raise_if_any()
    model_name = candidates_model or DEFAULT_MODEL
    load_model(model_name)  # an unknown model is an error before any work

    times = pd.to_datetime(calls[C.TIME])
    on_duty = open_at(shift.hours, times, unknown="closed") | (
        times.isna().to_numpy() & (shift.hours == ALWAYS))
    def assess(name: str) -> np.ndarray:
        return load_model(name).assess(calls)["eligible"].to_numpy(bool)

    eligible_of = eligibility or assess
    weight, which = _moved_weights(calls, moves, on_duty, eligible_of)
    base = calls[C.DIVERSION_BASE].to_numpy(bool)
    diverted = calls[C.DIVERTED].to_numpy(bool) & base
    years, first, last = _period_years(times[base])

    out: dict[str, Any] = {
        "target": target,
        "moves": [],
        "period": {"first": first, "last": last, "years": round(years, 4)},
        "city": _unit(base.sum(), diverted.sum(), weight.sum()),
    }
    out["city"]["reaches_target"] = bool(out["city"]["share_after"] is not None
                                         and out["city"]["share_after"] >= target - 1e-12)
    category = calls[C.CATEGORY].astype(object).fillna("unknown").to_numpy()
    for i, move in enumerate(moves):
        w = np.where(which == i, weight, 0.0)
        out["moves"].append({
            "channel": str(move.channel), "categories": list(move.categories),
            "call_types": list(move.call_types), "model": move.model, "share": move.share,
            "words": move.words(), "calls_moved": round(float(w.sum()), 3),
            "calls_moved_per_year": round(float(w.sum()) / years, 3)})
    after_channel = calls[C.CHANNEL].astype(object).to_numpy().copy()
    counts_before = pd.Series(after_channel[base]).value_counts()
    moved_by_channel = {str(m.channel): 0.0 for m in moves}
    for i, move in enumerate(moves):
        moved_by_channel[str(move.channel)] += float(weight[which == i].sum())
    out["by_channel"] = {
        c: {"before": int(counts_before.get(c, 0)),
            "after": round(int(counts_before.get(c, 0)) + moved_by_channel.get(c, 0.0)
                           - (float(weight.sum()) if c == str(Channel.POLICE) else 0.0), 3)}
        for c in allowed(Channel)}

    # calls moved per hour of the week (a week's average over the period)
    how = hour_of_week(times)
    per_hour = np.bincount(how[how >= 0], weights=weight[how >= 0], minlength=HOURS_OF_WEEK)
    weeks = years * WEEKS_PER_YEAR
    moved_week = per_hour / weeks
    busiest = int(np.argmax(moved_week)) if moved_week.any() else None
    out["hour_of_week"] = {
        "moved_per_week": [round(float(v), 4) for v in moved_week],
        "busiest_hour": busiest,
        "busiest_calls_per_week": None if busiest is None else round(float(
            moved_week[busiest]), 4)}
    if sensitive is not None:  # per hour: calls touched and the sensitive ones among them
        touched = (weight > 0) & (how >= 0)
        sens_moved = np.asarray(sensitive, dtype=bool) & touched
        out["hour_of_week"]["cells"] = {
            "calls": np.bincount(how[touched], minlength=HOURS_OF_WEEK).tolist(),
            "sensitive": np.bincount(how[sens_moved], minlength=HOURS_OF_WEEK).tolist()}

    # responders and police
    codes, uniques = pd.factorize(category)  # per distinct category, not per call
    minutes_r = np.array([tot.minutes("responder", str(c)) for c in uniques])[codes]
    minutes_p = np.array([tot.minutes("police", str(c)) for c in uniques])[codes]
    team_hours = float((weight * minutes_r).sum() / 60 / years)
    person_hours = team_hours * shift.team_size
    fte_workload = person_hours / shift.on_duty_hours_per_year
    duty = open_at(shift.hours, pd.date_range("2024-01-01", periods=HOURS_OF_WEEK * 4,
                                              freq="15min"), unknown="closed")
    duty_hours_week = float(duty.sum()) / 4
    fte_cover = (duty_hours_week * WEEKS_PER_YEAR * shift.team_size
                 / shift.on_duty_hours_per_year) if weight.sum() > 0 else 0.0
    used = sorted({str(c) for c in category[weight > 0]})
    out["staffing"] = {
        "shift_pattern": {"hours": shift.hours, "team_size": shift.team_size,
                          "shift_hours": shift.shift_hours,
                          "shifts_per_week": shift.shifts_per_week,
                          "available": shift.available,
                          "paid_hours_per_year": round(shift.paid_hours_per_year, 1)},
        "words": shift.words(),
        "on_duty_hours_per_week": duty_hours_week,
        "team_hours_per_year": round(team_hours, 1),
        "responder_hours_per_year": round(person_hours, 1),
        "fte_for_workload": round(fte_workload, 2),
        "fte_to_keep_one_team_on_duty": round(fte_cover, 2),
        "fte": round(max(fte_workload, fte_cover), 2),
        "fte_basis": ("the larger of the staff the moved calls' hours need and the staff "
                      "that keeps one team on duty through the hours"),
    }
    police_hours = float((weight * minutes_p).sum() / 60 / years) * tot.officers_per_call
    out["police_hours_freed_per_year"] = round(police_hours, 1)
    out["time_on_task"] = {
        "officers_per_call": tot.officers_per_call,
        "categories": [{"category": c, "responder_minutes": tot.minutes("responder", c),
                        "responder_source": tot.source("responder", c),
                        "police_minutes": tot.minutes("police", c),
                        "police_source": tot.source("police", c)} for c in used]}

    # per area, and what would take each to the target
    model_eligible = eligible_of(model_name)
    movable = (calls[C.CHANNEL].astype(object) == str(Channel.POLICE)).to_numpy(bool) & base
    left = np.where(movable & model_eligible & on_duty, 1.0 - weight, 0.0)
    out["candidates_model"] = model_name
    out["levels"] = {}
    for level, col in levels.items():
        ids = calls[col].astype(object).to_numpy()
        has = pd.notna(ids)
        sens = (np.zeros(len(calls), dtype=bool) if sensitive is None
                else np.asarray(sensitive, dtype=bool))
        frame = pd.DataFrame({"area": ids[has], "base": base[has], "div": diverted[has],
                              "moved": weight[has], "left": left[has],
                              "category": category[has], "moved_calls": weight[has] > 0,
                              "s_base": (sens & base)[has], "s_div": (sens & diverted)[has],
                              "s_moved": (sens & (weight > 0))[has]})
        sums = frame.groupby("area")[["base", "div", "moved", "moved_calls", "s_base",
                                      "s_div", "s_moved"]].sum()
        cands: dict[Any, list[tuple[str, float]]] = {}
        for (area, cat), v in frame[frame["left"] > 0].groupby(
                ["area", "category"])["left"].sum().items():
            cands.setdefault(area, []).append((str(cat), float(v)))
        rows = []
        for area, r in sums.iterrows():
            unit = _unit(float(r["base"]), float(r["div"]), float(r["moved"]))
            unit["area_id"] = str(area)
            unit["moved_calls"] = int(r["moved_calls"])
            if sensitive is not None:
                unit["sensitive"] = {"base": int(r["s_base"]),
                                     "diverted_before": int(r["s_div"]),
                                     "moved": int(r["s_moved"])}
            unit["reaches_target"] = bool(unit["share_after"] is not None
                                          and unit["share_after"] >= target - 1e-12)
            unit["to_target"] = _to_target(cands.get(area, []), unit["base"],
                                           unit["diverted_after"], target)
            rows.append(unit)
        out["levels"][level] = rows
    out["changes_nothing"] = bool(weight.sum() == 0)
    return out
