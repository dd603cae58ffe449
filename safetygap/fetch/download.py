"""Download one ArcGIS layer page by page into GeoParquet, resumably.

:func:`download_layer` asks the layer for its object-id field and page limit,
counts the records matching the query, then fetches pages with
``resultOffset``/``resultRecordCount`` ordered by object id, writing each
page to disk before recording it in the resume state (``_state.py``). When
every page is in, the pages are joined into ``<out>/<name>.parquet``
(GeoParquet, EPSG:4326), duplicate object ids (possible when a live layer
shifts while it is paged) are dropped and counted, and the manifest entry
is returned. Progress goes to ``log`` one line per page.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from safetygap._hashing import sha256_file
from safetygap._io import atomic_write
from safetygap.fetch._state import PARTIAL_DIR, LayerState
from safetygap.fetch.arcgis import MAX_PAGE_SIZE, ArcGISClient, FetchError

PageHook = Callable[[str, int, int], None]
"""Called as ``hook(layer name, page offset, records)`` after each page is saved."""


@dataclass(frozen=True)
class LayerRequest:
    """What to download: the ArcGIS service ``layer`` into ``<name>.parquet``."""

    name: str
    layer: str
    where: str = "1=1"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def features_frame(features: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """GeoJSON features (EPSG:4326) as a GeoDataFrame; features without geometry keep None."""
    if not features:
        return gpd.GeoDataFrame({"geometry": gpd.GeoSeries([], crs="EPSG:4326")},
                                geometry="geometry", crs="EPSG:4326")
    return gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")


def download_layer(
    client: ArcGISClient,
    request: LayerRequest,
    out: Path,
    *,
    page_size: int = MAX_PAGE_SIZE,
    log: Callable[[str], None] | None = None,
    on_page: PageHook | None = None,
) -> dict[str, Any]:
    """Fetch ``request`` into ``out/<name>.parquet``; returns its manifest entry.

    Resumes a partial download of the same query left in ``out/.partial/<name>``.
    Raises :class:`~safetygap.fetch.arcgis.FetchError` when the server fails for
    good or answers inconsistently; the pages saved so far stay for a resume.
    """
    say = log or (lambda _line: None)
    if page_size < 1:
        raise FetchError(f"page size must be at least 1, got {page_size}")
    info = client.layer_info(request.layer)
    oid = info.get("objectIdField") or None
    server_max = info.get("maxRecordCount")
    size = min(page_size, int(server_max)) if isinstance(server_max, int) and server_max > 0 \
        else page_size
    query = {
        "url": client.query_url(request.layer),
        **client.page_params(where=request.where, offset=0, size=size, order_by=oid),
    }
    query.pop("resultOffset")
    started = _now()
    state, how = LayerState.open(out / PARTIAL_DIR / request.name, query, started)
    expected = client.count(request.layer, request.where)
    n_pages = max(1, math.ceil(expected / size))
    if how == "resumed":
        say(f"{request.name}: resuming, {len(state.pages)} of {n_pages} pages already here")
    elif how == "restarted":
        say(f"{request.name}: an earlier partial download was for another query; starting over")
    say(f"{request.name}: {expected:,} records from {request.layer} in pages of {size:,}")

    t0 = time.perf_counter()
    offset = 0
    got = sum(state.pages.values())
    fetched_now = 0
    while True:
        if offset in state.pages:
            n, more = state.pages[offset], state.more.get(offset, False)
        else:
            features, more = client.page(request.layer, where=request.where, offset=offset,
                                         size=size, order_by=oid)
            n = len(features)
            if n > size:
                raise FetchError(f"{request.name}: the server returned {n} records for a "
                                 f"page of {size} at offset {offset}")
            frame = features_frame(features)
            atomic_write(state.page_path(offset),
                         lambda p, f=frame: f.to_parquet(p, index=False))
            state.record(offset, n, more)
            got += n
            fetched_now += 1
            page_no = offset // size + 1
            say(f"  {request.name}: page {page_no}/{max(n_pages, page_no)} "
                f"({got:,}/{expected:,} records, {time.perf_counter() - t0:.1f} s)")
            if on_page is not None:
                on_page(request.name, offset, n)
        if n < size and offset + n < expected:
            raise FetchError(
                f"{request.name}: the server returned {n} of {size} records at offset "
                f"{offset} but counted {expected:,}: its page limit may be lower than "
                f"{size} (rerun with --page-size {max(n, 1)}), or the layer shrank while "
                "it was paged (rerun to resume)")
        if n < size or (offset + n >= expected and not more):
            break
        offset += size

    frame, duplicates = _assemble(state, oid)
    path = out / f"{request.name}.parquet"
    atomic_write(path, lambda p: frame.to_parquet(p, index=False))
    entry = {
        "file": path.name,
        "layer": request.layer,
        "url": query["url"],
        "query": {k: v for k, v in query.items() if k != "url"},
        "object_id_field": oid,
        "page_size": size,
        "pages": len(state.pages),
        "pages_fetched_this_run": fetched_now,
        "records": len(frame),
        "expected_records": expected,
        "duplicates_dropped": duplicates,
        "columns": [c for c in frame.columns if c != "geometry"],
        "crs": "EPSG:4326",
        "started": state.started,
        "fetched": _now(),
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }
    if len(frame) != expected:
        entry["warning"] = (f"{len(frame):,} records received but the server counted "
                            f"{expected:,}: the layer changed during the download")
        say(f"{request.name}: warning: {entry['warning']}")
    state.discard()
    say(f"{request.name}: {len(frame):,} records -> {path}")
    return entry


def _assemble(state: LayerState, oid: str | None) -> tuple[gpd.GeoDataFrame, int]:
    parts = [gpd.read_parquet(state.page_path(o)) for o in sorted(state.pages)]
    parts = [p for p in parts if len(p)] or parts[:1]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    duplicates = 0
    if oid and oid in frame.columns:
        dup = frame[oid].duplicated(keep="first")
        duplicates = int(dup.sum())
        frame = frame.loc[~dup.to_numpy()].reset_index(drop=True)
    return frame, duplicates
