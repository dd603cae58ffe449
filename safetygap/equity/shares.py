"""Per-area group shares with margins of error and reliability flags.

``share = group / universe`` per area; its 90% MOE by the Census Bureau's proportion
formula (:func:`safetygap.equity.moe.moe_proportion`); ``cv = (MOE / 1.645) / share``;
the reliability label from the CV (:func:`safetygap.equity.moe.reliability`: below 12%
reliable, 12-30% caution, above 30% unreliable; a share of 0 is unreliable, an area with
no universe has no share and is ``unknown``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safetygap.equity.moe import (
    CV_CAUTION,
    CV_UNRELIABLE,
    coefficient_of_variation,
    moe_proportion,
    reliability,
)

__all__ = ["AreaShares", "area_shares"]


@dataclass(frozen=True)
class AreaShares:
    """Per area: ``share`` (0-1), ``moe`` (90%, same unit), ``low``/``high`` (share -/+ MOE,
    clipped to 0-1), ``cv`` (fraction) and ``reliability`` (labels)."""

    share: np.ndarray
    moe: np.ndarray
    low: np.ndarray
    high: np.ndarray
    cv: np.ndarray
    reliability: np.ndarray


def area_shares(group: np.ndarray, universe: np.ndarray, group_moe: np.ndarray | None,
                universe_moe: np.ndarray | None, *, caution: float = CV_CAUTION,
                unreliable: float = CV_UNRELIABLE) -> AreaShares:
    """Shares of ``group`` in ``universe`` per area, with MOE, interval, CV and reliability
    (see the module docstring). Without MOE columns the MOE, CV and interval are NaN and the
    reliability ``unknown``. An area whose universe is 0 or NaN has no share (NaN)."""
    g = np.asarray(group, dtype=float)
    u = np.asarray(universe, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(u > 0, g / u, np.nan)
    if group_moe is None or universe_moe is None:
        nan = np.full(g.shape, np.nan)
        return AreaShares(share, nan, nan.copy(), nan.copy(), nan.copy(),
                          reliability(nan, caution=caution, unreliable=unreliable))
    moe = np.where(u > 0, moe_proportion(g, u, group_moe, universe_moe), np.nan)
    cv = coefficient_of_variation(share, moe)
    cv = np.where(np.isfinite(share), cv, np.nan)
    return AreaShares(share, moe, np.clip(share - moe, 0.0, 1.0), np.clip(share + moe, 0.0, 1.0),
                      cv, reliability(cv, caution=caution, unreliable=unreliable))
