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

Long file (about 530 lines): one reading of a calls file or dataset, batch by batch (the
reader, the header check, the sample ``safetygap init`` and ``profile`` look at), and the
canonical columns each batch becomes (coordinates, times in the form detected once, call
sources through their mapping, malformed CSV rows skipped and numbered) share the column
map and the running counts of faults.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from safetygap.errors import Problems, option
from safetygap.inputs._ahead import read_ahead
from safetygap.inputs.columns import ColumnMap
from safetygap.inputs.files import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    arrow_text,
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
from safetygap.inputs.sources import CallsSource, resolve_calls
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

    path: Path | str
    """The file; for a dataset of several files, the calls input as given."""
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
    source: CallsSource | None = None
    """The file or files read (:mod:`safetygap.inputs.sources`)."""
    file_starts: list[int] = field(default_factory=list)
    """For a dataset of several files: the row before each file's first (0 for the
    first file), in the order of :attr:`CallsSource.files`."""

    def locate(self, examples: dict[str, list[dict]]) -> dict[str, list[dict]]:
        """``examples`` (quality examples with their ``row``) with each one's file and row
        in that file (``file``: its name within the dataset, ``file_row``: 1 for its first
        data row) when the calls are a dataset of several files; as given otherwise."""
        if self.source is None or not self.source.partitioned:
            return examples
        out = {}
        for kind, found in examples.items():
            out[kind] = []
            for e in found:
                row = e.get("row")
                if row is not None and "file" not in e:
                    k = bisect.bisect_left(self.file_starts, int(row)) - 1
                    e = e | {"file": self.source.label(self.source.files[k]),
                             "file_row": int(row) - self.file_starts[k]}
                out[kind].append(e)
        return out


@dataclass
class CallsBatch:
    """Canonical rows of one batch of the calls, in input order."""

    frame: pd.DataFrame
    source_xy: tuple[np.ndarray, np.ndarray]
    """The batch's coordinates as read (see :attr:`CallsInput.source_xy`)."""


@dataclass
class CallsReader:
    """The calls opened for reading in batches (:func:`open_calls`): their header checked,
    CRS and columns known, no row read yet."""

    path: Path | str
    source: CallsSource
    crs: str
    columns: ColumnMap
    coordinate_label: str
    header: list[str]
    encoding: str
    columns_read: ColumnMap
    wanted: list[str]
    geometry: bool
    """Coordinates come from the files' geometry."""
    time_form: TimeForm | None = None
    """The form of the times: detected on the first batch read (then used for every
    batch of every file), or as given; None before that or when no time is mapped."""
    max_malformed_share: float = DEFAULT_MAX_MALFORMED_SHARE
    """Largest share of a CSV file's rows that may be malformed (each file on its own)."""
    parquet_rows: int | None = None
    """Rows of a Parquet batch (None: :data:`~safetygap.inputs.files.PARQUET_BATCH_ROWS`);
    the streaming engine's smaller batches hold less at once."""
    malformed: MalformedRows = field(default_factory=MalformedRows)
    """The malformed CSV rows of the files read so far (skipped; each with its file when
    the calls are a dataset of several files)."""

    @property
    def files(self) -> tuple[Path, ...]:
        return self.source.files

    def batches(self, examples: dict[str, list[dict]], unmapped: dict[str, int], *,
                files: Sequence[int] | None = None, row0: int = 0) -> Iterator[CallsBatch]:
        """Canonical batches of ``files`` (positions in :attr:`files`; default every file)
        in order, rows numbered on from ``row0 + 1``; examples of faults (the first
        :data:`MAX_EXAMPLES` of each kind) added to ``examples``, source values the
        mapping does not name counted into ``unmapped``."""
        for i in (range(len(self.files)) if files is None else files):
            path = self.files[i]
            batches, crs, malformed = self._file_batches(path)
            local = kept = 0  # data rows of this file passed; rows kept
            for frame, geometry in batches:
                if self.time_form is None and self.columns.time_label:
                    self.time_form = _time_form(frame, self.columns)
                    self.columns_read = self.columns_read.with_overrides(
                        time_format=self.time_form.form)
                sources: list[tuple[np.ndarray, np.ndarray]] = []
                rows = kept_row_numbers(local, len(frame), malformed.data_rows())
                out = _canonical(frame, geometry, self.columns_read, crs, row0 + rows,
                                 examples, sources, unmapped)
                local = int(rows[-1]) if len(rows) else local
                kept += len(frame)
                yield CallsBatch(out, sources[0])
            label = str(path) if not self.source.partitioned else self.source.label(path)
            malformed.check(f"calls {label}", kept + len(malformed), self.max_malformed_share)
            self.malformed.extend(malformed, file=label if self.source.partitioned else None)
            row0 += kept + len(malformed)

    def _file_batches(self, p: Path
                      ) -> tuple[Iterable[tuple[pd.DataFrame, np.ndarray | None]], str,
                                 MalformedRows]:
        """The batches of one file (attributes, geometry), the CRS of its coordinates and
        its malformed CSV rows (complete once the batches are read): CSV, plain Parquet
        and WKB GeoParquet streamed, other formats read whole."""
        suffix = suffix_of(p)
        none = MalformedRows()
        if suffix in CSV_SUFFIXES:
            csv = open_csv_batches(p, "calls", self.wanted, encoding=self.encoding)
            # parsed a batch ahead on another thread; the malformed rows it lists may then
            # run past the batch being numbered, which kept_row_numbers allows
            return read_ahead((b.to_pandas(types_mapper=_text_mapper), None) for b in csv), \
                self.crs, csv.malformed
        if suffix in PARQUET_SUFFIXES and not is_geoparquet(p):
            stream = open_parquet_batches(p, "calls", self.wanted,
                                          batch_rows=self.parquet_rows)
            return read_ahead((b.to_pandas(types_mapper=_text_mapper), None)
                              for b in stream), self.crs, none
        if suffix in PARQUET_SUFFIXES:  # GeoParquet: WKB streamed, GeoArrow read whole
            geo = open_geoparquet_batches(p, "calls", self.wanted, geometry=self.geometry,
                                          batch_rows=self.parquet_rows)
            if geo is not None:
                return read_ahead((b.to_pandas(types_mapper=_text_mapper), g)
                                  for b, g in geo[0]), self.crs, none
        table = read_table(p, where="calls", columns=self.wanted, encoding=self.encoding)
        crs = self.crs if self.columns.coordinate_columns is not None else (
            self.columns.crs or table.crs or self.crs)
        return [(table.frame, table.geometry)], crs, none


def open_calls(
    path: str | os.PathLike, *, columns: ColumnMap, encoding: str = "utf-8",
    max_malformed_share: float = DEFAULT_MAX_MALFORMED_SHARE,
    parquet_rows: int | None = None,
) -> CallsReader:
    """Open a calls file or dataset (:mod:`safetygap.inputs.sources`) for reading in
    batches (``parquet_rows`` rows a Parquet batch; None the default): every file's header
    is checked first (:func:`check_calls_header`), so every problem it shows is raised
    together before any row is read."""
    head = check_calls_header(path, columns=columns, encoding=encoding)
    assert head.source is not None
    present = {k: v for k, v in columns.optional_columns().items() if v in head.columns}
    columns_read = columns if len(present) == len(columns.optional_columns()) else (
        columns.without_optional(set(present)))
    wanted = sorted(set(columns.required_columns().values()) | set(present.values()))
    coords = columns.coordinate_columns
    crs = columns.source_crs if coords is not None else (columns.crs or head.crs)
    label = "geometry" if coords is None else f"{coords[0]}/{coords[1]}"
    assert crs is not None  # the header check raised otherwise
    return CallsReader(head.source.path, head.source, crs, columns, label, list(head.columns),
                       encoding, columns_read, wanted, coords is None,
                       max_malformed_share=max_malformed_share, parquet_rows=parquet_rows)


def read_calls(
    path: str | os.PathLike, *, columns: ColumnMap, encoding: str = "utf-8",
    max_malformed_share: float = DEFAULT_MAX_MALFORMED_SHARE,
    on_file: Callable[[str], None] | None = None,
) -> CallsInput:
    """Read a calls file (CSV, GeoJSON, GeoParquet, GeoPackage, Parquet, JSON records), or
    a dataset of CSV or (Geo)Parquet files (a directory or a glob:
    :mod:`safetygap.inputs.sources`), whole.

    ``columns`` says which source column is which (see
    :func:`safetygap.inputs.load_preset`). Coordinates are returned in the
    source CRS: EPSG:4326 for latitude/longitude, the declared ``crs`` for x/y,
    the file's own CRS for a geometry column.

    CSV, plain Parquet and GeoParquet (WKB geometry) files are streamed in
    pyarrow batches of the mapped columns only (and the geometry column, decoded
    batch by batch, unless coordinates come from columns) and converted batch by
    batch (:meth:`CallsReader.batches`), so memory stays bounded by the output table
    (about 100 bytes a row) whatever the file's size; other formats (GeoJSON,
    GeoPackage, JSON records, GeoParquet with GeoArrow-encoded geometry) are read whole.
    Every input row is kept, in order; a dataset's rows are numbered on from one file to
    the next, its files read one at a time (only the canonical rows kept), each reported
    to ``on_file`` (a line of text) once read.

    A CSV row whose number of fields differs from the header's is skipped and listed
    (:attr:`CallsInput.malformed`); the other rows keep their own row numbers. More
    than ``max_malformed_share`` of the rows malformed refuses the file.

    Raises :class:`~safetygap.errors.ValidationError` for hard errors: file
    missing or empty, a mapped column missing, no CRS known, no data rows (all
    that the header shows are raised together, see
    :func:`~safetygap.inputs.header.check_calls_header`), too many malformed rows.
    """
    reader = open_calls(path, columns=columns, encoding=encoding,
                        max_malformed_share=max_malformed_share)
    examples: dict[str, list[dict]] = {}
    unmapped: dict[str, int] = {}
    parts: list[CallsBatch] = []
    rows = 0
    kept = 0
    starts = []
    for i, f in enumerate(reader.files):
        starts.append(rows)
        parts.extend(reader.batches(examples, unmapped, files=[i], row0=rows))
        done = sum(len(b.frame) for b in parts)
        if on_file is not None and reader.source.partitioned:
            on_file(f"file {i + 1:,}/{len(reader.files):,} {reader.source.label(f)}: "
                    f"{done - kept:,} rows ({done:,} so far)")
        kept = done
        rows = done + len(reader.malformed)  # data rows of the files read (with malformed)
    refuse_unmapped(reader.path, unmapped, columns)
    problems = Problems()
    if not parts:  # header only, where the header check could not tell
        problems.add(f"calls {reader.path}", "no data rows: the file has a header but no "
                     "calls", allowed="a calls file with at least one row")
        problems.raise_if_any()
    out = parts[0].frame if len(parts) == 1 else pd.concat([b.frame for b in parts],
                                                            ignore_index=True)
    source_xy = (np.concatenate([b.source_xy[0] for b in parts]),
                 np.concatenate([b.source_xy[1] for b in parts]))
    cin = CallsInput(reader.path, out, reader.crs, columns, examples, source_xy,
                     reader.coordinate_label, reader.header, malformed=reader.malformed,
                     time_form=reader.time_form, source=reader.source, file_starts=starts)
    cin.examples = cin.locate(examples)
    return cin


def refuse_unmapped(path: Path | str, unmapped: dict[str, int], columns: ColumnMap) -> None:
    """Refuse the calls when some have a call source (counted in ``unmapped``: value ->
    calls) the value mapping of ``columns`` does not name."""
    if not unmapped:
        return
    problems = Problems()
    top = sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))
    problems.add(f"calls {path}", f"{sum(unmapped.values()):,} calls have a call "
                 "source the value mapping does not name: " + ", ".join(
                     f"{v!r} ({n:,})" for v, n in top[:10]),
                 column=columns.source,
                 allowed="add each to source_values ([calls.source_values] in the city "
                         f"configuration, {option('source_value')} VALUE=SOURCE), as "
                         "one of "
                         + ", ".join(allowed(CallSource)))
    problems.raise_if_any()


def _call_sources(frame: pd.DataFrame, cmap: ColumnMap, unmapped: dict[str, int]
                  ) -> pd.Categorical:
    """Each row's :class:`CallSource`: its ``source`` value through ``source_values``
    (trimmed, case ignored; empty: not recorded), else ``default_source`` for every row.
    Values the mapping does not name are counted into ``unmapped`` (the caller refuses
    them) and given ``not_recorded`` meanwhile."""
    cats = list(allowed(CallSource))
    if not cmap.source:
        return pd.Categorical.from_codes(np.full(len(frame), cats.index(cmap.default_source),
                                                 dtype=np.int8), categories=cats)
    mapping = {str(k).strip().casefold(): str(v) for k, v in (cmap.source_values or {}).items()}
    # each distinct value looked up once, then taken per row (-1: missing)
    codes, uniques = pd.factorize(_text(frame, cmap.source), use_na_sentinel=True)
    raw = pd.Series(uniques, dtype=_STR_DTYPE).str.strip()
    got = raw.str.casefold().map(mapping)
    bad = (got.isna() & raw.notna() & (raw != "")).to_numpy(dtype=bool)
    if bad.any():
        rows = np.bincount(codes[codes >= 0], minlength=len(raw))
        for value, n in zip(raw[bad], rows[bad], strict=True):
            unmapped[str(value)] = unmapped.get(str(value), 0) + int(n)
    got = got.fillna(str(CallSource.NOT_RECORDED))
    code_of = np.array([cats.index(g) if g in cats else -1 for g in got]
                       + [cats.index(str(CallSource.NOT_RECORDED))], dtype=np.int8)
    return pd.Categorical.from_codes(code_of[codes], categories=cats)


def _time_form(frame: pd.DataFrame, cmap: ColumnMap) -> TimeForm:
    """The form of the call times: as given, or detected on ``frame`` (the first batch)."""
    label = str(cmap.time_label)
    if cmap.time_format != AUTO:
        return TimeForm(cmap.time_format, False, column=label)
    return detect_time_form(_time_text(frame, cmap), column=label)


def calls_header(path: str | os.PathLike, *, encoding: str = "utf-8") -> list[str]:
    """The attribute columns of a calls file (of the first file of a dataset), without
    reading its rows (a missing, empty or unreadable file raises a ValidationError
    naming it)."""
    problems = Problems()
    source = resolve_calls(path, problems)
    problems.raise_if_any()
    assert source is not None
    return list(file_header(source.files[0], "calls", encoding=encoding).columns)


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
    """The first ``rows`` rows of a calls file, or of a dataset's files in order
    (:mod:`safetygap.inputs.sources`), with every column of the (first) file: what
    ``safetygap init`` guesses the columns from. CSV and Parquet are read a batch at a
    time until there are enough rows; other formats whole."""
    problems = Problems()
    source = resolve_calls(path, problems)
    problems.raise_if_any()
    assert source is not None
    head = file_header(source.files[0], "calls", encoding=encoding)
    cols = list(head.columns)
    frames: list[pd.DataFrame] = []
    have = 0
    for p in source.files:
        suffix = suffix_of(p)
        if suffix in CSV_SUFFIXES or (suffix in PARQUET_SUFFIXES and not is_geoparquet(p)):
            stream = (open_csv_batches(p, "calls", cols, encoding=encoding)
                      if suffix in CSV_SUFFIXES else open_parquet_batches(p, "calls", cols))
            for batch in stream:
                frames.append(batch.to_pandas(types_mapper=_text_mapper))
                have += batch.num_rows
                if have >= rows:
                    break
        else:
            frames.append(read_table(p, where="calls", encoding=encoding).frame)
            have += len(frames[-1])
        if have >= rows:
            break
    frame = (pd.DataFrame(columns=cols) if not frames
             else pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0])
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
