"""Residents within reach of new services, by areal weighting.

An area's residents are taken as spread evenly over its polygon (areal weighting, Goodchild
& Lam 1980), so the residents inside a region R are

    residents(R) = Σ_i P_i · |A_i ∩ R| / |A_i|

with P_i the population of area i and |·| the area in a projected CRS (m²). The residents
**newly reached** by ranked new sites with reach regions R_1, R_2, ... are those inside R_k
but outside the reach E of the existing providers (when they are kept) and outside the
regions of the sites ranked above: residents(R_k \\ (E ∪ R_1 ∪ ... ∪ R_{k-1})).

Areas without a population (NaN) or without area count nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely


def residents_within(areas: np.ndarray, population: np.ndarray, region: Any) -> float:
    """Residents inside ``region`` (see module docstring); ``areas`` and ``region`` in the
    same projected CRS."""
    if region is None or shapely.is_empty(region):
        return 0.0
    geoms = np.asarray(areas, dtype=object)
    pop = np.asarray(population, dtype=float)
    whole = shapely.area(geoms)
    ok = np.isfinite(pop) & (whole > 0)
    if not ok.any():
        return 0.0
    tree = shapely.STRtree(geoms[ok])
    hit = tree.query(region, predicate="intersects")
    if not len(hit):
        return 0.0
    part = shapely.area(shapely.intersection(geoms[ok][hit], region))
    return float((pop[ok][hit] * part / whole[ok][hit]).sum())


def residents_newly_reached(areas: np.ndarray, population: np.ndarray,
                            regions: Sequence[Any], *, existing: Any = None) -> list[float]:
    """Residents newly reached by each of the ranked ``regions``: inside it, outside
    ``existing`` (None: nothing reached yet) and outside the regions before it."""
    reached = existing if existing is not None and not shapely.is_empty(existing) else None
    out = []
    for region in regions:
        new = region if reached is None else shapely.difference(region, reached)
        out.append(residents_within(areas, population, new))
        reached = region if reached is None else shapely.union(reached, region)
    return out
