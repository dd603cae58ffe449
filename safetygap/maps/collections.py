"""The published layers of a workspace as feature collections (OGC API - Features, GeoPackage).

Framework-neutral: the OGC API router (:mod:`safetygap.api.routes_ogc`) and the GeoPackage
export (:mod:`safetygap.maps.gpkg`) both take their features from here, and both take them
from the same public layers the JSON API serves (:class:`~safetygap.readmodel.WorkspaceView`),
so the privacy suppression of small sensitive counts applies to every count published.
Individual calls are never a collection.

Geometry is GeoJSON in EPSG:4326 (OGC CRS84 axis order: longitude, latitude), as the API's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from safetygap import FAMILIES
from safetygap.errors import ValidationError
from safetygap.readmodel import DEFAULT_HEX_SIZE_M, WorkspaceView
from safetygap.scenarios import Baseline, recommend_sites

__all__ = [
    "COLLECTIONS",
    "CRS84",
    "Collection",
    "FilterError",
    "collection_features",
    "default_sites",
    "extent",
    "parse_bbox",
    "queryables",
    "select",
    "site_features",
]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
"""The only CRS the collections are published in (longitude, latitude; WGS 84)."""

SITES_K = 5
"""Number of proposed sites per family in the ``sites`` collection (the siting default)."""


@dataclass(frozen=True)
class Collection:
    """One published layer."""

    id: str
    title: str
    description: str
    geometry: str
    """GeoJSON geometry type of its features (Polygon, Point, ...)."""


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection("neighborhoods", "Neighborhoods",
               "Neighborhoods with every measure per family for the whole analysis period "
               "(`<measure>_<family>` properties: calls, rates per 1,000 residents per year, "
               "shares diverted, coverage, accessibility, gap index and class). Small counts "
               "of sensitive calls are hidden (null).", "Polygon"),
    Collection("wards", "Wards", "Council wards with the same measures as the neighborhoods.",
               "Polygon"),
    Collection("providers", "Service providers",
               "Service locations with family, service type, capacity and catchment.",
               "Point"),
    Collection("hexbins", "Calls in hexagons",
               f"Calls placed in areas counted in hexagons of {DEFAULT_HEX_SIZE_M:,.0f} m "
               "circumradius (coarser when the privacy threshold needs it); counts of fewer "
               "than the threshold that include a sensitive call are hidden (null).",
               "Polygon"),
    Collection("sites", "Proposed new sites",
               f"The {SITES_K} recommended new sites of each family (maximal covering: the "
               "need calls not yet within reach of an existing provider), ranked; one point "
               "per site.", "Point"),
)}


class FilterError(ValueError):
    """A query parameter that is not valid for the collection (answered 400)."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _with_ids(features: Iterable[dict[str, Any]], key: Callable[[int, dict], str]
              ) -> list[dict[str, Any]]:
    out = []
    for i, f in enumerate(features):
        props = {k: v for k, v in f.get("properties", {}).items() if _scalar(v)}
        out.append({"type": "Feature", "id": key(i, f), "geometry": f["geometry"],
                    "properties": props})
    return out


def _text_id(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def default_sites(base: Baseline) -> list[dict[str, Any]]:
    """The default recommendation of each family (what ``GET /api/sites?family=F`` answers:
    :data:`SITES_K` sites, the service type's defaults); a family that cannot be sited
    (no providers to copy, no need calls) is left out."""
    out = []
    for family in FAMILIES:
        try:
            out.append(recommend_sites(base, family=family, k=SITES_K))
        except ValidationError:
            continue
    return out


SITE_PROPERTIES: tuple[str, ...] = (
    "family", "rank", "site_id", "name", "address", "service_type", "capacity", "catchment",
    "catchment_unit", "distance_model", "existing_providers", "neighborhood_id", "ward_id",
    "marginal_calls", "cumulative_calls", "eligible_newly_covered", "residents_newly_reached",
    "neighborhoods_gaining")
"""Properties of each site feature (:func:`site_features`), in order: the header of a
sites CSV, with ``longitude`` and ``latitude``."""


def site_features(recommendations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Point features of :func:`~safetygap.scenarios.recommend_sites` results, one per
    site, id ``<family>-<rank>``; the neighborhoods that gain summarised in a property."""
    out = []
    for rec in recommendations:
        for s in rec["sites"]:
            gains = "; ".join(f"{a['name']} +{int(a['calls_newly_covered']):,}"
                              for a in s["neighborhoods"])
            props = {
                "family": str(rec["family"]), "rank": int(s["rank"]),
                "site_id": str(s["site_id"]), "name": str(s["name"]),
                "address": s.get("address"),
                "service_type": rec["service_type"], "capacity": float(rec["capacity"]),
                "catchment": float(rec["catchment"]),
                "catchment_unit": rec["catchment_unit"],
                "distance_model": rec["distance_model"],
                "existing_providers": rec.get("existing", "keep"),
                "neighborhood_id": _text_id(s["neighborhood_id"]),
                "ward_id": _text_id(s["ward_id"]),
                "marginal_calls": int(s["marginal_calls"]),
                "cumulative_calls": int(s["cumulative_calls"]),
                "eligible_newly_covered": s.get("eligible_newly_covered"),
                "residents_newly_reached": s.get("residents_newly_reached"),
                "neighborhoods_gaining": gains,
            }
            out.append({
                "type": "Feature", "id": f"{rec['family']}-{s['rank']}",
                "geometry": {"type": "Point",
                             "coordinates": [float(s["longitude"]), float(s["latitude"])]},
                "properties": {k: props[k] for k in SITE_PROPERTIES},
            })
    return out


def collection_features(view: WorkspaceView, collection_id: str, *,
                        sites: Callable[[], list[dict[str, Any]]] | None = None,
                        tolerance_m: float = 0.0) -> list[dict[str, Any]]:
    """Every feature of a collection, each with a string ``id`` and only scalar
    properties; ``sites`` supplies the recommendations for the ``sites`` collection
    (they need the siting baseline, which the caller holds)."""
    if collection_id in ("neighborhoods", "wards"):
        level = "neighborhood" if collection_id == "neighborhoods" else "ward"
        layer = view.layer(level, family=None, year=None, tolerance_m=tolerance_m)
        return _with_ids(layer["features"], lambda i, f: str(f["id"]))
    if collection_id == "providers":
        return _with_ids(view.providers_layer()["features"], lambda i, f: str(f["id"]))
    if collection_id == "hexbins":
        layer = view.hexbins(family=None, year=None, size_m=DEFAULT_HEX_SIZE_M)
        feats = _with_ids(layer["features"], lambda i, f: str(i + 1))
        for f in feats:
            f["properties"] = {"hexagon": int(f["id"]), "size_m": layer["size_m"],
                               **f["properties"]}
        return feats
    if collection_id == "sites":
        return [] if sites is None else sites()
    raise KeyError(collection_id)


def _bounds(features: Sequence[dict[str, Any]]) -> np.ndarray:
    """(n, 4) minx, miny, maxx, maxy of each feature (NaN without geometry)."""
    geoms = [shapely.geometry.shape(f["geometry"]) if f.get("geometry") else None
             for f in features]
    return shapely.bounds(np.array(geoms, dtype=object)).reshape(len(features), 4)


def extent(features: Sequence[dict[str, Any]]) -> list[float] | None:
    """Bounding box [minx, miny, maxx, maxy] of all features (CRS84), None when empty."""
    if not features:
        return None
    b = _bounds(features)
    if np.isnan(b).all():
        return None
    return [float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1])),
            float(np.nanmax(b[:, 2])), float(np.nanmax(b[:, 3]))]


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` (CRS84) checked: four finite numbers, min <= max,
    longitudes in [-180, 180] and latitudes in [-90, 90]."""
    parts = text.split(",")
    if len(parts) != 4:
        raise FilterError("bbox", "expected four comma-separated numbers "
                                  "minlon,minlat,maxlon,maxlat (a 3D bbox is not supported)")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise FilterError("bbox", f"not a number in {text[:80]!r}") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise FilterError("bbox", "coordinates must be finite")
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise FilterError("bbox", "longitudes must be in [-180, 180] and latitudes in "
                                  "[-90, 90] (CRS84: longitude first)")
    if y0 > y1:
        raise FilterError("bbox", "the minimum latitude is above the maximum")
    if x0 > x1:
        raise FilterError("bbox", "the minimum longitude is above the maximum (boxes "
                                  "across the antimeridian are not supported)")
    return x0, y0, x1, y1


def queryables(features: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Properties that can be filtered on, with their JSON type (string, integer, number,
    boolean): the scalar properties that hold one type in every feature (nulls aside)."""
    types: dict[str, set[str]] = {}
    for f in features:
        for k, v in f["properties"].items():
            kinds = types.setdefault(k, set())
            if isinstance(v, bool):
                kinds.add("boolean")
            elif isinstance(v, int):
                kinds.add("integer")
            elif isinstance(v, float):
                kinds.add("number")
            elif isinstance(v, str):
                kinds.add("string")
    out = {}
    for k, kinds in types.items():
        if kinds == {"integer", "number"}:
            kinds = {"number"}
        if len(kinds) == 1:
            out[k] = next(iter(kinds))
    return out


def _matches(value: Any, wanted: str, kind: str) -> bool:
    if value is None:
        return False
    if kind == "string":
        return value == wanted
    if kind == "boolean":
        return str(value).lower() == wanted.lower()
    try:
        return float(value) == float(wanted)
    except ValueError:
        return False


def select(features: Sequence[dict[str, Any]], *,
           bbox: tuple[float, float, float, float] | None = None,
           filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The features whose geometry intersects ``bbox`` (CRS84; a feature touching its edge
    is in) and whose properties equal every ``filters`` value (numbers compared as
    numbers, booleans as true/false); unknown filter properties raise :class:`FilterError`
    naming them and the queryable properties."""
    kinds = queryables(features) if filters else {}
    for name in filters or {}:
        if name not in kinds:
            allowed = ", ".join(sorted(kinds)) or "none"
            raise FilterError(name, f"not a query parameter of this collection; allowed: "
                                    f"limit, offset, bbox, f and the properties {allowed}")
    keep = np.ones(len(features), dtype=bool)
    if bbox is not None and len(features):
        b = _bounds(features)
        x0, y0, x1, y1 = bbox
        near = (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)
        box = shapely.box(x0, y0, x1, y1)
        for i in np.flatnonzero(near):
            near[i] = shapely.intersects(shapely.geometry.shape(features[i]["geometry"]), box)
        keep &= near
    for name, wanted in (filters or {}).items():
        kind = kinds[name]
        keep &= np.array([_matches(f["properties"].get(name), wanted, kind)
                          for f in features], dtype=bool)
    return [f for f, k in zip(features, keep, strict=True) if k]

