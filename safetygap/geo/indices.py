"""Turning counts, population and accessibility into the per-area indices.

Measures (``<measure>_<family>`` columns; family ``total`` = all calls; an interval's
bounds are ``<measure>_<family>_ci_low`` / ``_ci_high``):

=================================  ===========================================================
``calls``                          calls in the area (need calls for a family)
``resident_years``                 residents x the covered years the calls count over
                                   (the rate's denominator)
``rate``                           calls per 1,000 residents per covered year
                                   (:mod:`safetygap.geo.timespan`), with an exact Poisson
                                   interval
``rate_eb``                        the rate smoothed by global empirical Bayes (Marshall 1991)
``diverted``                       calls handled by a non-police service
``diverted_share``                 diverted / calls in the diverted share's denominator
                                   (by default fire/EMS calls left out); Wilson interval
``eligible``                       calls whose type is eligible for non-police response
``eligible_not_diverted_share``    eligible calls not diverted / calls; Wilson interval
``coverable``                      need calls some service with a place handles
``coverage``                       share of the coverable calls within reach of a provider
                                   whose service type handles their category; Wilson
                                   interval
``reach``                          share of the area's residents within reach of a
                                   provider of the family (demand points)
``providers``, ``capacity``        providers of the family with a place, located in the area
``access``                         E2SFCA accessibility, capacity per 1,000 residents
``access_need``                    E2SFCA with the calls as demand, capacity per 1,000
                                   calls a year
``need_tercile``, ``access_tercile``  1 low, 2 middle, 3 high among the ranked areas (need =
                                   ``rate_eb``); 0 not ranked
``class``                          3 x 3 class 1..9 (:mod:`safetygap.geo.bivariate`)
``underserved``                    1 for high need, low access (class 7)
``underserved_rank``               1 = most underserved; NaN when not ranked
``gap``, ``gap_class``             secondary: pctrank(rate) - pctrank(access) and its
                                   Fisher-Jenks class 1..5 (kept for comparison)
=================================  ===========================================================

Area flags (family ``total``, period ``all``; columns without a family suffix):
``small_population`` (fewer residents than the threshold), ``mostly_nonresident`` (calls
per resident above the threshold multiple of the city's), ``ranked`` (neither, and a
population: only ranked areas get terciles, classes and ranks).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from safetygap import FAMILIES
from safetygap.geo.aggregate import AreaCounts
from safetygap.geo.bivariate import (
    UNDERSERVED_CLASS,
    bivariate_class,
    terciles,
    underserved_rank,
)
from safetygap.geo.gap import gap_classes, gap_index
from safetygap.geo.uncertainty import (
    DEFAULT_LEVEL,
    empirical_bayes,
    poisson_interval,
    wilson_interval,
)
from safetygap.tables import measures as M

COUNT_MEASURES = M.COUNT_MEASURES
AREA_FLAGS = M.AREA_FLAGS
"""Per-area flags, written without a family suffix."""
CI_SUFFIXES = M.CI_SUFFIXES
column_name = M.column
split_column = M.split_column


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=(b > 0) & np.isfinite(b))
    return out


@dataclass(frozen=True)
class Supply:
    """Per-family measures of the providers (arrays over areas, period-independent)."""

    access: Mapping[str, np.ndarray]
    providers: Mapping[str, np.ndarray]
    capacity: Mapping[str, np.ndarray]
    access_need: Mapping[str, np.ndarray] | None = None
    reach: Mapping[str, np.ndarray] | None = None


def area_flags(total_calls: np.ndarray, population: np.ndarray, *, min_population: float,
               nonresident_ratio: float) -> dict[str, np.ndarray]:
    """``small_population``, ``mostly_nonresident`` and ``ranked`` per area (booleans).

    Small: a known population below ``min_population``. Mostly non-resident: calls per
    resident (all calls, all periods) above ``nonresident_ratio`` times the city's (over
    the areas with residents): if residents called at the city's rate they would make
    fewer than 1/ratio of the calls. Ranked: a population > 0 and neither flag.
    """
    pop = np.asarray(population, dtype=float)
    calls = np.asarray(total_calls, dtype=float)
    has = np.isfinite(pop) & (pop > 0)
    small = np.isfinite(pop) & (pop < min_population)
    city = calls[has].sum() / pop[has].sum() if has.any() and pop[has].sum() > 0 else np.nan
    per = _div(calls, pop)
    nonres = has & np.isfinite(per) & (per > nonresident_ratio * city)
    return {M.SMALL_POPULATION: small, M.MOSTLY_NONRESIDENT: nonres,
            M.RANKED: has & ~small & ~nonres}


def _call_years(counts: AreaCounts, p: int, f: int, years: np.ndarray) -> np.ndarray:
    """Calls divided by their source's covered years, summed over sources."""
    if counts.by_source is None:
        y = years[0, p]
        return counts.calls[:, p, f] / y if y > 0 else np.full(counts.calls.shape[0], np.nan)
    out = np.zeros(counts.calls.shape[0])
    for s in range(counts.by_source.shape[-1]):
        if years[s, p] > 0:
            out += counts.by_source[:, p, f, s] / years[s, p]
    return out


def build_indices(
    counts: AreaCounts,
    *,
    population: np.ndarray,
    supply: Supply,
    years: np.ndarray,
    ranked: np.ndarray,
    flags: Mapping[str, np.ndarray] | None = None,
    confidence: float = DEFAULT_LEVEL,
    periods: Collection[str] | None = None,
    families: Collection[str] | None = None,
) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """All measures as ``result[period][family][measure] -> array over areas``.

    ``population`` per area (NaN = unknown); ``supply`` the providers' measures per
    family; ``years`` (sources x periods of ``counts``) each source's covered years in
    each period (:func:`safetygap.geo.timespan.period_years`); ``ranked`` the areas that
    get terciles, classes and ranks; ``flags`` (see :func:`area_flags`) are added to
    family ``total`` of period ``all``. ``periods`` and ``families`` (default: every one
    of ``counts``) restrict what is built; each (period, family) is computed on its own,
    so a restricted result holds the same values as the full one.
    """
    pop = np.asarray(population, dtype=float)
    ranked = np.asarray(ranked, dtype=bool)
    years = np.atleast_2d(np.asarray(years, dtype=float))
    result: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for p, period in enumerate(counts.periods):
        if periods is not None and period not in periods:
            continue
        result[period] = {}
        ref_years = float(years[:, p].max()) if years.size else 0.0
        for f, family in enumerate(counts.families):
            if families is not None and family not in families:
                continue
            calls = counts.calls[:, p, f]
            per_year = _call_years(counts, p, f, years)
            # the years each call counts over (its source's), averaged over the area's calls
            eff = np.where(calls > 0, _div(calls, per_year), ref_years)
            exposure = pop * eff / 1000.0  # thousand resident-years
            m: dict[str, np.ndarray] = {M.CALLS: calls}
            m[M.RESIDENT_YEARS] = pop * eff
            m[M.RATE] = _div(per_year * 1000.0, pop)
            m[M.RATE + M.CI_LOW], m[M.RATE + M.CI_HIGH] = poisson_interval(
                calls, np.where(np.isfinite(exposure), exposure, 0.0), level=confidence)
            m[M.RATE_EB] = empirical_bayes(calls, np.nan_to_num(exposure))  # per 1,000 res.-yr
            div = counts.diverted[:, p, f]
            base = calls if counts.base is None else counts.base[:, p, f]
            m[M.DIVERTED] = div
            _share(m, M.DIVERTED_SHARE, div, base, confidence)
            m[M.ELIGIBLE] = counts.eligible[:, p, f]
            _share(m, M.ELIGIBLE_NOT_DIVERTED_SHARE, counts.eligible_not_diverted[:, p, f],
                   calls, confidence)
            if family in FAMILIES:
                coverable = calls if counts.coverable is None else counts.coverable[:, p, f]
                m[M.COVERABLE] = coverable
                _share(m, M.COVERAGE, counts.covered[:, p, f], coverable, confidence)
                if supply.reach is not None:
                    m[M.REACH] = np.asarray(supply.reach[family], dtype=float)
                m[M.PROVIDERS] = np.asarray(supply.providers[family])
                m[M.CAPACITY] = np.asarray(supply.capacity[family], dtype=float)
                acc = np.asarray(supply.access[family], dtype=float)
                m[M.ACCESS] = acc
                if supply.access_need is not None:
                    m[M.ACCESS_NEED] = np.asarray(supply.access_need[family], dtype=float)
                _classes(m, ranked)
                m[M.GAP] = gap_index(m[M.RATE], acc)
                m[M.GAP_CLASS], _ = gap_classes(m[M.GAP])
            if family == M.TOTAL and period == M.ALL_PERIOD and flags is not None:
                for name in AREA_FLAGS:
                    m[name] = np.asarray(flags[name], dtype=float)
            result[period][family] = m
    return result


def _share(m: dict[str, np.ndarray], name: str, k: np.ndarray, n: np.ndarray,
           confidence: float) -> None:
    """``name`` = k / n with its Wilson interval."""
    m[name] = _div(k, n)
    m[name + M.CI_LOW], m[name + M.CI_HIGH] = wilson_interval(k, n, level=confidence)


def _classes(m: dict[str, np.ndarray], ranked: np.ndarray) -> None:
    """Terciles of need (``rate_eb``) and access, the 3 x 3 class and the rank."""
    ok = ranked & np.isfinite(m[M.RATE_EB]) & np.isfinite(m[M.ACCESS])
    nt = terciles(m[M.RATE_EB], ok)
    at = terciles(m[M.ACCESS], ok)
    m[M.NEED_TERCILE] = nt.astype(float)
    m[M.ACCESS_TERCILE] = at.astype(float)
    cls = bivariate_class(nt, at)
    m[M.CLASS] = cls.astype(float)
    m[M.UNDERSERVED] = (cls == UNDERSERVED_CLASS).astype(float)
    m[M.UNDERSERVED_RANK] = underserved_rank(m[M.RATE_EB], nt, at)


def wide_frame(result: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]]) -> pd.DataFrame:
    """The period-``"all"`` measures as columns named by :func:`column_name`."""
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
    keys: list[tuple[str, str, str]] = []
    values: list[np.ndarray] = []
    for period, fams in result.items():
        for family, measures in fams.items():
            for measure, v in measures.items():
                keys.append((period, family, measure))
                values.append(np.asarray(v, dtype=float))
    n = len(area_ids)
    if not keys:
        return pd.DataFrame({c: [] for c in (M.LEVEL, M.AREA_ID, M.PERIOD, M.FAMILY,
                                             M.MEASURE, M.VALUE)})
    cols = list(zip(*keys, strict=True))
    return pd.DataFrame({
        M.LEVEL: np.full(n * len(keys), level, dtype=object),
        M.AREA_ID: np.tile(np.asarray(area_ids, dtype=object), len(keys)),
        M.PERIOD: np.repeat(np.asarray(cols[0], dtype=object), n),
        M.FAMILY: np.repeat(np.asarray(cols[1], dtype=object), n),
        M.MEASURE: np.repeat(np.asarray(cols[2], dtype=object), n),
        M.VALUE: np.concatenate(values),
    })
