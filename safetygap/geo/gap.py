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
    bins = fisher_jenks_bins(vals, k=k_eff)
    # class i holds bins[i-1] < value <= bins[i] (the first class: value <= bins[0])
    classes[ok] = np.searchsorted(bins, vals, side="left") + 1
    return classes, [float(b) for b in bins]


def fisher_jenks_bins(values: np.ndarray, *, k: int) -> np.ndarray:
    """Upper bounds of the ``k`` Fisher-Jenks classes of ``values`` (Fisher 1958; Jenks
    1977): the partition of the sorted values into ``k`` runs with the least total
    within-class sum of squared deviations, found by dynamic programming in
    O(k n^2) (vectorised over the last class's start; the areas of a city number in the
    hundreds or thousands).

    Sums are accumulated in single precision and, among equally good splits, the one
    whose last class starts earliest wins: the same arithmetic and rule as
    ``mapclassify.FisherJenks`` (PySAL), so the classes are those it gives (a test compares
    the two on random and tied values); the package itself is not imported, as importing
    it costs the analysis about a second (it loads scikit-learn and matplotlib).
    Needs at least ``k`` distinct values (the caller checks).
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    x32 = x.astype(np.float32)
    # best[l, j]: least cost of the first l values in j classes; start[l, j]: 1-based
    # position where the last of those j classes starts
    best = np.zeros((n + 1, k + 1), dtype=np.float32)
    start = np.zeros((n + 1, k + 1), dtype=np.int64)
    start[1, 1:] = 1
    best[2:, 1:] = np.inf
    for last in range(2, n + 1):
        run = x32[last - 1::-1]  # the values ending at `last`, from it backwards
        s1 = np.cumsum(run, dtype=np.float32)
        s2 = np.cumsum(run * run, dtype=np.float32)
        w = np.arange(1, last + 1, dtype=np.float32)
        cost = s2 - (s1 * s1) / w  # the last class's cost when it holds m values
        first = last - np.arange(1, last + 1) + 1  # 1-based first position of that class
        cost, first = cost[:-1], first[:-1]  # a class before it must hold >= 1 value
        for j in range(2, k + 1):
            total = cost + best[first - 1, j - 1]
            low = total.min()
            if low <= best[last, j]:
                m = len(total) - 1 - int(np.argmin(total[::-1]))  # last of the equals
                start[last, j] = first[m]
                best[last, j] = total[m]
        start[last, 1] = 1
        best[last, 1] = (s2 - (s1 * s1) / w)[-1]
    bins = np.empty(k, dtype=np.float64)
    bins[k - 1] = x[-1]
    end = n
    for j in range(k, 1, -1):
        pivot = int(start[end, j])
        bins[j - 2] = x[pivot - 2]
        end = pivot - 1
    return bins
