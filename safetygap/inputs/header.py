"""What a calls file holds, learnt without reading its rows: columns, geometry, CRS, rows.

:func:`check_calls_header` finds every hard problem of a calls file that its
header shows (missing columns, no coordinates, no CRS, no data rows) so the
pipeline can report them together with the problems of the other inputs
before the calls are read. It reads the first block of a CSV, the schema and
metadata of a Parquet file, the layer information of a vector file, and only
the first record of a JSON-records file (the whole file when a column seems
missing there).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.csv as pacsv
from pyproj import CRS
from pyproj.exceptions import CRSError

from safetygap.errors import Problem, Problems, ValidationError, option
from safetygap.inputs.columns import ColumnMap, matching_presets
from safetygap.inputs.files import (
    CSV_ERRORS,
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    _csv_options,
    _csv_setup,
    _decode_problem,
    _looks_like_json_records,
    _parquet_file,
    _read_json_records,
    columns_note,
    delimiter_hint,
    geo_metadata,
    geoparquet_crs,
    suffix_of,
)
from safetygap.inputs.malformed import MalformedRows
from safetygap.inputs.sources import CallsSource, resolve_calls

JSON_PEEK_BYTES = 1 << 20
"""Bytes of a JSON-records file read to find its first record's keys."""


@dataclass(frozen=True)
class FileHeader:
    """The header-level facts of a table file."""

    path: Path | str  # the file; for a dataset of several files, as --calls names it
    columns: list[str]  # attribute columns (no geometry)
    geometry: bool  # the file has a geometry column
    crs: str | None  # CRS of the geometry (None: none declared, or no geometry)
    no_rows: bool  # True only when the file certainly holds no data row
    delimiter: str | None = None  # CSV only
    source: CallsSource | None = None
    """The calls' files (:func:`check_calls_header` only)."""


def file_header(p: Path, where: str, *, encoding: str = "utf-8") -> FileHeader:
    """The header of ``p`` (a file that exists and is not empty); raises a
    ValidationError naming the file when it cannot be read."""
    suffix = suffix_of(p)
    if suffix in CSV_SUFFIXES:
        return _csv_header(p, where, encoding)
    if suffix in PARQUET_SUFFIXES:
        return _parquet_header(p, where)
    if suffix == ".json" and _looks_like_json_records(p):
        return _json_header(p, where)
    return _vector_header(p, where)


def _csv_header(p: Path, where: str, encoding: str) -> FileHeader:
    delimiter, header, _ = _csv_setup(p, where, None, encoding)
    options = _csv_options(delimiter, header, header[:1], encoding, 1 << 16,
                           MalformedRows())
    rows = 0
    try:
        for batch in pacsv.open_csv(p, **options):
            rows += batch.num_rows
            if rows:
                break
    except CSV_ERRORS as exc:
        raise ValidationError(_decode_problem(where, p, exc, encoding, options)) from exc
    return FileHeader(p, header, False, None, rows == 0, delimiter)


def _parquet_header(p: Path, where: str) -> FileHeader:
    pf = _parquet_file(p, where)
    names = list(pf.schema_arrow.names)
    meta = pf.schema_arrow.metadata or {}
    crs, geometry = None, False
    if b"geo" in meta:
        gcol, spec = geo_metadata(pf.schema_arrow, where, p)
        geometry = True
        names = [n for n in names if n != gcol]
        crs = geoparquet_crs(spec)  # as the calls reader will read it
    return FileHeader(p, names, geometry, crs, pf.metadata.num_rows == 0)


def _json_header(p: Path, where: str) -> FileHeader:
    with open(p, "rb") as fh:
        head = fh.read(JSON_PEEK_BYTES).decode("utf-8", errors="ignore").lstrip()[1:].lstrip()
    if head.startswith("]"):
        return FileHeader(p, [], False, None, True)
    try:
        first, _ = json.JSONDecoder().raw_decode(head)
    except (json.JSONDecodeError, RecursionError):
        first = None
    if isinstance(first, dict):
        return FileHeader(p, [str(k) for k in first], False, None, False)
    frame = _read_json_records(p, where, None).frame
    return FileHeader(p, [str(c) for c in frame.columns], False, None, len(frame) == 0)


def _vector_header(p: Path, where: str) -> FileHeader:
    from safetygap import vector_io

    info = vector_io.read_info(p, where=where)
    crs = info.get("crs")
    return FileHeader(p, [str(f) for f in info["fields"]], info.get("geometry_type") is not None,
                      crs or None, info.get("features", -1) == 0)


def check_calls_header(
    path: str | os.PathLike, *, columns: ColumnMap, encoding: str = "utf-8"
) -> FileHeader:
    """Raise one ValidationError with every problem the header of a calls file shows.

    Problems: file missing, empty or unreadable; a mapped column missing (the
    file's columns are listed once, and every built-in preset whose columns
    the file has is suggested); no coordinates; no CRS, or one that is not
    known; a header but no data rows.

    ``path`` may name a dataset of several files (a directory or a glob:
    :mod:`safetygap.inputs.sources`): every file's header is checked, each problem
    naming its file (a problem shared by many files is listed for the first few); the
    files must agree on their coordinates' CRS and on which mapped columns they have.
    The header returned is the dataset's (:attr:`FileHeader.source` lists its files).
    """
    problems = Problems()
    source = resolve_calls(path, problems)
    problems.raise_if_any()
    assert source is not None
    if not source.partitioned:
        head = _check_one(source.files[0], columns, encoding)
        return dataclasses.replace(head, source=source)
    heads: list[FileHeader] = []
    found: dict[str, list[str]] = {}
    for f in source.files:
        try:
            heads.append(_check_one(f, columns, encoding, allow_no_rows=True))
        except ValidationError as exc:
            for pr in exc.problems:
                found.setdefault(_shared(pr, str(f)), []).append(str(f))
            for note in exc.notes:
                problems.note(note)
    for text, files in found.items():
        for f in files[:SHOWN_FILES]:
            problems.items.append(Problem("", text.replace(_FILE, f)))
        if len(files) > SHOWN_FILES:
            problems.add(f"calls {source.spec}", f"{len(files) - SHOWN_FILES:,} more files "
                         "of the dataset have the problem above")
    problems.raise_if_any()
    first = heads[0]
    optional = set(columns.optional_columns().values())
    for h in heads[1:]:
        if h.crs != first.crs:
            problems.add(f"calls {h.path}", "the files of the dataset declare different CRSs",
                         value=f"{h.crs} here, {first.crs} in {first.path}",
                         allowed="one CRS for every file")
        for c in sorted(optional & (set(h.columns) ^ set(first.columns))):
            has, lacks = (h, first) if c in h.columns else (first, h)
            problems.add(f"calls {lacks.path}", "column missing from this file of the "
                         f"dataset, though {has.path} has it", column=c,
                         allowed="the same mapped columns in every file")
    if all(h.no_rows for h in heads):
        problems.add(f"calls {source.spec}", "no data rows: the files have a header but no "
                     "calls", allowed="a calls file with at least one row")
    problems.raise_if_any()
    return FileHeader(source.path, first.columns, first.geometry, first.crs, False, first.delimiter,
                      source=source)


SHOWN_FILES = 3
"""Files named for a problem shared by many files of a dataset."""
_FILE = "\0file\0"


def _shared(problem: Problem, name: str) -> str:
    """``problem`` as text with its file's name replaced by a placeholder, so the same
    problem of many files is listed once."""
    return str(problem).replace(name, _FILE)


AGENCY_HINT = (f"{option('agency')} COLUMN naming the file's agency column, or "
               f"{option('default_agency')} AGENCY alone for a file from one department "
               "(every call is then counted as that agency's, and every output says so)")
"""What to do when the mapped agency column is not in the calls file."""


def _check_one(p: Path, columns: ColumnMap, encoding: str, *,
               allow_no_rows: bool = False) -> FileHeader:
    """The header problems of one calls file, raised together."""
    problems = Problems()
    head = file_header(p, "calls", encoding=encoding)
    if suffix_of(p) == ".json" and head.columns and not _has_all(head, columns):
        frame = _read_json_records(p, "calls", None).frame  # the union of all records' keys
        head = FileHeader(p, [str(c) for c in frame.columns], False, None, len(frame) == 0)
    where = f"calls {p}"
    if head.no_rows and not head.columns:  # e.g. "[]": nothing else to check
        problems.add(where, "no data rows: the file holds no records",
                     allowed="a calls file with at least one row")
        problems.raise_if_any()
    wanted = list(dict.fromkeys(columns.required_columns().values()))
    hint = delimiter_hint(head.columns, wanted, head.delimiter) if head.delimiter else ""
    missing = [c for c in wanted if c not in head.columns]
    for c in missing:
        problems.add(where, f"required column missing{hint}", column=c)
    if missing:
        problems.note(columns_note(where, head.columns))
        presets = matching_presets(head.columns)
        for name in presets:
            problems.note(f"the columns match preset {name!r}: add option `preset` {name}")
        if columns.agency in missing and not presets:
            problems.note(f"no agency column {columns.agency!r}: give " + AGENCY_HINT)
        coord_cols = set(columns.coordinate_columns or ())
        if head.geometry and coord_cols and coord_cols <= set(missing):
            problems.note("the file has a geometry column: add option `geometry` to take the "
                          "call locations from it")
    coords = columns.coordinate_columns
    if coords is None and not head.geometry:
        problems.add(where, "no coordinates: give latitude/longitude or x/y columns, or use "
                     "a file with point geometry",
                     allowed="option `latitude`/option `longitude`, option `x`/option `y` "
                             "with option `calls_crs`, or a geometry "
                             "column")
    else:
        crs = columns.source_crs if coords is not None else (columns.crs or head.crs)
        if crs is None:
            problems.add(where, "no CRS: the file declares none and none was given",
                         allowed="a CRS such as EPSG:4326 or EPSG:26915 (option `calls_crs`)")
        else:
            try:
                CRS.from_user_input(crs)
            except CRSError:
                problems.add(where, "unknown CRS", value=crs,
                             allowed="a CRS such as EPSG:4326 or EPSG:26915 (option `calls_crs`)")
    if head.no_rows and not allow_no_rows:
        problems.add(where, "no data rows: the file has a header but no calls",
                     allowed="a calls file with at least one row")
    problems.raise_if_any()
    return head


def _has_all(head: FileHeader, columns: ColumnMap) -> bool:
    return all(c in head.columns for c in columns.required_columns().values())
