"""Downloading a place's street network from OpenStreetMap (Nominatim + Overpass, through
OSMnx) and saving it as GraphML for ``--travel network``. The only code that fetches a
network; reading the file is :mod:`safetygap.inputs.network`.
"""

from __future__ import annotations

import os
from pathlib import Path

from safetygap.fetch._osmnx import osmnx_settings
from safetygap.inputs.network import write_graphml


def fetch_place(
    place: str,
    out: str | os.PathLike,
    *,
    network_type: str = "all",
    nominatim_url: str | None = None,
    overpass_url: str | None = None,
    timeout_s: float = 180.0,
) -> Path:
    """Download the street network of ``place`` from OpenStreetMap and save it as GraphML.

    Needs the internet: the place is geocoded by Nominatim and its streets
    come from the Overpass API (OSMnx's public servers unless
    ``nominatim_url`` / ``overpass_url`` name others, e.g. a city's own
    mirror). OSMnx's settings are changed only while this runs, and it writes
    no cache files. The network is kept unprojected, as OSMnx downloads it;
    ``load_network`` projects it to the analysis CRS.
    """
    import osmnx as ox

    with osmnx_settings(ox, nominatim_url=nominatim_url, overpass_url=overpass_url,
                         requests_timeout=timeout_s, use_cache=False):
        graph = ox.graph_from_place(place, network_type=network_type, simplify=True,
                                    retain_all=False)
    return write_graphml(graph, out)
