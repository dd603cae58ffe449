"""Need against access in plain classes: terciles, a 3 x 3 class and the underserved order.

For one family over the areas of one level that are **ranked** (a population at or above
the small-population threshold and not flagged as mostly non-resident, see
:mod:`safetygap.geo.indices`):

* ``need_tercile`` and ``access_tercile``: 1 (low), 2 (middle), 3 (high) by average
  percentile rank ``p = (rank - ½) / n`` with ties sharing their rank: ``p < ⅓`` low,
  ``p < ⅔`` middle, else high. Ties never straddle a class, so 30 areas with access 0
  all get "low" (see :func:`terciles`).
* ``class`` = ``3 (need_tercile - 1) + access_tercile``, 1..9 (0: not ranked), with the
  label ``"<need> need, <access> access"`` (:data:`CLASS_LABELS`); class 7 is
  "high need, low access": the **underserved** areas.
* ``underserved_rank``: 1 = most underserved. Areas are ordered by the score
  ``need_tercile - access_tercile`` (2 for high need, low access ... -2 for low need,
  high access), then by need tercile, then by need itself, all descending; so the
  headline list (class 7) comes first, ordered by need, and every ranked area has a
  place. Areas not ranked get NaN.

Everything is vectorised over bootstrap replicates: a 2-D ``need`` (replicates x areas)
gives a row of classes and ranks per replicate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TIE_DIGITS = 12
"""Significant digits compared: values closer than this tie (float noise never reorders)."""
LEVELS = ("low", "middle", "high")
CLASS_LABELS: dict[int, str] = {
    3 * n + a + 1: f"{LEVELS[n]} need, {LEVELS[a]} access" for n in range(3) for a in range(3)
}
"""Class number -> plain label; 0 is "not ranked"."""
NOT_RANKED = "not ranked"
UNDERSERVED_CLASS = 7
"""High need, low access."""


def _round_sig(v: np.ndarray) -> np.ndarray:
    """``v`` rounded to :data:`TIE_DIGITS` significant digits (NaN and 0 kept)."""
    v = np.asarray(v, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where((v != 0) & np.isfinite(v),
                       10.0 ** np.floor(np.log10(np.abs(np.where(v == 0, 1, v)))), 1.0)
    mag = np.where(mag > 0, mag, 1.0)  # subnormal numbers
    return np.round(v / mag, TIE_DIGITS - 1) * mag


def percentile_positions(values: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """``(average rank - ½) / n`` over the ``ranked`` areas with finite values (NaN
    elsewhere); 1-D or 2-D (one ranking per row)."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    ok = np.asarray(ranked, dtype=bool)[None, :] & np.isfinite(v)
    vv = np.where(ok, _round_sig(v), np.nan)
    n = ok.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        # average ranks among each row's finite values (scipy.stats.rankdata's, tested;
        # pandas ranks here because importing scipy.stats costs about half a second)
        ranks = pd.DataFrame(vv).rank(axis=1, method="average", na_option="keep")
        out = (ranks.to_numpy(dtype=float) - 0.5) / n
    out = np.where(ok, out, np.nan)
    return out if np.ndim(values) == 2 else out[0]


def terciles(values: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """1 (low), 2 (middle), 3 (high) for the ranked areas, 0 for the others."""
    p = percentile_positions(values, ranked)
    t = np.where(p < 1 / 3, 1, np.where(p < 2 / 3, 2, 3))
    return np.where(np.isfinite(p), t, 0).astype(np.int8)


def bivariate_class(need_tercile: np.ndarray, access_tercile: np.ndarray) -> np.ndarray:
    """3 x 3 class 1..9 (0 where either tercile is 0)."""
    n = np.asarray(need_tercile, dtype=np.int64)
    a = np.asarray(access_tercile, dtype=np.int64)
    return np.where((n > 0) & (a > 0), 3 * (n - 1) + a, 0).astype(np.int8)


def class_label(code: int) -> str:
    """The plain label of a class number ("high need, low access"; 0: "not ranked")."""
    return CLASS_LABELS.get(int(code), NOT_RANKED)


def underserved_rank(need: np.ndarray, need_tercile: np.ndarray,
                     access_tercile: np.ndarray) -> np.ndarray:
    """Rank 1 = most underserved (see the module docstring); NaN for areas not ranked.
    1-D, or 2-D with one row per replicate (``access_tercile`` may stay 1-D)."""
    need2 = np.atleast_2d(np.asarray(need, dtype=float))
    nt = np.atleast_2d(np.asarray(need_tercile, dtype=np.int64))
    at = np.broadcast_to(np.atleast_2d(np.asarray(access_tercile, dtype=np.int64)), nt.shape)
    ok = (nt > 0) & (at > 0)
    score = nt - at
    # descending keys: sort ascending on their negatives; not-ranked areas last
    big = 10.0
    k1 = np.where(ok, -score, big)
    k2 = np.where(ok, -nt, big)
    k3 = np.where(ok, -_round_sig(np.nan_to_num(need2, nan=-np.inf)), np.inf)
    order = np.lexsort((k3, k2, k1), axis=-1)
    ranks = np.empty(nt.shape)
    rows = np.arange(nt.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, nt.shape[1] + 1)[None, :]
    ranks = np.where(ok, ranks, np.nan)
    return ranks if np.ndim(need_tercile) == 2 else ranks[0]
