"""Intervals and empirical Bayes, against independent computations: Poisson tail
probabilities solved by root finding, the Wilson score equation solved as a quadratic,
published table values, and PySAL esda's Empirical_Bayes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.stats import norm, poisson

from safetygap.geo.uncertainty import (
    empirical_bayes,
    empirical_bayes_many,
    poisson_interval,
    wilson_interval,
)


def _garwood_by_root(c: int, alpha: float = 0.05) -> tuple[float, float]:
    """The exact interval from its definition: P(X >= c | low) = P(X <= c | high) = α/2."""
    low = 0.0 if c == 0 else brentq(lambda m: poisson.sf(c - 1, m) - alpha / 2, 1e-12, 10 * c + 10)
    high = brentq(lambda m: poisson.cdf(c, m) - alpha / 2, 1e-12, 10 * c + 50)
    return low, high


@pytest.mark.parametrize("c", [0, 1, 2, 5, 10, 37, 250])
def test_poisson_interval_matches_its_definition(c):
    low, high = poisson_interval(np.array([c]), 1.0)
    lo, hi = _garwood_by_root(c)
    assert low[0] == pytest.approx(lo, abs=1e-9)
    assert high[0] == pytest.approx(hi, rel=1e-9)


def test_poisson_interval_table_values_and_exposure():
    # published exact 95% limits: 0 -> (0, 3.689), 1 -> (0.0253, 5.572), 10 -> (4.795, 18.39)
    low, high = poisson_interval(np.array([0.0, 1.0, 10.0]), np.array([1.0, 1.0, 2.0]))
    assert low == pytest.approx([0.0, 0.0253, 4.795 / 2], abs=5e-4)
    assert high == pytest.approx([3.689, 5.572, 18.39 / 2], abs=5e-3)
    # no exposure, NaN count: no interval
    low, high = poisson_interval(np.array([3.0, np.nan]), np.array([0.0, 1.0]))
    assert np.isnan(low).all() and np.isnan(high).all()


def test_poisson_interval_level():
    l90, h90 = poisson_interval(np.array([10.0]), level=0.90)
    l95, h95 = poisson_interval(np.array([10.0]))
    assert l95[0] < l90[0] < 10 < h90[0] < h95[0]
    with pytest.raises(ValueError):
        poisson_interval(np.array([1.0]), level=1.5)


def _wilson_by_quadratic(k: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Roots in p0 of (k/n - p0)^2 = z^2 p0 (1 - p0) / n."""
    z = norm.ppf(1 - (1 - level) / 2)
    p = k / n
    a = 1 + z * z / n
    b = -(2 * p + z * z / n)
    c = p * p
    r = np.sort(np.roots([a, b, c]).real)
    return max(r[0], 0.0), min(r[1], 1.0)


@pytest.mark.parametrize("k,n", [(0, 10), (1, 10), (5, 10), (10, 10), (3, 1000), (47.5, 120)])
def test_wilson_matches_the_score_equation(k, n):
    low, high = wilson_interval(np.array([k]), np.array([n]))
    lo, hi = _wilson_by_quadratic(k, n)
    assert low[0] == pytest.approx(lo, abs=1e-12)
    assert high[0] == pytest.approx(hi, abs=1e-12)


def test_wilson_by_hand_and_undefined():
    # 0 of 10: (0, z^2 / (n + z^2)) = (0, 0.2775)
    low, high = wilson_interval(np.array([0.0, 1.0]), np.array([10.0, 0.0]))
    assert low[0] == 0.0 and high[0] == pytest.approx(0.27753, abs=1e-5)
    assert np.isnan(low[1]) and np.isnan(high[1])


def test_empirical_bayes_matches_esda():
    esda = pytest.importorskip("esda")
    rng = np.random.default_rng(3)
    b = rng.integers(300, 40_000, 60).astype(float)
    e = rng.poisson(b * rng.gamma(4, 0.01 / 4, 60)).astype(float)
    ours = empirical_bayes(e, b)
    theirs = esda.smoothing.Empirical_Bayes(e, b).r.ravel()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    # small areas move more toward the overall rate than large ones
    m = e.sum() / b.sum()
    pull = np.abs(ours - e / b) / np.maximum(np.abs(e / b - m), 1e-300)
    assert pull[np.argmin(b)] > pull[np.argmax(b)]
    many = empirical_bayes_many(np.vstack([e, e[::-1]]), b)
    np.testing.assert_allclose(many[0], ours, rtol=1e-12)
    np.testing.assert_allclose(many[1], empirical_bayes(e[::-1], b), rtol=1e-12)


def test_empirical_bayes_no_extra_variance_gives_the_overall_rate():
    # every area at the same rate: s2 = 0 < m / mean(b), prior variance 0 -> all shrink to m
    b = np.array([1000.0, 2000.0, 4000.0, np.nan, 0.0])
    e = np.array([10.0, 20.0, 40.0, 5.0, 1.0])
    out = empirical_bayes(e, b)
    assert out[:3] == pytest.approx([0.01, 0.01, 0.01])
    assert np.isnan(out[3:]).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 20_000)), min_size=2,
                max_size=30))
def test_empirical_bayes_lies_between_the_rate_and_the_mean(rows):
    e = np.array([r[0] for r in rows], dtype=float)
    b = np.array([r[1] for r in rows], dtype=float)
    eb = empirical_bayes(e, b)
    r, m = e / b, e.sum() / b.sum()
    assert np.all(eb >= np.minimum(r, m) - 1e-12) and np.all(eb <= np.maximum(r, m) + 1e-12)


def test_poisson_interval_is_the_chi_square_form_exactly():
    """Computed with scipy.special, the interval is bit for bit Ulm's chi-square form as
    scipy.stats evaluates it, integer and fractional (split) counts alike."""
    from scipy.stats import chi2

    c = np.array([0.0, 0.5, 1.0, 2.0, 3.25, 7.0, 10.0, 99.5, 1234.0, 5e5])
    e = np.array([1.0, 2.5, 0.3, 1.0, 4.0, 7.0, 1.5, 10.0, 3.0, 1e3])
    low, high = poisson_interval(c, e)
    a = 1 - 0.95
    want_low = np.where(c > 0, chi2.ppf(a / 2, 2 * np.maximum(c, 1e-300)) / 2, 0.0) / e
    want_high = chi2.ppf(1 - a / 2, 2 * c + 2) / 2 / e
    assert np.array_equal(low, want_low) and np.array_equal(high, want_high)
