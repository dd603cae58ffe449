"""Margins of error of derived American Community Survey estimates.

The U.S. Census Bureau publishes ACS estimates with 90% margins of error (MOE). This module
carries them through sums, proportions and ratios with the Bureau's approximations
(*Understanding and Using American Community Survey Data: What All Data Users Need to Know*,
2020, chapter 8 "Calculating Measures of Error for Derived Estimates", and its worked
examples; formulas also in the ACS *Accuracy of the Data* documents):

- sum or difference ``A = sum x_i``: ``MOE_A = sqrt(sum MOE_i^2)``; when several of the
  ``x_i`` are zero, only the largest MOE among the zero estimates is counted;
- weighted sum ``sum w_i x_i`` (interpolation, apportioning): ``sqrt(sum (w_i MOE_i)^2)``
  (a constant times an estimate has MOE ``|w| MOE``);
- proportion ``p = x / y`` where ``x`` is a subset of ``y``:
  ``MOE_p = sqrt(MOE_x^2 - p^2 MOE_y^2) / y``, and when the value under the root is
  negative the ratio formula instead;
- ratio ``r = x / y`` (``x`` not a subset of ``y``): ``MOE_r = sqrt(MOE_x^2 + r^2 MOE_y^2) / y``;
- standard error ``SE = MOE / 1.645``; coefficient of variation ``CV = SE / estimate``.

Reliability follows the Bureau's and most data users' convention: CV below 12% reliable,
12% to 30% use with caution, above 30% unreliable (an estimate of zero has no finite CV and
is unreliable). The thresholds are settings of :func:`reliability`.

Every function is vectorised over numpy arrays; NaN in gives NaN out.
"""

from __future__ import annotations

import numpy as np

from safetygap.vocab import Reliability

Z90 = 1.645
"""The standard normal quantile of a two-sided 90% interval: ACS MOEs are Z90 x SE."""
CV_CAUTION = 0.12
"""CV at and above which an estimate is "use with caution"."""
CV_UNRELIABLE = 0.30
"""CV above which an estimate is "unreliable"."""

__all__ = [
    "CV_CAUTION",
    "CV_UNRELIABLE",
    "Z90",
    "coefficient_of_variation",
    "moe_proportion",
    "moe_ratio",
    "moe_sum",
    "moe_weighted_sum",
    "reliability",
    "standard_error",
]


def _arr(v: object) -> np.ndarray:
    return np.asarray(v, dtype=float)


def moe_sum(moes: object, estimates: object | None = None, *, axis: int = 0) -> np.ndarray:
    """MOE of a sum (or difference) of estimates: ``sqrt(sum MOE_i^2)`` along ``axis``.

    With ``estimates`` (same shape), the Bureau's rule for zero estimates applies: of the
    MOEs of estimates equal to 0 only the largest is counted. NaN MOEs propagate.
    """
    m = _arr(moes)
    if estimates is None:
        return np.sqrt(np.sum(m * m, axis=axis))
    e = _arr(estimates)
    zero = e == 0
    nonzero_sq = np.sum(np.where(zero, 0.0, m * m), axis=axis)
    zero_max = np.max(np.where(zero, m, 0.0), axis=axis, initial=0.0)
    nan = np.any(np.isnan(m), axis=axis)
    out = np.sqrt(nonzero_sq + zero_max * zero_max)
    return np.where(nan, np.nan, out)


def moe_weighted_sum(weights: object, moes: object, *, axis: int = 0) -> np.ndarray:
    """MOE of ``sum w_i x_i``: ``sqrt(sum (w_i MOE_i)^2)`` along ``axis`` (weights are
    constants: area or population shares of an interpolation)."""
    wm = _arr(weights) * _arr(moes)
    return np.sqrt(np.sum(wm * wm, axis=axis))


def moe_ratio(x: object, y: object, moe_x: object, moe_y: object) -> np.ndarray:
    """MOE of the ratio ``x / y`` when ``x`` is not a subset of ``y``:
    ``sqrt(MOE_x^2 + (x/y)^2 MOE_y^2) / y``. NaN where ``y`` is 0."""
    x, y, mx, my = map(_arr, (x, y, moe_x, moe_y))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(y != 0, x / y, np.nan)
        return np.where(y != 0, np.sqrt(mx * mx + r * r * my * my) / np.abs(y), np.nan)


def moe_proportion(x: object, y: object, moe_x: object, moe_y: object) -> np.ndarray:
    """MOE of the proportion ``p = x / y`` where ``x`` is a subset of ``y``:
    ``sqrt(MOE_x^2 - p^2 MOE_y^2) / y``; where the value under the root is negative, the
    ratio formula :func:`moe_ratio` (as the Bureau instructs). NaN where ``y`` is 0."""
    x, y, mx, my = map(_arr, (x, y, moe_x, moe_y))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(y != 0, x / y, np.nan)
        radicand = mx * mx - p * p * my * my
        under = np.where(radicand < 0, mx * mx + p * p * my * my, radicand)
        return np.where(y != 0, np.sqrt(under) / np.abs(y), np.nan)


def standard_error(moe: object) -> np.ndarray:
    """Standard error of an estimate from its 90% MOE: ``MOE / 1.645``."""
    return _arr(moe) / Z90


def coefficient_of_variation(estimate: object, moe: object) -> np.ndarray:
    """``CV = (MOE / 1.645) / estimate`` (a fraction: 0.3 is 30%). Infinite where the
    estimate is 0 and the MOE positive; NaN where either is NaN or both are 0."""
    e, m = _arr(estimate), _arr(moe)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(m / Z90 / e)


def reliability(cv: object, *, caution: float = CV_CAUTION,
                unreliable: float = CV_UNRELIABLE) -> np.ndarray:
    """Reliability label per CV (object array of :class:`~safetygap.vocab.Reliability`
    values): below ``caution`` reliable, ``caution`` to ``unreliable`` caution, above
    ``unreliable`` (or infinite) unreliable, NaN ``unknown``."""
    c = _arr(cv)
    out = np.full(c.shape, str(Reliability.UNKNOWN), dtype=object)
    finite_or_inf = ~np.isnan(c)
    out[finite_or_inf & (c < caution)] = str(Reliability.RELIABLE)
    out[finite_or_inf & (c >= caution) & (c <= unreliable)] = str(Reliability.CAUTION)
    out[finite_or_inf & (c > unreliable)] = str(Reliability.UNRELIABLE)
    return out
