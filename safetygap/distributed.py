"""The dask engine: the calls read, checked, classified, joined and counted by the workers
of a dask.distributed cluster, each reading its own files of the calls dataset.

``safetygap analyze --engine dask`` with a dataset of calls files (a directory or a glob:
:mod:`safetygap.inputs.sources`). The client opens the dataset (every file's header
checked, the time form found on the first batch) and schedules three passes of
:mod:`safetygap.stages.partitions` on the workers: each file scanned (rows, feeds, call
ids to hash buckets), each bucket's repeated ids found over the whole dataset, then the
streaming engine's batch body run on each group of files. Only totals come back (counts
by area, the tally of the reports, the bootstrap's clusters, faults and their first
examples: :class:`~safetygap.stages.stream.StreamTotals`); the client merges them in the
files' order, so the results equal the in-memory engine's. What stays per call lives in
the staging folder, which the client and every worker must see: the workspace calls
table's pieces (copied into one file at the end), 7 bytes a call for the need per demand
point, and the ``split`` policy's shares (added in the calls' order when merged).

A single calls file is one task. Needs the optional extra ``safetygap[dask]``
(dask[distributed]). By default a :class:`distributed.LocalCluster` of 2 worker
processes with 1 thread each is started and stopped; give ``scheduler`` (an address such
as ``tcp://10.0.0.5:8786``) to use a running cluster, whose workers must have safetygap
installed and see the calls files and the staging folder at the same paths.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
from pyproj import CRS

from safetygap.errors import ValidationError
from safetygap.geo.demand import DemandPoints
from safetygap.inputs.calls import open_calls
from safetygap.inputs.files import PARQUET_BATCH_ROWS
from safetygap.inputs.malformed import MalformedRows
from safetygap.stages import partitions as P
from safetygap.stages.options import AnalysisInputs, AnalysisOptions
from safetygap.stages.stream import (
    DEFAULT_BATCH_ROWS,
    BatchContext,
    Clock,
    Streamed,
    StreamTotals,
    add_examples,
    finish,
)

LOCAL_WORKERS = 2
MAX_BUCKETS = 64
"""Most hash buckets the call ids are sorted into to find the repeats (one task each)."""


def _require_dask() -> None:
    try:
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




def dask_stream_calls(
    inputs: AnalysisInputs, opts: AnalysisOptions, *, taxonomy: Any, rules: Any, crs: CRS,
    nbhd: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, providers: gpd.GeoDataFrame,
    travel: Any, points: DemandPoints, on_file: Callable[[str], None] | None = None,
) -> Streamed:
    """The calls stages of the analysis on a dask cluster (see the module docstring):
    what :func:`safetygap.stages.stream.stream_calls` gives, the same to the last bit,
    with the files read by the workers; raises what it raises."""
    reader = open_calls(inputs.calls, columns=opts.columns, encoding=opts.encoding,
                        max_malformed_share=opts.max_malformed_share,
                        parquet_rows=min(opts.batch_rows or DEFAULT_BATCH_ROWS,
                                         PARQUET_BATCH_ROWS))
    _detect_time_form(reader)
    if opts.staging is not None:
        Path(opts.staging).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="safetygap-dask-",
                                   dir=None if opts.staging is None else str(opts.staging)))
    try:
        ctx = BatchContext(opts, taxonomy, rules, crs, nbhd, wards, providers, travel,
                           points, reader.crs, reader.coordinate_label)
        return _run(ctx, reader, folder, on_file)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _run(ctx: BatchContext, reader: Any, folder: Path,
         on_file: Callable[[str], None] | None) -> Streamed:
    opts = ctx.opts
    clock = Clock()
    t = time.perf_counter()
    n = len(reader.files)
    buckets = max(1, min(MAX_BUCKETS, 2 * n))
    groups = _groups(n, opts.partitions or n)
    minx, miny = ctx.nbhd.total_bounds[:2]
    origin = (float(minx), float(miny))
    with dask_client(opts.scheduler) as client:
        t = clock.part("dask: cluster", t)
        ctx_f, reader_f = client.scatter([ctx, reader], broadcast=True)
        scans = client.gather(client.map(
            P.scan_file, [ctx_f] * n, [reader_f] * n, list(range(n)),
            folder=folder, buckets=buckets, pure=False))
        feeds = P.feed_codes(scans)
        t = clock.part("dask: scan", t)
        tell = on_file or (lambda line: None)
        tell(f"{n:,} files scanned by the workers: {sum(s.rows for s in scans):,} calls")
        repeats = client.gather(client.map(P.bucket_repeats, list(range(buckets)),
                                           folder=folder, files=n, pure=False))
        t = clock.part("dask: repeated ids", t)
        tell(f"{sum(repeats):,} repeated call ids found over the {n:,} files")
        tasks = [client.submit(P.run_files, ctx_f, reader_f, group, scans=scans,
                               feeds=feeds, origin=origin, folder=folder, buckets=buckets,
                               pure=False) for group in groups]
        workers = len(client.scheduler_info()["workers"])
        totals = StreamTotals(ctx, folder, feeds=feeds, repeats_given=True, origin=origin)
        examples: dict[str, list[dict]] = {}
        unmapped: dict[str, int] = {}
        malformed = MalformedRows()
        starts: list[int] = []
        row0 = 0
        for task in tasks:  # merged in the files' order, each as soon as it is there
            done = task.result()
            task.release()
            t = clock.part("dask: waiting for tasks", t)
            totals.merge(done.totals)
            t = clock.part("dask: merging", t)
            add_examples(examples, done.examples)
            for name, k in done.unmapped.items():
                unmapped[name] = unmapped.get(name, 0) + k
            malformed.merge(done.malformed)
            for i, rows in zip(done.files, done.rows, strict=True):
                starts.append(row0)
                row0 += scans[i].rows + scans[i].malformed
                if on_file is not None and reader.source.partitioned:
                    on_file(f"file {i + 1:,}/{n:,} {reader.source.label(reader.files[i])}: "
                            f"{rows:,} rows ({totals.rows:,} so far)")
        t = clock.part("dask: merging", t)
    clock.part("dask: cluster", t)
    reader.malformed = malformed
    t = time.perf_counter()
    streamed = finish(totals, reader, examples, unmapped, starts)
    clock.part("dask: finishing", t)
    streamed.timings.update({k: round(v, 3) for k, v in clock.seconds.items()})
    streamed.notes["read"] += (
        f"; {n:,} files in {len(groups):,} tasks on {workers:,} dask workers" if n > 1 else
        f"; one file, so one task on one of {workers:,} dask workers (cut the calls into "
        "files to spread them over the workers)")
    return streamed


def _groups(n: int, tasks: int) -> list[list[int]]:
    """Files 0..n-1 in ``tasks`` groups of consecutive files (as even as can be)."""
    tasks = max(1, min(tasks, n))
    bounds = [round(k * n / tasks) for k in range(tasks + 1)]
    return [list(range(a, b)) for a, b in itertools.pairwise(bounds) if b > a]


def _detect_time_form(reader: Any) -> None:
    """The times' form found on the dataset's first batch, as a single stream finds it,
    before the workers read any file (each then uses it)."""
    if reader.time_form is not None or not reader.columns.time_label:
        return
    for i in range(len(reader.files)):
        batches = reader.batches({}, {}, files=[i])
        try:
            if next(batches, None) is not None:
                break
        finally:
            batches.close()
    reader.malformed = MalformedRows()
