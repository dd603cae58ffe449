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


def _mapclassify(vals: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    import warnings

    mapclassify = pytest.importorskip("mapclassify")
    with warnings.catch_warnings():  # it warns when numba is absent
        warnings.simplefilter("ignore", UserWarning)
        fj = mapclassify.FisherJenks(vals, k=k)
    return fj.yb + 1, np.asarray(fj.bins, dtype=float)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    # gap-like values: differences of ranks, many ties and equally good splits
    st.lists(st.integers(-12, 12), min_size=2, max_size=70).map(
        lambda v: np.round(np.array(v, dtype=float) / 12.0, 12)),
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=70).map(np.array),
), st.integers(2, 7))
def test_fisher_jenks_equals_mapclassify(vals, k):
    """The classes and bounds are mapclassify.FisherJenks's (PySAL), computed independently
    by its own pure-Python loop: on tied, symmetric values (where several splits are
    equally good and the rule for choosing among them shows) and on random floats."""
    from safetygap.geo.gap import fisher_jenks_bins

    k = min(k, len(np.unique(vals)))
    if k < 2:
        return
    want_classes, want_bins = _mapclassify(vals, k)
    bins = fisher_jenks_bins(vals, k=k)
    assert np.array_equal(bins, want_bins)
    rounded = np.round(vals, 12)  # gap_classes ties values equal to 12 digits first
    k = min(k, len(np.unique(rounded)))
    if k < 2:
        return
    want_classes, want_bins = _mapclassify(rounded, k)
    classes, listed = gap_classes(vals, k=k)
    assert np.array_equal(classes, want_classes)
    assert listed == want_bins.tolist()


def test_fisher_jenks_by_hand():
    """Three obvious groups: the bounds are each group's largest value."""
    from safetygap.geo.gap import fisher_jenks_bins

    vals = np.array([1.0, 1.1, 0.9, 5.0, 5.2, 9.0, 9.1, 8.9])
    assert fisher_jenks_bins(vals, k=3).tolist() == [1.1, 5.2, 9.1]
