"""Reading vector files through GDAL without letting the file choose what GDAL does.

Every vector read of the project goes through :func:`read_info` / :func:`read_dataframe`:

- the driver comes from the file's suffix (:data:`DRIVERS`), never from GDAL's sniffing
  of the content: GeoJSON and GeoPackage are opened with GDAL's ``<driver>:`` prefix
  (only that driver may open them); the other formats are opened and then refused unless
  the driver GDAL used is the suffix's;
- before GDAL opens anything, the bytes are scanned (:func:`check_content`) and a file that
  can make GDAL read other files or URLs is refused: a VRT (``<OGRVRTDataSource``,
  ``<VRTDataset``), a GDAL algorithm file (``gdal_streamed_alg``), or any ``/vsi...``
  virtual-file path (``/vsicurl/``, ``/vsizip/``, ...) inside the content; a ``.zip`` is
  checked member by member (shapefile parts only, no path outside it, decompressed size
  bounded);
- GDAL's network access is off (:func:`network_off`): its HTTP client goes through a proxy
  that refuses every connection, with no retry, and GML references are not resolved.

Refusals are :class:`~safetygap.errors.ValidationError` naming the file and the problem,
never quoting the content.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any

from safetygap.errors import Problem, ValidationError

__all__ = ["DRIVERS", "NETWORK_OFF", "check_content", "network_off", "read_dataframe",
           "read_info"]

DRIVERS: dict[str, str] = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".geojsonl": "GeoJSONSeq",
    ".gpkg": "GPKG",
    ".shp": "ESRI Shapefile",
    ".zip": "ESRI Shapefile",
    ".fgb": "FlatGeobuf",
    ".gml": "GML",
    ".kml": "KML",
}
"""GDAL driver of each accepted vector suffix."""

_PREFIXED = frozenset({"GeoJSON", "GPKG"})
"""Drivers opened as ``<driver>:<path>``: GDAL tries only that driver."""

_FORMAT_NAMES = {"GeoJSON": "GeoJSON", "GeoJSONSeq": "GeoJSON sequence",
                 "GPKG": "GeoPackage (GPKG)", "ESRI Shapefile": "shapefile",
                 "FlatGeobuf": "FlatGeobuf", "GML": "GML", "KML": "KML"}

_REFERENCES: tuple[tuple[bytes, str], ...] = (
    (b"<ogrvrtdatasource", "a GDAL VRT (virtual format) file, which reads other files"),
    (b"<vrtdataset", "a GDAL VRT (virtual format) file, which reads other files"),
    (b"gdal_streamed_alg", "a GDAL algorithm file, which reads other files"),
    (b"/vsi", "a GDAL virtual-file path (/vsi...), which reads other files or URLs"),
)
"""Byte patterns (lower case) of content that references other files or URLs."""

_CHUNK = 1 << 20
_ZIP_MEMBERS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml",
                ".qmd")
MAX_ZIP_BYTES = 2_000_000_000
"""Largest decompressed size of a zipped shapefile, bytes."""

NETWORK_OFF: dict[str, str] = {
    "GDAL_HTTP_PROXY": "127.0.0.1:9",   # the discard port: every connection refused
    "GDAL_HTTPS_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".safetygap-no-network",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GML_SKIP_RESOLVE_ELEMS": "ALL",
    "GML_DOWNLOAD_WFS_SCHEMA": "NO",
    "PROJ_NETWORK": "OFF",
}
"""GDAL configuration that keeps it off the network."""

_network_set = False


def network_off() -> None:
    """Apply :data:`NETWORK_OFF` to GDAL (once per process)."""
    global _network_set
    if _network_set:
        return
    import pyogrio

    pyogrio.set_gdal_config_options(NETWORK_OFF)
    _network_set = True


def _suffix(p: Path) -> str:
    return p.suffix.lower()


def driver_for(path: str | Path, where: str) -> str:
    """The driver of ``path``'s suffix; ValidationError listing the accepted suffixes."""
    p = Path(path)
    driver = DRIVERS.get(_suffix(p))
    if driver is None:
        raise _error(p, where, f"cannot read a {_suffix(p) or 'suffix-less'} file as a "
                               f"vector layer; accepted: {', '.join(DRIVERS)}")
    return driver


def _error(p: Path | str, where: str, message: str) -> ValidationError:
    return ValidationError(Problem(f"{where} {p}", message))


def _scan(stream: Any, where: str, p: Path, member: str | None = None) -> None:
    tail = b""
    while chunk := stream.read(_CHUNK):
        low = tail + chunk.lower()
        for pattern, what in _REFERENCES:
            if pattern in low:
                inside = f"its member {member[:80]!r} " if member else "the file "
                raise _error(p, where, f"refused: {inside}is or contains {what}; upload "
                                       "the data itself (GeoJSON, GeoPackage, shapefile or "
                                       "GeoParquet)")
        tail = low[-32:]


def check_content(path: str | Path, where: str) -> None:
    """Raise ValidationError when ``path`` references other files or URLs (see module
    docstring); a ``.zip`` must hold only shapefile parts within :data:`MAX_ZIP_BYTES`."""
    p = Path(path)
    if _suffix(p) != ".zip":
        with open(p, "rb") as fh:
            _scan(fh, where, p)
        return
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _error(p, where, f"not a readable zip file ({exc})") from exc
    with zf:
        total = 0
        for info in zf.infolist():
            member = info.filename
            if info.is_dir():
                continue
            if member.startswith(("/", "\\")) or ".." in Path(member).parts:
                raise _error(p, where, f"refused: member {member[:80]!r} points outside "
                                       "the archive")
            if not member.lower().endswith(_ZIP_MEMBERS):
                raise _error(p, where, "a zip may hold only the parts of a shapefile "
                                       f"({', '.join(_ZIP_MEMBERS)}); found {member[:80]!r}")
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise _error(p, where, "refused: decompresses to more than "
                                       f"{MAX_ZIP_BYTES / 1e9:g} GB")
            try:
                with zf.open(info) as fh:  # read at most the size the directory declares
                    _scan(fh, where, p, member)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise _error(p, where, f"not a readable zip file: member {member[:80]!r}: "
                                       f"{exc} (its contents do not match the sizes or "
                                       "checksums its directory declares)") from exc


def _open_path(p: Path, driver: str) -> str:
    return f"{driver}:{p}" if driver in _PREFIXED else str(p)


def _refuse_other_driver(p: Path, where: str, expected: str, got: str | None) -> None:
    if got != expected:
        raise _error(p, where,
                     f"the name ends {_suffix(p)}, so it must be "
                     f"{_FORMAT_NAMES.get(expected, expected)}, but the content is "
                     f"{_FORMAT_NAMES.get(got or '', got or 'another format')}; rename it or "
                     f"export it as {_FORMAT_NAMES.get(expected, expected)}")


def _gdal_error(p: Path, where: str, expected: str, exc: Exception) -> ValidationError:
    text = str(exc).replace(f"{expected}:", "").replace(str(p), p.name)
    if len(text) > 200:
        text = text[:200] + " ..."
    return _error(p, where, f"cannot open as a vector file: not readable as "
                            f"{_FORMAT_NAMES.get(expected, expected)} ({text})")


def read_info(path: str | Path, *, where: str) -> dict[str, Any]:
    """``pyogrio.read_info`` of ``path`` opened safely (see module docstring)."""
    import pyogrio

    p = Path(path)
    driver = driver_for(p, where)
    check_content(p, where)
    network_off()
    try:
        info = pyogrio.read_info(_open_path(p, driver))
    except Exception as exc:  # pyogrio raises several DataSource errors
        raise _gdal_error(p, where, driver, exc) from exc
    _refuse_other_driver(p, where, driver, info.get("driver"))
    return info


def read_dataframe(path: str | Path, *, where: str, columns: list[str] | None = None
                   ) -> Any:
    """``pyogrio.read_dataframe`` of ``path`` opened safely (see module docstring)."""
    import pyogrio

    p = Path(path)
    read_info(p, where=where)  # suffix, content and driver checked
    driver = DRIVERS[_suffix(p)]
    try:
        return pyogrio.read_dataframe(_open_path(p, driver), columns=columns,
                                      use_arrow=False)
    except Exception as exc:
        raise _gdal_error(p, where, driver, exc) from exc
