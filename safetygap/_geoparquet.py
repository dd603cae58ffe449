"""Writing point tables as GeoParquet straight from coordinate arrays.

Building millions of shapely points only to serialise them again as WKB is
the slowest part of writing a large calls table; here the WKB of each point
(21 bytes: byte order, type 1, x, y) is laid out with numpy and handed to
pyarrow as a binary column with GeoParquet 1.0 metadata, which
:func:`geopandas.read_parquet` and dask-geopandas read like their own files.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyproj import CRS

_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def point_wkb(x: np.ndarray, y: np.ndarray) -> pa.Array:
    """WKB points (little-endian) as a pyarrow binary array; null where x or y is NaN."""
    n = len(x)
    rec = np.empty(n, dtype=_WKB_POINT)
    rec["order"] = 1
    rec["type"] = 1
    rec["x"] = x
    rec["y"] = y
    valid = np.isfinite(x) & np.isfinite(y)
    large = (n + 1) * _WKB_POINT.itemsize >= 2**31
    offsets = np.arange(n + 1, dtype=np.int64 if large else np.int32) * _WKB_POINT.itemsize
    mask = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    kind = pa.large_binary() if large else pa.binary()
    return pa.Array.from_buffers(kind, n, [mask, pa.py_buffer(offsets),
                                                  pa.py_buffer(rec.tobytes())],
                                 null_count=int(n - valid.sum()))


def geo_metadata(crs: str, x: np.ndarray, y: np.ndarray) -> bytes:
    """GeoParquet 1.0 metadata of a point column named ``geometry``."""
    return points_metadata(crs, point_bbox(x, y))


def point_bbox(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float] | None:
    """(min x, min y, max x, max y) of the points with both coordinates finite; None
    when there is none."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None
    return float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max())


def points_metadata(crs: str, bbox: tuple[float, float, float, float] | None) -> bytes:
    """GeoParquet 1.0 metadata of a point column named ``geometry`` whose points span
    ``bbox`` (None: no point)."""
    column: dict = {
        "encoding": "WKB",
        "geometry_types": ["Point"],
        "crs": CRS.from_user_input(crs).to_json_dict(),
    }
    if bbox is not None:
        column["bbox"] = [float(v) for v in bbox]
    return json.dumps({"version": "1.0.0", "primary_column": "geometry",
                       "columns": {"geometry": column}}).encode()


def points_table(frame: pd.DataFrame, x: np.ndarray, y: np.ndarray, crs: str, *,
                 bbox: tuple[float, float, float, float] | None = None) -> pa.Table:
    """``frame``'s columns plus a WKB ``geometry`` column, with GeoParquet metadata (the
    points' ``bbox``: by default that of ``x``/``y``; a table written in pieces gives the
    whole table's)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("geometry", point_wkb(np.asarray(x, float),
                                                      np.asarray(y, float)))
    meta = dict(table.schema.metadata or {})
    meta[b"geo"] = (geo_metadata(crs, np.asarray(x, float), np.asarray(y, float))
                    if bbox is None else points_metadata(crs, bbox))
    return table.replace_schema_metadata(meta)


def write_points(
    frame: pd.DataFrame, x: np.ndarray, y: np.ndarray, crs: str, path: str | os.PathLike
) -> None:
    """Write ``frame`` with point geometry from ``x``/``y`` (CRS ``crs``) as GeoParquet."""
    pq.write_table(points_table(frame, x, y, crs), path)
