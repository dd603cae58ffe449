"""Demand points: residents spread over a grid (or a density layer), checked by hand and
against geopandas overlay / sjoin."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Polygon, box

from safetygap.errors import ValidationError
from safetygap.geo.demand import area_mean, area_share, demand_points, points_frame
from tests.conftest import CRS, X0, Y0, make_tiny_areas


def test_grid_on_the_tiny_city_by_hand():
    nbhd, _ = make_tiny_areas()
    pop = np.array([1000.0, 2000.0, 3000.0, 4000.0])
    pts = demand_points(nbhd, pop, cell_m=200.0)
    # four 1 km squares on a 200 m grid anchored at multiples of 200 m: 25 pieces each
    assert len(pts) == 100
    assert np.bincount(pts.area).tolist() == [25, 25, 25, 25]
    assert np.allclose(pts.residents[pts.area == 1], 2000 / 25)
    assert np.allclose(np.bincount(pts.area, weights=pts.residents), pop)
    # points at the cell centres: A's first cell is (100, 100) from the origin
    a = pts.area == 0
    assert sorted(set(np.round(pts.x[a] - X0))) == [100, 300, 500, 700, 900]
    assert sorted(set(np.round(pts.y[a] - Y0))) == [100, 300, 500, 700, 900]


def test_centroid_model_is_one_point_per_area():
    nbhd, _ = make_tiny_areas()
    pts = demand_points(nbhd, np.array([1.0, 2.0, np.nan, 4.0]), model="centroid")
    assert len(pts) == 4
    assert list(pts.x - X0) == [500, 1500, 500, 1500]
    assert list(pts.residents) == [1.0, 2.0, 0.0, 4.0]  # unknown population: 0


def _odd_areas() -> gpd.GeoDataFrame:
    tri = Polygon([(X0 + 30, Y0 + 10), (X0 + 930, Y0 + 50), (X0 + 410, Y0 + 770)])
    ring = box(X0 + 1000, Y0, X0 + 1700, Y0 + 700).difference(
        box(X0 + 1150, Y0 + 150, X0 + 1550, Y0 + 550))
    return gpd.GeoDataFrame({"area_id": ["T", "R"], "name": ["Tri", "Ring"]},
                            geometry=[tri, ring], crs=CRS)


def test_pieces_match_geopandas_overlay():
    areas = _odd_areas()
    pop = np.array([900.0, 1300.0])
    pts = demand_points(areas, pop, cell_m=150.0)
    over = _overlay_pieces(areas, 150.0)
    assert len(pts) == len(over)
    for k, aid in enumerate(["T", "R"]):
        theirs = np.sort(over.loc[over["area_id"] == aid].area.to_numpy())
        ours = np.sort(pts.land_m2[pts.area == k])
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)
        # residents by land area: the piece's share of the area's land
        mine = pts.area == k
        np.testing.assert_allclose(pts.residents[mine],
                                   pop[k] * pts.land_m2[mine] / areas.area.iloc[k], rtol=1e-9)
    # every point lies in its own area (the ring's pieces around the hole included)
    frame = points_frame(pts, areas)
    joined = gpd.sjoin(frame, areas[["area_id", "geometry"]], predicate="intersects")
    assert (joined["area_id_left"] == joined["area_id_right"]).all()
    assert len(joined) == len(pts)


def _overlay_pieces(areas: gpd.GeoDataFrame, cell: float) -> gpd.GeoDataFrame:
    x0 = np.floor(areas.total_bounds[0] / cell) * cell
    y0 = np.floor(areas.total_bounds[1] / cell) * cell
    cells = [box(x0 + i * cell, y0 + j * cell, x0 + (i + 1) * cell, y0 + (j + 1) * cell)
             for i in range(20) for j in range(20)]
    grid = gpd.GeoDataFrame({"cell": range(len(cells))}, geometry=cells, crs=CRS)
    over = gpd.overlay(areas, grid, how="intersection", keep_geom_type=True)
    return over[over.area > 1e-3].reset_index(drop=True)


def test_locate_matches_sjoin_with_the_pieces():
    from safetygap.geo.join import assign_areas

    areas = _odd_areas()
    pts = demand_points(areas, np.array([1.0, 1.0]), cell_m=150.0)
    rng = np.random.default_rng(7)
    x = X0 + rng.uniform(0, 1700, 3000)
    y = Y0 + rng.uniform(0, 800, 3000)
    area = assign_areas((x, y), areas, crs=CRS)
    got = pts.locate(x, y, area)
    assert (got[area < 0] == -1).all()
    # independent: overlay pieces; each holds exactly one of our points; calls joined to
    # the pieces by sjoin must get that point
    pieces = _overlay_pieces(areas, 150.0)
    ours = gpd.sjoin(points_frame(pts, areas).reset_index(names="point"), pieces,
                     predicate="within")
    assert len(ours) == len(pts) and ours["index_right"].is_unique
    point_of_piece = dict(zip(ours["index_right"], ours["point"], strict=True))
    calls = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=CRS)
    hit = gpd.sjoin(calls, pieces, predicate="within")
    assert len(hit) == int((area >= 0).sum())
    expect = np.array([point_of_piece[j] for j in hit["index_right"]])
    np.testing.assert_array_equal(got[hit.index.to_numpy()], expect)


def test_density_points_and_polygons():
    nbhd, _ = make_tiny_areas()
    pop = np.array([1000.0, 2000.0, 3000.0, 4000.0])
    # address points in A only: 3 in A's first cell, 1 in its last; weight column = units
    dens = gpd.GeoDataFrame({"units": [1.0, 1.0, 1.0, 3.0]},
                            geometry=gpd.points_from_xy(X0 + np.array([50, 60, 70, 950]),
                                                        Y0 + np.array([50, 60, 70, 950])),
                            crs=CRS)
    pts = demand_points(nbhd, pop, density=dens, density_column="units")
    a = np.flatnonzero(pts.area == 0)
    first = a[(np.round(pts.x[a] - X0) == 100) & (np.round(pts.y[a] - Y0) == 100)]
    last = a[(np.round(pts.x[a] - X0) == 900) & (np.round(pts.y[a] - Y0) == 900)]
    assert pts.residents[first] == pytest.approx([500.0])  # 3 of 6 units
    assert pts.residents[last] == pytest.approx([500.0])
    assert pts.residents[a].sum() == pytest.approx(1000.0)
    # B, C, D have no feature of the layer: land area, as without a layer
    assert np.allclose(pts.residents[pts.area == 3], 4000 / 25)
    # footprints (no column): the building area inside each piece weighs it
    foot = gpd.GeoDataFrame(geometry=[box(X0 + 1000, Y0, X0 + 1100, Y0 + 100),
                                      box(X0 + 1150, Y0 + 150, X0 + 1250, Y0 + 250)], crs=CRS)
    pts2 = demand_points(nbhd, pop, density=foot)
    b = np.flatnonzero(pts2.area == 1)
    cx, cy = np.round(pts2.x[b] - X0), np.round(pts2.y[b] - Y0)
    # the second footprint straddles four cells (2,500 m² in each), the first one cell
    w = {(1100, 100): 10000 + 2500, (1300, 100): 2500, (1100, 300): 2500, (1300, 300): 2500}
    for (px, py), m2 in w.items():
        assert pts2.residents[b][(cx == px) & (cy == py)] == pytest.approx([2000 * m2 / 20000])
    assert pts2.residents[b].sum() == pytest.approx(2000.0)


def test_area_mean_and_share_by_hand():
    nbhd, _ = make_tiny_areas()
    pts = demand_points(nbhd, np.array([1000.0, 2000.0, 0.0, 4000.0]), cell_m=500.0)
    # 4 pieces per area; value = piece index within its area
    idx = np.concatenate([np.arange(4)] * 4).astype(float)
    assert list(area_mean(idx, pts)[[0, 1, 3]]) == pytest.approx([1.5, 1.5, 1.5])
    assert np.isnan(area_mean(idx, pts)[2])  # no residents
    mask = idx < 1
    assert list(area_share(mask, pts)[[0, 1, 3]]) == pytest.approx([0.25, 0.25, 0.25])


def test_bad_options_are_refused():
    nbhd, _ = make_tiny_areas()
    with pytest.raises(ValidationError, match="demand"):
        demand_points(nbhd, np.ones(4), model="hexagons")
    with pytest.raises(ValidationError, match="cell"):
        demand_points(nbhd, np.ones(4), cell_m=0.0)


def test_pieces_cut_along_the_wards_give_their_areal_shares():
    """Split by the wards (x = 1500), each ward's residents are exactly the neighborhoods'
    residents shared by land area, as the crosswalk apportions them (a second method:
    geopandas overlay of neighborhoods and wards)."""
    nbhd, wards = make_tiny_areas()
    pop = np.array([1000.0, 2000.0, 3000.0, 4000.0])
    pts = demand_points(nbhd, pop, zones=wards)
    assert pts.zone is not None and (pts.zone >= 0).all()
    per_ward = np.bincount(pts.zone, weights=pts.residents, minlength=2)
    over = gpd.overlay(nbhd.assign(pop=pop), wards.rename(columns={"area_id": "ward"}),
                       how="intersection", keep_geom_type=True)
    share = over.area / over["pop"].map(dict(zip(pop, nbhd.area, strict=True)))
    want = (over["pop"] * share).groupby(over["ward"]).sum()
    np.testing.assert_allclose(per_ward, want.loc[["1", "2"]].to_numpy(), rtol=1e-12)
    assert per_ward.tolist() == pytest.approx([7000.0, 3000.0])
    # a call in B west of the line gets the western half-cell's point, east the eastern
    x = np.array([X0 + 1490.0, X0 + 1510.0])
    y = np.array([Y0 + 100.0, Y0 + 100.0])
    got = pts.locate(x, y, np.array([1, 1]), np.array([0, 1]))
    assert pts.zone[got].tolist() == [0, 1]
    assert (pts.x[got] - X0).tolist() == pytest.approx([1450.0, 1550.0])
    frame = points_frame(pts, nbhd, wards)
    assert set(frame["ward_id"]) == {"1", "2"}
