"""The cluster bootstrap: clusters by hand, replicate sums against the exact moments of
the cluster bootstrap and a naive draw-by-draw bootstrap, rank summaries by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from safetygap.geo.bivariate import bivariate_class, terciles, underserved_rank
from safetygap.geo.bootstrap import (
    _identical_rows,
    cluster_ids,
    cluster_matrix,
    rank_uncertainty,
    resample,
)
from safetygap.geo.uncertainty import empirical_bayes


def test_clusters_are_cell_and_day():
    x = np.array([10.0, 150.0, 10.0, 250.0, np.nan, 20.0, 30.0])
    y = np.array([10.0, 190.0, 10.0, 10.0, 0.0, 20.0, 40.0])
    day = np.array([5, 5, 6, 5, 5, -1, -1])
    cl, k = cluster_ids(x, y, day, cell_m=200.0)
    # calls 0 and 1 share cell and day; 2 is the next day; 3 another cell; 4 no location;
    # 5 and 6 have no date and share a cell: one cluster
    assert cl[0] == cl[1] and cl[5] == cl[6]
    assert len({cl[0], cl[2], cl[3], cl[5]}) == 4
    assert cl[4] == -1 and k == 4


def _random_matrix(seed: int, k: int = 60, cols: int = 5) -> sparse.csr_matrix:
    rng = np.random.default_rng(seed)
    calls = rng.integers(0, k, 300)
    col = rng.integers(0, cols, 300)
    col[calls % 7 == 0] = 0  # many clusters with the same row: grouped by resample
    return cluster_matrix(calls, col, k, cols, weight=rng.choice([1.0, 0.5], 300))


def test_identical_rows_grouped_like_a_dictionary():
    m = _random_matrix(1)
    group, first = _identical_rows(m)
    dense = m.toarray()
    keys: dict[tuple, int] = {}
    for i, row in enumerate(dense):
        keys.setdefault(tuple(row), group[i])
        assert keys[tuple(row)] == group[i]
    assert len(first) == len(keys)
    np.testing.assert_array_equal(dense[first[group]], dense)


def test_replicate_sums_have_the_cluster_bootstrap_moments():
    m = _random_matrix(2)
    k = m.shape[0]
    (reps,) = resample([m], replicates=20_000, seed=5)
    dense = m.toarray()
    # draw counts t ~ Multinomial(K, 1/K): E[t M] = sum M; Cov = M'M - (1'M)'(1'M) / K
    mean = dense.sum(axis=0)
    cov = dense.T @ dense - np.outer(mean, mean) / k
    np.testing.assert_allclose(reps.mean(axis=0), mean, rtol=0.01)
    np.testing.assert_allclose(np.cov(reps.T), cov, rtol=0.06, atol=0.06 * cov.max())
    # a naive bootstrap drawing the K clusters one by one agrees in distribution
    rng = np.random.default_rng(9)
    naive = np.array([dense[rng.integers(0, k, k)].sum(axis=0) for _ in range(20_000)])
    np.testing.assert_allclose(np.quantile(reps, [0.1, 0.5, 0.9], axis=0),
                               np.quantile(naive, [0.1, 0.5, 0.9], axis=0), atol=1.01)


def test_same_draws_for_both_matrices_and_seeded():
    m = _random_matrix(3)
    a, b = resample([m, m[:, :2]], replicates=50, seed=1)
    np.testing.assert_array_equal(a[:, :2], b)
    again, _ = resample([m, m[:, :2]], replicates=50, seed=1)
    np.testing.assert_array_equal(a, again)
    # every replicate draws K clusters: with one call per cluster the total is K
    single = cluster_matrix(np.arange(40), np.arange(40) % 3, 40, 3)
    (tot,) = resample([single], replicates=30, seed=2)
    assert (tot.sum(axis=1) == 40).all()


def test_rank_summaries_by_hand():
    rng = np.random.default_rng(4)
    n = 30
    exposure = rng.uniform(500, 5000, n)
    counts = rng.poisson(exposure * 0.02).astype(float)
    ranked = np.ones(n, bool)
    ranked[0] = False
    at = terciles(rng.uniform(0, 1, n), ranked)
    need = empirical_bayes(counts, exposure)
    est_class = bivariate_class(terciles(need, ranked), at)
    # replicates equal to the estimate: the intervals collapse onto its rank
    same = rank_uncertainty(np.tile(counts, (20, 1)), exposure, ranked=ranked,
                            access_tercile=at, estimate_class=est_class, top=10)
    est_rank = underserved_rank(need, terciles(need, ranked), at)
    np.testing.assert_array_equal(same.rank_low, est_rank)
    np.testing.assert_array_equal(same.rank_high, est_rank)
    assert list(same.p_top[1:]) == [1.0 if r <= 10 else 0.0 for r in est_rank[1:]]
    assert np.isnan(same.p_top[0]) and (same.class_agreement[1:] == 1).all()
    # noisy replicates: summaries recomputed by a plain loop
    reps = rng.poisson(np.tile(counts, (50, 1))).astype(float)
    got = rank_uncertainty(reps, exposure, ranked=ranked, access_tercile=at,
                           estimate_class=est_class, top=10)
    ranks = []
    classes = []
    for r in reps:
        nr = empirical_bayes(r, exposure)
        t = terciles(nr, ranked)
        ranks.append(underserved_rank(nr, t, at))
        classes.append(bivariate_class(t, at))
    ranks = np.array(ranks)
    classes = np.array(classes)
    for i in range(1, n):
        s = np.sort(ranks[:, i])
        assert got.rank_low[i] == s[int(np.ceil(0.05 * 50)) - 1]
        assert got.rank_high[i] == s[int(np.ceil(0.95 * 50)) - 1]
        assert got.p_top[i] == pytest.approx((ranks[:, i] <= 10).mean())
        assert got.class_agreement[i] == pytest.approx((classes[:, i] == est_class[i]).mean())
        assert got.p_underserved[i] == pytest.approx((classes[:, i] == 7).mean())
    np.testing.assert_array_equal(got.classes, classes)


def test_draws_made_a_few_replicates_at_a_time_are_the_same(monkeypatch):
    """resample draws the multinomials a few replicates at a time when the groups are
    many (memory): the very numbers of drawing every replicate at once."""
    from safetygap.geo import bootstrap

    mats = [_random_matrix(3), _random_matrix(4)]
    whole = resample(mats, replicates=50, seed=9)
    monkeypatch.setattr(bootstrap, "_DRAWS_AT_ONCE", 7)  # a replicate or so at a time
    parts = resample(mats, replicates=50, seed=9)
    assert all(np.array_equal(a, b) for a, b in zip(whole, parts, strict=True))
    assert not np.array_equal(whole[0], resample(mats, replicates=50, seed=10)[0])
