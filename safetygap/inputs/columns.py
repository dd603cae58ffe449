"""Column mappings ("presets") that tell the readers which column is which.

A :class:`ColumnMap` names the source columns of one export. Built-in presets
live in ``safetygap/data/presets.toml``; users can pass their own mapping.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields, replace
from importlib import resources
from typing import Any

from safetygap.errors import Problems
from safetygap.inputs.times import AUTO, NAMED_FORMS, check_time_format

TIME_FORMATS = (AUTO, *NAMED_FORMS)
"""Named time formats (:mod:`safetygap.inputs.times`); anything else containing ``%`` is
a strftime pattern."""


@dataclass(frozen=True)
class ColumnMap:
    """Which source column holds each field of a call.

    Coordinates come either from ``latitude``/``longitude`` (then ``crs`` is
    EPSG:4326 unless stated) or from ``x``/``y`` with a declared ``crs``, or,
    for files with a geometry column (GeoJSON, GeoPackage, GeoParquet), from the
    geometry itself when none of the four is set.

    The call time comes from ``time``; when the export splits it in two
    columns, ``date`` names the date column and ``time`` the time-of-day
    column: the two values are joined with one space (``"04/24/2021" +
    " " + "12:54:00"``) and parsed with ``time_format`` (here
    ``"%m/%d/%Y %H:%M:%S"``). ``date`` alone (no ``time``) is parsed as is.
    """

    id: str | None = None
    call_type: str | None = "call_type"
    agency: str | None = None
    time: str | None = None
    date: str | None = None
    time_format: str = AUTO
    latitude: str | None = None
    longitude: str | None = None
    x: str | None = None
    y: str | None = None
    crs: str | None = None
    zero_is_missing: bool = True
    default_agency: str = "POLICE"
    description: str = ""
    disposition: str | None = None
    """Optional: the call's disposition (read when the file has the column; diversion
    rules may use it)."""
    priority: str | None = None
    """Optional: the call's priority number (read when the file has the column)."""

    @property
    def coordinate_columns(self) -> tuple[str, str] | None:
        """(x column, y column) in that order, or None to use the geometry."""
        if self.longitude and self.latitude:
            return self.longitude, self.latitude
        if self.x and self.y:
            return self.x, self.y
        return None

    @property
    def source_crs(self) -> str | None:
        if self.crs:
            return self.crs
        if self.longitude and self.latitude:
            return "EPSG:4326"
        return None

    def required_columns(self) -> dict[str, str]:
        """Mapping field -> source column for every column that must exist."""
        wanted = {
            "id": self.id,
            "call_type": self.call_type,
            "agency": self.agency,
            "time": self.time,
            "date": self.date,
        }
        coords = self.coordinate_columns
        if coords:
            wanted["x"], wanted["y"] = coords
        return {k: v for k, v in wanted.items() if v}

    def optional_columns(self) -> dict[str, str]:
        """Mapping field -> source column of the columns read only when the file has them
        (``disposition``, ``priority``)."""
        wanted = {"disposition": self.disposition, "priority": self.priority}
        return {k: v for k, v in wanted.items() if v}

    @property
    def time_label(self) -> str | None:
        """The source column(s) of the call time, for messages: ``"date+time"`` or one name."""
        if self.date and self.time:
            return f"{self.date}+{self.time}"
        return self.date or self.time

    def without_optional(self, keep: set[str]) -> ColumnMap:
        """A copy with the optional columns other than ``keep`` (field names) unset."""
        return replace(self, **{k: None for k in self.optional_columns() if k not in keep})

    def with_overrides(self, **overrides: Any) -> ColumnMap:
        """A copy with the given (non-None) fields replaced."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _presets_table() -> dict[str, dict[str, Any]]:
    text = (resources.files("safetygap") / "data" / "presets.toml").read_text("utf-8")
    return tomllib.loads(text)


def preset_names() -> list[str]:
    """Names of the built-in column presets."""
    return sorted(_presets_table())


def load_preset(name: str) -> ColumnMap:
    """The built-in :class:`ColumnMap` called ``name`` (see :func:`preset_names`)."""
    table = _presets_table()
    problems = Problems()
    if name not in table:
        problems.add("preset", "unknown preset", value=name, allowed=sorted(table))
        problems.raise_if_any()
    entry = table[name]
    known = {f.name for f in fields(ColumnMap)}
    for key in entry:
        if key not in known:
            problems.add("presets.toml", f"preset {name!r} has an unknown key", value=key,
                         allowed=sorted(known))
    check_time_format(entry.get("time_format", AUTO), f"presets.toml preset {name!r} "
                      "time_format", problems)
    problems.raise_if_any()
    return ColumnMap(**entry)


def matching_presets(header: list[str]) -> list[str]:
    """Built-in presets whose every column is in ``header`` (the columns of a file)."""
    have = set(header)
    return [name for name in preset_names()
            if set(load_preset(name).required_columns().values()) <= have]
