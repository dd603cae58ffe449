"""Intervals and smoothing for small numbers.

* :func:`poisson_interval`: the exact (Garwood 1936) interval of a Poisson count, in the
  chi-square form of Ulm (1990): for ``c`` events
  ``low = chi2.ppf(α/2, 2c) / 2`` (0 when c = 0) and
  ``high = chi2.ppf(1 - α/2, 2c + 2) / 2``, divided by the exposure to give a rate
  interval. Fractional counts (calls shared between areas under the ``split``
  boundary policy) use the same formula with non-integer degrees of freedom.
* :func:`wilson_interval`: the Wilson (1927) score interval of a share ``k / n``.
* :func:`empirical_bayes`: Marshall's (1991) global empirical-Bayes estimate of rates,
  shrinking each area's rate toward the overall rate by how little its exposure says
  (the moment estimator PySAL ``esda.smoothing.Empirical_Bayes`` implements).

All functions are vectorised over areas and leave NaN where a value is undefined (no
exposure, no denominator).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincinv, ndtri

# scipy.special, not scipy.stats: importing scipy.stats costs the analysis about half a
# second. chi2.ppf(q, 2c) / 2 is gammaincinv(c, q) (scipy.stats computes it so:
# 2 * gammaincinv(df / 2, q)) and norm.ppf is ndtri; tests compare with scipy.stats.

DEFAULT_LEVEL = 0.95
"""Confidence level of every interval."""


def _alpha(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    return 1.0 - level


def poisson_interval(count: np.ndarray, exposure: np.ndarray | float = 1.0, *,
                     level: float = DEFAULT_LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Exact two-sided Poisson interval of ``count / exposure``.

    ``count`` >= 0 events (float allowed), ``exposure`` > 0 (e.g. thousand resident-years);
    NaN where the exposure is not positive or the count is NaN.
    """
    a = _alpha(level)
    c = np.asarray(count, dtype=float)
    e = np.broadcast_to(np.asarray(exposure, dtype=float), c.shape)
    ok = np.isfinite(c) & (c >= 0) & np.isfinite(e) & (e > 0)
    low = np.full(c.shape, np.nan)
    high = np.full(c.shape, np.nan)
    cc = np.where(ok, c, 1.0)
    lo = np.where(cc > 0, gammaincinv(np.maximum(cc, 1e-300), a / 2), 0.0)
    hi = gammaincinv(cc + 1, 1 - a / 2)
    low[ok] = lo[ok] / e[ok]
    high[ok] = hi[ok] / e[ok]
    return low, high


def wilson_interval(k: np.ndarray, n: np.ndarray, *,
                    level: float = DEFAULT_LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the share ``k / n`` (NaN where ``n`` is not positive).

    ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``z`` the normal
    quantile of ``1 - α/2``; clipped to [0, 1] against rounding.
    """
    z = ndtri(1 - _alpha(level) / 2)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    ok = np.isfinite(k) & np.isfinite(n) & (n > 0)
    nn = np.where(ok, n, 1.0)
    p = np.where(ok, k, 0.0) / nn
    centre = (p + z * z / (2 * nn)) / (1 + z * z / nn)
    half = z * np.sqrt(np.maximum(p * (1 - p) / nn + z * z / (4 * nn * nn), 0.0)) / (
        1 + z * z / nn)
    low = np.where(ok, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(ok, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def empirical_bayes(events: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Marshall (1991) global empirical-Bayes rates (events per unit of exposure).

    Over the areas with positive exposure: overall rate ``m = Σe / Σb``, weighted
    variance ``s² = Σ b_i (r_i - m)² / Σb``, prior variance ``a = s² - m / b̄``
    (0 when negative), and for each area ``w_i = a / (a + m / b_i)``,
    ``EB_i = w_i r_i + (1 - w_i) m``. When every rate is the same (a = 0 and m = 0)
    the rates are returned as they are. NaN where the exposure is not positive.
    """
    e = np.asarray(events, dtype=float)
    b = np.asarray(exposure, dtype=float)
    ok = np.isfinite(e) & np.isfinite(b) & (b > 0)
    out = np.full(e.shape, np.nan)
    if not ok.any():
        return out
    ee, bb = e[ok], b[ok]
    r = ee / bb
    m = ee.sum() / bb.sum()
    s2 = (bb * (r - m) ** 2).sum() / bb.sum()
    a = max(s2 - m / bb.mean(), 0.0)
    denom = a + m / bb
    w = np.divide(a, denom, out=np.ones_like(bb), where=denom > 0)
    out[ok] = w * r + (1 - w) * m
    return out


def empirical_bayes_many(events: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """:func:`empirical_bayes` of each row of ``events`` (replicates x areas) with one
    ``exposure`` per area, vectorised over the rows."""
    e = np.asarray(events, dtype=float)
    b = np.asarray(exposure, dtype=float)
    ok = np.isfinite(b) & (b > 0)
    out = np.full(e.shape, np.nan)
    if not ok.any():
        return out
    ee, bb = e[:, ok], b[ok]
    r = ee / bb
    m = ee.sum(axis=1, keepdims=True) / bb.sum()
    s2 = (bb * (r - m) ** 2).sum(axis=1, keepdims=True) / bb.sum()
    a = np.maximum(s2 - m / bb.mean(), 0.0)
    denom = a + m / bb
    w = np.divide(np.broadcast_to(a, denom.shape), denom, out=np.ones_like(denom),
                  where=denom > 0)
    out[:, ok] = w * r + (1 - w) * m
    return out
