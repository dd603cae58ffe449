"""How large a compressed file becomes: decompression bombs are refused before reading.

A gzip of a few megabytes can expand to gigabytes. :func:`check_expansion` measures what
a file decompresses to without holding it: a ``.csv.gz`` is decompressed in 1 MiB
blocks and counted, stopping as soon as the count passes the limit; a ``.zip`` is
bounded by the sizes its members declare (Python's reader never yields more than a
member declares, and the GDAL read after it checks the same archive); a Parquet file by
the uncompressed sizes of its column chunks (its footer). A truncated or corrupt gzip
is refused here too, naming the file.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from safetygap.errors import Problem, ValidationError

BLOCK = 1 << 20


class ExpansionTooLarge(ValidationError):
    """The file decompresses to more than the limit (the API answers 413)."""

    def __init__(self, where: str, limit_bytes: int, what: str):
        self.limit_bytes = limit_bytes
        super().__init__(Problem(where, f"{what} decompresses to more than "
                                        f"{limit_bytes / 1e6:g} MB, the limit "
                                        "(SAFETYGAP_MAX_DECOMPRESSED_MB on the server)"))


def check_expansion(path: str | Path, *, limit_bytes: int, where: str) -> int:
    """Bytes ``path`` decompresses to (its size when it is not compressed); raises
    :class:`ExpansionTooLarge` past ``limit_bytes`` and a ValidationError naming the
    file when it cannot be decompressed. Memory: one block."""
    p = Path(path)
    name = p.name.lower()
    if name.endswith(".gz"):
        return _gzip_size(p, limit_bytes, where)
    if name.endswith(".zip"):
        return _zip_size(p, limit_bytes, where)
    if name.endswith((".parquet", ".geoparquet", ".pq")):
        return _parquet_size(p, limit_bytes, where)
    return p.stat().st_size


def _gzip_size(p: Path, limit: int, where: str) -> int:
    total = 0
    try:
        with gzip.open(p, "rb") as fh:
            while block := fh.read(BLOCK):
                total += len(block)
                if total > limit:
                    raise ExpansionTooLarge(where, limit, "the gzip file")
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ValidationError(Problem(where, f"cannot decompress the gzip file: it is "
                                             f"truncated or corrupt ({exc})",
                                      allowed="a complete gzip-compressed CSV")) from exc
    return total


def _zip_size(p: Path, limit: int, where: str) -> int:
    try:
        with zipfile.ZipFile(p) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValidationError(Problem(where, f"not a readable zip file ({exc})")) from exc
    if total > limit:
        raise ExpansionTooLarge(where, limit, "the zip file")
    return total


def _parquet_size(p: Path, limit: int, where: str) -> int:
    try:
        meta = pq.ParquetFile(p).metadata
        total = sum(meta.row_group(g).column(c).total_uncompressed_size
                    for g in range(meta.num_row_groups) for c in range(meta.num_columns))
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise ValidationError(Problem(where, f"cannot read as Parquet: {exc}")) from exc
    if total > limit:
        raise ExpansionTooLarge(where, limit, "the Parquet file")
    return total
