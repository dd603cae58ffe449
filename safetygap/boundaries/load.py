"""Loading and validating a boundary layer (neighborhoods, wards, ...).

:func:`load_boundaries` returns a GeoDataFrame with exactly the columns
``area_id`` (text), ``name`` (text) and ``geometry`` (Polygon/MultiPolygon),
in the file's CRS, plus a :class:`BoundaryReport` of what was repaired.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from safetygap.errors import Problems, ValidationError, option
from safetygap.geo.crs import declared_crs

OVERLAP_MIN_M2 = 1.0
"""Overlaps smaller than this (square metres) are digitising slivers: not listed."""
OVERLAP_WARN_SHARE = 0.001
"""Overlaps above this share of the smaller area of the pair are warned about."""
MAX_OVERLAPS_LISTED = 50
ID_CANDIDATES = ("area_id", "nbhd_id", "ward_id", "BDNUM", "WARD", "id", "ID", "PRECINCT",
                 "OBJECTID", "FID")
"""Id columns tried in order when none is given; the last ones are :data:`ROW_IDS`."""
ROW_IDS = ("OBJECTID", "FID")
"""Database row numbers: used as the id only as a last resort, with a warning (they can
change between two exports of the same layer, so ids would not match across runs)."""
ID_OPTIONS = {"neighborhoods": option("neighborhood_id"), "wards": option("ward_id")}
"""The option that names each layer's id column (:func:`safetygap.errors.option`)."""
CRS_OPTIONS = {"neighborhoods": option("neighborhoods_crs"), "wards": option("wards_crs")}
"""The options that declare each layer's CRS (``[neighborhoods] crs`` / ``[wards] crs`` in
a city configuration)."""
GEOMETRY_TYPES = ("Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                  "MultiLineString", "MultiPolygon", "GeometryCollection")
"""Names of shapely's geometry type ids 0..7."""
NAME_CANDIDATES = ("name", "NAME", "BDNAME", "CommName", "Name", "neighborhood", "ward")


@dataclass
class BoundaryReport:
    """What loading did to a layer: repairs and measurements, for quality.json."""

    path: str
    layer: str
    n_areas: int
    crs: str
    repaired: list[str] = field(default_factory=list)  # area ids made valid
    overlap_m2: float = 0.0  # total pairwise overlap area (projected CRS only)
    overlaps: list[dict] = field(default_factory=list)  # see overlap_pairs
    analysis_crs: str | None = None  # set by measure(): the CRS the layer was projected to
    id_column: str | None = None  # the column the area ids came from; None: row numbers
    name_column: str | None = None  # the column of the names; None: the ids
    id_note: str | None = None  # why the id column may be a poor choice (also warned)
    crs_source: str = "file"  # "file": the file's own CRS; "declared": given for a file
    # that carries none; "file, as declared": both, agreeing

    def measure(self, areas: gpd.GeoDataFrame) -> None:
        """Record the layer as projected for the analysis (``areas`` in its projected CRS,
        metres): the CRS it was reprojected to, and every pair of overlapping areas. Warns
        when two areas overlap by more than :data:`OVERLAP_WARN_SHARE` of the smaller."""
        self.analysis_crs = areas.crs.to_string()
        self.overlap_m2 = overlap_area(areas)
        self.overlaps = overlap_pairs(areas)
        big = [o for o in self.overlaps if o["share_of_smaller"] > OVERLAP_WARN_SHARE]
        if big:
            pairs = "; ".join(f"{o['a']} {o['a_name']!r} / {o['b']} {o['b_name']!r}: "
                              f"{o['area_m2']:,.0f} m²" for o in big[:5])
            warnings.warn(
                f"{self.layer} {self.path}: {len(big)} pair(s) of areas overlap "
                f"({sum(o['area_m2'] for o in big):,.0f} m² in all): {pairs}. A call in an "
                "overlap is counted once, in the first of the two areas in file order; "
                "fix the layer if the overlap is not intended", stacklevel=2)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "layer": self.layer,
            "areas": self.n_areas,
            "id_column": self.id_column,
            "name_column": self.name_column,
            "id_note": self.id_note,
            "crs": self.crs,
            "crs_source": self.crs_source,
            "reprojected_to": (self.analysis_crs if self.analysis_crs
                               and CRS.from_user_input(self.analysis_crs)
                               != CRS.from_user_input(self.crs) else None),
            "repaired_invalid_geometries": self.repaired,
            "overlap_m2": round(self.overlap_m2, 3),
            "overlapping_pairs": len(self.overlaps),
            "overlaps": self.overlaps[:MAX_OVERLAPS_LISTED],
        }


def load_boundaries(
    path: str | os.PathLike,
    *,
    layer: str = "areas",
    id_column: str | None = None,
    name_column: str | None = None,
    crs: str | None = None,
) -> tuple[gpd.GeoDataFrame, BoundaryReport]:
    """Read a polygon layer from GeoParquet or any vector file pyogrio reads.

    ``crs`` declares the layer's CRS (e.g. ``EPSG:2276``) for a file that carries none (a
    shapefile without its ``.prj``); for a file with a CRS it must agree with the file's
    own (a contradiction is an error naming both; agreement is recorded).

    ``id_column``/``name_column`` pick the identifying columns; when omitted
    the usual names are tried (see ``ID_CANDIDATES``/``NAME_CANDIDATES``) and,
    failing those, the row number (1-based) is the id and the id is the name.
    The columns used are recorded in the report; an id that is only a row
    number (the file's, or a database's ``OBJECTID``/``FID``) is warned about
    and noted there, since it need not survive a new export of the layer.

    Hard errors (raised together): file missing/empty/unreadable, no CRS (and
    none declared), a declared CRS that is unknown or contradicts the file's, no
    rows, non-polygon or empty geometries, duplicate ids. Invalid polygons
    (self-intersections) are repaired with :func:`shapely.make_valid` and
    listed in the report with a warning.
    """
    problems = Problems()
    p = Path(path)
    where = f"{layer} {p}"
    if not p.exists():
        problems.add(where, "file not found")
    elif p.is_file() and p.stat().st_size == 0:
        problems.add(where, "file is empty (0 bytes)")
    problems.raise_if_any()
    try:
        gdf = _read_any(p, layer)
    except ValidationError as exc:
        why = "; ".join(q.message for q in exc.problems)
        problems.add(where, why if why.startswith("refused") or "must be" in why
                     else f"cannot read as a vector file: {why}")
        raise ValidationError(problems.items) from exc
    except Exception as exc:
        problems.add(where, f"cannot read as a vector file: {exc}")
        raise ValidationError(problems.items) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        problems.add(where, "the file has no geometry column")
        problems.raise_if_any()
    if len(gdf) == 0:
        problems.add(where, "the layer has no features")
    _, crs_source = declared_crs(gdf.crs, crs, where=where,
                                 opt=CRS_OPTIONS.get(layer, "crs"), problems=problems)
    cols = [c for c in gdf.columns if c != "geometry"]
    id_col = id_column or next((c for c in ID_CANDIDATES if c in cols), None)
    name_col = name_column or next((c for c in NAME_CANDIDATES if c in cols), None)
    for arg, col in (("id_column", id_column), ("name_column", name_column)):
        if col is not None and col not in cols:
            problems.add(where, f"{arg} not in the file", column=col, allowed=cols[:40])
    problems.raise_if_any()

    geoms = gdf.geometry.values._data
    ids = (gdf[id_col].astype("string").str.strip() if id_col
           else pd.Series([str(i + 1) for i in range(len(gdf))], dtype="string"))
    names = gdf[name_col].astype("string").str.strip() if name_col else ids
    names = names.fillna(ids)
    types = shapely.get_type_id(geoms)
    absent = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(absent):
        problems.add(f"{where} row {i + 1}", "empty or missing geometry", column="geometry",
                     value=str(ids.iat[i]))
    for i in np.flatnonzero(~np.isin(types, (3, 6)) & ~absent):
        problems.add(f"{where} row {i + 1}", f"not a polygon: a {GEOMETRY_TYPES[types[i]]}",
                     column="geometry", value=str(ids.iat[i]), allowed="Polygon, MultiPolygon")
    for i in np.flatnonzero(~absent & ~on_earth(geoms, gdf.crs))[:MAX_LISTED]:
        x0, y0, x1, y1 = shapely.bounds(geoms[i])
        problems.add(f"{where} row {i + 1}", f"coordinates no place on Earth has in "
                     f"{gdf.crs.to_string()}: x {x0:.6g}..{x1:.6g}, y {y0:.6g}..{y1:.6g}",
                     column="geometry", value=str(ids.iat[i]),
                     allowed="finite coordinates in the CRS the file declares (is the "
                             "declared CRS right?)")
    for d in sorted(set(ids[ids.duplicated()].dropna())):
        problems.add(where, "duplicate area id", column=id_col or "row", value=d)
    for i in np.flatnonzero(ids.isna().to_numpy()):
        problems.add(f"{where} row {i + 1}", "missing area id", column=id_col)
    problems.raise_if_any()

    if crs_source == "declared":
        gdf = gdf.set_crs(crs)
    report = BoundaryReport(str(p), layer, len(gdf), gdf.crs.to_string(),
                            id_column=id_col, name_column=name_col, crs_source=crs_source)
    if id_column is None and (id_col is None or id_col in ROW_IDS):
        flag = ID_OPTIONS.get(layer, "id_column")
        what = (f"the database row number {id_col!r}" if id_col
                else "the row number in the file")
        report.id_note = (f"no id column found among {', '.join(ID_CANDIDATES[:-2])}: the "
                          f"ids are {what}, which can change between two exports of the "
                          f"layer; give the id column with {flag}")
        warnings.warn(f"{where}: {report.id_note} (columns: {', '.join(cols[:20])})",
                      stacklevel=2)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        # keep only the polygonal part of what make_valid returns
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        for i, g in zip(np.flatnonzero(invalid), fixed, strict=True):
            if shapely.is_empty(g) or shapely.area(g) <= 0:
                problems.add(f"{where} row {i + 1}", "invalid polygon with no area left after "
                             "repair (fewer than 4 distinct points, or collapsed to a line)",
                             column="geometry", value=str(ids.iat[i]),
                             allowed="a polygon enclosing an area")
        problems.raise_if_any()
        geoms = geoms.copy()
        geoms[invalid] = fixed
        report.repaired = [str(v) for v in ids[invalid]]
        warnings.warn(f"{where}: repaired {int(invalid.sum())} invalid polygon(s): "
                      f"{', '.join(report.repaired[:10])}", stacklevel=2)
    out = gpd.GeoDataFrame(
        {"area_id": ids.astype(str).to_numpy(), "name": names.astype(str).to_numpy()},
        geometry=gpd.GeoSeries(geoms, crs=gdf.crs).values,
        crs=gdf.crs,
    )
    return out, report


MAX_LISTED = 20
"""Rows named in one kind of problem of a boundary file."""


def on_earth(geoms: np.ndarray, crs: object) -> np.ndarray:
    """Per geometry: its bounding box has finite coordinates whose corners ``crs`` places
    at a longitude within -180..180 and a latitude within -90..90 (missing geometries:
    False)."""
    from pyproj import CRS, Transformer

    b = shapely.bounds(geoms)
    ok = np.isfinite(b).all(axis=1)
    if not ok.any() or crs is None:
        return ok
    xs = np.concatenate([b[ok, 0], b[ok, 2], b[ok, 0], b[ok, 2]])
    ys = np.concatenate([b[ok, 1], b[ok, 3], b[ok, 3], b[ok, 1]])
    src = CRS.from_user_input(crs)
    if not src.is_geographic:
        with np.errstate(all="ignore"):
            xs, ys = Transformer.from_crs(src, "EPSG:4326", always_xy=True).transform(xs, ys)
    inside = (np.isfinite(xs) & np.isfinite(ys) & (np.abs(xs) <= 180 + 1e-6)
              & (np.abs(ys) <= 90 + 1e-6)).reshape(4, -1).all(axis=0)
    out = np.zeros(len(geoms), dtype=bool)
    out[np.flatnonzero(ok)] = inside
    return out


def read_layer(path: str | os.PathLike, layer: str = "areas") -> gpd.GeoDataFrame:
    """The layer as the file holds it (every column, its own CRS or none), read the same
    safe way as :func:`load_boundaries`, unchecked otherwise: what ``safetygap init``
    looks at to guess the id and name columns and the CRS."""
    p = Path(path)
    problems = Problems()
    if not p.is_file() or p.stat().st_size == 0:
        problems.add(f"{layer} {p}", "file not found" if not p.exists() else
                     "file is empty (0 bytes)" if p.is_file() else "not a file")
        problems.raise_if_any()
    return _read_any(p, layer)


def _read_any(p: Path, layer: str) -> gpd.GeoDataFrame:
    """GeoParquet through geopandas (GDAL builds often lack the driver), the rest through
    :mod:`safetygap.vector_io` (driver from the suffix, no references, no network)."""
    if p.suffix.lower() in (".parquet", ".geoparquet", ".pq"):
        return gpd.read_parquet(p)
    from safetygap import vector_io

    return vector_io.read_dataframe(p, where=layer)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    parts = [g for g in shapely.get_parts(geom) if shapely.get_type_id(g) in (3, 6)]
    polys = []
    for g in parts:
        polys.extend(shapely.get_parts(g))
    if not polys:
        return shapely.MultiPolygon()  # nothing polygonal: refused by the caller
    return shapely.multipolygons(polys) if len(polys) != 1 else polys[0]


def overlap_area(areas: gpd.GeoDataFrame) -> float:
    """Total area (CRS units squared) where two areas of the layer overlap."""
    geoms = areas.geometry.values._data
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    if not keep.any():
        return 0.0
    inter = shapely.intersection(geoms[left[keep]], geoms[right[keep]])
    return float(shapely.area(inter).sum())


def overlap_pairs(areas: gpd.GeoDataFrame, *, min_m2: float = OVERLAP_MIN_M2) -> list[dict]:
    """Every pair of areas overlapping by at least ``min_m2`` (CRS units squared: use a
    projected CRS in metres), largest first: ids ``a``/``b`` (``a`` first in file order),
    names, ``area_m2`` and ``share_of_smaller`` (overlap / area of the smaller of the two)."""
    geoms = areas.geometry.values._data
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return []
    inter = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    ids, names = areas["area_id"].to_numpy(), areas["name"].to_numpy()
    out = [{"a": str(ids[i]), "a_name": str(names[i]), "b": str(ids[j]),
            "b_name": str(names[j]), "area_m2": round(float(a), 3),
            "share_of_smaller": round(float(a / m), 6) if m > 0 else None}
           for i, j, a, m in zip(left, right, inter, smaller, strict=True) if a >= min_m2]
    return sorted(out, key=lambda o: (-o["area_m2"], o["a"], o["b"]))
