"""Counting calls per area, period and family.

The result is a dense cube: axis 0 the areas (positional), axis 1 the periods
(``"all"`` then each year), axis 2 the families (``"total"`` then
response, prevention, restoration). ``"total"`` counts every call, including
calls whose type signals no service family (family ``none``), so
``total >= sum of the three families``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safetygap import FAMILIES

FAMILY_AXIS: tuple[str, ...] = ("total", *FAMILIES)
NONE_CODE = len(FAMILIES)  # family code of calls that signal no family


@dataclass(frozen=True)
class AreaCounts:
    """Counts per (area, period, family); float when calls carry fractional weights."""

    periods: tuple[str, ...]
    families: tuple[str, ...]
    calls: np.ndarray
    diverted: np.ndarray
    eligible: np.ndarray
    eligible_not_diverted: np.ndarray
    covered: np.ndarray
    base: np.ndarray | None = None
    """Calls in the denominator of the diverted share (None: every call counts)."""
    coverable: np.ndarray | None = None
    """Calls that can be covered in space: the coverage denominator (None: every call)."""
    by_source: np.ndarray | None = None
    """Calls per (area, period, family, source) when the calls come from several sources
    (None: one source)."""

    @property
    def n_years(self) -> int:
        return len(self.periods) - 1


def count_calls(
    area: np.ndarray,
    year: np.ndarray,
    family_code: np.ndarray,
    diverted: np.ndarray,
    eligible: np.ndarray,
    covered: np.ndarray,
    *,
    n_areas: int,
    years: tuple[int, ...],
    weight: np.ndarray | None = None,
    base: np.ndarray | None = None,
    coverable: np.ndarray | None = None,
    source: np.ndarray | None = None,
    n_sources: int = 1,
) -> AreaCounts:
    """Count calls into an :class:`AreaCounts` cube.

    ``area`` positional area index (-1 = not in any area: not counted);
    ``year`` calendar year (calls whose year is not in ``years``, e.g. with an
    unparseable date, count only in period ``"all"``); ``family_code`` 0..2 for
    FAMILIES, 3 for none; ``covered`` whether the call lies in the catchment
    of a provider of its own family. ``weight`` (default 1 per call) allows
    fractional calls; totals are conserved either way. ``base`` marks the calls in the
    denominator of the diverted share (see :class:`safetygap.diversion.Denominator`;
    default every call); ``coverable`` those of the coverage share (default every call).
    ``source`` (codes 0..n_sources-1) splits the calls by source when ``n_sources`` > 1
    (:attr:`AreaCounts.by_source`), so rates can use each source's covered time.
    """
    area = np.asarray(area)
    keep = area >= 0
    n_years = len(years)
    year_idx = np.full(len(area), n_years, dtype=np.int64)  # n_years = "no year"
    for i, y in enumerate(years):
        year_idx[np.asarray(year) == y] = i
    fam = np.asarray(family_code, dtype=np.int64)
    n_fam = NONE_CODE + 1
    key = (area[keep].astype(np.int64) * (n_years + 1) + year_idx[keep]) * n_fam + fam[keep]
    size = n_areas * (n_years + 1) * n_fam
    w = None if weight is None else np.asarray(weight, dtype=float)[keep]

    def cube(mask: np.ndarray | None) -> np.ndarray:
        if mask is None:
            weights = w
        else:
            m = np.asarray(mask, dtype=bool)[keep]
            weights = m.astype(float) if w is None else w * m
        c = np.bincount(key, weights=weights, minlength=size)
        c = c.reshape(n_areas, n_years + 1, n_fam)
        by_year = c[:, :n_years, :]
        all_years = c.sum(axis=1, keepdims=True)
        c = np.concatenate([all_years, by_year], axis=1)  # periods: all, years...
        fam_part = c[:, :, :NONE_CODE]
        total = c.sum(axis=2, keepdims=True)
        out = np.concatenate([total, fam_part], axis=2)
        if w is None:
            out = np.rint(out).astype(np.int64)
        return out

    diverted = np.asarray(diverted, dtype=bool)
    eligible = np.asarray(eligible, dtype=bool)
    return AreaCounts(
        periods=("all", *(str(y) for y in years)),
        families=FAMILY_AXIS,
        calls=cube(None),
        diverted=cube(diverted),
        eligible=cube(eligible),
        eligible_not_diverted=cube(eligible & ~diverted),
        covered=cube(covered),
        base=None if base is None else cube(np.asarray(base, dtype=bool)),
        coverable=None if coverable is None else cube(np.asarray(coverable, dtype=bool)),
        by_source=None if source is None or n_sources <= 1 else np.stack(
            [cube(np.asarray(source) == s) for s in range(n_sources)], axis=-1),
    )
