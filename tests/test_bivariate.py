"""Need/access terciles, the 3 x 3 class and the underserved order, by hand and against
pandas qcut and a plain sorted()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetygap.geo.bivariate import (
    CLASS_LABELS,
    UNDERSERVED_CLASS,
    bivariate_class,
    class_label,
    terciles,
    underserved_rank,
)


def test_terciles_match_qcut_on_distinct_values():
    rng = np.random.default_rng(1)
    v = rng.permutation(np.arange(30.0)) * 1.7
    ours = terciles(v, np.ones(30, bool))
    theirs = pd.qcut(v, 3, labels=[1, 2, 3]).astype(int)
    assert list(ours) == list(theirs)


def test_ties_share_a_tercile_and_unranked_get_zero():
    v = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, np.nan, 9.0])
    ranked = np.array([True] * 8 + [False])
    t = terciles(v, ranked)
    # 7 finite ranked values; four zeros share rank 2.5 -> p = 2/7 < 1/3: all low
    assert list(t) == [1, 1, 1, 1, 2, 3, 3, 0, 0]
    # float noise does not split ties
    assert len(set(terciles(np.array([0.1 + 0.2, 0.3, 5.0]), np.ones(3, bool))[:2])) == 1


def test_class_and_labels():
    assert list(bivariate_class([3, 1, 2, 0], [1, 3, 2, 2])) == [7, 3, 5, 0]
    assert class_label(UNDERSERVED_CLASS) == "high need, low access"
    assert class_label(3) == "low need, high access"
    assert class_label(0) == "not ranked"
    assert len(CLASS_LABELS) == 9


def test_underserved_order_by_hand():
    need = np.array([50.0, 90.0, 70.0, 10.0, 95.0, np.nan])
    nt = np.array([3, 3, 2, 1, 3, 0])
    at = np.array([1, 1, 1, 3, 2, 2])
    r = underserved_rank(need, nt, at)
    # score nt-at: 2, 2, 1, -2, 1; high-need/low-access first by need (B 90, A 50),
    # then score 1: E (need tercile 3) before C (2); D last; F not ranked
    assert list(r[:5]) == [2, 1, 4, 5, 3]
    assert np.isnan(r[5])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.integers(1, 3), st.integers(1, 3)),
                min_size=1, max_size=25))
def test_underserved_order_matches_sorted(rows):
    need = np.array([r[0] for r in rows])
    nt = np.array([r[1] for r in rows])
    at = np.array([r[2] for r in rows])
    r = underserved_rank(need, nt, at)
    keys = sorted(range(len(rows)), key=lambda i: (-(nt[i] - at[i]), -nt[i], -need[i], i))
    assert [int(r[i]) for i in keys] == list(range(1, len(rows) + 1))


def test_two_dimensional_rows_equal_one_dimensional_calls():
    rng = np.random.default_rng(5)
    need = rng.gamma(2, 10, (7, 40))
    need[:, 3] = np.nan
    ranked = np.ones(40, bool)
    ranked[[5, 6]] = False
    at = terciles(rng.uniform(0, 1, 40), ranked)
    nt2 = terciles(need, ranked)
    r2 = underserved_rank(need, nt2, at)
    for i in range(7):
        nt = terciles(need[i], ranked)
        assert list(nt2[i]) == list(nt)
        np.testing.assert_array_equal(r2[i], underserved_rank(need[i], nt, at))
    assert np.isnan(r2[:, [3, 5, 6]]).all()
    with pytest.raises(ValueError):
        bivariate_class([1, 2], [1, 2, 3])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.one_of(st.integers(0, 6).map(float), st.just(float("nan"))),
                         min_size=7, max_size=7), min_size=1, max_size=6),
       st.lists(st.booleans(), min_size=7, max_size=7))
def test_percentile_positions_are_rankdata_average_ranks(rows, ranked):
    """The positions are (average rank - 1/2) / n among each row's ranked finite values:
    scipy.stats.rankdata's average ranks (ties, NaN and unranked areas left out)."""
    from scipy.stats import rankdata

    from safetygap.geo.bivariate import percentile_positions

    v = np.array(rows)
    ok = np.array(ranked)[None, :] & np.isfinite(v)
    vv = np.where(ok, v, np.nan)
    n = ok.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.where(ok, (rankdata(vv, axis=1, nan_policy="omit") - 0.5) / n, np.nan)
    got = percentile_positions(v, np.array(ranked))
    assert np.array_equal(got, want, equal_nan=True)
