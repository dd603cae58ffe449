"""Calls on area boundaries: find them, and allocate them under a boundary policy.

Minneapolis neighborhood and ward lines run along street centrelines, and
calls are geocoded to those same centrelines, so many calls sit on (or within
a few metres of) the line between two areas; which side "contains" them is
down to rounding. Two policies:

``contain`` (default)
    every call counts 1 in the area containing it (the rule of
    :func:`safetygap.geo.join.assign_areas`).
``split``
    a call within ``tolerance_m`` metres of the boundary of k >= 2 areas
    counts 1/k in each of them (always including the containing area); other
    calls count 1 in their containing area. Counts become fractional; every
    call's weights sum to 1, so totals are conserved.

Boundaries are cut into straight segments indexed in an STRtree, so a
``dwithin`` query costs a few segment distances per call. Coordinates and the
tolerance are in the areas' projected CRS (metres).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from safetygap.geo.crs import require_projected, require_same_crs
from safetygap.geo.join import area_index
from safetygap.vocab import BOUNDARY_POLICIES, BoundaryPolicy


@dataclass(frozen=True)
class Allocation:
    """Calls expanded to (call, area, weight) rows under one boundary policy.

    ``call`` and ``area`` are positional indices, ``weight`` the share of the
    call counted in the area (1 under ``contain``; 1/k under ``split``);
    ``k`` per *call* is the number of areas it is shared between (0 for calls
    in no area, 1 for calls counted whole).
    """

    policy: str
    call: np.ndarray
    area: np.ndarray
    weight: np.ndarray
    k: np.ndarray


def boundary_segments(areas: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The straight segments of every area's boundary (exterior and interior rings).

    Returns (segments as shapely LineStrings, positional area index per segment).
    A line shared by two areas appears once for each.
    """
    polys = areas.geometry.values._data
    parts, part_area = shapely.get_parts(polys, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same_ring = coord_ring[1:] == coord_ring[:-1]
    start = coords[:-1][same_ring]
    end = coords[1:][same_ring]
    seg_area = part_area[ring_part[coord_ring[:-1][same_ring]]]
    nonzero = np.any(start != end, axis=1)
    segments = shapely.linestrings(np.stack([start[nonzero], end[nonzero]], axis=1))
    return segments, seg_area[nonzero].astype(np.int64)


def near_boundaries(
    x: np.ndarray,
    y: np.ndarray,
    areas: gpd.GeoDataFrame,
    *,
    tolerance_m: float,
    crs: object,
) -> tuple[np.ndarray, np.ndarray]:
    """(point index, area index) pairs, unique and sorted, for every area whose
    boundary lies within ``tolerance_m`` metres of the point.

    ``x``, ``y`` are in ``crs``, which must be the areas' projected CRS. NaN
    coordinates give no pairs; a tolerance of 0 finds points exactly on a line.
    """
    require_same_crs(crs, areas, "points", "areas")
    require_projected(areas, "areas")
    if not np.isfinite(tolerance_m) or tolerance_m < 0:
        raise ValueError(f"tolerance_m must be a finite number >= 0, got {tolerance_m!r}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    empty = np.zeros(0, dtype=np.int64)
    if len(x) == 0 or len(areas) == 0:
        return empty, empty.copy()
    # the join's grid index rules out points far from every line at array speed
    index = area_index(areas)
    ok = np.flatnonzero(index.may_be_near(x, y, float(tolerance_m)))
    if len(ok) == 0:
        return empty, empty.copy()
    tree, seg_area = _segment_tree(areas, index)
    p_idx, s_idx = tree.query(shapely.points(x[ok], y[ok]), predicate="dwithin",
                              distance=float(tolerance_m))
    n_areas = len(areas)
    key = np.unique(ok[p_idx].astype(np.int64) * n_areas + seg_area[s_idx])
    return key // n_areas, key % n_areas


_TREES: OrderedDict[int, tuple[Any, shapely.STRtree, np.ndarray]] = OrderedDict()
_trees_lock = threading.Lock()


def _segment_tree(areas: gpd.GeoDataFrame, index: Any) -> tuple[shapely.STRtree, np.ndarray]:
    """The layer's boundary segments in an STRtree, and each one's area: built once per
    layer (keyed by the layer's cached grid index, :func:`area_index`), so a caller that
    comes batch after batch (the streaming engine) does not rebuild it."""
    with _trees_lock:
        hit = _TREES.get(id(index))
        if hit is not None and hit[0] is index:
            _TREES.move_to_end(id(index))
            return hit[1], hit[2]
    segments, seg_area = boundary_segments(areas)
    tree = shapely.STRtree(segments)
    with _trees_lock:
        _TREES[id(index)] = (index, tree, seg_area)  # the index held: its id stays its own
        while len(_TREES) > 4:
            _TREES.popitem(last=False)
    return tree, seg_area


def allocate(
    assigned: np.ndarray,
    near: tuple[np.ndarray, np.ndarray],
    *,
    policy: str,
) -> Allocation:
    """Expand calls to (call, area, weight) rows under ``policy``.

    ``assigned`` is the containing area per call (-1 = none: such calls are
    not counted under either policy); ``near`` the (call, area) pairs of
    :func:`near_boundaries`. Under ``split`` a call's areas are its containing
    area plus every area in ``near`` for it, each with weight 1/k.
    """
    if policy not in BOUNDARY_POLICIES:
        raise ValueError(f"boundary policy must be one of {BOUNDARY_POLICIES}, got {policy!r}")
    assigned = np.asarray(assigned, dtype=np.int64)
    n = len(assigned)
    placed = np.flatnonzero(assigned >= 0)
    k = np.zeros(n, dtype=np.int64)
    if policy == BoundaryPolicy.CONTAIN:
        k[placed] = 1
        return Allocation(policy, placed, assigned[placed], np.ones(len(placed)), k)
    n_areas = int(max(assigned.max(initial=-1), np.max(near[1], initial=-1))) + 1
    if len(placed) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Allocation(policy, empty, empty.copy(), np.zeros(0), k)
    p_call, p_area = (np.asarray(a, dtype=np.int64) for a in near)
    # calls in no area stay uncounted; a pair repeating the containing area adds nothing
    extra = (assigned[p_call] >= 0) & (assigned[p_call] != p_area)
    # the placed calls' keys are distinct already: deduplicate only the few extra pairs
    # (np.unique over every call would dominate the run time for millions of calls)
    key = np.sort(np.concatenate([
        placed * n_areas + assigned[placed],
        np.unique(p_call[extra] * n_areas + p_area[extra]),
    ]), kind="stable")  # two sorted runs: a merge (timsort), not a full sort
    call = key // n_areas
    area = key % n_areas
    k = np.bincount(call, minlength=n).astype(np.int64)
    weight = 1.0 / k[call]
    return Allocation(policy, call, area, weight, k)
