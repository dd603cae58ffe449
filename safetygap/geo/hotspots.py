"""Hot spots: Getis-Ord Gi* with a false-discovery-rate correction.

For a value per area (need, or the underserved score), Gi* (Getis & Ord 1992; Ord &
Getis 1995) compares the sum of the values of an area and its neighbours with what the
whole city would give: a large positive z means the area sits in a cluster of high
values (a hot spot), a large negative z in a cluster of low values (a cold spot).

* Neighbours: queen contiguity (areas sharing an edge or a corner;
  ``libpysal.weights.Queen``), binary weights, the area itself included
  (``star=True``). Areas without a neighbour (islands) or without a value are left out.
* Statistic and significance: PySAL ``esda.G_Local`` with ``permutations`` conditional
  random permutations (seeded); the two-sided pseudo p-value is ``min(1, 2 p_sim)``.
* Many areas are tested at once, so p-values are adjusted by the Benjamini & Hochberg
  (1995) step-up procedure (``scipy.stats.false_discovery_control``); an area is a hot
  (cold) spot when its adjusted p-value is at most ``alpha`` and its z is positive
  (negative). The adjusted p-values are reported.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np

DEFAULT_PERMUTATIONS = 999
DEFAULT_ALPHA = 0.05
DEFAULT_SEED = 12345


@dataclass(frozen=True)
class HotSpots:
    """Gi* results per area (NaN / 0 for areas left out)."""

    z: np.ndarray
    """Gi* z-score (analytical, under normality)."""
    p: np.ndarray
    """Two-sided permutation pseudo p-value, min(1, 2 p_sim)."""
    p_adjusted: np.ndarray
    """Benjamini-Hochberg adjusted p-value."""
    spot: np.ndarray
    """+1 hot spot, -1 cold spot, 0 neither (or left out)."""


def queen_neighbours(areas: gpd.GeoDataFrame) -> list[list[int]]:
    """Positional queen neighbours of each area (libpysal)."""
    from libpysal.weights import Queen

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands and disconnected components are reported
        w = Queen.from_dataframe(areas.reset_index(drop=True), use_index=False,
                                 silence_warnings=True)
    return [sorted(int(j) for j in w.neighbors[i]) for i in range(len(areas))]


def getis_ord_star(
    values: np.ndarray,
    neighbours: list[list[int]],
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    alpha: float = DEFAULT_ALPHA,
    seed: int = DEFAULT_SEED,
) -> HotSpots:
    """Gi* of ``values`` over areas with ``neighbours`` (see :func:`queen_neighbours`);
    see the module docstring."""
    from esda.getisord import G_Local
    from libpysal.weights import W

    v = np.asarray(values, dtype=float)
    n = len(v)
    z = np.full(n, np.nan)
    p = np.full(n, np.nan)
    padj = np.full(n, np.nan)
    spot = np.zeros(n, dtype=np.int8)
    ok = np.isfinite(v)
    nb_ok = [[j for j in neighbours[i] if ok[j]] if ok[i] else [] for i in range(n)]
    keep = np.flatnonzero(ok & np.array([len(x) > 0 for x in nb_ok], dtype=bool))
    if len(keep) < 3 or np.ptp(v[keep]) == 0:
        return HotSpots(z, p, padj, spot)
    pos = {int(i): k for k, i in enumerate(keep)}
    nb = {k: [pos[j] for j in nb_ok[i] if j in pos] for k, i in enumerate(keep)}
    nb = {k: js for k, js in nb.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = W(nb, silence_warnings=True)
        g = G_Local(v[keep], w, transform="B", star=True, permutations=permutations,
                    seed=seed, n_jobs=1, keep_simulations=False)
    zk = np.asarray(g.Zs, dtype=float)
    pk = np.minimum(1.0, 2.0 * np.asarray(g.p_sim, dtype=float))
    from scipy.stats import false_discovery_control  # imported here: costs ~0.5 s

    ak = false_discovery_control(pk, method="bh")
    z[keep], p[keep], padj[keep] = zk, pk, ak
    sig = ak <= alpha
    spot[keep] = np.where(sig & (zk > 0), 1, np.where(sig & (zk < 0), -1, 0))
    return HotSpots(z, p, padj, spot)
