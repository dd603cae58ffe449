"""Street network files: OSM XML (``.osm``, ``.xml``) and GraphML (``.graphml``) read with
OSMnx (imported only in here) into a :class:`~safetygap.geo.network.StreetNetwork`, GraphML
written, generated networks built as OSMnx-style graphs, and the compressed ``.npz`` a
workspace keeps its network in (no pickles). Works offline; downloading a place's network is
:func:`safetygap.fetch.osm_network.fetch_place`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS

from safetygap.errors import Problems
from safetygap.geo.network import DRIVE_FALLBACK_KPH, DRIVE_SPEEDS_KPH, StreetNetwork

GRAPHML_SUFFIXES = (".graphml",)
XML_SUFFIXES = (".osm", ".xml")


def _first(value: Any) -> Any:
    """OSMnx keeps a list where simplification merged ways with different tags."""
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def read_graph(path: Path) -> Any:
    """An OSMnx MultiDiGraph from a GraphML or OSM XML file (offline)."""
    problems = Problems()
    name = path.name.lower()
    if not path.is_file():
        problems.add(str(path), "street network file not found",
                     allowed="an OSM XML (.osm, .xml) or GraphML (.graphml) file")
        problems.raise_if_any()
    kind = ("graphml" if name.endswith(GRAPHML_SUFFIXES)
            else "xml" if name.endswith(XML_SUFFIXES) else None)
    if kind is None:
        problems.add(str(path), "unknown street network file type", value=path.suffix,
                     allowed=(*GRAPHML_SUFFIXES, *XML_SUFFIXES))
        problems.raise_if_any()
    import osmnx as ox

    try:
        if kind == "graphml":
            graph = ox.load_graphml(path)
        else:
            # unsimplified: every OSM node stays a snap target along its street
            graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    except Exception as exc:  # the parsers raise many kinds; name the file
        problems.add(str(path), f"cannot read the street network ({type(exc).__name__})",
                     value=str(exc)[:200])
        problems.raise_if_any()
    if graph.number_of_edges() == 0:
        problems.add(str(path), "the street network has no streets",
                     value=f"{graph.number_of_nodes()} nodes, 0 edges")
        problems.raise_if_any()
    return graph


def graph_to_network(graph: Any, *, crs: CRS, source: str = "") -> StreetNetwork:
    """Project an OSMnx graph to ``crs`` and convert it (every edge as directed)."""
    import osmnx as ox

    g = ox.project_graph(graph, to_crs=crs)
    # a simplified edge may merge ways of several highway types: keep them all
    # ("residential|footway") for the mode filters, and the first for the speeds
    merged = []
    for _, _, d in g.edges(data=True):
        hw = d.get("highway")
        parts = [str(h) for h in hw] if isinstance(hw, list | tuple) else [str(hw or "road")]
        merged.append("|".join(parts))
        d["highway"] = parts[0]
    g = ox.routing.add_edge_speeds(g, hwy_speeds=DRIVE_SPEEDS_KPH, fallback=DRIVE_FALLBACK_KPH)
    ids = list(g.nodes)
    pos = {nid: i for i, nid in enumerate(ids)}
    data = g.nodes(data=True)
    x = np.array([float(data[n]["x"]) for n in ids])
    y = np.array([float(data[n]["y"]) for n in ids])
    u = np.array([pos[a] for a, _, _ in g.edges(data=True)], dtype=np.int64)
    v = np.array([pos[b] for _, b, _ in g.edges(data=True)], dtype=np.int64)
    rows = [d for _, _, d in g.edges(data=True)]
    length = np.array([float(d["length"]) if d.get("length") is not None else np.nan
                       for d in rows])
    missing = ~np.isfinite(length)
    length[missing] = np.hypot(x[u[missing]] - x[v[missing]], y[u[missing]] - y[v[missing]])
    return StreetNetwork.from_segments(
        x, y, u, v,
        crs=crs.to_string(),
        highway=np.array(merged, dtype=object),
        length_m=length,
        oneway=True,  # an OSMnx MultiDiGraph already has one edge per allowed direction
        maxspeed_kph=np.array([float(d.get("speed_kph", np.nan)) for d in rows]),
        access=np.array([str(_first(d.get("access")) or "") for d in rows], dtype=object),
        source=source,
        name=np.array([str(_first(d.get("name")) or "") for d in rows], dtype=object),
    )


def write_graphml(graph: Any, path: str | os.PathLike) -> Path:
    """Save an OSMnx-style graph as GraphML (what :func:`read_graph` reads back)."""
    import osmnx as ox

    p = Path(path)
    ox.save_graphml(graph, filepath=p)
    return p


def segments_to_graph(
    x: np.ndarray,
    y: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    *,
    crs: str,
    highway: np.ndarray,
    oneway: np.ndarray | None = None,
    name: np.ndarray | None = None,
) -> Any:
    """An OSMnx-style MultiDiGraph in EPSG:4326 from nodes in ``crs`` and segments.

    Like a downloaded OSM network: node ids from 1, ``x``/``y`` = lon/lat,
    one edge per allowed direction with ``osmid``, ``highway``, ``oneway``,
    ``reversed``, ``length`` (metres, measured in ``crs``) and ``name``.
    Used for generated networks (the demo city) and tests.
    """
    import networkx as nx
    from pyproj import Transformer

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    graph = nx.MultiDiGraph(crs="epsg:4326", created_with="safetygap")
    for i in range(len(x)):
        graph.add_node(i + 1, x=float(lon[i]), y=float(lat[i]), street_count=0)
    ow = np.zeros(len(u), dtype=bool) if oneway is None else np.asarray(oneway, dtype=bool)
    for k, (a, b) in enumerate(zip(np.asarray(u), np.asarray(v), strict=True)):
        attrs = {"osmid": k + 1, "highway": str(highway[k]), "oneway": bool(ow[k]),
                 "length": float(np.hypot(x[a] - x[b], y[a] - y[b]))}
        if name is not None and name[k]:
            attrs["name"] = str(name[k])
        graph.add_edge(int(a) + 1, int(b) + 1, reversed=False, **attrs)
        if not ow[k]:
            graph.add_edge(int(b) + 1, int(a) + 1, reversed=True, **attrs)
    for n in graph.nodes:
        graph.nodes[n]["street_count"] = len(set(graph.predecessors(n))
                                             | set(graph.successors(n)))
    return graph


def load_network(
    path: str | os.PathLike, *, crs: str | CRS
) -> StreetNetwork:
    """Read a street network (OSM XML ``.osm``/``.xml`` or OSMnx ``.graphml``) with OSMnx.

    The network is projected to ``crs`` (the analysis CRS, metres). Works
    offline. Raises :class:`~safetygap.errors.ValidationError` naming the file
    when it is missing, of an unknown kind, unreadable or empty.
    """
    p = Path(path)
    graph = read_graph(p)
    return graph_to_network(graph, crs=CRS.from_user_input(crs), source=str(p))


_NPZ_ARRAYS = ("x", "y", "u", "v", "length_m", "speed_kph", "oneway")
_NPZ_TEXT = ("highway", "access")


def save_network(net: StreetNetwork, path: str | os.PathLike) -> None:
    """Write ``net`` as a compressed NumPy archive (no pickles), for workspaces."""
    arrays = {k: getattr(net, k) for k in _NPZ_ARRAYS}
    arrays.update({k: np.asarray(getattr(net, k), dtype=str) for k in _NPZ_TEXT})
    arrays["crs"] = np.asarray(net.crs)
    arrays["source"] = np.asarray(net.source)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def read_saved_network(path: str | os.PathLike) -> StreetNetwork:
    """Read a network written by :func:`save_network` (exactly the same arrays)."""
    with np.load(path, allow_pickle=False) as z:
        kw = {k: z[k] for k in _NPZ_ARRAYS}
        kw.update({k: z[k].astype(object) for k in _NPZ_TEXT})
        return StreetNetwork(**kw, crs=str(z["crs"]), source=str(z["source"]))
