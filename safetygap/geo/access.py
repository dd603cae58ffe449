"""Accessibility by the enhanced two-step floating catchment area method.

E2SFCA (Luo & Qi 2009, *Health & Place* 15:1100-1107) with a continuous
distance decay ``W_j`` that is 0 beyond each provider's catchment ``d0_j``:

    step 1:  R_j = S_j / sum_k P_k W_j(d_kj)      (supply-to-demand ratio)
    step 2:  A_i = sum_j R_j W_j(d_ij)            (accessibility of demand point i)

``S_j`` is provider capacity, ``P_k`` demand (residents, or calls for the
need-based variant) at demand point k, ``d`` the cost (straight-line metres, or
network minutes). A provider with no demand in its catchment contributes
nothing (R_j = 0). ``A_i`` is capacity per unit of demand; the pipeline reports
it per 1,000 residents (or per 1,000 calls a year).

Kernels (:class:`safetygap.vocab.Kernel`):

``dai`` (default)
    Dai (2010, *Health & Place* 16:1038-1052), eq. 3: a Gaussian rescaled so that
    it is 1 at the provider and exactly 0 at the catchment edge,
    ``W(d) = (exp(-½ (d/d0)²) - exp(-½)) / (1 - exp(-½))`` for d <= d0.
``truncated_gaussian``
    ``W(d) = exp(-½ (d/σ)²)`` with ``σ = d0/2`` (so 0.135 at the edge), cut off to
    0 beyond d0: the plain Gaussian of PySAL ``access`` ``weights.gaussian``
    (Saxon et al. 2022) truncated at the catchment. It was this tool's only
    kernel before; it is kept under this name.

Two ways in, one core: :func:`e2sfca_from_cost_matrix` takes any cost
matrix; :func:`e2sfca` builds straight-line distances from GeoDataFrames.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from scipy.spatial.distance import cdist

from safetygap.errors import Problems
from safetygap.geo.crs import require_projected, require_same_crs
from safetygap.vocab import Kernel, allowed

SIGMA_FRACTION = 0.5
"""Sigma of the truncated Gaussian as a fraction of the catchment."""
DEFAULT_KERNEL = Kernel.DAI
"""The kernel used unless a run chooses another (docs/METHODS.md)."""
_EDGE = float(np.exp(-0.5))


def truncated_gaussian_weights(cost: np.ndarray, catchment: np.ndarray,
                               sigma: np.ndarray) -> np.ndarray:
    """W = exp(-0.5 (cost/sigma)^2) inside the catchment (cost <= catchment), else 0.

    ``cost`` is (demand, supply); ``catchment`` and ``sigma`` broadcast per supply column.
    """
    cost = np.asarray(cost, dtype=float)
    with np.errstate(invalid="ignore"):
        w = np.exp(-0.5 * (cost / sigma) ** 2)
        w[~(cost <= catchment)] = 0.0  # also zeroes NaN / inf costs (unreachable)
    return w


gaussian_weights = truncated_gaussian_weights
"""Former name of :func:`truncated_gaussian_weights`."""


def dai_weights(cost: np.ndarray, catchment: np.ndarray) -> np.ndarray:
    """Dai (2010) Gaussian: ``(exp(-½ (cost/d0)²) - exp(-½)) / (1 - exp(-½))`` for
    cost <= d0 (``catchment``), else 0; 1 at cost 0, 0 at the edge.

    ``cost`` is (demand, supply); ``catchment`` broadcasts per supply column.
    """
    cost = np.asarray(cost, dtype=float)
    with np.errstate(invalid="ignore"):
        w = (np.exp(-0.5 * (cost / catchment) ** 2) - _EDGE) / (1.0 - _EDGE)
        w[~(cost <= catchment)] = 0.0
    return np.maximum(w, 0.0)  # rounding at the edge never goes below 0


def kernel_weights(cost: np.ndarray, catchment: np.ndarray, *, kernel: str = DEFAULT_KERNEL,
                   sigma: np.ndarray | None = None) -> np.ndarray:
    """Weights of ``kernel`` (see the module docstring); ``sigma`` only for the truncated
    Gaussian (default catchment x :data:`SIGMA_FRACTION`)."""
    k = check_kernel(kernel)
    if k is Kernel.DAI:
        if sigma is not None:
            raise ValueError("sigma applies to the truncated_gaussian kernel only")
        return dai_weights(cost, catchment)
    return truncated_gaussian_weights(
        cost, catchment, np.asarray(catchment) * SIGMA_FRACTION if sigma is None else sigma)


def check_kernel(kernel: str) -> Kernel:
    """``kernel`` as a :class:`Kernel`; a ValidationError naming the allowed ones."""
    try:
        return Kernel(kernel)
    except ValueError:
        problems = Problems()
        problems.add("kernel", "unknown distance-decay kernel", value=kernel,
                     allowed=allowed(Kernel))
        problems.raise_if_any()
        raise  # pragma: no cover


def e2sfca_from_cost_matrix(
    demand: np.ndarray,
    supply: np.ndarray,
    cost: np.ndarray,
    *,
    catchment: float | np.ndarray,
    kernel: str = DEFAULT_KERNEL,
    sigma: float | np.ndarray | None = None,
) -> np.ndarray:
    """E2SFCA accessibility of each demand point from a (demand x supply) cost matrix.

    ``demand`` (n_d,) non-negative (NaN counts as 0), ``supply`` (n_s,)
    capacities, ``cost`` (n_d, n_s) in the same unit as ``catchment`` (scalar
    or one per supply). ``sigma`` (truncated Gaussian only) overrides catchment/2.
    Returns (n_d,) supply per unit of demand.
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
    sig = None if sigma is None else np.broadcast_to(np.asarray(sigma, dtype=float),
                                                     supply.shape)[None, :]
    w = kernel_weights(cost, catchment[None, :], kernel=kernel, sigma=sig)
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
    kernel: str = DEFAULT_KERNEL,
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
        kernel=kernel,
    )
