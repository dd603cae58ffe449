"""The demo city's generated street network: loadable, and the river makes detours."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import box

from safetygap.demo.streets import generate_streets, write_streets
from safetygap.geo.network import node_times
from safetygap.inputs.network import load_network
from tests.conftest import CRS, X0, Y0


def test_generated_streets_river_freeway_and_loader(tmp_path):
    nb = gpd.GeoDataFrame({"area_id": ["a", "b"]},
                          geometry=[box(X0, Y0, X0 + 3000, Y0 + 6000),
                                    box(X0 + 3000, Y0, X0 + 6000, Y0 + 6000)], crs=CRS)
    s = generate_streets(nb, seed=7, bridges=2)
    segs = shapely.linestrings(np.stack([np.column_stack([s.x[s.u], s.y[s.u]]),
                                         np.column_stack([s.x[s.v], s.y[s.v]])], axis=1))
    crossing = shapely.intersects(segs, s.river)
    # only the chosen bridges and the freeway cross the river
    assert set(s.highway[crossing]) <= {"primary", "secondary", "motorway"}
    assert (crossing & (s.highway != "motorway")).sum() == 2
    path = write_streets(s, tmp_path)
    net = load_network(path, crs=CRS)
    assert net.n_nodes == len(s.x)
    # a node pair close across the river but far from any bridge walks a long way round
    t = node_times(net, np.arange(net.n_nodes), mode="walk")
    crow = np.hypot(net.x[:, None] - net.x[None, :], net.y[:, None] - net.y[None, :])
    detour = np.where(crow > 0, t * 80.0 / np.where(crow > 0, crow, 1.0), 1.0)
    assert np.nanmax(detour[np.isfinite(detour)]) > 3.0
    # the freeway is driven but not walked
    assert (net.usable("walk") == (net.highway != "motorway")).all()
