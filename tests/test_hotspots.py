"""Gi* hot spots: z-scores against Ord & Getis (1995)'s formula on queen neighbours found by
hand, Benjamini-Hochberg by hand, planted clusters found."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from safetygap.geo.hotspots import getis_ord_star, queen_neighbours

pytest.importorskip("esda")
N = 9


def _grid() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[box(i, j, i + 1, j + 1) for j in range(N)
                                      for i in range(N)], crs="EPSG:26915")


def _queen_by_hand() -> list[list[int]]:
    out = []
    for j in range(N):
        for i in range(N):
            out.append(sorted((jj * N + ii) for jj in range(j - 1, j + 2)
                              for ii in range(i - 1, i + 2)
                              if (ii, jj) != (i, j) and 0 <= ii < N and 0 <= jj < N))
    return out


def _gi_star_z(x: np.ndarray, nb: list[list[int]]) -> np.ndarray:
    """Ord & Getis (1995) eq. 14 with binary weights and w_ii = 1."""
    n = len(x)
    xbar = x.mean()
    s = np.sqrt((x ** 2).mean() - xbar ** 2)
    z = np.empty(n)
    for i in range(n):
        js = [i, *nb[i]]
        wi = len(js)  # sum of weights = S1 (binary)
        z[i] = (x[js].sum() - xbar * wi) / (s * np.sqrt((n * wi - wi ** 2) / (n - 1)))
    return z


def _bh_by_hand(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p)
    adj = np.empty(m)
    running = 1.0
    for k in range(m - 1, -1, -1):
        running = min(running, p[order[k]] * m / (k + 1))
        adj[order[k]] = running
    return adj


def test_queen_neighbours_by_hand():
    assert queen_neighbours(_grid()) == _queen_by_hand()


def test_z_and_fdr_against_the_formulas():
    rng = np.random.default_rng(4)
    v = rng.gamma(2, 1, N * N)
    h = getis_ord_star(v, _queen_by_hand(), permutations=199, seed=3)
    np.testing.assert_allclose(h.z, _gi_star_z(v, _queen_by_hand()), rtol=1e-9)
    np.testing.assert_allclose(h.p_adjusted, _bh_by_hand(h.p), rtol=1e-12)
    assert np.all((h.p > 0) & (h.p <= 1))


def test_planted_clusters_are_found():
    rng = np.random.default_rng(8)
    v = rng.normal(10, 1, (N, N))
    v[:3, :3] += 8  # a block of high values in one corner
    v[-3:, -3:] -= 8  # a block of low values in the opposite one
    h = getis_ord_star(v.ravel(), _queen_by_hand(), permutations=999, seed=1)
    spot = h.spot.reshape(N, N)
    assert spot[0, 0] == 1 and spot[1, 1] == 1
    assert spot[-1, -1] == -1 and spot[-2, -2] == -1
    assert (spot[3:6, 3:6] == 0).all()  # the middle is neither
    assert (h.spot[h.p_adjusted > 0.05] == 0).all()


def test_noise_gives_few_spots_and_missing_values_are_left_out():
    rng = np.random.default_rng(2)
    v = rng.normal(0, 1, N * N)
    v[[5, 40]] = np.nan
    h = getis_ord_star(v, _queen_by_hand(), permutations=199, seed=2)
    assert np.isnan(h.z[[5, 40]]).all() and (h.spot[[5, 40]] == 0).all()
    assert (h.spot != 0).sum() <= 2
    # the same seed gives the same answer
    h2 = getis_ord_star(v, _queen_by_hand(), permutations=199, seed=2)
    np.testing.assert_array_equal(h.p, h2.p)
    # an island (no neighbour) or fewer than three areas: nothing tested
    lone = getis_ord_star(np.array([1.0, 2.0, 3.0]), [[1], [0], []])
    assert np.isnan(lone.z).all()
