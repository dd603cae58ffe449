"""Tract-to-neighborhood interpolation: hand-worked weights and MOEs, conservation of totals,
and tobler as a second method (area-weighted and dasymetric)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from safetygap.equity.interpolate import apportion_with_moe, area_weights, dasymetric_weights
from tests.conftest import CRS, make_tiny_areas, sq


def tracts(*boxes: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"tract": [f"T{i + 1}" for i in range(len(boxes))]},
                            geometry=[sq(*b) for b in boxes], crs=CRS)


def test_area_weighted_by_hand():
    nbhd, _ = make_tiny_areas()  # A, B, C, D: 1 km squares
    src = tracts((0, 0, 1500, 2000), (1500, 0, 2000, 2000))
    w = area_weights(src, nbhd)
    est, moe = apportion_with_moe(np.array([3000.0, 1000.0]), np.array([300.0, 200.0]), w)
    # T1 (3 km2) gives A and C a third each, B and D a sixth; T2 (1 km2) half to B and D
    assert est.tolist() == pytest.approx([1000.0, 1000.0, 1000.0, 1000.0])
    assert moe[0] == pytest.approx(100.0)
    assert moe[1] == pytest.approx(math.sqrt(50.0**2 + 100.0**2))
    assert est.sum() == pytest.approx(4000.0)
    assert w.inside.tolist() == pytest.approx([1.0, 1.0])


def test_a_tract_reaching_outside_keeps_its_outside_share_out():
    nbhd, _ = make_tiny_areas()
    src = tracts((1500, 0, 2500, 1000))  # half outside the city
    w = area_weights(src, nbhd)
    est, _ = apportion_with_moe(np.array([800.0]), None, w)
    assert w.inside.tolist() == pytest.approx([0.5])
    assert np.nansum(est) == pytest.approx(400.0)
    assert est[1] == pytest.approx(400.0)
    assert np.isnan(est[0])  # no tract reaches A: no data, not zero


def test_dasymetric_by_hand_with_address_points():
    nbhd, _ = make_tiny_areas()
    src = tracts((0, 0, 1500, 2000), (1500, 0, 2000, 2000))
    x0, y0 = sq(0, 0, 1, 1).bounds[:2]
    pts = gpd.GeoDataFrame(
        {"pop": [10.0, 30.0, 60.0, 5.0]},
        geometry=[Point(x0 + 500, y0 + 500), Point(x0 + 1200, y0 + 500),
                  Point(x0 + 500, y0 + 1500), Point(x0 + 1800, y0 + 1800)], crs=CRS)
    w = dasymetric_weights(src, nbhd, pts, population_column="pop")
    est, moe = apportion_with_moe(np.array([3000.0, 1000.0]), np.array([300.0, 200.0]), w)
    # T1 holds 100 residents: 10 in A, 30 in B, 60 in C; T2 holds 5, all in D
    assert est.tolist() == pytest.approx([300.0, 900.0, 1800.0, 1000.0])
    assert moe[2] == pytest.approx(0.6 * 300.0)
    assert w.fallback == ()


def test_dasymetric_falls_back_to_area_for_an_empty_tract():
    nbhd, _ = make_tiny_areas()
    src = tracts((0, 0, 1500, 2000), (1500, 0, 2000, 2000))
    x0, y0 = sq(0, 0, 1, 1).bounds[:2]
    pts = gpd.GeoDataFrame({"pop": [10.0]}, geometry=[Point(x0 + 500, y0 + 500)], crs=CRS)
    w = dasymetric_weights(src, nbhd, pts, population_column="pop")
    est, _ = apportion_with_moe(np.array([3000.0, 1000.0]), None, w)
    assert w.fallback == (1,)
    assert est.tolist() == pytest.approx([3000.0, 500.0, 0.0, 500.0])


def _grid(nx: int, ny: int, w: float, h: float, jitter: list[float]) -> gpd.GeoDataFrame:
    xs = np.linspace(0, w, nx + 1)
    xs[1:-1] += np.array(jitter[: nx - 1]) * (w / nx) * 0.4
    ys = np.linspace(0, h, ny + 1)
    return gpd.GeoDataFrame(geometry=[sq(xs[i], ys[j], xs[i + 1], ys[j + 1])
                                      for i in range(nx) for j in range(ny)], crs=CRS)


@settings(max_examples=25, deadline=None)
@given(nx=st.integers(1, 5), ny=st.integers(1, 4), tx=st.integers(1, 4),
       jitter=st.lists(st.floats(-1, 1), min_size=4, max_size=4),
       counts=st.lists(st.floats(0, 1e5), min_size=20, max_size=20))
def test_interpolation_conserves_totals(nx, ny, tx, jitter, counts):
    src = _grid(tx, 2, 3000, 2000, jitter[::-1])
    tgt = _grid(nx, ny, 3000, 2000, jitter)
    c = np.array(counts[: len(src)])
    est, _ = apportion_with_moe(c, None, area_weights(src, tgt))
    assert np.nansum(est) == pytest.approx(c.sum(), rel=1e-9, abs=1e-6)


def test_area_weighted_agrees_with_tobler():
    tobler = pytest.importorskip("tobler.area_weighted")
    src = _grid(4, 3, 3000, 2000, [0.3, -0.5, 0.2, 0.0])
    src["count"] = np.arange(1.0, len(src) + 1) * 100
    tgt = _grid(3, 5, 3000, 2000, [-0.4, 0.6, 0.1, 0.0])
    est, _ = apportion_with_moe(src["count"].to_numpy(), None, area_weights(src, tgt))
    ref = tobler.area_interpolate(src, tgt, extensive_variables=["count"])
    assert est == pytest.approx(ref["count"].to_numpy(), rel=1e-6)  # tobler: float32 tables


def test_dasymetric_agrees_with_tobler_pieces():
    """Second method: tobler moves a finer polygon layer's population onto the
    tract x neighborhood pieces and onto the tracts; weights are their ratio."""
    tobler = pytest.importorskip("tobler.area_weighted")
    src = _grid(3, 2, 3000, 2000, [0.3, -0.5, 0.0, 0.0])
    src["count"] = [900.0, 400.0, 1200.0, 700.0, 300.0, 500.0]
    tgt = _grid(2, 3, 3000, 2000, [0.25, 0.0, 0.0, 0.0])
    fine = _grid(6, 5, 3000, 2000, [0.1, -0.2, 0.3, -0.1, 0.2])
    fine["pop"] = (np.arange(len(fine)) % 7 + 1) * 10.0
    w = dasymetric_weights(src, tgt, fine, population_column="pop")
    est, _ = apportion_with_moe(src["count"].to_numpy(), None, w)
    src_i = src.assign(s=np.arange(len(src)))
    tgt_i = tgt.assign(t=np.arange(len(tgt)))
    pieces = gpd.overlay(src_i, tgt_i, how="intersection", keep_geom_type=True)
    p_piece = tobler.area_interpolate(fine, pieces, extensive_variables=["pop"])["pop"]
    p_src = tobler.area_interpolate(fine, src, extensive_variables=["pop"])["pop"].to_numpy()
    contrib = (p_piece.to_numpy() / p_src[pieces["s"]]) * src["count"].to_numpy()[pieces["s"]]
    ref = np.bincount(pieces["t"], weights=contrib, minlength=len(tgt))
    assert est == pytest.approx(ref, rel=1e-6)
    assert est.sum() == pytest.approx(src["count"].sum())
