"""Street-network travel times on tiny hand-made networks, times worked out by hand.

The river network (EPSG:26915 metres, relative to the conftest origin)::

    B0 (0,1000) ---- B1 (1000,1000) ---- B2 (2000,1000)     north bank, residential
     :                 |
     : footbridge      | bridge (primary)          ~~~ river along y = 500 ~~~
     :  (optional)     |
    A0 (0,0) ------- A1 (1000,0) ------- A2 (2000,0)         south bank, residential

    island: I0 (5000,5000) -- I1 (5100,5000), joined to nothing

Walking: 80 m/min, so 1 km = 12.5 min. Driving: residential 30 km/h = 2 min/km,
primary 50 km/h = 1.2 min/km; footways cannot be driven.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetygap.errors import ValidationError
from safetygap.geo.network import (
    StreetNetwork,
    nearest_source_time,
    node_times,
    snap,
    travel_time_matrix,
    within_travel_time,
)
from safetygap.geo.travel import Travel
from safetygap.inputs.network import load_network
from tests.conftest import CRS, X0, Y0

INF = math.inf
NODES = [(0, 0), (1000, 0), (2000, 0), (0, 1000), (1000, 1000), (2000, 1000),
         (5000, 5000), (5100, 5000)]
A0, A1, A2, B0, B1, B2, I0, I1 = range(8)


def river(footbridge: bool = False) -> StreetNetwork:
    seg = [(A0, A1, "residential"), (A1, A2, "residential"), (B0, B1, "residential"),
           (B1, B2, "residential"), (A1, B1, "primary"), (I0, I1, "residential")]
    if footbridge:
        seg.append((A0, B0, "footway"))
    x = np.array([X0 + p[0] for p in NODES], dtype=float)
    y = np.array([Y0 + p[1] for p in NODES], dtype=float)
    return StreetNetwork.from_segments(
        x, y, [s[0] for s in seg], [s[1] for s in seg], crs=CRS,
        highway=np.array([s[2] for s in seg], dtype=object))


def xy(*pts: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([X0 + p[0] for p in pts], dtype=float),
            np.array([Y0 + p[1] for p in pts], dtype=float))


def test_walk_times_around_the_river():
    t = node_times(river(), [A0], mode="walk")[0]
    assert t[[A0, A1, A2, B1, B0, B2]] == pytest.approx([0, 12.5, 25, 25, 37.5, 37.5])
    assert t[I0] == INF  # the island is not reachable


def test_footbridge_is_walked_but_not_driven():
    net = river(footbridge=True)
    walk = node_times(net, [A0], mode="walk")[0]
    assert walk[B0] == pytest.approx(12.5)
    drive = node_times(net, [A0], mode="drive")[0]
    # A0 -> A1 2 min, bridge 1.2 min, B1 -> B0 2 min
    assert drive[[A1, A2, B1, B0, B2]] == pytest.approx([2, 4, 3.2, 5.2, 5.2])


def test_straight_line_close_is_network_far():
    # a call 1 km north of a provider across the river: 12.5 min as the crow walks,
    # 37.5 min on the streets (over the only bridge)
    cost = travel_time_matrix(river(), xy((0, 0)), xy((0, 1000)), mode="walk")
    assert cost[0, 0] == pytest.approx(37.5)
    straight = Travel("straight").cost_matrix(xy((0, 0)), xy((0, 1000)))
    assert straight[0, 0] == pytest.approx(1000.0)


def test_oneway_loop_drive_and_walk():
    # triangle 0 -> 1 -> 2 -> 0 of one-way 1 km streets
    x, y = xy((0, 0), (1000, 0), (500, 866.0254037844386))
    net = StreetNetwork.from_segments(x, y, [0, 1, 2], [1, 2, 0], crs=CRS, oneway=True)
    drive = node_times(net, [0, 1], mode="drive")
    assert drive[0] == pytest.approx([0, 2, 4])
    assert drive[1] == pytest.approx([4, 0, 2])
    walk = node_times(net, [1], mode="walk")[0]  # walking ignores one-way tags
    assert walk == pytest.approx([12.5, 0, 12.5])


def test_reverse_times_trips_to_the_sources():
    # the one-way triangle: from node 1 to node 0 is 1 -> 2 -> 0 (4 min), from 2 is 2 min
    x, y = xy((0, 0), (1000, 0), (500, 866.0254037844386))
    net = StreetNetwork.from_segments(x, y, [0, 1, 2], [1, 2, 0], crs=CRS, oneway=True)
    assert nearest_source_time(net, [0], mode="drive") == pytest.approx([0, 2, 4])
    assert nearest_source_time(net, [0], mode="drive", reverse=True) == pytest.approx(
        [0, 4, 2])
    # targets 0 (offset 3 min) and 1 (offset 0): from 0, min(0 + 3, 0 -> 1 = 2) = 2;
    # from 2, min(2 -> 0 = 2 + 3, 2 -> 0 -> 1 = 4 + 0) = 4; a cutoff ends the whole trip
    t = nearest_source_time(net, [0, 1], mode="drive", offsets=np.array([3.0, 0.0]),
                            reverse=True)
    assert t == pytest.approx([2, 0, 4])
    t = nearest_source_time(net, [0, 1], mode="drive", offsets=np.array([3.0, 0.0]),
                            reverse=True, cutoff=3.5)
    assert t[:2] == pytest.approx([2, 0]) and np.isinf(t[2])


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_reverse_times_match_forward_trips(seed):
    """Minutes from every node to the nearest of some targets (reverse) equal the
    minimum over the targets of the forward trip node -> target."""
    rng = np.random.default_rng(seed)
    net = _random_grid(seed)
    g = net.graph("drive")
    targets = rng.choice(g.routable, 3, replace=False)
    offsets = rng.uniform(0, 2, 3)
    got = nearest_source_time(net, targets, mode="drive", offsets=offsets, reverse=True)
    forward = node_times(net, g.routable, mode="drive")[:, targets] + offsets
    assert got[g.routable] == pytest.approx(forward.min(axis=1), rel=1e-12)


def test_maxspeed_overrides_the_highway_default():
    x, y = xy((0, 0), (1000, 0))
    net = StreetNetwork.from_segments(x, y, [0], [1], crs=CRS, highway="residential",
                                      maxspeed_kph=np.array([60.0]))
    assert node_times(net, [0], mode="drive")[0][1] == pytest.approx(1.0)


def test_snapping_to_routable_nodes_only():
    net = river()
    node, dist = snap(net, *xy((10, 20), (5000, 5000), (np.nan, 0)), mode="walk")
    assert list(node[:2]) == [A0, B2]  # never the island
    assert dist[0] == pytest.approx(math.hypot(10, 20))
    assert dist[1] == pytest.approx(5000.0)  # (3000, 4000) from B2
    assert node[2] == -1 and math.isnan(dist[2])


def test_connector_legs_are_walked():
    # provider 80 m south of A0 (1 min), call 40 m north of B0 (0.5 min)
    cost = travel_time_matrix(river(footbridge=True), xy((0, -80)), xy((0, 1040)),
                              mode="drive")
    assert cost[0, 0] == pytest.approx(1 + 5.2 + 0.5)


def test_cutoff_and_multi_source_offsets():
    net = river(footbridge=True)
    t = nearest_source_time(net, [A0], mode="walk", cutoff=20)
    assert t[[A0, A1, B0]] == pytest.approx([0, 12.5, 12.5])
    assert np.isinf(t[[A2, B1, B2]]).all()
    t2 = nearest_source_time(net, [A0, A2], mode="walk", offsets=np.array([10.0, 0.0]))
    assert t2[[A0, A1, A2, B0, B1, B2]] == pytest.approx([10, 12.5, 0, 22.5, 25, 37.5])
    # the same as the minimum over single-source runs
    single = node_times(net, [A0, A2], mode="walk", offsets=np.array([10.0, 0.0]))
    assert t2[:6] == pytest.approx(single.min(axis=0)[:6])


def test_cost_matrix_cutoff_marks_unreachable():
    cost = travel_time_matrix(river(), xy((0, 0), (2000, 0)), xy((0, 1000), (1000, 0)),
                              mode="walk", cutoff=30)
    # rows: demand B0, A1; columns: supply A0, A2
    assert cost[1] == pytest.approx([12.5, 12.5])
    assert cost[0, 0] == INF and cost[0, 1] == INF  # 37.5 and 37.5 > 30


@pytest.mark.parametrize(("catchment", "expected"), [
    (12.5, [True, True, False, False]),   # exactly at the catchment counts
    (12.4, [True, False, False, False]),
    (37.5, [True, True, True, True]),
])
def test_within_travel_time_edges(catchment, expected):
    calls = xy((0, 0), (1000, 0), (0, 1000), (2000, 1000))
    got = within_travel_time(river(), *calls, *xy((0, 0)), np.array([catchment]), mode="walk")
    assert list(got) == expected


def test_within_travel_time_per_provider_catchment():
    calls = xy((0, 0), (2000, 0), (0, 1000), (2000, 1000), (np.nan, np.nan))
    prov = xy((0, 0), (2000, 1000))
    got = within_travel_time(river(), *calls, *prov, np.array([12.5, 25.0]), mode="walk")
    # A0 by P1 (0); A2: P1 25 > 12.5, P2 via B1-A1-A2? 37.5 > 25 -> no; B0 by P2 (25);
    # B2 by P2 (0); NaN never covered
    assert list(got) == [True, False, True, True, False]


def test_unknown_mode_and_network_without_streets_for_mode():
    with pytest.raises(ValidationError, match="unknown travel mode"):
        river().graph("bike")
    x, y = xy((0, 0), (100, 0))
    net = StreetNetwork.from_segments(x, y, [0], [1], crs=CRS, highway="footway")
    with pytest.raises(ValidationError, match="no street segment usable for drive"):
        net.graph("drive")
    with pytest.raises(ValidationError, match="projected"):
        StreetNetwork.from_segments(x, y, [0], [1], crs="EPSG:4326")


def _random_grid(seed: int, n: int = 6) -> StreetNetwork:
    """An n x n grid (200 m blocks) with random highway types and some one-ways."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    x = X0 + ii.ravel() * 200.0 + rng.uniform(-30, 30, n * n)
    y = Y0 + jj.ravel() * 200.0 + rng.uniform(-30, 30, n * n)
    idx = np.arange(n * n).reshape(n, n)
    u = np.r_[idx[:-1, :].ravel(), idx[:, :-1].ravel()]
    v = np.r_[idx[1:, :].ravel(), idx[:, 1:].ravel()]
    hw = rng.choice(np.array(["residential", "primary", "tertiary"], dtype=object), len(u))
    oneway = rng.random(len(u)) < 0.15
    return StreetNetwork.from_segments(x, y, u, v, crs=CRS, highway=hw, oneway=oneway)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(["walk", "drive"]))
def test_dijkstra_agrees_with_networkx(seed, mode):
    net = _random_grid(seed)
    g = net.graph(mode)
    G = nx.DiGraph()
    coo = g.matrix.tocoo()
    G.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(),
                                  strict=True))
    src = int(g.routable[seed % len(g.routable)])
    expected = nx.single_source_dijkstra_path_length(G, src)
    got = node_times(net, [src], mode=mode)[0]
    for node, t in expected.items():
        assert got[node] == pytest.approx(t, rel=1e-12)
    assert np.isinf(np.delete(got, list(expected))).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_walking_is_symmetric_and_never_beats_the_crow(seed):
    rng = np.random.default_rng(seed)
    net = _random_grid(seed)
    pts = (X0 + rng.uniform(-100, 1100, 5), Y0 + rng.uniform(-100, 1100, 5))
    cost = travel_time_matrix(net, pts, pts, mode="walk")
    assert cost == pytest.approx(cost.T, rel=1e-12)
    crow = np.hypot(pts[0][:, None] - pts[0][None, :], pts[1][:, None] - pts[1][None, :])
    assert (cost >= crow / 80.0 - 1e-9).all()


# ----------------------------------------------------------------- OSMnx files


def _osm_xml(path, footbridge: bool = True) -> None:
    from pyproj import Transformer

    tr = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    nodes = []
    for i, (px, py) in enumerate(NODES[:6], start=1):
        lon, lat = tr.transform(X0 + px, Y0 + py)
        nodes.append(f'  <node id="{i}" lat="{lat:.9f}" lon="{lon:.9f}" version="1"/>')
    ways = [(101, [1, 2, 3], "residential", ""), (102, [4, 5, 6], "residential", ""),
            (103, [2, 5], "primary", '<tag k="maxspeed" v="50"/>')]
    if footbridge:
        ways.append((104, [1, 4], "footway", ""))
    body = []
    for wid, refs, hw, extra in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        body.append(f'  <way id="{wid}" version="1">{nds}<tag k="highway" v="{hw}"/>'
                    f'{extra}</way>')
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
                    + "\n".join(nodes + body) + "\n</osm>\n", encoding="utf-8")


def test_osm_xml_and_graphml_give_the_hand_worked_times(tmp_path):
    pytest.importorskip("osmnx")
    osm = tmp_path / "river.osm"
    _osm_xml(osm)
    net = load_network(osm, crs=CRS)
    # OSMnx measures great-circle lengths: 1000 projected metres on UTM near the
    # central meridian are 1000 / 0.9996 m on the ground
    node, _ = snap(net, *xy((0, 0), (0, 1000), (2000, 1000)), mode="walk")
    walk = node_times(net, node[:1], mode="walk")[0]
    assert walk[node[1]] == pytest.approx(12.5, rel=5e-3)
    assert walk[node[2]] == pytest.approx(37.5, rel=5e-3)
    drive = node_times(net, node[:1], mode="drive")[0]
    assert drive[node[1]] == pytest.approx(5.2, rel=5e-3)

    from safetygap.inputs.network import read_graph, write_graphml

    gml = write_graphml(read_graph(osm), tmp_path / "river.graphml")
    net2 = load_network(gml, crs=CRS)
    node2, _ = snap(net2, *xy((0, 0), (0, 1000), (2000, 1000)), mode="walk")
    walk2 = node_times(net2, node2[:1], mode="walk")[0]
    assert walk2[node2] == pytest.approx(walk[node], rel=1e-9)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ValidationError, match="not found"):
        load_network(tmp_path / "missing.graphml", crs=CRS)
    bad = tmp_path / "streets.shp"
    bad.write_text("x")
    with pytest.raises(ValidationError, match="unknown street network file type"):
        load_network(bad, crs=CRS)
    garbage = tmp_path / "streets.graphml"
    garbage.write_text("<not graphml")
    with pytest.raises(ValidationError, match=r"streets\.graphml"):
        load_network(garbage, crs=CRS)


def test_merged_segment_is_usable_only_if_every_part_is():
    x, y = xy((0, 0), (1000, 0))
    net = StreetNetwork.from_segments(x, y, [0, 0], [1, 1], crs=CRS,
                                      highway=np.array(["residential|footway", "primary"],
                                                       dtype=object))
    assert list(net.usable("walk")) == [True, True]
    assert list(net.usable("drive")) == [False, True]
    closed = StreetNetwork.from_segments(x, y, [0], [1], crs=CRS, access="private")
    assert not closed.usable("walk").any()
