"""Siting new services: the maximal covering location problem (MCLP), solved greedily.

Given candidate sites, demand points with weights (need calls not yet
covered by an existing provider) and a catchment, choose ``k`` sites that
together cover the most demand weight (Church & ReVelle 1974). Existing
providers stay fixed: the demand they cover is simply left out.

The coverage matrix (candidates x demand, True where the demand point lies
within the catchment of the candidate) comes from
:func:`coverage_matrix` for either distance model. :func:`greedy_max_cover`
picks sites one at a time by marginal gain with lazy evaluation (CELF,
Leskovec et al. 2007): a candidate's gain can only fall as sites are added,
so a stale gain in the priority queue is an upper bound and only the top of
the queue needs recomputing. Greedy alone covers at least 1 - 1/e of the
optimum in theory and 90-95 % on some small test instances, so
:func:`max_cover` follows it with vertex-substitution swaps
(:func:`improve_by_swaps`); ``tests/test_siting.py`` checks the result
against the exact spopt MCLP optimum (>= 95 %).

:func:`catchment_area` draws what one site covers, in the network's CRS: a
circle of the radius straight-line; on a network, the exact set of points the
site reaches within the catchment (see :func:`reachable_area`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from safetygap.geo.network import (
    CONNECTOR_M_PER_MIN,
    StreetNetwork,
    connector_minutes,
    node_times,
    snap,
)

XY = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Pick:
    """One chosen site: candidate index, marginal demand weight, demand indices it adds."""

    candidate: int
    gain: float
    newly_covered: np.ndarray


BYTES_PER_PAIR = 5
"""Bytes of one (candidate, demand point) pair in a boolean CSR matrix with 32-bit
column indices."""
CHUNK_PAIRS = 2_000_000
"""Pairs queried at once while building a straight-line coverage matrix (the k-d tree
answers in Python lists, about 40 bytes a pair, so a chunk stays near 80 MB)."""


class CoverageTooLarge(ValueError):
    """The coverage matrix would hold more than ``max_pairs`` pairs."""

    def __init__(self, pairs: int, max_pairs: int, *, exact: bool):
        self.pairs = int(pairs)
        self.max_pairs = int(max_pairs)
        self.exact = exact
        what = "" if exact else "at least "
        super().__init__(f"the coverage matrix would hold {what}{self.pairs:,} "
                         f"(candidate, call) pairs, more than the {self.max_pairs:,} allowed")


def coverage_matrix_straight(candidates: XY, demand: XY, *, radius_m: float,
                             max_pairs: int | None = None,
                             chunk_pairs: int = CHUNK_PAIRS) -> sp.csr_matrix:
    """(n_candidates, n_demand) True where the straight-line distance <= ``radius_m``.

    Built in chunks of about ``chunk_pairs`` pairs (the pairs of each candidate are
    counted first, which costs no memory); raises :class:`CoverageTooLarge` before
    building anything when there are more than ``max_pairs``.
    """
    cx, cy = (np.asarray(a, dtype=float) for a in candidates)
    dx, dy = (np.asarray(a, dtype=float) for a in demand)
    n_c, n_d = len(cx), len(dx)
    ok = np.isfinite(dx) & np.isfinite(dy)
    if n_c == 0 or not ok.any():
        return sp.csr_matrix((n_c, n_d), dtype=bool)
    keep = np.flatnonzero(ok).astype(np.int32)
    tree = cKDTree(np.column_stack([dx[keep], dy[keep]]))
    pts = np.column_stack([cx, cy])
    r = radius_m * (1 + 1e-12)
    lengths = np.asarray(tree.query_ball_point(pts, r=r, return_length=True), dtype=np.int64)
    total = int(lengths.sum())
    if max_pairs is not None and total > max_pairs:
        raise CoverageTooLarge(total, max_pairs, exact=True)
    indices = np.empty(total, dtype=np.int32)
    ends = np.cumsum(lengths)
    first, pos = 0, 0
    while first < n_c:
        # the candidates from ``first`` whose pairs fit in one chunk (at least one)
        last = max(int(np.searchsorted(ends, ends[first] - lengths[first] + chunk_pairs,
                                       side="right")), first + 1)
        for hits in tree.query_ball_point(pts[first:last], r=r):
            indices[pos:pos + len(hits)] = keep[np.asarray(hits, dtype=np.int64)]
            pos += len(hits)
        first = last
    indptr = np.r_[0, ends]
    m = sp.csr_matrix((np.ones(total, dtype=bool), indices, indptr), shape=(n_c, n_d))
    m.sort_indices()
    return m


def coverage_matrix_network(
    net: StreetNetwork,
    candidates: XY,
    demand: XY,
    *,
    mode: str,
    catchment_min: float,
    batch: int = 256,
    max_pairs: int | None = None,
    max_batch_bytes: int | None = None,
) -> sp.csr_matrix:
    """(n_candidates, n_demand) True where travel time (connectors included) <= catchment.

    Candidates are processed in batches: one Dijkstra per candidate node with
    the catchment as cutoff; each node reached is then expanded to the demand
    points snapped to it (sparse: only reached nodes that hold demand). A batch's dense
    travel times take at most ``max_batch_bytes`` (the batch shrinks to fit); past
    ``max_pairs`` pairs :class:`CoverageTooLarge` is raised while building.
    """
    c_node, c_dist = snap(net, *candidates, mode=mode)
    d_node, d_dist = snap(net, *demand, mode=mode)
    c_conn = connector_minutes(c_dist)
    d_conn = connector_minutes(d_dist)
    n_c, n_d = len(c_node), len(d_node)
    # demand grouped by node: order[start[n]:start[n] + count[n]] are node n's points
    ok = np.flatnonzero(d_node >= 0)
    order = ok[np.argsort(d_node[ok], kind="stable")]
    count = np.bincount(d_node[ok], minlength=net.n_nodes)
    start = np.r_[0, np.cumsum(count)[:-1]]
    held = np.flatnonzero(count > 0)
    matrix = net.graph(mode).matrix
    # the CSR arrays are built batch by batch (candidates in increasing order) with
    # 32-bit column indices: about 5 bytes per covered pair, no COO copy
    counts = np.zeros(n_c, dtype=np.int64)
    chunks: list[np.ndarray] = []
    valid = np.flatnonzero(c_node >= 0)
    if max_batch_bytes is not None:  # t: batch x nodes, then batch x held, float64
        batch = max(1, min(batch, max_batch_bytes // (8 * (net.n_nodes + len(held)))))
    built = 0
    for first in range(0, len(valid), batch):
        idx = valid[first:first + batch]
        uniq, inv = np.unique(c_node[idx], return_inverse=True)
        t = dijkstra(matrix, directed=True, indices=uniq, limit=catchment_min)[inv][:, held]
        t += c_conn[idx][:, None]
        r, h = np.nonzero(t <= catchment_min)
        if len(r) == 0:
            continue
        node = held[h]
        reps = count[node]
        pair = np.repeat(np.arange(len(r)), reps)
        within = np.arange(len(pair)) - np.repeat(np.cumsum(reps) - reps, reps)
        point = order[start[node][pair] + within]
        hit = t[r[pair], h[pair]] + d_conn[point] <= catchment_min
        cand = idx[r[pair][hit]]  # non-decreasing: np.nonzero walks t row by row
        chunks.append(point[hit].astype(np.int32))
        counts += np.bincount(cand, minlength=n_c)
        built += len(chunks[-1])
        if max_pairs is not None and built > max_pairs:
            raise CoverageTooLarge(built, max_pairs, exact=False)
    indices = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int32)
    indptr = np.r_[0, np.cumsum(counts)]
    m = sp.csr_matrix((np.ones(len(indices), dtype=bool), indices, indptr), shape=(n_c, n_d))
    m.sort_indices()  # in place, row by row
    return m


def greedy_max_cover(
    cover: sp.csr_matrix,
    weights: np.ndarray,
    k: int,
    *,
    covered: np.ndarray | None = None,
) -> list[Pick]:
    """Choose up to ``k`` rows of ``cover`` maximising the weight of newly covered columns.

    ``covered`` marks demand already covered (by existing providers), which
    earns nothing. Stops early when no candidate adds anything. Ties go to
    the lower candidate index. Lazy evaluation: each queue entry carries the
    round its gain was computed in; only a stale top entry is recomputed.
    """
    cover = sp.csr_matrix(cover, dtype=bool)
    w = np.asarray(weights, dtype=float)
    done = np.zeros(cover.shape[1], dtype=bool) if covered is None else \
        np.asarray(covered, dtype=bool).copy()
    indptr, indices = cover.indptr, cover.indices

    def gain_of(c: int) -> float:
        cols = indices[indptr[c]:indptr[c + 1]]
        return float(w[cols[~done[cols]]].sum())

    heap = [(-g, c, 0) for c, g in enumerate(cover @ np.where(done, 0.0, w))]
    heapq.heapify(heap)
    picks: list[Pick] = []
    rnd = 0
    while heap and len(picks) < k:
        neg, c, when = heapq.heappop(heap)
        if when != rnd:  # stale: recompute and put back
            heapq.heappush(heap, (-gain_of(c), c, rnd))
            continue
        if -neg <= 0:
            break
        cols = indices[indptr[c]:indptr[c + 1]]
        new = cols[~done[cols]]
        done[new] = True
        picks.append(Pick(candidate=int(c), gain=-neg, newly_covered=new))
        rnd += 1
    return picks


def improve_by_swaps(
    cover: sp.csr_matrix,
    weights: np.ndarray,
    chosen: list[int],
    *,
    covered: np.ndarray | None = None,
    max_rounds: int = 50,
) -> list[int]:
    """Vertex-substitution local search (Teitz & Bart 1968) on a set of chosen sites.

    Each round finds, for every chosen site, the best candidate to put in its
    place (one sparse mat-vec per chosen site) and makes the single best
    swap that raises the covered weight; it stops when none does.
    """
    cover = sp.csr_matrix(cover, dtype=bool)
    w = np.asarray(weights, dtype=float)
    base = np.zeros(cover.shape[1], dtype=bool) if covered is None else \
        np.asarray(covered, dtype=bool)
    chosen = list(chosen)
    cover_f = cover.astype(float)
    for _ in range(max_rounds):
        if not chosen:
            break
        times = np.asarray(cover_f[chosen].sum(axis=0)).ravel()
        free = ~base & (times == 0)
        best = (0.0, -1, -1)
        in_set = np.zeros(cover.shape[0], dtype=bool)
        in_set[chosen] = True
        for pos, s in enumerate(chosen):
            row = cover.indices[cover.indptr[s]:cover.indptr[s + 1]]
            only_s = np.zeros(cover.shape[1], dtype=bool)
            only_s[row] = ~base[row] & (times[row] == 1)
            loss = float(w[only_s].sum())
            gains = cover_f @ np.where(free | only_s, w, 0.0)
            gains[in_set] = -np.inf
            c = int(np.argmax(gains))
            delta = float(gains[c]) - loss
            if delta > best[0] + 1e-9:
                best = (delta, pos, c)
        if best[1] < 0:
            break
        chosen[best[1]] = best[2]
    return chosen


def max_cover(
    cover: sp.csr_matrix,
    weights: np.ndarray,
    k: int,
    *,
    covered: np.ndarray | None = None,
) -> list[Pick]:
    """Greedy (lazy) start, improved by swaps, ranked by marginal gain.

    The returned picks are the final sites in greedy order over that set, so
    each pick's ``gain`` is what it adds to the sites ranked above it and the
    gains add up to the total covered weight.
    """
    start = [p.candidate for p in greedy_max_cover(cover, weights, k, covered=covered)]
    final = sorted(improve_by_swaps(cover, weights, start, covered=covered))
    sub = sp.csr_matrix(cover, dtype=bool)[final]
    ranked = greedy_max_cover(sub, weights, len(final), covered=covered)
    return [Pick(candidate=final[p.candidate], gain=p.gain, newly_covered=p.newly_covered)
            for p in ranked]


# ------------------------------------------------------------ catchment areas

CIRCLE_QUAD_SEGS = 32
"""Segments per quarter circle: a 1,200 m circle's chords stay within 0.4 m of the arc."""


def catchment_area(
    x: float,
    y: float,
    *,
    catchment: float,
    net: StreetNetwork | None = None,
    mode: str | None = None,
) -> shapely.Geometry:
    """What a site at (x, y) covers, in the CRS of x/y (metres).

    Straight-line (no ``net``): the disc of radius ``catchment`` metres. On a
    network: :func:`reachable_area` with ``catchment`` minutes of ``mode``.
    """
    if net is None:
        return shapely.buffer(shapely.Point(x, y), catchment, quad_segs=CIRCLE_QUAD_SEGS)
    assert mode is not None
    return reachable_area(net, x, y, mode=mode, catchment_min=catchment)


def reachable_area(
    net: StreetNetwork, x: float, y: float, *, mode: str, catchment_min: float
) -> shapely.Geometry:
    """The points a site at (x, y) reaches within ``catchment_min`` minutes of ``mode``.

    The same rule as coverage (:func:`coverage_matrix_network`): a point is
    reached when connector(site) + network time(site node -> n) + connector(point)
    <= catchment, where n is the point's nearest routable node. So the area is
    the union, over the routable nodes n the site reaches, of n's Voronoi cell
    (the points snapping to n) cut by the disc around n whose radius is the walk
    left, (catchment - time to n) x 4.8 km/h. Nodes beyond twice a disc's
    radius cannot cut into it, so the Voronoi diagram is built only from the
    routable nodes near the reached ones. Discs are polygons of
    :data:`CIRCLE_QUAD_SEGS` segments per quarter. Where two routable nodes
    share a position, the larger radius is used. Empty when nothing is reached.
    """
    node, dist = snap(net, np.array([x], dtype=float), np.array([y], dtype=float), mode=mode)
    if node[0] < 0:
        return shapely.Polygon()
    g = net.graph(mode)
    t = node_times(net, node, mode=mode, offsets=connector_minutes(dist),
                   cutoff=catchment_min)[0][g.routable]
    hit = np.flatnonzero(t <= catchment_min)
    if len(hit) == 0:
        return shapely.Polygon()
    xy = np.column_stack([net.x[g.routable], net.y[g.routable]])
    radius = (catchment_min - t[hit]) * CONNECTOR_M_PER_MIN
    near = g.tree.query_ball_point(xy[hit], r=2.0 * radius + 1.0)
    local = np.unique(np.concatenate([np.asarray(a, dtype=np.int64) for a in near]))
    # one generator per distinct position; a reached node keeps the largest radius
    pos, inverse = np.unique(xy[local], axis=0, return_inverse=True)
    inverse = inverse.ravel()
    reach = np.full(len(pos), -np.inf)
    slot = {int(n): i for i, n in enumerate(local)}
    np.maximum.at(reach, inverse[[slot[int(h)] for h in hit]], radius)
    reached = np.flatnonzero(np.isfinite(reach))
    centres = shapely.points(pos[reached])
    discs = shapely.buffer(centres, reach[reached], quad_segs=CIRCLE_QUAD_SEGS)
    if len(pos) == 1:
        return discs[0]
    lo = pos.min(axis=0) - reach[reached].max() - 1.0
    hi = pos.max(axis=0) + reach[reached].max() + 1.0
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(pos), extend_to=shapely.box(*lo, *hi), ordered=True))
    cells = cells[reached]
    # a cell inside its disc is kept whole: those cells tile without gaps, so they are
    # merged as a coverage; only the cells the disc cuts need a general union
    whole = shapely.contains(discs, cells)
    parts = [shapely.coverage_union_all(cells[whole])] if whole.any() else []
    parts += list(shapely.intersection(cells[~whole], discs[~whole]))
    return _polygonal(shapely.union_all(parts))


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of ``geom`` (cells touching a disc at a point or along an edge leave
    points and lines in the union)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
