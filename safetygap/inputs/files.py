"""Reading any supported file into a frame plus optional point coordinates.

Shared by the calls, providers and population readers, and used by the tools that read
provider-like tables (what-if, siting, the inventory builders). Every
hard problem (file missing or empty, unreadable, a column missing, no CRS) is
collected and raised as one :class:`~safetygap.errors.ValidationError` naming
the file.

Long file (about 460 lines): every table format read the same safe way (CSV with its
encoding, Parquet, GeoParquet, vector files without driver guessing), plus the two cell
readers every reader of these frames shares (``to_float``, ``arrow_text``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely
from pyproj.exceptions import CRSError

from safetygap.errors import Problem, Problems, ValidationError
from safetygap.inputs.malformed import DEFAULT_MAX_MALFORMED_SHARE, MalformedRows

T = TypeVar("T", pa.Table, pa.RecordBatch)
CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")
VECTOR_SUFFIXES = (".geojson", ".gpkg", ".shp", ".fgb", ".gml", ".kml", ".zip", ".geojsonl")
CALL_FILE_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES + (".geojson", ".json", ".gpkg")


@dataclass
class Table:
    """A read file: attribute columns as strings/numbers, plus geometry if any."""

    path: Path
    frame: pd.DataFrame
    geometry: np.ndarray | None = None  # shapely geometries, same length as frame
    crs: str | None = None  # CRS of the geometry, as "EPSG:n" or WKT
    malformed: MalformedRows | None = None  # CSV rows skipped as malformed (CSV only)


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return ".csv.gz" if name.endswith(".csv.gz") else path.suffix.lower()


def check_file(path: str | os.PathLike, where: str, problems: Problems) -> Path | None:
    """Add a problem when ``path`` is missing, not a file or empty."""
    p = Path(path)
    if not p.exists():
        problems.add(where, "file not found", value=str(p))
        return None
    if not p.is_file():
        problems.add(where, "not a file", value=str(p))
        return None
    if p.stat().st_size == 0:
        problems.add(where, "file is empty (0 bytes)", value=str(p))
        return None
    return p


def _sniff_delimiter(path: Path) -> str:
    """Delimiter of a CSV file guessed from its first line (comma by default)."""
    if suffix_of(path) == ".csv.gz":
        return ","
    with open(path, "rb") as fh:
        head = fh.readline(65536)
    text = head.decode("utf-8", errors="replace")
    counts = {d: text.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 and counts[","] == 0 else ","


def _csv_setup(
    path: Path, where: str, columns: list[str] | None, encoding: str
) -> tuple[str, list[str], list[str]]:
    """(delimiter, header, wanted columns); raises when wanted columns are missing."""
    delimiter = _sniff_delimiter(path)
    options = {"read_options": pacsv.ReadOptions(encoding=encoding, block_size=1 << 16),
               "parse_options": pacsv.ParseOptions(delimiter=delimiter)}
    try:
        header = pacsv.open_csv(
            path, read_options=options["read_options"],
            parse_options=pacsv.ParseOptions(delimiter=delimiter,
                                             invalid_row_handler=lambda row: "skip"),
        ).schema.names
    except CSV_ERRORS as exc:
        raise ValidationError(_decode_problem(where, path, exc, encoding, options)) from exc
    header = [h.lstrip("\ufeff") for h in header]
    wanted = header if columns is None else columns
    missing_columns(header, wanted, f"{where} {path}",
                    hint=delimiter_hint(header, wanted, delimiter)).raise_if_any()
    return delimiter, header, wanted


def delimiter_hint(header: list[str], wanted: list[str], delimiter: str) -> str:
    """Why a CSV header may lack columns: it was read as one column."""
    if len(header) == 1 and len(wanted) > 1:
        return (f" (the header is one column read with the delimiter {delimiter!r}: is "
                "the file delimited with ',', ';', tab or '|'?)")
    return ""


def missing_columns(header: list[str], wanted: list[str], where: str, *,
                    hint: str = "") -> Problems:
    """One problem per column of ``wanted`` absent from ``header``, and (once) the
    file's columns as a note."""
    problems = Problems()
    for c in wanted:
        if c not in header:
            problems.add(where, f"required column missing{hint}", column=c)
    if problems:
        problems.note(columns_note(where, header))
    return problems


def columns_note(where: str, header: list[str], limit: int = 40) -> str:
    """``columns of <where> (n): 'a', 'b', ...`` for messages."""
    shown = ", ".join(repr(c) for c in header[:limit])
    more = f", ... ({len(header) - limit} more)" if len(header) > limit else ""
    return f"columns of {where} ({len(header)}): {shown}{more}"


def _csv_options(
    delimiter: str, header: list[str], wanted: list[str], encoding: str, block_size: int,
    malformed: MalformedRows | None = None,
) -> dict:
    """pyarrow options reading ``wanted`` as text; rows with another number of fields
    than the header go to ``malformed`` (skipped, with their line numbers: the parse is
    then single-threaded, as pyarrow numbers rows only then) or, without it, raise."""
    return {
        "read_options": pacsv.ReadOptions(encoding=encoding, column_names=header, skip_rows=1,
                                          block_size=block_size,
                                          use_threads=malformed is None),
        "parse_options": pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True,
            invalid_row_handler=None if malformed is None else malformed.handler),
        "convert_options": pacsv.ConvertOptions(
            include_columns=wanted,
            column_types={c: pa.string() for c in wanted},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    }


CSV_ERRORS = (pa.ArrowException, UnicodeDecodeError, OSError)
"""What pyarrow raises for a CSV it cannot parse, decode or decompress (a truncated gzip
is an OSError)."""


def read_csv_columns(
    path: Path, where: str, columns: list[str] | None, *, encoding: str = "utf-8",
    max_malformed_share: float = DEFAULT_MAX_MALFORMED_SHARE,
) -> tuple[pd.DataFrame, MalformedRows]:
    """Read ``columns`` (all when None) of a CSV as strings with pyarrow; returns the
    frame and its malformed rows (skipped, see :mod:`safetygap.inputs.malformed`; more
    than ``max_malformed_share`` of the rows raises).

    Values stay text here; callers convert with explicit error accounting.
    """
    delimiter, header, wanted = _csv_setup(path, where, columns, encoding)
    malformed = MalformedRows()
    options = _csv_options(delimiter, header, wanted, encoding, 1 << 20, malformed)
    try:
        table = pacsv.read_csv(path, **options)
    except CSV_ERRORS as exc:
        raise ValidationError(_decode_problem(where, path, exc, encoding, options)) from exc
    malformed.check(f"{where} {path}", table.num_rows + len(malformed), max_malformed_share)
    return table.to_pandas(types_mapper=_string_mapper), malformed


CSV_BLOCK_BYTES = 16 << 20
"""Bytes of CSV text per streamed batch (about 200,000 rows of a 911 export)."""


class CsvBatches:
    """Record batches of a CSV streamed by :func:`open_csv_batches`; ``malformed`` holds
    the rows skipped so far (complete once iterated)."""

    def __init__(self, path: Path, where: str, encoding: str, options: dict,
                 malformed: MalformedRows):
        self.path, self.where, self.encoding = path, where, encoding
        self.options = options
        self.malformed = malformed

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in pacsv.open_csv(self.path, **self.options):
                if batch.num_rows:
                    yield batch
        except CSV_ERRORS as exc:
            raise ValidationError(_decode_problem(self.where, self.path, exc,
                                                  self.encoding, self.options)) from exc


def open_csv_batches(
    path: Path,
    where: str,
    columns: list[str],
    *,
    encoding: str = "utf-8",
    block_size: int | None = None,
) -> CsvBatches:
    """Stream ``columns`` of a CSV as pyarrow record batches of strings.

    Only the named columns are converted, one block of ``block_size`` bytes
    (default :data:`CSV_BLOCK_BYTES`) at a time, so memory stays bounded
    whatever the file's size. The header is checked first (a missing column
    raises before any row is read); a parse, decoding or decompression error later
    in the file raises a ValidationError naming it. Rows with another number of
    fields than the header are skipped and collected in the result's ``malformed``
    (the caller checks their share).
    """
    delimiter, header, wanted = _csv_setup(path, where, columns, encoding)  # raises now
    malformed = MalformedRows()
    options = _csv_options(delimiter, header, wanted, encoding, block_size or CSV_BLOCK_BYTES,
                           malformed)
    return CsvBatches(path, where, encoding, options, malformed)


PARQUET_BATCH_ROWS = 262_144
"""Rows per streamed batch of a Parquet or GeoParquet file."""


PARQUET_ERRORS = (pa.ArrowException, OSError, UnicodeDecodeError)
"""What pyarrow raises for a Parquet file it cannot read (corrupt pages are OSErrors,
column names that are not UTF-8 UnicodeDecodeErrors)."""


def _parquet_problem(where: str, path: Path, exc: Exception) -> ValidationError:
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return ValidationError(Problem(f"{where} {path}", f"cannot read as Parquet: the data "
                                   f"is corrupt or truncated ({text})"))


def _checked_batches(batches: Iterator[pa.RecordBatch], where: str, path: Path
                     ) -> Iterator[pa.RecordBatch]:
    """``batches`` of a Parquet file, each validated (text must be UTF-8, offsets in
    range); a corrupt page or value raised as a ValidationError."""
    try:
        for batch in batches:
            batch.validate(full=True)
            yield _plain_metadata(batch)
    except PARQUET_ERRORS as exc:
        raise _parquet_problem(where, path, exc) from exc


def _plain_metadata(data: T) -> T:
    """``data`` (a pyarrow table or batch) without its ``pandas`` schema metadata: the
    columns are read as data (a file's broken pandas metadata would make pandas fail),
    a pandas index written as a column (``__index_level_0__``) left out."""
    meta = data.schema.metadata or {}
    if b"pandas" in meta:
        data = data.replace_schema_metadata({k: v for k, v in meta.items()
                                             if k != b"pandas"})
    index = [c for c in data.schema.names if c.startswith("__index_level_")]
    return data.drop_columns(index) if index else data


def _parquet_file(path: Path, where: str) -> pq.ParquetFile:
    try:
        pf = pq.ParquetFile(path)
        pf.schema_arrow  # noqa: B018 - decodes the column names (may fail)
        return pf
    except PARQUET_ERRORS as exc:
        raise ValidationError(f"{where} {path}: cannot read as Parquet: {exc}") from exc


def open_parquet_batches(
    path: Path, where: str, columns: list[str], *, batch_rows: int | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream ``columns`` of a plain (non-geo) Parquet file as record batches
    (default :data:`PARQUET_BATCH_ROWS` rows each)."""
    pf = _parquet_file(path, where)
    _check_columns(pf.schema_arrow.names, columns, where, path)  # raises now
    return _checked_batches(pf.iter_batches(batch_size=batch_rows or PARQUET_BATCH_ROWS,
                                            columns=columns), where, path)


GeoBatches = Iterator[tuple[pa.RecordBatch, np.ndarray | None]]


def open_geoparquet_batches(
    path: Path, where: str, columns: list[str], *, geometry: bool = True,
    batch_rows: int | None = None,
) -> tuple[GeoBatches, str | None] | None:
    """Stream ``columns`` of a GeoParquet file with its primary geometry decoded batch by
    batch: ``(batches, crs)``, each batch ``(attribute record batch, shapely geometries)``
    (geometries None when ``geometry`` is False: the coordinates come from columns).

    Only the named columns and the geometry column are read, :data:`PARQUET_BATCH_ROWS`
    rows at a time (``batch_rows``), the WKB decoded with :func:`shapely.from_wkb`, so
    memory stays bounded whatever the file's size; values, missing geometries and the
    CRS (``"OGC:CRS84"`` when the metadata names none, as the GeoParquet specification
    says; None when it is null) are those of :func:`geopandas.read_parquet`. Returns
    None when the geometry is not WKB-encoded (GeoArrow encodings): read those whole.
    Raises ValidationError for a missing column (now) and for a value that is not
    WKB (when its batch is read, naming the row).
    """
    pf = _parquet_file(path, where)
    names = pf.schema_arrow.names
    gcol, meta = geo_metadata(pf.schema_arrow, where, path)
    if gcol not in names or str(meta.get("encoding", "WKB")).upper() != "WKB":
        return None
    _check_columns(names, columns, where, path)  # raises now
    crs = geoparquet_crs(meta)
    read = [*columns, gcol] if geometry and gcol not in columns else list(columns)

    def batches() -> GeoBatches:
        row0 = 0
        for batch in _checked_batches(pf.iter_batches(
                batch_size=batch_rows or PARQUET_BATCH_ROWS, columns=read), where, path):
            if not batch.num_rows:
                continue
            geoms = None
            if geometry:
                wkb = batch.column(gcol).to_numpy(zero_copy_only=False)
                geoms = shapely.from_wkb(wkb, on_invalid="ignore")
                bad = np.flatnonzero(pd.notna(wkb) & pd.isna(geoms))
                if len(bad):
                    problems = Problems()
                    problems.add(f"{where} {path} row {row0 + bad[0] + 1}",
                                 f"not a WKB geometry ({len(bad)} in rows {row0 + 1}-"
                                 f"{row0 + batch.num_rows})", column=gcol,
                                 value=bytes(wkb[bad[0]][:16]).hex(),
                                 allowed="WKB geometry, as GeoParquet stores it")
                    problems.raise_if_any()
                if gcol not in columns:
                    batch = batch.drop_columns([gcol])
            row0 += batch.num_rows
            yield batch, geoms

    return batches(), crs


def geo_metadata(schema: pa.Schema, where: str, path: Path) -> tuple[str, dict]:
    """The primary geometry column of a GeoParquet file and its metadata; a
    ValidationError naming the file when the ``geo`` metadata is not JSON, lacks the
    primary column's entry or names a column the file does not have."""
    raw = (schema.metadata or {}).get(b"geo", b"")
    problem = None
    try:
        geo = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        geo, problem = None, f"is not JSON ({exc})"
    if problem is None and not (isinstance(geo, dict)
                                and isinstance(geo.get("columns", {}), dict)):
        problem = "is not a JSON object with a 'columns' object"
    gcol = geo.get("primary_column", "geometry") if problem is None else ""
    if problem is None and not isinstance(gcol, str):
        problem = f"names a primary_column that is not text ({str(gcol)[:40]!r})"
    elif problem is None and gcol not in schema.names:
        problem = f"names the geometry column {gcol[:80]!r}, which the file does not have"
    meta = geo.get("columns", {}).get(gcol) if problem is None else None
    if problem is None and not isinstance(meta, dict):
        problem = f"has no entry for its geometry column {gcol[:80]!r}"
    if problem is not None:
        raise ValidationError(Problem(f"{where} {path}", f"broken GeoParquet metadata: the "
                                      f"'geo' entry {problem}",
                                      allowed="a GeoParquet file as geopandas, GDAL or "
                                              "QGIS write it"))
    return gcol, meta


def geoparquet_crs(column_meta: dict) -> str | None:
    """The CRS of a GeoParquet geometry column (its metadata) as geopandas reads it:
    ``"OGC:CRS84"`` when the metadata names none (the GeoParquet specification), None
    when it is null (unknown), else the PROJJSON or text given (as written when pyproj
    does not know it: the calls header check then names it)."""
    crs = column_meta.get("crs", "OGC:CRS84")
    if crs is None:
        return None
    if isinstance(crs, dict):  # as geopandas does: member ids older PROJs do not know
        def drop_member_ids(node: dict) -> None:
            for key, value in node.items():
                if isinstance(value, dict):
                    drop_member_ids(value)
                elif key == "members" and isinstance(value, list):
                    for member in value:
                        member.pop("id", None)
        drop_member_ids(crs)
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(crs).to_string()
    except CRSError:
        return crs if isinstance(crs, str) else json.dumps(crs)[:200]


def is_geoparquet(path: Path) -> bool:
    """True when ``path`` is Parquet with GeoParquet ("geo") metadata."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except PARQUET_ERRORS:
        return False
    return b"geo" in meta


def _string_mapper(dtype: pa.DataType) -> object:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return pd.StringDtype("pyarrow")
    return None


def _decode_problem(where: str, path: Path, exc: Exception, encoding: str,
                    options: dict | None = None) -> list:
    """The problem of a CSV pyarrow could not read; with the reader's ``options``, a parse
    error names its row of the file (found by reading the file again on one thread)."""
    problems = Problems()
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "UTF8" in text.upper() or "utf-8" in text or isinstance(exc, UnicodeDecodeError):
        problems.add(f"{where} {path}", f"cannot decode the file as {encoding}: {text}",
                     allowed="UTF-8 text (or give the encoding, e.g. option `encoding` latin-1)")
    elif suffix_of(path) == ".csv.gz" and isinstance(exc, OSError):
        problems.add(f"{where} {path}", f"cannot decompress the gzip file: it is truncated "
                     f"or corrupt ({text})", allowed="a complete gzip-compressed CSV")
    else:
        row = _parse_error_row(path, options) if options is not None else None
        at = "" if row is None else f" at row {row:,} of the file (the header is row 1)"
        problems.add(f"{where} {path}", f"cannot parse the CSV{at}: {text}")
    return problems.items


_ROW = re.compile(r"Row #(\d+)")


def _parse_error_row(path: Path, options: dict) -> int | None:
    """The row of ``path`` (the header is row 1) where reading it with ``options`` fails:
    pyarrow numbers rows only when it reads on one thread."""
    ro = options["read_options"]
    serial = pacsv.ReadOptions(encoding=ro.encoding, column_names=ro.column_names,
                               skip_rows=ro.skip_rows, block_size=ro.block_size,
                               use_threads=False)
    try:
        for _ in pacsv.open_csv(path, **{**options, "read_options": serial}):
            pass
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        found = _ROW.search(str(exc))
        return int(found.group(1)) if found else None
    return None


def read_table(
    path: str | os.PathLike,
    *,
    where: str,
    columns: list[str] | None = None,
    encoding: str = "utf-8",
    max_malformed_share: float = DEFAULT_MAX_MALFORMED_SHARE,
) -> Table:
    """Read a CSV, (Geo)Parquet, GeoJSON, GeoPackage or JSON-records file.

    ``columns`` lists the attribute columns that must exist (None reads all).
    Geometry, when the format has one, is returned separately with its CRS.
    """
    problems = Problems()
    p = check_file(path, where, problems)
    problems.raise_if_any()
    assert p is not None
    suffix = suffix_of(p)
    if suffix in CSV_SUFFIXES:
        frame, malformed = read_csv_columns(p, where, columns, encoding=encoding,
                                            max_malformed_share=max_malformed_share)
        return Table(p, frame, malformed=malformed)
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(p, where, columns)
    if suffix == ".json" and _looks_like_json_records(p):
        return _read_json_records(p, where, columns)
    return _read_vector(p, where, columns)


def _check_columns(frame_cols: list[str], wanted: list[str] | None, where: str, p: Path) -> None:
    if wanted is None:
        return
    missing_columns(list(frame_cols), wanted, f"{where} {p}").raise_if_any()


def _read_parquet(p: Path, where: str, columns: list[str] | None) -> Table:
    pf = _parquet_file(p, where)
    names = pf.schema_arrow.names
    _check_columns(names, columns, where, p)
    meta = pf.schema_arrow.metadata or {}
    if b"geo" in meta:
        import geopandas as gpd

        gcol, _ = geo_metadata(pf.schema_arrow, where, p)
        read_cols = None if columns is None else [*columns, gcol]
        try:
            gdf = gpd.read_parquet(p, columns=read_cols)
        except (ValueError, TypeError, KeyError, OSError, pa.ArrowException,
                shapely.errors.ShapelyError, CRSError) as exc:
            raise ValidationError(Problem(f"{where} {p}", f"cannot read as GeoParquet: "
                                          f"{str(exc)[:200]}")) from exc
        crs = gdf.crs.to_string() if gdf.crs is not None else None
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        return Table(p, frame, gdf.geometry.values._data, crs)
    try:
        table = pq.read_table(p, columns=columns)
        table.validate(full=True)
        frame = _plain_metadata(table).to_pandas(types_mapper=_string_mapper)
    except PARQUET_ERRORS as exc:
        raise _parquet_problem(where, p, exc) from exc
    return Table(p, frame)


def _looks_like_json_records(p: Path) -> bool:
    with open(p, "rb") as fh:
        head = fh.read(4096).lstrip()
    return head.startswith(b"[")


def _read_json_records(p: Path, where: str, columns: list[str] | None) -> Table:
    try:
        with open(p, encoding="utf-8") as fh:
            records = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{where} {p}: cannot parse JSON: {exc}") from exc
    except RecursionError as exc:
        raise ValidationError(f"{where} {p}: cannot parse JSON: nested too deeply") from exc
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None) \
        if isinstance(records, list) else -1
    if bad is not None:
        what = (f"record {bad + 1} is a JSON {_json_type(records[bad])}" if bad >= 0
                else f"the file is a JSON {_json_type(records)}")
        raise ValidationError(Problem(f"{where} {p}", f"not a list of records: {what}",
                                      allowed="a JSON list of objects, one per row "
                                              '([{"column": value, ...}, ...]), or GeoJSON'))
    frame = pd.DataFrame.from_records(records)
    _check_columns(list(frame.columns), columns, where, p)
    if columns is not None:
        frame = frame[columns]
    return Table(p, frame)


def _json_type(value: object) -> str:
    return {dict: "object", list: "list", str: "string", bool: "true/false",
            type(None): "null"}.get(type(value), "number")


def _read_vector(p: Path, where: str, columns: list[str] | None) -> Table:
    from safetygap import vector_io

    info = vector_io.read_info(p, where=where)
    names = list(info["fields"])
    _check_columns(names, columns, where, p)
    gdf = vector_io.read_dataframe(p, where=where, columns=columns)
    crs = gdf.crs.to_string() if gdf.crs is not None else None
    geom = gdf.geometry.values._data if "geometry" in gdf else None
    frame = pd.DataFrame(gdf.drop(columns="geometry")) if "geometry" in gdf else pd.DataFrame(gdf)
    return Table(p, frame, geom, crs)


def points_xy(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y arrays of point geometries and a mask of rows that are not points.

    Missing or empty geometries give NaN; non-point geometries give NaN too and
    are flagged in the returned mask so they can be counted.
    """
    types = shapely.get_type_id(geometry)
    is_point = types == 0
    x = np.full(len(geometry), np.nan)
    y = np.full(len(geometry), np.nan)
    if is_point.any():
        coords_ok = is_point & ~shapely.is_empty(geometry)
        x[coords_ok] = shapely.get_x(geometry[coords_ok])
        y[coords_ok] = shapely.get_y(geometry[coords_ok])
    not_point = (types > 0)
    return x, y, not_point


_TEXT_DTYPE = pd.Series(["x"]).dtype  # pandas' default string dtype


def arrow_text(s: pd.Series) -> pa.Array:
    """A text column as one pyarrow string array."""
    arr = pa.array(s if isinstance(s.dtype, pd.StringDtype) else s.astype(_TEXT_DTYPE))
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def to_float(raw: pd.Series) -> np.ndarray:
    """Numbers of a column as float64; NaN for missing, unparseable or non-finite values.

    Text is trimmed and parsed by pyarrow (a decimal number with an optional
    exponent); anything else, including "inf" and "nan", gives NaN.
    """
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        out = pd.to_numeric(raw).to_numpy(dtype=float, na_value=np.nan)
    else:
        text = arrow_text(raw)
        try:  # clean numbers (the usual case) need no trimming
            nums = pc.cast(text, pa.float64())
        except pa.ArrowInvalid:
            text = pc.utf8_trim_whitespace(text)
            try:
                nums = pc.cast(text, pa.float64())
            except pa.ArrowInvalid:
                ok = pc.match_substring_regex(text, _NUMBER)
                nums = pc.cast(pc.if_else(ok, text, pa.scalar(None, text.type)),
                               pa.float64())
        out = nums.to_numpy(zero_copy_only=False)
    if not out.flags.writeable:
        out = out.copy()
    out[~np.isfinite(out)] = np.nan
    return out
