"""Turning counts, population and accessibility into the per-area indices.

Measures (``<measure>_<family>`` columns; family ``total`` = all calls):

==============================  ==============================================
``calls``                       calls in the area (need calls for a family)
``rate``                        calls per 1,000 residents per year
``diverted``                    calls handled by a non-police service
``diverted_share``              diverted / calls in the diverted share's
                                denominator (by default fire/EMS calls left out)
``eligible``                    calls whose type is eligible for non-police response
``eligible_not_diverted_share`` eligible calls not diverted (any non-diverted
                                agency: police, fire, unknown) / calls
``coverage``                    share of the family's need calls within the
                                catchment of a provider of the family
``providers``, ``capacity``     providers of the family located in the area
``access``                      E2SFCA accessibility, capacity per 1,000 residents
``gap``                         pctrank(rate) - pctrank(access) in [-1, 1]
``gap_class``                   Fisher-Jenks class of gap, 1..5 (0 = no value)
==============================  ==============================================
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from safetygap import FAMILIES
from safetygap.geo.aggregate import AreaCounts
from safetygap.geo.gap import gap_classes, gap_index
from safetygap.tables import measures as M

COUNT_MEASURES = M.COUNT_MEASURES


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=(b > 0) & np.isfinite(b))
    return out


def build_indices(
    counts: AreaCounts,
    *,
    population: np.ndarray,
    access: Mapping[str, np.ndarray],
    providers: Mapping[str, np.ndarray],
    capacity: Mapping[str, np.ndarray],
    periods: Collection[str] | None = None,
    families: Collection[str] | None = None,
) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """All measures as ``result[period][family][measure] -> array over areas``.

    ``population`` per area (NaN = unknown); ``access``, ``providers`` and
    ``capacity`` per family, arrays over areas. Rates for period ``"all"``
    are per year: divided by the number of calendar years analysed.
    ``periods`` and ``families`` (default: every one of ``counts``) restrict what
    is built; each (period, family) is computed on its own, so a restricted
    result holds the same values as the full one (``access``, ``providers`` and
    ``capacity`` then need only the families kept).
    """
    pop = np.asarray(population, dtype=float)
    result: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    n_years = max(counts.n_years, 1)
    for p, period in enumerate(counts.periods):
        if periods is not None and period not in periods:
            continue
        years_in_period = n_years if period == M.ALL_PERIOD else 1
        result[period] = {}
        for f, family in enumerate(counts.families):
            if families is not None and family not in families:
                continue
            calls = counts.calls[:, p, f]
            m: dict[str, np.ndarray] = {
                M.CALLS: calls,
                M.RATE: _div(calls * 1000.0, pop * years_in_period),
                M.DIVERTED: counts.diverted[:, p, f],
                M.DIVERTED_SHARE: _div(counts.diverted[:, p, f],
                                       calls if counts.base is None else counts.base[:, p, f]),
                M.ELIGIBLE: counts.eligible[:, p, f],
                M.ELIGIBLE_NOT_DIVERTED_SHARE: _div(counts.eligible_not_diverted[:, p, f],
                                                    calls),
            }
            if family in FAMILIES:
                m[M.COVERAGE] = _div(counts.covered[:, p, f], calls)
                m[M.PROVIDERS] = np.asarray(providers[family])
                m[M.CAPACITY] = np.asarray(capacity[family], dtype=float)
                acc = np.asarray(access[family], dtype=float)
                m[M.ACCESS] = acc
                m[M.GAP] = gap_index(m[M.RATE], acc)
                m[M.GAP_CLASS], _ = gap_classes(m[M.GAP])
            result[period][family] = m
    return result


def wide_frame(result: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]]) -> pd.DataFrame:
    """The period-``"all"`` measures as ``<measure>_<family>`` columns."""
    cols: dict[str, np.ndarray] = {}
    for family, measures in result[M.ALL_PERIOD].items():
        for measure, values in measures.items():
            cols[M.column(measure, family)] = values
    return pd.DataFrame(cols)


def tidy_frame(
    result: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]],
    *,
    level: str,
    area_ids: np.ndarray,
) -> pd.DataFrame:
    """Every measure of every period in long form:
    ``level, area_id, period, family, measure, value``."""
    parts = []
    for period, fams in result.items():
        for family, measures in fams.items():
            for measure, values in measures.items():
                parts.append(pd.DataFrame({
                    M.LEVEL: level,
                    M.AREA_ID: area_ids,
                    M.PERIOD: period,
                    M.FAMILY: family,
                    M.MEASURE: measure,
                    M.VALUE: np.asarray(values, dtype=float),
                }))
    return pd.concat(parts, ignore_index=True)
