"""Demographic counts per area (neighborhoods or wards) and the columns they become.

:class:`AreaDemographics` holds, per universe and group key, the count of every area and
its 90% margin of error (NaN: no data, or no MOE published). Its :meth:`columns` are the
per-area measures the layers and CSV downloads carry:

=================================  ==================================================
``universe_<u>``, ``universe_moe_<u>``  the universe's count and MOE (residents, households..)
``group_count_<g>``, ``group_count_moe_<g>``  the group's count and MOE
``group_share_<g>``                 group / universe (0-1)
``group_share_moe_<g>``             its 90% MOE (proportion formula)
``group_share_low_<g>``, ``_high_`` share -/+ MOE, clipped to 0-1
``group_share_cv_<g>``              coefficient of variation of the share (fraction)
``group_reliability_<g>``           reliable / caution / unreliable / unknown
=================================  ==================================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from safetygap.equity.disparity import DEFAULT_DRAWS, GroupDraws
from safetygap.equity.interpolate import Weights, apportion_with_moe
from safetygap.equity.moe import CV_CAUTION, CV_UNRELIABLE, moe_proportion, moe_sum
from safetygap.equity.shares import AreaShares, area_shares
from safetygap.equity.spec import DemographicsSpec

__all__ = ["GROUP_MEASURES", "AreaDemographics", "column"]

GROUP_MEASURES = ("group_count", "group_count_moe", "group_share", "group_share_moe",
                  "group_share_low", "group_share_high", "group_share_cv",
                  "group_reliability")
"""Per-group measure names, in display order (``<measure>_<group key>`` columns)."""
UNIVERSE_MEASURES = ("universe", "universe_moe")


def column(measure: str, key: str) -> str:
    """The layer column of a group or universe measure: ``<measure>_<key>``."""
    return f"{measure}_{key}"


@dataclass(frozen=True)
class AreaDemographics:
    """Counts and MOEs per area of every universe and group of ``spec``; ``caution`` and
    ``unreliable`` are the CV thresholds of the reliability labels (settings)."""

    spec: DemographicsSpec
    estimate: dict[str, np.ndarray]
    moe: dict[str, np.ndarray]
    caution: float = CV_CAUTION
    unreliable: float = CV_UNRELIABLE

    def with_thresholds(self, caution: float, unreliable: float) -> AreaDemographics:
        """The same counts with other CV thresholds."""
        return replace(self, caution=caution, unreliable=unreliable)

    @property
    def n_areas(self) -> int:
        return len(next(iter(self.estimate.values())))

    def _moe_or_none(self, key: str) -> np.ndarray | None:
        return self.moe[key] if self.spec.has_moe(key) else None

    def shares(self, group: str) -> AreaShares:
        """Per-area shares of ``group`` in its universe, with MOE, CV and reliability."""
        u = self.spec.group(group).universe
        return area_shares(self.estimate[group], self.estimate[u], self._moe_or_none(group),
                           self._moe_or_none(u), caution=self.caution,
                           unreliable=self.unreliable)

    def draws(self, group: str, *, n_draws: int = DEFAULT_DRAWS, seed: int = 0
              ) -> GroupDraws:
        """Monte Carlo draws of ``group`` and its universe per area (areas without data
        count 0)."""
        u = self.spec.group(group).universe
        return GroupDraws.make(self.estimate[group], self.estimate[u],
                               self._moe_or_none(group), self._moe_or_none(u),
                               n_draws=n_draws, seed=seed)

    def has_data(self) -> np.ndarray:
        """Areas with a count for every universe."""
        return np.logical_and.reduce([np.isfinite(self.estimate[u.key])
                                      for u in self.spec.universes])

    def total(self, group: str, weights: np.ndarray | None = None) -> dict[str, float]:
        """The group's and its universe's totals over areas (weighted), the share and their
        MOEs (sum formula over areas, zero rule; proportion formula)."""
        u = self.spec.group(group).universe
        w = np.ones(self.n_areas) if weights is None else np.asarray(weights, float)
        ok = np.isfinite(self.estimate[group]) & np.isfinite(self.estimate[u]) & (w > 0)
        g, un = self.estimate[group][ok] * w[ok], self.estimate[u][ok] * w[ok]
        mg, mu = self.moe[group][ok] * w[ok], self.moe[u][ok] * w[ok]
        gt, ut = float(g.sum()), float(un.sum())
        has = self.spec.has_moe(group) and self.spec.has_moe(u) and ok.any()
        g_moe = float(moe_sum(mg, g)) if has else np.nan
        u_moe = float(moe_sum(mu, un)) if has else np.nan
        share = gt / ut if ut > 0 else np.nan
        return {"group": gt, "group_moe": g_moe, "universe": ut, "universe_moe": u_moe,
                "share": share, "share_moe": float(moe_proportion(gt, ut, g_moe, u_moe))
                if has and ut > 0 else np.nan, "areas": int(ok.sum())}

    def apportion(self, weights: Weights) -> AreaDemographics:
        """Counts and MOEs moved to other areas by ``weights`` (e.g. neighborhoods to wards
        by the area crosswalk), MOEs by the weighted-sum formula."""
        est, moe = {}, {}
        for key in self.estimate:
            est[key], moe[key] = apportion_with_moe(self.estimate[key],
                                                    self._moe_or_none(key), weights)
        return AreaDemographics(self.spec, est, moe, self.caution, self.unreliable)

    def columns(self) -> pd.DataFrame:
        """The per-area columns of the module docstring, in the layer's row order."""
        cols: dict[str, np.ndarray] = {}
        for u in self.spec.universes:
            cols[column("universe", u.key)] = self.estimate[u.key]
            cols[column("universe_moe", u.key)] = self.moe[u.key]
        for g in self.spec.groups:
            s = self.shares(g.key)
            values = (self.estimate[g.key], self.moe[g.key], s.share, s.moe, s.low, s.high,
                      s.cv, s.reliability.astype(str))
            for measure, v in zip(GROUP_MEASURES, values, strict=True):
                cols[column(measure, g.key)] = v
        return pd.DataFrame(cols)
