"""`safetygap network fetch` offline: OSMnx downloads Tinytown from a local server that
answers like Nominatim and Overpass (tests/_osm_server.py); the GraphML it writes loads
back with the expected nodes, edges and lengths."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from _osm_server import ARM_M, EDGES, KEPT_NODES, PLACE, FakeOSM
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.inputs.network import load_network, read_graph

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def fake_osm():
    server = FakeOSM().start()
    yield server
    server.stop()


def test_network_fetch_writes_a_graphml_that_loads_back(fake_osm, tmp_path, monkeypatch):
    import osmnx as ox

    monkeypatch.chdir(tmp_path)  # OSMnx would put a cache folder here if it made one
    before = (ox.settings.nominatim_url, ox.settings.overpass_url, ox.settings.use_cache,
              socket.getaddrinfo)
    out = tmp_path / "tiny.graphml"
    res = CliRunner().invoke(app, [
        "network", "fetch", "--place", PLACE, "--out", str(out),
        "--nominatim-url", fake_osm.nominatim_url, "--overpass-url", fake_osm.overpass_url])
    assert res.exit_code == 0, res.output
    assert "street network written to" in res.output

    # what OSMnx asked: the place from Nominatim, then the streets inside its polygon
    asked = [(m, p) for m, p, _ in fake_osm.requests]
    assert asked[0] == ("GET", "/nominatim/search")
    assert fake_osm.requests[0][2]["q"] == [PLACE]
    assert fake_osm.requests[0][2]["polygon_geojson"] == ["1"]
    assert ("POST", "/api/interpreter") in asked
    query = next(f["data"][0] for m, p, f in fake_osm.requests if p == "/api/interpreter")
    assert "poly:" in query and '["highway"]' in query and "[out:json]" in query

    graph = read_graph(out)
    assert set(graph.nodes) == KEPT_NODES
    assert {(u, v) for u, v, _ in graph.edges} == EDGES
    lengths = [d["length"] for _, _, d in graph.edges(data=True)]
    assert lengths == pytest.approx([ARM_M] * len(EDGES), abs=0.5)
    east = graph.get_edge_data(1, 42)[0]
    assert east["name"] == "East Ave" and east["oneway"] is True

    # the analysis reads it (projected to UTM 15N): walking uses every arm both ways,
    # driving cannot come back from the east end
    net = load_network(out, crs="EPSG:26915")
    assert (net.n_nodes, net.n_segments) == (5, 7)
    assert np.allclose(net.length_m, ARM_M, atol=0.5)
    assert len(net.graph("walk").routable) == 5
    assert len(net.graph("drive").routable) == 4  # E (42) is a dead end one way

    # nothing left behind: OSMnx settings, the resolver, no cache folder
    assert (ox.settings.nominatim_url, ox.settings.overpass_url, ox.settings.use_cache,
            socket.getaddrinfo) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.graphml"]


def test_network_fetch_servers_from_the_environment(fake_osm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "env.graphml"
    res = CliRunner().invoke(app, ["network", "fetch", "--place", PLACE, "--out", str(out)],
                             env={"SAFETYGAP_NOMINATIM_URL": fake_osm.nominatim_url,
                                  "SAFETYGAP_OVERPASS_URL": fake_osm.overpass_url})
    assert res.exit_code == 0, res.output
    assert set(read_graph(out).nodes) == KEPT_NODES


def test_network_fetch_unknown_place_is_a_clear_error(fake_osm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "none.graphml"
    res = CliRunner().invoke(app, [
        "network", "fetch", "--place", "Nowhere, Atlantis", "--out", str(out),
        "--nominatim-url", fake_osm.nominatim_url, "--overpass-url", fake_osm.overpass_url])
    assert res.exit_code == 2
    assert "Nowhere, Atlantis" in res.output and "0 results" in res.output
    assert fake_osm.nominatim_url in res.output
    assert not out.exists()
    assert [p for _, p, _ in fake_osm.requests] == ["/nominatim/search"]
