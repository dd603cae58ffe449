"""Suppression of small counts of sensitive calls in public answers.

Calls about a behavioral-health crisis, domestic violence, sexual assault, an overdose or a
welfare check are *sensitive*: a public map that shows "2 calls" in one hexagon or one
neighbourhood can point at a household. Public answers therefore hide every count cell that
holds at least one sensitive call and fewer than ``min_count`` calls (the setting
``SAFETYGAP_PRIVACY_MIN_COUNT``, default :data:`DEFAULT_MIN_COUNT` = 11, the threshold the
U.S. Centers for Medicare & Medicaid Services' cell-size suppression policy uses).

A breakdown whose total is shown (an area's calls by category, a category's calls by year,
the hexagons of a map layer) gets one *complementary* suppression when exactly one of its
cells is hidden: the smallest other non-empty cell is hidden too, so the hidden count cannot
be recovered as the total minus the shown cells.

Hexagon maps are never finer than the threshold allows (:func:`finest_hex_size`): the
smallest size on :data:`HEX_SIZES_M` at which at least half of the sensitive calls shown lie
in hexagons that are not hidden.

Pure functions on arrays; nothing here reads settings or files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from safetygap.geo.hexbin import hex_axial

__all__ = [
    "DEFAULT_MIN_COUNT",
    "HEX_SIZES_M",
    "SENSITIVE_CALL_TYPES",
    "SENSITIVE_CATEGORIES",
    "finest_hex_size",
    "hidden_cells",
    "is_sensitive",
    "shown",
]

DEFAULT_MIN_COUNT = 11
"""Smallest count of a cell holding sensitive calls that public answers show."""

SENSITIVE_CATEGORIES: frozenset[str] = frozenset({
    "behavioral_crisis",              # crisis, welfare checks, suicidal ideation
    "behavioral_crisis_high_risk",    # attempted suicide, overdose, missing person
    "domestic_violence",
})
"""Taxonomy categories whose every call is sensitive."""

SENSITIVE_CALL_TYPES = re.compile(
    r"sex|\bcsc|rape|sodomy|overdose|welfare|suicid|domestic|\bdaslt|\bdastr",
    re.IGNORECASE)
"""Call types that are sensitive in whatever category they fall (sexual assault sits in
``victimization`` with thefts; a city's own welfare-check type may be unlisted)."""

HEX_SIZES_M: tuple[float, ...] = (100.0, 150.0, 200.0, 300.0, 400.0, 600.0, 800.0,
                                  1200.0, 1600.0, 2400.0, 3200.0, 5000.0)
"""Hexagon circumradii (metres) a map may be drawn at, finest first."""


def is_sensitive(category: Sequence[object] | np.ndarray | pd.Series,
                 call_type: Sequence[object] | np.ndarray | pd.Series | None = None
                 ) -> np.ndarray:
    """Boolean per call: its category is in :data:`SENSITIVE_CATEGORIES` or its call type
    matches :data:`SENSITIVE_CALL_TYPES` (missing call types never match)."""
    cat = pd.Series(np.asarray(category, dtype=object)).astype("string")
    out = cat.isin(SENSITIVE_CATEGORIES).fillna(False).to_numpy(bool).copy()
    if call_type is not None:
        types = pd.Series(np.asarray(call_type, dtype=object)).astype("string")
        uniques = types.dropna().unique()
        hit = {t for t in uniques if SENSITIVE_CALL_TYPES.search(str(t))}
        out |= types.isin(hit).fillna(False).to_numpy(bool)
    return out


def hidden_cells(counts: Sequence[int] | np.ndarray, sensitive: Sequence[int] | np.ndarray,
                 *, min_count: int = DEFAULT_MIN_COUNT, total_shown: bool = True
                 ) -> np.ndarray:
    """Which cells of one breakdown to hide.

    ``counts[i]`` calls in cell ``i``, ``sensitive[i]`` of them sensitive. A cell is hidden
    when it holds a sensitive call and fewer than ``min_count`` calls. When ``total_shown``
    (the breakdown's total is published) and exactly one cell is hidden, the smallest other
    non-empty cell is hidden too (ties: the first).
    """
    counts = np.asarray(counts, dtype=np.int64)
    sensitive = np.asarray(sensitive, dtype=np.int64)
    if counts.shape != sensitive.shape:
        raise ValueError(f"counts and sensitive differ in shape: {counts.shape} and "
                         f"{sensitive.shape}")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count!r}")
    hide = (sensitive > 0) & (counts > 0) & (counts < min_count)
    if total_shown and hide.sum() == 1:
        others = np.flatnonzero(~hide & (counts > 0))
        if len(others):
            hide[others[np.argmin(counts[others])]] = True
    return hide


def shown(counts: Sequence[int] | np.ndarray, hide: np.ndarray) -> list[int | None]:
    """``counts`` as Python ints, None where hidden."""
    return [None if h else int(n) for n, h in zip(np.asarray(counts), hide, strict=True)]


def finest_hex_size(x: np.ndarray, y: np.ndarray, sensitive: np.ndarray, *,
                    min_count: int = DEFAULT_MIN_COUNT,
                    sizes: Sequence[float] = HEX_SIZES_M) -> float:
    """The smallest of ``sizes`` (hexagon circumradii, metres, in the projected CRS of
    ``x``/``y``) at which at least half of the sensitive calls lie in hexagons that
    :func:`hidden_cells` keeps shown (with ``total_shown=False``: the primary rule). The
    first size when there are no sensitive calls; the largest when none qualifies."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sensitive = np.asarray(sensitive, dtype=bool)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, sensitive = x[ok], y[ok], sensitive[ok]
    ordered = sorted(float(s) for s in sizes)
    n_sensitive = int(sensitive.sum())
    if n_sensitive == 0:
        return ordered[0]
    for size in ordered:
        q, r = hex_axial(x, y, size_m=size)
        r = r - r.min()
        key = (q - q.min()) * (int(r.max()) + 1) + r  # one integer per hexagon
        _, cell, counts = np.unique(key, return_inverse=True, return_counts=True)
        sens = np.bincount(cell, weights=sensitive, minlength=len(counts)).astype(np.int64)
        hide = hidden_cells(counts, sens, min_count=min_count, total_shown=False)
        if sens[~hide].sum() * 2 >= n_sensitive:
            return size
    return ordered[-1]
