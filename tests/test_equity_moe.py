"""MOE arithmetic against the Census Bureau's published formulas, worked by hand
(Understanding and Using ACS Data, 2020, ch. 8): sums, proportions, ratios, CV."""

from __future__ import annotations

import math

import numpy as np
import pytest

from safetygap.equity.moe import (
    coefficient_of_variation,
    moe_proportion,
    moe_ratio,
    moe_sum,
    moe_weighted_sum,
    reliability,
    standard_error,
)
from safetygap.equity.shares import area_shares


def test_sum_of_moes_is_root_sum_of_squares():
    assert moe_sum([3.0, 4.0]) == pytest.approx(5.0)
    # 2-D: sum down the areas, one value per column
    assert moe_sum(np.array([[3.0, 6.0], [4.0, 8.0]])).tolist() == pytest.approx([5.0, 10.0])


def test_sum_counts_only_the_largest_moe_of_zero_estimates():
    # the Bureau's rule: of several zero estimates only the largest MOE is counted
    assert moe_sum([56, 25, 28, 31], [36, 0, 0, 0]) == pytest.approx(math.sqrt(56**2 + 31**2))
    assert moe_sum([27, 19, 22], [0, 0, 0]) == pytest.approx(27.0)
    assert moe_sum([49, 26], [73, 22]) == pytest.approx(math.sqrt(49**2 + 26**2))
    assert math.isnan(moe_sum([np.nan, 3.0], [1.0, 2.0]))


def test_weighted_sum_scales_each_moe():
    assert moe_weighted_sum([0.5, 0.25], [40.0, 80.0]) == pytest.approx(math.sqrt(800.0))


def test_proportion_formula():
    # p = 100/400; sqrt(20^2 - 0.25^2 30^2) / 400 = sqrt(343.75) / 400
    assert moe_proportion(100, 400, 20, 30) == pytest.approx(math.sqrt(343.75) / 400)


def test_proportion_falls_back_to_ratio_when_radicand_negative():
    # p = 0.9: 5^2 - 0.81 * 20^2 < 0, so sqrt(5^2 + 0.81 * 20^2) / 100
    assert moe_proportion(90, 100, 5, 20) == pytest.approx(math.sqrt(25 + 324) / 100)
    assert moe_ratio(90, 100, 5, 20) == pytest.approx(math.sqrt(349) / 100)


def test_ratio_formula_and_zero_denominator():
    assert moe_ratio(50, 200, 10, 40) == pytest.approx(math.sqrt(100 + 0.0625 * 1600) / 200)
    assert math.isnan(moe_ratio(5, 0, 1, 1))
    assert math.isnan(moe_proportion(5, 0, 1, 1))


def test_cv_and_reliability_thresholds():
    assert standard_error(329.0) == pytest.approx(200.0)
    cv = coefficient_of_variation([1000, 1000, 1000, 1000, 1000, 0, np.nan],
                                  [164.5, 329.0, 658.0, 197.4, 493.5, 10, 5])
    assert cv[:5] == pytest.approx([0.1, 0.2, 0.4, 0.12, 0.3])
    assert math.isinf(cv[5])
    assert reliability(cv).tolist() == ["reliable", "caution", "unreliable", "caution",
                                        "caution", "unreliable", "unknown"]


def test_area_shares_by_hand():
    s = area_shares(np.array([100.0, 0.0, 5.0]), np.array([400.0, 50.0, 0.0]),
                    np.array([20.0, 5.0, 1.0]), np.array([30.0, 10.0, 1.0]))
    assert s.share[:2].tolist() == pytest.approx([0.25, 0.0])
    assert math.isnan(s.share[2])
    moe0 = math.sqrt(343.75) / 400
    assert s.moe[0] == pytest.approx(moe0)
    assert s.moe[1] == pytest.approx(0.1)  # p = 0: sqrt(5^2) / 50
    assert s.cv[0] == pytest.approx(moe0 / 1.645 / 0.25)
    assert s.low[0] == pytest.approx(0.25 - moe0)
    assert s.low[1] == 0.0  # clipped
    assert s.reliability.tolist() == ["reliable", "unreliable", "unknown"]
    no_moe = area_shares(np.array([1.0]), np.array([2.0]), None, None)
    assert no_moe.share[0] == 0.5 and no_moe.reliability.tolist() == ["unknown"]
