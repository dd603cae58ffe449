"""Providers that serve named areas (or a drawn polygon) rather than a catchment.

Many prevention programmes are assigned to neighborhoods, corridors or wards. A
provider row's ``serves`` column says which, instead of a catchment around its point:

- area names separated by ``;``: ``Phillips West; Ventura Village``. A bare name is looked
  up among the neighborhood names and the ward names (after folding case, accents and
  punctuation, :func:`safetygap.boundaries.names.normalize_name`); it must name exactly one
  area of the two layers;
- ``neighborhood:X`` or ``ward:X``: the area of that layer whose id or name is ``X``
  (``ward:3``; ids need the prefix, since both layers number their areas);
- a polygon as WKT (``POLYGON ((...))`` or ``MULTIPOLYGON``) in the provider file's CRS
  (WGS84 degrees for a latitude/longitude file): a corridor or any drawn area.

:func:`resolve_serves` turns the column into one polygon per provider in the analysis
CRS (the union of the areas named), written as WKT in the providers table's
``serves_wkt`` column ("" for a provider with a catchment). Coverage and accessibility
then treat such a provider as serving exactly that polygon: every call and every
resident (demand point) inside it is within reach with full weight, nothing outside it
is (:func:`served_mask`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from safetygap.boundaries.names import normalize_name
from safetygap.errors import Problems
from safetygap.vocab import LEVELS

__all__ = ["MIN_OVERLAP_SHARE", "SERVES_COLUMN", "WKT_COLUMN", "resolve_serves",
           "served_mask", "serves_area", "serving_polygons"]

SERVES_COLUMN = "serves"
WKT_COLUMN = "serves_wkt"
"""Providers-table column: the served polygon as WKT in the analysis CRS ("" = catchment)."""

_LEVELS = LEVELS
MIN_OVERLAP_SHARE = 0.01
"""An area-serving provider serves an area when its polygon and the area overlap by more
than this share of the smaller of the two (slivers where two layers' lines do not quite
agree are not overlap; a neighborhood inside a ward is 100% of the smaller)."""


def _is_wkt(text: str) -> bool:
    head = text.lstrip().upper()
    return head.startswith("POLYGON") or head.startswith("MULTIPOLYGON")


def resolve_serves(
    serves: pd.Series,
    neighborhoods: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    *,
    src_crs: str,
    crs: CRS,
    where: str,
) -> list[str]:
    """The served polygon of each provider as WKT in ``crs`` ("" where ``serves`` is empty).

    ``neighborhoods`` and ``wards`` carry ``area_id``, ``name`` and geometry in ``crs``;
    ``src_crs`` is the CRS of WKT polygons in the file. Raises one ValidationError naming
    every row, token and what would match.
    """
    problems = Problems()
    layers = {"neighborhood": neighborhoods, "ward": wards}
    by_name: dict[str, list[tuple[str, int]]] = {}
    by_level: dict[str, dict[str, int]] = {lv: {} for lv in _LEVELS}
    for level, layer in layers.items():
        for i, (aid, name) in enumerate(zip(layer["area_id"], layer["name"], strict=True)):
            by_name.setdefault(normalize_name(str(name)), []).append((level, i))
            by_level[level][normalize_name(str(name))] = i
            by_level[level].setdefault(f"id:{aid}", i)
    to_crs = Transformer.from_crs(CRS.from_user_input(src_crs), crs, always_xy=True)
    out: list[str] = []
    for i, raw in enumerate(serves.tolist()):
        text = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw)
        text = text.strip()
        label = f"{where} row {i + 1}"
        if not text:
            out.append("")
            continue
        if _is_wkt(text):
            try:
                geom = shapely.from_wkt(text)
            except shapely.errors.GEOSException as exc:
                problems.add(label, f"serves is not a readable polygon ({exc})",
                             column=SERVES_COLUMN, value=text[:60])
                out.append("")
                continue
            geom = shapely.transform(geom, lambda c: np.column_stack(
                to_crs.transform(c[:, 0], c[:, 1])))
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            if geom.is_empty or geom.area <= 0:
                problems.add(label, "serves polygon has no area", column=SERVES_COLUMN,
                             value=text[:60])
                out.append("")
                continue
            out.append(geom.wkt)
            continue
        parts = []
        for token in (t.strip() for t in text.split(";")):
            if not token:
                continue
            level, _, key = token.partition(":")
            if key and level.strip().lower() in _LEVELS:
                lv = level.strip().lower()
                table = by_level[lv]
                j = table.get(f"id:{key.strip()}", table.get(normalize_name(key)))
                if j is None:
                    problems.add(label, f"serves names no {lv} with this id or name",
                                 column=SERVES_COLUMN, value=token,
                                 allowed=_examples(layers[lv]))
                else:
                    parts.append(layers[lv].geometry.iat[j])
                continue
            hits = by_name.get(normalize_name(token), [])
            if len(hits) == 1:
                lv, j = hits[0]
                parts.append(layers[lv].geometry.iat[j])
            elif not hits:
                problems.add(label, "serves names no neighborhood or ward", column=SERVES_COLUMN,
                             value=token, allowed="a neighborhood or ward name, "
                             "'neighborhood:ID', 'ward:ID' or a WKT polygon; e.g. "
                             + _examples(neighborhoods))
            else:
                problems.add(label, "serves name matches more than one area",
                             column=SERVES_COLUMN, value=token,
                             allowed=", ".join(f"{lv}:{layers[lv]['area_id'].iat[j]}"
                                               for lv, j in hits))
        out.append(shapely.union_all(parts).wkt if parts else "")
    problems.raise_if_any()
    return out


def _examples(layer: gpd.GeoDataFrame, n: int = 5) -> str:
    names = [f"{n_!s} (id {a})" for a, n_ in zip(layer["area_id"][:n], layer["name"][:n],
                                                  strict=True)]
    return ", ".join(names) + (", ..." if len(layer) > n else "")


def serving_polygons(providers: pd.DataFrame) -> list[shapely.Geometry | None]:
    """Each provider's served polygon (analysis CRS), None for a catchment provider."""
    if WKT_COLUMN not in providers.columns:
        return [None] * len(providers)
    out: list[shapely.Geometry | None] = []
    for v in providers[WKT_COLUMN].tolist():
        out.append(shapely.from_wkt(v) if isinstance(v, str) and v else None)
    return out


def served_mask(x: np.ndarray, y: np.ndarray, polygons: list[shapely.Geometry | None]
                ) -> np.ndarray:
    """(points, providers) boolean: point inside (or on the edge of) the provider's polygon;
    all False in the column of a catchment provider (None) and for NaN points."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.zeros((len(x), len(polygons)), dtype=bool)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return out
    rows = np.flatnonzero(ok)
    xs, ys = x[ok], y[ok]  # tested as coordinates: no point objects built
    for j, poly in enumerate(polygons):
        if poly is None:
            continue
        shapely.prepare(poly)
        out[rows, j] = shapely.intersects_xy(poly, xs, ys)
    return out


def serving_cost(cost: np.ndarray, demand_xy: tuple[np.ndarray, np.ndarray],
                 providers: pd.DataFrame) -> np.ndarray:
    """A (demand, provider) cost matrix with every area-serving provider's column replaced:
    0 for the demand points inside its served polygon (full weight in any distance decay),
    inf (unreachable) elsewhere. Catchment providers' columns are unchanged; returns a copy
    when anything changes. The hook accessibility calls on its cost matrix."""
    polys = serving_polygons(providers)
    cols = [j for j, p in enumerate(polys) if p is not None]
    if not cols:
        return cost
    out = np.array(cost, dtype=float, copy=True)
    mask = served_mask(demand_xy[0], demand_xy[1], [polys[j] for j in cols])
    out[:, cols] = np.where(mask, 0.0, np.inf)
    return out


def split_serving(providers: pd.DataFrame) -> tuple[np.ndarray, list[shapely.Geometry]]:
    """(boolean per provider: serves areas, their polygons in order): the coverage hook's
    split between catchment providers and area-serving ones."""
    polys = serving_polygons(providers)
    flags = np.array([p is not None for p in polys], dtype=bool)
    return flags, [p for p in polys if p is not None]


def serves_area(polygons: list[shapely.Geometry | None], area: shapely.Geometry, *,
                min_share: float = MIN_OVERLAP_SHARE) -> np.ndarray:
    """Boolean per provider: its served polygon overlaps ``area`` (same CRS, projected) by
    more than ``min_share`` of the smaller of the two areas; False for a catchment
    provider (None). Neighbors that only share an edge do not overlap."""
    out = np.zeros(len(polygons), dtype=bool)
    if area is None or area.is_empty or area.area <= 0:
        return out
    shapely.prepare(area)
    for j, poly in enumerate(polygons):
        if poly is None or poly.is_empty or poly.area <= 0:
            continue
        if not shapely.intersects(area, poly):
            continue
        shared = shapely.intersection(area, poly).area
        out[j] = shared > min_share * min(area.area, poly.area)
    return out
