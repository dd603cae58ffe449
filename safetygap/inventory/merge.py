"""Merging provider sources (OpenStreetMap, geocoded lists, hand-made files) into one
inventory, with duplicates found, listed for review and resolved by a stated rule.

Two rows are **duplicates** when they have

1. the same ``service_type``;
2. points at most :attr:`MergeRule.distance_m` metres apart (straight line, in the UTM
   zone of the providers; rows without a point, which serve named areas, must have the
   same ``serves`` instead);
3. similar names: ``rapidfuzz.fuzz.token_set_ratio`` of the names folded for matching
   (case, accents, punctuation, ``&`` = ``and``; :func:`safetygap.boundaries.names.
   normalize_name`) at least :attr:`MergeRule.name_score` (0-100). The token-set ratio
   scores 100 when one name's words are all in the other ("Cedar Youth Center" and "Cedar
   Youth Center - Main Site"), and ignores word order.

Duplicates are grouped transitively (a group can hold more than two rows). The rule
(:attr:`MergeRule.keep`) then decides which row of a group stays:

``first``   the row of the source listed first (within one source, the earlier row):
            list the source you trust most first;
``newest``  the row verified most recently (``last_verified``; never verified counts as
            oldest), ties by the order of the sources;
``none``    nothing is merged: every row stays and the groups are only reported.

The kept row keeps its name, service type, point, capacity and capacity unit; each of its
empty inventory fields (hours, phone, website, address, eligibility, languages, ...) is
filled from the other rows of its group in the rule's order, and ``merged_from`` lists the
ids of the rows merged into it. Pairs at the same distance whose names score within
:data:`NEAR_MISS_MARGIN` points below the threshold are reported as "not merged" for a
reviewer to check.

Distances are computed in the projected UTM zone of the providers (metres); the merged
table gives WGS84 latitude/longitude.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from safetygap.boundaries.names import normalize_name
from safetygap.errors import Problems
from safetygap.inputs.inventory_fields import INVENTORY_COLUMNS
from safetygap.taxonomy import Taxonomy

__all__ = ["DEFAULT_DISTANCE_M", "DEFAULT_NAME_SCORE", "KEEP_RULES", "MergeResult",
           "MergeRule", "Source", "merge_sources", "read_source"]

DEFAULT_DISTANCE_M = 100.0
"""Default: two rows of one service type at most this many metres apart may be duplicates."""
DEFAULT_NAME_SCORE = 90.0
"""Default: the least name similarity (rapidfuzz token-set ratio, 0-100) of duplicates."""
NEAR_MISS_MARGIN = 20.0
"""Pairs within the distance whose name score is this far below the threshold are listed
for review as "not merged"."""
KEEP_RULES = ("first", "newest", "none")
EXTRA_COLUMNS = ("osm_id", "osm_tags", "geocoder", "matched_address")
"""Columns of the inputs carried into the merged table when present (not checked)."""
NOT_FILLED = ("capacity_unit", "geocode_quality", "geocoder", "matched_address")
"""Fields never filled from another row: they belong with the kept row's capacity or
point."""
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")


@dataclass(frozen=True)
class MergeRule:
    """How duplicates are found and resolved (see the module docstring)."""

    distance_m: float = DEFAULT_DISTANCE_M
    name_score: float = DEFAULT_NAME_SCORE
    keep: str = "first"

    def check(self) -> None:
        """Raise one ValidationError naming every bad setting."""
        problems = Problems()
        if not (np.isfinite(self.distance_m) and self.distance_m >= 0):
            problems.add("--distance", "must be a distance in metres >= 0",
                         value=self.distance_m)
        if not 0 <= self.name_score <= 100:
            problems.add("--name-score", "must be between 0 and 100", value=self.name_score)
        if self.keep not in KEEP_RULES:
            problems.add("--keep", "unknown rule", value=self.keep, allowed=KEEP_RULES)
        problems.raise_if_any()

    def describe(self) -> str:
        """The rule in words, as the command prints it."""
        found = (f"duplicates: same service type, points at most {self.distance_m:,.0f} m "
                 f"apart (area-serving rows without a point: the same areas), and names "
                 f"scoring at least {self.name_score:g} of 100 (rapidfuzz token-set ratio "
                 "after folding case, accents, punctuation and '&')")
        kept = {
            "first": "kept: the row of the source listed first (then the earlier row)",
            "newest": "kept: the row verified most recently (never verified = oldest; "
                      "ties: the source listed first)",
            "none": "kept: every row (--keep none: duplicates are only reported)",
        }[self.keep]
        fill = ("" if self.keep == "none" else "; the kept row's empty fields (not capacity "
                "or its unit) are filled from the rows merged into it, in the same order")
        return f"{found}; {kept}{fill}."


@dataclass
class Source:
    """One input of a merge: its label and its rows, checked as a provider file.

    ``frame`` has ``provider_id``, ``name``, ``family``, ``service_type``, ``capacity``,
    ``latitude`` and ``longitude`` (WGS84; NaN for an area-serving row without a point),
    ``provider_id`` as given, else the label and the row (``organisations-list-3``),
    the inventory columns (``source`` filled with ``label`` where empty) and any of
    :data:`EXTRA_COLUMNS` the file has.
    """

    label: str
    frame: pd.DataFrame
    path: Path | None = None


def read_source(
    path: str | os.PathLike,
    *,
    taxonomy: Taxonomy,
    label: str | None = None,
    encoding: str = "utf-8",
    today: dt.date | None = None,
) -> Source:
    """Read and check one provider file (any format ``analyze --providers`` reads) as a
    merge source; ``label`` defaults to the file name without its suffix."""
    from pyproj import Transformer

    from safetygap.inputs.files import read_table
    from safetygap.inputs.providers import providers_from_frame

    table = read_table(path, where="providers", encoding=encoding)
    label = label or table.path.stem
    where = f"source {label} ({table.path.name})"
    frame, crs = providers_from_frame(table.frame, taxonomy=taxonomy, where=where,
                                      geometry=table.geometry, geometry_crs=table.crs,
                                      today=today)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(
        frame["x"].to_numpy(float), frame["y"].to_numpy(float))
    out = frame.drop(columns=["x", "y"])
    out.insert(5, "latitude", np.round(np.asarray(lat, float), 7))
    out.insert(6, "longitude", np.round(np.asarray(lon, float), 7))
    raw = table.frame.reset_index(drop=True)
    given = (raw["provider_id"].astype("string").fillna("").str.strip()
             if "provider_id" in raw.columns else pd.Series([""] * len(raw), dtype="string"))
    out["provider_id"] = [g if g else f"{_slug(label)}-{i + 1}" for i, g in enumerate(given)]
    out["source"] = out["source"].where(out["source"] != "", label)
    for c in EXTRA_COLUMNS:
        if c in raw.columns:
            out[c] = raw[c].astype("string").fillna("").to_numpy()
    return Source(label, out, table.path)


def _slug(label: str) -> str:
    """A source label as part of an id: ``organisations list`` -> ``organisations-list``."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


@dataclass
class MergeResult:
    """The merged inventory, the review table and counts.

    ``merged``: one row per provider kept (the sources' columns, ``merged_from``);
    ``review``: every row of a duplicate group (``decision`` says kept or merged into
    which id) and every near miss, with ``distance_m`` and ``name_score`` against the
    row it was compared with; ``counts``: rows read, kept and merged away per source,
    duplicate groups, near misses.
    """

    merged: pd.DataFrame
    review: pd.DataFrame
    counts: dict[str, Any] = field(default_factory=dict)


class _Groups:
    """Union-find over row positions."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _stack(sources: list[Source]) -> pd.DataFrame:
    """All rows, in source order, with ``_source`` (position of the source) and unique
    ``provider_id`` (an id given in two sources is prefixed with the source's label)."""
    problems = Problems()
    labels = [s.label for s in sources]
    for lab in labels:
        if not _LABEL.match(lab):
            problems.add("sources", "a source label is letters, digits, space, _ . -",
                         value=lab)
    for lab in sorted({lab for lab in labels if labels.count(lab) > 1}):
        problems.add("sources", "two sources have the same label", value=lab,
                     allowed="LABEL=FILE to name them apart")
    if not sources:
        problems.add("sources", "no source to merge")
    problems.raise_if_any()
    frames = []
    for k, s in enumerate(sources):
        f = s.frame.copy()
        f["_source"] = k
        frames.append(f)
    rows = pd.concat(frames, ignore_index=True)
    for c in EXTRA_COLUMNS:
        if c in rows.columns:
            rows[c] = rows[c].fillna("").astype(str)
    ids = rows["provider_id"].astype(str)
    clash = ids.duplicated(keep=False).to_numpy()
    rows.loc[clash, "provider_id"] = [f"{_slug(labels[k])}:{i}" for k, i in
                                      zip(rows.loc[clash, "_source"], ids[clash], strict=True)]
    still = rows["provider_id"][rows["provider_id"].duplicated()]
    for v in sorted(set(still))[:10]:
        problems.add("sources", "the same provider_id twice in one source", value=v)
    problems.raise_if_any()
    return rows


def _pairs(rows: pd.DataFrame, rule: MergeRule) -> list[tuple[int, int, float, float]]:
    """(i, j, distance in metres, name score) of every same-type pair within the distance
    (area-serving rows without a point: the same ``serves``) whose names score at least
    the near-miss floor."""
    from rapidfuzz import fuzz
    from scipy.spatial import cKDTree

    lat = rows["latitude"].to_numpy(float)
    lon = rows["longitude"].to_numpy(float)
    placed = np.isfinite(lat) & np.isfinite(lon)
    x = np.full(len(rows), np.nan)
    y = np.full(len(rows), np.nan)
    if placed.any():
        from pyproj import Transformer

        to_utm = Transformer.from_crs("EPSG:4326", utm_zone(float(np.median(lon[placed])),
                                                            float(np.median(lat[placed]))),
                                      always_xy=True)
        x[placed], y[placed] = to_utm.transform(lon[placed], lat[placed])
    names = [normalize_name(n) for n in rows["name"].astype(str)]
    floor = max(0.0, rule.name_score - NEAR_MISS_MARGIN)
    out: list[tuple[int, int, float, float]] = []

    def consider(i: int, j: int, dist: float) -> None:
        if not names[i] or not names[j]:
            return
        score = float(fuzz.token_set_ratio(names[i], names[j]))
        if score >= floor:
            out.append((min(i, j), max(i, j), dist, round(score, 1)))

    stypes = rows["service_type"].astype(str).to_numpy()
    serves = np.array([normalize_name(s) for s in rows["serves"].astype(str)])
    for st in sorted(set(stypes)):
        idx = np.flatnonzero((stypes == st) & placed)
        if len(idx) > 1:
            tree = cKDTree(np.column_stack([x[idx], y[idx]]))
            for a, b in sorted(tree.query_pairs(r=rule.distance_m)):
                i, j = idx[a], idx[b]
                consider(i, j, round(float(np.hypot(x[i] - x[j], y[i] - y[j])), 1))
        free = np.flatnonzero((stypes == st) & ~placed)
        for a in range(len(free)):
            for b in range(a + 1, len(free)):
                i, j = free[a], free[b]
                if serves[i] and serves[i] == serves[j]:
                    consider(i, j, 0.0)
    return sorted(out)


def utm_zone(lon: float, lat: float) -> str:
    """The WGS84 UTM zone (``EPSG:326NN`` north, ``EPSG:327NN`` south) of a point."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def _order(rows: pd.DataFrame, members: list[int], keep: str) -> list[int]:
    """Members of a group, the kept one first (see :data:`KEEP_RULES`)."""
    if keep == "newest":
        verified = rows["last_verified"].astype(str)
        return sorted(members, key=lambda i: (verified.iat[i] == "",
                                              _neg_date(verified.iat[i]), i))
    return sorted(members)


def _neg_date(text: str) -> int:
    return -int(text.replace("-", "")) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else 0


def merge_sources(sources: list[Source], *, rule: MergeRule | None = None) -> MergeResult:
    """Merge ``sources`` (listed in order of trust for ``keep="first"``) into one
    inventory; see the module docstring for the duplicate test and the rule."""
    rule = rule or MergeRule()
    rule.check()
    rows = _stack(sources)
    n = len(rows)
    pairs = _pairs(rows, rule)
    groups = _Groups(n)
    for i, j, _, score in pairs:
        if score >= rule.name_score:
            groups.union(i, j)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(groups.find(i), []).append(i)
    dup_groups = [m for m in members.values() if len(m) > 1]
    dup_groups.sort(key=min)
    merged = rows.copy()
    merged["merged_from"] = ""
    drop = np.zeros(n, dtype=bool)
    fill_cols = [c for c in (*INVENTORY_COLUMNS, *EXTRA_COLUMNS)
                 if c in rows.columns and c not in NOT_FILLED]
    pair_of = {(i, j): (d, s) for i, j, d, s in pairs}
    ids = rows["provider_id"].astype(str).to_numpy()
    review: list[dict[str, Any]] = []

    def row_record(i: int, group: str, decision: str, other: int | None) -> dict[str, Any]:
        d, s = pair_of.get((min(i, other), max(i, other)), (None, None)) \
            if other is not None else (None, None)
        r = rows.iloc[i]
        return {"group": group, "decision": decision, "provider_id": ids[i],
                "source": r["source"], "name": r["name"], "service_type": r["service_type"],
                "address": r["address"], "latitude": r["latitude"],
                "longitude": r["longitude"], "last_verified": r["last_verified"],
                "compared_with": "" if other is None else ids[other],
                "distance_m": d, "name_score": s}

    for g, group in enumerate(dup_groups, start=1):
        order = _order(rows, group, rule.keep)
        kept = order[0]
        if rule.keep == "none":
            for i in order:
                review.append(row_record(i, str(g), "kept (--keep none)",
                                         order[1] if i == kept else kept))
            continue
        filled = []
        for c in fill_cols:
            if str(merged.at[kept, c]) == "":
                donor = next((i for i in order[1:] if str(rows.at[i, c]) != ""), None)
                if donor is not None:
                    merged.at[kept, c] = rows.at[donor, c]
                    filled.append(f"{c} from {ids[donor]}")
        merged.at[kept, "merged_from"] = "; ".join(ids[i] for i in order[1:])
        rec = row_record(kept, str(g), "kept", order[1])
        rec["fields_filled"] = "; ".join(filled)
        review.append(rec)
        for i in order[1:]:
            drop[i] = True
            review.append(row_record(i, str(g), f"merged into {ids[kept]}", kept))
    near = [(i, j, d, s) for i, j, d, s in pairs
            if s < rule.name_score and groups.find(i) != groups.find(j)]
    for k, (i, j, _, s) in enumerate(near, start=1):
        why = f"not merged: names score {s:g} < {rule.name_score:g}; check them"
        review.append(row_record(i, f"check-{k}", why, j))
        review.append(row_record(j, f"check-{k}", why, i))
    out = merged[~drop].drop(columns="_source").reset_index(drop=True)
    front = ["provider_id", "name", "service_type", "family", "capacity", "latitude",
             "longitude"]
    out = out[front + [c for c in out.columns if c not in front]]
    labels = [s.label for s in sources]
    src = rows["_source"].to_numpy()
    counts = {
        "sources": {lab: {"rows": int((src == k).sum()),
                          "kept": int(((src == k) & ~drop).sum()),
                          "merged_away": int(((src == k) & drop).sum())}
                    for k, lab in enumerate(labels)},
        "rows": n,
        "providers": len(out),
        "duplicate_groups": len(dup_groups),
        "merged_away": int(drop.sum()),
        "near_misses": len(near),
    }
    review_cols = ["group", "decision", "provider_id", "source", "name", "service_type",
                   "address", "latitude", "longitude", "last_verified", "compared_with",
                   "distance_m", "name_score", "fields_filled"]
    return MergeResult(out, pd.DataFrame(review, columns=review_cols), counts)
