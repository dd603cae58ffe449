"""ClusterCounts: the bootstrap's cluster matrices a batch at a time give the very
replicate counts of the matrices of every call at once."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from safetygap.geo.bootstrap import ClusterCounts, cluster_ids, cluster_matrix, resample


def _calls(seed: int, n: int = 6000):
    rng = np.random.default_rng(seed)
    x = rng.normal(480_000, 900, n)
    y = rng.normal(4_980_000, 900, n)
    x[rng.choice(n, 40, replace=False)] = np.nan  # no place: no cluster
    x[:3] = [2e9, -3e9, 480_100.0]  # far away (outside the packed key), and a neighbour
    day = rng.integers(19_000, 19_030, n)
    day[rng.choice(n, 300, replace=False)] = -1  # undated: one cluster per cell
    n_areas, nf = (7, 4), 3
    pairs = []
    for a in n_areas:  # each call counted in an area and a family, or not at all
        area = rng.integers(-1, a, n)
        fam = rng.integers(0, nf + 1, n)
        keep = (area >= 0) & (fam < nf) & np.isfinite(x) & (np.abs(x) < 1e9)
        call = np.flatnonzero(keep)
        pairs.append((call, area[call] * nf + fam[call]))
    return x, y, day, pairs, tuple(a * nf for a in n_areas)


@pytest.mark.parametrize(("seed", "step", "max_merged"),
                         [(1, None, None), (2, None, None), (3, 61, None), (4, 61, 200)])
def test_batches_give_the_replicates_of_all_calls_at_once(
        seed: int, step: int | None, max_merged: int | None, monkeypatch) -> None:
    """... also when the runs stay several of at most ``max_merged`` keys."""
    if max_merged is not None:
        from safetygap.geo import bootstrap
        monkeypatch.setattr(bootstrap, "MAX_MERGED", max_merged)
    x, y, day, pairs, n_cols = _calls(seed)
    cluster, k = cluster_ids(x, y, day, cell_m=250.0)
    whole = [cluster_matrix(cluster[c], col, k, n) for (c, col), n in zip(pairs, n_cols,
                                                                          strict=True)]
    made = ClusterCounts(n_cols, cell_m=250.0)
    cuts = ([0, 1, 999, 1000, 4321, len(x)] if step is None  # uneven, or ~100 batches
            else [*range(0, len(x), step), len(x)])
    for a, b in itertools.pairwise(cuts):
        batch = [(c[(c >= a) & (c < b)] - a, col[(c >= a) & (c < b)]) for c, col in pairs]
        made.add(x[a:b], y[a:b], day[a:b], batch)
    mats = made.matrices()
    assert made.n_clusters == k
    for w, m in zip(whole, mats, strict=True):
        assert m.shape == w.shape and m.nnz == w.nnz
        # the same rows, numbered otherwise: sorted row contents agree
        def rows(mat):
            mat = mat.tocsr()
            return sorted(tuple(zip(mat.indices[mat.indptr[i]:mat.indptr[i + 1]].tolist(),
                                    mat.data[mat.indptr[i]:mat.indptr[i + 1]].tolist(),
                                    strict=True)) for i in range(mat.shape[0]))
        assert rows(w) == rows(m)
    for got, want in zip(resample(mats, replicates=50, seed=3),
                         resample(whole, replicates=50, seed=3), strict=True):
        assert np.array_equal(got, want)
    # and the check can fail: one call fewer counted gives other replicates
    fewer = [(c[1:], col[1:]) if i == 0 else (c, col) for i, (c, col) in enumerate(pairs)]
    other = ClusterCounts(n_cols, cell_m=250.0).add(x, y, day, fewer)
    assert not np.array_equal(resample(other.matrices(), replicates=50, seed=3)[0],
                              resample(whole, replicates=50, seed=3)[0])
