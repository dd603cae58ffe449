"""Naming a point by its streets, and residents reached by areal weighting: hand-made
geometries with hand-worked answers, and the residents checked against geopandas' overlay
(a second method)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from safetygap.geo.residents import residents_newly_reached, residents_within
from safetygap.geo.streetnames import StreetNames


def grid_streets() -> StreetNames:
    """Avenues x = 0, 200, 400 (1st, 2nd, 3rd Avenue) and streets y = 0, 200 (1st, 2nd
    Street), one segment per block; one unnamed alley along y = 100."""
    lines, names = [], []
    for i, x in enumerate((0, 200, 400)):
        lines.append(LineString([(x, 0), (x, 200)]))
        names.append(f"{('1st', '2nd', '3rd')[i]} Avenue")
    for j, y in enumerate((0, 200)):
        for x0 in (0, 200):
            lines.append(LineString([(x0, y), (x0 + 200, y)]))
            names.append(f"{('1st', '2nd')[j]} Street")
    lines.append(LineString([(0, 100), (400, 100)]))
    names.append(None)
    return StreetNames.from_segments(np.array(lines, dtype=object), np.array(names))


def test_points_named_by_corner_or_street():
    s = grid_streets()
    assert len(s.corners) == 6  # every avenue meets both streets; the alley has no name
    got = s.describe(np.array([205.0, 210.0, 0.0, 300.0, 300.0, 5000.0]),
                     np.array([198.0, 100.0, 100.0, 110.0, 90.0, 0.0]))
    assert got == [
        "2nd Avenue & 2nd Street",          # 5.4 m from the corner (200, 200)
        "2nd Avenue",                       # 10 m from 2nd Avenue, 100 m from corners
        "1st Avenue",                       # on it
        "about 90 m from 2nd Street",       # 90 m below y = 200, 100 m from x = 200/400
        "about 90 m from 1st Street",
        None,                               # 4.6 km away
    ]


def test_no_streets_names_nothing():
    s = StreetNames.from_segments(np.array([], dtype=object), np.array([]))
    assert s.describe(np.array([1.0]), np.array([1.0])) == [None]


def test_residents_by_hand():
    """Two 1 km squares of 1,000 and 3,000 residents; a box over the right half of the
    first and a quarter of the second: 500 + 750."""
    areas = np.array([box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], dtype=object)
    pop = np.array([1000.0, 3000.0])
    region = box(500, 0, 1500, 500)
    assert residents_within(areas, pop, region) == pytest.approx(250 + 750)
    # ranked regions: the second overlaps the first by a 250 x 500 m strip
    first, second = box(0, 0, 500, 1000), box(250, 0, 750, 500)
    got = residents_newly_reached(areas, pop, [first, second])
    assert got == pytest.approx([500.0, 125.0])
    # with existing reach over the whole first square, only the second square counts
    got = residents_newly_reached(areas, pop, [box(500, 0, 1500, 1000)],
                                  existing=box(0, 0, 1000, 1000))
    assert got == pytest.approx([1500.0])
    assert residents_within(areas, np.array([np.nan, 3000.0]), region) == pytest.approx(750)


@settings(max_examples=30, deadline=None)
@given(cx=st.floats(-500, 2500), cy=st.floats(-500, 1500), r=st.floats(10, 1500))
def test_residents_match_geopandas_overlay(cx, cy, r):
    areas = gpd.GeoDataFrame({"population": [1000.0, 3000.0, 500.0]},
                             geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000),
                                       box(0, 1000, 2000, 1200)], crs="EPSG:26915")
    region = Point(cx, cy).buffer(r)
    parts = gpd.overlay(areas.assign(whole=areas.area),
                        gpd.GeoDataFrame(geometry=[region], crs=areas.crs),
                        how="intersection")
    want = float((parts["population"] * parts.area / parts["whole"]).sum()) if len(parts) \
        else 0.0
    got = residents_within(areas.geometry.to_numpy(), areas["population"].to_numpy(), region)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-6)
    assert shapely.area(region) > 0
