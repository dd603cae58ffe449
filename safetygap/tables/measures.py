"""The per-area measures: the one owner of their names and of the two tables that hold them.

An area layer (``neighborhoods.parquet``, ``wards.parquet``) has the fixed columns
:data:`AREA_COLUMNS` and one ``<measure>_<family>`` column per measure and family for the
period ``all`` (:func:`column`); ``indices.parquet`` holds every measure of every period in
long form (:data:`INDICES_COLUMNS`). Family ``total`` is every call; the three families of
:data:`safetygap.vocab.FAMILIES` have every measure, ``total`` only :data:`TOTAL_MEASURES`.

A newcomer adds a measure here (its name, in :data:`MEASURES`), computes it in
:func:`safetygap.geo.indices.build_indices`, and gives it words in
:mod:`safetygap.labels`; the layers, ``indices.parquet``, the API and the pages then carry it.
"""

from __future__ import annotations

import pandas as pd

from safetygap.vocab import ALL_FAMILIES

CALLS = "calls"
"""Calls in the area (need calls for a family)."""
RESIDENT_YEARS = "resident_years"
"""Residents x the covered years the calls count over (the rate's denominator)."""
RATE = "rate"
"""Calls per 1,000 residents per covered year, with an exact Poisson interval."""
RATE_EB = "rate_eb"
"""The rate smoothed by global empirical Bayes (Marshall 1991): the need measure."""
DIVERTED = "diverted"
"""Calls handled by a non-police service."""
DIVERTED_SHARE = "diverted_share"
"""diverted / calls in the diverted share's denominator; Wilson interval."""
ELIGIBLE = "eligible"
"""Calls whose type is eligible for a non-police response."""
ELIGIBLE_NOT_DIVERTED_SHARE = "eligible_not_diverted_share"
"""Eligible calls not diverted / calls; Wilson interval."""
COVERABLE = "coverable"
"""Need calls some service with a place handles (service-matched coverage's denominator)."""
COVERAGE = "coverage"
"""Share of the coverable calls within reach of a provider whose service type handles
their category; Wilson interval."""
REACH = "reach"
"""Share of the area's residents within reach of a provider of the family (demand
points)."""
PROVIDERS = "providers"
"""Providers of the family with a place, located in the area."""
CAPACITY = "capacity"
"""Their capacity."""
ACCESS = "access"
"""E2SFCA accessibility, capacity per 1,000 residents."""
ACCESS_NEED = "access_need"
"""E2SFCA with the calls as demand, capacity per 1,000 calls a year."""
NEED_TERCILE = "need_tercile"
"""1 low, 2 middle, 3 high need (``rate_eb``) among the ranked areas; 0 not ranked."""
ACCESS_TERCILE = "access_tercile"
"""1 low, 2 middle, 3 high access among the ranked areas; 0 not ranked."""
CLASS = "class"
"""The 3 x 3 need/access class 1..9 (:mod:`safetygap.geo.bivariate`); 0 not ranked."""
CLASS_LABEL = "class_label"
"""The class in words (text)."""
UNDERSERVED = "underserved"
"""1 for high need, low access (class 7)."""
UNDERSERVED_RANK = "underserved_rank"
"""1 = most underserved; NaN when not ranked."""
GAP = "gap"
"""Secondary: pctrank(rate) - pctrank(access), in [-1, 1]."""
GAP_CLASS = "gap_class"
"""Secondary: Fisher-Jenks class of gap, 1..5 (0 or NaN: no value)."""
# added by the uncertainty stage (stages/uncertainty.py), period ``all`` only
RANK_LOW = "rank_low"
"""Lower end of the 90% bootstrap interval of the underserved rank."""
RANK_HIGH = "rank_high"
"""Upper end of that interval."""
P_TOP10 = "p_top10"
"""Probability of being among the 10 most underserved (``p_top<N>`` for another top)."""
CLASS_AGREEMENT = "class_agreement"
"""Share of bootstrap replicates giving the area its class."""
P_UNDERSERVED = "p_underserved"
"""Share of replicates in which the area is high need, low access."""
CLASS_UNCERTAIN = "class_uncertain"
"""1 when class_agreement is below the uncertainty threshold."""
HOTSPOT_NEED = "hotspot_need"
"""+1 hot spot, -1 cold spot, 0 neither: Gi* on need, FDR-corrected."""
GI_Z_NEED = "gi_z_need"
GI_P_NEED = "gi_p_need"
HOTSPOT_SCORE = "hotspot_score"
"""The same on the underserved score (need tercile - access tercile)."""
GI_Z_SCORE = "gi_z_score"
GI_P_SCORE = "gi_p_score"

MEASURES: tuple[str, ...] = (
    CALLS, RESIDENT_YEARS, RATE, RATE_EB, DIVERTED, DIVERTED_SHARE, ELIGIBLE,
    ELIGIBLE_NOT_DIVERTED_SHARE, COVERABLE, COVERAGE, REACH, PROVIDERS, CAPACITY, ACCESS,
    ACCESS_NEED, NEED_TERCILE, ACCESS_TERCILE, CLASS, UNDERSERVED, UNDERSERVED_RANK, GAP,
    GAP_CLASS, CLASS_LABEL, RANK_LOW, RANK_HIGH, P_TOP10, CLASS_AGREEMENT, P_UNDERSERVED,
    CLASS_UNCERTAIN, HOTSPOT_NEED, GI_Z_NEED, GI_P_NEED, HOTSPOT_SCORE, GI_Z_SCORE,
    GI_P_SCORE)
"""Every measure an area layer can hold (without the interval bounds and flags)."""
TOTAL_MEASURES: tuple[str, ...] = (CALLS, RESIDENT_YEARS, RATE, RATE_EB, DIVERTED,
                                   DIVERTED_SHARE, ELIGIBLE, ELIGIBLE_NOT_DIVERTED_SHARE)
"""The measures family ``total`` has."""
DISPLAY_MEASURES: tuple[str, ...] = (
    CALLS, RATE, RATE_EB, DIVERTED, DIVERTED_SHARE, ELIGIBLE, ELIGIBLE_NOT_DIVERTED_SHARE,
    COVERAGE, REACH, PROVIDERS, CAPACITY, ACCESS, ACCESS_NEED, CLASS, UNDERSERVED_RANK, GAP,
    GAP_CLASS)
"""The measures an area's profile shows, in display order (``total`` has the first
seven)."""
UNCERTAINTY_MEASURES: tuple[str, ...] = (RANK_LOW, RANK_HIGH, P_TOP10, CLASS_AGREEMENT,
                                         P_UNDERSERVED, CLASS_UNCERTAIN)
"""The bootstrap's measures (per family, period ``all``)."""
HOTSPOT_MEASURES: tuple[str, ...] = (HOTSPOT_NEED, GI_Z_NEED, GI_P_NEED, HOTSPOT_SCORE,
                                     GI_Z_SCORE, GI_P_SCORE)
"""The hot spots' measures (per family, period ``all``)."""
INTERVAL_MEASURES: tuple[str, ...] = (RATE, DIVERTED_SHARE, ELIGIBLE_NOT_DIVERTED_SHARE,
                                      COVERAGE)
"""Measures with a 95% interval (``<measure>_<family>_ci_low`` / ``_ci_high``)."""
COUNT_MEASURES: tuple[str, ...] = (CALLS, DIVERTED, ELIGIBLE, COVERABLE)
"""Measures that are counts of calls."""
COUNT_DERIVED: tuple[str, ...] = (CALLS, RATE, RATE_EB, RESIDENT_YEARS, DIVERTED,
                                  DIVERTED_SHARE, ELIGIBLE, ELIGIBLE_NOT_DIVERTED_SHARE,
                                  COVERABLE, COVERAGE)
"""Measures of a family in an area that reveal its call count (hidden with it, with their
intervals)."""
INT_MEASURES: frozenset[str] = frozenset({
    GAP_CLASS, CLASS, NEED_TERCILE, ACCESS_TERCILE, UNDERSERVED, CLASS_UNCERTAIN,
    HOTSPOT_NEED, HOTSPOT_SCORE, UNDERSERVED_RANK, RANK_LOW, RANK_HIGH})
"""Measures whose values are whole numbers (class numbers, flags, ranks)."""
TEXT_MEASURES: frozenset[str] = frozenset({CLASS_LABEL})
"""Measures whose values are words."""
NO_CITY_VALUE: frozenset[str] = frozenset({
    GAP, GAP_CLASS, CLASS, NEED_TERCILE, ACCESS_TERCILE, UNDERSERVED, UNDERSERVED_RANK,
    CLASS_LABEL, *UNCERTAINTY_MEASURES, *HOTSPOT_MEASURES})
"""Measures without a city-wide value (classes, ranks, bootstrap and hot-spot results)."""

SMALL_POPULATION = "small_population"
MOSTLY_NONRESIDENT = "mostly_nonresident"
RANKED = "ranked"
AREA_FLAGS: tuple[str, ...] = (SMALL_POPULATION, MOSTLY_NONRESIDENT, RANKED)
"""Per-area flags (0/1), columns without a family suffix."""
CI_LOW = "_ci_low"
CI_HIGH = "_ci_high"
CI_SUFFIXES: tuple[str, ...] = (CI_LOW, CI_HIGH)
"""An interval's bounds: ``<measure>_<family>_ci_low`` / ``_ci_high``."""
TOTAL = ALL_FAMILIES[0]
"""The family of every call."""
SEP = "_"


def top_measure(top: int) -> str:
    """``p_top10`` (``p_top<N>`` for another number of top areas)."""
    return f"p_top{int(top)}"


def _known(measure: str) -> bool:
    base = base_measure(measure)
    return base in MEASURES or base in AREA_FLAGS or (
        base.startswith("p_top") and base[5:].isdigit())


def base_measure(measure: str) -> str:
    """``rate`` of ``rate_ci_low``: the measure an interval bound belongs to."""
    for suffix in CI_SUFFIXES:
        if measure.endswith(suffix):
            return measure[:-len(suffix)]
    return measure


def column(measure: str, family: str) -> str:
    """The area layers' column of ``measure`` for ``family``, e.g. ``gap_class_prevention``;
    an interval bound ``rate_ci_low`` -> ``rate_prevention_ci_low``; an area flag its own
    name."""
    if measure in AREA_FLAGS:
        return measure
    for suffix in CI_SUFFIXES:
        if measure.endswith(suffix):
            return f"{measure[:-len(suffix)]}{SEP}{family}{suffix}"
    return f"{measure}{SEP}{family}"


def columns(measure: pd.Series, family: pd.Series) -> pd.Series:
    """:func:`column` over two aligned Series (e.g. the long table's measure and family)."""
    return pd.Series([column(m, f) for m, f in zip(measure, family, strict=True)],
                     index=measure.index, dtype=object)


def interval(measure: str, family: str) -> tuple[str, str]:
    """The columns of the bounds of ``measure``'s interval for ``family``."""
    return column(measure + CI_LOW, family), column(measure + CI_HIGH, family)


def split_column(name: str) -> tuple[str, str | None] | None:
    """The inverse of :func:`column`: (measure, family) of a measure column (an interval
    bound's measure keeps its suffix: ``rate_ci_low``), (flag, None) of an area flag; None
    for any other column (``area_id``, ``population``, equity's group columns ...)."""
    if name in AREA_FLAGS:
        return name, None
    head, suffix = name, ""
    for s in CI_SUFFIXES:
        if name.endswith(s):
            head, suffix = name[:-len(s)], s
            break
    for family in ALL_FAMILIES:
        if head.endswith(SEP + family):
            measure = head[:-len(family) - 1] + suffix
            return (measure, family) if _known(measure) else None
    return None


def is_column(name: str) -> bool:
    """``name`` is a measure column (``<measure>_<family>``, an interval bound or an area
    flag; not a fixed or an equity column)."""
    return split_column(name) is not None


def measure_of(name: str) -> str:
    """The measure of a ``<measure>_<family>`` column (``gap_class_prevention`` ->
    ``gap_class``); a name without a known family suffix is returned as it is."""
    parsed = split_column(name)
    if parsed is not None:
        return parsed[0]
    for family in ALL_FAMILIES:
        if name.endswith(SEP + family):
            return name[: -len(family) - 1]
    return name


# --------------------------------------------------------------- the area layers

AREA_ID = "area_id"
NAME = "name"
POPULATION = "population"
"""Residents (NaN: unknown)."""
AREA_KM2 = "area_km2"
GEOMETRY = "geometry"
"""Polygons in the analysis CRS (projected, metres)."""
AREA_COLUMNS: tuple[str, ...] = (AREA_ID, NAME, POPULATION, AREA_KM2)
"""The fixed columns of an area layer besides its geometry."""

# --------------------------------------------------------------- indices.parquet

LEVEL = "level"
PERIOD = "period"
"""``all`` or a year as text."""
ALL_PERIOD = "all"
FAMILY = "family"
MEASURE = "measure"
VALUE = "value"
DISTANCE_MODEL = "distance_model"
CATCHMENT = "catchment"
"""The family's catchments in words (e.g. ``youth_program 15 min``)."""
INDICES_COLUMNS: tuple[str, ...] = (LEVEL, AREA_ID, PERIOD, FAMILY, MEASURE, VALUE,
                                    DISTANCE_MODEL, CATCHMENT)
"""``indices.parquet``, in order."""
FILE = "indices.parquet"
