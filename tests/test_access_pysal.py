"""Our E2SFCA against PySAL ``access`` on the same inputs and network cost matrix, with
both kernels: the truncated Gaussian (``access.weights.gaussian``) and Dai (2010)'s, given
to ``access`` as a weight function written here from the paper's formula.

``access`` applies one ``max_cost`` to every provider, so providers are split
by catchment and the scores of the groups added up: in E2SFCA a provider's
ratio R_j depends only on its own catchment, and A_i = sum_j R_j W_j(d_ij).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from safetygap.geo.access import SIGMA_FRACTION, e2sfca_from_cost_matrix
from safetygap.geo.network import travel_time_matrix
from tests.conftest import X0, Y0
from tests.test_network import _random_grid

access = pytest.importorskip("access", reason="PySAL access is a test-only dependency")
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:Warning")


def _dai(d0: float):
    """Dai (2010) eq. 3 as a scalar weight function of PySAL access."""
    edge = math.exp(-0.5)

    def fn(d: float) -> float:
        return (math.exp(-0.5 * (d / d0) ** 2) - edge) / (1 - edge) if d <= d0 else 0.0
    return fn


def _pysal_e2sfca(demand: np.ndarray, supply: np.ndarray, cost: np.ndarray,
                  catchment: np.ndarray, kernel: str = "truncated_gaussian") -> np.ndarray:
    total = np.zeros(len(demand))
    for limit in np.unique(catchment):
        cols = np.flatnonzero(catchment == limit)
        d_idx, s_idx = np.nonzero(np.isfinite(cost[:, cols]))
        cost_df = pd.DataFrame({"origin": d_idx, "dest": cols[s_idx],
                                "cost": cost[d_idx, cols[s_idx]]})
        demand_df = pd.DataFrame({"geoid": np.arange(len(demand)), "pop": demand})
        supply_df = pd.DataFrame({"geoid": cols, "cap": supply[cols]})
        acc = access.Access(demand_df=demand_df, demand_index="geoid", demand_value="pop",
                            supply_df=supply_df, supply_index="geoid", supply_value="cap",
                            cost_df=cost_df, cost_origin="origin", cost_dest="dest",
                            cost_name="cost")
        out = acc.enhanced_two_stage_fca(
            name="e2sfca", max_cost=float(limit),
            weight_fn=_dai(float(limit)) if kernel == "dai" else
            access.weights.gaussian(sigma=float(limit) * SIGMA_FRACTION))
        total += out["e2sfca_cap"].reindex(np.arange(len(demand))).fillna(0.0).to_numpy()
    return total


@pytest.mark.parametrize("kernel", ["dai", "truncated_gaussian"])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_network_e2sfca_matches_pysal_access(seed, mode, kernel):
    rng = np.random.default_rng(seed)
    net = _random_grid(seed, n=8)
    demand_xy = (X0 + rng.uniform(0, 1400, 30), Y0 + rng.uniform(0, 1400, 30))
    supply_xy = (X0 + rng.uniform(0, 1400, 6), Y0 + rng.uniform(0, 1400, 6))
    demand = rng.uniform(100, 5000, 30)
    supply = rng.uniform(1, 20, 6)
    cost = travel_time_matrix(net, supply_xy, demand_xy, mode=mode)
    # two catchment groups, large enough that every provider reaches some demand
    # (PySAL leaves a provider with no demand in reach undefined; ours gives it 0)
    scale = 20.0 if mode == "walk" else 3.0
    catchment = np.where(np.arange(6) % 2 == 0, scale, 1.5 * scale)
    assert (np.isfinite(cost) & (cost <= catchment)).any(axis=0).all()
    ours = e2sfca_from_cost_matrix(demand, supply, cost, catchment=catchment, kernel=kernel)
    theirs = _pysal_e2sfca(demand, supply, cost, catchment, kernel)
    assert np.count_nonzero(ours) >= 5
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
