"""What the maps, the report and the API show, read from a workspace.

:class:`WorkspaceView` loads a :class:`~safetygap.workspace.Workspace` once
(areas, providers and indices in the analysis CRS, calls aggregated) and
derives, with caching:

- area layers as GeoJSON dicts in EPSG:4326, geometry simplified in the
  projected analysis CRS by a tolerance in metres, for the period ``all``
  or one year;
- gap classes with their bounds (the legend);
- one area's profile: calls by category and year, providers inside and in
  reach (with the workspace's distance model: straight-line metres, or travel
  minutes on its saved street network, see :mod:`safetygap.maps._reach`), every
  measure with its rank among the areas of its level and the city-wide value;
- areas ranked by gap index;
- hexagonal bins of calls and providers as GeoJSON in EPSG:4326.

Small counts of sensitive calls are hidden (:mod:`safetygap.privacy`, threshold
``privacy_min_count``): in hexagons (never finer than the threshold allows), in an area's
calls by category and year, and in the call counts of a family in an area's layer
properties and measures (with the measures derived from them: rate, diverted and eligible
counts and shares, coverage).

Distances and areas are computed in the projected analysis CRS (metres);
EPSG:4326 appears only in the GeoJSON this module returns.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from safetygap import FAMILIES
from safetygap._status import ANALYSED_STATUSES
from safetygap.geo.gap import CLASS_LABELS, N_CLASSES
from safetygap.geo.hexbin import hex_polygons, hexbin_counts
from safetygap.geo.travel import Travel
from safetygap.labels import DISTANCE_LABELS as LABEL_DISTANCE
from safetygap.labels import field, fmt_distance, service_label
from safetygap.maps._reach import minutes_to_area
from safetygap.privacy import (
    DEFAULT_MIN_COUNT,
    HEX_SIZES_M,
    finest_hex_size,
    hidden_cells,
    is_sensitive,
    shown,
)
from safetygap.workspace import Workspace

Level = Literal["neighborhood", "ward"]
LEVELS: tuple[str, ...] = ("neighborhood", "ward")
ALL_FAMILIES: tuple[str, ...] = ("total", *FAMILIES)
MEASURES: tuple[str, ...] = (
    "calls", "rate", "diverted", "diverted_share", "eligible", "eligible_not_diverted_share",
    "coverage", "providers", "capacity", "access", "gap", "gap_class",
)
"""Measure names, in display order (``total`` has only the first six)."""

MEASURE_LABELS: dict[str, str] = {m: field(m).label for m in MEASURES}
"""Each measure's label (the label table, :mod:`safetygap.labels`)."""
REACH_METHODS: dict[str, str] = {
    "m": "a provider outside the area reaches it when the straight-line distance to the "
         "area's nearest point is within its catchment (metres)",
    "min": "a provider outside the area reaches it when the travel time on the street "
           "network to the area's nearest point (a street node in it, or its "
           "representative point), including the walk from the provider to its nearest "
           "street node at 4.8 km/h, is within its catchment (minutes)",
}
"""How "in reach" is decided, per catchment unit (the workspace's distance model)."""
DISTANCE_LABELS: dict[str, str] = {
    m: f"{words} ({'metres' if m == 'straight-line' else 'minutes'})"
    for m, words in LABEL_DISTANCE.items()}
"""How maps, panels and the report name each distance model (the label table's words and
the unit)."""
STRAIGHT_LINE = {"distance_model": "straight-line", "unit": "m",
                 "catchment_column": "catchment_m", "catchments": {}}
"""The distance model of a workspace that does not record one (written before it did)."""
WGS84 = "EPSG:4326"
DEFAULT_TOLERANCE_M = 20.0
DEFAULT_HEX_SIZE_M = 400.0
UNKNOWN_YEAR = "unknown"
COUNT_DERIVED: tuple[str, ...] = ("calls", "rate", "diverted", "diverted_share", "eligible",
                                  "eligible_not_diverted_share", "coverage")
"""Measures of a family in an area hidden with its call count (they reveal it)."""


def _is_measure_column(col: str) -> bool:
    """A ``<measure>_<family>`` column (not an equity ``group_*`` / ``universe_*`` one)."""
    measure, _, fam = col.rpartition("_")
    return measure in MEASURES and fam in ALL_FAMILIES


def _size_of(value: Any) -> int:
    """Estimated bytes of a cached result: bytes and text by length, frames and arrays by
    their buffers, GeoJSON-like dicts by 1 kB per feature, anything else 1 kB."""
    if isinstance(value, bytes | str):
        return len(value)
    if isinstance(value, pd.DataFrame | pd.Series):
        return int(value.memory_usage(deep=False).sum()) if isinstance(
            value, pd.DataFrame) else int(value.memory_usage(deep=False))
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, dict) and isinstance(value.get("features"), list):
        return 1000 * (len(value["features"]) + 1)
    return 1000


def _num(v: Any) -> float | None:
    """A finite float, or None (NaN, inf, None)."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _id(v: Any) -> str | None:
    """An area id as text, or None when missing."""
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA \
        else str(v)


def _round_coords(geom: shapely.Geometry, digits: int = 6) -> shapely.Geometry:
    """Round coordinates (degrees) to ``digits`` decimals: 1e-6 deg is about 0.1 m."""
    return shapely.transform(geom, lambda c: np.round(c, digits))


def class_label(gap_class: int, n_classes: int) -> str:
    """Label of a gap class (0 = no value); names only when all five classes exist."""
    if gap_class == 0:
        return "no value"
    if n_classes == N_CLASSES:
        return CLASS_LABELS[gap_class - 1]
    return f"class {gap_class} of {n_classes}"


class UnknownArea(KeyError):
    """No area with this id at this level."""

    def __init__(self, level: str, area_id: str, examples: list[str]):
        self.level = level
        self.area_id = area_id
        self.examples = examples
        super().__init__(f"no {level} with id {area_id!r}")


class WorkspaceView:
    """Read-only, cached view of one workspace (see module docstring).

    Thread-safe for concurrent readers: derived results are computed under a
    lock once per key and then shared.
    """

    def __init__(self, workspace: Workspace, *, privacy_min_count: int = DEFAULT_MIN_COUNT):
        self.workspace = workspace
        self.min_count = int(privacy_min_count)
        self.manifest: dict[str, Any] = workspace.manifest
        self.summary: dict[str, Any] = workspace.summary
        self.quality: dict[str, Any] = workspace.quality
        self.years: list[int] = [int(y) for y in self.summary.get("years", [])]
        self.areas: dict[str, gpd.GeoDataFrame] = {
            "neighborhood": workspace.neighborhoods.reset_index(drop=True),
            "ward": workspace.wards.reset_index(drop=True),
        }
        for frame in self.areas.values():
            frame["area_id"] = frame["area_id"].astype(str)
        self.crs = self.areas["neighborhood"].crs
        self.providers: gpd.GeoDataFrame = workspace.providers.reset_index(drop=True)
        self.indices: pd.DataFrame = workspace.indices
        self._load_calls(workspace)
        self._ids = {lv: pd.Index(f["area_id"]) for lv, f in self.areas.items()}
        self._ranks = {lv: self._rank_table(f) for lv, f in self.areas.items()}
        self._lock = threading.Lock()
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self.cache_bytes = 0
        """Estimated bytes of the cached results."""

    # ------------------------------------------------------------ loading

    def _load_calls(self, workspace: Workspace) -> None:
        cols = ["status", "neighborhood_id", "ward_id", "category", "family", "year",
                "geometry"]
        try:
            calls = workspace.calls(columns=[*cols, "call_type"])
        except (KeyError, ValueError):  # written before calls kept their type
            calls = workspace.calls(columns=cols)
        placed = calls[calls["status"].astype(str).isin(ANALYSED_STATUSES)]
        sensitive = is_sensitive(placed["category"].to_numpy(object),
                                 placed["call_type"].to_numpy(object)
                                 if "call_type" in placed.columns else None)
        year = placed["year"].astype(int)
        year_key = np.where(year > 0, year.astype(str), UNKNOWN_YEAR)
        base = pd.DataFrame({
            "category": placed["category"].astype(str).to_numpy(),
            "family": placed["family"].astype(str).to_numpy(),
            "year": year_key,
            "sensitive": sensitive.astype(np.int64),
        })
        self.call_counts: dict[str, pd.DataFrame] = {}
        for level in LEVELS:
            frame = base.assign(area_id=placed[f"{level}_id"].astype(str).to_numpy())
            self.call_counts[level] = (
                frame.groupby(["area_id", "category", "family", "year"])
                .agg(calls=("sensitive", "size"), sensitive=("sensitive", "sum"))
                .reset_index())
        geom = placed.geometry
        self.call_x = geom.x.to_numpy()
        self.call_y = geom.y.to_numpy()
        self.call_family = base["family"].to_numpy()
        self.call_year = year.to_numpy()
        self.call_sensitive = sensitive

    @staticmethod
    def _rank_table(frame: gpd.GeoDataFrame) -> pd.DataFrame:
        """Rank of every measure column, 1 = the most underserved area by that measure
        (:attr:`safetygap.labels.Field.worse`: the highest value first where higher is
        worse, the lowest first where lower is worse, the highest first for a measure with
        no direction); ties share the lowest rank."""
        cols = [c for c in frame.columns if c not in ("area_id", "name", "geometry")]
        values = frame[cols].apply(pd.to_numeric, errors="coerce")
        lowest_first = [field(c.rsplit("_", 1)[0]).worse == "lower" for c in cols]
        return pd.DataFrame({c: values[c].rank(ascending=low, method="min")
                             for c, low in zip(cols, lowest_first, strict=True)},
                            index=values.index)

    CACHE_ENTRIES = 512
    """Results kept per view; the least recently used go first."""
    CACHE_BYTES = 256_000_000
    """Estimated bytes of the results kept per view (:func:`_size_of`); the least recently
    used go first."""

    def cached(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per ``key`` (kept while among the most recently used).

        Locks per key: while one key is computed, other keys are read (or computed) at
        once; concurrent callers of the same key wait for the one computation."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._cache:  # computed while this caller waited
                    self._cache.move_to_end(key)
                    return self._cache[key]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._key_locks.pop(key, None)
            size = _size_of(value)
            with self._lock:
                if key not in self._cache:
                    self._cache[key] = value
                    self._sizes[key] = size
                    self.cache_bytes += size
                while self._cache and (len(self._cache) > self.CACHE_ENTRIES
                                       or self.cache_bytes > self.CACHE_BYTES):
                    old, _ = self._cache.popitem(last=False)
                    self.cache_bytes -= self._sizes.pop(old)
                    if old == key:
                        break
            return value

    # ------------------------------------------------------------- lookups

    @property
    def label(self) -> str:
        return str(self.summary.get("label") or "")

    @property
    def synthetic(self) -> bool:
        return bool(self.summary.get("synthetic"))

    def area_ids(self, level: str) -> list[str]:
        return list(self._ids[level])

    def has_area(self, level: str, area_id: str) -> bool:
        return area_id in self._ids[level]

    def _position(self, level: str, area_id: str) -> int:
        if area_id not in self._ids[level]:
            raise UnknownArea(level, area_id, self.area_ids(level)[:5])
        return int(self._ids[level].get_loc(area_id))

    @property
    def distance(self) -> dict[str, Any]:
        """The analysis' distance model: ``distance_model`` (straight-line, network-walk,
        network-drive), ``unit`` of catchments (m or min), ``catchment_column`` of the
        providers and ``catchments`` per service type (in ``unit``)."""
        return {**STRAIGHT_LINE, **self.summary.get("travel", {})}

    def reach_info(self) -> dict[str, Any]:
        """What pages say about reach: ``distance_model``, ``unit``, ``label`` (e.g.
        "walking time on the street network (minutes)"), ``method`` (how "in reach" is
        decided) and ``catchments`` per family: its providers' service types with their
        catchments in words (e.g. "youth program 15 min walking; community center 20 min
        walking", :mod:`safetygap.labels`)."""
        def compute() -> dict[str, Any]:
            d = self.distance
            col = d["catchment_column"]
            p = self.providers
            words: dict[str, str] = {}
            if col in p.columns and len(p):
                first = (p.groupby(["family", "service_type"], observed=True)[col].first()
                         .reset_index().sort_values(["family", "service_type"]))
                for fam, grp in first.groupby("family", observed=True):
                    words[str(fam)] = "; ".join(
                        f"{service_label(str(r.service_type))} "
                        f"{fmt_distance(getattr(r, col), d['unit'], d['distance_model'])}"
                        for r in grp.itertuples())
            return {"distance_model": d["distance_model"], "unit": d["unit"],
                    "label": DISTANCE_LABELS.get(d["distance_model"], d["distance_model"]),
                    "method": REACH_METHODS[d["unit"]],
                    "catchments": {f: words.get(f, "") for f in FAMILIES}}

        return self.cached(("reach_info",), compute)

    def travel(self) -> Travel:
        """The analysis' :class:`~safetygap.geo.travel.Travel` (the street network read
        once per view)."""
        return self.cached(("travel",), self.workspace.travel)

    def area_name(self, level: str, area_id: str) -> str:
        return str(self.areas[level]["name"].iloc[self._position(level, area_id)])

    def bounds(self, level: str = "neighborhood", area_id: str | None = None
               ) -> list[list[float]]:
        """``[[south, west], [north, east]]`` in degrees (EPSG:4326) of the level or one area."""
        frame = self.areas[level]
        if area_id is not None:
            frame = frame.iloc[[self._position(level, area_id)]]
        w, s, e, n = frame.to_crs(WGS84).total_bounds
        return [[float(s), float(w)], [float(n), float(e)]]

    # --------------------------------------------------------------- values

    def values(self, level: str, *, year: int | None = None) -> pd.DataFrame:
        """Measures as ``<measure>_<family>`` columns, one row per area (in layer order),
        for the period ``all`` (``year=None``) or one year."""
        frame = self.areas[level]
        cols = [c for c in frame.columns if _is_measure_column(c)]
        if year is None:
            return frame[cols].reset_index(drop=True)

        def compute() -> pd.DataFrame:
            sel = self.indices[(self.indices["level"] == level)
                               & (self.indices["period"] == str(year))]
            wide = sel.assign(column=sel["measure"] + "_" + sel["family"]).pivot_table(
                index="area_id", columns="column", values="value", aggfunc="first",
                dropna=False)
            wide.index = wide.index.astype(str)
            wide = wide.reindex(index=frame["area_id"], columns=cols)
            return wide.reset_index(drop=True)

        return self.cached(("values", level, year), compute)

    def classes(self, level: str, family: str, *, year: int | None = None
                ) -> list[dict[str, Any]]:
        """Gap classes of ``family`` at ``level``: class, label, lower and upper gap
        bound (min and max of its areas), number of areas; class 0 = no value."""
        vals = self.values(level, year=year)
        gap = vals[f"gap_{family}"].to_numpy(float)
        cls = np.nan_to_num(vals[f"gap_class_{family}"].to_numpy(float)).astype(int)
        present = sorted(c for c in set(cls.tolist()) if c > 0)
        n = len(present)
        out = []
        for c in present:
            g = gap[cls == c]
            out.append({"gap_class": c, "label": class_label(c, n), "lower": _num(g.min()),
                        "upper": _num(g.max()), "areas": int((cls == c).sum())})
        if (cls == 0).any():
            out.append({"gap_class": 0, "label": class_label(0, n), "lower": None,
                        "upper": None, "areas": int((cls == 0).sum())})
        return out

    # --------------------------------------------------------------- layers

    def simplified(self, level: str, tolerance_m: float) -> np.ndarray:
        """Geometries of ``level`` simplified by ``tolerance_m`` metres in the projected CRS,
        then in EPSG:4326 with coordinates rounded to 1e-6 deg (about 0.1 m).

        When the areas form a valid coverage (no overlaps), shared edges are simplified
        once for both neighbours (``shapely.coverage_simplify``), so no gaps or slivers
        open between them; otherwise each area is simplified alone (Douglas-Peucker,
        topology preserved). Either way every vertex stays within about the tolerance.
        """
        def compute() -> np.ndarray:
            geo = self.areas[level].geometry
            g = geo.to_numpy()
            if tolerance_m > 0:
                if shapely.coverage_is_valid(g):
                    g = shapely.coverage_simplify(g, tolerance_m)
                else:
                    g = shapely.simplify(g, tolerance_m, preserve_topology=True)
            out = gpd.GeoSeries(g, crs=geo.crs).to_crs(WGS84)
            return np.array([_round_coords(x) for x in out.to_numpy()], dtype=object)

        return self.cached(("simplified", level, float(tolerance_m)), compute)

    def ward_neighborhoods(self, ward_id: str, *, min_share: float = 0.01) -> list[str]:
        """Ids of the neighborhoods with at least ``min_share`` of their area in the ward
        (any overlapping one if none reaches the share), in layer order."""
        pos = self._position("ward", ward_id)

        def compute() -> list[str]:
            nb = self.areas["neighborhood"]
            ward = self.areas["ward"].geometry.iloc[pos]
            inter = shapely.area(shapely.intersection(nb.geometry.to_numpy(), ward))
            share = inter / nb.geometry.area.to_numpy()
            keep = share >= min_share
            if not keep.any():
                keep = inter > 0
            return nb["area_id"][keep].tolist()

        return self.cached(("ward_nbhd", ward_id, min_share), compute)

    def layer(
        self,
        level: str,
        *,
        family: str | None = None,
        year: int | None = None,
        tolerance_m: float = DEFAULT_TOLERANCE_M,
        ward: str | None = None,
    ) -> dict[str, Any]:
        """Areas of ``level`` as a GeoJSON FeatureCollection (EPSG:4326).

        Properties: ``area_id``, ``name``, ``population``, ``area_km2`` and the
        ``<measure>_<family>`` values of ``family`` (all four families when None)
        for the period ``all`` or ``year``. ``ward`` keeps only the neighborhoods
        in that ward (``level="neighborhood"`` only). Collection members
        ``classes`` (per family, see :meth:`classes`), ``period``, ``level``.
        """
        return self.cached(("layer", level, family, year, float(tolerance_m), ward),
                           lambda: self._layer(level, family, year, tolerance_m, ward))

    def _layer(self, level: str, family: str | None, year: int | None,
               tolerance_m: float, ward: str | None) -> dict[str, Any]:
        frame = self.areas[level]
        fams = ALL_FAMILIES if family is None else (family,)
        vals = self.values(level, year=year)
        cols = [c for c in vals.columns if c.rsplit("_", 1)[-1] in fams]
        geoms = self.simplified(level, tolerance_m)
        keep = np.ones(len(frame), dtype=bool)
        if ward is not None:
            keep = frame["area_id"].isin(self.ward_neighborhoods(ward)).to_numpy()
        records = vals[cols].to_dict("records")
        hidden = self.hidden_family_counts(level, year=year)
        features = []
        for i in np.flatnonzero(keep):
            row = frame.iloc[i]
            props: dict[str, Any] = {
                "area_id": str(row["area_id"]),
                "name": str(row["name"]),
                "population": _num(row["population"]),
                "area_km2": _num(row["area_km2"]),
            }
            for col, v in records[i].items():
                measure, fam = col.rsplit("_", 1)
                if measure in COUNT_DERIVED and hidden[fam][i]:
                    props[col] = None
                    continue
                num = _num(v)
                props[col] = int(num) if col.startswith("gap_class_") and num is not None \
                    else num
            features.append({"type": "Feature", "id": props["area_id"],
                             "geometry": mapping(geoms[i]), "properties": props})
        return {
            "type": "FeatureCollection",
            "level": level,
            "period": "all" if year is None else str(year),
            "families": list(fams),
            "tolerance_m": float(tolerance_m),
            "crs": WGS84,
            "classes": {f: self.classes(level, f, year=year) for f in fams if f in FAMILIES},
            "features": features,
        }

    def providers_layer(self, *, family: str | None = None, ward: str | None = None,
                        neighborhood: str | None = None) -> dict[str, Any]:
        """Providers as GeoJSON points (EPSG:4326), optionally one family / in one area."""
        def compute() -> dict[str, Any]:
            p = self.providers
            keep = np.ones(len(p), dtype=bool)
            if family is not None:
                keep &= (p["family"] == family).to_numpy()
            if ward is not None:
                keep &= (p["ward_id"].map(_id) == ward).to_numpy()
            if neighborhood is not None:
                keep &= (p["neighborhood_id"].map(_id) == neighborhood).to_numpy()
            sel = p[keep]
            pts = sel.geometry.to_crs(WGS84)
            features = []
            for rec, pt in zip(self._provider_records(sel), pts, strict=True):
                features.append({
                    "type": "Feature", "id": rec["provider_id"],
                    "geometry": {"type": "Point",
                                 "coordinates": [round(pt.x, 6), round(pt.y, 6)]},
                    "properties": rec,
                })
            d = self.distance
            return {"type": "FeatureCollection", "crs": WGS84,
                    "distance_model": d["distance_model"], "catchment_unit": d["unit"],
                    "features": features}

        return self.cached(("providers", family, ward, neighborhood), compute)

    def _catchments(self, frame: pd.DataFrame) -> np.ndarray:
        """Each provider's catchment in the analysis' unit (NaN where unknown)."""
        col = self.distance["catchment_column"]
        return (frame[col].to_numpy(float) if col in frame.columns
                else np.full(len(frame), np.nan))

    def _provider_records(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        """Properties of each provider; ``catchment`` in the analysis' unit."""
        d = self.distance
        catchment = self._catchments(frame)
        return [
            {"provider_id": str(r.provider_id), "name": str(r.name), "family": str(r.family),
             "service_type": str(r.service_type), "capacity": _num(r.capacity),
             "catchment": _num(c), "catchment_unit": d["unit"],
             "distance_model": d["distance_model"],
             "catchment_m": _num(r.catchment_m), "neighborhood_id": _id(r.neighborhood_id),
             "ward_id": _id(r.ward_id), **_inventory_record(r)}
            for r, c in zip(frame.itertuples(index=False), catchment, strict=True)
        ]

    def hexbins(self, *, family: str | None = None, year: int | None = None,
                size_m: float = DEFAULT_HEX_SIZE_M) -> dict[str, Any]:
        """Calls placed in areas (of ``family``, in ``year``) counted in pointy-top hexagons
        of circumradius ``size_m`` metres on a grid anchored at the projected CRS origin;
        GeoJSON polygons in EPSG:4326 with ``calls`` per hexagon; ``max_calls``.

        Privacy: the hexagons are never finer than :func:`~safetygap.privacy.finest_hex_size`
        allows (``size_m`` is the size used, ``requested_size_m`` the one asked for);
        hexagons holding a sensitive call and fewer than ``privacy_min_count`` calls have
        ``calls`` None (one more when only one would be); ``total_calls`` is None when it
        would reveal a hidden count."""
        def compute() -> dict[str, Any]:
            keep = np.isfinite(self.call_x)
            if family is not None:
                keep &= self.call_family == family
            if year is not None:
                keep &= self.call_year == year
            x, y, sens = self.call_x[keep], self.call_y[keep], self.call_sensitive[keep]
            m = self.min_count
            finest = (HEX_SIZES_M[0] if m <= 1
                      else finest_hex_size(x, y, sens, min_count=m))
            used = max(float(size_m), finest)
            counts = hexbin_counts(x, y, size_m=used)
            s_counts = hexbin_counts(x[sens], y[sens], size_m=used)
            s_of = counts[["q", "r"]].merge(s_counts, on=["q", "r"], how="left")["count"]
            s_of = s_of.fillna(0).to_numpy(np.int64)
            n = counts["count"].to_numpy(np.int64)
            hide = hidden_cells(n, s_of, min_count=m)
            total_hidden = hide.sum() == 1 or bool(hidden_cells(
                [n.sum()], [s_of.sum()], min_count=m, total_shown=False)[0])
            polys = hex_polygons(counts["q"].to_numpy(), counts["r"].to_numpy(), size_m=used)
            geo = gpd.GeoSeries(polys, crs=self.crs).to_crs(WGS84)
            features = [
                {"type": "Feature", "geometry": mapping(_round_coords(g)),
                 "properties": {"calls": c}}
                for g, c in zip(geo.to_numpy(), shown(n, hide), strict=True)
            ]
            return {"type": "FeatureCollection", "crs": WGS84, "size_m": used,
                    "requested_size_m": float(size_m),
                    "family": family, "period": "all" if year is None else str(year),
                    "max_calls": int(n[~hide].max()) if (~hide).any() else 0,
                    "total_calls": None if total_hidden else int(n.sum()),
                    "hidden_hexagons": int(hide.sum()), "privacy": self.privacy_note,
                    "features": features}

        return self.cached(("hexbins", family, year, float(size_m)), compute)

    # ------------------------------------------------------------- privacy

    @property
    def privacy_note(self) -> str:
        """What is hidden, in words (in every answer that may hide a count)."""
        if self.min_count <= 1:
            return "every count is shown (privacy threshold off)"
        return (f"counts of fewer than {self.min_count} calls that include a sensitive call "
                "(behavioral crisis, domestic violence, sexual assault, overdose, welfare "
                "check) are hidden (null), with one more count where a total would reveal "
                "a hidden one")

    def hidden_family_counts(self, level: str, *, year: int | None = None
                             ) -> dict[str, np.ndarray]:
        """Per family (and ``total``), one boolean per area of ``level`` (layer order):
        its call count in the period holds a sensitive call and is below the threshold."""
        def compute() -> dict[str, np.ndarray]:
            counts = self.call_counts[level]
            if year is not None:
                counts = counts[counts["year"] == str(year)]
            counts = counts[counts["family"].isin(FAMILIES)]
            ids = self.areas[level]["area_id"]
            out: dict[str, np.ndarray] = {}
            for fam in ALL_FAMILIES:
                sel = counts if fam == "total" else counts[counts["family"] == fam]
                per = sel.groupby("area_id")[["calls", "sensitive"]].sum().reindex(
                    ids, fill_value=0)
                out[fam] = hidden_cells(per["calls"], per["sensitive"],
                                        min_count=self.min_count, total_shown=False)
            return out

        return self.cached(("hidden", level, year), compute)

    # ------------------------------------------------------------ profiles

    def city_values(self, level: str) -> dict[str, float | None]:
        """City-wide value of each ``<measure>_<family>`` column from the areas of ``level``
        (period ``all``): counts as the mean per area; rates over the summed
        population; shares weighted by calls; access weighted by population;
        None for gap and gap class."""
        def compute() -> dict[str, float | None]:
            frame = self.areas[level]
            pop = frame["population"].to_numpy(float)
            n_years = max(len(self.years), 1)
            out: dict[str, float | None] = {}
            for col in self.values(level).columns:
                measure, fam = col.rsplit("_", 1)
                v = frame[col].to_numpy(float)
                calls = frame[f"calls_{fam}"].to_numpy(float)
                if measure in ("gap", "gap_class"):
                    out[col] = None
                elif measure == "rate":
                    ok = np.isfinite(pop) & (pop > 0)
                    out[col] = _num(calls[ok].sum() * 1000.0 / (pop[ok].sum() * n_years)) \
                        if ok.any() else None
                elif measure in ("diverted_share", "eligible_not_diverted_share", "coverage"):
                    ok = np.isfinite(v) & (calls > 0)
                    out[col] = _num((v[ok] * calls[ok]).sum() / calls[ok].sum()) \
                        if ok.any() else None
                elif measure == "access":
                    ok = np.isfinite(v) & np.isfinite(pop) & (pop > 0)
                    out[col] = _num((v[ok] * pop[ok]).sum() / pop[ok].sum()) \
                        if ok.any() else None
                else:
                    out[col] = _num(np.nanmean(v)) if np.isfinite(v).any() else None
            return out

        return self.cached(("city", level), compute)

    def measures(self, level: str, area_id: str) -> list[dict[str, Any]]:
        """Every measure of one area (period ``all``): family, measure, value, rank among
        the areas of its level (1 = the most underserved by the measure, see
        :meth:`_rank_table`), number of ranked areas, city value."""
        pos = self._position(level, area_id)
        vals = self.values(level)
        ranks = self._ranks[level]
        city = self.city_values(level)
        hidden = self.hidden_family_counts(level)
        out = []
        for fam in ALL_FAMILIES:
            for measure in MEASURES:
                col = f"{measure}_{fam}"
                if col not in vals.columns:
                    continue
                rank = ranks[col].iloc[pos]
                value = _num(vals[col].iloc[pos])
                if measure in COUNT_DERIVED and hidden[fam][pos]:
                    value, rank = None, np.nan
                if measure == "gap_class" and value is not None:
                    value = int(value)  # a class number
                out.append({
                    "family": fam, "measure": measure, "label": MEASURE_LABELS[measure],
                    "value": value,
                    "rank": None if not np.isfinite(rank) else int(rank),
                    "of": int(ranks[col].notna().sum()),
                    "city": city.get(col),
                })
        return out

    def profile(self, level: str, area_id: str) -> dict[str, Any]:
        """One area's profile (see :meth:`measures`, :meth:`providers_near`)."""
        pos = self._position(level, area_id)
        row = self.areas[level].iloc[pos]
        counts = self.call_counts[level]
        mine = counts[counts["area_id"] == area_id]
        m = self.min_count
        total, total_sens = int(mine["calls"].sum()), int(mine["sensitive"].sum())
        total_hidden = bool(hidden_cells([total], [total_sens], min_count=m,
                                         total_shown=False)[0])
        cats = (mine.groupby(["category", "family"], sort=False)[["calls", "sensitive"]]
                .sum().reset_index())
        cat_hidden = hidden_cells(cats["calls"], cats["sensitive"], min_count=m,
                                  total_shown=not total_hidden)
        by_cat = []
        for (cat, fam), grp in mine.groupby(["category", "family"], sort=False):
            i = int(np.flatnonzero((cats["category"] == cat).to_numpy()
                                   & (cats["family"] == fam).to_numpy())[0])
            hide_years = hidden_cells(grp["calls"], grp["sensitive"], min_count=m,
                                      total_shown=not cat_hidden[i])
            by_year = dict(zip(grp["year"].astype(str),
                               shown(grp["calls"], hide_years), strict=True))
            by_cat.append({"category": str(cat), "family": str(fam),
                           "calls": None if cat_hidden[i] else int(grp["calls"].sum()),
                           "suppressed": bool(cat_hidden[i] or hide_years.any()),
                           "by_year": by_year})
        # shown counts first (largest first), then the hidden ones by name
        by_cat.sort(key=lambda r: (r["calls"] is None, -(r["calls"] or 0), r["category"]))
        years = mine.groupby("year")[["calls", "sensitive"]].sum()
        hide_years = hidden_cells(years["calls"], years["sensitive"], min_count=m,
                                  total_shown=not total_hidden)
        by_year = dict(zip(years.index.astype(str), shown(years["calls"], hide_years),
                           strict=True))
        inside, in_reach = self.providers_near(level, area_id)
        d = self.distance
        return {
            "level": level,
            "area_id": area_id,
            "name": str(row["name"]),
            "distance_model": d["distance_model"],
            "catchment_unit": d["unit"],
            "reach": REACH_METHODS[d["unit"]],
            "population": _num(row["population"]),
            "area_km2": _num(row["area_km2"]),
            "calls": None if total_hidden else total,
            "calls_by_year": dict(sorted(by_year.items())),
            "calls_by_category": by_cat,
            "privacy": self.privacy_note,
            "providers_inside": inside,
            "providers_in_reach": in_reach,
            "measures": self.measures(level, area_id),
        }

    def providers_near(self, level: str, area_id: str
                       ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Providers located in the area, and providers located outside it that reach it
        with the analysis' distance model (:data:`REACH_METHODS`), nearest first.

        Each record has ``distance_m``, the straight-line distance from the area
        (projected CRS, metres; 0 inside), and ``travel_min``, the travel time to the
        area's nearest point on the street network (minutes; 0 inside; None for a
        straight-line analysis).
        """
        pos = self._position(level, area_id)
        return self.cached(("near", level, area_id), lambda: self._near(level, area_id, pos))

    def _near(self, level: str, area_id: str, pos: int
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        geom = self.areas[level].geometry.iloc[pos]
        p = self.providers
        d = self.distance
        inside_mask = (p[f"{level}_id"].map(_id) == area_id).to_numpy()
        dist = shapely.distance(p.geometry.to_numpy(), geom)
        catchment = self._catchments(p)
        minutes: np.ndarray | None = None
        cost = dist
        if d["unit"] == "min":
            out = ~inside_mask & np.isfinite(catchment)
            minutes = np.zeros(len(p))
            minutes[~inside_mask] = np.inf
            if out.any():
                minutes[out] = minutes_to_area(
                    self.travel(), geom, p.geometry.x.to_numpy()[out],
                    p.geometry.y.to_numpy()[out], cutoff=float(catchment[out].max()))
            cost = minutes
        reach_mask = ~inside_mask & (cost <= catchment)

        ids = p["provider_id"].astype(str).to_numpy()
        shown = np.round(dist, 1) if minutes is None else np.round(minutes, 2)

        def records(mask: np.ndarray) -> list[dict[str, Any]]:
            rows = np.flatnonzero(mask)
            rows = rows[np.lexsort((ids[rows], shown[rows]))]  # nearest first, then by id
            recs = self._provider_records(p.iloc[rows])
            for rec, i in zip(recs, rows, strict=True):
                rec["distance_m"] = round(float(dist[i]), 1)
                rec["travel_min"] = None if minutes is None else float(shown[i])
            return recs

        return records(inside_mask), records(reach_mask)

    def ranking(self, level: str, family: str, *, year: int | None = None,
                top: int = 10) -> list[dict[str, Any]]:
        """The ``top`` areas by gap index of ``family`` (largest first, ties by id);
        areas without a gap value are left out."""
        frame = self.areas[level]
        vals = self.values(level, year=year)
        table = pd.DataFrame({
            "area_id": frame["area_id"].to_numpy(), "name": frame["name"].to_numpy(),
            "gap": vals[f"gap_{family}"].to_numpy(float),
            "gap_class": vals[f"gap_class_{family}"].to_numpy(float),
            "rate": vals[f"rate_{family}"].to_numpy(float),
            "access": vals[f"access_{family}"].to_numpy(float),
            "coverage": vals[f"coverage_{family}"].to_numpy(float),
            "calls": vals[f"calls_{family}"].to_numpy(float),
            "providers": vals[f"providers_{family}"].to_numpy(float),
        })
        table = table[np.isfinite(table["gap"])]
        table = table.sort_values(["gap", "area_id"], ascending=[False, True]).head(top)
        return [
            {"rank": i + 1, "area_id": str(r.area_id), "name": str(r.name),
             "gap": _num(r.gap), "gap_class": int(r.gap_class), "rate": _num(r.rate),
             "access": _num(r.access), "coverage": _num(r.coverage), "calls": _num(r.calls),
             "providers": _num(r.providers)}
            for i, r in enumerate(table.itertuples(index=False))
        ]

    def calls_by_family_year(self) -> pd.DataFrame:
        """Calls placed in areas per family (``none`` included) and year (``unknown`` for
        unparseable dates): a table indexed by family with one column per year."""
        counts = self.call_counts["neighborhood"]
        table = counts.groupby(["family", "year"])["calls"].sum().unstack(fill_value=0)
        return table.reindex([f for f in (*FAMILIES, "none") if f in table.index])


INVENTORY_PROPERTIES = ("organisation", "programme", "address", "capacity_unit",
                        "opening_hours", "eligibility", "languages", "phone", "website",
                        "source", "last_verified", "serves")
"""Inventory fields of a provider shown on the maps and in the API ("" when not given;
a workspace written before they existed has none)."""


def _inventory_record(r: Any) -> dict[str, Any]:
    """A provider's inventory fields, its stale flag and months since verified."""
    out: dict[str, Any] = {k: str(getattr(r, k, "") or "") for k in INVENTORY_PROPERTIES}
    months = getattr(r, "months_since_verified", None)
    out["months_since_verified"] = _num(months) if months is not None else None
    stale = getattr(r, "stale", None)
    out["stale"] = None if stale is None else bool(stale)
    out["serves_areas"] = bool(getattr(r, "serves_wkt", ""))
    return out

