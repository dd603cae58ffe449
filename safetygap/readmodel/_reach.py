"""Which providers reach an area, with the workspace's own distance model.

Straight-line: a provider reaches an area when the area's nearest point lies within
its catchment (metres, the distance from the provider to the polygon). Street network:
when the travel time from the provider to the area's nearest point on the network is
within its catchment (minutes), timed as the analysis times calls
(:mod:`safetygap.geo.network`): the provider's walk to its nearest routable node, then
the network. The area's points on the network are the routable nodes inside it or on
its boundary (within 1 m), and its representative point (reached from its own nearest node on foot),
so an area that no street enters is still reached. Coordinates in the analysis CRS
(metres).
"""

from __future__ import annotations

import numpy as np
import shapely

from safetygap.geo.network import connector_minutes, nearest_source_time, snap
from safetygap.geo.travel import Travel

ON_LINE_M = 1.0
"""Nodes this close to an area (metres) count as its own: streets along a boundary line
serve both sides, and read-back coordinates are not exact."""


def area_points(travel: Travel, area: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the points an area is reached at on the network: the routable nodes of
    the mode inside the area or within :data:`ON_LINE_M` of it, then its representative
    point (last)."""
    assert travel.network is not None and travel.mode is not None
    net = travel.network
    routable = net.graph(travel.mode).routable
    nx_, ny_ = net.x[routable], net.y[routable]
    inside = shapely.dwithin(area, shapely.points(nx_, ny_), ON_LINE_M)
    rep = shapely.get_coordinates(area.representative_point())[0]
    return np.r_[nx_[inside], rep[0]], np.r_[ny_[inside], rep[1]]


def minutes_to_area(travel: Travel, area: shapely.Geometry, px: np.ndarray, py: np.ndarray,
                    *, cutoff: float) -> np.ndarray:
    """Minutes from each provider (px, py) to the area's nearest point on the street
    network (see module docstring); inf beyond ``cutoff`` minutes or unreachable.

    One Dijkstra from the area over the reversed graph, whatever the number of providers.
    """
    assert travel.network is not None and travel.mode is not None
    net, mode = travel.network, travel.mode
    ax, ay = area_points(travel, area)
    a_node, a_dist = snap(net, ax, ay, mode=mode)
    to_area = nearest_source_time(net, a_node, mode=mode, offsets=connector_minutes(a_dist),
                                  cutoff=cutoff, reverse=True)
    p_node, p_dist = snap(net, px, py, mode=mode)
    out = np.full(len(p_node), np.inf)
    ok = p_node >= 0
    out[ok] = connector_minutes(p_dist[ok]) + to_area[p_node[ok]]
    out[out > cutoff] = np.inf
    return out
