"""Maximal covering (greedy + swaps): by hand, against a second coverage method, and against the
exact MCLP optimum of PySAL spopt (PuLP's bundled CBC solver, offline)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from safetygap.geo.network import travel_time_matrix
from safetygap.geo.siting import (
    coverage_matrix_network,
    coverage_matrix_straight,
    greedy_max_cover,
    improve_by_swaps,
    max_cover,
)
from tests.conftest import X0, Y0
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
