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
from safetygap.geo.join import assign_areas

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


@st.composite
def layouts(draw):
    """Random non-overlapping polygons: Voronoi cells of random seeds, some with holes,
    some merged into multipolygons, plus random points including vertices and edges."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 12))
    seeds = shapely.points(rng.uniform(0, 1000, (n, 2)))
    frame = box(0, 0, 1000, 1000)
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
    areas = gpd.GeoDataFrame(geometry=geoms, crs=CRS)
    m = draw(st.integers(0, 300))
    pts = rng.uniform(-50, 1050, (m, 2))
    # add vertices and edge midpoints of the polygons
    coords = shapely.get_coordinates(np.array(geoms))
    if len(coords):
        k = min(len(coords), 30)
        pick = coords[rng.choice(len(coords), k, replace=False)]
        mids = (coords[:-1] + coords[1:])[:k] / 2
        pts = np.vstack([pts, pick, mids])
    return areas, pts[:, 0], pts[:, 1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_agrees_with_sjoin_off_boundaries(layout):
    areas, x, y = layout
    got = assign_areas((x, y), areas, crs=CRS)
    ref = sjoin_reference(x, y, areas)
    boundary = shapely.union_all(areas.geometry.boundary.values)
    on_boundary = shapely.intersects(boundary, shapely.points(x, y)) if len(x) else \
        np.zeros(0, bool)
    assert np.array_equal(got[~on_boundary], ref[~on_boundary])
    # boundary points: the lowest-index area whose closure covers the point, or -1
    for i in np.flatnonzero(on_boundary):
        p = Point(x[i], y[i])
        covering = [k for k, g in enumerate(areas.geometry) if g.covers(p)]
        assert got[i] == (min(covering) if covering else -1)
    # every point is counted once: assigned + unassigned == all
    assert (got >= 0).sum() + (got == -1).sum() == len(x)
