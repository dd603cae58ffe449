"""What the maps, the report and the API show, read from a workspace.

:class:`WorkspaceView` loads a :class:`~safetygap.workspace.Workspace` once
(areas, providers and indices in the analysis CRS, calls aggregated) and
derives, with caching:

- area layers as GeoJSON dicts in EPSG:4326, geometry simplified in the
  projected analysis CRS by a tolerance in metres, for the period ``all``
  or one year;
- need/access classes with their colours (the legend), and the secondary gap classes
  with their bounds;
- one area's profile: calls by category and year, providers inside and in
  reach (with the workspace's distance model: straight-line metres, or travel
  minutes on its saved street network, see :mod:`safetygap.readmodel._reach`), every
  measure with its rank among the areas of its level and the city-wide value;
- areas ranked by the underserved rank (high need, low access first, by need);
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

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from safetygap import FAMILIES
from safetygap._status import ANALYSED_STATUSES
from safetygap.geo.bivariate import CLASS_LABELS as NEED_ACCESS_LABELS
from safetygap.geo.bivariate import NOT_RANKED, UNDERSERVED_CLASS
from safetygap.geo.travel import Travel
from safetygap.labels import field, fmt_distance, service_label
from safetygap.privacy import (
    DEFAULT_MIN_COUNT,
    is_sensitive,
)
from safetygap.readmodel._common import (
    BIVARIATE_COLORS,
    DISTANCE_LABELS,
    NOT_RANKED_COLOR,
    REACH_METHODS,
    STRAIGHT_LINE,
    UNKNOWN_YEAR,
    WGS84,
    UnknownArea,
    _num,
    _size_of,
    class_label,
)
from safetygap.readmodel.hexbins import Hexbins
from safetygap.readmodel.layers import AreaLayers
from safetygap.readmodel.profiles import Profiles
from safetygap.readmodel.records import GapClass, NeedAccessClass
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.vocab import LEVELS
from safetygap.workspace import Workspace


class WorkspaceView(AreaLayers, Hexbins, Profiles):
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
            frame[M.AREA_ID] = frame[M.AREA_ID].astype(str)
        self.crs = self.areas["neighborhood"].crs
        self.providers: gpd.GeoDataFrame = workspace.providers.reset_index(drop=True)
        self.indices: pd.DataFrame = workspace.indices
        self._load_calls(workspace)
        self._ids = {lv: pd.Index(f[M.AREA_ID]) for lv, f in self.areas.items()}
        self._ranks = {lv: self._rank_table(f) for lv, f in self.areas.items()}
        self._lock = threading.Lock()
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self.cache_bytes = 0
        """Estimated bytes of the cached results."""

    # ------------------------------------------------------------ loading

    def _load_calls(self, workspace: Workspace) -> None:
        cols = [C.STATUS, C.NEIGHBORHOOD_ID, C.WARD_ID, C.CATEGORY, C.FAMILY, C.YEAR,
                C.GEOMETRY]
        stored = C.stored_columns(workspace.path / C.FILE)
        # call_type: absent before calls kept their type; counted: before the call sources
        calls = workspace.calls(columns=cols + [c for c in (C.CALL_TYPE, C.COUNTED)
                                                if c in stored])
        placed = calls[calls[C.STATUS].astype(str).isin(ANALYSED_STATUSES)]
        if C.COUNTED in placed:  # calls not counted as demand are in no count
            placed = placed[placed[C.COUNTED].to_numpy(dtype=bool)]
        sensitive = is_sensitive(placed[C.CATEGORY].to_numpy(object),
                                 placed[C.CALL_TYPE].to_numpy(object)
                                 if C.CALL_TYPE in placed.columns else None)
        year = placed[C.YEAR].astype(int)
        year_key = np.where(year > 0, year.astype(str), UNKNOWN_YEAR)
        base = pd.DataFrame({
            C.CATEGORY: placed[C.CATEGORY].astype(str).to_numpy(),
            C.FAMILY: placed[C.FAMILY].astype(str).to_numpy(),
            C.YEAR: year_key,
            "sensitive": sensitive.astype(np.int64),
        })
        self.call_counts: dict[str, pd.DataFrame] = {}
        for level in LEVELS:
            ids = placed[C.AREA_ID_OF[level]]
            inside = ids.notna().to_numpy()  # each layer placed on its own
            frame = base[inside].assign(area_id=ids[inside].astype(str).to_numpy())
            self.call_counts[level] = (
                frame.groupby([M.AREA_ID, C.CATEGORY, C.FAMILY, C.YEAR])
                .agg(calls=("sensitive", "size"), sensitive=("sensitive", "sum"))
                .reset_index())
        geom = placed.geometry
        self.call_x = geom.x.to_numpy()
        self.call_y = geom.y.to_numpy()
        self.call_family = base[C.FAMILY].to_numpy()
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
        lowest_first = [field((M.split_column(c) or (c.rsplit("_", 1)[0], None))[0]).worse
                        == "lower" for c in cols]
        return pd.DataFrame({c: values[c].rank(ascending=low, method="min")
                             for c, low in zip(cols, lowest_first, strict=True)},
                            index=values.index)

    CACHE_ENTRIES = 512
    """Results kept per view; the least recently used go first."""
    CACHE_BYTES = 256_000_000
    """Estimated bytes of the results kept per view (:func:`_size_of`); the least recently
    used go first."""

    def peek(self, key: Hashable, default: Any = None) -> Any:
        """The result kept for ``key`` (counted as a use), or ``default`` when there is
        none; never computes, so it is quick enough for an event loop."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        return default

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

    @property
    def uncertain_below(self) -> float:
        """Below this share of agreeing bootstrap replicates a class is uncertain."""
        return float((self.summary.get("uncertainty") or {}).get("uncertain_below", 0.8))

    @property
    def caveats(self) -> list[dict[str, str]]:
        """What every page and answer says before the figures (uncalibrated headline
        lists, undated rates, calls left out of the counts, wards missing part of the
        city): summary.json's caveats."""
        return list(self.summary.get("caveats") or [])

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
        cols = [c for c in frame.columns if M.is_column(c)]  # not equity's group columns
        if year is None:
            return frame[cols].reset_index(drop=True)

        def compute() -> pd.DataFrame:
            sel = self.indices[(self.indices[M.LEVEL] == level)
                               & (self.indices[M.PERIOD] == str(year))]
            wide = sel.assign(column=M.columns(sel[M.MEASURE], sel[M.FAMILY])).pivot_table(
                index="area_id", columns="column", values="value", aggfunc="first",
                dropna=False)
            wide.index = wide.index.astype(str)
            wide = wide.reindex(index=frame[M.AREA_ID], columns=cols)
            return wide.reset_index(drop=True)

        return self.cached(("values", level, year), compute)

    def need_access_classes(self, level: str, family: str, *, year: int | None = None
                            ) -> list[NeedAccessClass]:
        """The need/access classes of ``family`` at ``level`` (the map's legend): every
        class 9..1 with its label, terciles, colour and number of areas, then class 0
        ("not ranked") when some area has it."""
        vals = self.values(level, year=year)
        col = M.column(M.CLASS, family)
        cls = (np.nan_to_num(vals[col].to_numpy(float)).astype(int) if col in vals.columns
               else np.zeros(len(vals), dtype=int))
        out: list[NeedAccessClass] = [
            {"class": c, "label": NEED_ACCESS_LABELS[c], "need_tercile": (c - 1) // 3 + 1,
             "access_tercile": (c - 1) % 3 + 1, "color": BIVARIATE_COLORS[c],
             "underserved": c == UNDERSERVED_CLASS, "areas": int((cls == c).sum())}
            for c in range(9, 0, -1)]
        if (cls == 0).any():
            out.append({"class": 0, "label": NOT_RANKED, "need_tercile": 0,
                        "access_tercile": 0, "color": NOT_RANKED_COLOR, "underserved": False,
                        "areas": int((cls == 0).sum())})
        return out

    def classes(self, level: str, family: str, *, year: int | None = None
                ) -> list[GapClass]:
        """Secondary: the gap-index classes of ``family`` at ``level``: class, label, lower
        and upper gap bound (min and max of its areas), number of areas; 0 = no value
        (the need/access classes: :meth:`need_access_classes`)."""
        vals = self.values(level, year=year)
        gap = vals[M.column(M.GAP, family)].to_numpy(float)
        cls = np.nan_to_num(vals[M.column(M.GAP_CLASS, family)].to_numpy(float)).astype(int)
        present = sorted(c for c in set(cls.tolist()) if c > 0)
        n = len(present)
        out: list[GapClass] = []
        for c in present:
            g = gap[cls == c]
            out.append({"gap_class": c, "label": class_label(c, n), "lower": _num(g.min()),
                        "upper": _num(g.max()), "areas": int((cls == c).sum())})
        if (cls == 0).any():
            out.append({"gap_class": 0, "label": class_label(0, n), "lower": None,
                        "upper": None, "areas": int((cls == 0).sum())})
        return out
