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
RATE = "rate"
"""Calls per 1,000 residents per year."""
DIVERTED = "diverted"
"""Calls handled by a non-police service."""
DIVERTED_SHARE = "diverted_share"
"""diverted / calls in the diverted share's denominator."""
ELIGIBLE = "eligible"
"""Calls whose type is eligible for a non-police response."""
ELIGIBLE_NOT_DIVERTED_SHARE = "eligible_not_diverted_share"
"""Eligible calls not diverted / calls."""
COVERAGE = "coverage"
"""Share of the family's need calls within the catchment of a provider of the family."""
PROVIDERS = "providers"
"""Providers of the family located in the area."""
CAPACITY = "capacity"
"""Their capacity."""
ACCESS = "access"
"""E2SFCA accessibility, capacity per 1,000 residents."""
GAP = "gap"
"""pctrank(rate) - pctrank(access), in [-1, 1]."""
GAP_CLASS = "gap_class"
"""Fisher-Jenks class of gap, 1..5 (0 or NaN: no value)."""

MEASURES: tuple[str, ...] = (CALLS, RATE, DIVERTED, DIVERTED_SHARE, ELIGIBLE,
                             ELIGIBLE_NOT_DIVERTED_SHARE, COVERAGE, PROVIDERS, CAPACITY,
                             ACCESS, GAP, GAP_CLASS)
"""Every measure, in display order."""
TOTAL_MEASURES: tuple[str, ...] = MEASURES[:6]
"""The measures family ``total`` has."""
COUNT_MEASURES: tuple[str, ...] = (CALLS, DIVERTED, ELIGIBLE)
"""Measures that are counts of calls."""
COUNT_DERIVED: tuple[str, ...] = (CALLS, RATE, DIVERTED, DIVERTED_SHARE, ELIGIBLE,
                                  ELIGIBLE_NOT_DIVERTED_SHARE, COVERAGE)
"""Measures of a family in an area that reveal its call count (hidden with it)."""
TOTAL = ALL_FAMILIES[0]
"""The family of every call."""
SEP = "_"


def column(measure: str, family: str) -> str:
    """The area layers' column of ``measure`` for ``family``, e.g. ``gap_class_prevention``."""
    return f"{measure}{SEP}{family}"


def columns(measure: pd.Series, family: pd.Series) -> pd.Series:
    """:func:`column` over two aligned Series (e.g. the long table's measure and family)."""
    return measure + SEP + family


def is_column(name: str) -> bool:
    """``name`` is a ``<measure>_<family>`` column (not a fixed or an equity column)."""
    measure, _, family = name.rpartition(SEP)
    return measure in MEASURES and family in ALL_FAMILIES


def measure_of(name: str) -> str:
    """The measure of a ``<measure>_<family>`` column (``gap_class_prevention`` ->
    ``gap_class``); a name without a known family suffix is returned as it is."""
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
