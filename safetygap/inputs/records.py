"""Reading a file of diverted records from outside 911 (311 and online police reports).

The canonical records frame (:attr:`RecordsInput.frame`) has one row per input row:
``row`` (1-based), ``record_id``, ``call_type`` (text, may be missing), ``time`` (naive
wall-clock ``datetime64``, NaT when unparseable), ``x``/``y`` in the file's CRS (NaN when
missing; 0, 0 counts as missing), and the ``neighborhood_name`` / ``ward_name`` the
record carries. Placing the records in areas is :mod:`safetygap.outside911`'s job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError

from safetygap.errors import Problems
from safetygap.geo.crs import same_crs
from safetygap.inputs.calls import parse_times, to_float
from safetygap.inputs.files import columns_note, points_xy, read_table
from safetygap.inputs.times import AUTO, FORM_WORDS, detect_time_form

__all__ = ["RecordColumns", "RecordsInput", "read_records"]


@dataclass(frozen=True)
class RecordColumns:
    """Which column of the reports file holds each field. Every one is optional but
    ``time``; a record needs coordinates or a neighborhood / ward name to be placed."""

    id: str = "id"
    call_type: str = "call_type"
    time: str = "time"
    time_format: str = "auto"
    """``auto`` (detected on a sample, as for the calls: :mod:`safetygap.inputs.times`), a
    named form (``iso``, ``us_12h``, ``epoch_ms`` ...) or a strftime pattern."""
    latitude: str = "latitude"
    longitude: str = "longitude"
    x: str = ""
    y: str = ""
    crs: str = ""
    """CRS of ``x``/``y`` (latitude/longitude are EPSG:4326)."""
    neighborhood: str = "neighborhood"
    ward: str = "ward"

    @classmethod
    def from_mapping(cls, given: Mapping[str, str] | None, *,
                     where: str = "option `reports_columns`") -> RecordColumns:
        """The defaults with ``given`` (field -> column) on top; unknown fields are an error
        listing the known ones."""
        known = [f.name for f in fields(cls)]
        problems = Problems()
        for k, v in (given or {}).items():
            if k not in known:
                problems.add(where, "unknown field", value=k, allowed=known)
            elif not isinstance(v, str):
                problems.add(where, f"{k}: the column name must be text", value=v)
        problems.raise_if_any()
        return replace(cls(), **dict(given or {}))

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class RecordsInput:
    """A reports file read: one row per record, coordinates in the file's CRS."""

    path: Path
    frame: pd.DataFrame
    """``row``, ``record_id``, ``call_type``, ``time``, ``x``, ``y``,
    ``neighborhood_name``, ``ward_name``."""
    crs: str
    columns: RecordColumns
    unparseable_times: int
    time_form: str = ""
    """The form the times were read in (detected or given), in words."""


def _geometry_crs(own: str | None, declared: str, label: str, problems: Problems
                  ) -> str | None:
    """The CRS of the records' point geometry: the file's own, or the one declared
    (``crs=`` of option ``reports_columns``) for a file that carries none; a declared CRS
    contradicting the file's is a problem, as is none at all."""
    how = "option `reports_columns` crs=EPSG:n"
    if not declared:
        if own is None:
            problems.add(label, "no CRS: the file declares none (a shapefile without its "
                         ".prj?)", allowed=f"declare it with {how}")
        return own
    try:
        want = CRS.from_user_input(declared)
    except CRSError:
        problems.add(label, "unknown CRS", value=declared, allowed=how)
        return None
    if own is not None and not same_crs(own, want):
        problems.add(label, f"the declared CRS {declared} contradicts the file's own {own}",
                     allowed="leave crs= out to use the file's CRS, or fix the file")
    return own if own is not None else want.to_string()


def read_records(path: str | os.PathLike, *, columns: RecordColumns | Mapping[str, str] | None
                 = None, encoding: str = "utf-8") -> RecordsInput:
    """Read a reports file (the formats ``--calls`` reads). Raises one
    :class:`~safetygap.errors.ValidationError` naming the file, the missing columns and
    the columns the file has, when it has no time column or neither coordinates nor a
    neighborhood or ward name column."""
    cols = columns if isinstance(columns, RecordColumns) else RecordColumns.from_mapping(
        columns)
    where = "reports"
    table = read_table(path, where=where, encoding=encoding)
    frame = table.frame
    header = [str(c) for c in frame.columns]
    has = set(header)
    problems = Problems()
    label = f"reports {table.path}"
    if cols.time not in has:
        problems.add(label, f"time column {cols.time!r} not found", value=cols.time,
                     allowed="option `reports_columns` time=COLUMN")
    lonlat = bool(cols.latitude and cols.longitude and {cols.latitude, cols.longitude} <= has)
    xy = bool(cols.x and cols.y and {cols.x, cols.y} <= has)
    if xy and not cols.crs:
        problems.add(label, "x/y columns need their CRS", value=f"{cols.x}/{cols.y}",
                     allowed="option `reports_columns` crs=EPSG:26915")
    names = [c for c in (cols.neighborhood, cols.ward) if c and c in has]
    if not (lonlat or xy or names or table.geometry is not None):
        problems.add(label, "no way to place the records: no coordinate columns "
                     f"({cols.latitude}/{cols.longitude}) and no neighborhood or ward name "
                     f"column ({cols.neighborhood}, {cols.ward})",
                     allowed="option `reports_columns` latitude=COL longitude=COL, or "
                             "neighborhood=COL / ward=COL")
    geometry_crs = None
    if not (lonlat or xy) and table.geometry is not None:
        geometry_crs = _geometry_crs(table.crs, cols.crs, label, problems)
    if problems:
        problems.note(columns_note(label, header))
    problems.raise_if_any()
    n = len(frame)
    form = cols.time_format
    if form == AUTO:
        form = detect_time_form(frame[cols.time], column=cols.time, what=label,
                                option="option `reports_columns` time_format=").form
    times, bad = parse_times(frame[cols.time], form)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    crs = "EPSG:4326"
    if lonlat:
        x, y = to_float(frame[cols.longitude]), to_float(frame[cols.latitude])
    elif xy:
        x, y, crs = to_float(frame[cols.x]), to_float(frame[cols.y]), cols.crs
    elif table.geometry is not None:
        x, y, _ = points_xy(np.asarray(table.geometry))
        crs = str(geometry_crs)
    zero = (x == 0) & (y == 0)
    x[zero], y[zero] = np.nan, np.nan

    def text(col: str) -> pd.Series:
        if col and col in has:
            s = frame[col].astype("string").str.strip()
            return s.where(s != "", pd.NA)
        return pd.Series(pd.NA, index=frame.index, dtype="string")

    out = pd.DataFrame({
        "row": np.arange(1, n + 1, dtype=np.int64),
        "record_id": text(cols.id).to_numpy(),
        "call_type": text(cols.call_type).to_numpy(),
        "time": times.to_numpy(),
        "x": x,
        "y": y,
        "neighborhood_name": text(cols.neighborhood).to_numpy(),
        "ward_name": text(cols.ward).to_numpy(),
    })
    words = FORM_WORDS.get(form, f"the pattern {form!r}")
    return RecordsInput(table.path, out, crs, cols, int(bad.sum()),
                        time_form=words + (" (detected)" if cols.time_format == AUTO
                                           else ""))
