"""Demand points: where each area's residents are placed for accessibility and reach.

An area's accessibility is only as good as the places its residents are assumed to
live. Two models (:class:`safetygap.vocab.DemandModel`):

``grid`` (default)
    A regular grid of ``cell_m`` squares (default 200 m) anchored at multiples of
    ``cell_m`` in the analysis CRS, cut by each area's polygon. Every non-empty piece
    (cell ∩ area) is one demand point at the piece's centroid (its
    ``point_on_surface`` when the centroid falls outside a ring-shaped piece). The
    area's population is shared among its pieces by land area, or, with a
    ``density`` layer, by that layer (dasymetric): census blocks or address points
    carrying a population (or unit) column, or building footprints / residential
    land-use polygons whose area inside a piece weighs it. Pieces of an area no
    feature of the layer reaches fall back to land area.
``centroid``
    One point per area at its polygon centroid carrying all its residents (the
    method of earlier versions, kept by name).

Per-area figures are population-weighted over the points (:func:`area_mean`,
:func:`area_share`). Calls are located at the demand point of their area's piece
(:meth:`DemandPoints.locate`), which the need-based accessibility uses.

Everything is in the projected analysis CRS (metres).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from safetygap.errors import Problems
from safetygap.geo.crs import require_projected
from safetygap.vocab import DemandModel, allowed

DEFAULT_CELL_M = 200.0
"""Side of the demand grid's cells, metres."""
MIN_PIECE_M2 = 1e-3
"""Pieces of a cell smaller than this (m², rounding slivers along area lines) are dropped."""


@dataclass(frozen=True)
class DemandPoints:
    """Demand points of a layer of areas (arrays of one length, analysis CRS).

    ``area`` is the positional index of the point's area; ``residents`` its share of the
    area's population (NaN-population areas give 0); ``land_m2`` the piece's land area;
    ``cell`` the grid cell key (``iy * nx + ix``; -1 for centroid points).
    """

    model: str
    x: np.ndarray
    y: np.ndarray
    area: np.ndarray
    residents: np.ndarray
    land_m2: np.ndarray
    cell: np.ndarray
    n_areas: int
    cell_m: float | None = None
    origin: tuple[float, float] = (0.0, 0.0)
    nx: int = 0
    ny: int = 0
    zone: np.ndarray | None = None
    """The zone (e.g. ward) of each point when the pieces were split by a second layer
    (-1: in no zone); None when they were not."""
    n_zones: int = 0

    def __len__(self) -> int:
        return len(self.x)

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Grid cell key of each point (-1 for NaN points, or for the centroid model)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out = np.full(len(x), -1, dtype=np.int64)
        if self.cell_m is None:
            return out
        ok = np.isfinite(x) & np.isfinite(y)
        ix = np.floor((x[ok] - self.origin[0]) / self.cell_m).astype(np.int64)
        iy = np.floor((y[ok] - self.origin[1]) / self.cell_m).astype(np.int64)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        key = np.where(inside, iy * self.nx + ix, -1)
        out[ok] = key
        return out

    def locate(self, x: np.ndarray, y: np.ndarray, area: np.ndarray,
               zone: np.ndarray | None = None) -> np.ndarray:
        """Index of the demand point of each point (``x``, ``y`` in area ``area`` and, when
        the pieces were split by zones, in zone ``zone``); -1 for points in no area. A
        point whose piece was dropped (a sliver) goes to the nearest demand point of its
        area."""
        area = np.asarray(area, dtype=np.int64)
        out = np.full(len(area), -1, dtype=np.int64)
        placed = area >= 0
        if self.model == DemandModel.CENTROID:
            out[placed] = area[placed]
            return out
        n_cells = max(self.nx * self.ny, 1)
        keys = self.area * n_cells + self.cell
        split = self.zone is not None and zone is not None
        if split:
            keys = keys * (self.n_zones + 1) + (self.zone + 1)  # type: ignore[operator]
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        cells = self.cell_of(np.asarray(x)[placed], np.asarray(y)[placed])
        want = area[placed] * n_cells + cells
        if split:
            want = want * (self.n_zones + 1) + (np.asarray(zone, dtype=np.int64)[placed] + 1)
        pos = np.clip(np.searchsorted(sorted_keys, want), 0, max(len(sorted_keys) - 1, 0))
        hit = (len(sorted_keys) > 0) & (sorted_keys[pos] == want) & (cells >= 0)
        found = np.where(hit, order[pos], -1)
        miss = np.flatnonzero(~hit)
        if len(miss):
            px = np.asarray(x, dtype=float)[placed][miss]
            py = np.asarray(y, dtype=float)[placed][miss]
            pa = area[placed][miss]
            for a in np.unique(pa):
                mine = np.flatnonzero(self.area == a)
                sel = pa == a
                if not len(mine):
                    continue
                pts = np.column_stack([np.nan_to_num(px[sel]), np.nan_to_num(py[sel])])
                _, j = cKDTree(np.column_stack([self.x[mine], self.y[mine]])).query(pts)
                found[miss[sel]] = mine[j]
        out[placed] = found
        return out


def check_demand_model(model: str) -> DemandModel:
    """``model`` as a :class:`DemandModel`; a ValidationError naming the allowed ones."""
    try:
        return DemandModel(model)
    except ValueError:
        problems = Problems()
        problems.add("demand", "unknown demand model", value=model, allowed=allowed(DemandModel))
        problems.raise_if_any()
        raise  # pragma: no cover


def demand_points(
    areas: gpd.GeoDataFrame,
    population: np.ndarray,
    *,
    model: str = DemandModel.GRID,
    cell_m: float = DEFAULT_CELL_M,
    density: gpd.GeoDataFrame | None = None,
    density_column: str | None = None,
    zones: gpd.GeoDataFrame | None = None,
) -> DemandPoints:
    """Demand points of ``areas`` (projected CRS) carrying ``population`` (per area, NaN =
    unknown: 0 residents). See the module docstring for the models; ``density`` (points
    or polygons, same CRS) with its weight column ``density_column`` (None: point count
    or polygon area) spreads residents dasymetrically (grid model only). ``zones`` (e.g.
    the wards) splits every piece along their lines too, so each point lies in one zone
    (:attr:`DemandPoints.zone`) and a zone's residents are exactly its areas' residents
    shared by land area (grid model only).
    """
    require_projected(areas, "areas")
    kind = check_demand_model(model)
    pop = np.nan_to_num(np.asarray(population, dtype=float))
    if len(pop) != len(areas):
        raise ValueError(f"population has {len(pop)} values for {len(areas)} areas")
    if kind is DemandModel.CENTROID:
        cent = areas.geometry.centroid
        n = len(areas)
        return DemandPoints(str(kind), cent.x.to_numpy(), cent.y.to_numpy(),
                            np.arange(n, dtype=np.int64), pop,
                            areas.geometry.area.to_numpy(), np.full(n, -1, np.int64), n)
    if not (np.isfinite(cell_m) and cell_m > 0):
        problems = Problems()
        problems.add("demand_cell_m", "must be a positive number of metres", value=cell_m)
        problems.raise_if_any()
    geoms = areas.geometry.to_numpy()
    minx, miny, maxx, maxy = areas.total_bounds
    x0 = np.floor(minx / cell_m) * cell_m
    y0 = np.floor(miny / cell_m) * cell_m
    nx = max(int(np.ceil((maxx - x0) / cell_m)), 1)
    ny = max(int(np.ceil((maxy - y0) / cell_m)), 1)
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
    ix, iy = ix.ravel(), iy.ravel()
    boxes = shapely.box(x0 + ix * cell_m, y0 + iy * cell_m,
                        x0 + (ix + 1) * cell_m, y0 + (iy + 1) * cell_m)
    box_i, area_i = shapely.STRtree(geoms).query(boxes, predicate="intersects")
    pieces = shapely.intersection(boxes[box_i], geoms[area_i])
    land = shapely.area(pieces)
    keep = land > MIN_PIECE_M2
    box_i, area_i, pieces, land = box_i[keep], area_i[keep], pieces[keep], land[keep]
    zone_i = None
    if zones is not None:
        box_i, area_i, pieces, zone_i = _split(box_i, area_i, pieces, zones)
        land = shapely.area(pieces)
    order = np.lexsort((box_i, area_i) if zone_i is None else (zone_i, box_i, area_i))
    box_i, area_i, pieces, land = box_i[order], area_i[order], pieces[order], land[order]
    if zone_i is not None:
        zone_i = zone_i[order]
    pts = shapely.centroid(pieces)
    outside = ~shapely.covers(pieces, pts)
    if outside.any():
        pts[outside] = shapely.point_on_surface(pieces[outside])
    weight = land
    if density is not None:
        weight = _density_weights(pieces, area_i, density, density_column, len(areas), land)
    total = np.bincount(area_i, weights=weight, minlength=len(areas))
    share = np.divide(weight, total[area_i], out=np.zeros(len(weight)),
                      where=total[area_i] > 0)
    cell = (iy[box_i] * nx + ix[box_i]).astype(np.int64)
    return DemandPoints(str(kind), shapely.get_x(pts), shapely.get_y(pts),
                        area_i.astype(np.int64), pop[area_i] * share, land, cell,
                        len(areas), float(cell_m), (float(x0), float(y0)), nx, ny,
                        zone_i, 0 if zones is None else len(zones))


def _split(box_i: np.ndarray, area_i: np.ndarray, pieces: np.ndarray,
           zones: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pieces cut by the zones' polygons: (cell, area, piece, zone) of every part; a part in
    no zone gets zone -1; parts under :data:`MIN_PIECE_M2` are dropped."""
    zg = zones.geometry.to_numpy()
    src, dst = shapely.STRtree(zg).query(pieces, predicate="intersects")
    parts = shapely.intersection(pieces[src], zg[dst])
    covered = np.bincount(src, weights=shapely.area(parts), minlength=len(pieces))
    rest_i = np.flatnonzero(shapely.area(pieces) - covered > MIN_PIECE_M2)
    rest = np.array([shapely.difference(pieces[i], shapely.union_all(zg[dst[src == i]]))
                     for i in rest_i], dtype=object)
    src = np.concatenate([src, rest_i]).astype(np.int64)
    zone = np.concatenate([dst, np.full(len(rest_i), -1)]).astype(np.int64)
    parts = np.concatenate([parts, rest]) if len(rest) else parts
    keep = shapely.area(parts) > MIN_PIECE_M2
    src, zone, parts = src[keep], zone[keep], parts[keep]
    return box_i[src], area_i[src], parts, zone


def _density_weights(pieces: np.ndarray, area_i: np.ndarray, density: gpd.GeoDataFrame,
                     column: str | None, n_areas: int, land: np.ndarray) -> np.ndarray:
    """Weight of each piece from the density layer; areas the layer misses: land area."""
    geoms = density.geometry.to_numpy()
    vals = (np.ones(len(geoms)) if column is None
            else np.nan_to_num(density[column].to_numpy(dtype=float)))
    is_point = shapely.get_type_id(geoms) == 0
    weight = np.zeros(len(pieces))
    tree = shapely.STRtree(pieces)
    if is_point.any():
        g = np.flatnonzero(is_point)
        src, dst = tree.query(geoms[g], predicate="intersects")
        first = np.full(len(g), len(pieces))
        np.minimum.at(first, src, dst)  # a point on a line between pieces: the first piece
        ok = first < len(pieces)
        np.add.at(weight, first[ok], vals[g][ok])
    if (~is_point).any():
        g = np.flatnonzero(~is_point)
        src, dst = tree.query(geoms[g], predicate="intersects")
        inter = shapely.area(shapely.intersection(geoms[g][src], pieces[dst]))
        if column is None:  # footprints / land use: the area inside the piece
            contrib = inter
        else:  # a population per polygon: shared by the polygon's area inside each piece
            full = shapely.area(geoms[g][src])
            contrib = np.divide(inter * vals[g][src], full, out=np.zeros(len(inter)),
                                where=full > 0)
        np.add.at(weight, dst, contrib)
    per_area = np.bincount(area_i, weights=weight, minlength=n_areas)
    missing = per_area[area_i] <= 0
    return np.where(missing, land, weight)


def area_sum(values: np.ndarray, points: DemandPoints) -> np.ndarray:
    """Sum of ``values`` (one per point) per area."""
    return np.bincount(points.area, weights=np.asarray(values, dtype=float),
                       minlength=points.n_areas)


def area_mean(values: np.ndarray, points: DemandPoints,
              weights: np.ndarray | None = None) -> np.ndarray:
    """Mean of ``values`` per area weighted by ``weights`` (default: residents); NaN for an
    area whose weights sum to 0."""
    w = points.residents if weights is None else np.asarray(weights, dtype=float)
    num = area_sum(np.asarray(values, dtype=float) * w, points)
    den = area_sum(w, points)
    return np.divide(num, den, out=np.full(points.n_areas, np.nan), where=den > 0)


def area_share(mask: np.ndarray, points: DemandPoints) -> np.ndarray:
    """Share of each area's residents living at points where ``mask`` is True; NaN for an
    area without residents."""
    return area_mean(np.asarray(mask, dtype=float), points)


def points_frame(points: DemandPoints, areas: gpd.GeoDataFrame,
                 zones: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The demand points as a point layer (area id, zone id when split by ``zones``,
    residents, land m²) in ``areas``' CRS."""
    cols: dict[str, np.ndarray] = {"area_id": areas["area_id"].to_numpy()[points.area]}
    if zones is not None and points.zone is not None:
        ids = np.append(zones["area_id"].to_numpy().astype(object), None)
        cols["ward_id"] = ids[np.where(points.zone >= 0, points.zone, len(zones))]
    cols["residents"] = points.residents
    cols["land_m2"] = points.land_m2
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(points.x, points.y),
                            crs=areas.crs)
