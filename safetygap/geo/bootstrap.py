"""How sure a ranking is: a cluster bootstrap of the calls.

Calls are not independent: one incident brings several calls from one place on one day,
and a busy corner produces calls day after day. So the calls are resampled in
**clusters**: all calls in one ``cell_m`` grid cell (default 200 m) on one calendar day
form a cluster (calls without a date form one cluster per cell). Each replicate draws as
many clusters as there are, uniformly with replacement (Efron's bootstrap applied to
clusters, Davison & Hinkley 1997, section 3.8), and recounts every area's calls; areas'
populations and providers are held fixed, so the intervals show the uncertainty that
comes from the calls being a sample of what happens.

For each replicate the need measure, its terciles, the 3 x 3 class and the underserved
rank (:mod:`safetygap.geo.bivariate`) are recomputed exactly as for the estimate. Per area
the result gives the 90% percentile interval of its rank (``rank_low``, ``rank_high``),
the probability of being among the ``top`` (10) most underserved (``p_top``), the share
of replicates in which its class is the estimate's (``class_agreement``) and in which it
is underserved (``p_underserved``), and every replicate's class.

Vectorised: the clusters' counts are one sparse matrix (clusters x area-family columns);
identical clusters are grouped and the draws per group are one multinomial per replicate
(:func:`resample`), multiplied by the groups' counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from safetygap.geo.bivariate import (
    UNDERSERVED_CLASS,
    bivariate_class,
    terciles,
    underserved_rank,
)
from safetygap.geo.sorted_runs import MAX_MERGED, distinct_sorted, merge_sorted
from safetygap.geo.uncertainty import empirical_bayes_many

DEFAULT_REPLICATES = 200
DEFAULT_SEED = 20250101
DEFAULT_CELL_M = 200.0
DEFAULT_TOP = 10
INTERVAL = 0.90
"""Coverage of the rank interval (5th to 95th percentile)."""


def cluster_ids(x: np.ndarray, y: np.ndarray, day: np.ndarray, *,
                cell_m: float = DEFAULT_CELL_M) -> tuple[np.ndarray, int]:
    """Cluster of each call (grid cell of ``cell_m`` metres x ``day``) as 0..K-1, and K.

    ``x``, ``y`` in a projected CRS (metres; NaN: the call gets -1, no cluster), ``day``
    an integer day number (negative: no date, one cluster per cell)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    day = np.asarray(day, dtype=np.int64)
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.full(len(x), -1, dtype=np.int64)
    if not ok.any():
        return out, 0
    ix = np.floor(x[ok] / cell_m).astype(np.int64)
    iy = np.floor(y[ok] / cell_m).astype(np.int64)
    ix -= ix.min()
    iy -= iy.min()
    d = np.where(day[ok] >= 0, day[ok] - day[ok][day[ok] >= 0].min(initial=0) + 1, 0)
    key = (d * (int(iy.max()) + 1) + iy) * (int(ix.max()) + 1) + ix
    _, inv = np.unique(key, return_inverse=True)
    out[ok] = inv
    return out, int(inv.max()) + 1


def cluster_matrix(cluster: np.ndarray, column: np.ndarray, n_clusters: int, n_columns: int,
                   weight: np.ndarray | None = None) -> sparse.csr_matrix:
    """Sparse (clusters x columns) sums of ``weight`` (default 1 per call); calls with a
    negative cluster or column are left out."""
    cluster = np.asarray(cluster, dtype=np.int64)
    column = np.asarray(column, dtype=np.int64)
    ok = (cluster >= 0) & (column >= 0)
    w = np.ones(int(ok.sum())) if weight is None else np.asarray(weight, dtype=float)[ok]
    m = sparse.coo_matrix((w, (cluster[ok], column[ok])), shape=(n_clusters, n_columns))
    return m.tocsr()


_BITS_DAY, _BITS_CELL = 18, 23
_HALF = 1 << (_BITS_CELL - 1)


class ClusterCounts:
    """The matrices of :func:`cluster_matrix` (one per level, the clusters of
    :func:`cluster_ids`) made a batch of calls at a time, for whole calls (weight 1):
    what the streaming engine keeps instead of every call's cell, day and areas.

    :func:`resample` depends on the number of clusters and on the rows of the clusters
    (which columns, what counts), not on how the clusters are numbered. So every cluster
    of every call with a place counts (its calls in no area too), new clusters are
    numbered after those seen before, and the counts of whole calls are integers, the
    same in any order. :meth:`add` the calls (``x``, ``y`` metres, ``day`` number, -1
    none) with, per matrix, the (call in the batch, column) pairs to count;
    :meth:`matrices` gives the (clusters x columns) matrices. Memory: the distinct
    clusters and (cluster, column) pairs, not the calls. Fractional weights (the
    ``split`` policy) are not summed here: :func:`cluster_matrix` adds a cluster's shares
    in scipy's sorting order, which a batch cannot know.
    """

    def __init__(self, n_columns: tuple[int, ...], *, cell_m: float = DEFAULT_CELL_M,
                 origin: tuple[float, float] | None = None) -> None:
        self.n_columns = n_columns
        self.cell_m = cell_m
        # the cell keys count from this cell: the first call's, or ``origin``'s (metres, in
        # the calls' CRS) when given, so that counts made apart code a cell alike (merge)
        self._ref: tuple[int, int] | None = (
            None if origin is None
            else (math.floor(origin[0] / cell_m), math.floor(origin[1] / cell_m)))
        # every cluster's key and number, as sorted runs merged now and then (a merge of
        # everything at every batch would cost the clusters seen so far each time)
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        self._n_keys = 0
        self._odd: dict[tuple[int, int, int], int] = {}  # clusters whose key does not fit
        # per matrix the (cluster x column) keys and counts, merged likewise
        self._pairs: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in n_columns]

    @property
    def n_clusters(self) -> int:
        return self._n_keys + len(self._odd)

    def _cluster(self, x: np.ndarray, y: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Each call's cluster number (-1: no place), numbering new clusters."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        day = np.asarray(day, dtype=np.int64)
        out = np.full(len(x), -1, dtype=np.int64)
        ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        if not len(ok):
            return out
        ix = np.floor(x[ok] / self.cell_m).astype(np.int64)
        iy = np.floor(y[ok] / self.cell_m).astype(np.int64)
        d = np.where(day[ok] >= 0, day[ok] + 1, 0)
        if self._ref is None:
            self._ref = (int(ix[0]), int(iy[0]))
        ix -= self._ref[0]
        iy -= self._ref[1]
        fits = (np.abs(ix) < _HALF) & (np.abs(iy) < _HALF) & (d < (1 << _BITS_DAY))
        key = ((d.astype(np.uint64) << np.uint64(2 * _BITS_CELL))
               | ((iy + _HALF).astype(np.uint64) << np.uint64(_BITS_CELL))
               | (ix + _HALF).astype(np.uint64))
        found = np.full(len(ok), -1, dtype=np.int64)
        k = key[fits]
        u = np.sort(k)
        u = u[np.concatenate([[True], u[1:] != u[:-1]])] if len(u) else u
        uid = self._lookup(u)
        new = uid < 0
        if new.any():  # numbered after every cluster seen before
            uid[new] = self.n_clusters + np.arange(int(new.sum()), dtype=np.int64)
            narrow = np.int32 if self.n_clusters + int(new.sum()) < 2**31 else np.int64
            _push(self._runs, (u[new], uid[new].astype(narrow)))  # 12 bytes a cluster
            self._n_keys += int(new.sum())
        found[fits] = uid[np.searchsorted(u, k)]
        for j in np.flatnonzero(~fits):
            t = (int(d[j]), int(iy[j]), int(ix[j]))
            found[j] = self._odd.setdefault(t, self.n_clusters)
        out[ok] = found
        return out

    def add(self, x: np.ndarray, y: np.ndarray, day: np.ndarray,
            pairs: list[tuple[np.ndarray, np.ndarray]]) -> ClusterCounts:
        """Add a batch: its calls' places and days, and per matrix the (call, column)
        pairs to count once each (negative columns left out)."""
        cluster = self._cluster(x, y, day)
        for i, (call, column) in enumerate(pairs):
            c = cluster[np.asarray(call, dtype=np.int64)]
            col = np.asarray(column, dtype=np.int64)
            ok = (c >= 0) & (col >= 0)
            key = c[ok] * self.n_columns[i] + col[ok]
            if not len(key):
                continue
            key = np.sort(key)
            first = np.flatnonzero(distinct_sorted(key))
            _push(self._pairs[i], (key[first],  # a count in 4 bytes: 12 bytes a pair
                                   np.diff(np.append(first, len(key))).astype(np.int32)))
        return self

    def merge(self, other: ClusterCounts) -> ClusterCounts:
        """Add ``other``'s clusters and counts, as if its calls came after these (in
        place; returns self). Afterwards equal to one :class:`ClusterCounts` that added
        these batches then ``other``'s: the same clusters, numbered alike (a cluster both
        saw keeps this one's number; ``other``'s new ones follow in ``other``'s order,
        as adding its batches would number them), the same counts. Both need the same
        columns, cell size and reference cell (made with the same ``origin``; one that
        saw no placed call has none yet and takes the other's). Memory: a number per
        cluster of ``other`` and one of its runs at a time, no array over the keys.
        ``other`` is not changed (but should not be used afterwards)."""
        if tuple(self.n_columns) != tuple(other.n_columns) or self.cell_m != other.cell_m:
            raise ValueError(f"cluster counts of columns {other.n_columns} and cells of "
                             f"{other.cell_m} m merged into {self.n_columns}, "
                             f"{self.cell_m} m")
        if self._ref is not None and other._ref is not None and self._ref != other._ref:
            raise ValueError(f"cluster counts keyed from cell {other._ref} merged into "
                             f"counts keyed from cell {self._ref}: make both with the "
                             "same origin")
        if other.n_clusters == 0:
            return self
        if self._ref is None:
            self._ref = other._ref
        k = self.n_clusters
        # other's cluster number -> this one's (-1: new here, numbered below)
        to_self = np.full(other.n_clusters, -1, dtype=np.int64)
        fresh: list[tuple[np.ndarray, np.ndarray]] = []  # other's new keys with its numbers
        for keys, ids in other._runs:
            found = self._lookup(keys)
            to_self[ids[found >= 0]] = found[found >= 0]
            fresh.append((keys[found < 0], ids[found < 0]))
        odd_fresh = []
        for t, i in other._odd.items():
            if t in self._odd:
                to_self[i] = self._odd[t]
            else:
                odd_fresh.append((t, i))
        new = to_self < 0  # numbered after these clusters, in other's order
        to_self[new] = k + np.arange(int(new.sum()), dtype=np.int64)
        narrow = np.int32 if k + int(new.sum()) < 2**31 else np.int64
        for keys, ids in fresh:
            if len(keys):
                _push(self._runs, (keys, to_self[ids].astype(narrow)))
                self._n_keys += len(keys)
        for t, i in odd_fresh:
            self._odd[t] = int(to_self[i])
        for i, n_col in enumerate(self.n_columns):
            for pairs, counts in other._pairs[i]:  # a run (at most MAX_MERGED keys) at a time
                key = to_self[pairs // n_col]
                key *= n_col
                key += pairs % n_col
                order = np.argsort(key)  # distinct keys: numbers map one to one
                key = key[order]
                _push(self._pairs[i], (key, counts[order]))
                del order
        return self

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        """The cluster number of each of sorted distinct ``keys`` (-1: not seen)."""
        uid = np.full(len(keys), -1, dtype=np.int64)
        for run_keys, ids in self._runs:
            if not len(run_keys):
                continue
            pos = np.minimum(np.searchsorted(run_keys, keys), len(run_keys) - 1)
            hit = run_keys[pos] == keys
            uid[hit] = ids[pos[hit]]
        return uid

    def matrices(self) -> list[sparse.csr_matrix]:
        """Per matrix the (clusters x columns) counts: :func:`cluster_matrix` of every
        call added, up to the clusters' numbering. The last call: the runs are let go
        as the matrices are made (memory), so nothing can be added after."""
        k = self.n_clusters
        self._runs = []  # the clusters' keys are not needed any more: let go first
        out = []
        for i, n_col in enumerate(self.n_columns):
            runs = self._pairs[i]
            while len(runs) > 1:
                b, a = runs.pop(), runs.pop()
                runs.append(_combined(a, b))
            pairs, counts = runs.pop() if runs else (np.zeros(0, dtype=np.int64),
                                                     np.zeros(0, dtype=np.int32))
            # sorted by row then column, distinct: each row's start found, no row array
            indptr = np.searchsorted(pairs, np.arange(k + 1, dtype=np.int64) * n_col)
            col = (pairs % n_col).astype(np.int32)
            del pairs
            data = counts.astype(float)
            del counts
            out.append(sparse.csr_matrix((data, col, indptr), shape=(k, n_col)))
        return out


def _push(runs: list[tuple[np.ndarray, np.ndarray]], run: tuple[np.ndarray, np.ndarray]
          ) -> None:
    """Add a sorted run of distinct keys with values; the last two runs are combined
    while the last is at least half the one before (a binary counter: about log2(n)
    runs, each key merged log2(n) times in all, not once per batch), up to
    :data:`~safetygap.geo.sorted_runs.MAX_MERGED` keys. Cluster keys are distinct across
    runs; a (cluster, column) pair may be in several runs: :meth:`matrices` adds them."""
    runs.append(run)
    while (len(runs) > 1 and 2 * len(runs[-1][0]) >= len(runs[-2][0])
           and len(runs[-1][0]) + len(runs[-2][0]) <= MAX_MERGED):
        b, a = runs.pop(), runs.pop()
        runs.append(_combined(a, b))


def _combined(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
              ) -> tuple[np.ndarray, np.ndarray]:
    """Two runs as one (a key in both: values added)."""
    keys, values = merge_sorted(a[0], b[0], a_values=a[1], b_values=b[1])
    assert values is not None
    return keys, values


def resample(matrices: list[sparse.csr_matrix], *, replicates: int = DEFAULT_REPLICATES,
             seed: int = DEFAULT_SEED) -> list[np.ndarray]:
    """Bootstrap column sums of each matrix (same clusters): one (replicates x columns)
    array per matrix. The same draws serve every matrix (e.g. neighborhoods and wards).

    Drawing K clusters uniformly with replacement gives each cluster a multinomial
    number of copies. Clusters whose rows are identical in every matrix (e.g. one
    response call in one neighborhood and ward) are interchangeable, so only how many
    draws land in each group of identical clusters matters, and that is
    Multinomial(K, size of the group / K): exactly the same distribution as drawing the
    clusters one by one, at a cost of one multinomial over the (far fewer) distinct rows.
    """
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    k = matrices[0].shape[0]
    out = [np.zeros((replicates, m.shape[1])) for m in matrices]
    if k == 0:
        return out
    both = sparse.hstack(matrices, format="csr")
    group, first = _identical_rows(both)
    sizes = np.bincount(group).astype(float)
    rng = np.random.default_rng(seed)
    reps = both[first].T.tocsr()  # (columns x groups)
    del both
    # the draws a few replicates at a time (the same numbers as all at once: the
    # generator draws them replicate after replicate), so memory holds at most about
    # _DRAWS_AT_ONCE draws, not replicates x groups
    per = max(1, _DRAWS_AT_ONCE // len(sizes))
    sums = np.concatenate([
        (reps @ rng.multinomial(k, sizes / sizes.sum(), size=min(per, replicates - a))
         .astype(np.float64).T).T for a in range(0, replicates, per)])
    start = 0
    for i, m in enumerate(matrices):
        out[i] = np.asarray(sums[:, start:start + m.shape[1]])
        start += m.shape[1]
    return out


_DRAWS_AT_ONCE = 4_000_000
"""Multinomial draws :func:`resample` holds at once (8 bytes each, twice)."""


def _identical_rows(m: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Group of each row (rows with the same columns and values share one) and the first
    row of each group. Rows are hashed by two random projections, then every row is
    checked against its group's first row, so a hash collision can never merge rows."""
    if not m.has_canonical_format:  # a copy put in canonical form (the caller's kept)
        m = m.copy()
        m.sum_duplicates()
        m.sort_indices()
    rng = np.random.default_rng(0)
    proj = rng.uniform(0.5, 1.5, (m.shape[1], 2))
    h = np.asarray(m @ proj)
    key = h[:, 0] + 1j * h[:, 1]  # one sortable value per row
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    group = group.ravel()
    step = 1 << 20  # rows compared a million at a time (not a copy of the whole matrix)
    if any(abs(m[a:a + step] - m[first[group[a:a + step]]]).sum() > 0
           for a in range(0, m.shape[0], step)):  # pragma: no cover - a hash collision
        keys: dict[tuple, int] = {}
        firsts: list[int] = []
        group = np.empty(m.shape[0], dtype=np.int64)
        for i in range(m.shape[0]):
            sl = slice(m.indptr[i], m.indptr[i + 1])
            key = (*m.indices[sl], *m.data[sl])
            g = keys.setdefault(key, len(firsts))
            if g == len(firsts):
                firsts.append(i)
            group[i] = g
        first = np.array(firsts, dtype=np.int64)
    return group, first


@dataclass(frozen=True)
class RankUncertainty:
    """Bootstrap results of one family over the areas of one level."""

    rank_low: np.ndarray
    rank_high: np.ndarray
    p_top: np.ndarray
    class_agreement: np.ndarray
    p_underserved: np.ndarray
    classes: np.ndarray
    """(replicates x areas) class of every replicate (0: not ranked)."""
    ranks: np.ndarray
    """(replicates x areas) underserved rank of every replicate (NaN: not ranked)."""


def rank_uncertainty(counts: np.ndarray, exposure: np.ndarray, *, ranked: np.ndarray,
                     access_tercile: np.ndarray, estimate_class: np.ndarray,
                     top: int = DEFAULT_TOP, scale: float = 1.0) -> RankUncertainty:
    """From replicate counts (replicates x areas) of one family: need = the empirical-Bayes
    rate of ``counts`` over ``exposure`` x ``scale``, its terciles over the ``ranked``
    areas, the class with the fixed ``access_tercile``, and the rank (see the module
    docstring); ``estimate_class`` is the class of the estimate."""
    need = empirical_bayes_many(counts, exposure) * scale
    nt = terciles(need, ranked)
    classes = bivariate_class(nt, np.broadcast_to(access_tercile, nt.shape))
    ranks = underserved_rank(need, nt, access_tercile)
    has = np.isfinite(ranks).any(axis=0)
    lo = (1 - INTERVAL) / 2
    with np.errstate(all="ignore"):
        q = np.full((2, ranks.shape[1]), np.nan)
        if has.any():
            q[:, has] = np.nanquantile(ranks[:, has], [lo, 1 - lo], axis=0,
                                       method="inverted_cdf")
    p_top = np.where(has, (ranks <= top).mean(axis=0), np.nan)
    agree = np.where(has, (classes == np.asarray(estimate_class)[None, :]).mean(axis=0),
                     np.nan)
    p_under = np.where(has, (classes == UNDERSERVED_CLASS).mean(axis=0), np.nan)
    return RankUncertainty(q[0], q[1], p_top, agree, p_under, classes.astype(np.int8), ranks)
