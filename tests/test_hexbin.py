"""Hexagonal binning: hand-worked cells and a brute-force nearest-centre check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safetygap.geo.hexbin import hex_axial, hex_centres, hex_polygons, hexbin_counts

SQ3 = math.sqrt(3.0)


@pytest.mark.parametrize(
    ("x", "y", "q", "r"),
    [
        (0.0, 0.0, 0, 0),
        # centre of (1, 0) is (size * sqrt(3), 0); of (0, 1) is (size * sqrt(3) / 2, 1.5 size)
        (100 * SQ3, 0.0, 1, 0),
        (50 * SQ3, 150.0, 0, 1),
        (-50 * SQ3, -150.0, 0, -1),
        # 40 m right of the origin: still in (0, 0) (the edge is 86.6 m away)
        (40.0, 0.0, 0, 0),
        # 95 m right: past the edge at 86.6 m, in (1, 0)
        (95.0, 0.0, 1, 0),
    ],
)
def test_hand_worked_cells(x, y, q, r):
    qq, rr = hex_axial(np.array([x]), np.array([y]), size_m=100.0)
    assert (int(qq[0]), int(rr[0])) == (q, r)


def test_centres_and_polygons():
    cx, cy = hex_centres(np.array([1, 0]), np.array([0, 1]), size_m=100.0)
    assert cx == pytest.approx([100 * SQ3, 50 * SQ3])
    assert cy == pytest.approx([0.0, 150.0])
    poly = hex_polygons(np.array([0]), np.array([0]), size_m=100.0)[0]
    # regular hexagon of circumradius s: area 3*sqrt(3)/2 * s^2
    assert poly.area == pytest.approx(1.5 * SQ3 * 100.0**2)
    assert shapely.contains_xy(poly, 0.0, 99.0) and not shapely.contains_xy(poly, 0.0, 101.0)


def test_counts_skip_missing_and_sort():
    x = np.array([0.0, 1.0, np.nan, 100 * SQ3, 100 * SQ3 + 1])
    y = np.array([0.0, 1.0, 5.0, 0.0, 0.0])
    c = hexbin_counts(x, y, size_m=100.0)
    assert c.to_dict("list") == {"q": [0, 1], "r": [0, 0], "count": [2, 2]}
    assert len(hexbin_counts(np.array([np.nan]), np.array([1.0]), size_m=10.0)) == 0


def test_bad_size():
    with pytest.raises(ValueError, match="size_m"):
        hex_axial(np.array([0.0]), np.array([0.0]), size_m=0.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-5000, 5000), st.floats(-5000, 5000)), min_size=1,
             max_size=40),
    st.floats(20, 800),
    st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)),
)
def test_each_point_goes_to_its_nearest_centre(points, size, origin):
    """Second method: the nearest of the candidate centres around the point, by brute force;
    the hexagon polygon of the cell contains the point; counts add up."""
    xy = np.array(points)
    q, r = hex_axial(xy[:, 0], xy[:, 1], size_m=size, origin=origin)
    cx, cy = hex_centres(q, r, size_m=size, origin=origin)
    d_own = np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)
    assert (d_own <= size * (1 + 1e-9)).all()
    for dq, dr in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)):
        nx, ny = hex_centres(q + dq, r + dr, size_m=size, origin=origin)
        assert (d_own <= np.hypot(xy[:, 0] - nx, xy[:, 1] - ny) + 1e-6 * size).all()
    polys = hex_polygons(q, r, size_m=size, origin=origin)
    assert shapely.dwithin(polys, shapely.points(xy), 1e-6 * size).all()
    assert hexbin_counts(xy[:, 0], xy[:, 1], size_m=size, origin=origin)["count"].sum() \
        == len(xy)
