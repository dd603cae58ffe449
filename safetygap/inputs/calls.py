"""Reading a calls-for-service file into the canonical calls table.

The canonical table has one row per input row, in input order:

``row``        1-based data row number in the file
``call_id``    the call identifier (text, may be missing)
``call_type``  the call-type / problem name as written (text)
``agency``     the responding agency (text)
``time``       the call time as naive local wall-clock ``datetime64`` (NaT when unparseable)
``x``, ``y``   coordinates in the *source* CRS (:attr:`CallsInput.crs`); NaN when missing

Row-level faults never raise: they are flagged here (``coord_fault``,
``time_fault``) and counted later in the data-quality report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from safetygap.errors import Problems
from safetygap.inputs._files import Table, points_xy, read_table
from safetygap.inputs.columns import ColumnMap

COORD_OK, COORD_MISSING, COORD_INVALID, COORD_ZERO = 0, 1, 2, 3
COORD_FAULT_NAMES = {
    COORD_MISSING: "missing_coordinates",
    COORD_INVALID: "invalid_coordinates",
    COORD_ZERO: "zero_coordinates",
}
MAX_EXAMPLES = 5


@dataclass
class CallsInput:
    """The canonical calls table of one file plus what reading learned."""

    path: Path
    frame: pd.DataFrame
    crs: str
    columns: ColumnMap
    examples: dict[str, list[dict]] = field(default_factory=dict)
    source_xy: tuple[np.ndarray, np.ndarray] | None = None
    """Every row's coordinates as numbers in the source CRS before any fault check (NaN
    where not a number): what the swapped-coordinates check needs."""
    coordinate_label: str = ""
    """The source columns of the coordinates, e.g. ``"longitude/latitude"``."""


def read_calls(
    path: str | os.PathLike, *, columns: ColumnMap, encoding: str = "utf-8"
) -> CallsInput:
    """Read a calls file (CSV, GeoJSON, GeoParquet, GeoPackage, Parquet, JSON records).

    ``columns`` says which source column is which (see
    :func:`safetygap.inputs.load_preset`). Coordinates are returned in the
    source CRS: EPSG:4326 for latitude/longitude, the declared ``crs`` for x/y,
    the file's own CRS for a geometry column.

    Raises :class:`~safetygap.errors.ValidationError` for hard errors: file
    missing or empty, a mapped column missing, no CRS known.
    """
    wanted = columns.required_columns()
    table = read_table(path, where="calls", columns=sorted(set(wanted.values())),
                       encoding=encoding)
    problems = Problems()
    coords = columns.coordinate_columns
    if coords is None and table.geometry is None:
        problems.add(f"calls {table.path}", "no coordinates: give latitude/longitude or x/y "
                     "columns, or use a file with point geometry",
                     allowed="--lat/--lon, --x/--y with --crs, or a geometry column")
    crs = columns.source_crs if coords is not None else (columns.crs or table.crs)
    if crs is None:
        problems.add(f"calls {table.path}", "no CRS: the file declares none and none was given",
                     allowed="a CRS such as EPSG:4326 or EPSG:26915 (--crs)")
    problems.raise_if_any()
    assert crs is not None
    return _canonical(table, columns, crs)


def _text(frame: pd.DataFrame, col: str | None) -> pd.Series | None:
    if col is None:
        return None
    s = frame[col]
    if not isinstance(s.dtype, pd.StringDtype):
        s = s.astype("string[pyarrow]")
    return s


def _canonical(table: Table, cmap: ColumnMap, crs: str) -> CallsInput:
    frame = table.frame
    n = len(frame)
    examples: dict[str, list[dict]] = {}
    out = pd.DataFrame({"row": np.arange(1, n + 1, dtype=np.int64)})
    ids = _text(frame, cmap.id)
    out["call_id"] = ids.str.strip().to_numpy() if ids is not None else pd.array(
        [pd.NA] * n, dtype="string[pyarrow]")
    ctype = _text(frame, cmap.call_type)
    out["call_type"] = ctype.to_numpy() if ctype is not None else pd.array(
        [pd.NA] * n, dtype="string[pyarrow]")
    agency = _text(frame, cmap.agency)
    if agency is None:
        out["agency"] = pd.array([cmap.default_agency] * n, dtype="string[pyarrow]")
    else:
        out["agency"] = agency.fillna(cmap.default_agency).to_numpy()
    if cmap.time or cmap.date:
        raw_time = _time_text(frame, cmap)
        out["time"], bad = parse_times(raw_time, cmap.time_format)
        _examples(examples, "unparseable_date", out, bad, str(cmap.time_label), raw_time)
    else:
        out["time"] = pd.NaT
        out["time"] = out["time"].astype("datetime64[ns]")
    coords = cmap.coordinate_columns
    if coords is not None:
        xs, ys = frame[coords[0]], frame[coords[1]]
        # copies: numeric source columns (JSON, Parquet) give read-only views
        x = pd.to_numeric(xs, errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
        y = pd.to_numeric(ys, errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
        raw_missing = xs.isna().to_numpy() | ys.isna().to_numpy()
        fault = np.full(n, COORD_OK, dtype=np.int8)
        fault[np.isnan(x) | np.isnan(y)] = COORD_INVALID
        fault[raw_missing] = COORD_MISSING
        raw_x, raw_y = xs, ys
        col_label = f"{coords[0]}/{coords[1]}"
    else:
        assert table.geometry is not None
        geom = table.geometry
        x, y, not_point = points_xy(geom)
        fault = np.full(n, COORD_OK, dtype=np.int8)
        fault[np.isnan(x) | np.isnan(y)] = COORD_MISSING
        fault[not_point] = COORD_INVALID
        raw_x = pd.Series(x)
        raw_y = pd.Series(y)
        col_label = "geometry"
    source_xy = (x.copy(), y.copy())
    ok = fault == COORD_OK
    if crs.upper() in ("EPSG:4326", "OGC:CRS84", "WGS84"):
        out_of_range = ok & ((np.abs(y) > 90) | (np.abs(x) > 180))
        fault[out_of_range] = COORD_INVALID
    if cmap.zero_is_missing:
        zero = (fault == COORD_OK) & (np.abs(x) < 1e-9) & (np.abs(y) < 1e-9)
        fault[zero] = COORD_ZERO
    x[fault != COORD_OK] = np.nan
    y[fault != COORD_OK] = np.nan
    out["x"] = x
    out["y"] = y
    out["coord_fault"] = fault
    for code, name in COORD_FAULT_NAMES.items():
        mask = fault == code
        if mask.any():
            raw = pd.Series(raw_x).astype("string").fillna("<empty>").str.cat(
                pd.Series(raw_y).astype("string").fillna("<empty>"), sep=", ")
            _examples(examples, name, out, mask, col_label, raw)
    return CallsInput(table.path, out, crs, cmap, examples, source_xy, col_label)


def _time_text(frame: pd.DataFrame, cmap: ColumnMap) -> pd.Series:
    """The raw call-time values: one column, or ``date + " " + time`` when both are mapped.

    A missing date or time makes the joined value missing (counted as unparseable).
    """
    if cmap.date and cmap.time:
        date = frame[cmap.date].astype("string").str.strip()
        clock = frame[cmap.time].astype("string").str.strip()
        return date.str.cat(clock, sep=" ")
    return frame[cmap.date or cmap.time]


def _examples(
    store: dict[str, list[dict]],
    kind: str,
    out: pd.DataFrame,
    mask: np.ndarray,
    column: str,
    raw: pd.Series,
) -> None:
    idx = np.flatnonzero(mask)[:MAX_EXAMPLES]
    raw_values = pd.Series(raw).iloc[idx]
    store[kind] = [
        {
            "row": int(out["row"].iat[i]),
            "id": None if pd.isna(out["call_id"].iat[i]) else str(out["call_id"].iat[i]),
            "column": column,
            "value": None if pd.isna(v) else str(v),
        }
        for i, v in zip(idx, raw_values, strict=True)
    ]


def parse_times(raw: pd.Series, fmt: str) -> tuple[pd.Series, np.ndarray]:
    """Parse call times; returns (naive datetime64[ns] Series, mask of unparseable non-empty).

    Missing values count as unparseable too (a call without a time cannot be
    placed in a year). Time zones are dropped: wall-clock times are kept as
    written, which matches the city's layer (local time labelled UTC).
    """
    raw = pd.Series(raw).reset_index(drop=True)
    if fmt in ("epoch_ms", "epoch_s"):
        num = pd.to_numeric(raw, errors="coerce")
        unit = "ms" if fmt == "epoch_ms" else "s"
        # bound to years 1900..2200 so garbage numbers do not overflow
        lo, hi = (-2.2e12, 7.2e12) if unit == "ms" else (-2.2e9, 7.2e9)
        num = num.where((num >= lo) & (num <= hi))
        times = pd.to_datetime(num, unit=unit, errors="coerce")
    else:
        text = raw.astype("string")
        codes, uniques = pd.factorize(text)
        uniq = pd.Series(uniques, dtype="string")
        if fmt == "iso":
            parsed = pd.to_datetime(uniq, format="ISO8601", errors="coerce", utc=False)
        else:
            parsed = pd.to_datetime(uniq, format=fmt, errors="coerce")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
        parsed_arr = parsed.to_numpy(dtype="datetime64[ns]")
        vals = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
        has = codes >= 0
        vals[has] = parsed_arr[codes[has]]
        times = pd.Series(vals)
    times = pd.Series(times.to_numpy(dtype="datetime64[ns]"))
    bad = times.isna().to_numpy()
    return times, bad
