"""merge_sorted against np.union1d and a dictionary of sums (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from safetygap.geo.sorted_runs import distinct_sorted, merge_sorted

runs = st.lists(st.integers(0, 60), max_size=40).map(lambda v: np.unique(np.array(v,
                                                                            dtype=np.int64)))


@settings(max_examples=200, deadline=None)
@given(runs, runs, st.integers(0, 10**6))
def test_merge_is_the_union_with_summed_values(a, b, seed):
    rng = np.random.default_rng(seed)
    av = rng.integers(1, 9, len(a))
    bv = rng.integers(1, 9, len(b))
    want: dict[int, int] = {}
    for k, v in [*zip(a.tolist(), av.tolist(), strict=True),
                 *zip(b.tolist(), bv.tolist(), strict=True)]:
        want[k] = want.get(k, 0) + v
    keys, values = merge_sorted(a, b, a_values=av.copy(), b_values=bv)
    assert keys.tolist() == np.union1d(a, b).tolist() == sorted(want)
    assert values.tolist() == [want[k] for k in sorted(want)]
    assert merge_sorted(a, b)[0].tolist() == keys.tolist()
    assert merge_sorted(a, b)[1] is None


def test_distinct_sorted():
    v = np.array([1, 1, 2, 5, 5, 5, 7], dtype=np.uint64)
    assert v[distinct_sorted(v)].tolist() == [1, 2, 5, 7]
    assert distinct_sorted(np.zeros(0)).tolist() == []
