"""What the diversion page, ``/api/diversion*`` and ``safetygap diversion`` show, read from
a workspace: the diverted share and eligibility per area and city, coverage by the hour of
the week, and the path-to-20% scenario.

Long file (about 500 lines): the three views share one reading of the calls table (the
columns, the sensitive mask, the privacy hiding and the small-base rule); split them only
with that reading in a module of its own.

Every function takes a :class:`~safetygap.readmodel.WorkspaceView` (its cache and privacy
threshold) and returns JSON-ready dicts; the computations are the core's
(:mod:`safetygap.eligibility`, :mod:`safetygap.hours`,
:mod:`safetygap.diversion_scenario`). Counts of fewer than the privacy threshold that hold a
sensitive call (crisis, welfare checks, domestic violence ...) are hidden (None) with the
shares they would reveal (:mod:`safetygap.privacy`); an area with fewer than
:data:`SMALL_BASE` calls in the denominator is flagged ``small`` and never ranked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from safetygap import FAMILIES
from safetygap._status import STATUS_ORDER
from safetygap.diversion import denominator_words
from safetygap.diversion_scenario import (
    Move,
    ShiftPattern,
    TimeOnTask,
    run_scenario,
    wilson_interval,
)
from safetygap.eligibility import COUNTS, eligibility_counts, load_model
from safetygap.geo.aggregate import NONE_CODE
from safetygap.hours import (
    ALWAYS,
    DAYS,
    HOURS_OF_WEEK,
    covered_while_open,
    hour_of_week,
    hours_problem,
)
from safetygap.privacy import hidden_cells, is_sensitive
from safetygap.readmodel.records_diversion import (
    DiversionHoursAnswer,
    DiversionScenarioAnswer,
    EligibilityAnswer,
    ModelInfo,
)
from safetygap.tables import calls as C
from safetygap.vocab import LEVELS

if TYPE_CHECKING:
    from safetygap.readmodel.view import WorkspaceView

__all__ = [
    "LEVEL_COLUMNS",
    "NON_RESPONDER_SERVICE_TYPES",
    "SMALL_BASE",
    "WHATIF_HOURS",
    "diversion_calls",
    "eligibility_view",
    "hours_view",
    "model_info",
    "movable_categories",
    "scenario_view",
]

SMALL_BASE = 30
"""Areas with fewer calls in the diverted share's denominator are flagged ``small``."""
LEVEL_COLUMNS: dict[str, str] = {"ward": C.WARD_ID, "neighborhood": C.NEIGHBORHOOD_ID}
WHATIF_HOURS: dict[str, str] = {"24/7": ALWAYS, "06:00-22:00": "Mo-Su 06:00-22:00"}
"""The responders' hours the coverage by hour compares with the recorded ones: a 24/7 team
(CAHOOTS, Albuquerque) and a 6 a.m.-10 p.m. one (Denver STAR)."""
NON_RESPONDER_SERVICE_TYPES: tuple[str, ...] = ("police_station", "fire_station", "hospital")
"""Service types of the packaged taxonomy that are police or fire/EMS, not a non-police
responder: left out of the coverage by hour unless asked for (``responders``)."""


def _sensitive(frame: pd.DataFrame) -> np.ndarray:
    return is_sensitive(frame["category"].to_numpy(object), frame["call_type"].to_numpy(object))


def diversion_calls(view: WorkspaceView) -> pd.DataFrame:
    """Every call the diverted share counts, one row each: the workspace's unique calls
    (duplicate ids left out) and its records from outside 911 (``origin``), with their
    channel, ``diverted``, ``diversion_base``, category, family (categoricals), time, areas
    (str or None), x/y (analysis CRS, NaN when unplaced) and ``sensitive``."""
    def compute() -> pd.DataFrame:
        ws = view.workspace
        cols = [C.STATUS, C.CALL_TYPE, C.CATEGORY, C.FAMILY, C.AGENCY, C.TIME, C.CHANNEL,
                C.DIVERTED, C.DIVERSION_BASE, C.NEIGHBORHOOD_ID, C.WARD_ID, C.GEOMETRY]
        table = pq.read_table(ws.path / C.FILE, columns=cols)
        x, y = _points_xy(table.column(C.GEOMETRY))
        keep = np.asarray(_text(table, C.STATUS) != STATUS_ORDER[0])  # duplicate ids out
        frame = pd.DataFrame({
            "origin": pd.Categorical(["911"] * len(x), categories=ORIGINS),
            **{c: _text(table, c) for c in (C.CALL_TYPE, C.CATEGORY, C.FAMILY, C.AGENCY,
                                            C.CHANNEL)},
            C.TIME: table.column(C.TIME).to_pandas().to_numpy(),
            C.DIVERTED: table.column(C.DIVERTED).to_numpy(),
            C.DIVERSION_BASE: table.column(C.DIVERSION_BASE).to_numpy(),
            C.NEIGHBORHOOD_ID: _ids(_text(table, C.NEIGHBORHOOD_ID)),
            C.WARD_ID: _ids(_text(table, C.WARD_ID)),
            C.X: x, C.Y: y,
        })[keep].reset_index(drop=True)
        rec = ws.records()
        if rec is not None and len(rec):
            rgeom = rec.geometry
            frame = pd.concat([frame, pd.DataFrame({
                "origin": pd.Categorical(["outside_911"] * len(rec), categories=ORIGINS),
                **{c: pd.Categorical(rec[c].astype(object)) for c in (
                    C.CALL_TYPE, C.CATEGORY, C.FAMILY, C.CHANNEL)},
                C.AGENCY: pd.Categorical([None] * len(rec)),
                C.TIME: pd.to_datetime(rec["time"]).to_numpy(),
                C.DIVERTED: rec["diverted"].to_numpy(bool),
                C.DIVERSION_BASE: rec["diversion_base"].to_numpy(bool),
                C.NEIGHBORHOOD_ID: _ids(rec["neighborhood_id"]),
                C.WARD_ID: _ids(rec["ward_id"]),
                C.X: np.where(rgeom.isna(), np.nan, rgeom.x.to_numpy()),
                C.Y: np.where(rgeom.isna(), np.nan, rgeom.y.to_numpy()),
            })], ignore_index=True)
            for c in (C.CALL_TYPE, C.CATEGORY, C.FAMILY, C.CHANNEL, C.AGENCY):
                frame[c] = frame[c].astype("category")
        frame["sensitive"] = _sensitive(frame)
        return frame

    return view.cached(("diversion", "calls"), compute)


ORIGINS = ("911", "outside_911")
"""Where a counted call comes from: the 911 calls, or the records from outside 911."""


def _text(table: pa.Table, column: str) -> pd.Categorical:
    """A text column of an Arrow table as a pandas categorical (one string per distinct
    value, so comparing and factorising millions of rows stays cheap)."""
    col = table.column(column)
    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    return pd.Categorical(col.to_pandas())


def _points_xy(wkb: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """x, y of WKB points (NaN for null, empty or non-point values). Little-endian 2D
    points (21 bytes: byte order 1, type 1, x, y) are read straight from the buffer;
    anything else goes through shapely."""
    arr = wkb.combine_chunks()
    if isinstance(arr, pa.LargeBinaryArray | pa.LargeStringArray):
        arr = arr.cast(pa.binary())
    n = len(arr)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if n == 0:
        return x, y
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    start = offsets[:-1]
    fast = valid & (np.diff(offsets) == 21)
    head = start[fast][:, None] + np.arange(5)
    fast[fast] = (data[head] == np.array([1, 1, 0, 0, 0], dtype=np.uint8)).all(axis=1)
    where = start[fast]
    for out, shift in ((x, 5), (y, 13)):
        raw = data[where[:, None] + np.arange(shift, shift + 8)]
        out[fast] = raw.copy().view("<f8").ravel()
    slow = valid & ~fast
    if slow.any():
        geoms = shapely.from_wkb(np.asarray(arr.to_pylist(), dtype=object)[slow])
        is_point = shapely.get_type_id(geoms) == 0
        px = np.where(is_point, shapely.get_x(geoms), np.nan)
        py = np.where(is_point, shapely.get_y(geoms), np.nan)
        x[slow], y[slow] = px, py
    return x, y


def _ids(values: pd.Series | pd.Categorical) -> np.ndarray:
    """Area ids as text (object array), None where missing."""
    cat = pd.Categorical(values)
    labels = np.array([str(c) for c in cat.categories] + [None], dtype=object)
    codes = np.asarray(cat.codes)
    return labels[np.where(codes < 0, len(cat.categories), codes)]


def _share(k: float | None, n: float | None) -> dict[str, Any]:
    """A share with its 95% Wilson interval (None when hidden or undefined)."""
    if k is None or n is None or n <= 0:
        return {"value": None, "low": None, "high": None}
    lo, hi = wilson_interval(k, n)
    return {"value": round(k / n, 6), "low": round(float(lo), 6), "high": round(float(hi), 6)}


def _hide(counts: dict[str, int], sensitive: dict[str, int], min_count: int
          ) -> dict[str, int | None]:
    """``counts`` with every small cell holding a sensitive call hidden, and the other part
    of a split whose one part is hidden (eligible = diverted + not diverted; diverted =
    eligible + not eligible)."""
    keys = list(counts)
    hide = dict(zip(keys, hidden_cells([counts[k] for k in keys], [sensitive[k] for k in keys],
                                       min_count=min_count, total_shown=False), strict=True))
    for a, b in (("eligible_diverted", "eligible_not_diverted"),
                 ("eligible_diverted", "diverted_not_eligible")):
        if a in hide and b in hide and hide[a] != hide[b]:
            hide[a] = hide[b] = True
    return {k: None if hide[k] else int(counts[k]) for k in keys}


def _eligibility_row(counts: dict[str, int], sens: dict[str, int], min_count: int
                     ) -> dict[str, Any]:
    shown = _hide(counts, sens, min_count)
    n = shown["base"]
    return {
        "counts": shown,
        "small": counts["base"] < SMALL_BASE,
        "diverted_share": _share(shown["diverted"], n),
        "eligible_share": _share(shown["eligible"], n),
        "eligible_not_diverted_share": _share(shown["eligible_not_diverted"], n),
        "eligible_diverted_share": _share(shown["eligible_diverted"], shown["eligible"]),
    }


def _assessed(view: WorkspaceView, model: str) -> pd.DataFrame:
    def compute() -> pd.DataFrame:
        calls = diversion_calls(view)
        return load_model(model).assess(calls)
    return view.cached(("diversion", "assessed", model), compute)


def movable_categories(view: WorkspaceView, model: str) -> list[dict[str, Any]]:
    """Categories of the calls police answer today that ``model`` marks eligible, largest
    first: ``name``, ``label`` and ``calls`` (what a scenario could move)."""
    def compute() -> list[dict[str, Any]]:
        calls = diversion_calls(view)
        elig = _assessed(view, model)["eligible"].to_numpy(bool)
        police = ((calls[C.CHANNEL].astype(object) == "police").to_numpy()
                  & calls[C.DIVERSION_BASE].to_numpy(bool))
        counts = calls.loc[police & elig, C.CATEGORY].astype(str).value_counts()
        return [{"name": str(c), "label": str(c).replace("_", " "), "calls": int(n)}
                for c, n in counts.items()]

    return view.cached(("diversion", "movable", model), compute)


def model_info(model: str) -> ModelInfo:
    m = load_model(model)
    d = m.to_dict()
    return {"name": m.name, "title": m.title, "programme": m.programme,
            "description": m.description, "hours": m.hours, "version": m.version,
            "tiers": d["tiers"], "rules": d["rules"], "default": d["default"],
            "checksum": d["checksum"]}


def eligibility_view(view: WorkspaceView, *, model: str,
                     levels: Sequence[str] = tuple(reversed(LEVELS))) -> EligibilityAnswer:
    """City-wide and per-area counts and shares under ``model``: eligible, diverted,
    eligible and diverted, eligible not diverted, diverted not eligible (among the calls
    in the denominator), with 95% Wilson intervals; per tier city-wide."""
    def compute() -> EligibilityAnswer:
        calls = diversion_calls(view)
        assessed = _assessed(view, model)
        frame = calls[[C.DIVERSION_BASE, C.DIVERTED, *LEVEL_COLUMNS.values()]].assign(
            eligible=assessed["eligible"].to_numpy())
        sens = frame.assign(diversion_base=frame["diversion_base"] & calls["sensitive"])
        city = eligibility_counts(frame).iloc[0].to_dict()
        city_s = eligibility_counts(sens).iloc[0].to_dict()
        out: dict[str, Any] = {
            "model": model_info(model),
            "denominator_words": _words(view),
            "city": _eligibility_row(city, city_s, view.min_count),
            "tiers": _tiers(calls, assessed, model),
            "levels": {},
            "privacy": view.privacy_note,
        }
        for level in levels:
            col = LEVEL_COLUMNS[level]
            per = eligibility_counts(frame, by=col)
            per_s = eligibility_counts(sens, by=col).reindex(per.index, fill_value=0)
            rows = []
            for area_id in view.area_ids(level):
                c = (per.loc[area_id] if area_id in per.index
                     else pd.Series(0, index=list(COUNTS)))
                s = (per_s.loc[area_id] if area_id in per_s.index
                     else pd.Series(0, index=list(COUNTS)))
                row = _eligibility_row({k: int(c[k]) for k in COUNTS},
                                       {k: int(s[k]) for k in COUNTS}, view.min_count)
                rows.append({"area_id": area_id, "name": view.area_name(level, area_id),
                             **row})
            out["levels"][level] = rows
        return out

    return view.cached(("diversion", "eligibility", model, tuple(levels)), compute)


def _tiers(calls: pd.DataFrame, assessed: pd.DataFrame, model: str) -> list[dict[str, Any]]:
    m = load_model(model)
    base = calls[C.DIVERSION_BASE].to_numpy(bool)
    tiers = assessed["eligibility_tier"].astype(str).to_numpy()
    n = int(base.sum())
    out = []
    for tier_id in m.tier_ids():
        k = int((base & (tiers == tier_id)).sum())
        if tier_id == "out_of_scope" and k == 0:
            continue
        t = m.tier(tier_id)
        out.append({"tier": tier_id, "label": t.label, "eligible": t.eligible, "calls": k,
                    "share": _share(k, n)})
    return out


def _words(view: WorkspaceView) -> str:
    d = view.summary.get("diversion", {})
    if d.get("denominator_words"):
        return str(d["denominator_words"])
    return denominator_words(d.get("denominator", "police_and_alternatives"))


# -- coverage by the hour of the week ---------------------------------------------------


def _responders(view: WorkspaceView, responders: Sequence[str] | None) -> pd.DataFrame:
    prov = view.providers
    if responders is None:
        return prov[~prov["service_type"].astype(str).isin(NON_RESPONDER_SERVICE_TYPES)]
    return prov[prov["service_type"].astype(str).isin(list(responders))]


def _covered(view: WorkspaceView, model: str, hours: str | None, unknown: str,
             responders: tuple[str, ...] | None) -> np.ndarray:
    """Per eligible 911 call with a place and a time (see :func:`_eligible_calls`): covered
    by a responder open at the call's time."""
    def compute() -> np.ndarray:
        from safetygap.stages.areas import coverage
        from safetygap.taxonomy import taxonomy_from_content

        calls = _eligible_calls(view, model)
        travel = view.travel()
        prov = _responders(view, responders)
        taxonomy = view.cached(("taxonomy",), lambda: taxonomy_from_content(
            view.workspace.manifest["taxonomy"]["content"],
            label=f"workspace {view.workspace.path.name} manifest"))
        return covered_while_open(calls, prov, hours=hours, unknown=unknown,
                                  covered_by=lambda c, p: coverage(c, p, travel, taxonomy))

    return view.cached(("diversion", "covered", model, hours, unknown, responders), compute)


def _eligible_calls(view: WorkspaceView, model: str) -> pd.DataFrame:
    def compute() -> pd.DataFrame:
        calls = diversion_calls(view)
        ok = (_assessed(view, model)["eligible"].to_numpy(bool)
              & calls[C.DIVERSION_BASE].to_numpy(bool) & (calls["origin"] == "911").to_numpy()
              & np.isfinite(calls[C.X].to_numpy(float)) & calls[C.TIME].notna().to_numpy())
        sub = calls[ok].reset_index(drop=True)
        codes = {f: i for i, f in enumerate(FAMILIES)}
        sub["family_code"] = (sub["family"].astype(object).map(codes).fillna(NONE_CODE)
                              .astype(np.int8))
        sub["how"] = hour_of_week(sub["time"])
        return sub

    return view.cached(("diversion", "eligible_calls", model), compute)


def _years(view: WorkspaceView) -> float:
    t = pd.to_datetime(diversion_calls(view)["time"]).dropna()
    if t.empty:
        return 1.0
    return ((t.max().normalize() - t.min().normalize()).days + 1) / 365.25


def hours_view(view: WorkspaceView, *, model: str, level: str | None = None,
               area_id: str | None = None, unknown: str = "open",
               responders: Sequence[str] | None = None) -> DiversionHoursAnswer:
    """Coverage of the eligible calls by hour of the week, city-wide or in one area.

    For each of the 168 hours (Monday 00:00 first): the eligible calls a week (average over
    the data's span) and the share of them that arrived while a responder that covers them
    (the analysis' own coverage rule) was open: with the hours the providers record, and
    with every responder's hours replaced by each of :data:`WHATIF_HOURS`. Overall shares
    carry 95% Wilson intervals; cells hiding a small count of sensitive calls are None.
    """
    resp = None if responders is None else tuple(sorted(responders))
    calls = _eligible_calls(view, model)
    sel = np.ones(len(calls), dtype=bool)
    if level is not None and area_id is not None:
        view.area_name(level, area_id)  # UnknownArea for a bad id
        sel = (calls[LEVEL_COLUMNS[level]] == area_id).to_numpy()
    how = calls["how"].to_numpy()[sel]
    sens = calls["sensitive"].to_numpy(bool)[sel]
    n_cell = np.bincount(how[how >= 0], minlength=HOURS_OF_WEEK)
    s_cell = np.bincount(how[how >= 0], weights=sens[how >= 0],
                         minlength=HOURS_OF_WEEK).astype(np.int64)
    hide = hidden_cells(n_cell, s_cell, min_count=view.min_count, total_shown=False)
    weeks = _years(view) * 365.25 / 7
    scenarios: dict[str, str | None] = {"recorded": None, **WHATIF_HOURS}
    out_sc = []
    for label, hours in scenarios.items():
        cov = _covered(view, model, hours, unknown, resp)[sel]
        k_cell = np.bincount(how[how >= 0], weights=cov[how >= 0].astype(float),
                             minlength=HOURS_OF_WEEK)
        share = [None if hide[h] or n_cell[h] == 0 else round(k_cell[h] / n_cell[h], 4)
                 for h in range(HOURS_OF_WEEK)]
        n_all, k_all = int(sel.sum()), int(cov.sum())
        hidden_all = hidden_cells([n_all], [int(sens.sum())], min_count=view.min_count,
                                  total_shown=False)[0]
        out_sc.append({
            "scenario": label,
            "hours": hours or "as recorded",
            "covered_share": _share(None if hidden_all else k_all,
                                    None if hidden_all else n_all),
            "by_hour": share})
    prov = _responders(view, responders)
    stated = prov["opening_hours"].fillna("").astype(str).str.strip() if \
        "opening_hours" in prov else pd.Series("", index=prov.index)
    bad = [(str(n), h) for n, h in zip(prov["name"], stated, strict=True)
           if h and hours_problem(h) is not None]
    return {
        "model": model,
        "level": level, "area_id": area_id,
        "name": None if area_id is None or level is None else view.area_name(level, area_id),
        "days": list(DAYS),
        "eligible_calls": int(sel.sum()),
        "calls_per_week": [None if hide[h] else round(n_cell[h] / weeks, 3)
                           for h in range(HOURS_OF_WEEK)],
        "scenarios": out_sc,
        "responders": {
            "service_types": sorted(prov["service_type"].astype(str).unique().tolist()),
            "providers": len(prov),
            "hours_stated": int((stated != "").sum()),
            "hours_unreadable": len(bad),
            "hours_unreadable_examples": [{"name": n, "opening_hours": h}
                                          for n, h in bad[:5]],
            "unknown_hours_count_as": unknown},
        "privacy": view.privacy_note,
    }


# -- the path to 20% ------------------------------------------------------------------


def scenario_view(view: WorkspaceView, moves: Sequence[Move], *, target: float = 0.20,
                  shift: ShiftPattern | None = None, time_on_task: TimeOnTask | None = None,
                  candidates_model: str | None = None) -> DiversionScenarioAnswer:
    """:func:`~safetygap.diversion_scenario.run_scenario` on the workspace's calls, with
    area names, small-area flags and small sensitive counts hidden."""
    calls = diversion_calls(view)
    result = run_scenario(calls, moves, target=target, shift=shift,
                          time_on_task=time_on_task, candidates_model=candidates_model,
                          sensitive=calls["sensitive"].to_numpy(bool),
                          eligibility=lambda m: _assessed(view, m)["eligible"].to_numpy(bool))
    for level, rows in result["levels"].items():
        by_id = {r["area_id"]: r for r in rows}
        shown = []
        for area_id in view.area_ids(level):
            r = by_id.get(area_id)
            if r is None:
                continue
            r = dict(r)
            r["name"] = view.area_name(level, area_id)
            r["small"] = r["base"] < SMALL_BASE
            sens = r.pop("sensitive")
            cells = [r["base"], r["diverted_before"], r["moved_calls"]]
            hide = hidden_cells(cells, [sens["base"], sens["diverted_before"],
                                        sens["moved"]],
                                min_count=view.min_count, total_shown=False)
            if hide[0]:
                r.update(base=None, share_before=None, interval_before=None,
                         share_after=None, interval_after=None)
            if hide[1] or hide[0]:
                r.update(diverted_before=None, share_before=None, interval_before=None,
                         diverted_after=None, share_after=None, interval_after=None)
            if hide[2]:
                r.update(moved=None, moved_calls=None, diverted_after=None,
                         share_after=None, interval_after=None)
            shown.append(r)
        result["levels"][level] = shown
    week = result["hour_of_week"]
    cells = week.pop("cells")
    hide = hidden_cells(cells["calls"], cells["sensitive"], min_count=view.min_count,
                        total_shown=False)
    week["moved_per_week"] = [None if h else v for v, h in zip(week["moved_per_week"], hide,
                                                             strict=True)]
    if week["busiest_hour"] is not None and hide[week["busiest_hour"]]:
        week["busiest_hour"] = week["busiest_calls_per_week"] = None
    result["denominator_words"] = _words(view)
    result["privacy"] = view.privacy_note
    result["synthetic"] = view.synthetic
    result["headline"] = headline(result)
    return result


def headline(result: dict[str, Any]) -> str:
    """The scenario in one plain sentence."""
    c = result["city"]
    target = result["target"]
    if c["share_before"] is None:
        return "No calls in the denominator: nothing to divert."
    before, after = c["share_before"], c["share_after"]
    if result["changes_nothing"]:
        return (f"Today {before:.1%} of calls go to non-police services; this scenario "
                f"moves no call, so nothing changes.")
    per_year = sum(m["calls_moved_per_year"] for m in result["moves"])
    reach = ("reaching" if c["reaches_target"] else "short of") + f" the {target:.0%} goal"
    fte = result["staffing"]["fte"]
    return (f"Moving {per_year:,.0f} calls a year would take the diverted share from "
            f"{before:.1%} to {after:.1%}, {reach}; it needs about "
            f"{math.ceil(fte * 10) / 10:,.1f} full-time responders and frees about "
            f"{result['police_hours_freed_per_year']:,.0f} police hours a year.")
