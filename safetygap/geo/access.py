"""Accessibility by the enhanced two-step floating catchment area method.

E2SFCA (Luo & Qi 2009, *Health & Place* 15:1100-1107) with a continuous
Gaussian distance decay truncated at each provider's catchment:

    W_j(d) = exp(-0.5 * (d / sigma_j)**2)  if d <= catchment_j, else 0
    step 1:  R_j = S_j / sum_k P_k W_j(d_kj)      (supply-to-demand ratio)
    step 2:  A_i = sum_j R_j W_j(d_ij)            (accessibility of demand point i)

``S_j`` is provider capacity, ``P_k`` demand (residents) at demand point k,
``d`` the cost (straight-line metres here; network seconds elsewhere), and by
default ``sigma_j = catchment_j / 2`` so a provider's weight falls to
exp(-2) = 0.135 at the edge of its catchment. A provider with no demand in its
catchment contributes nothing (R_j = 0). ``A_i`` is capacity per resident;
the pipeline reports it per 1,000 residents.

Two ways in, one core: :func:`e2sfca_from_cost_matrix` takes any cost
matrix; :func:`e2sfca` builds straight-line distances from GeoDataFrames.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from scipy.spatial.distance import cdist

from safetygap.geo.crs import require_projected, require_same_crs

SIGMA_FRACTION = 0.5
"""Default Gaussian sigma as a fraction of the catchment."""


def gaussian_weights(cost: np.ndarray, catchment: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """W = exp(-0.5 (cost/sigma)^2) inside the catchment (cost <= catchment), else 0.

    ``cost`` is (demand, supply); ``catchment`` and ``sigma`` broadcast per supply column.
    """
    cost = np.asarray(cost, dtype=float)
    w = np.exp(-0.5 * (cost / sigma) ** 2)
    w[~(cost <= catchment)] = 0.0  # also zeroes NaN / inf costs (unreachable)
    return w


def e2sfca_from_cost_matrix(
    demand: np.ndarray,
    supply: np.ndarray,
    cost: np.ndarray,
    *,
    catchment: float | np.ndarray,
    sigma: float | np.ndarray | None = None,
) -> np.ndarray:
    """E2SFCA accessibility of each demand point from a (demand x supply) cost matrix.

    ``demand`` (n_d,) non-negative (NaN counts as 0), ``supply`` (n_s,)
    capacities, ``cost`` (n_d, n_s) in the same unit as ``catchment`` (scalar
    or one per supply). Returns (n_d,) supply per unit of demand.
    """
    demand = np.nan_to_num(np.asarray(demand, dtype=float))
    supply = np.asarray(supply, dtype=float)
    cost = np.asarray(cost, dtype=float)
    if cost.shape != (len(demand), len(supply)):
        raise ValueError(f"cost matrix shape {cost.shape} != (demand {len(demand)}, "
                         f"supply {len(supply)})")
    if len(supply) == 0 or len(demand) == 0:
        return np.zeros(len(demand))
    catchment = np.broadcast_to(np.asarray(catchment, dtype=float), supply.shape)
    sig = catchment * SIGMA_FRACTION if sigma is None else np.broadcast_to(
        np.asarray(sigma, dtype=float), supply.shape)
    w = gaussian_weights(cost, catchment[None, :], sig[None, :])
    denom = demand @ w  # (n_s,)
    ratio = np.divide(supply, denom, out=np.zeros_like(supply), where=denom > 0)
    return w @ ratio


def e2sfca(
    demand_points: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    *,
    demand_column: str,
    capacity_column: str = "capacity",
    catchment_column: str = "catchment_m",
) -> np.ndarray:
    """E2SFCA with straight-line distance (metres) between point layers.

    ``demand_points`` and ``providers`` must share a projected CRS; each
    provider carries its capacity and catchment radius (metres) in columns.
    """
    require_same_crs(demand_points, providers, "demand_points", "providers")
    require_projected(demand_points, "demand_points")
    d = np.column_stack([demand_points.geometry.x, demand_points.geometry.y])
    s = np.column_stack([providers.geometry.x, providers.geometry.y])
    cost = cdist(d, s) if len(d) and len(s) else np.zeros((len(d), len(s)))
    return e2sfca_from_cost_matrix(
        demand_points[demand_column].to_numpy(float),
        providers[capacity_column].to_numpy(float),
        cost,
        catchment=providers[catchment_column].to_numpy(float),
    )
