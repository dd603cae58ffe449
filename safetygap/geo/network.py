"""Street-network travel times: load a network, snap points to it, time trips on it.

Long file (about 460 lines): the street network and the travel times on it are one concept:
snapping, the mode graphs and the Dijkstra-based coverage read the network's internal arrays
directly, and splitting them would make those internals public.

A :class:`StreetNetwork` holds the nodes (x, y in a projected CRS, metres) and
the street segments of a network, and builds one graph per travel mode on
demand:

``walk``
    every segment usable on foot (not motorways, cycleways, construction ...),
    both directions whatever the one-way tags, at 4.8 km/h;
``drive``
    every segment usable by car (not footways, paths, service alleys ...), in
    the direction(s) it allows, at its ``maxspeed`` or, without one, the
    default speed of its highway type (:data:`DRIVE_SPEEDS_KPH`).

Costs are travel times in **minutes**. A point off the network (a call, a
provider, a neighborhood centroid) is snapped to the nearest node of the
mode's largest strongly connected component (KD-tree), and the straight-line
leg to that node is walked at 4.8 km/h in both modes (the last stretch from a
street to a door is on foot). So the time from provider *s* to point *d* is

    connector(s) + shortest network time(node(s) -> node(d)) + connector(d)

Trips run from providers to points (a response unit drives out to a call);
walking is symmetric so the direction does not matter there.

Shortest times come from :func:`scipy.sparse.csgraph.dijkstra` with a cutoff
(``limit``); coverage uses one multi-source Dijkstra per catchment from a
virtual node joined to every provider by its connector time.

Pure computation: networks are read from files by :mod:`safetygap.inputs.network` (OSM XML
or GraphML with OSMnx, and the ``.npz`` a workspace saves) and downloaded by
:mod:`safetygap.fetch.osm_network`, or built from arrays
(:meth:`StreetNetwork.from_segments`) for tests and generated networks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import shapely
from pyproj import CRS
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from safetygap.errors import Problems
from safetygap.vocab import TRAVEL_MODES, TravelKind, TravelMode

MODES = TRAVEL_MODES  # the travel modes (vocab.TravelMode)
WALK_SPEED_KPH = 4.8
"""Walking speed on the network and on every off-network connector leg."""
CONNECTOR_M_PER_MIN = WALK_SPEED_KPH * 1000.0 / 60.0

DRIVE_SPEEDS_KPH: dict[str, float] = {
    "motorway": 90.0, "motorway_link": 50.0,
    "trunk": 70.0, "trunk_link": 40.0,
    "primary": 50.0, "primary_link": 40.0,
    "secondary": 45.0, "secondary_link": 35.0,
    "tertiary": 40.0, "tertiary_link": 30.0,
    "unclassified": 30.0, "residential": 30.0, "road": 30.0,
    "living_street": 10.0, "service": 15.0,
}
"""Driving speed (km/h) by OSM ``highway`` type where a segment has no ``maxspeed``."""
DRIVE_FALLBACK_KPH = 30.0
"""Driving speed (km/h) of a highway type not in :data:`DRIVE_SPEEDS_KPH`."""

NOT_FOR: dict[str, frozenset[str]] = {
    # after OSMnx's own "walk" and "drive" network filters
    "walk": frozenset({"abandoned", "bus_guideway", "construction", "cycleway", "motorway",
                       "motorway_link", "no", "planned", "platform", "proposed", "raceway",
                       "razed"}),
    "drive": frozenset({"abandoned", "bridleway", "bus_guideway", "construction", "corridor",
                        "cycleway", "elevator", "escalator", "footway", "no", "path",
                        "pedestrian", "planned", "platform", "proposed", "raceway", "razed",
                        "steps", "track"}),
}
"""OSM ``highway`` types a mode cannot use."""
NO_ACCESS = frozenset({"no", "private"})
"""OSM ``access`` values that close a segment to both modes."""


def distance_model(travel: str, mode: str | None = None) -> str:
    """The name outputs use: ``straight-line``, ``network-walk`` or ``network-drive``."""
    return "straight-line" if travel == TravelKind.STRAIGHT else f"network-{mode}"


@dataclass(frozen=True)
class ModeGraph:
    """The network as one travel mode sees it."""

    mode: str
    matrix: sp.csr_matrix
    """(n_nodes, n_nodes) travel minutes; row = from, column = to."""
    routable: np.ndarray
    """Indices of the nodes of the largest strongly connected component (snap targets)."""
    tree: cKDTree = field(repr=False)
    """KD-tree of the routable nodes' coordinates."""


@dataclass(frozen=True)
class StreetNetwork:
    """Nodes and street segments in one projected CRS (metres).

    Segment ``i`` joins nodes ``u[i]`` and ``v[i]`` (indices into ``x``/``y``);
    ``oneway[i]`` limits driving to ``u -> v``. ``speed_kph`` is the driving
    speed, ``highway`` the OSM type (``a|b`` for a segment merged from ways of
    types a and b) and ``access`` the OSM access tag; ``name`` the street's name
    (OSM ``name``, "" when unnamed; None when the source gave none), used only to name
    places (:mod:`safetygap.geo.streetnames`).
    """

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    speed_kph: np.ndarray
    highway: np.ndarray
    oneway: np.ndarray
    access: np.ndarray
    crs: str
    source: str = ""
    name: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_segments(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        u: np.ndarray,
        v: np.ndarray,
        *,
        crs: str,
        highway: np.ndarray | str = "residential",
        length_m: np.ndarray | None = None,
        oneway: np.ndarray | bool = False,
        maxspeed_kph: np.ndarray | None = None,
        access: np.ndarray | str = "",
        source: str = "",
        name: np.ndarray | None = None,
    ) -> StreetNetwork:
        """A network from node coordinates and segments.

        ``length_m`` defaults to the straight node-to-node distance;
        ``maxspeed_kph`` (NaN = none) defaults to the highway type's speed.
        """
        problems = Problems()
        c = CRS.from_user_input(crs)
        if not c.is_projected:
            problems.add("network", "needs a projected CRS (metres)", value=c.to_string(),
                         allowed="a projected CRS, e.g. a UTM zone")
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        n, m = len(x), len(u)
        if len(v) != m:
            problems.add("network", "u and v differ in length", value=f"{m} vs {len(v)}")
        elif m and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n):
            problems.add("network", "segment endpoints must index the nodes",
                         value=f"{n} nodes", allowed=f"0..{n - 1}")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            problems.add("network", "node coordinates must be finite")
        problems.raise_if_any()
        if length_m is None:
            length_m = np.hypot(x[u] - x[v], y[u] - y[v])
        hw = np.broadcast_to(np.asarray(highway, dtype=object), (m,)).copy()
        if maxspeed_kph is None:
            maxspeed_kph = np.full(m, np.nan)
        default = np.array([DRIVE_SPEEDS_KPH.get(str(h), DRIVE_FALLBACK_KPH) for h in hw])
        ms = np.asarray(maxspeed_kph, dtype=float)
        speed = np.where(np.isfinite(ms) & (ms > 0), ms, default)
        length_m = np.asarray(length_m, dtype=float)
        if (~np.isfinite(length_m) | (length_m < 0)).any():
            raise ValueError("segment lengths must be finite and >= 0 metres")
        return cls(
            x=x, y=y, u=u, v=v, length_m=length_m, speed_kph=speed, highway=hw,
            oneway=np.broadcast_to(np.asarray(oneway, dtype=bool), (m,)).copy(),
            access=np.broadcast_to(np.asarray(access, dtype=object), (m,)).copy(),
            crs=c.to_string(), source=source,
            name=None if name is None else np.asarray(name, dtype=object),
        )

    def street_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """The named segments as straight LineStrings (projected CRS) and their names, one
        per pair of nodes (a two-way street's two directions once); empty without names."""
        if self.name is None:
            return np.empty(0, dtype=object), np.empty(0, dtype=object)
        named = np.flatnonzero(np.array([bool(str(n or "").strip()) for n in self.name]))
        a, b = np.minimum(self.u[named], self.v[named]), np.maximum(self.u[named],
                                                                    self.v[named])
        _, first = np.unique(np.column_stack([a, b]), axis=0, return_index=True)
        keep = named[np.sort(first)]
        coords = np.stack([np.column_stack([self.x[self.u[keep]], self.y[self.u[keep]]]),
                           np.column_stack([self.x[self.v[keep]], self.y[self.v[keep]]])],
                          axis=1)
        return (np.asarray(shapely.linestrings(coords), dtype=object),
                np.asarray(self.name[keep], dtype=object))

    @property
    def n_nodes(self) -> int:
        return len(self.x)

    @property
    def n_segments(self) -> int:
        return len(self.u)

    def usable(self, mode: str) -> np.ndarray:
        """Boolean per segment: can ``mode`` use it?"""
        _check_mode(mode)
        kinds, inv = np.unique(self.highway.astype(str), return_inverse=True)
        # a merged segment ("residential|footway") is usable only if every part is
        bad = np.array([any(p in NOT_FOR[mode] for p in k.split("|")) for k in kinds],
                       dtype=bool)
        bad_type = bad[inv] if len(kinds) else np.zeros(0, dtype=bool)
        closed = np.isin(self.access.astype(str), sorted(NO_ACCESS))
        return ~bad_type & ~closed

    @cached_property
    def _graphs(self) -> dict[str, ModeGraph]:
        return {}

    def graph(self, mode: str) -> ModeGraph:
        """The travel-time graph of ``mode`` (built once, then cached)."""
        _check_mode(mode)
        if mode not in self._graphs:
            self._graphs[mode] = self._build(mode)
        return self._graphs[mode]

    def _build(self, mode: str) -> ModeGraph:
        ok = self.usable(mode)
        u, v, length = self.u[ok], self.v[ok], self.length_m[ok]
        if mode == TravelMode.WALK:
            minutes = length / CONNECTOR_M_PER_MIN
            src, dst, w = np.r_[u, v], np.r_[v, u], np.r_[minutes, minutes]
        else:
            minutes = length / (self.speed_kph[ok] * 1000.0 / 60.0)
            two = ~self.oneway[ok]
            src, dst = np.r_[u, v[two]], np.r_[v, u[two]]
            w = np.r_[minutes, minutes[two]]
        matrix = _min_csr(src, dst, w, self.n_nodes)
        touched = np.zeros(self.n_nodes, dtype=bool)
        touched[src] = True
        touched[dst] = True
        if not touched.any():
            raise_empty(self, mode)
        n_comp, labels = connected_components(matrix, directed=True, connection="strong")
        sizes = np.bincount(labels[touched], minlength=n_comp)
        routable = np.flatnonzero(touched & (labels == int(np.argmax(sizes))))
        tree = cKDTree(np.column_stack([self.x[routable], self.y[routable]]))
        return ModeGraph(mode=mode, matrix=matrix, routable=routable, tree=tree)

    def describe(self, mode: str) -> dict[str, object]:
        """Counts for reports: nodes, segments, routable nodes of ``mode``."""
        g = self.graph(mode)
        return {
            "source": self.source,
            "nodes": self.n_nodes,
            "segments": self.n_segments,
            "segments_usable": int(self.usable(mode).sum()),
            "routable_nodes": len(g.routable),
            "crs": self.crs,
        }


def raise_empty(net: StreetNetwork, mode: str) -> None:
    problems = Problems()
    problems.add(net.source or "network", f"no street segment usable for {mode}",
                 value=f"{net.n_segments} segments",
                 allowed="a network with streets of that mode (OSMnx network_type 'all')")
    problems.raise_if_any()


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        problems = Problems()
        problems.add("mode", "unknown travel mode", value=mode, allowed=MODES)
        problems.raise_if_any()


def _min_csr(src: np.ndarray, dst: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """CSR adjacency keeping the smallest weight of parallel edges (zeros kept as edges)."""
    if len(src) == 0:
        return sp.csr_matrix((n, n))
    order = np.lexsort((w, dst, src))
    src, dst, w = src[order], dst[order], w[order]
    first = np.r_[True, (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])]
    src, dst, w = src[first], dst[first], w[first]
    self_loop = src == dst
    src, dst, w = src[~self_loop], dst[~self_loop], w[~self_loop]
    indptr = np.searchsorted(src, np.arange(n + 1))
    return sp.csr_matrix((w.astype(float), dst.astype(np.int32), indptr), shape=(n, n))


# ---------------------------------------------------------------- snapping


def snap(
    net: StreetNetwork, x: np.ndarray, y: np.ndarray, *, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest routable node of ``mode`` for each point, and the distance to it (m).

    Points with NaN coordinates get node -1 and distance NaN.
    """
    g = net.graph(mode)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    node = np.full(len(x), -1, dtype=np.int64)
    dist = np.full(len(x), np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.any():
        d, i = g.tree.query(np.column_stack([x[ok], y[ok]]), k=1)
        node[ok] = g.routable[i]
        dist[ok] = d
    return node, dist


def connector_minutes(dist_m: np.ndarray) -> np.ndarray:
    """Minutes to walk the straight off-network leg of ``dist_m`` metres."""
    return np.asarray(dist_m, dtype=float) / CONNECTOR_M_PER_MIN


# ------------------------------------------------------------ travel times


def _sources(nodes: np.ndarray, offsets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    nodes = np.asarray(nodes, dtype=np.int64)
    off = np.zeros(len(nodes)) if offsets is None else np.asarray(offsets, dtype=float)
    return nodes, off


def node_times(
    net: StreetNetwork,
    nodes: np.ndarray,
    *,
    mode: str,
    offsets: np.ndarray | None = None,
    cutoff: float | None = None,
) -> np.ndarray:
    """(len(nodes), n_nodes) minutes from each source node (plus its offset) to every node.

    Dijkstra stops at ``cutoff`` minutes (inf beyond it and where unreachable).
    """
    g = net.graph(mode)
    nodes, off = _sources(nodes, offsets)
    if len(nodes) == 0:
        return np.zeros((0, net.n_nodes))
    uniq, inv = np.unique(nodes, return_inverse=True)
    limit = np.inf if cutoff is None else float(cutoff) - float(off.min())
    if limit < 0:
        return np.full((len(nodes), net.n_nodes), np.inf)
    t = dijkstra(g.matrix, directed=True, indices=uniq, limit=limit)[inv]
    t = t + off[:, None]
    if cutoff is not None:
        t[t > cutoff] = np.inf
    return t


def nearest_source_time(
    net: StreetNetwork,
    nodes: np.ndarray,
    *,
    mode: str,
    offsets: np.ndarray | None = None,
    cutoff: float | None = None,
    reverse: bool = False,
) -> np.ndarray:
    """(n_nodes,) minutes from the nearest source to every node: one multi-source Dijkstra.

    A virtual node is joined to every source node by an edge weighing its
    offset (e.g. the provider's connector time), so the result is
    ``min over sources of offset + network time``; inf beyond ``cutoff``.
    ``reverse=True`` times trips the other way: minutes from every node *to* the
    nearest source, plus its offset (the graph's edges reversed; the same for walking).
    """
    g = net.graph(mode)
    nodes, off = _sources(nodes, offsets)
    n = net.n_nodes
    if len(nodes) == 0:
        return np.full(n, np.inf)
    coo = g.matrix.tocoo()
    rows, cols = (coo.col, coo.row) if reverse else (coo.row, coo.col)
    src = np.r_[rows, np.full(len(nodes), n)]
    dst = np.r_[cols, nodes]
    w = np.r_[coo.data, off]
    aug = _min_csr(src.astype(np.int64), dst.astype(np.int64), w, n + 1)
    limit = np.inf if cutoff is None else float(cutoff)
    t = dijkstra(aug, directed=True, indices=n, limit=limit)
    return t[:n]


def travel_time_matrix(
    net: StreetNetwork,
    supply_xy: tuple[np.ndarray, np.ndarray],
    demand_xy: tuple[np.ndarray, np.ndarray],
    *,
    mode: str,
    cutoff: float | None = None,
) -> np.ndarray:
    """(n_demand, n_supply) minutes from each supply point to each demand point.

    Includes both connector legs; inf where unreachable or beyond ``cutoff``
    (minutes) and for points with NaN coordinates.
    """
    s_node, s_dist = snap(net, *supply_xy, mode=mode)
    d_node, d_dist = snap(net, *demand_xy, mode=mode)
    out = np.full((len(d_node), len(s_node)), np.inf)
    s_ok = s_node >= 0
    d_ok = d_node >= 0
    if not s_ok.any() or not d_ok.any():
        return out
    t = node_times(net, s_node[s_ok], mode=mode, offsets=connector_minutes(s_dist[s_ok]),
                   cutoff=cutoff)
    cost = t[:, d_node[d_ok]].T + connector_minutes(d_dist[d_ok])[:, None]
    if cutoff is not None:
        cost[cost > cutoff] = np.inf
    out[np.ix_(d_ok, s_ok)] = cost
    return out


def time_to_nearest(
    net: StreetNetwork,
    x: np.ndarray,
    y: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    *,
    mode: str,
    cutoff: float | None = None,
) -> np.ndarray:
    """Minutes from the nearest provider (px, py) to each point (x, y), connectors included.

    inf where no provider reaches the point within ``cutoff``; NaN coordinates -> inf.
    """
    out = np.full(len(np.asarray(x)), np.inf)
    p_node, p_dist = snap(net, px, py, mode=mode)
    p_ok = p_node >= 0
    if not p_ok.any():
        return out
    node, dist = snap(net, x, y, mode=mode)
    t = nearest_source_time(net, p_node[p_ok], mode=mode,
                            offsets=connector_minutes(p_dist[p_ok]), cutoff=cutoff)
    ok = node >= 0
    out[ok] = t[node[ok]] + connector_minutes(dist[ok])
    if cutoff is not None:
        out[out > cutoff] = np.inf
    return out


def within_travel_time(
    net: StreetNetwork,
    x: np.ndarray,
    y: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    catchment_min: np.ndarray,
    *,
    mode: str,
) -> np.ndarray:
    """Boolean per point: some provider reaches it within that provider's catchment (min).

    The network counterpart of :func:`safetygap.geo.coverage.within_catchment`:
    points and providers are snapped once, then providers are grouped by
    catchment and each group is one multi-source Dijkstra with that cutoff.
    """
    covered = np.zeros(len(np.asarray(x)), dtype=bool)
    catchment_min = np.asarray(catchment_min, dtype=float)
    if len(catchment_min) == 0:
        return covered
    node, dist = snap(net, x, y, mode=mode)
    p_node, p_dist = snap(net, px, py, mode=mode)
    ok = node >= 0
    conn = connector_minutes(dist[ok])
    for limit in np.unique(catchment_min):
        sel = (catchment_min == limit) & (p_node >= 0)
        if not sel.any():
            continue
        t = nearest_source_time(net, p_node[sel], mode=mode,
                                offsets=connector_minutes(p_dist[sel]), cutoff=limit)
        covered[ok] |= t[node[ok]] + conn <= limit
    return covered
