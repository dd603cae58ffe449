"""Who lives in the underserved areas: disparity of a group against everyone else.

For one group (counted in its universe: residents, households, ...) and one family's
classification of areas (``underserved``: the methods' "high need, low access" areas),
over the areas that have a class:

- ``share_group = G_U / G``: the group's share living in underserved areas (``G_U`` the
  group's count in them, ``G`` in all classified areas);
- ``share_others = O_U / O`` for everyone else in the universe (``O = universe - group``);
- ``difference = share_group - share_others`` (percentage points when x100) and
  ``ratio = share_group / share_others`` (1 = no disparity).

Counts of an area may be weighted (``weights``: the share of a neighborhood inside a ward,
for a ward's own disparity).

90% intervals come from a seeded Monte Carlo: each draw takes every area's group and universe
count from a normal distribution with the published estimate as mean and ``MOE / 1.645`` as
standard deviation (a count below 0 is set to 0, a universe below its group to the group),
and, when the classes themselves are uncertain, one bootstrap replicate of the underserved
areas (``replicates``, drawn with replacement); the interval is the 5th to 95th percentile
of the draws. Group and universe are drawn independently (as the Census Bureau's formulas
treat estimates), which is conservative: they are positively correlated in truth.

The same draws give the population-weighted mean access each group experiences,
``sum_i g_i a_i / sum_i g_i``, against the whole universe's (the city's) and everyone else's.

References: U.S. Census Bureau (2020), *Understanding and Using American Community Survey
Data*, ch. 8; Urban Institute, *Spatial Equity Data Tool* technical appendix (disparity of a
group's share against the rest of the population); ``docs/METHODS.md``, "Equity".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from safetygap.equity.moe import Z90, moe_proportion, moe_sum

__all__ = [
    "DEFAULT_DRAWS",
    "Disparity",
    "GroupDraws",
    "Interval",
    "MeanAccess",
    "disparity",
    "mean_access",
]

DEFAULT_DRAWS = 1000
"""Monte Carlo draws per group (a setting: ``equity_draws``)."""
LEVEL = 0.90
"""Two-sided level of every interval (ACS margins are 90%)."""


def _r(v: float) -> float | None:
    return None if not np.isfinite(v) else round(float(v), 6)


@dataclass(frozen=True)
class Interval:
    """An estimate with its 90% interval (``low``, ``high``; NaN when unknown)."""

    estimate: float
    low: float
    high: float

    @classmethod
    def of(cls, estimate: float, draws: np.ndarray, level: float = LEVEL) -> Interval:
        d = np.asarray(draws, dtype=float)
        d = d[np.isfinite(d)]
        if not np.isfinite(estimate) or len(d) == 0:
            return cls(float(estimate), np.nan, np.nan)
        a = (1.0 - level) / 2.0
        lo, hi = np.quantile(d, [a, 1.0 - a])
        return cls(float(estimate), float(lo), float(hi))

    def to_dict(self) -> dict[str, float | None]:
        return {"estimate": _r(self.estimate), "low": _r(self.low), "high": _r(self.high)}


@dataclass(frozen=True)
class GroupDraws:
    """Monte Carlo draws of one group's and its universe's counts per area, shape
    ``(n_draws, n_areas)``, with the published estimates (reused for every family and
    ward so their intervals are consistent)."""

    group: np.ndarray
    universe: np.ndarray
    group_draws: np.ndarray
    universe_draws: np.ndarray
    seed: int
    has_moe: bool

    @classmethod
    def make(cls, group: np.ndarray, universe: np.ndarray, group_moe: np.ndarray | None,
             universe_moe: np.ndarray | None, *, n_draws: int = DEFAULT_DRAWS,
             seed: int = 0) -> GroupDraws:
        """Draw ``n_draws`` times (seeded); a missing MOE (None or NaN) draws nothing
        for that count: the estimate is repeated."""
        g = np.nan_to_num(np.asarray(group, dtype=float))
        u = np.nan_to_num(np.asarray(universe, dtype=float))
        rng = np.random.default_rng(seed)

        def sd(moe: np.ndarray | None) -> np.ndarray:
            if moe is None:
                return np.zeros(len(g))
            return np.nan_to_num(np.asarray(moe, dtype=float)) / Z90

        gd = np.maximum(g + rng.standard_normal((n_draws, len(g))) * sd(group_moe), 0.0)
        ud = np.maximum(u + rng.standard_normal((n_draws, len(u))) * sd(universe_moe), gd)
        has = group_moe is not None and bool(np.isfinite(np.asarray(group_moe, float)).any())
        return cls(g, u, gd, ud, seed, has)

    @property
    def n_draws(self) -> int:
        return int(self.group_draws.shape[0])


@dataclass(frozen=True)
class Disparity:
    """One group against everyone else in one family's underserved areas."""

    group_total: float
    others_total: float
    group_in_underserved: float
    others_in_underserved: float
    share_group: Interval
    share_others: Interval
    difference: Interval
    ratio: Interval
    share_group_moe_census: float
    """The Census Bureau's proportion-formula MOE of ``share_group`` (an approximation shown
    beside the draws for reference; NaN without MOEs)."""
    n_draws: int
    replicates: int
    areas: int
    underserved_areas: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "group_total": _r(self.group_total), "others_total": _r(self.others_total),
            "group_in_underserved": _r(self.group_in_underserved),
            "others_in_underserved": _r(self.others_in_underserved),
            "share_group": self.share_group.to_dict(),
            "share_others": self.share_others.to_dict(),
            "difference": self.difference.to_dict(), "ratio": self.ratio.to_dict(),
            "share_group_moe_census": _r(self.share_group_moe_census),
            "n_draws": self.n_draws, "replicates": self.replicates,
            "areas": self.areas, "underserved_areas": self.underserved_areas,
        }


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.full(np.broadcast(a, b).shape, np.nan), where=b > 0)


def disparity(draws: GroupDraws, underserved: np.ndarray, *,
              classified: np.ndarray | None = None, replicates: np.ndarray | None = None,
              weights: np.ndarray | None = None, seed: int = 0,
              group_moe: np.ndarray | None = None) -> Disparity:
    """The disparity of the module docstring.

    ``underserved`` (bool per area) is the point classification; ``classified`` (bool per
    area, default all) the areas that have a class at all; ``replicates`` (bool, shape
    ``(R, n_areas)``) bootstrap replicates of ``underserved`` whose uncertainty joins the
    draws; ``weights`` (per area, default 1) scale each area's counts; ``group_moe`` (per
    area) gives the analytic proportion MOE of ``share_group`` beside the draws.
    """
    n = len(draws.group)
    under = np.asarray(underserved, dtype=bool)
    cls = np.ones(n, bool) if classified is None else np.asarray(classified, dtype=bool)
    w = np.ones(n) if weights is None else np.nan_to_num(np.asarray(weights, dtype=float))
    w = np.where(cls, w, 0.0)
    g, u = draws.group * w, draws.universe * w
    o = np.maximum(u - g, 0.0)
    gu, ou = float(g[under].sum()), float(o[under].sum())
    gt, ot = float(g.sum()), float(o.sum())
    s_g = gu / gt if gt > 0 else np.nan
    s_o = ou / ot if ot > 0 else np.nan
    # draws: counts, and (with replicates) one replicate of the classes per draw
    gd = draws.group_draws * w
    od = np.maximum(draws.universe_draws - draws.group_draws, 0.0) * w
    if replicates is not None and len(replicates):
        reps = np.asarray(replicates, dtype=bool)
        pick = np.random.default_rng([seed, 1]).integers(0, len(reps), draws.n_draws)
        mask = reps[pick] & cls
    else:
        mask = np.broadcast_to(under, gd.shape)
    sg_d = _div((gd * mask).sum(axis=1), gd.sum(axis=1))
    so_d = _div((od * mask).sum(axis=1), od.sum(axis=1))
    moe_gu = moe_gt = np.nan
    if group_moe is not None:
        m = np.nan_to_num(np.asarray(group_moe, dtype=float)) * w
        raw = draws.group * w
        moe_gu = float(moe_sum(m[under], raw[under])) if under.any() else 0.0
        moe_gt = float(moe_sum(m[w > 0], raw[w > 0]))
    p_moe = float(moe_proportion(gu, gt, moe_gu, moe_gt)) if group_moe is not None else np.nan
    return Disparity(
        group_total=gt, others_total=ot, group_in_underserved=gu, others_in_underserved=ou,
        share_group=Interval.of(s_g, sg_d), share_others=Interval.of(s_o, so_d),
        difference=Interval.of(s_g - s_o, sg_d - so_d),
        ratio=Interval.of(s_g / s_o if s_o > 0 else np.nan, _div(sg_d, so_d)),
        share_group_moe_census=p_moe, n_draws=draws.n_draws,
        replicates=0 if replicates is None else len(replicates),
        areas=int((w > 0).sum()), underserved_areas=int((under & (w > 0)).sum()))


@dataclass(frozen=True)
class MeanAccess:
    """Population-weighted mean access experienced by a group, by everyone else and by the
    whole universe (the city or ward), and the group's ratio to the whole."""

    group: Interval
    others: Interval
    overall: Interval
    ratio: Interval

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group.to_dict(), "others": self.others.to_dict(),
                "overall": self.overall.to_dict(), "ratio": self.ratio.to_dict()}


def mean_access(draws: GroupDraws, access: np.ndarray, *,
                weights: np.ndarray | None = None) -> MeanAccess:
    """``sum g_i a_i / sum g_i`` for the group, everyone else and the universe, over areas
    with a finite ``access``; intervals from the draws (access itself taken as known)."""
    a = np.asarray(access, dtype=float)
    ok = np.isfinite(a)
    w = np.ones(len(a)) if weights is None else np.nan_to_num(np.asarray(weights, float))
    w = np.where(ok, w, 0.0)
    a0 = np.where(ok, a, 0.0)

    def mean(counts: np.ndarray) -> np.ndarray:
        c = counts * w
        return _div((c * a0).sum(axis=-1), c.sum(axis=-1))

    g, u = draws.group, draws.universe
    o = np.maximum(u - g, 0.0)
    gd, ud = draws.group_draws, draws.universe_draws
    od = np.maximum(ud - gd, 0.0)
    mg, mu = float(mean(g)), float(mean(u))
    return MeanAccess(
        group=Interval.of(mg, mean(gd)), others=Interval.of(float(mean(o)), mean(od)),
        overall=Interval.of(mu, mean(ud)),
        ratio=Interval.of(mg / mu if mu > 0 else np.nan, _div(mean(gd), mean(ud))))
