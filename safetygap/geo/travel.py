"""The distance model of a run: straight-line metres or street-network minutes.

A :class:`Travel` gives the two things the analysis needs from distance,
whichever model is in force:

* :meth:`Travel.cost_matrix` (demand x supply) for E2SFCA accessibility;
* :meth:`Travel.covered` for coverage (a point within some provider's catchment).

Straight-line costs are metres (providers' ``catchment_m``); network costs are
minutes of walking or driving (providers' ``catchment_min``), see
:mod:`safetygap.geo.network`. Coordinates are in the analysis CRS (metres).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from safetygap.errors import Problems
from safetygap.geo.coverage import within_catchment
from safetygap.geo.network import (
    StreetNetwork,
    distance_model,
    travel_time_matrix,
    within_travel_time,
)
from safetygap.vocab import TRAVEL_KINDS, TRAVEL_MODES, TravelKind

XY = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Travel:
    """How distance is measured in a run."""

    kind: str = TravelKind.STRAIGHT
    mode: str | None = None
    network: StreetNetwork | None = None

    def __post_init__(self) -> None:
        problems = Problems()
        if self.kind not in TRAVEL_KINDS:
            problems.add("travel", "unknown distance model", value=self.kind,
                         allowed=TRAVEL_KINDS)
        elif self.kind == TravelKind.NETWORK:
            if self.mode not in TRAVEL_MODES:
                problems.add("mode", "unknown travel mode", value=self.mode,
                             allowed=TRAVEL_MODES)
            if self.network is None:
                problems.add("network", "travel 'network' needs a street network",
                             allowed="an OSM XML or GraphML file (option `network` FILE)")
        problems.raise_if_any()

    @property
    def name(self) -> str:
        """``straight-line``, ``network-walk`` or ``network-drive``."""
        return distance_model(self.kind, self.mode)

    @property
    def unit(self) -> str:
        """Unit of costs and catchments: ``m`` or ``min``."""
        return "m" if self.kind == TravelKind.STRAIGHT else "min"

    @property
    def catchment_column(self) -> str:
        """The providers' column holding their catchment in :attr:`unit`."""
        return "catchment_m" if self.kind == TravelKind.STRAIGHT else "catchment_min"

    def cost_matrix(self, supply_xy: XY, demand_xy: XY, *,
                    cutoff: float | None = None) -> np.ndarray:
        """(n_demand, n_supply) costs in :attr:`unit` (inf = unreachable)."""
        if self.kind == TravelKind.STRAIGHT:
            d = np.column_stack(demand_xy)
            s = np.column_stack(supply_xy)
            return cdist(d, s) if len(d) and len(s) else np.zeros((len(d), len(s)))
        assert self.network is not None and self.mode is not None
        return travel_time_matrix(self.network, supply_xy, demand_xy, mode=self.mode,
                                  cutoff=cutoff)

    def covered(self, xy: XY, provider_xy: XY, catchment: np.ndarray) -> np.ndarray:
        """Boolean per point: within the catchment (:attr:`unit`) of some provider."""
        if self.kind == TravelKind.STRAIGHT:
            return within_catchment(*xy, *provider_xy, catchment)
        assert self.network is not None and self.mode is not None
        return within_travel_time(self.network, *xy, *provider_xy, catchment, mode=self.mode)

    def describe(self) -> dict[str, Any]:
        """What outputs record about the distance model."""
        out: dict[str, Any] = {"distance_model": self.name, "unit": self.unit,
                               "catchment_column": self.catchment_column}
        if self.network is not None and self.mode is not None:
            out["network"] = self.network.describe(self.mode)
            out["walk_speed_kph"] = 4.8
            out["off_network_legs"] = "walked at 4.8 km/h to the nearest routable node"
        return out
