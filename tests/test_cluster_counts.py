"""ClusterCounts: the bootstrap's cluster matrices a batch at a time give the very
replicate counts of the matrices of every call at once."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ------------------------------------------------------------------ merge (dask workers)

ORIGIN = (480_000.0, 4_980_000.0)


def _batch(x, y, day, pairs, a: int, b: int):
    return (x[a:b], y[a:b], day[a:b],
            [(c[(c >= a) & (c < b)] - a, col[(c >= a) & (c < b)]) for c, col in pairs])


def _same_matrices(got, want) -> None:
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        assert np.array_equal(g.indptr, w.indptr) and np.array_equal(g.indices, w.indices)
        assert np.array_equal(g.data, w.data)


@pytest.mark.parametrize(("seed", "max_merged"),
                         [(1, None), (2, None), (3, None), (4, 200), (5, 200)])
def test_merged_workers_equal_one_count_of_every_batch(seed: int, max_merged: int | None,
                                                       monkeypatch) -> None:
    """The calls cut at random places into 2-4 workers (each made with the same origin,
    adding its part in uneven batches); merged in order they are the ClusterCounts of
    every batch: the same clusters, numbered alike, the same matrices and replicates (and
    those of all calls at once). Clusters seen by several workers count once, far-away
    ones ("odd": outside the packed key) too."""
    if max_merged is not None:
        from safetygap.geo import bootstrap
        monkeypatch.setattr(bootstrap, "MAX_MERGED", max_merged)
    rng = np.random.default_rng(seed)
    x, y, day, pairs, n_cols = _calls(seed)
    n = len(x)
    # the last calls repeat the first two far-away ones' cells and days (odd clusters seen
    # by the first and the last worker) and a near one's
    for j, i in ((n - 1, 0), (n - 2, 1), (n - 3, 5)):
        x[j], y[j], day[j] = x[i], y[i], day[i]
    seq = ClusterCounts(n_cols, cell_m=250.0, origin=ORIGIN)
    workers = []
    k = int(rng.integers(2, 5))
    ends = [*sorted(int(v) for v in rng.integers(0, n + 1, k - 1)), n]
    for a, b in zip([0, *ends[:-1]], ends, strict=True):
        w = ClusterCounts(n_cols, cell_m=250.0, origin=ORIGIN)
        cuts = [a, *sorted(int(v) for v in rng.integers(a, b + 1, int(rng.integers(0, 6)))), b]
        for p, q in itertools.pairwise(cuts):
            w.add(*_batch(x, y, day, pairs, p, q))
            seq.add(*_batch(x, y, day, pairs, p, q))
        workers.append(w)
    assert sum(w.n_clusters for w in workers) > seq.n_clusters  # clusters shared
    assert sum(len(w._odd) for w in workers) > len(seq._odd) >= 2  # odd ones shared too
    merged = workers[0]
    for w in workers[1:]:
        assert merged.merge(w) is merged
    assert merged.n_clusters == seq.n_clusters
    mats, want = merged.matrices(), seq.matrices()
    _same_matrices(mats, want)
    cluster, n_clusters = cluster_ids(x, y, day, cell_m=250.0)
    whole = [cluster_matrix(cluster[c], col, n_clusters, m)
             for (c, col), m in zip(pairs, n_cols, strict=True)]
    assert n_clusters == seq.n_clusters
    for got, ref in zip(resample(mats, replicates=40, seed=3),
                        resample(whole, replicates=40, seed=3), strict=True):
        assert np.array_equal(got, ref)


def test_merge_with_workers_of_no_calls_and_refusals() -> None:
    x, y, day, pairs, n_cols = _calls(7, n=800)
    want = ClusterCounts(n_cols, cell_m=250.0).add(x, y, day, pairs)
    none = ([], [], [], [(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))] * 2)
    # no origin: an empty worker (no reference cell yet) takes the other's, on either side
    merged = ClusterCounts(n_cols, cell_m=250.0)
    merged.merge(ClusterCounts(n_cols, cell_m=250.0).add(*none))
    merged.merge(ClusterCounts(n_cols, cell_m=250.0).add(x, y, day, pairs))
    merged.merge(ClusterCounts(n_cols, cell_m=250.0).add(*none))
    assert merged.n_clusters == want.n_clusters
    _same_matrices(merged.matrices(), want.matrices())
    # unplaced calls only: no cluster, no reference cell
    nan = np.full(3, np.nan)
    unplaced = ClusterCounts(n_cols, cell_m=250.0).add(nan, nan, np.zeros(3, dtype=int),
                                                       none[3])
    assert unplaced._ref is None and unplaced.n_clusters == 0
    # workers without a common origin key their cells from their first calls: refused
    a = ClusterCounts(n_cols, cell_m=250.0).add(x[:400], y[:400], day[:400], none[3])
    b = ClusterCounts(n_cols, cell_m=250.0).add(x[400:], y[400:], day[400:], none[3])
    with pytest.raises(ValueError, match="origin"):
        a.merge(b)
    with pytest.raises(ValueError, match="250"):
        ClusterCounts(n_cols, cell_m=250.0).merge(ClusterCounts(n_cols, cell_m=200.0))
    with pytest.raises(ValueError, match="columns"):
        ClusterCounts(n_cols, cell_m=250.0).merge(ClusterCounts((1, 2), cell_m=250.0))


def test_origin_sets_the_reference_cell() -> None:
    assert ClusterCounts((3,), cell_m=250.0, origin=(-1.0, 500.0))._ref == (-1, 2)
    assert ClusterCounts((3,), cell_m=200.0, origin=ORIGIN)._ref == (2400, 24900)
    assert ClusterCounts((3,), cell_m=250.0)._ref is None
    # the same clusters from any origin (only the packing of the keys changes)
    x, y, day, pairs, n_cols = _calls(8, n=1000)
    made = [ClusterCounts(n_cols, cell_m=250.0, origin=o).add(x, y, day, pairs)
            for o in (None, ORIGIN, (-1.5e9, 0.0))]
    assert len({m.n_clusters for m in made}) == 1
    assert len(made[2]._odd) == made[2].n_clusters > len(made[1]._odd)  # none fit
    reps = [resample(m.matrices(), replicates=20, seed=1) for m in made]
    for r in reps[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(r, reps[0], strict=True))


_call = st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(-1, 3), st.booleans(),
                  st.integers(-1, 4))
"""A call: cell x, cell y, day (-1 none), far away (its key does not fit), column."""


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_call, max_size=8), max_size=8), st.lists(st.integers(0, 8),
                                                                   max_size=3))
def test_merge_equals_one_count_for_any_batches_and_workers(batches, cuts):
    """Hypothesis: batches of calls on a small grid (far-away ones too) shared among
    workers at any cuts: merged, the matrices of one ClusterCounts of every batch, to
    the cluster numbers."""
    def arrays(batch):
        x = np.array([5e9 + c[0] if c[3] else c[0] + 0.5 for c in batch], dtype=float)
        y = np.array([c[1] + 0.5 for c in batch], dtype=float)
        day = np.array([c[2] for c in batch], dtype=np.int64)
        col = np.array([c[4] for c in batch], dtype=np.int64)
        call = np.arange(len(batch))
        return x, y, day, [(call, col), (call[::2], col[::2])]

    seq = ClusterCounts((5, 5), cell_m=1.0, origin=(0.0, 0.0))
    for b in batches:
        seq.add(*arrays(b))
    ends = [*sorted(min(c, len(batches)) for c in cuts), len(batches)]
    merged = None
    for a, e in zip([0, *ends[:-1]], ends, strict=True):
        w = ClusterCounts((5, 5), cell_m=1.0, origin=(0.0, 0.0))
        for b in batches[a:e]:
            w.add(*arrays(b))
        merged = w if merged is None else merged.merge(w)
    assert merged.n_clusters == seq.n_clusters
    _same_matrices(merged.matrices(), seq.matrices())
