"""Which areas are underserved, and how sure that is: the public answer for other modules.

An area is **underserved** for a family when it is ranked (enough residents, calls not
mostly from non-residents) and falls in the top third of need and the bottom third of
access among the ranked areas: class 7, "high need, low access"
(:mod:`safetygap.geo.bivariate`). The bootstrap (:mod:`safetygap.geo.bootstrap`) gives
every replicate's class, so a caller can carry the uncertainty of the class into its own
figures (e.g. an equity comparison across replicates).

Both functions read a workspace (a path, or a :class:`~safetygap.workspace.Workspace`) or
an in-memory :class:`~safetygap.pipeline.Analysis`::

    from safetygap.underserved import underserved_areas, class_replicates
    table = underserved_areas("demo/workspace", family="prevention")
    reps = class_replicates("demo/workspace", family="prevention")
    share = (reps == UNDERSERVED_CLASS).mean()     # per area: P(underserved)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pandas as pd

from safetygap import FAMILIES
from safetygap.errors import Problems
from safetygap.geo.bivariate import UNDERSERVED_CLASS
from safetygap.stages.uncertainty import replicate_classes, underserved_table
from safetygap.tables import measures as M
from safetygap.vocab import LEVELS, Level

if TYPE_CHECKING:
    from safetygap.pipeline import Analysis
    from safetygap.workspace import Workspace

__all__ = ["LEVELS", "UNDERSERVED_CLASS", "class_replicates", "underserved_areas"]



def _check(level: str, family: str) -> None:
    problems = Problems()
    if level not in LEVELS:
        problems.add("level", "unknown level", value=level, allowed=LEVELS)
    if family not in FAMILIES:
        problems.add("family", "unknown family", value=family, allowed=FAMILIES)
    problems.raise_if_any()


def _layer(source: object, level: str) -> pd.DataFrame:
    from safetygap.pipeline import Analysis
    from safetygap.workspace import Workspace

    if isinstance(source, Analysis):
        return source.neighborhoods if level == Level.NEIGHBORHOOD else source.wards
    ws = source if isinstance(source, Workspace) else Workspace.open(source)  # type: ignore[arg-type]
    return ws.neighborhoods if level == Level.NEIGHBORHOOD else ws.wards


def underserved_areas(source: str | os.PathLike[str] | Workspace | Analysis, *,
                      family: str, level: str = Level.NEIGHBORHOOD) -> pd.DataFrame:
    """One row per area of ``level``, in layer order: ``area_id``, ``name``,
    ``underserved`` (bool: high need, low access), ``class`` (1..9, 0 not ranked),
    ``class_label``, ``ranked`` (bool), ``underserved_rank`` (1 = most underserved,
    NaN not ranked), ``p_underserved`` (share of bootstrap replicates in which the area
    is underserved; NaN without a bootstrap) and ``class_uncertain`` (bool)."""
    _check(level, family)
    return underserved_table(_layer(source, level), family)


def class_replicates(source: str | os.PathLike[str] | Workspace | Analysis, *,
                     family: str, level: str = Level.NEIGHBORHOOD) -> pd.DataFrame:
    """Every bootstrap replicate's class: one row per replicate (index ``replicate``), one
    column per area id in layer order, values 1..9 (0: not ranked). Empty (no rows) when
    the analysis ran without a bootstrap."""
    from safetygap.pipeline import Analysis
    from safetygap.workspace import Workspace

    _check(level, family)
    if isinstance(source, Analysis):
        reps = source.replicates
    else:
        ws = source if isinstance(source, Workspace) else Workspace.open(source)  # type: ignore[arg-type]
        reps = ws.replicates()
    ids = _layer(source, level)[M.AREA_ID].astype(str).tolist()
    return replicate_classes(reps, ids, level=level, family=family)
