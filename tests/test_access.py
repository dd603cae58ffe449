"""E2SFCA accessibility and catchment coverage, checked by hand."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetygap.errors import ValidationError
from safetygap.geo.access import (
    dai_weights,
    e2sfca,
    e2sfca_from_cost_matrix,
    truncated_gaussian_weights,
)
from safetygap.geo.coverage import within_catchment


def test_two_demand_points_one_provider():
    # provider with capacity 10; demand 100 at 0 m and 300 at 1000 m; catchment 2000, sigma 1000
    cost = np.array([[0.0], [1000.0]])
    acc = e2sfca_from_cost_matrix(np.array([100.0, 300.0]), np.array([10.0]), cost,
                                  catchment=2000.0, kernel="truncated_gaussian")
    w1 = math.exp(-0.5 * (1000 / 1000) ** 2)
    ratio = 10 / (100 * 1 + 300 * w1)
    assert acc == pytest.approx([ratio, ratio * w1], rel=1e-12)


def test_outside_catchment_gets_nothing_and_capacity_is_conserved_when_all_reach():
    cost = np.array([[100.0, 5000.0], [200.0, 100.0], [9000.0, 9000.0]])
    demand = np.array([50.0, 70.0, 30.0])
    supply = np.array([4.0, 6.0])
    acc = e2sfca_from_cost_matrix(demand, supply, cost, catchment=np.array([1000.0, 1000.0]))
    assert acc[2] == 0.0
    # with no decay inside the catchment (huge sigma) the 2SFCA identity holds:
    # sum_i P_i A_i = total supply that reaches some demand
    flat = e2sfca_from_cost_matrix(demand, supply, cost, catchment=1000.0,
                                   kernel="truncated_gaussian", sigma=1e12)
    assert (demand * flat).sum() == pytest.approx(10.0)


def test_zero_demand_provider_contributes_nothing():
    cost = np.array([[100.0]])
    assert e2sfca_from_cost_matrix(np.array([0.0]), np.array([5.0]), cost,
                                   catchment=1000.0)[0] == 0.0


def test_empty_inputs_and_shape_errors():
    assert len(e2sfca_from_cost_matrix(np.zeros(0), np.zeros(0), np.zeros((0, 0)),
                                       catchment=1.0)) == 0
    assert list(e2sfca_from_cost_matrix(np.ones(2), np.zeros(0), np.zeros((2, 0)),
                                        catchment=1.0)) == [0.0, 0.0]
    with pytest.raises(ValueError, match="shape"):
        e2sfca_from_cost_matrix(np.ones(2), np.ones(1), np.zeros((1, 1)), catchment=1.0)


def test_dai_two_points_by_hand():
    # Dai (2010): W(d) = (exp(-(d/d0)^2 / 2) - exp(-1/2)) / (1 - exp(-1/2)); d0 = 2000 m
    cost = np.array([[0.0], [1000.0], [2000.0]])
    acc = e2sfca_from_cost_matrix(np.array([100.0, 300.0, 500.0]), np.array([10.0]), cost,
                                  catchment=2000.0)
    e = math.exp(-0.5)
    w1 = (math.exp(-0.5 * 0.25) - e) / (1 - e)  # 0.70137
    ratio = 10 / (100 * 1 + 300 * w1 + 500 * 0)
    assert acc == pytest.approx([ratio, ratio * w1, 0.0], rel=1e-12)
    assert acc[2] == 0.0  # the catchment edge gets nothing under Dai's kernel


def test_dai_weights_shape():
    d = np.array([[0.0, 500.0, 999.999, 1000.0, 1000.001, np.inf, np.nan]])
    w = dai_weights(d, 1000.0)
    assert w[0, 0] == 1.0
    assert w[0, 1] == pytest.approx((math.exp(-0.125) - math.exp(-0.5)) / (1 - math.exp(-0.5)))
    assert 0 < w[0, 2] < 1e-5
    assert list(w[0, 3:]) == [0.0, 0.0, 0.0, 0.0]
    assert np.all(np.diff(w[0, :5]) <= 0)  # never rises with distance


def test_unknown_kernel_is_refused():
    with pytest.raises(ValidationError, match="kernel"):
        e2sfca_from_cost_matrix(np.ones(1), np.ones(1), np.zeros((1, 1)), catchment=1.0,
                                kernel="triangle")


def test_gaussian_weights_edge():
    w = truncated_gaussian_weights(np.array([[0.0, 1000.0, 1000.0001, np.inf]]), 1000.0, 500.0)
    assert w[0, 0] == 1.0
    assert w[0, 1] == pytest.approx(math.exp(-2))
    assert w[0, 2] == 0.0 and w[0, 3] == 0.0


def test_geodataframe_entry_matches_cost_matrix_entry():
    crs = "EPSG:26915"
    demand = gpd.GeoDataFrame({"pop": [100.0, 300.0]},
                              geometry=gpd.points_from_xy([0, 1000], [0, 0]), crs=crs)
    prov = gpd.GeoDataFrame({"capacity": [10.0], "catchment_m": [2000.0]},
                            geometry=gpd.points_from_xy([0], [0]), crs=crs)
    a = e2sfca(demand, prov, demand_column="pop")
    b = e2sfca_from_cost_matrix(np.array([100.0, 300.0]), np.array([10.0]),
                                np.array([[0.0], [1000.0]]), catchment=2000.0)
    assert b[1] / b[0] == pytest.approx(0.701367, abs=1e-6)  # Dai's kernel by default
    assert a == pytest.approx(b, rel=1e-12)
    with pytest.raises(ValidationError, match="projected"):
        e2sfca(demand.set_crs("EPSG:4326", allow_override=True),
               prov.set_crs("EPSG:4326", allow_override=True), demand_column="pop")


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 20), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_accessibility_is_non_negative_and_finite(n_d, n_s, seed):
    rng = np.random.default_rng(seed)
    acc = e2sfca_from_cost_matrix(rng.uniform(0, 1000, n_d), rng.uniform(0.1, 10, n_s),
                                  rng.uniform(0, 5000, (n_d, n_s)),
                                  catchment=rng.uniform(500, 4000, n_s))
    assert np.all(np.isfinite(acc)) and np.all(acc >= 0)


def test_within_catchment_by_hand():
    x = np.array([0.0, 300.0, 400.0, 1000.0, np.nan])
    y = np.array([0.0, 400.0, 400.0, 0.0, 0.0])
    # provider at origin, catchment 500 m: (300,400) is exactly 500 m -> covered
    got = within_catchment(x, y, np.array([0.0]), np.array([0.0]), np.array([500.0]))
    assert list(got) == [True, True, False, False, False]
    # a second provider with a larger catchment far away
    got2 = within_catchment(x, y, np.array([0.0, 3000.0]), np.array([0.0, 0.0]),
                            np.array([500.0, 2000.0]))
    assert list(got2) == [True, True, False, True, False]
    assert not within_catchment(x, y, np.zeros(0), np.zeros(0), np.zeros(0)).any()
