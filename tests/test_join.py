"""assign_areas against geopandas.sjoin(predicate="within") and the boundary rule."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon, box

from safetygap.errors import CRSMismatchError
from safetygap.geo._grid_index import MIXED, exact_assign
from safetygap.geo.join import area_index, assign_areas

CRS = "EPSG:26915"


def sjoin_reference(x: np.ndarray, y: np.ndarray, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Index of the (lowest) area whose interior contains each point, by geopandas.sjoin."""
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=areas.crs)
    j = gpd.sjoin(pts, areas[["geometry"]].reset_index(drop=True), predicate="within",
                  how="left")
    j = j.reset_index().groupby("index")["index_right"].min()
    return j.reindex(range(len(x))).fillna(-1).to_numpy(dtype=np.int64)


def test_hand_made_layout(tiny_areas):
    nbhd, _ = tiny_areas
    x0, y0 = 500_000.0, 4_980_000.0
    xs = np.array([100, 1500, 500, 1999, 3000, np.nan, 1000, 1000, 0]) + x0
    ys = np.array([100, 500, 1500, 1999, 3000, 5, 500, 1000, 0]) + y0
    got = assign_areas((xs, ys), nbhd, crs=CRS)
    # (1000, 500) is on the A|B edge -> lowest index A(0); (1000,1000) is the corner of
    # all four -> A(0); (0, 0) is A's outer corner -> A (covered by its closure).
    assert list(got) == [0, 1, 2, 3, -1, -1, 0, 0, 0]


def test_geoseries_input_and_crs_mismatch(tiny_areas):
    nbhd, _ = tiny_areas
    pts = gpd.GeoSeries([Point(500_100, 4_980_100), None], crs=CRS)
    assert list(assign_areas(pts, nbhd)) == [0, -1]
    with pytest.raises(CRSMismatchError, match="EPSG:4326") as err:
        assign_areas(pts.set_crs("EPSG:4326", allow_override=True), nbhd)
    assert "EPSG:26915" in str(err.value)


def test_empty_inputs(tiny_areas):
    nbhd, _ = tiny_areas
    assert len(assign_areas((np.array([]), np.array([])), nbhd, crs=CRS)) == 0
    empty = nbhd.iloc[0:0]
    got = assign_areas((np.array([500_100.0]), np.array([4_980_100.0])), empty, crs=CRS)
    assert list(got) == [-1]


def test_holes_and_multipolygons():
    outer = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], holes=[[(3, 3), (7, 3), (7, 7),
                                                                      (3, 7)]])
    inner = box(3, 3, 7, 7)
    multi = MultiPolygon([box(20, 0, 25, 5), box(30, 0, 35, 5)])
    areas = gpd.GeoDataFrame(geometry=[outer, inner, multi], crs=CRS)
    x = np.array([1, 5, 22, 32, 27, 3, 5])
    y = np.array([1, 5, 2, 2, 2, 5, 3])
    # (3,5) on the hole edge: closure of both 0 and 1 -> 0; (5,3) likewise
    assert list(assign_areas((x, y), areas, crs=CRS)) == [0, 1, 2, 2, -1, 0, 0]


def rule_reference(x: float, y: float, areas: gpd.GeoDataFrame) -> int:
    """The documented boundary rule worked out one point at a time with shapely."""
    p = Point(x, y)
    inside = [k for k, g in enumerate(areas.geometry) if g is not None and g.contains(p)]
    if inside:
        return min(inside)
    covering = [k for k, g in enumerate(areas.geometry) if g is not None and g.covers(p)]
    return min(covering) if covering else -1


@st.composite
def layouts(draw):
    """Random polygons: Voronoi cells of random seeds (some with holes, some merged into
    multipolygons) or overlapping discs and boxes; random points plus polygon vertices,
    edge midpoints and points on the index's grid-cell edges and corners."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    frame = box(0, 0, 1000, 1000)
    if draw(st.booleans()):
        n = draw(st.integers(1, 12))
        seeds = shapely.points(rng.uniform(0, 1000, (n, 2)))
        cells = list(shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                                extend_to=frame)))
        cells = [c.intersection(frame) for c in cells]
        cells = [c for c in cells if not c.is_empty and c.area > 1]
        geoms = []
        for c in cells:
            if draw(st.booleans()) and c.area > 5000:
                hole = shapely.buffer(c.representative_point(), 10)
                c = c.difference(hole)  # hole left empty: no area claims it
            geoms.append(c)
        if len(geoms) >= 3 and draw(st.booleans()):
            geoms = [shapely.union(geoms[0], geoms[2]), geoms[1], *geoms[3:]]
    else:  # overlapping areas: the lowest index wins in shared interiors
        n = draw(st.integers(1, 6))
        centres = rng.uniform(100, 900, (n, 2))
        sizes = rng.uniform(20, 300, n)
        geoms = [shapely.buffer(Point(*c), r, quad_segs=4) if k % 2 else
                 box(c[0] - r, c[1] - r, c[0] + r, c[1] + r)
                 for k, (c, r) in enumerate(zip(centres, sizes, strict=True))]
        corner = box(950, 950, 990, 990)
        # a second part only where it does not overlap the first: a multipolygon whose
        # parts overlap is invalid, and contains() is undefined on it (found by this test)
        if n >= 2 and draw(st.booleans()) and not geoms[0].intersects(corner):
            geoms[0] = MultiPolygon([geoms[0], corner])
    areas = gpd.GeoDataFrame(geometry=geoms, crs=CRS)
    resolution = draw(st.sampled_from([None, 1, 2, 5, 16, 64]))
    m = draw(st.integers(0, 300))
    pts = rng.uniform(-50, 1050, (m, 2))
    coords = shapely.get_coordinates(np.array(geoms))
    extra = [pts]
    if len(coords):  # vertices and edge midpoints of the polygons
        k = min(len(coords), 30)
        extra.append(coords[rng.choice(len(coords), k, replace=False)])
        extra.append((coords[:-1] + coords[1:])[:k] / 2)
    index = area_index(areas, resolution=resolution)
    if index.labels.size:  # points on grid-cell edges and corners
        ny, nx = index.labels.shape
        gx = index.x0 + rng.integers(0, nx + 1, 40) * index.cell
        gy = index.y0 + rng.integers(0, ny + 1, 40) * index.cell
        extra.append(np.column_stack([gx, rng.uniform(-50, 1050, 40)]))
        extra.append(np.column_stack([rng.uniform(-50, 1050, 40), gy]))
        extra.append(np.column_stack([gx, gy]))
    pts = np.vstack(extra)
    if draw(st.integers(0, 9)) == 0:  # now and then no points at all
        pts = pts[:0]
    return areas, pts[:, 0], pts[:, 1], resolution


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_agrees_with_sjoin_off_boundaries(layout):
    areas, x, y, resolution = layout
    got = assign_areas((x, y), areas, crs=CRS, resolution=resolution)
    ref = sjoin_reference(x, y, areas)
    # on some area's boundary (tested area by area: a union of the boundaries would be
    # noded, which can move vertices by a rounding error)
    pts = shapely.points(x, y)
    on_boundary = np.zeros(len(x), bool)
    for g in areas.geometry:
        on_boundary |= shapely.intersects(shapely.boundary(g), pts)
    assert np.array_equal(got[~on_boundary], ref[~on_boundary])
    # boundary points: the documented rule, worked out point by point
    for i in np.flatnonzero(on_boundary):
        assert got[i] == rule_reference(x[i], y[i], areas)
    # the grid never changes an answer: same result as the exact method everywhere
    index = area_index(areas, resolution=resolution)
    assert np.array_equal(got, exact_assign(x, y, index.polys, index.tree))


def test_fast_path_is_used():
    """Most cells of a fine grid are pure, and pure-cell lookups give the sjoin answer."""
    rng = np.random.default_rng(7)
    seeds = shapely.multipoints(rng.uniform(0, 1000, (10, 2)))
    cells = [c.intersection(box(0, 0, 1000, 1000)) for c in
             shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=box(0, 0, 1000, 1000)))]
    areas = gpd.GeoDataFrame(geometry=cells, crs=CRS)
    index = area_index(areas, resolution=200)
    assert index.mixed_share < 0.1
    x, y = rng.uniform(-10, 1010, (2, 20_000))
    ix = ((x - index.x0) / index.cell).astype(int)
    iy = ((y - index.y0) / index.cell).astype(int)
    ok = (ix >= 0) & (iy >= 0) & (ix < index.labels.shape[1]) & (iy < index.labels.shape[0])
    pure = np.zeros(len(x), bool)
    pure[ok] = index.labels[iy[ok], ix[ok]] != MIXED
    assert pure.mean() > 0.8
    got = assign_areas((x, y), areas, crs=CRS, resolution=200)
    assert np.array_equal(got, sjoin_reference(x, y, areas))


@pytest.mark.parametrize("resolution", [None, 1, 3, 50])
def test_degenerate_inputs(resolution):
    areas = gpd.GeoDataFrame(geometry=[None, box(0, 0, 10, 10), Polygon()], crs=CRS)
    x = np.array([5.0, np.nan, 5.0, 0.0, 10.0, 10.0 + 1e-9, -1e300, np.inf])
    y = np.array([5.0, 5.0, np.nan, 0.0, 10.0, 5.0, 0.0, 5.0])
    got = assign_areas((x, y), areas, crs=CRS, resolution=resolution)
    assert list(got) == [1, -1, -1, 1, 1, -1, -1, -1]
    all_empty = gpd.GeoDataFrame(geometry=[None, Polygon()], crs=CRS)
    assert list(assign_areas((x, y), all_empty, crs=CRS, resolution=resolution)) == [-1] * 8
    none = assign_areas((np.array([]), np.array([])), areas, crs=CRS, resolution=resolution)
    assert none.dtype == np.int64 and len(none) == 0


def test_index_cache_follows_the_geometry():
    a = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)], crs=CRS)
    assert area_index(a) is area_index(a.copy())
    moved = a.copy()
    moved["geometry"] = [box(20, 0, 30, 10)]
    assert list(assign_areas((np.array([5.0]), np.array([5.0])), moved, crs=CRS)) == [-1]
    assert list(assign_areas((np.array([5.0]), np.array([5.0])), a, crs=CRS)) == [0]


@pytest.mark.realdata
def test_minneapolis_neighborhoods_match_sjoin(shared_data):
    nbhd = gpd.read_file(shared_data / "boundaries" / "Minneapolis_Neighborhoods.geojson")
    nbhd = nbhd.to_crs(CRS)
    rng = np.random.default_rng(3)
    xmin, ymin, xmax, ymax = nbhd.total_bounds
    x = rng.uniform(xmin, xmax, 100_000)
    y = rng.uniform(ymin, ymax, 100_000)
    got = assign_areas((x, y), nbhd, crs=CRS)
    assert np.array_equal(got, sjoin_reference(x, y, nbhd))
    # every vertex lies on a boundary: the rule, checked against shapely one by one
    verts = shapely.get_coordinates(nbhd.geometry.values)[::97]
    got_v = assign_areas((verts[:, 0], verts[:, 1]), nbhd, crs=CRS)
    assert [rule_reference(px, py, nbhd) for px, py in verts] == list(got_v)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts(), st.sampled_from([0.0, 3.0, 40.0]))
def test_may_be_near_never_misses_a_line(layout, distance):
    """Points the grid rules out are farther than ``distance`` from every boundary."""
    areas, x, y, resolution = layout
    index = area_index(areas, resolution=resolution)
    maybe = index.may_be_near(x, y, distance)
    lines = shapely.union_all([shapely.boundary(g) for g in areas.geometry])
    far = shapely.distance(lines, shapely.points(x[~maybe], y[~maybe]))
    assert (far > distance).all()
