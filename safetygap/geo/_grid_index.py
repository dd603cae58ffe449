"""A raster index over a polygon layer for fast, exact point-in-polygon assignment.

The layer's bounding box is cut into square cells of side ``cell`` (CRS units).
Every cell that a polygon boundary passes through, or comes within a small
margin of, is *mixed*; every other cell is *pure*: no boundary crosses it, so
all of it lies in the same set of area interiors. Pure cells that share an
edge are in the same state (the segment between their centres crosses no
boundary), so the pure cells are grouped into 4-connected components and one
exact point-in-polygon test on one cell centre per component labels the whole
component with the area index the boundary rule gives (or -1).

A point is then assigned by one array lookup when its cell is pure. Points in
mixed cells go to the exact path (GEOS predicates on prepared polygons via an
STRtree); points off the grid, which covers the layer's closed bounding box,
are in no area. Points on a cell edge, or put in a neighbouring cell by the
rounding of their cell index, need no special case (see below), so the answers
are exactly those of the exact method.

Why a pure cell is safe: boundaries are sampled every ``cell / 4`` along each
segment and every cell overlapping the box of half-width ``cell / 8 + eps``
around a sample is marked mixed. Any boundary point lies within ``cell / 8``
of a sample, so any cell the boundary touches or comes within ``eps`` of is
marked. A query point whose computed cell is a pure cell lies within rounding
error (far below ``eps``) of that cell, so the straight line from it to the
cell centre crosses no boundary and it has the centre's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy import ndimage

MIXED = -2
MIN_CELLS = 4_096
MAX_CELLS = 1 << 23  # 8.4 million cells: 34 MB of int32 labels
SAMPLES_PER_CELL = 4
EPS_CELLS = 1e-6  # safety margin around each cell, as a fraction of the cell side


def exact_assign(
    x: np.ndarray, y: np.ndarray, polys: np.ndarray, tree: shapely.STRtree
) -> np.ndarray:
    """The boundary rule by GEOS predicates: interior wins, then lowest covering index.

    ``polys`` should be prepared (:func:`shapely.prepare`) for speed; ``x``, ``y``
    must be finite.
    """
    out = np.full(len(x), -1, dtype=np.int64)
    if len(x) == 0 or len(polys) == 0:
        return out
    # bounding-box candidates, then prepared-polygon predicates on the pairs
    p_idx, a_idx = tree.query(shapely.points(x, y))
    covers = shapely.intersects_xy(polys[a_idx], x[p_idx], y[p_idx])
    p_idx, a_idx = p_idx[covers], a_idx[covers]
    if len(p_idx) == 0:
        return out
    inside = shapely.contains_xy(polys[a_idx], x[p_idx], y[p_idx])
    # sort key: point, then interior hits before boundary hits, then area index
    order = np.lexsort((a_idx, ~inside, p_idx))
    p_sorted = p_idx[order]
    first = np.ones(len(p_sorted), dtype=bool)
    first[1:] = p_sorted[1:] != p_sorted[:-1]
    out[p_sorted[first]] = a_idx[order][first]
    return out


def _segments(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points (n, 2) of every boundary segment of every ring."""
    parts = shapely.get_parts(polys[~shapely.is_missing(polys)])
    rings = shapely.get_rings(parts)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    return coords[:-1][same], coords[1:][same]


@dataclass
class GridIndex:
    """Pure-cell labels over a layer's bounding box plus the exact fallback.

    ``labels[iy, ix]`` is the area index of a pure cell (-1: no area) or
    :data:`MIXED`. Coordinates are in the layer's CRS.
    """

    polys: np.ndarray
    tree: shapely.STRtree
    bounds: tuple[float, float, float, float]
    x0: float
    y0: float
    cell: float
    labels: np.ndarray
    _near_masks: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, polys: np.ndarray, *, resolution: int | None = None) -> GridIndex:
        """Index the (prepared) polygons ``polys``.

        ``resolution`` is the number of cells along the longer side of the
        bounding box; by default it is chosen from the boundary length so that
        roughly 1 % of the box is in mixed cells, between 4,096 and 8.4 million
        cells in all.
        """
        tree = shapely.STRtree(polys)
        present = polys[~(shapely.is_missing(polys) | shapely.is_empty(polys))]
        if len(present) == 0:
            return cls(polys, tree, (0.0, 0.0, 0.0, 0.0), 0.0, 0.0, 1.0,
                       np.full((0, 0), -1, dtype=np.int32))
        xmin, ymin, xmax, ymax = (float(v) for v in shapely.total_bounds(present))
        width, height = xmax - xmin, ymax - ymin
        start, end = _segments(present)
        if not (width > 0 and height > 0) or len(start) == 0:
            return cls(polys, tree, (xmin, ymin, xmax, ymax), xmin, ymin, 1.0,
                       np.full((0, 0), -1, dtype=np.int32))
        cell = _cell_size(width, height, start, end, resolution)
        # keep the cell far above coordinate rounding (see _mark_boundary_cells)
        cell = max(cell, 1e4 * float(np.spacing(max(abs(xmin), abs(xmax), abs(ymin),
                                                     abs(ymax), 1.0))))
        nx = int(np.ceil(width / cell)) + 1
        ny = int(np.ceil(height / cell)) + 1
        mixed = _mark_boundary_cells(start, end, xmin, ymin, cell, nx, ny)
        pure = ~mixed
        comp, n_comp = ndimage.label(pure)  # 4-connectivity
        labels = np.full((ny, nx), MIXED, dtype=np.int32)
        if n_comp:
            # one cell centre per component, tested exactly
            flat = comp.ravel()
            cells = np.flatnonzero(flat)
            member = np.zeros(n_comp + 1, dtype=np.int64)
            member[flat[cells]] = cells  # some cell of each component (any will do)
            rep = member[1:]
            cx = xmin + (rep % nx + 0.5) * cell
            cy = ymin + (rep // nx + 0.5) * cell
            comp_label = exact_assign(cx, cy, polys, tree).astype(np.int32)
            labels[pure] = comp_label[comp[pure] - 1]
        return cls(polys, tree, (xmin, ymin, xmax, ymax), xmin, ymin, cell, labels)

    @property
    def mixed_share(self) -> float:
        """Share of the grid's cells that need the exact test."""
        return float((self.labels == MIXED).mean()) if self.labels.size else 1.0

    def assign(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Area index (int64) for each point, -1 for none; NaN coordinates give -1."""
        n = len(x)
        if n == 0 or len(self.polys) == 0:
            return np.full(n, -1, dtype=np.int64)
        ny, nx = self.labels.shape
        if nx == 0:  # degenerate layer: everything exact
            out = np.full(n, -1, dtype=np.int64)
            ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
            out[ok] = exact_assign(x[ok], y[ok], self.polys, self.tree)
            return out
        inv = 1.0 / self.cell
        fx = x - self.x0
        fx *= inv
        fy = y - self.y0
        fy *= inv
        # the grid covers the closed bounding box, so a point off the grid is in no
        # area's closure (x - x0 < 0 exactly when x < x0); NaN compares False
        valid = (fx >= 0) & (fx < nx) & (fy >= 0) & (fy < ny)
        all_valid = bool(valid.all())
        if not all_valid:
            fx[~valid] = 0.0
            fy[~valid] = 0.0
        itype = np.int32 if nx * ny < 2**31 else np.int64
        flat = fy.astype(itype)  # fx, fy >= 0 here: truncation is floor
        flat *= nx
        flat += fx.astype(itype)
        lab = self._flat.take(flat)
        if not all_valid:
            lab[~valid] = -1
        slow = np.flatnonzero(lab == MIXED)
        out = lab.astype(np.int64)
        out[slow] = exact_assign(x[slow], y[slow], self.polys, self.tree)
        return out

    @property
    def _flat(self) -> np.ndarray:
        return self.labels.reshape(-1)

    def may_be_near(self, x: np.ndarray, y: np.ndarray, distance: float) -> np.ndarray:
        """False only for points certainly farther than ``distance`` from every boundary.

        A cell that is ``k`` cells (in x and in y) from every mixed cell has no
        boundary within ``k * cell`` of it, because boundaries lie only in mixed
        cells. Points off the grid are candidates when within ``distance`` of
        the bounding box. NaN coordinates give False.
        """
        out = np.isfinite(x) & np.isfinite(y)
        ny, nx = self.labels.shape
        if nx == 0 or not out.any():
            return out
        reach = int(np.ceil(distance / self.cell)) + 1
        mask = self._near_masks.get(reach)
        if mask is None:
            mask = ndimage.binary_dilation(self.labels == MIXED,
                                           structure=np.ones((3, 3), bool), iterations=reach)
            self._near_masks[reach] = mask
        fx = (x - self.x0) / self.cell
        fy = (y - self.y0) / self.cell
        on = out & (fx >= 0) & (fx < nx) & (fy >= 0) & (fy < ny)
        xmin, ymin, xmax, ymax = self.bounds
        off = out & ~on
        out[off] = ((x[off] >= xmin - distance) & (x[off] <= xmax + distance)
                    & (y[off] >= ymin - distance) & (y[off] <= ymax + distance))
        out[on] = mask[fy[on].astype(np.int64), fx[on].astype(np.int64)]
        return out


def _cell_size(
    width: float, height: float, start: np.ndarray, end: np.ndarray, resolution: int | None
) -> float:
    if resolution is not None:
        if resolution < 1:
            raise ValueError(f"resolution must be >= 1 cell, got {resolution}")
        return max(width, height) / resolution
    length = float(np.hypot(*(end - start).T).sum())
    area = width * height
    # boundary cells ~ 1.3 * length / cell; aim for ~1 % of the n = area / cell**2 cells
    n_cells = float(np.clip(17_000.0 * length**2 / area, MIN_CELLS, MAX_CELLS))
    return float(np.sqrt(area / n_cells))


def _mark_boundary_cells(
    start: np.ndarray, end: np.ndarray, x0: float, y0: float, cell: float, nx: int, ny: int
) -> np.ndarray:
    """Boolean (ny, nx) mask of cells within ``eps`` of any boundary segment."""
    step = cell / SAMPLES_PER_CELL
    vec = end - start
    length = np.hypot(vec[:, 0], vec[:, 1])
    n_steps = np.maximum(np.ceil(length / step).astype(np.int64), 1)
    mask = np.zeros((ny, nx), dtype=bool)
    # margin: far above the rounding error of cell indices and of sample coordinates
    ulp = float(np.spacing(max(abs(x0), abs(y0), float(np.abs(start).max()), 1.0)))
    radius = step / 2 + max(cell * EPS_CELLS, 1024 * ulp)
    # sample segment by segment in chunks so memory stays bounded for long boundaries
    bounds = np.concatenate([[0], np.cumsum(n_steps + 1)])
    chunk = 2_000_000
    i = 0
    while i < len(start):
        j = int(np.searchsorted(bounds, bounds[i] + chunk, side="right")) - 1
        j = max(j, i + 1)
        seg = np.repeat(np.arange(i, j), n_steps[i:j] + 1)
        k = np.arange(len(seg)) - np.repeat(bounds[i:j] - bounds[i], n_steps[i:j] + 1)
        t = k / n_steps[seg]
        sx = start[seg, 0] + t * vec[seg, 0]
        sy = start[seg, 1] + t * vec[seg, 1]
        lo_x = np.floor((sx - radius - x0) / cell).astype(np.int64)
        hi_x = np.floor((sx + radius - x0) / cell).astype(np.int64)
        lo_y = np.floor((sy - radius - y0) / cell).astype(np.int64)
        hi_y = np.floor((sy + radius - y0) / cell).astype(np.int64)
        for cx in (lo_x, hi_x):
            for cy in (lo_y, hi_y):
                mask[np.clip(cy, 0, ny - 1), np.clip(cx, 0, nx - 1)] = True
        i = j
    return mask
