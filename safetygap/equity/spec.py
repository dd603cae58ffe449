"""Which columns of a demographic table are which group, universe and margin of error.

A *layout* is a TOML file (format in ``docs/METHODS.md``, "Equity"; the packaged ones are
``safetygap/data/demographics_*.toml``)::

    name = "my-acs-table"
    source = "ACS 2018-2022 5-year, table B03002, by tract"
    [key]
    column = "GEOID"        # the column naming each row's area
    by = "id"               # "name" (matched like population names), "id", or
                            # "geometry" (polygons interpolated into the neighborhoods)
    [filter]                # optional: keep only rows whose column equals value
    column = "layer"
    value = "hood"
    [universes.persons]     # the population a share is a share of
    label = "residents"
    count = "B03002_001E"
    moe = "B03002_001M"     # optional: no MOE column means no interval
    [groups.black]
    label = "Black residents (not Hispanic or Latino)"
    category = "race and ethnicity"
    universe = "persons"
    count = ["B03002_004E"] # several columns are summed (MOEs by the sum formula)
    moe = ["B03002_004M"]

A group's count must be a subset of its universe (the proportion formula assumes it).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from safetygap.errors import Problems

__all__ = [
    "KEY_KINDS",
    "PACKAGED_LAYOUTS",
    "DemographicsSpec",
    "Group",
    "Universe",
    "load_spec",
    "packaged_spec",
    "spec_from_dict",
]

KEY_KINDS = ("name", "id", "geometry")
PACKAGED_LAYOUTS = ("mncompass", "demo")
"""Layouts shipped in ``safetygap/data/demographics_<name>.toml``."""
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Universe:
    """A population shares are taken of: persons, households, persons whose poverty status
    is determined, persons 5 and older, ..."""

    key: str
    label: str
    count: str
    moe: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "count": self.count, "moe": self.moe}


@dataclass(frozen=True)
class Group:
    """A group of residents (or households) counted in one universe; ``count`` columns are
    summed (and their ``moe`` columns combined by the sum formula)."""

    key: str
    label: str
    universe: str
    count: tuple[str, ...]
    moe: tuple[str, ...] | None = None
    category: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "universe": self.universe,
                "category": self.category, "count": list(self.count),
                "moe": None if self.moe is None else list(self.moe)}


@dataclass(frozen=True)
class DemographicsSpec:
    """A demographic table's layout (see the module docstring)."""

    name: str
    source: str
    key_column: str
    key_by: str
    universes: tuple[Universe, ...]
    groups: tuple[Group, ...]
    filter_column: str | None = None
    filter_value: str | None = None
    notes: str = ""
    origin: str = field(default="", compare=False)
    """Where the layout came from: a file path or ``packaged:<name>``."""

    def universe(self, key: str) -> Universe:
        return next(u for u in self.universes if u.key == key)

    def group(self, key: str) -> Group:
        return next(g for g in self.groups if g.key == key)

    def columns(self) -> list[str]:
        """Every column the layout reads (key, filter, counts and MOEs), in order."""
        cols = [self.key_column] if self.key_by != "geometry" else []
        if self.filter_column:
            cols.append(self.filter_column)
        for u in self.universes:
            cols += [u.count] + ([u.moe] if u.moe else [])
        for g in self.groups:
            cols += [*g.count, *(g.moe or ())]
        return list(dict.fromkeys(cols))

    def has_moe(self, key: str) -> bool:
        """True when the universe or group ``key`` has MOE columns."""
        for u in self.universes:
            if u.key == key:
                return u.moe is not None
        return self.group(key).moe is not None

    def select(self, groups: Iterable[str]) -> DemographicsSpec:
        """The layout with only ``groups`` (and the universes they use); raises one
        ValidationError naming unknown group keys."""
        wanted = list(dict.fromkeys(groups))
        known = [g.key for g in self.groups]
        problems = Problems()
        for k in wanted:
            if k not in known:
                problems.add("demographic groups", "unknown group", value=k,
                             allowed=", ".join(known))
        problems.raise_if_any()
        kept = tuple(g for g in self.groups if g.key in wanted)
        used = {g.universe for g in kept}
        return DemographicsSpec(self.name, self.source, self.key_column, self.key_by,
                                tuple(u for u in self.universes if u.key in used), kept,
                                self.filter_column, self.filter_value, self.notes,
                                self.origin)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "source": self.source, "origin": self.origin,
            "key": {"column": self.key_column, "by": self.key_by},
            "filter": (None if self.filter_column is None else
                       {"column": self.filter_column, "value": self.filter_value}),
            "universes": [u.to_dict() for u in self.universes],
            "groups": [g.to_dict() for g in self.groups],
            "notes": self.notes,
        }


def _columns(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return None


def spec_from_dict(doc: Mapping[str, Any], *, where: str) -> DemographicsSpec:
    """Build and validate a layout from its parsed TOML; every problem in one error."""
    problems = Problems()
    key = doc.get("key")
    key_column, key_by = "", "name"
    if not isinstance(key, Mapping):
        problems.add(where, "missing [key] table", allowed='column = "...", by = '
                     f'one of {", ".join(KEY_KINDS)}')
    else:
        key_by = str(key.get("by", "name"))
        if key_by not in KEY_KINDS:
            problems.add(f"{where} [key]", "unknown key kind", column="by", value=key_by,
                         allowed=", ".join(KEY_KINDS))
        key_column = key.get("column", "")
        if key_by != "geometry" and (not isinstance(key_column, str) or not key_column):
            problems.add(f"{where} [key]", "column must name the area name or id column",
                         column="column", value=key_column)
    flt = doc.get("filter")
    f_col = f_val = None
    if flt is not None:
        if not isinstance(flt, Mapping) or not isinstance(flt.get("column"), str) or \
                "value" not in flt:
            problems.add(f"{where} [filter]", "needs column and value", value=flt)
        else:
            f_col, f_val = flt["column"], str(flt["value"])
    universes: list[Universe] = []
    for k, u in (doc.get("universes") or {}).items():
        w = f"{where} [universes.{k}]"
        if not _KEY_RE.match(k):
            problems.add(w, "a key is lower-case letters, digits and _ (at most 40)", value=k)
        if not isinstance(u, Mapping) or not isinstance(u.get("count"), str):
            problems.add(w, "needs count = \"<column>\"", value=u)
            continue
        moe = u.get("moe")
        if moe is not None and not isinstance(moe, str):
            problems.add(w, "moe must be one column name", column="moe", value=moe)
            moe = None
        universes.append(Universe(k, str(u.get("label", k)), u["count"], moe))
    if not universes:
        problems.add(where, "no [universes.<key>] table", allowed="at least one universe")
    groups: list[Group] = []
    ukeys = [u.key for u in universes]
    for k, g in (doc.get("groups") or {}).items():
        w = f"{where} [groups.{k}]"
        if not _KEY_RE.match(k):
            problems.add(w, "a key is lower-case letters, digits and _ (at most 40)", value=k)
        if k in ukeys:
            problems.add(w, "a group key may not repeat a universe key", value=k)
        if not isinstance(g, Mapping):
            problems.add(w, "must be a table", value=g)
            continue
        count = _columns(g.get("count"))
        if count is None:
            problems.add(w, "count must be a column name or a list of them",
                         column="count", value=g.get("count"))
        moe = None if g.get("moe") is None else _columns(g.get("moe"))
        if g.get("moe") is not None and (moe is None or count is None or
                                         len(moe) != len(count)):
            problems.add(w, "moe must list one column per count column", column="moe",
                         value=g.get("moe"))
            moe = None
        universe = g.get("universe")
        if universe not in ukeys:
            problems.add(w, "unknown universe", column="universe", value=universe,
                         allowed=", ".join(ukeys) or "none defined")
        if count is not None and universe in ukeys:
            groups.append(Group(k, str(g.get("label", k)), universe, count, moe,
                                str(g.get("category", ""))))
    if not groups and not problems:
        problems.add(where, "no [groups.<key>] table", allowed="at least one group")
    problems.raise_if_any()
    return DemographicsSpec(
        name=str(doc.get("name", "custom")), source=str(doc.get("source", "")),
        key_column=key_column if isinstance(key_column, str) else "", key_by=key_by,
        universes=tuple(universes), groups=tuple(groups), filter_column=f_col,
        filter_value=f_val, notes=str(doc.get("notes", "")), origin=where)


def _parse(data: bytes, where: str) -> dict[str, Any]:
    problems = Problems()
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.add(where, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except tomllib.TOMLDecodeError as exc:
        problems.add(where, f"TOML syntax error: {exc}")
    problems.raise_if_any()
    raise AssertionError  # pragma: no cover


def load_spec(path: str | os.PathLike[str]) -> DemographicsSpec:
    """Read and validate a layout TOML file (``--demographics-mapping``)."""
    p = Path(path)
    where = f"demographics mapping {p}"
    problems = Problems()
    if not p.is_file():
        problems.add(where, "file not found")
        problems.raise_if_any()
    return spec_from_dict(_parse(p.read_bytes(), where), where=where)


def packaged_spec(name: str) -> DemographicsSpec:
    """One of the :data:`PACKAGED_LAYOUTS` (``mncompass``: Minnesota Compass neighborhood
    profiles; ``demo``: the demo city's table)."""
    if name not in PACKAGED_LAYOUTS:
        problems = Problems()
        problems.add("demographics layout", "unknown layout", value=name,
                     allowed=", ".join(PACKAGED_LAYOUTS))
        problems.raise_if_any()
    data = (resources.files("safetygap") / "data" / f"demographics_{name}.toml").read_bytes()
    return spec_from_dict(_parse(data, f"packaged:{name}"), where=f"packaged:{name}")
