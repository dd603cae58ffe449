"""Sorted runs of distinct keys, merged in about the memory of the result.

What a batch-by-batch count keeps (the streaming engine's repeated-id hashes, the
bootstrap's clusters and (cluster, column) counts) is a few sorted runs of distinct keys,
combined as they grow. Concatenating two runs and sorting them again holds about five
times the result while it works; :func:`merge_sorted` puts the smaller run's keys into
their places instead (one binary search each), holding the two runs and the result.
"""

from __future__ import annotations

import numpy as np

MAX_MERGED = 1 << 22
"""Runs are merged only up to this many keys (32 MB of 8-byte keys): a run set of millions
of keys stays a few runs of this size, searched one after the other, rather than merged
into one whose merging would hold several times its size at once."""


def merge_sorted(a: np.ndarray, b: np.ndarray, *, a_values: np.ndarray | None = None,
                 b_values: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """The sorted distinct keys of runs ``a`` and ``b`` (each sorted, distinct), with
    their values when given: a key in both keeps ``a``'s place and gets the two values
    added (``a_values`` is changed in place)."""
    pos = np.searchsorted(a, b)
    hit = pos < len(a)
    hit[hit] = a[pos[hit]] == b[hit]
    if a_values is not None and b_values is not None and hit.any():
        np.add.at(a_values, pos[hit], b_values[hit])  # positions distinct: a plain add
    new = np.flatnonzero(~hit)
    at = pos[new] + np.arange(len(new))  # each new key's place in the result
    keys = np.empty(len(a) + len(new), dtype=np.result_type(a, b))
    from_a = np.ones(len(keys), dtype=bool)
    from_a[at] = False
    keys[at] = b[new]
    keys[from_a] = a
    values = None
    if a_values is not None and b_values is not None:
        values = np.empty(len(keys), dtype=np.result_type(a_values, b_values))
        values[at] = b_values[new]
        values[from_a] = a_values
    return keys, values


def distinct_sorted(values: np.ndarray) -> np.ndarray:
    """Boolean per element of a sorted array: the first of its value."""
    first = np.empty(len(values), dtype=bool)
    if len(values):
        first[0] = True
        np.not_equal(values[1:], values[:-1], out=first[1:])
    return first
