"""Calls near area boundaries and the split policy, on the tiny city (answers by hand)
and as hypothesis invariants checked against a brute-force distance computation."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from conftest import CRS, X0, Y0
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetygap.geo.boundary import allocate, boundary_segments, near_boundaries
from safetygap.geo.join import assign_areas


def _xy(points):
    pts = np.array(points, dtype=float)
    return pts[:, 0] + X0, pts[:, 1] + Y0


def _pairs(near):
    return sorted(zip(near[0].tolist(), near[1].tolist(), strict=True))


def test_segments_of_the_tiny_city(tiny_areas):
    nbhd, _ = tiny_areas
    seg, area = boundary_segments(nbhd)
    assert len(seg) == 16  # 4 squares x 4 sides
    assert np.bincount(area).tolist() == [4, 4, 4, 4]
    assert shapely.length(seg).sum() == pytest.approx(16_000)


def test_near_boundaries_by_hand(tiny_areas):
    nbhd, _ = tiny_areas  # A=0 B=1 C=2 D=3, 1 km squares
    x, y = _xy([
        (995, 500),     # 5 m from the A|B line
        (1050, 950),    # 50 m from A|B and B|D, 70.7 m from C's corner
        (5, 500),       # 5 m from the city edge (only A's line)
        (500, 500),     # 500 m from every line
        (1000, 1000),   # on the four-way corner
        (np.nan, 0),    # no location
    ])
    assert _pairs(near_boundaries(x, y, nbhd, tolerance_m=10, crs=CRS)) == [
        (0, 0), (0, 1), (2, 0), (4, 0), (4, 1), (4, 2), (4, 3)]
    assert _pairs(near_boundaries(x, y, nbhd, tolerance_m=60, crs=CRS)) == [
        (0, 0), (0, 1), (1, 0), (1, 1), (1, 3), (2, 0), (4, 0), (4, 1), (4, 2), (4, 3)]
    assert _pairs(near_boundaries(x, y, nbhd, tolerance_m=71, crs=CRS))[2:6] == [
        (1, 0), (1, 1), (1, 2), (1, 3)]
    # tolerance 0: only the point exactly on the lines
    assert _pairs(near_boundaries(x, y, nbhd, tolerance_m=0, crs=CRS)) == [
        (4, 0), (4, 1), (4, 2), (4, 3)]


def test_allocate_split_by_hand(tiny_areas):
    nbhd, _ = tiny_areas
    x, y = _xy([(995, 500), (1050, 950), (5, 500), (500, 500), (1000, 1000), (5000, 5000)])
    assigned = assign_areas((x, y), nbhd, crs=CRS)
    assert assigned.tolist() == [0, 1, 0, 0, 0, -1]
    near = near_boundaries(x, y, nbhd, tolerance_m=60, crs=CRS)
    split = allocate(assigned, near, policy="split")
    rows = np.array(sorted(zip(split.call.tolist(), split.area.tolist(),
                               split.weight.tolist(), strict=True)))
    assert rows.ravel() == pytest.approx(np.array([
        (0, 0, 0.5), (0, 1, 0.5),
        (1, 0, 1 / 3), (1, 1, 1 / 3), (1, 3, 1 / 3),
        (2, 0, 1.0),                      # near the city edge only: stays whole
        (3, 0, 1.0),
        (4, 0, 0.25), (4, 1, 0.25), (4, 2, 0.25), (4, 3, 0.25),
    ]).ravel())
    assert split.k.tolist() == [2, 3, 1, 1, 4, 0]
    per_area = np.bincount(split.area, weights=split.weight, minlength=4)
    assert per_area.tolist() == pytest.approx([0.5 + 1 / 3 + 1 + 1 + 0.25,
                                               0.5 + 1 / 3 + 0.25, 0.25, 1 / 3 + 0.25])
    assert per_area.sum() == pytest.approx(5)
    contain = allocate(assigned, near, policy="contain")
    assert contain.call.tolist() == [0, 1, 2, 3, 4]
    assert contain.area.tolist() == [0, 1, 0, 0, 0]
    assert (contain.weight == 1).all()


def test_bad_policy_and_tolerance(tiny_areas):
    nbhd, _ = tiny_areas
    with pytest.raises(ValueError, match="boundary policy"):
        allocate(np.array([0]), (np.zeros(0, int), np.zeros(0, int)), policy="nearest")
    with pytest.raises(ValueError, match="tolerance"):
        near_boundaries(np.array([X0]), np.array([Y0]), nbhd, tolerance_m=-1, crs=CRS)


def test_geographic_crs_refused(tiny_areas):
    from safetygap.errors import ValidationError

    nbhd, _ = tiny_areas
    ll = nbhd.to_crs("EPSG:4326")
    with pytest.raises(ValidationError, match="projected"):
        near_boundaries(np.array([-93.0]), np.array([45.0]), ll, tolerance_m=5,
                        crs="EPSG:4326")


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fixture is read-only
@given(
    pts=st.lists(st.tuples(st.floats(-100, 2100), st.floats(-100, 2100)),
                 min_size=1, max_size=40),
    tol=st.floats(0, 300),
)
def test_split_invariants(tiny_areas, pts, tol):
    nbhd, _ = tiny_areas
    x, y = _xy(pts)
    near = near_boundaries(x, y, nbhd, tolerance_m=tol, crs=CRS)
    # second method: brute-force distance from every point to every area's boundary
    d = shapely.distance(shapely.points(x, y)[:, None],
                         shapely.boundary(nbhd.geometry.values._data)[None, :])
    brute = {(i, j) for i, j in zip(*np.nonzero(d <= tol), strict=True)}
    got = set(zip(near[0].tolist(), near[1].tolist(), strict=True))
    # allow float disagreement only at exactly the tolerance
    assert all(abs(d[i, j] - tol) < 1e-6 for i, j in got ^ brute)
    assigned = assign_areas((x, y), nbhd, crs=CRS)
    split = allocate(assigned, near, policy="split")
    contain = allocate(assigned, near, policy="contain")
    placed = assigned >= 0
    # each placed call's weights sum to 1; unplaced calls get nothing
    per_call = np.bincount(split.call, weights=split.weight, minlength=len(x))
    assert per_call[placed] == pytest.approx(np.ones(placed.sum()))
    assert (per_call[~placed] == 0).all()
    # totals conserved; the containing area always keeps a share
    assert split.weight.sum() == pytest.approx(contain.weight.sum()) == placed.sum()
    pairs = set(zip(split.call.tolist(), split.area.tolist(), strict=True))
    assert all((i, assigned[i]) in pairs for i in np.flatnonzero(placed))
    assert (split.weight > 0).all() and (split.weight <= 1).all()


def test_the_segments_tree_is_built_once_per_layer(tiny_areas, monkeypatch):
    """Batch after batch (the streaming engine) the layer's segments are cut and put in a
    tree once; the pairs found are the same as for all points at once; another layer gets
    its own tree."""
    from safetygap.geo import boundary

    nbhd, wards = tiny_areas
    made = []
    real = boundary.boundary_segments
    monkeypatch.setattr(boundary, "boundary_segments",
                        lambda areas: made.append(len(areas)) or real(areas))
    boundary._TREES.clear()
    x, y = _xy([(995, 500), (1050, 950), (5, 500), (500, 500), (1000, 1000)])
    whole = _pairs(near_boundaries(x, y, nbhd, tolerance_m=60, crs=CRS))
    parts = []
    for a in range(0, len(x), 2):
        px, py = near_boundaries(x[a:a + 2], y[a:a + 2], nbhd, tolerance_m=60, crs=CRS)
        parts += _pairs((px + a, py))
    assert sorted(parts) == whole and len(whole) == 10
    assert made == [len(nbhd)]
    near_boundaries(x, y, wards, tolerance_m=60, crs=CRS)
    assert made == [len(nbhd), len(wards)]
