"""Disparity and group mean access against hand computations on four areas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from safetygap.equity.disparity import GroupDraws, disparity, mean_access

G = np.array([100.0, 300.0, 50.0, 50.0])
U = np.array([1000.0, 1000.0, 1000.0, 1000.0])
UNDER = np.array([True, True, False, False])


def test_point_estimates_by_hand_and_no_moe_gives_a_point_interval():
    d = disparity(GroupDraws.make(G, U, None, None, n_draws=50, seed=1), UNDER)
    # group: 400 of 500 in underserved areas; others: 1600 of 3500
    assert d.share_group.estimate == pytest.approx(0.8)
    assert d.share_others.estimate == pytest.approx(1600 / 3500)
    assert d.difference.estimate == pytest.approx(0.8 - 1600 / 3500)
    assert d.ratio.estimate == pytest.approx(0.8 / (1600 / 3500))
    assert (d.group_total, d.others_total) == (500.0, 3500.0)
    for iv in (d.share_group, d.difference, d.ratio):
        assert iv.low == pytest.approx(iv.estimate) and iv.high == pytest.approx(iv.estimate)
    assert (d.areas, d.underserved_areas) == (4, 2)


def test_weights_and_unclassified_areas():
    draws = GroupDraws.make(G, U, None, None, n_draws=10)
    w = disparity(draws, UNDER, weights=np.array([1.0, 0.5, 0.0, 1.0]))
    # g = 100, 150, 0, 50; others = 900, 350, 0, 950
    assert w.share_group.estimate == pytest.approx(250 / 300)
    assert w.share_others.estimate == pytest.approx(1250 / 2200)
    c = disparity(draws, UNDER, classified=np.array([True, True, True, False]))
    assert c.share_group.estimate == pytest.approx(400 / 450)
    assert c.share_others.estimate == pytest.approx(1600 / 2550)


def test_class_replicates_widen_the_interval_to_both_classifications():
    reps = np.array([[True, True, False, False], [True, False, False, False]])
    d = disparity(GroupDraws.make(G, U, None, None, n_draws=400, seed=3), UNDER,
                  replicates=reps, seed=3)
    other = 100 / 500 - 900 / 3500  # the second replicate's difference
    assert d.difference.low == pytest.approx(other)
    assert d.difference.high == pytest.approx(0.8 - 1600 / 3500)
    assert d.replicates == 2


def test_monte_carlo_interval_matches_the_delta_method():
    # large counts, so the normal approximation holds; the delta method for
    # p = G_U / (G_U + G_N) with independent sums: var = ((1-p)^2 V_U + p^2 V_N) / G^2
    g = np.array([4000.0, 6000.0, 5000.0, 5000.0])
    u = np.full(4, 50_000.0)
    mg = np.array([400.0, 500.0, 450.0, 300.0])
    draws = GroupDraws.make(g, u, mg, np.zeros(4), n_draws=20_000, seed=7)
    d = disparity(draws, UNDER, group_moe=mg)
    p = 10_000 / 20_000
    v_u = (400**2 + 500**2) / 1.645**2
    v_n = (450**2 + 300**2) / 1.645**2
    half = 1.645 * math.sqrt(((1 - p) ** 2 * v_u + p**2 * v_n) / 20_000**2)
    assert (d.share_group.high - d.share_group.low) / 2 == pytest.approx(half, rel=0.04)
    # the Census proportion formula's MOE is reported beside it
    mu, mn = math.sqrt(400**2 + 500**2), math.sqrt(400**2 + 500**2 + 450**2 + 300**2)
    assert d.share_group_moe_census == pytest.approx(
        math.sqrt(mu**2 - p**2 * mn**2) / 20_000)


def test_draws_are_seeded_and_respect_zero_and_universe():
    mg, mu = np.array([200.0, 10, 10, 10]), np.array([10.0, 10, 10, 10])
    a = GroupDraws.make(G, U, mg, mu, n_draws=300, seed=5)
    b = GroupDraws.make(G, U, mg, mu, n_draws=300, seed=5)
    assert np.array_equal(a.group_draws, b.group_draws)
    assert (a.group_draws >= 0).all() and (a.universe_draws >= a.group_draws).all()
    c = GroupDraws.make(G, U, mg, mu, n_draws=300, seed=6)
    assert not np.array_equal(a.group_draws, c.group_draws)


def test_mean_access_by_hand():
    access = np.array([1.0, 2.0, 4.0, np.nan])
    m = mean_access(GroupDraws.make(G, U, None, None, n_draws=5), access)
    # group: (100*1 + 300*2 + 50*4) / 450; universe: (1000+2000+4000) / 3000
    assert m.group.estimate == pytest.approx(900 / 450)
    assert m.overall.estimate == pytest.approx(7000 / 3000)
    assert m.others.estimate == pytest.approx((900 + 1400 + 3800) / 2550)
    assert m.ratio.estimate == pytest.approx(2.0 / (7 / 3))
    assert m.group.low == pytest.approx(2.0)
