"""The passes of the dask engine over a dataset of calls files, one file at a time: each
function here is a task a worker runs on files it reads itself (no dask imported here:
:mod:`safetygap.distributed` schedules them).

A stage of :func:`safetygap.pipeline.analyze` (``engine="dask"``). The streaming engine
(:mod:`safetygap.stages.stream`) reads every batch in order in one process; here the
files are read by several workers at once, so what a batch needs from the batches
before it is found first, in two cheap passes:

1. :func:`scan_file` (one task a file): the file's rows and malformed rows (so each
   file's first row number and first call position are known), the feeds' names of
   each batch (so the feed codes are the ones a single stream gives them), and each
   call id written to one of ``buckets`` files by its 64-bit hash
   (:func:`~safetygap.stages._seen_ids.id_hashes`): equal ids share a bucket.
2. :func:`bucket_repeats` (one task a bucket): the ids of a bucket from every file in
   the files' order, and which are repeats of an earlier row
   (:func:`~safetygap.stages.rows.repeated`: ``duplicated(keep="first") & notna()``,
   exact: the text is compared, not the hash). Equal ids are in the same bucket, so
   this is the repeat of every call over the whole dataset.

Then :func:`run_files` (one task per group of files) runs the streaming engine's batch
body (:class:`~safetygap.stages.stream.StreamTotals`) on its files with those repeats,
and the client merges the tasks' totals in the files' order
(:meth:`~safetygap.stages.stream.StreamTotals.merge`): the results equal the in-memory
engine's (tests/test_dask_engine.py). Every file of these passes is written under the
task's ``folder`` (the engine's staging folder, which every worker must see).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from safetygap.errors import Problems, option
from safetygap.inputs.malformed import MalformedRows
from safetygap.stages._seen_ids import id_hashes
from safetygap.stages.rows import repeated
from safetygap.stages.stream import BatchContext, StreamTotals, cut_batches
from safetygap.tables import calls as C

REPEAT_ROW = np.dtype([("file", "<i4"), ("pos", "<i8")])
"""A repeated call: its file and its position among the file's calls."""


@dataclass
class FileScan:
    """What :func:`scan_file` found in one file."""

    rows: int
    """Calls read (data rows not malformed)."""
    malformed: int
    """Malformed rows skipped (CSV)."""
    feeds: list[list[str]] = field(default_factory=list)
    """Each batch's feeds' names, in the order the batch codes them."""


@dataclass
class TaskTotals:
    """What :func:`run_files` gives back: the totals of its files and what reading
    them found (examples of faults, unmapped sources, malformed rows)."""

    totals: StreamTotals
    examples: dict[str, list[dict]]
    unmapped: dict[str, int]
    malformed: MalformedRows
    files: list[int]
    rows: list[int]
    """Calls of each file."""


def _fresh(reader: Any) -> Any:
    """The reader with nothing read yet (a worker may run several tasks on one copy)."""
    return dataclasses.replace(reader, malformed=MalformedRows())


def _ids_file(folder: Path, file: int, bucket: int) -> Path:
    return folder / f"ids-{file:06d}-{bucket:04d}.arrow"


def _repeats_file(folder: Path, bucket: int) -> Path:
    return folder / f"repeats-{bucket:04d}.npy"


def scan_file(ctx: BatchContext, reader: Any, file: int, *, folder: Path,
              buckets: int) -> FileScan:
    """Pass 1 over the file at position ``file`` of ``reader`` (see the module
    docstring); the ids go to ``buckets`` files in ``folder``. Raises a
    :class:`~safetygap.errors.ValidationError` when this process cannot see the file or
    the folder (a worker on another machine without them at the same paths)."""
    seen(reader.files[file], folder)
    reader = _fresh(reader)
    parts: list[list[pa.RecordBatch]] = [[] for _ in range(buckets)]
    scan = FileScan(0, 0)
    for part in cut_batches(reader.batches({}, {}, files=[file]), ctx):
        frame = part.frame
        scan.feeds.append(C.source_codes(frame.get(C.FEED), len(frame))[1])
        ids = pa.array(frame[C.CALL_ID].array)
        bucket = (id_hashes(ids) % np.uint64(buckets)).astype(np.int64)
        order = np.argsort(bucket, kind="stable")  # each bucket's rows, in file order
        counts = np.bincount(bucket, minlength=buckets)
        ends = np.cumsum(counts)
        for b in np.flatnonzero(counts):
            sel = order[ends[b] - counts[b]:ends[b]]
            pos = scan.rows + sel.astype(np.int64)
            parts[b].append(pa.record_batch(
                [pa.array(pos), ids.take(pa.array(sel)).cast(pa.large_string())],
                names=["pos", "id"]))
        scan.rows += len(frame)
    scan.malformed = len(reader.malformed)
    for b, batches in enumerate(parts):
        if batches:
            with pa.OSFile(str(_ids_file(folder, file, b)), "wb") as sink, \
                    pa.ipc.new_file(sink, batches[0].schema) as out:
                for batch in batches:
                    out.write_batch(batch)
    return scan


def seen(path: Path, folder: Path) -> None:
    """Refuse, naming what is missing, to work where ``path`` (a calls file) or
    ``folder`` (the staging folder) cannot be seen."""
    problems = Problems()
    if not Path(path).is_file():
        problems.add(f"calls {path}", "a dask worker cannot see this file",
                     allowed="calls files every worker sees at the same path")
    if not Path(folder).is_dir():
        problems.add(f"staging {folder}", "a dask worker cannot see this folder",
                     allowed=f"a {option('staging')} folder every worker and this "
                             "process see at the same path")
    problems.raise_if_any()


def bucket_repeats(bucket: int, *, folder: Path, files: int) -> int:
    """Pass 2: the repeated ids of one bucket over every file in order, written to
    ``folder`` (:data:`REPEAT_ROW`); returns how many. The ids' files are left in place
    (a task run again finds them; the engine removes the folder)."""
    where: list[np.ndarray] = []
    ids: list[pa.Array] = []
    for i in range(files):
        path = _ids_file(folder, i, bucket)
        if not path.exists():
            continue
        with pa.OSFile(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
        rows = np.empty(table.num_rows, dtype=REPEAT_ROW)
        rows["file"] = i
        rows["pos"] = table.column("pos").to_numpy()
        where.append(rows)
        ids.append(table.column("id").combine_chunks())
    found = (np.concatenate(where)[repeated(pd.Series(
        pa.chunked_array(ids, type=pa.large_string()).to_pandas(), dtype=object))]
        if where else np.zeros(0, dtype=REPEAT_ROW))
    np.save(_repeats_file(folder, bucket), found)
    return len(found)


def file_repeats(folder: Path, file: int, rows: int, *, buckets: int) -> np.ndarray:
    """Bool per call of the file: its id is a repeat of an earlier row's."""
    out = np.zeros(rows, dtype=bool)
    for b in range(buckets):
        found = np.load(_repeats_file(folder, b))
        out[found["pos"][found["file"] == file]] = True
    return out


def run_files(ctx: BatchContext, reader: Any, files: list[int], *, scans: list[FileScan],
              feeds: dict[str, int], origin: tuple[float, float], folder: Path,
              buckets: int) -> TaskTotals:
    """Pass 3: the streaming engine's batch body over ``files`` (positions, ascending and
    consecutive), the repeats and feed codes found by the passes before; the totals
    sealed for the client to merge."""
    reader = _fresh(reader)
    first = files[0]
    row0 = sum(s.rows + s.malformed for s in scans[:first])
    offset = sum(s.rows for s in scans[:first])
    task = folder / f"task-{first:06d}"
    task.mkdir(exist_ok=True)  # a task run again (its worker lost) starts over
    totals = StreamTotals(ctx, task, feeds=feeds, offset=offset, repeats_given=True,
                          origin=origin, ordered_later=True)
    examples: dict[str, list[dict]] = {}
    unmapped: dict[str, int] = {}
    rows = []
    for i in files:
        dup = file_repeats(folder, i, scans[i].rows, buckets=buckets)
        start = totals.rows
        for part in cut_batches(reader.batches(examples, unmapped, files=[i], row0=row0),
                                ctx):
            at = totals.rows - start
            totals.add(part, dup=dup[at:at + len(part.frame)])
        rows.append(totals.rows - start)
        if rows[-1] != scans[i].rows:
            raise RuntimeError(f"calls file {i}: {rows[-1]:,} calls read, {scans[i].rows:,} "
                               "when scanned: did the file change during the analysis?")
        row0 += scans[i].rows + scans[i].malformed
    return TaskTotals(totals.seal(), examples, unmapped, reader.malformed, files, rows)


def feed_codes(scans: list[FileScan]) -> dict[str, int]:
    """The feeds' codes a single stream over the files in order gives (first seen)."""
    feeds: dict[str, int] = {}
    for scan in scans:
        for names in scan.feeds:
            for name in names:
                feeds.setdefault(name, len(feeds))
    return feeds
