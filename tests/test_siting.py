"""Maximal covering (greedy + swaps): by hand, against a second coverage method, and against the
exact MCLP optimum of PySAL spopt (PuLP's bundled CBC solver, offline)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from scipy.spatial.distance import cdist

from safetygap.geo.network import StreetNetwork, travel_time_matrix
from safetygap.geo.siting import (
    catchment_area,
    coverage_matrix_network,
    coverage_matrix_straight,
    greedy_max_cover,
    improve_by_swaps,
    max_cover,
    reachable_area,
)
from tests.conftest import CRS, X0, Y0, grid_segments
from tests.test_network import _random_grid

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP 3 -> 4 notices


def _cover(rows: list[list[int]], n: int) -> sp.csr_matrix:
    m = np.zeros((len(rows), n), dtype=bool)
    for i, r in enumerate(rows):
        m[i, r] = True
    return sp.csr_matrix(m)


def test_greedy_by_hand_and_its_known_weakness():
    # demand 0..5 weight 1; candidate 0 covers {0,1,2,3}, 1 covers {0,1,4}, 2 covers {2,3,5}
    cover = _cover([[0, 1, 2, 3], [0, 1, 4], [2, 3, 5]], 6)
    picks = greedy_max_cover(cover, np.ones(6), 2)
    # greedy takes 0 (4), then 1 or 2 add 1 each -> 1 (lower index): 5 of 6 covered;
    # the optimum {1, 2} covers all 6
    assert [(p.candidate, p.gain) for p in picks] == [(0, 4.0), (1, 1.0)]
    assert sorted(picks[1].newly_covered) == [4]


def test_swaps_fix_the_greedy_weakness_and_ranking_adds_up():
    cover = _cover([[0, 1, 2, 3], [0, 1, 4], [2, 3, 5]], 6)
    assert sorted(improve_by_swaps(cover, np.ones(6), [0, 1])) == [1, 2]
    picks = max_cover(cover, np.ones(6), 2)
    assert [(p.candidate, p.gain) for p in picks] == [(1, 3.0), (2, 3.0)]


def test_existing_coverage_earns_nothing_and_weights_count():
    cover = _cover([[0, 1, 2], [3], [2, 3]], 4)
    w = np.array([1.0, 1.0, 1.0, 5.0])
    picks = greedy_max_cover(cover, w, 3, covered=np.array([True, True, False, False]))
    # candidate 2 adds 1 + 5 = 6; then nothing is left, so it stops after one site
    assert [(p.candidate, p.gain) for p in picks] == [(2, 6.0)]
    assert greedy_max_cover(cover, w, 0) == []


def test_straight_coverage_matrix_matches_cdist():
    rng = np.random.default_rng(5)
    c = rng.uniform(0, 1000, (30, 2))
    d = rng.uniform(0, 1000, (200, 2))
    m = coverage_matrix_straight((c[:, 0], c[:, 1]), (d[:, 0], d[:, 1]), radius_m=150.0)
    assert (m.toarray() == (cdist(c, d) <= 150.0)).all()


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_network_coverage_matrix_matches_travel_time_matrix(mode):
    rng = np.random.default_rng(11)
    net = _random_grid(11, n=8)
    cand = (X0 + rng.uniform(0, 1400, 25), Y0 + rng.uniform(0, 1400, 25))
    dem = (X0 + rng.uniform(0, 1400, 90), Y0 + rng.uniform(0, 1400, 90))
    limit = 12.0 if mode == "walk" else 2.0
    m = coverage_matrix_network(net, cand, dem, mode=mode, catchment_min=limit, batch=7)
    cost = travel_time_matrix(net, cand, dem, mode=mode)  # (demand, candidates)
    assert (m.toarray() == (limit >= cost.T)).all()
    assert 0 < m.nnz < m.shape[0] * m.shape[1]


# -------------------------------------------------------------- catchment areas


def test_reachable_area_on_the_tiny_grid_by_hand():
    """5 x 5 grid, 500 m blocks, walking 6.25 min a block; a site on node (500, 500) with
    15 min: the node itself (cell 500 x 500 m, walk left 1,200 m: the whole cell), the
    four nodes one block away (walk left 700 m: the inner two keep their whole cell,
    the two on the city's edge keep the part of their open cell within 700 m) and the six
    nodes two blocks away (walk left 200 m: a disc inside their cell)."""
    x, y, u, v = grid_segments()
    net = StreetNetwork.from_segments(X0 + x, Y0 + y, u, v, crs=CRS)
    area = reachable_area(net, X0 + 500, Y0 + 500, mode="walk", catchment_min=15.0)
    r, h = 700.0, 250.0
    edge_strip = 2 * h * h + (h * math.sqrt(r * r - h * h) + r * r * math.asin(h / r))
    want = 3 * 500 * 500 + 2 * edge_strip + 6 * math.pi * 200**2
    assert area.area == pytest.approx(want, rel=1e-3)
    assert area.bounds == pytest.approx((X0 - 700, Y0 - 700, X0 + 1700, Y0 + 1700), abs=1.0)
    assert shapely.contains_xy(area, X0 + 1150, Y0 + 500)  # in (1000, 500)'s whole cell
    assert not shapely.contains_xy(area, X0 + 1500, Y0 + 720)  # 220 m from (1500, 500)
    # nothing reached beyond the site's own walk, and no site off the network's reach
    assert reachable_area(net, X0 + 500, Y0 + 500, mode="walk", catchment_min=0.0).area == 0
    tiny = reachable_area(net, X0 + 520, Y0 + 500, mode="walk", catchment_min=1.0)
    assert tiny.area == pytest.approx(math.pi * 60**2, rel=1e-3)  # 80 m walk - 20 m leg


@pytest.mark.parametrize(("seed", "mode", "limit"),
                         [(3, "walk", 6.0), (4, "walk", 12.0), (5, "drive", 1.5),
                          (6, "drive", 2.5)])
def test_reachable_area_is_exactly_what_the_site_covers(seed, mode, limit):
    """Second method: the coverage matrix of the one site over random points."""
    rng = np.random.default_rng(seed)
    net = _random_grid(seed, n=8)
    sx, sy = X0 + rng.uniform(200, 1200), Y0 + rng.uniform(200, 1200)
    px = X0 + rng.uniform(-300, 1700, 4000)
    py = Y0 + rng.uniform(-300, 1700, 4000)
    area = catchment_area(sx, sy, catchment=limit, net=net, mode=mode)
    cover = coverage_matrix_network(net, (np.array([sx]), np.array([sy])), (px, py),
                                    mode=mode, catchment_min=limit).toarray()[0]
    inside = shapely.contains_xy(area, px, py)
    # away from the drawn edge (circles are polygons: chords within 0.4 m of the arc)
    clear = shapely.distance(area.boundary, shapely.points(px, py)) > 0.5
    assert clear.mean() > 0.97
    assert (inside[clear] == cover[clear]).all()
    assert 0 < cover.sum() < len(cover)


def test_straight_catchment_is_the_circle():
    area = catchment_area(X0, Y0, catchment=1200.0)
    assert area.area == pytest.approx(math.pi * 1200**2, rel=1e-3)
    assert shapely.contains_xy(area, X0 + 1199, Y0) and not shapely.contains_xy(
        area, X0 + 1201, Y0)


# ------------------------------------------------------------- against spopt

INSTANCES = [(seed, k) for seed in range(8) for k in (2, 3, 5)]


def _instance(seed: int):
    rng = np.random.default_rng(1000 + seed)
    net = _random_grid(seed, n=8)
    cand = (X0 + rng.uniform(0, 1400, 20), Y0 + rng.uniform(0, 1400, 20))
    # clustered demand, like calls
    centres = rng.uniform(0, 1400, (4, 2))
    pts = centres[rng.integers(0, 4, 120)] + rng.normal(0, 180, (120, 2))
    dem = (X0 + pts[:, 0], Y0 + pts[:, 1])
    weights = rng.integers(1, 6, 120).astype(float)
    return net, cand, dem, weights


@pytest.mark.parametrize(("seed", "k"), INSTANCES)
def test_greedy_covers_at_least_95_percent_of_the_mclp_optimum(seed, k):
    spopt = pytest.importorskip("spopt.locate", reason="spopt is a test-only dependency")
    pulp = pytest.importorskip("pulp")
    net, cand, dem, weights = _instance(seed)
    limit = 6.0
    cost = travel_time_matrix(net, cand, dem, mode="walk")  # (demand, candidates)
    cost = np.where(np.isfinite(cost), cost, 1e9)
    model = spopt.MCLP.from_cost_matrix(cost, weights, service_radius=limit, p_facilities=k)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    optimum = float(model.problem.objective.value())
    cover = coverage_matrix_network(net, cand, dem, mode="walk", catchment_min=limit)
    picks = max_cover(cover, weights, k)
    got = sum(p.gain for p in picks)
    assert got >= sum(p.gain for p in greedy_max_cover(cover, weights, k))
    # the greedy total is what its sites really cover
    chosen = [p.candidate for p in picks]
    assert got == pytest.approx(weights[(cost[:, chosen] <= limit).any(axis=1)].sum())
    assert got <= optimum + 1e-9
    assert got >= 0.95 * optimum, f"greedy {got} vs optimum {optimum}"
