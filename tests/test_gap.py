"""Percentile ranks, the gap index and its classes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetygap.geo.gap import gap_classes, gap_index, percentile_rank


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([3.0, 1.0, 2.0], [1.0, 0.0, 0.5]),
        ([5.0, 5.0, 1.0], [0.75, 0.75, 0.0]),
        ([7.0], [0.5]),
        ([np.nan, 2.0, 1.0], [np.nan, 1.0, 0.0]),
        ([], []),
    ],
)
def test_percentile_rank(values, expected):
    assert percentile_rank(np.array(values)) == pytest.approx(np.array(expected), nan_ok=True)


def test_gap_high_need_low_access_is_most_underserved():
    need = np.array([10.0, 1.0, 5.0, np.nan])
    access = np.array([0.0, 3.0, 1.0, 2.0])
    gap = gap_index(need, access)
    assert gap[:3] == pytest.approx([1.0, -1.0, 0.0])
    assert np.isnan(gap[3])


def test_classes():
    gap = np.array([-0.9, -0.8, 0.0, 0.05, 0.8, 0.9, np.nan])
    classes, bins = gap_classes(gap, k=3)
    assert classes[-1] == 0
    assert list(classes[:6]) == [1, 1, 2, 2, 3, 3]
    assert bins[-1] == pytest.approx(0.9)
    one, _ = gap_classes(np.array([0.2, 0.2]))
    assert list(one) == [1, 1]
    none, b = gap_classes(np.array([np.nan]))
    assert list(none) == [0] and b == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1e6), st.just(float("nan"))), min_size=0, max_size=60),
       st.integers(0, 2**31 - 1))
def test_gap_in_range(need, seed):
    need = np.array(need, dtype=float)
    access = np.random.default_rng(seed).uniform(0, 10, len(need))
    gap = gap_index(need, access)
    ok = np.isfinite(gap)
    assert np.all((gap[ok] >= -1) & (gap[ok] <= 1))
    assert np.array_equal(ok, np.isfinite(need))
    classes, _ = gap_classes(gap)
    assert np.all((classes[ok] >= 1) & (classes[ok] <= 5)) and np.all(classes[~ok] == 0)


def test_gap_classes_float_noise_ties():
    """1 - 2/3 and 1/3 - 0 are the same gap though their floats differ: one class, and the
    class numbers run 1..n without a hole."""
    from safetygap.geo.gap import gap_classes

    g = np.array([1 / 3 - 0.0, 0.0, 1.0 - 2 / 3, -2 / 3])
    assert g[0] != g[2]
    cls, _ = gap_classes(g)
    assert cls[0] == cls[2]
    assert sorted(set(cls.tolist())) == [1, 2, 3]
