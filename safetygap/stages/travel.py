"""The distance model of a run: loading the street network, snap statistics, catchments.

A stage of :func:`safetygap.pipeline.analyze`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from safetygap import FAMILIES
from safetygap._status import (
    ANALYSED_STATUSES,
)
from safetygap.errors import Problems
from safetygap.geo.travel import Travel
from safetygap.tables import calls as C
from safetygap.tables.report import TravelQuality, TravelSummary
from safetygap.taxonomy import Taxonomy
from safetygap.vocab import TravelKind

if TYPE_CHECKING:
    pass


SNAP_WARN_M = 500.0
"""Points snapped farther than this from the street network are reported."""


def load_travel(
    kind: str,
    mode: str,
    network: Path | None,
    crs: CRS,
    *,
    bounds: np.ndarray | None = None,
) -> Travel:
    """The run's distance model; loads the street network for ``kind == "network"``.

    ``bounds`` (minx, miny, maxx, maxy in ``crs``) of the city: a network
    that does not overlap them is refused (a network of another city).
    """
    from safetygap.inputs.network import load_network

    problems = travel_problems(kind, network)
    problems.raise_if_any()
    if kind != TravelKind.NETWORK:
        return Travel(kind)
    assert network is not None
    net = load_network(network, crs=crs)
    travel = Travel(TravelKind.NETWORK, mode, net)
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        g = net.graph(mode)
        nx_, ny_ = net.x[g.routable], net.y[g.routable]
        if not ((nx_ >= minx) & (nx_ <= maxx) & (ny_ >= miny) & (ny_ <= maxy)).any():
            problems.add(str(network), "the street network does not overlap the city",
                         value=f"network x {nx_.min():.0f}..{nx_.max():.0f}, "
                               f"y {ny_.min():.0f}..{ny_.max():.0f}",
                         allowed=f"nodes within x {minx:.0f}..{maxx:.0f}, "
                                 f"y {miny:.0f}..{maxy:.0f} ({crs.to_string()})")
            problems.raise_if_any()
    return travel


def travel_problems(kind: str, network: Path | None) -> Problems:
    """What is wrong with the distance-model options, found without loading the network:
    a network run without a network file (or one that does not exist), a network file
    given to a straight-line run."""
    problems = Problems()
    if kind == TravelKind.NETWORK and network is None:
        problems.add("network", "option `travel` network needs a street network file",
                     allowed="option `network` FILE (OSM XML or GraphML; "
                             "`safetygap network fetch` downloads one)")
    elif kind == TravelKind.NETWORK and network is not None and not Path(network).is_file():
        problems.add(f"network {network}", "file not found" if not Path(network).exists()
                     else "not a file", allowed="option `network` FILE (OSM XML or GraphML)")
    if kind == TravelKind.STRAIGHT and network is not None:
        problems.add("network", "a street network was given but the distance model is "
                     "straight-line", value=str(network), allowed="add option `travel` network")
    return problems


def _snap_stats(travel: Travel, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from safetygap.geo.network import snap

    assert travel.network is not None and travel.mode is not None
    _, dist = snap(travel.network, x, y, mode=travel.mode)
    d = dist[np.isfinite(dist)]
    if len(d) == 0:
        return {"points": 0}
    return {
        "points": len(d),
        "median_m": round(float(np.median(d)), 1),
        "p95_m": round(float(np.percentile(d, 95)), 1),
        "max_m": round(float(d.max()), 1),
        f"over_{SNAP_WARN_M:.0f}_m": int((d > SNAP_WARN_M).sum()),
    }


def travel_quality(travel: Travel, calls: pd.DataFrame,
                   providers: gpd.GeoDataFrame) -> TravelQuality:
    """How far calls and providers lie from the street network (network runs only)."""
    if travel.network is None:
        return TravelQuality(distance_model=travel.name)
    placed = calls[C.STATUS].isin(ANALYSED_STATUSES).to_numpy()
    return TravelQuality(
        distance_model=travel.name,
        calls_snap=_snap_stats(travel, calls[C.X].to_numpy(float)[placed],
                               calls[C.Y].to_numpy(float)[placed]),
        providers_snap=_snap_stats(travel, providers.geometry.x.to_numpy(),
                                   providers.geometry.y.to_numpy()),
        notes=("every point is snapped to the nearest routable node of the mode "
               "(largest strongly connected component); the straight leg to it is "
               "walked at 4.8 km/h and added to its travel times"))


def travel_summary(travel: Travel, taxonomy: Taxonomy) -> TravelSummary:
    """The distance model and every service type's catchment in its unit."""
    return TravelSummary(**travel.describe(), catchments={
        name: (st.catchment_m if travel.kind == TravelKind.STRAIGHT
               else st.catchment_for(str(travel.mode)))
        for name, st in sorted(taxonomy.service_types.items())
    })


def catchment_labels(providers: gpd.GeoDataFrame, travel: Travel) -> dict[str, str]:
    """Per family, e.g. ``"bcr_team 12 min; fire_station 4 min"`` (service types present)."""
    col = travel.catchment_column
    out = {}
    for family in FAMILIES:
        pf = providers[providers["family"] == family]
        pairs = pf.groupby("service_type")[col].first().sort_index()
        out[family] = "; ".join(f"{st} {v:g} {travel.unit}" for st, v in pairs.items())
    return out
