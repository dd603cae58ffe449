"""The dask engine: the join and the per-area counts on a dask.distributed cluster.

``safetygap analyze --engine dask`` uses this module in place of the in-memory
join. The calls' row features (known before the join: duplicate id, location
fault, counted as demand, year, family, diverted, eligible) and their
catchment coverage (computed before, it needs no area) and their point
locations in the analysis CRS are written as partitioned GeoParquet to a
staging folder; dask-geopandas reads it on the cluster, and each partition is
joined to the neighborhoods and wards with
:func:`safetygap.geo.join.assign_areas` (the same exact rule as the in-memory
engine; the boundary layers travel with the task graph and each worker builds
its grid index once), placed in each layer on its own
(:func:`safetygap._status.placed_masks`: a call outside every ward keeps its
neighborhood) and grouped by area, year, family and flags: the per-area counts of the
``contain`` boundary policy. Only the per-row area indices (16 bytes a call)
and the small grouped counts come back, so the results equal the in-memory
engine's exactly.

Needs the optional extra ``safetygap[dask]`` (dask[distributed] and
dask-geopandas). By default a :class:`distributed.LocalCluster` of 2 worker
processes with 1 thread each is started and stopped; give ``scheduler`` (an
address such as ``tcp://10.0.0.5:8786``) to use a running cluster, whose
workers must have safetygap installed and must see the staging folder.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safetygap._geoparquet import write_points
from safetygap._status import placed_masks
from safetygap.errors import ValidationError
from safetygap.geo.aggregate import AreaCounts, count_calls
from safetygap.tables import calls as C

ROWS_PER_PARTITION = 1_000_000
LOCAL_WORKERS = 2
GROUP_KEYS = (C.YEAR, C.FAMILY_CODE, C.DIVERTED, C.ELIGIBLE, C.COVERED, C.DIVERSION_BASE,
              C.COVERABLE, C.SOURCE_CODE)
_RESULT_META = pd.DataFrame({
    C.ROW: pd.Series([], dtype=np.int64),
    C.N_IDX: pd.Series([], dtype=np.int64),
    C.W_IDX: pd.Series([], dtype=np.int64),
    "n_placed": pd.Series([], dtype=np.int64),
    "w_placed": pd.Series([], dtype=np.int64),
    C.YEAR: pd.Series([], dtype=np.int32),
    C.FAMILY_CODE: pd.Series([], dtype=np.int8),
    C.DIVERTED: pd.Series([], dtype=bool),
    C.ELIGIBLE: pd.Series([], dtype=bool),
    C.COVERED: pd.Series([], dtype=bool),
    C.DIVERSION_BASE: pd.Series([], dtype=bool),
    C.COVERABLE: pd.Series([], dtype=bool),
    C.SOURCE_CODE: pd.Series([], dtype=np.int16),
})


@dataclass
class DaskJoin:
    """What the cluster computed: per-row area indices in input order, grouped counts."""

    n_idx: np.ndarray
    w_idx: np.ndarray
    groups: dict[str, pd.DataFrame]  # "n"/"w": placed area, GROUP_KEYS, size
    n_areas: dict[str, int]
    note: str
    n_sources: int = 1

    def counts(self, years: tuple[int, ...]) -> tuple[AreaCounts, AreaCounts]:
        """Neighborhood and ward count cubes for ``years`` (as the in-memory engine's)."""
        return self._counts("n", years), self._counts("w", years)

    def _counts(self, level: str, years: tuple[int, ...]) -> AreaCounts:
        g = self.groups[level]
        # each group is homogeneous in its flags: counting it with weight = its size
        # gives the same cube as counting its calls one by one
        c = count_calls(g["area"].to_numpy(), g[C.YEAR].to_numpy(), g[C.FAMILY_CODE].to_numpy(),
                        g[C.DIVERTED].to_numpy(), g[C.ELIGIBLE].to_numpy(),
                        g[C.COVERED].to_numpy(), n_areas=self.n_areas[level], years=years,
                        weight=g["size"].to_numpy(dtype=float),
                        base=g[C.DIVERSION_BASE].to_numpy(),
                        coverable=g[C.COVERABLE].to_numpy(),
                        source=g[C.SOURCE_CODE].to_numpy(), n_sources=self.n_sources)
        exact = {f.name: np.rint(getattr(c, f.name)).astype(np.int64)
                 for f in dataclasses.fields(c) if isinstance(getattr(c, f.name), np.ndarray)}
        return dataclasses.replace(c, **exact)


def _require_dask() -> None:
    try:
        import dask_geopandas  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ValidationError(
            f"engine: the dask engine needs the optional dependencies ({exc.name} is "
            "missing); install them with: pip install 'safetygap[dask]'") from exc


@contextmanager
def dask_client(scheduler: str | None = None) -> Iterator[object]:
    """A distributed Client: to ``scheduler``, or to a small LocalCluster started here."""
    _require_dask()
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ValidationError(f"scheduler: cannot connect to {scheduler}: {exc}") from exc
        with client:
            yield client
        return
    with LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


def write_partitions(calls: pd.DataFrame, folder: Path, *, crs: str, partitions: int) -> int:
    """The calls' row features and points as ``partitions`` GeoParquet files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({
        C.ROW: calls[C.ROW].to_numpy(np.int64),
        C.DUP: calls[C.DUP].to_numpy(bool),
        C.COORD_FAULT: calls[C.COORD_FAULT].to_numpy(np.int8),
        C.COUNTED: ((calls[C.COUNTED].to_numpy(bool) if C.COUNTED in calls
                     else np.ones(len(calls), dtype=bool))
                    & ~((calls[C.DATE_OUTSIDE].to_numpy() != 0) if C.DATE_OUTSIDE in calls
                        else np.zeros(len(calls), dtype=bool))),
        C.YEAR: calls[C.YEAR].to_numpy(np.int32),
        C.FAMILY_CODE: calls[C.FAMILY_CODE].to_numpy(np.int8),
        C.DIVERTED: calls[C.DIVERTED].to_numpy(bool),
        C.ELIGIBLE: calls[C.ELIGIBLE].to_numpy(bool),
        C.COVERED: calls[C.COVERED].to_numpy(bool),
        C.DIVERSION_BASE: calls[C.DIVERSION_BASE].to_numpy(bool),
        C.COVERABLE: calls[C.COVERABLE].to_numpy(bool),
        C.SOURCE_CODE: calls[C.SOURCE_CODE].to_numpy(np.int16),
    })
    x, y = calls[C.X].to_numpy(float), calls[C.Y].to_numpy(float)
    bounds = np.linspace(0, len(frame), partitions + 1).astype(int)
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        write_points(frame.iloc[a:b], x[a:b], y[a:b], crs, folder / f"part-{i:05d}.parquet")
    return partitions


def join_partition(
    part: gpd.GeoDataFrame,
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """Join one partition of calls: area indices and placed area indices (per row; each
    layer placed on its own, only calls counted as demand, as the in-memory engine)."""
    from safetygap.geo.join import assign_areas

    geom = part.geometry.values._data
    missing = shapely.is_missing(geom) | shapely.is_empty(geom)
    x = np.where(missing, np.nan, shapely.get_x(geom))
    y = np.where(missing, np.nan, shapely.get_y(geom))
    n_idx = assign_areas((x, y), nbhd, crs=nbhd.crs)
    w_idx = assign_areas((x, y), wards, crs=wards.crs)
    in_n, in_w = placed_masks(part[C.DUP].to_numpy(), part[C.COORD_FAULT].to_numpy(), n_idx,
                              w_idx, part[C.COUNTED].to_numpy(bool))
    return pd.DataFrame({
        C.ROW: part[C.ROW].to_numpy(np.int64),
        C.N_IDX: n_idx,
        C.W_IDX: w_idx,
        "n_placed": np.where(in_n, n_idx, -1),
        "w_placed": np.where(in_w, w_idx, -1),
        C.YEAR: part[C.YEAR].to_numpy(np.int32),
        C.FAMILY_CODE: part[C.FAMILY_CODE].to_numpy(np.int8),
        C.DIVERTED: part[C.DIVERTED].to_numpy(bool),
        C.ELIGIBLE: part[C.ELIGIBLE].to_numpy(bool),
        C.COVERED: part[C.COVERED].to_numpy(bool),
        C.DIVERSION_BASE: part[C.DIVERSION_BASE].to_numpy(bool),
        C.COVERABLE: part[C.COVERABLE].to_numpy(bool),
        C.SOURCE_CODE: part[C.SOURCE_CODE].to_numpy(np.int16),
    })


def join_and_count(
    calls: pd.DataFrame,
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    *,
    crs: str,
    scheduler: str | None = None,
    staging: Path | None = None,
    partitions: int | None = None,
) -> DaskJoin:
    """Run the join and the grouped per-area counts of ``calls`` on a dask cluster.

    ``calls`` carries ``x``/``y`` in ``crs`` (the boundary layers' projected
    CRS, metres), the row features of the pipeline and ``covered``; ``staging`` is the
    parent of the partitioned GeoParquet (a temporary folder by default;
    removed afterwards either way); ``partitions`` defaults to one per
    million calls, at least 2.
    """
    _require_dask()
    import dask_geopandas

    n = len(calls)
    parts = partitions or max(2, -(-n // ROWS_PER_PARTITION))
    parts = max(1, min(parts, max(n, 1)))
    if staging is not None:
        Path(staging).mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="safetygap-dask-", dir=staging))
    try:
        folder = root / f"calls-{uuid.uuid4().hex[:8]}"
        write_partitions(calls, folder, crs=crs, partitions=parts)
        with dask_client(scheduler) as client:
            ddf = dask_geopandas.read_parquet(str(folder))
            res = ddf.map_partitions(join_partition, nbhd, wards, meta=_RESULT_META)
            res = client.persist(res)
            rows = res[[C.ROW, C.N_IDX, C.W_IDX]]
            groups = {
                level: res[res[f"{level}_placed"] >= 0]
                .groupby([f"{level}_placed", *GROUP_KEYS]).size()
                for level in ("n", "w")
            }
            rows, g_n, g_w = client.compute([rows, groups["n"], groups["w"]], sync=True)
            workers = len(client.scheduler_info()["workers"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    order = np.argsort(rows[C.ROW].to_numpy(), kind="stable")
    rows = rows.iloc[order]
    if not np.array_equal(rows[C.ROW].to_numpy(), calls[C.ROW].to_numpy()):
        raise RuntimeError("dask engine: rows came back incomplete or duplicated")

    def tidy(g: pd.Series, level: str) -> pd.DataFrame:
        return g.rename("size").reset_index().rename(columns={f"{level}_placed": "area"})

    return DaskJoin(
        n_idx=rows[C.N_IDX].to_numpy(np.int64),
        w_idx=rows[C.W_IDX].to_numpy(np.int64),
        groups={"n": tidy(g_n, "n"), "w": tidy(g_w, "w")},
        n_areas={"n": len(nbhd), "w": len(wards)},
        note=f"{parts} partitions on {workers} dask workers",
        n_sources=int(calls[C.SOURCE_CODE].max()) + 1 if len(calls) else 1,
    )
