"""Candidate sites for siting: the default ones (street-network nodes, or a grid)
and ones read from a file or sent to the API."""

from __future__ import annotations

import os
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safetygap.inputs.files import read_table
from safetygap.scenarios.baseline import (
    Baseline,
)
from safetygap.scenarios.hypothetical import new_providers

DEFAULT_GRID_M = 200.0
"""Spacing of default candidate sites for straight-line workspaces."""


def default_candidates(base: Baseline) -> tuple[np.ndarray, np.ndarray]:
    """Network nodes (routable in the mode) in the city, or a 200 m grid for straight-line."""
    city = shapely.union_all(base.neighborhoods.geometry.to_numpy())
    if base.travel.network is not None and base.travel.mode is not None:
        net = base.travel.network
        nodes = net.graph(base.travel.mode).routable
        x, y = net.x[nodes], net.y[nodes]
    else:
        minx, miny, maxx, maxy = city.bounds
        gx, gy = np.meshgrid(np.arange(minx, maxx + 1, DEFAULT_GRID_M),
                             np.arange(miny, maxy + 1, DEFAULT_GRID_M))
        x, y = gx.ravel(), gy.ravel()
    inside = shapely.intersects_xy(city.buffer(1.0), x, y)  # nodes on the limits count
    return x[inside], y[inside]


def read_candidates(base: Baseline, path: str | os.PathLike, *, crs: str | None = None,
                    service_type: str, capacity: float,
                    crs_option: str = "candidates_crs") -> gpd.GeoDataFrame:
    """Candidate sites from a file: points (lat/lon, x/y with ``crs``, or geometry).

    See :func:`candidates_from_frame` for the columns; ``crs_option`` names the option
    that gives ``crs`` in messages.
    """
    table = read_table(path, where="candidates")
    return candidates_from_frame(base, table.frame, where=f"candidates {table.path}", crs=crs,
                                 service_type=service_type, capacity=capacity,
                                 geometry=table.geometry, geometry_crs=table.crs,
                                 crs_option=crs_option)


def candidates_from_frame(
    base: Baseline, frame: pd.DataFrame, *, where: str, service_type: str, capacity: float,
    crs: str | None = None, geometry: Any = None, geometry_crs: str | None = None,
    crs_option: str = "candidates_crs",
) -> gpd.GeoDataFrame:
    """Candidate sites from rows (a file read, or sites sent to the API), validated and
    placed like providers. Columns ``name``, ``service_type`` and ``capacity`` are
    optional here: where missing or blank they are ``candidate <row>`` and the siting
    run's own service type and capacity."""
    frame = frame.copy()
    n = len(frame)
    fills = {"name": [f"candidate {i + 1}" for i in range(n)],
             "service_type": [service_type] * n, "capacity": [capacity] * n}
    for col, default in fills.items():
        if col not in frame.columns:
            frame[col] = default
        else:
            blank = frame[col].isna() | (frame[col].astype("string").str.strip() == "")
            frame[col] = frame[col].astype(object).where(~blank.to_numpy(), pd.Series(
                default, index=frame.index, dtype=object))
    return new_providers(base, frame, where=where, crs=crs, geometry=geometry,
                         geometry_crs=geometry_crs, crs_option=crs_option)
