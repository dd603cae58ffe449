"""Column mappings ("presets") that tell the readers which column is which.

A :class:`ColumnMap` names the source columns of one export. The built-in presets are
the ``[calls]`` sections of the built-in city configurations
(``safetygap/data/cities/<name>.toml``, :mod:`safetygap.config.city`); a user's city
configuration names its columns the same way.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
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
    source: str | None = None
    """Who started the call (a column such as ``SelfInitiated`` or ``CallSource``): its
    values are mapped to :class:`~safetygap.vocab.CallSource` by ``source_values``."""
    source_values: Mapping[str, str] | None = field(default=None, hash=False)
    """Value of the ``source`` column -> :class:`~safetygap.vocab.CallSource` value
    (``{"Y": "officer_initiated", "N": "public_911"}``); matched trimmed and ignoring
    case. A value not in the mapping is an error (empty values are ``not_recorded``)."""
    default_source: str = "not_recorded"
    """The source of every call when ``source`` is not given (e.g. ``public_911`` for a
    file of 911 calls only)."""
    feed: str | None = None
    """Optional: which export (feed) a call comes from when one file mixes several (e.g.
    911 and 311 records); each feed's covered time is measured on its own
    (docs/METHODS.md, rates over covered time)."""

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
            "source": self.source,
        }
        coords = self.coordinate_columns
        if coords:
            wanted["x"], wanted["y"] = coords
        return {k: v for k, v in wanted.items() if v}

    def optional_columns(self) -> dict[str, str]:
        """Mapping field -> source column of the columns read only when the file has them
        (``disposition``, ``priority``, ``feed``)."""
        wanted = {"disposition": self.disposition, "priority": self.priority,
                  "feed": self.feed}
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
        d = asdict(self)
        d["source_values"] = None if self.source_values is None else dict(self.source_values)
        return d


def check_column_map(cmap: ColumnMap, where: str, problems: Problems) -> None:
    """Add a problem for every bad value of ``cmap``: the time format, the call sources
    of ``source_values`` and ``default_source``, a value mapping without a source column."""
    from safetygap.vocab import CallSource, allowed

    check_time_format(cmap.time_format, f"{where} time_format", problems)
    sources = allowed(CallSource)
    for raw, value in (cmap.source_values or {}).items():
        if value not in sources:
            problems.add(where, f"source_values: unknown call source for {raw!r}",
                         value=value, allowed=sources)
    if cmap.default_source not in sources:
        problems.add(where, "default_source: unknown call source", value=cmap.default_source,
                     allowed=sources)
    if cmap.source and not cmap.source_values:
        problems.add(where, f"source column {cmap.source!r} without source_values: say which "
                     "call source each of its values means",
                     allowed='e.g. source_values = {Y = "officer_initiated", '
                             'N = "public_911"}')
    if not isinstance(cmap.zero_is_missing, bool):
        problems.add(where, "zero_is_missing must be true or false",
                     value=cmap.zero_is_missing)


def preset_names() -> list[str]:
    """Names of the built-in column presets: the built-in city configurations
    (``safetygap/data/cities/<name>.toml``, format in :mod:`safetygap.config.city`)."""
    folder = resources.files("safetygap") / "data" / "cities"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def preset_path(name: str) -> Path:
    """The file of the built-in city configuration ``name``."""
    return Path(str(resources.files("safetygap") / "data" / "cities" / f"{name}.toml"))


def load_preset(name: str) -> ColumnMap:
    """The column map (``[calls]``) of the built-in city configuration ``name`` (see
    :func:`preset_names`)."""
    problems = Problems()
    names = preset_names()
    if name not in names:
        problems.add("preset", "unknown preset", value=name, allowed=names)
        problems.raise_if_any()
    doc = tomllib.loads(preset_path(name).read_text("utf-8"))
    entry = dict(doc.get("calls", {}))
    known = {f.name for f in fields(ColumnMap)} - {"description"}
    for key in entry:
        if key not in known:
            problems.add(f"built-in config {name!r} [calls]", "unknown key", value=key,
                         allowed=sorted(known))
    problems.raise_if_any()
    cmap = ColumnMap(**entry, description=str(doc.get("city", {}).get("description", "")))
    check_column_map(cmap, f"built-in config {name!r} [calls]", problems)
    problems.raise_if_any()
    return cmap


def matching_presets(header: list[str]) -> list[str]:
    """Built-in presets whose every column is in ``header`` (the columns of a file)."""
    have = set(header)
    return [name for name in preset_names()
            if set(load_preset(name).required_columns().values()) <= have]
