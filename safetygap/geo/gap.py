"""Gap index and gap classes.

gap = pctrank(need) - pctrank(access), in [-1, 1]; positive = underserved.

``need`` is the family's need calls per 1,000 residents per year and
``access`` its E2SFCA accessibility. ``pctrank`` maps the values of the areas
being compared to [0, 1] by average rank: (rank - 1) / (n - 1), ties sharing
their average rank; one valid area gets 0.5. Values equal to
:data:`TIE_DIGITS` significant digits tie, so float noise (e.g. boundaries
reprojected from another CRS and back) never reorders areas. Areas without a valid need or
access value (no population) get NaN and are left out of the ranking. The
formula and its sources are in ``docs/METHODS.md``.
"""

from __future__ import annotations

import warnings

import mapclassify
import numpy as np
import pandas as pd

N_CLASSES = 5
TIE_DIGITS = 12
"""Significant digits compared when ranking: values closer than this tie."""
CLASS_LABELS = ("well served", "served", "middle", "underserved", "most underserved")


def percentile_rank(values: np.ndarray) -> np.ndarray:
    """(average rank - 1) / (n - 1) over finite values; NaN stays NaN; n == 1 -> 0.5.

    Values equal to :data:`TIE_DIGITS` significant digits share their rank."""
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, np.nan)
    ok = np.isfinite(v)
    n = int(ok.sum())
    if n == 0:
        return out
    if n == 1:
        out[ok] = 0.5
        return out
    rounded = np.array([float(f"{x:.{TIE_DIGITS}g}") for x in v[ok]])
    ranks = pd.Series(rounded).rank(method="average").to_numpy()
    out[ok] = (ranks - 1.0) / (n - 1.0)
    return out


def gap_index(need: np.ndarray, access: np.ndarray) -> np.ndarray:
    """pctrank(need) - pctrank(access) over areas where both are finite."""
    need = np.asarray(need, dtype=float)
    access = np.asarray(access, dtype=float)
    ok = np.isfinite(need) & np.isfinite(access)
    out = np.full(need.shape, np.nan)
    if ok.any():
        out[ok] = percentile_rank(need[ok]) - percentile_rank(access[ok])
    return out


def gap_classes(gap: np.ndarray, *, k: int = N_CLASSES) -> tuple[np.ndarray, list[float]]:
    """Fisher-Jenks classes of the gap index: 1 (best served) .. k (most underserved).

    Returns (classes with 0 for NaN gaps, upper class bounds). With fewer
    distinct values than ``k``, each distinct value is its own class.
    """
    g = np.asarray(gap, dtype=float)
    classes = np.zeros(g.shape, dtype=np.int64)
    ok = np.isfinite(g)
    if not ok.any():
        return classes, []
    vals = np.round(g[ok], TIE_DIGITS)  # gaps in [-1, 1]: float noise never splits a tie
    k_eff = min(k, len(np.unique(vals)))
    if k_eff < 2:
        classes[ok] = 1
        return classes, [float(vals.max())]
    with warnings.catch_warnings():  # mapclassify warns when numba is absent; fine for <1e4 areas
        warnings.simplefilter("ignore", UserWarning)
        fj = mapclassify.FisherJenks(vals, k=k_eff)
    classes[ok] = fj.yb + 1
    return classes, [float(b) for b in fj.bins]
