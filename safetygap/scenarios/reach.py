"""What providers reach as an area, and the residents new ones would newly reach.

:func:`reach_region` is the union of what providers reach (each one's catchment area, or
the polygon an area-serving provider serves); :func:`existing_reach` that of a family's
existing providers (those handling the calls a new service type handles), computed once per
baseline; :func:`residents` the residents newly
reached by ranked regions (areal weighting, :mod:`safetygap.geo.residents`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable

import numpy as np
import pandas as pd
import shapely

from safetygap.geo.residents import residents_newly_reached
from safetygap.scenarios.baseline import Baseline


def reach_region(base: Baseline, providers: pd.DataFrame) -> shapely.Geometry | None:
    """What ``providers`` reach together, in the workspace CRS: each one's catchment area
    (a disc straight-line, the area reached on the network: the rule of
    :func:`~safetygap.scenarios.siting.site_catchments`), or the polygon an area-serving
    provider serves (``serves_wkt``); providers without a place (``placeless``) or a
    catchment reach no area. None: nothing."""
    from safetygap.geo.siting import catchment_area

    travel = base.travel
    col = travel.catchment_column
    geoms = []
    for r in providers.itertuples(index=False):
        wkt = str(getattr(r, "serves_wkt", "") or "")
        if wkt:
            geoms.append(shapely.from_wkt(wkt))
            continue
        if bool(getattr(r, "placeless", False) or False):
            continue
        c = float(getattr(r, col, np.nan))
        if not np.isfinite(c) or r.geometry is None or r.geometry.is_empty:
            continue
        geoms.append(catchment_area(r.geometry.x, r.geometry.y, catchment=c,
                                    net=travel.network, mode=travel.mode))
    return shapely.union_all(geoms) if geoms else None


_REACH: dict[tuple[int, str, frozenset[str] | None], shapely.Geometry | None] = {}
_REACH_LOCK = threading.Lock()


def existing_reach(base: Baseline, family: str, *,
                   service_types: Iterable[str] | None = None) -> shapely.Geometry | None:
    """What the workspace's providers of ``family`` reach (:func:`reach_region`), computed
    once per baseline (forgotten with it). With ``service_types``, only the providers whose
    service type handles a category of call one of them handles (the rule of call
    coverage: a crisis team's reach is not an animal control unit's), so the residents a
    new crisis team newly reaches are those no existing crisis service reaches."""
    types = None if service_types is None else frozenset(service_types)
    key = (id(base), family, types)
    with _REACH_LOCK:
        if key in _REACH:
            return _REACH[key]
    keep = (base.providers["family"] == family).to_numpy().copy()
    if types is not None:
        known = base.taxonomy.service_types
        wanted = {c for t in types if t in known for c in known[t].handles}
        keep &= np.array([t not in known or bool(wanted & set(known[t].handles))
                          for t in base.providers["service_type"].astype(str)], dtype=bool)
    region = reach_region(base, base.providers[keep])
    with _REACH_LOCK:
        if not any(k[0] == id(base) for k in _REACH):
            weakref.finalize(base, _forget_reach, id(base))
        _REACH[key] = region
    return region


def _forget_reach(base_id: int) -> None:
    with _REACH_LOCK:
        for k in [k for k in _REACH if k[0] == base_id]:
            del _REACH[k]


def residents(base: Baseline, regions: list[shapely.Geometry | None], *,
              existing: shapely.Geometry | None) -> list[float]:
    """Residents newly reached by each of the ranked ``regions`` (areal weighting over
    the neighborhoods, :mod:`safetygap.geo.residents`), rounded to whole residents."""
    got = residents_newly_reached(
        base.neighborhoods.geometry.to_numpy(),
        base.neighborhoods["population"].to_numpy(float),
        [r if r is not None else shapely.Polygon() for r in regions], existing=existing)
    return [float(round(v)) for v in got]
