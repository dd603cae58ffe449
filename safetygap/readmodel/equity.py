"""The equity overlay as the API, the report, the ward pages and the map show it.

Reads ``equity.json`` and the per-area group columns of a workspace (written by the
analysis with ``--demographics``, :mod:`safetygap.equity`):

- :func:`equity_report`: the city's or one ward's results per group: the group's share
  of its universe with a 90% interval and reliability, the mean access it experiences
  per family against everyone else's, and (when the analysis has classes of underserved
  areas) the disparity per family, each with a plain-language sentence;
- :func:`equity_layer`: one group's per-area share against one family's access as a
  bivariate map layer (GeoJSON, EPSG:4326): share terciles x access terciles (nine
  classes), every area with its share's 90% interval and reliability (unreliable
  estimates marked, never ranked as extremes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from shapely.geometry import mapping

from safetygap import FAMILIES
from safetygap.equity.areas import column
from safetygap.errors import option
from safetygap.geo.bivariate import LEVELS, terciles
from safetygap.readmodel._common import _num
from safetygap.readmodel.records_equity import EquityAreaCollection, EquityReport
from safetygap.readmodel.view import WorkspaceView
from safetygap.tables import measures as M
from safetygap.vocab import Reliability

__all__ = [
    "BIVARIATE_COLORS",
    "NoEquity",
    "UnknownGroup",
    "area_groups",
    "bivariate_label",
    "equity_context",
    "equity_layer",
    "equity_report",
    "equity_rows",
    "group_keys",
]

BIVARIATE_COLORS: tuple[tuple[str, ...], ...] = (
    ("#e8e8e8", "#ace4e4", "#5ac8c8"),
    ("#dfb0d6", "#a5add3", "#5698b9"),
    ("#be64ac", "#8c62aa", "#3b4994"),
)
"""Fill colour by ``[share tercile - 1][access tercile - 1]`` (J. Stevens' 3 x 3 bivariate
scheme): pink rises with the group's share, blue with access, so "high share, low access"
is the strong pink of row 3, column 1."""
NO_VALUE_COLOR = "#ffffff"
RELIABILITY_WORDS = {
    str(Reliability.RELIABLE): "reliable",
    str(Reliability.CAUTION): "use with caution (CV 12-30%)",
    str(Reliability.UNRELIABLE): "unreliable (CV above 30%)",
    str(Reliability.UNKNOWN): "reliability unknown (no margin of error)",
}


class NoEquity(LookupError):
    """The workspace was analysed without a demographic table."""

    def __init__(self) -> None:
        super().__init__(f"this analysis has no demographic table (analyse the city again "
                         f"with {option('demographics')}; the demo city has one)")


class UnknownGroup(KeyError):
    """No group with this key in the workspace's demographics."""

    def __init__(self, key: str, allowed: list[str]):
        self.key, self.allowed = key, allowed
        super().__init__(f"no demographic group {key!r}; allowed: {', '.join(allowed)}")


def _equity(view: WorkspaceView) -> dict[str, Any]:
    eq = view.workspace.equity
    if eq is None:
        raise NoEquity()
    return eq


def group_keys(view: WorkspaceView) -> list[str]:
    """The workspace's demographic group keys (empty without demographics)."""
    eq = view.workspace.equity
    return [] if eq is None else [g["key"] for g in eq["groups"]]


def bivariate_label(share_t: int, access_t: int) -> str:
    """``"high share, low access"``; ``"no value"`` when either tercile is 0."""
    if share_t == 0 or access_t == 0:
        return "no value"
    return f"{LEVELS[share_t - 1]} share, {LEVELS[access_t - 1]} access"


def _pct(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{100 * v:.{digits}f}%"


def _interval_words(iv: dict[str, Any], *, digits: int = 1, points: bool = False) -> str:
    if iv.get("low") is None or iv.get("high") is None:
        return "no interval (no margins of error)"
    if points:
        return (f"90% interval {100 * iv['low']:+.{digits}f} to "
                f"{100 * iv['high']:+.{digits}f} points")
    return f"90% interval {_pct(iv['low'], digits)} to {_pct(iv['high'], digits)}"


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _access_sentence(label: str, family: str, ratio: dict[str, Any], where: str) -> str:
    r, lo, hi = ratio.get("estimate"), ratio.get("low"), ratio.get("high")
    if r is None:
        return f"No {family} access value for {label}."
    if lo is not None and hi is not None and lo <= 1 <= hi:
        return (f"{_upper(label)} experience about the same {family} access as {where} "
                f"average (ratio {r:.2f}, 90% interval {lo:.2f} to {hi:.2f} includes 1).")
    word = "lower" if r < 1 else "higher"
    size = abs(1 - r)
    tail = "" if lo is None else f", 90% interval {lo:.2f} to {hi:.2f}"
    return (f"{_upper(label)} experience {size:.0%} {word} {family} access than {where} "
            f"average (ratio {r:.2f}{tail}).")


def _disparity_sentence(label: str, family: str, d: dict[str, Any]) -> str:
    sg, so, diff = d["share_group"], d["share_others"], d["difference"]
    if sg.get("estimate") is None or so.get("estimate") is None:
        return f"No {family} disparity for {label}: no areas classified."
    head = (f"{_pct(sg['estimate'])} of {label} live in the areas underserved for {family} "
            f"services, against {_pct(so['estimate'])} of everyone else")
    lo, hi = diff.get("low"), diff.get("high")
    if lo is not None and hi is not None and lo <= 0 <= hi:
        return head + f" (difference {_interval_words(diff, points=True)}: not clear)."
    return head + f" ({100 * diff['estimate']:+.1f} points, " \
        f"{_interval_words(diff, points=True)})."


def equity_report(view: WorkspaceView, *, ward: str | None = None) -> EquityReport:
    """The city's (or ward ``ward``'s) equity results for the API, the report and the ward
    page: per group its totals, mean access and disparity with sentences. Raises
    :class:`NoEquity` when the workspace has no demographics; the ward id must exist."""
    eq = _equity(view)
    if ward is None:
        scope = {"level": "city", "area_id": None, "name": "the whole city"}
        where = "the city's"
        blocks = eq["city"]["groups"]
    else:
        view._position("ward", ward)  # UnknownArea for a ward that does not exist
        scope = {"level": "ward", "area_id": ward, "name": eq["wards"][ward]["name"]}
        blocks = eq["wards"][ward]["groups"]
        where = f"{scope['name']}'s"
    groups = []
    for g in eq["groups"]:
        b = blocks[g["key"]]
        total = b["total"]
        rel = total.get("reliability", str(Reliability.UNKNOWN))
        label = g["label"]
        share_text = (f"{_pct(total.get('share'))} of {g['universe_label']}"
                      + ("" if total.get("share_moe") is None else
                         f" (± {100 * total['share_moe']:.1f} points)")
                      + f"; {RELIABILITY_WORDS.get(rel, rel)}")
        access = {f: dict(m, sentence=_access_sentence(label, f, m["ratio"], where))
                  for f, m in b["mean_access"].items()}
        disp = None if b["disparity"] is None else {
            f: dict(d, sentence=_disparity_sentence(label, f, d))
            for f, d in b["disparity"].items()}
        groups.append({**g, "title": _upper(label), "total": total, "reliability": rel,
                       "share_text": share_text,
                       "mean_access": access, "disparity": disp})
    return {
        "synthetic": bool(view.synthetic), "label": view.label, "scope": scope,
        "layout": eq["layout"], "settings": eq["settings"], "families": eq["families"],
        "disparity_available": bool(eq["disparity_available"]),
        "underserved_definition": eq.get("underserved_definition"),
        "notes": eq.get("notes", ""), "groups": groups,
    }


def equity_layer(view: WorkspaceView, level: str, group: str, family: str, *,
                 tolerance_m: float, ward: str | None = None) -> EquityAreaCollection:
    """Areas of ``level`` as a GeoJSON FeatureCollection (EPSG:4326) with ``group``'s
    share (and its 90% interval, CV and reliability) against ``family``'s access: share
    and access terciles over the level's areas with both values, the bivariate class
    ``3 (share tercile - 1) + access tercile`` (1..9, 0 = no value), its label and colour.
    ``ward`` keeps the neighborhoods in that ward (terciles stay city-wide)."""
    keys = group_keys(view)
    if not keys:
        raise NoEquity()
    if group not in keys:
        raise UnknownGroup(group, keys)
    if family not in FAMILIES:
        raise KeyError(family)

    def compute() -> EquityAreaCollection:
        frame = view.areas[level]
        share = frame[column("group_share", group)].to_numpy(float)
        access = frame[M.column(M.ACCESS, family)].to_numpy(float)
        both = np.isfinite(share) & np.isfinite(access)
        st, at = terciles(share, both), terciles(access, both)
        geoms = view.simplified(level, tolerance_m)
        keep = np.ones(len(frame), dtype=bool)
        if ward is not None:
            keep = frame["area_id"].isin(view.ward_neighborhoods(ward)).to_numpy()
        cols = {m: frame[column(m, group)].to_numpy() for m in
                ("group_count", "group_count_moe", "group_share_moe", "group_share_low",
                 "group_share_high", "group_share_cv", "group_reliability")}
        universe_key = next(g["universe"] for g in _equity(view)["groups"]
                            if g["key"] == group)
        universe = frame[column("universe", universe_key)].to_numpy(float)
        features = []
        for i in np.flatnonzero(keep):
            s, a = int(st[i]), int(at[i])
            cls = 3 * (s - 1) + a if s and a else 0
            rel = str(cols["group_reliability"][i])
            props = {
                "area_id": str(frame["area_id"].iat[i]), "name": str(frame["name"].iat[i]),
                "share": _num(share[i]), "share_moe": _num(cols["group_share_moe"][i]),
                "share_low": _num(cols["group_share_low"][i]),
                "share_high": _num(cols["group_share_high"][i]),
                "share_cv": _num(cols["group_share_cv"][i]), "reliability": rel,
                "unreliable": rel in (str(Reliability.UNRELIABLE), str(Reliability.UNKNOWN)),
                "count": _num(cols["group_count"][i]),
                "count_moe": _num(cols["group_count_moe"][i]), "universe": _num(universe[i]),
                "access": _num(access[i]), "share_tercile": s, "access_tercile": a,
                "bivariate_class": cls, "label": bivariate_label(s, a),
                "color": BIVARIATE_COLORS[s - 1][a - 1] if cls else NO_VALUE_COLOR,
            }
            features.append({"type": "Feature", "id": props["area_id"],
                             "geometry": mapping(geoms[i]), "properties": props})
        label = next(g["label"] for g in _equity(view)["groups"] if g["key"] == group)
        return {
            "type": "FeatureCollection", "level": level, "group": group,
            "group_label": label, "family": family, "crs": "EPSG:4326",
            "tolerance_m": float(tolerance_m),
            "legend": [{"bivariate_class": 3 * s + a + 1, "label": bivariate_label(s + 1, a + 1),
                        "color": BIVARIATE_COLORS[s][a]} for s in range(3) for a in range(3)],
            "features": features,
        }

    return view.cached(("equity_layer", level, group, family, float(tolerance_m), ward),
                       compute)


def area_groups(view: WorkspaceView, level: str, area_id: str) -> list[dict[str, Any]]:
    """One area's group shares (from its layer columns): per group its label, share, 90%
    interval (share -/+ MOE, clipped to 0-1), CV and reliability; empty without
    demographics."""
    eq = view.workspace.equity
    if eq is None:
        return []
    row = view.areas[level].iloc[view._position(level, area_id)]
    out = []
    for g in eq["groups"]:
        k = g["key"]
        out.append({"key": k, "label": g["label"], "title": _upper(g["label"]),
                    "universe_label": g["universe_label"],
                    "share": _num(row[column("group_share", k)]),
                    "low": _num(row[column("group_share_low", k)]),
                    "high": _num(row[column("group_share_high", k)]),
                    "cv": _num(row[column("group_share_cv", k)]),
                    "reliability": str(row[column("group_reliability", k)])})
    return out


def equity_context(view: WorkspaceView, *, ward: str | None = None,
                   heading: str = "h2") -> dict[str, Any]:
    """Template context of ``equity_section.html`` (the partial the report and a ward's
    page include): ``equity`` (:func:`equity_report`, or None when the workspace has no
    demographics: the partial then shows nothing) and ``equity_h`` (the section's heading
    tag)."""
    report = None if view.workspace.equity is None else equity_report(view, ward=ward)
    return {"equity": report, "equity_h": heading}


def equity_rows(view: WorkspaceView, level: str, area_ids: list[str]) -> list[dict[str, Any]]:
    """The per-area equity columns (``universe_*``, ``group_*``: counts, shares, MOEs, CV,
    reliability) of ``area_ids`` at ``level``, one dict per id in that order, for the
    "every measure" CSV downloads; empty dicts without demographics."""
    frame = view.areas[level]
    cols = [c for c in frame.columns if c.startswith(("universe_", "group_"))]
    if not cols:
        return [{} for _ in area_ids]
    table = frame.set_index("area_id")[cols]
    out = []
    for i in area_ids:
        row = table.loc[i]
        out.append({c: (str(v) if isinstance(v, str) else _num(v)) for c, v in row.items()})
    return out
