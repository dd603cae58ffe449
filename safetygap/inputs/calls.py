"""Reading a calls-for-service file into the canonical calls table.

The canonical table has one row per input row, in input order:

``row``        1-based data row number in the file
``call_id``    the call identifier (text, may be missing)
``call_type``  the call-type / problem name as written (text)
``agency``     the responding agency (text)
``time``       the call time as naive local wall-clock ``datetime64`` (NaT when unparseable)
``disposition``, ``priority``  (text) only when mapped and present in the file
``source``     who started the call (categorical of :class:`~safetygap.vocab.CallSource`):
               the ``source`` column through ``source_values``, else ``default_source``
``x``, ``y``   coordinates in the *source* CRS (:attr:`CallsInput.crs`); NaN when missing

Row-level faults never raise: they are flagged here (``coord_fault``,
``time_fault``) and counted later in the data-quality report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from safetygap.errors import Problems, option
from safetygap.inputs.columns import ColumnMap
from safetygap.inputs.files import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    arrow_text,
    check_file,
    is_geoparquet,
    open_csv_batches,
    open_geoparquet_batches,
    open_parquet_batches,
    points_xy,
    read_table,
    suffix_of,
    to_float,
)
from safetygap.inputs.header import check_calls_header, file_header
from safetygap.inputs.malformed import (
    DEFAULT_MAX_MALFORMED_SHARE,
    MalformedRows,
    kept_row_numbers,
)
from safetygap.inputs.times import AUTO, TimeForm, detect_time_form, parse_times
from safetygap.tables import calls as C
from safetygap.vocab import CallSource, RowStatus, allowed

__all__ = ["CallsInput", "CallsSample", "calls_header", "calls_sample", "parse_times",
           "read_calls", "to_float"]

COORD_OK, COORD_MISSING, COORD_INVALID, COORD_ZERO = 0, 1, 2, 3
COORD_FAULT_NAMES = {
    COORD_MISSING: RowStatus.MISSING_COORDINATES.value,
    COORD_INVALID: RowStatus.INVALID_COORDINATES.value,
    COORD_ZERO: RowStatus.ZERO_COORDINATES.value,
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
    header: list[str] = field(default_factory=list)
    """Every attribute column of the file (not only the mapped ones)."""
    malformed: MalformedRows = field(default_factory=MalformedRows)
    """CSV rows skipped because their number of fields differs from the header's."""
    time_form: TimeForm | None = None
    """The form the times were read with (detected on the first batch, or as given);
    None when no time column is mapped."""


def read_calls(
    path: str | os.PathLike, *, columns: ColumnMap, encoding: str = "utf-8",
    max_malformed_share: float = DEFAULT_MAX_MALFORMED_SHARE,
) -> CallsInput:
    """Read a calls file (CSV, GeoJSON, GeoParquet, GeoPackage, Parquet, JSON records).

    ``columns`` says which source column is which (see
    :func:`safetygap.inputs.load_preset`). Coordinates are returned in the
    source CRS: EPSG:4326 for latitude/longitude, the declared ``crs`` for x/y,
    the file's own CRS for a geometry column.

    CSV, plain Parquet and GeoParquet (WKB geometry) files are streamed in
    pyarrow batches of the mapped columns only (and the geometry column, decoded
    batch by batch, unless coordinates come from columns) and converted batch by
    batch, so memory stays bounded by the output table (about 100 bytes a row)
    whatever the file's size; other formats (GeoJSON, GeoPackage, JSON records,
    GeoParquet with GeoArrow-encoded geometry) are read whole. Every input row is
    kept, in order.

    A CSV row whose number of fields differs from the header's is skipped and listed
    (:attr:`CallsInput.malformed`); the other rows keep their own row numbers. More
    than ``max_malformed_share`` of the rows malformed refuses the file.

    Raises :class:`~safetygap.errors.ValidationError` for hard errors: file
    missing or empty, a mapped column missing, no CRS known, no data rows (all
    that the header shows are raised together, see
    :func:`~safetygap.inputs.header.check_calls_header`), too many malformed rows.
    """
    head = check_calls_header(path, columns=columns, encoding=encoding)
    p = head.path
    present = {k: v for k, v in columns.optional_columns().items() if v in head.columns}
    columns_read = columns if len(present) == len(columns.optional_columns()) else (
        columns.without_optional(set(present)))
    wanted = sorted(set(columns.required_columns().values()) | set(present.values()))
    problems = Problems()
    suffix = suffix_of(p)
    batches: Iterable[tuple[pd.DataFrame, np.ndarray | None]]
    geo_file = suffix in PARQUET_SUFFIXES and is_geoparquet(p)
    geo = (open_geoparquet_batches(p, "calls", wanted,
                                   geometry=columns.coordinate_columns is None)
           if geo_file else None)
    malformed = MalformedRows()
    if suffix in CSV_SUFFIXES or (suffix in PARQUET_SUFFIXES and not geo_file):
        if suffix in CSV_SUFFIXES:
            stream = open_csv_batches(p, "calls", wanted, encoding=encoding)
            malformed = stream.malformed
        else:
            stream = open_parquet_batches(p, "calls", wanted)
        batches = ((b.to_pandas(types_mapper=_text_mapper), None) for b in stream)
        file_crs, has_geometry = None, False
    elif geo is not None:
        batches = ((b.to_pandas(types_mapper=_text_mapper), g) for b, g in geo[0])
        file_crs, has_geometry = geo[1], True
    else:
        table = read_table(p, where="calls", columns=wanted, encoding=encoding)
        batches = [(table.frame, table.geometry)]
        file_crs, has_geometry = table.crs, table.geometry is not None
    coords = columns.coordinate_columns
    if coords is None and not has_geometry:
        problems.add(f"calls {p}", "no coordinates: give latitude/longitude or x/y "
                     "columns, or use a file with point geometry",
                     allowed="option `latitude`/option `longitude`, option `x`/option `y` "
                             "with option `calls_crs`, or a geometry column")
    crs = columns.source_crs if coords is not None else (columns.crs or file_crs)
    if crs is None:
        problems.add(f"calls {p}", "no CRS: the file declares none and none was given",
                     allowed="a CRS such as EPSG:4326 or EPSG:26915 (option `calls_crs`)")
    problems.raise_if_any()
    assert crs is not None
    examples: dict[str, list[dict]] = {}
    unmapped: dict[str, int] = {}
    sources: list[tuple[np.ndarray, np.ndarray]] = []
    parts = []
    row0 = 0
    time_form = None
    for frame, geometry in batches:
        if time_form is None and columns.time_label:
            time_form = _time_form(frame, columns)
            columns_read = columns_read.with_overrides(time_format=time_form.form)
        rows = kept_row_numbers(row0, len(frame), malformed.data_rows())
        parts.append(_canonical(frame, geometry, columns_read, crs, rows, examples, sources,
                                unmapped))
        row0 = int(rows[-1]) if len(rows) else row0
    if unmapped:
        top = sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))
        problems.add(f"calls {p}", f"{sum(unmapped.values()):,} calls have a call source the "
                     "value mapping does not name: " + ", ".join(
                         f"{v!r} ({n:,})" for v, n in top[:10]),
                     column=columns.source,
                     allowed="add each to source_values ([calls.source_values] in the city "
                             f"configuration, {option('source_value')} VALUE=SOURCE), as "
                             "one of "
                             + ", ".join(allowed(CallSource)))
        problems.raise_if_any()
    n_rows = sum(len(part) for part in parts)
    malformed.check(f"calls {p}", n_rows + len(malformed), max_malformed_share)
    if n_rows == 0:  # header only, where the header check could not tell
        problems.add(f"calls {p}", "no data rows: the file has a header but no calls",
                     allowed="a calls file with at least one row")
        problems.raise_if_any()
    out = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    source_xy = (np.concatenate([s[0] for s in sources]),
                 np.concatenate([s[1] for s in sources]))
    label = "geometry" if coords is None else f"{coords[0]}/{coords[1]}"
    return CallsInput(p, out, crs, columns, examples, source_xy, label, list(head.columns),
                      malformed=malformed, time_form=time_form)


def _call_sources(frame: pd.DataFrame, cmap: ColumnMap, unmapped: dict[str, int]
                  ) -> pd.Categorical:
    """Each row's :class:`CallSource`: its ``source`` value through ``source_values``
    (trimmed, case ignored; empty: not recorded), else ``default_source`` for every row.
    Values the mapping does not name are counted into ``unmapped`` (the caller refuses
    them) and given ``not_recorded`` meanwhile."""
    cats = list(allowed(CallSource))
    if not cmap.source:
        return pd.Categorical([cmap.default_source] * len(frame), categories=cats)
    mapping = {str(k).strip().casefold(): str(v) for k, v in (cmap.source_values or {}).items()}
    raw = _text(frame, cmap.source).str.strip()
    got = raw.str.casefold().map(mapping)
    empty = raw.isna() | (raw == "")
    bad = got.isna() & ~empty
    if bad.any():
        for value, n in raw[bad].value_counts().items():
            unmapped[str(value)] = unmapped.get(str(value), 0) + int(n)
    got = got.fillna(str(CallSource.NOT_RECORDED))
    return pd.Categorical(got.astype(object).to_numpy(), categories=cats)


def _time_form(frame: pd.DataFrame, cmap: ColumnMap) -> TimeForm:
    """The form of the call times: as given, or detected on ``frame`` (the first batch)."""
    label = str(cmap.time_label)
    if cmap.time_format != AUTO:
        return TimeForm(cmap.time_format, False, column=label)
    return detect_time_form(_time_text(frame, cmap), column=label)


def calls_header(path: str | os.PathLike, *, encoding: str = "utf-8") -> list[str]:
    """The attribute columns of a calls file, without reading its rows (a missing, empty or
    unreadable file raises a ValidationError naming it)."""
    problems = Problems()
    p = check_file(path, "calls", problems)
    problems.raise_if_any()
    assert p is not None
    return list(file_header(p, "calls", encoding=encoding).columns)


@dataclass(frozen=True)
class CallsSample:
    """The first rows of a calls file, every attribute column as read."""

    frame: pd.DataFrame
    geometry: bool
    """The file has a geometry column (its locations could come from it)."""
    crs: str | None
    """The CRS the file declares for its geometry (None: none, or no geometry)."""


def calls_sample(path: str | os.PathLike, *, rows: int = 5000, encoding: str = "utf-8"
                 ) -> CallsSample:
    """The first ``rows`` rows of a calls file with every column (what ``safetygap init``
    guesses the columns from); read in one batch for CSV and Parquet, whole otherwise."""
    problems = Problems()
    p = check_file(path, "calls", problems)
    problems.raise_if_any()
    assert p is not None
    head = file_header(p, "calls", encoding=encoding)
    suffix = suffix_of(p)
    cols = list(head.columns)
    if suffix in CSV_SUFFIXES or (suffix in PARQUET_SUFFIXES and not is_geoparquet(p)):
        stream = (open_csv_batches(p, "calls", cols, encoding=encoding)
                  if suffix in CSV_SUFFIXES else open_parquet_batches(p, "calls", cols))
        first = next(iter(stream), None)
        frame = (pd.DataFrame(columns=cols) if first is None
                 else first.to_pandas(types_mapper=_text_mapper))
    else:
        frame = read_table(p, where="calls", encoding=encoding).frame
    return CallsSample(frame.head(rows).reset_index(drop=True), head.geometry, head.crs)


_STR_DTYPE = pd.Series(["x"]).dtype  # pandas' default string dtype


def _text_mapper(dtype: pa.DataType) -> object:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return _STR_DTYPE
    return None


def _text(frame: pd.DataFrame, col: str | None) -> pd.Series | None:
    if col is None:
        return None
    s = frame[col]
    if not isinstance(s.dtype, pd.StringDtype):
        s = s.astype(_STR_DTYPE)
    return s


def _canonical(
    frame: pd.DataFrame,
    geometry: np.ndarray | None,
    cmap: ColumnMap,
    crs: str,
    rows: np.ndarray,
    examples: dict[str, list[dict]],
    sources: list[tuple[np.ndarray, np.ndarray]] | None = None,
    unmapped: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Canonical rows of one batch, numbered ``rows`` (data rows of the file, 1-based);
    examples added; the batch's coordinates as read (numbers, NaN where not) appended to
    ``sources``; source values the mapping does not name counted into ``unmapped``. A
    ``time_format`` of ``auto`` is detected on this batch."""
    n = len(frame)
    out = pd.DataFrame({C.ROW: np.asarray(rows, dtype=np.int64)})
    ids = _text(frame, cmap.id)
    out[C.CALL_ID] = (pd.array(pc.utf8_trim_whitespace(arrow_text(ids)), dtype=_STR_DTYPE)
                      if ids is not None else pd.array([None] * n, dtype=_STR_DTYPE))
    ctype = _text(frame, cmap.call_type)
    out[C.CALL_TYPE] = (ctype.array if ctype is not None
                        else pd.array([None] * n, dtype=_STR_DTYPE))
    agency = _text(frame, cmap.agency)
    out[C.AGENCY] = (pd.array([cmap.default_agency] * n, dtype=_STR_DTYPE) if agency is None
                     else agency.fillna(cmap.default_agency).array)
    for name, col in cmap.optional_columns().items():
        out[name] = _text(frame, col).array  # type: ignore[union-attr]
    out[C.SOURCE] = _call_sources(frame, cmap, {} if unmapped is None else unmapped)
    if cmap.time or cmap.date:
        raw_time = _time_text(frame, cmap)
        fmt = _time_form(frame, cmap).form
        out[C.TIME], bad = parse_times(raw_time, fmt)
        _examples(examples, RowStatus.UNPARSEABLE_DATE.value, out, bad, str(cmap.time_label),
                  lambda idx: raw_time.iloc[idx])
    else:
        out[C.TIME] = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    coords = cmap.coordinate_columns
    if coords is not None:
        xs, ys = frame[coords[0]], frame[coords[1]]
        x, y = to_float(xs), to_float(ys)
        raw_missing = xs.isna().to_numpy() | ys.isna().to_numpy()
        fault = np.full(n, COORD_OK, dtype=np.int8)
        fault[np.isnan(x) | np.isnan(y)] = COORD_INVALID
        fault[raw_missing] = COORD_MISSING
        col_label = f"{coords[0]}/{coords[1]}"

        def raw_at(idx: np.ndarray) -> list[str]:
            def show(s: pd.Series) -> list[str]:
                return ["<empty>" if pd.isna(v) else str(v) for v in s.iloc[idx]]
            return [f"{a}, {b}" for a, b in zip(show(xs), show(ys), strict=True)]
    else:
        assert geometry is not None
        x, y, not_point = points_xy(geometry)
        fault = np.full(n, COORD_OK, dtype=np.int8)
        fault[np.isnan(x) | np.isnan(y)] = COORD_MISSING
        fault[not_point] = COORD_INVALID
        col_label = "geometry"
        gx, gy = x.copy(), y.copy()

        def raw_at(idx: np.ndarray) -> list[str]:
            def show(v: np.ndarray) -> list[str]:
                return ["<empty>" if np.isnan(a) else str(a) for a in v[idx]]
            return [f"{a}, {b}" for a, b in zip(show(gx), show(gy), strict=True)]
    if sources is not None:
        sources.append((x.copy(), y.copy()))  # numbers as read, before the range checks
    ok = fault == COORD_OK
    if crs.upper() in ("EPSG:4326", "OGC:CRS84", "WGS84"):
        out_of_range = ok & ((np.abs(y) > 90) | (np.abs(x) > 180))
        fault[out_of_range] = COORD_INVALID
    if cmap.zero_is_missing:
        zero = (fault == COORD_OK) & (np.abs(x) < 1e-9) & (np.abs(y) < 1e-9)
        fault[zero] = COORD_ZERO
    x[fault != COORD_OK] = np.nan
    y[fault != COORD_OK] = np.nan
    out[C.X] = x
    out[C.Y] = y
    out[C.COORD_FAULT] = fault
    for code, name in COORD_FAULT_NAMES.items():
        _examples(examples, name, out, fault == code, col_label, raw_at)
    return out


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
    raw_at: Callable[[np.ndarray], Sequence[object]],
) -> None:
    """Add up to MAX_EXAMPLES rows of ``mask`` (in input order) to ``store[kind]``."""
    have = store.get(kind, [])
    room = MAX_EXAMPLES - len(have)
    if room <= 0 or not mask.any():
        return
    idx = np.flatnonzero(mask)[:room]
    ids = out[C.CALL_ID].iloc[idx]
    store[kind] = have + [
        {
            "row": int(out[C.ROW].iat[i]),
            "id": None if pd.isna(cid) else str(cid),
            "column": column,
            "value": None if pd.isna(v) else str(v),
        }
        for i, cid, v in zip(idx, ids, raw_at(idx), strict=True)
    ]
