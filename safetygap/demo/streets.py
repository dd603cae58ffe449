"""A plausible street network for the synthetic demo city, written as GraphML.

The network covers the city's neighborhoods (a projected CRS, metres):

* local streets on a jittered grid (``block_m`` apart, residential, 30 km/h);
* every ``arterial_every``-th line an arterial (alternately primary and
  secondary: 50 / 45 km/h) and one north-south freeway (motorway, 90 km/h,
  not walkable) that local streets dead-end at: walkers and drivers cross it,
  and drivers get on it, only at the arterials;
* a river meandering across the city that only ``bridges`` arterials cross:
  every other street segment that would cross it is left out, so two points a
  few hundred metres apart on either bank can be far apart on the streets.

It is written with the same GraphML layout OSMnx uses for a downloaded
network (EPSG:4326 nodes, one edge per direction), so ``--travel network``
reads the demo through the same loader as a real city's network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

STREETS_FILE = "streets.graphml"


@dataclass(frozen=True)
class Streets:
    """Nodes (x, y in ``crs``) and segments of the generated network."""

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    highway: np.ndarray
    name: np.ndarray
    crs: str
    river: shapely.LineString
    block_m: float = 200.0


def generate_streets(
    neighborhoods: gpd.GeoDataFrame,
    *,
    seed: int = 2025,
    block_m: float = 200.0,
    arterial_every: int = 5,
    bridges: int = 4,
) -> Streets:
    """Generate the street network over ``neighborhoods`` (projected CRS, metres)."""
    if neighborhoods.crs is None or not neighborhoods.crs.is_projected:
        raise ValueError("neighborhoods need a projected CRS (metres)")
    rng = np.random.default_rng(seed)
    city = shapely.union_all(neighborhoods.geometry.to_numpy()).buffer(block_m)
    minx, miny, maxx, maxy = city.bounds
    nx_ = int(np.ceil((maxx - minx) / block_m)) + 1
    ny_ = int(np.ceil((maxy - miny) / block_m)) + 1
    ii, jj = np.meshgrid(np.arange(nx_), np.arange(ny_), indexing="ij")
    jitter = block_m * 0.15
    x = minx + ii * block_m + rng.uniform(-jitter, jitter, ii.shape)
    y = miny + jj * block_m + rng.uniform(-jitter, jitter, jj.shape)
    idx = np.arange(nx_ * ny_).reshape(nx_, ny_)

    # segments: along x (i -> i+1, fixed j) and along y (j -> j+1, fixed i)
    u = np.r_[idx[:-1, :].ravel(), idx[:, :-1].ravel()]
    v = np.r_[idx[1:, :].ravel(), idx[:, 1:].ravel()]
    line_j = np.r_[jj[:-1, :].ravel(), np.full(idx[:, :-1].size, -1)]  # east-west street j
    line_i = np.r_[np.full(idx[:-1, :].size, -1), ii[:, :-1].ravel()]  # north-south street i
    highway = np.full(len(u), "residential", dtype=object)
    name = np.array([f"{_ordinal(j + 1)} Street" if j >= 0 else f"{_ordinal(i + 1)} Avenue"
                     for i, j in zip(line_i, line_j, strict=True)], dtype=object)
    art_j = (line_j >= 0) & (line_j % arterial_every == 0)
    art_i = (line_i >= 0) & (line_i % arterial_every == 0)
    highway[art_j | art_i] = "secondary"
    highway[(art_j & (line_j % (2 * arterial_every) == 0))
            | (art_i & (line_i % (2 * arterial_every) == 0))] = "primary"
    freeway_i = (nx_ // 3 // arterial_every) * arterial_every + arterial_every // 2
    highway[line_i == freeway_i] = "motorway"
    name[line_i == freeway_i] = "Interstate 35"
    on_freeway = (ii == freeway_i).ravel()
    local_across = (line_j >= 0) & ~art_j & (on_freeway[u] | on_freeway[v])

    # the river: a meander from west to east through the middle third
    t = np.linspace(0.0, 1.0, 200)
    amp = 0.12 * (maxy - miny)
    ry = (miny + (maxy - miny) * rng.uniform(0.4, 0.6)
          + amp * np.sin(2 * np.pi * (t * rng.uniform(1.0, 1.6) + rng.uniform(0, 1))))
    river = shapely.LineString(np.column_stack([minx + t * (maxx - minx), ry]))
    segs = shapely.linestrings(np.stack([np.column_stack([x.ravel()[u], y.ravel()[u]]),
                                         np.column_stack([x.ravel()[v], y.ravel()[v]])],
                                        axis=1))
    crosses = shapely.intersects(segs, river)
    candidates = np.flatnonzero(crosses & (art_i & (highway != "motorway")))
    keep_bridge = np.zeros(len(u), dtype=bool)
    if len(candidates):
        chosen = np.linspace(0, len(candidates) - 1, min(bridges, len(candidates)))
        keep_bridge[candidates[np.round(chosen).astype(int)]] = True
    keep_bridge |= crosses & (highway == "motorway")  # the freeway bridges the river too
    keep = (~crosses | keep_bridge) & ~local_across

    # only streets in the city (both ends within the buffered city)
    pts = shapely.points(x.ravel(), y.ravel())
    inside = shapely.contains(city, pts)
    keep &= inside[u] & inside[v]
    u, v, highway, name = u[keep], v[keep], highway[keep], name[keep]
    used = np.unique(np.r_[u, v])
    remap = np.full(nx_ * ny_, -1)
    remap[used] = np.arange(len(used))
    return Streets(x=x.ravel()[used], y=y.ravel()[used], u=remap[u], v=remap[v],
                   highway=highway, name=name, crs=neighborhoods.crs.to_string(),
                   river=river, block_m=block_m)


def write_demo_streets(data_dir: str | os.PathLike, *, seed: int = 2025) -> Path:
    """Generate the streets of the demo city in ``data_dir`` (its ``neighborhoods.gpkg``)."""
    d = Path(data_dir)
    nbhd = gpd.read_file(d / "neighborhoods.gpkg")
    if not nbhd.crs.is_projected:
        utm = nbhd.estimate_utm_crs()
        nbhd = nbhd.to_crs(utm)
    return write_streets(generate_streets(nbhd, seed=seed), d)


ADDRESS_FIELDS = ("ANUMBER", "ST_PRE_DIR", "ST_NAME", "ST_POS_TYP", "ST_POS_DIR")
"""Fields of :func:`address_points` (the Minnesota address point standard's)."""
_POS_TYPES = {"Street": "St", "Avenue": "Ave"}


def address_points(streets: Streets, *, setback_m: float = 12.0) -> gpd.GeoDataFrame:
    """The city's address points along its streets, numbered as in Minneapolis: each
    block between two cross streets is a hundred (the k-th block from the west, or the
    south, numbers k00..k99), even numbers on the north side of a Street and the east side
    of an Avenue, odd numbers opposite. Every block side gets two addresses, at 20% and
    60% of the block (``k20``/``k21`` and ``k60``/``k61``), ``setback_m`` metres off the
    street's centre line; the freeway has none.

    Returns points in ``streets.crs`` (metres) with :data:`ADDRESS_FIELDS`
    (``ANUMBER`` an integer; ``ST_NAME`` ``5th``, ``ST_POS_TYP`` ``Ave`` or ``St``).
    """
    parts = np.array([str(n).rsplit(" ", 1) for n in streets.name], dtype=object)
    kind = np.array([p[-1] for p in parts], dtype=object)
    keep = np.isin(kind, list(_POS_TYPES)) & (streets.highway != "motorway")
    u, v = streets.u[keep], streets.v[keep]
    kind, base = kind[keep], np.array([p[0] for p in parts[keep]], dtype=object)
    along_x = kind == "Street"
    # a, b: the segment's ends in the street's numbering direction (west->east, south->north)
    ax, ay, bx, by = streets.x[u], streets.y[u], streets.x[v], streets.y[v]
    flip = np.where(along_x, ax > bx, ay > by)
    ax, bx = np.where(flip, bx, ax), np.where(flip, ax, bx)
    ay, by = np.where(flip, by, ay), np.where(flip, ay, by)
    origin = np.where(along_x, streets.x.min(), streets.y.min())
    mid = np.where(along_x, (ax + bx) / 2, (ay + by) / 2)
    block = np.floor((mid - origin) / streets.block_m).astype(np.int64) + 1
    length = np.hypot(bx - ax, by - ay)
    dx, dy = (bx - ax) / length, (by - ay) / length
    # even side: north of a Street (left of west->east), east of an Avenue (right of
    # south->north)
    nx_ = np.where(along_x, -dy, dy)
    ny_ = np.where(along_x, dx, -dx)
    rows = []
    for t in (0.2, 0.6):
        for odd in (0, 1):
            side = -1.0 if odd else 1.0
            rows.append((ax + t * (bx - ax) + side * setback_m * nx_,
                         ay + t * (by - ay) + side * setback_m * ny_,
                         block * 100 + round(t * 100) + odd))
    x = np.concatenate([r[0] for r in rows])
    y = np.concatenate([r[1] for r in rows])
    number = np.concatenate([r[2] for r in rows])
    n = len(rows)
    table = pd.DataFrame({
        "ANUMBER": number,
        "ST_PRE_DIR": "",
        "ST_NAME": np.tile(base, n),
        "ST_POS_TYP": [_POS_TYPES[k] for k in np.tile(kind, n)],
        "ST_POS_DIR": "",
    })
    order = np.lexsort((table["ANUMBER"].to_numpy(), table["ST_POS_TYP"].to_numpy(),
                        table["ST_NAME"].to_numpy()))
    return gpd.GeoDataFrame(table.iloc[order].reset_index(drop=True),
                            geometry=shapely.points(x[order], y[order]), crs=streets.crs)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def write_streets(streets: Streets, data_dir: str | os.PathLike) -> Path:
    """Write ``streets.graphml`` (OSMnx layout, EPSG:4326) into ``data_dir``."""
    from safetygap.inputs.network import segments_to_graph, write_graphml

    graph = segments_to_graph(streets.x, streets.y, streets.u, streets.v, crs=streets.crs,
                              highway=streets.highway, name=streets.name)
    out = Path(data_dir)
    out.mkdir(parents=True, exist_ok=True)
    return write_graphml(graph, out / STREETS_FILE)
