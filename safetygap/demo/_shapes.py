"""Shapes of the synthetic demo city: outline, neighborhoods, wards.

Long file (about 500 lines): one generator of the city's geometry (outline, Voronoi
partitions with shared wiggly ridges, wards, clipping) working in one local frame on shared
vertex lists.

All coordinates here are metres in a *local* frame centred on the city centre
(x east, y north). :func:`safetygap.demo.city.generate_city` translates the
finished polygons into EPSG:26915 (UTM zone 15N) in one exact step, so shared
vertices stay bit-identical and the partitions still tile.

The partitions are Voronoi diagrams (:class:`scipy.spatial.Voronoi`) whose
ridges are bent into wiggly polylines. Each ridge polyline is computed once
and used, forwards or backwards, by both cells it separates, so neighbouring
cells share their boundary vertex for vertex: no gaps, no overlaps. The
cells are then clipped to the city outline.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import Voronoi
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon

# Half extents of the outline ellipse (metres): about 20 km x 17 km overall.
CRS = "EPSG:26915"
"""The demo city's projected CRS (UTM 15N, metres): every layer of the city is in it."""
HALF_WIDTH_M = 10_000.0
HALF_HEIGHT_M = 8_500.0

_FIRST = (
    "Cedar", "Maple", "Willow", "Prairie", "Oak", "Birch", "Aspen", "Elm", "Sumac",
    "Juniper", "Tamarack", "Heron", "Fox", "Otter", "Kingfisher", "Meadowlark", "Bluestem",
    "Clover", "Thistle", "Larkspur", "Granite", "Iron", "Copper", "Mill", "Lantern",
    "Beacon", "Orchard", "Sandstone", "Pioneer", "Depot", "Foundry", "Market", "Summit",
    "Brookside", "Fairview", "Hazel", "Ashgrove", "Sorrel", "Cobble", "Quarry", "Timber",
    "Railyard", "Signal", "Canal", "Ferry", "Bramble", "Wren", "Chickadee", "Silo",
    "Creamery", "Bur Oak", "Wild Rice", "Coneflower", "Basswood", "Limestone",
)
_SECOND = (
    "Hollow", "Heights", "Commons", "Crossing", "Flats", "Bend", "Ridge", "Grove",
    "Landing", "Gardens", "Point", "Meadows", "Court", "Junction", "Row", "Green",
    "Knoll", "Fields", "Yards", "Shores", "Woods", "Vale", "Gate", "Heath", "Springs",
    "Corners", "Bluff", "Terrace", "Park", "Square", "Lofts", "Acres", "Run", "Trail",
)
DOWNTOWN_NAME = "Civic Center"


# --------------------------------------------------------------------------- outline


def make_outline(rng: np.random.Generator) -> Polygon:
    """Irregular city outline (local metres): a jittered ellipse with a lake bay.

    The radius is an ellipse of half axes :data:`HALF_WIDTH_M` x
    :data:`HALF_HEIGHT_M` modulated by a few random low harmonics; a smooth
    elliptical bay ("the lake") is cut from the eastern shore. No holes.
    """
    theta = np.linspace(0.0, 2.0 * np.pi, 720, endpoint=False)
    k = np.arange(2, 9)
    amp = rng.normal(0.0, 1.0, k.size) * 0.045 / k**0.7
    phase = rng.uniform(0.0, 2.0 * np.pi, k.size)
    r = 1.0 + (amp[:, None] * np.cos(k[:, None] * theta[None, :] + phase[:, None])).sum(0)
    r = np.clip(r, 0.8, 1.2)
    x = HALF_WIDTH_M * r * np.cos(theta)
    y = HALF_HEIGHT_M * r * np.sin(theta)
    outline = Polygon(np.column_stack([x, y]))
    # The bay: an ellipse centred on the eastern shore, long axis radial.
    ang = rng.uniform(-0.45, 0.35)
    i = int(np.argmin(np.abs(((theta - ang) + np.pi) % (2 * np.pi) - np.pi)))
    bx, by = x[i], y[i]
    bay = shapely.Point(0.0, 0.0).buffer(1.0, quad_segs=32)
    bay = affinity.scale(bay, rng.uniform(2300, 2900), rng.uniform(1200, 1600))
    bay = affinity.rotate(bay, ang, origin=(0, 0), use_radians=True)
    bay = affinity.translate(bay, bx * 1.02, by * 1.02)
    outline = _largest(outline.difference(bay))
    return shapely.segmentize(outline, 120.0)


def _largest(geom: shapely.Geometry) -> Polygon:
    if isinstance(geom, Polygon):
        return geom
    parts = sorted(shapely.get_parts(geom), key=lambda g: -g.area)
    return parts[0]


def random_points_in(
    geom: shapely.Geometry, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` uniform random points inside ``geom`` by bulk rejection; shape (n, 2)."""
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    out = np.empty((0, 2))
    while len(out) < n:
        m = max(64, 2 * (n - len(out)))
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        ok = shapely.contains_xy(geom, x, y)
        out = np.vstack([out, np.column_stack([x[ok], y[ok]])])
    return out[:n]


# --------------------------------------------------------------------------- seeds


def spread_seeds(
    outline: Polygon,
    n: int,
    rng: np.random.Generator,
    *,
    centre: np.ndarray,
    shrink_near_centre: float = 0.45,
    n_candidates: int = 40,
) -> np.ndarray:
    """Well-spread seed points (Mitchell's best candidate), denser near ``centre``.

    Distances are divided by a local spacing that is ``1 - shrink_near_centre``
    at ``centre`` and 1 far away, so cells are smaller downtown. The outline
    boundary acts like a ring of seeds at twice the distance, keeping seeds
    off the edge. Returns an (n, 2) array of local metres.
    """
    boundary = outline.boundary
    shapely.prepare(boundary)
    cand = random_points_in(outline, n * n_candidates, rng)
    d_edge = 2.0 * shapely.distance(boundary, shapely.points(cand))
    spacing = 1.0 - shrink_near_centre * np.exp(
        -((cand - centre) ** 2).sum(1) / (2 * 3000.0**2)
    )
    seeds = np.empty((n, 2))
    best = np.full(len(cand), np.inf)
    for i in range(n):
        lo = i * n_candidates
        block = slice(lo, lo + n_candidates)
        if i == 0:
            j = lo + int(np.argmin(((cand[block] - centre) ** 2).sum(1)))
        else:
            score = np.minimum(best[block], d_edge[block]) / spacing[block]
            j = lo + int(np.argmax(score))
        seeds[i] = cand[j]
        # update nearest-seed distance for all later candidates
        rest = slice(lo + n_candidates, None)
        best[rest] = np.minimum(best[rest], np.sqrt(((cand[rest] - seeds[i]) ** 2).sum(1)))
    return seeds


# --------------------------------------------------------------------------- partition


def wiggly_partition(
    seeds: np.ndarray,
    outline: Polygon,
    rng: np.random.Generator,
    *,
    amp_frac: float = 0.08,
    amp_cap: float = 260.0,
    step: float = 60.0,
    jitter: float = 9.0,
) -> list[shapely.Geometry]:
    """Voronoi cells of ``seeds`` with bent shared edges, clipped to ``outline``.

    Each ridge of length ``L`` becomes a polyline with points every ``step``
    metres, displaced sideways by a smooth random profile of amplitude
    ``min(amp_frac * L, amp_cap)`` that vanishes (with zero slope) at both ends
    and moves no net area across the ridge, plus ``jitter`` metres of vertex
    noise. Cells that come out invalid get
    their ridges straightened by half, repeatedly, until all are valid. Small
    detached pieces left by the clip are given to the neighbour they share
    the longest edge with. Returns one (Multi)Polygon per seed, in seed order.
    """
    n = len(seeds)
    minx, miny, maxx, maxy = outline.bounds
    radius = float(np.hypot(max(abs(minx), maxx), max(abs(miny), maxy)))
    spacing = float(np.sqrt(outline.area / n))
    # Dummy seeds on a ring far enough out that their cells never reach the
    # outline (ring distance > covering radius of the real seeds).
    ring_r = radius + 3.0 * spacing + 1000.0
    m = max(24, int(2 * np.pi * ring_r / max(spacing, 1500.0)))
    a = np.linspace(0, 2 * np.pi, m, endpoint=False)
    ring = np.column_stack([ring_r * np.cos(a), ring_r * np.sin(a)])
    far = np.column_stack([3 * ring_r * np.cos(a[::3]), 3 * ring_r * np.sin(a[::3])])
    vor = Voronoi(np.vstack([seeds, ring, far]))
    verts = vor.vertices
    ridge_pts = vor.ridge_points
    ridge_vs = [tuple(v) for v in vor.ridge_vertices]

    # ridges touching a real cell, in Qhull's (deterministic) order
    cell_ridges: dict[int, list[int]] = defaultdict(list)
    used: list[int] = []
    for r, (p, q) in enumerate(ridge_pts):
        if p < n or q < n:
            if -1 in ridge_vs[r]:  # pragma: no cover - the seed ring prevents it
                raise RuntimeError("unbounded Voronoi ridge next to a real cell")
            used.append(r)
            if p < n:
                cell_ridges[int(p)].append(r)
            if q < n:
                cell_ridges[int(q)].append(r)

    # per-ridge random shape, drawn once
    shape: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for r in used:
        v0, v1 = ridge_vs[r]
        length = float(np.hypot(*(verts[v1] - verts[v0])))
        k = max(2, int(np.ceil(length / step)))
        modes = rng.normal(0.0, 1.0, 3) / np.array([1.0, 1.6, 2.4])
        noise = rng.normal(0.0, 1.0, k - 1)
        shape[r] = (modes, noise)

    damp = dict.fromkeys(used, 1.0)

    def polyline(r: int) -> np.ndarray:
        v0, v1 = ridge_vs[r]
        p0, p1 = verts[v0], verts[v1]
        d = p1 - p0
        length = float(np.hypot(*d))
        modes, noise = shape[r]
        k = len(noise) + 1
        t = np.linspace(0.0, 1.0, k + 1)
        normal = np.array([-d[1], d[0]]) / max(length, 1e-9)
        env = 4.0 * t * (1.0 - t)
        prof = sum(modes[j] * np.sin(np.pi * (j + 1) * t) for j in range(3))
        # area-neutral: the bend moves no net area from one cell to the other
        hump = env * np.sin(np.pi * t)
        prof = prof - np.trapezoid(env * prof, t) / np.trapezoid(hump, t) * np.sin(np.pi * t)
        amp = min(amp_frac * length, amp_cap)
        jit = np.zeros(k + 1)
        jit[1:-1] = noise * min(jitter, 0.05 * length)
        off = damp[r] * (amp * env * prof + jit * env)
        pts = p0[None, :] + t[:, None] * d[None, :] + off[:, None] * normal[None, :]
        pts[0], pts[-1] = p0, p1  # exact shared end vertices
        return pts

    def assemble(c: int, lines: dict[int, np.ndarray]) -> Polygon:
        rs = cell_ridges[c]
        by_v: dict[int, list[int]] = defaultdict(list)
        for r in rs:
            for v in ridge_vs[r]:
                by_v[v].append(r)
        start = rs[0]
        parts = [lines[start]]
        cur = ridge_vs[start][1]
        prev = start
        for _ in range(len(rs)):
            nxt = next(r for r in by_v[cur] if r != prev)
            if nxt == start:
                break
            v0, v1 = ridge_vs[nxt]
            if v0 == cur:
                parts.append(lines[nxt][1:])
                cur = v1
            else:
                parts.append(lines[nxt][::-1][1:])
                cur = v0
            prev = nxt
        return Polygon(np.vstack(parts))

    for _attempt in range(10):
        lines = {r: polyline(r) for r in used}
        cells = [assemble(c, lines) for c in range(n)]
        bad = [c for c in range(n) if not cells[c].is_valid]
        if not bad:
            break
        for c in bad:
            for r in cell_ridges[c]:
                damp[r] = 0.0 if _attempt >= 8 else damp[r] * 0.5
    else:  # pragma: no cover - straight Voronoi cells are always valid
        raise RuntimeError("could not build valid cells")

    clipped = list(shapely.intersection(np.array(cells, dtype=object), outline))
    total = float(shapely.area(np.array(clipped, dtype=object)).sum())
    if abs(total - outline.area) > 1e-9 * outline.area:  # pragma: no cover - ring is far out
        raise RuntimeError("Voronoi cells do not cover the outline")
    return _absorb_fragments(clipped)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Drop any lines/points an overlay left; return Polygon or MultiPolygon."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    polys = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and g.area > 0]
    if len(polys) == 1:
        return polys[0]
    return MultiPolygon(polys)


def _absorb_fragments(cells: list[shapely.Geometry], keep_frac: float = 0.25) -> list:
    """Give detached parts smaller than ``keep_frac`` of their cell to a neighbour."""
    cells = [_polygonal(g) for g in cells]
    for i in range(len(cells)):
        g = cells[i]
        if not isinstance(g, MultiPolygon):
            continue
        parts = sorted(g.geoms, key=lambda p: -p.area)
        keep = [parts[0]]
        for part in parts[1:]:
            if part.area >= keep_frac * g.area:
                keep.append(part)
                continue
            others = np.array(cells, dtype=object)
            shared = shapely.length(shapely.intersection(part.boundary, shapely.boundary(others)))
            shared[i] = 0.0
            j = int(np.argmax(shared))
            if shared[j] <= 0.0:
                keep.append(part)
                continue
            cells[j] = _polygonal(shapely.union(cells[j], part))
        cells[i] = keep[0] if len(keep) == 1 else MultiPolygon(keep)
    return cells


# --------------------------------------------------------------------------- ordering / names


def reading_order(xy: np.ndarray, band_m: float) -> np.ndarray:
    """Indices sorting points north-to-south in bands of ``band_m``, west-to-east within."""
    band = np.floor(-xy[:, 1] / band_m)
    return np.lexsort((xy[:, 0], band))


def neighborhood_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` unique invented two-word neighbourhood names."""
    combos = [f"{a} {b}" for a in _FIRST for b in _SECOND]
    if n > len(combos):  # pragma: no cover - guarded by parameter validation
        raise ValueError("too many neighborhoods for the name list")
    idx = rng.choice(len(combos), size=n, replace=False)
    return [combos[i] for i in idx]


# --------------------------------------------------------------------------- sampling


def triangulate(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constrained Delaunay triangles of each polygon.

    Returns ``(tri, owner, area)``: vertices of shape (m, 3, 2), the index of
    the source polygon of each triangle (sorted ascending), and triangle
    areas in square metres.
    """
    coll = shapely.constrained_delaunay_triangles(polys)
    tris, owner = shapely.get_parts(coll, return_index=True)
    coords = shapely.get_coordinates(shapely.get_exterior_ring(tris)).reshape(-1, 4, 2)[:, :3]
    d1 = coords[:, 1] - coords[:, 0]
    d2 = coords[:, 2] - coords[:, 0]
    area = 0.5 * np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])
    keep = area > 0
    return coords[keep], owner[keep], area[keep]


def sample_in_triangles(
    tri: np.ndarray,
    owner: np.ndarray,
    area: np.ndarray,
    n_owners: int,
    which: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One uniform random point inside polygon ``which[i]`` for each i; shape (len(which), 2).

    ``tri``/``owner``/``area`` come from :func:`triangulate` (``owner`` sorted).
    """
    cum = np.cumsum(area)
    first = np.searchsorted(owner, np.arange(n_owners), side="left")
    last = np.searchsorted(owner, np.arange(n_owners), side="right") - 1
    base = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    span = cum[np.maximum(last, 0)] - base
    target = base[which] + rng.random(len(which)) * span[which]
    t = np.searchsorted(cum, target, side="right")
    t = np.clip(t, first[which], last[which])
    r1 = rng.random(len(which))
    r2 = rng.random(len(which))
    flip = r1 + r2 > 1.0
    r1[flip] = 1.0 - r1[flip]
    r2[flip] = 1.0 - r2[flip]
    a, b, c = tri[t, 0], tri[t, 1], tri[t, 2]
    return a + r1[:, None] * (b - a) + r2[:, None] * (c - a)


def grid_points(polys: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres of a ``step`` m square grid that fall inside ``polys``, and which polygon."""
    minx, miny, maxx, maxy = shapely.total_bounds(polys)
    gx = np.arange(minx + step / 2, maxx, step)
    gy = np.arange(miny + step / 2, maxy, step)
    x, y = (a.ravel() for a in np.meshgrid(gx, gy))
    pts = shapely.points(x, y)
    p_idx, g_idx = shapely.STRtree(polys).query(pts, predicate="within")
    order = np.argsort(p_idx, kind="stable")
    return np.column_stack([x, y])[p_idx[order]], g_idx[order]


def balanced_seeds(
    points: np.ndarray,
    weights: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    spacing: float,
    iters: int = 120,
) -> np.ndarray:
    """Seeds whose Voronoi cells hold roughly equal total ``weights``.

    ``points`` (n, 2) with ``weights`` (n,) describe the population (e.g. a
    grid weighted by residents per cell); the result (k, 2) comes from
    weighted k-means++ seeding, then damped Lloyd steps combined with a
    balancing step in which each seed moves toward neighbouring seeds whose
    cells hold more weight (``spacing`` metres sets "neighbouring"). The
    most balanced iterate is returned.
    """
    n = len(points)
    w = np.asarray(weights, dtype=float)
    first = int(rng.choice(n, p=w / w.sum()))
    chosen = [first]
    d2 = ((points - points[first]) ** 2).sum(1)
    for _ in range(1, k):
        p = d2 * w
        i = int(rng.choice(n, p=p / p.sum()))
        chosen.append(i)
        d2 = np.minimum(d2, ((points - points[i]) ** 2).sum(1))
    seeds = points[chosen].copy()
    best_ratio, best = np.inf, seeds.copy()
    for _ in range(iters):
        lab = ((points[:, None, :] - seeds[None, :, :]) ** 2).sum(2).argmin(1)
        mass = np.bincount(lab, weights=w, minlength=k)
        ratio = mass.max() / max(mass.min(), 1e-12)
        if ratio < best_ratio:
            best_ratio, best = ratio, seeds.copy()
        sums = np.zeros((k, 2))
        np.add.at(sums, lab, points * w[:, None])
        cen = np.where(mass[:, None] > 0, sums / np.maximum(mass, 1e-12)[:, None], seeds)
        seeds = seeds + 0.2 * (cen - seeds)
        diff = seeds[None, :, :] - seeds[:, None, :]  # [j, m] = s_m - s_j
        near = np.exp(-(diff**2).sum(2) / (2.0 * spacing**2))
        np.fill_diagonal(near, 0.0)
        dm = (mass[None, :] - mass[:, None]) / mass.mean()
        seeds = seeds + 0.15 * ((near * dm)[:, :, None] * diff).sum(1)
    return best


@dataclass(frozen=True)
class Units:
    """Small sampling units: (neighbourhood x ward) pieces cut on a square grid.

    Every piece is shrunk by a margin first, so a point sampled in a unit
    stays in the same neighbourhood and ward even after its coordinates are
    rounded to 5 decimal degrees (< 1 m). Arrays are aligned by unit.
    """

    nbhd: np.ndarray  # neighbourhood index per unit
    ward: np.ndarray  # ward index per unit
    centroid: np.ndarray  # (u, 2) local metres
    area: np.ndarray  # square metres (sum of its triangles)
    tri: np.ndarray  # (m, 3, 2) triangles
    tri_owner: np.ndarray  # unit index per triangle, ascending
    tri_area: np.ndarray

    def sample(self, which: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One uniform random point inside unit ``which[i]`` for each i; (n, 2) metres."""
        return sample_in_triangles(
            self.tri, self.tri_owner, self.tri_area, len(self.area), which, rng
        )


def build_units(
    nbhds: list, wards: list, *, margin: float = 2.0, cell: float = 250.0
) -> Units:
    """Cut neighbourhood x ward intersections (shrunk by ``margin`` m) on a ``cell`` m grid."""
    nb = np.array(nbhds, dtype=object)
    wd = np.array(wards, dtype=object)
    tree = shapely.STRtree(wd)
    i_n, i_w = tree.query(nb, predicate="intersects")
    pieces = shapely.intersection(nb[i_n], wd[i_w])
    pieces = shapely.buffer(pieces, -margin, quad_segs=2)
    ok = ~shapely.is_empty(pieces) & (shapely.area(pieces) > 1.0)
    pieces, i_n, i_w = pieces[ok], i_n[ok], i_w[ok]
    minx, miny, maxx, maxy = shapely.total_bounds(pieces)
    gx = np.arange(np.floor(minx / cell) * cell, maxx, cell)
    gy = np.arange(np.floor(miny / cell) * cell, maxy, cell)
    bx, by = np.meshgrid(gx, gy)
    boxes = shapely.box(bx.ravel(), by.ravel(), bx.ravel() + cell, by.ravel() + cell)
    gtree = shapely.STRtree(boxes)
    p_idx, b_idx = gtree.query(pieces, predicate="intersects")
    order = np.lexsort((b_idx, p_idx))
    p_idx, b_idx = p_idx[order], b_idx[order]
    units = shapely.intersection(pieces[p_idx], boxes[b_idx])
    units = np.array([_polygonal(u) for u in units], dtype=object)
    keep = shapely.area(units) > 0.5
    units, p_idx = units[keep], p_idx[keep]
    tri, owner, tri_area = triangulate(units)
    area = np.bincount(owner, weights=tri_area, minlength=len(units))
    has = area > 0
    if not has.all():  # drop units whose triangulation came out empty
        remap = np.cumsum(has) - 1
        keep_t = has[owner]
        tri, owner, tri_area = tri[keep_t], remap[owner[keep_t]], tri_area[keep_t]
        units, p_idx, area = units[has], p_idx[has], area[has]
    cen = shapely.get_coordinates(shapely.centroid(units))
    return Units(i_n[p_idx], i_w[p_idx], cen, area, tri, owner, tri_area)
