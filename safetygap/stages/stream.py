"""The streaming engine's calls stages: read, validate, classify, join, flag and allocate
the calls batch by batch (``AnalysisOptions(engine="stream")``).

Long file (about 500 lines): the batch loop and the running totals it carries from one
batch to the next (repeated ids, faults and their first examples, counts, clusters, the
need per demand point) belong together; each total's arithmetic lives in its owner module.

A stage of :func:`safetygap.pipeline.analyze`. The in-memory engine reads the whole calls
table (every text column of every call), then runs the row stages on it. Here every
batch of the reader (:meth:`safetygap.inputs.calls.CallsReader.batches`, cut into at
most ``batch_rows`` rows) goes through the very same row functions (the date window,
reprojection, :func:`~safetygap.stages.rows.call_features`,
:func:`~safetygap.stages.areas.coverage`, :func:`~safetygap.geo.join.assign_areas`,
:func:`~safetygap.stages.rows.flag_rows`,
:func:`~safetygap.stages.areas.boundary_allocations`), its rows of the workspace table
are written at once (:class:`safetygap.tables.calls.StreamWriter`), and only what the
later stages read is counted batch by batch: repeated call ids
(:class:`~safetygap.stages._seen_ids.SeenIds`, 64-bit hashes with an exact check), the
feeds' codes, fault counts and the first examples of each fault, the swapped-coordinates
count, the summary's and quality report's counts (:class:`~safetygap.stages.tally.CallTally`),
the counts by area under both boundary policies
(:class:`~safetygap.stages.areas.AllocationSums`, fractional shares in the calls' order),
the bootstrap's clusters (:class:`~safetygap.geo.bootstrap.ClusterCounts`), the covered
days, the wards' cover; each call's demand point, family and source (7 bytes) are spilled
to disk and summed into the need per demand point once the covered time is known
(:meth:`Streamed.need`).

The results are identical to the in-memory engine's (tests/test_stream_engine.py).
Memory grows with the calls only by the repeated-id hashes (8 bytes a distinct id); under
``split`` with a bootstrap, the places, days and allocation of every call are kept too
(:data:`FOR_SPLIT_BOOTSTRAP`), and with a street network the places
(:data:`FOR_NETWORK`).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
from pyproj import CRS
from scipy import sparse

from safetygap.diversion import Denominator
from safetygap.errors import Problems
from safetygap.geo.boundary import Allocation
from safetygap.geo.demand import DemandPoints
from safetygap.geo.join import assign_areas
from safetygap.geo.timespan import NO_DAY, Span, span_of_days
from safetygap.inputs.calls import CallsInput, open_calls, refuse_unmapped
from safetygap.inputs.date_window import DateWindow
from safetygap.inputs.files import PARQUET_BATCH_ROWS
from safetygap.inputs.times import undated_report
from safetygap.stages._seen_ids import SeenIds
from safetygap.stages.areas import Allocated, AllocationSums, boundary_allocations, coverage
from safetygap.stages.options import AnalysisInputs, AnalysisOptions
from safetygap.stages.places import to_crs_xy
from safetygap.stages.rows import (
    SwappedRows,
    call_features,
    flag_rows,
    join_counts,
    join_note_counts,
    swapped_rows,
    swapped_verdict,
)
from safetygap.stages.tally import CallTally
from safetygap.stages.uncertainty import add_clusters, cluster_counts
from safetygap.tables import calls as C
from safetygap.vocab import BOUNDARY_POLICIES, FAMILIES, BoundaryPolicy, RowStatus

DEFAULT_BATCH_ROWS = 500_000
"""Rows of a batch of the streaming engine (``AnalysisOptions.batch_rows``)."""

NEED_ROW = np.dtype([("point", "<i4"), ("family", "i1"), ("source", "<i2")])
"""What is spilled of every call (7 bytes): its demand point (-1 none), family and source
(code in the order first seen), from which the need at each demand point is summed once
the sources' covered time is known (:meth:`Streamed.need`)."""
FOR_SPLIT_BOOTSTRAP = (C.X, C.Y, C.DAY, C.FAMILY_CODE)
"""Kept too when the bootstrap runs under ``split`` (with the run's allocation)."""
FOR_NETWORK = (C.X, C.Y, C.STATUS)
"""Kept too with a street network (the distance of the placed calls to it)."""

FLAG_EXAMPLES = (RowStatus.DUPLICATE_ID.value, RowStatus.UNKNOWN_CALL_TYPE.value,
                 RowStatus.OUTSIDE_BOUNDARIES.value, "outside_neighborhoods", "outside_wards")
"""The kinds of examples :func:`~safetygap.stages.rows.flag_rows` adds, in its order."""


@dataclass
class Streamed:
    """What the streamed calls stages give the rest of the analysis."""

    calls: pd.DataFrame
    """The working columns kept of every call, in input order: none but under ``split``
    with a bootstrap (:data:`FOR_SPLIT_BOOTSTRAP`) or with a street network
    (:data:`FOR_NETWORK`)."""
    cin: CallsInput
    """The calls input as read (its ``frame`` is :attr:`calls`; no ``source_xy``)."""
    examples: dict[str, list[dict]]
    swapped: dict[str, Any]
    date_window: dict[str, Any]
    """The quality report's date-window entry (counts and the first examples)."""
    undated: dict[str, Any]
    window: DateWindow
    boundary: dict[str, dict[str, Any]]
    """Per level the counts of calls near the lines and the run's policy's allocation
    (for the bootstrap); the other policy's is None: its counts are in :attr:`counted`."""
    counted: dict[str, dict[str, Allocated]]
    """Per level and boundary policy the counts of the allocated calls, made batch by
    batch (:class:`~safetygap.stages.areas.AllocationSums`)."""
    years: tuple[int, ...]
    """The years of the calls in areas (dated, no repeated id), ascending."""
    tally: CallTally
    """What the summary and the quality report count, tallied batch by batch."""
    clusters: list[sparse.csr_matrix] | None
    """The bootstrap's cluster matrices of both levels, made batch by batch (``contain``
    with a bootstrap; else None and :attr:`boundary` holds the run's allocation)."""
    spans: list[Span]
    """Each source's covered time (the covered days counted batch by batch)."""
    ward_cover: tuple[int, np.ndarray]
    """Calls placed in a neighborhood, and per neighborhood those in no ward."""
    notes: dict[str, str]
    """Progress notes of the steps done here ("read", "join", "flags", "boundary")."""
    path: Path
    """The workspace calls table, written (:class:`safetygap.tables.calls.StreamWriter`);
    its folder is a temporary one the workspace writer moves it out of."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each part, over every batch."""

    need_files: list[Path] = field(default_factory=list)
    """Each batch's calls as :data:`NEED_ROW` (``.npy``), in input order."""
    feed_order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """For each feed code of :attr:`need_files` (order first seen), its source code."""

    def need(self, weights: np.ndarray, n_points: int) -> dict[str, np.ndarray]:
        """Per family, per demand point: the calls' weights (``weights`` per source code)
        summed in the calls' order, a batch at a time read back from disk: the
        need-based demand of :func:`~safetygap.stages.areas.point_supply`, to the last
        bit."""
        by_feed = weights[self.feed_order]
        out = {f: np.zeros(n_points) for f in FAMILIES}
        for path in self.need_files:
            rows = np.load(path)
            p, f, w = rows["point"], rows["family"], rows["source"]
            for i, family in enumerate(FAMILIES):
                sel = (f == i) & (p >= 0)
                np.add.at(out[family], p[sel], by_feed[w[sel]])
        return out


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def part(self, name: str, t0: float) -> float:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - t0
        return now


def stream_calls(
    inputs: AnalysisInputs, opts: AnalysisOptions, *, taxonomy: Any, rules: Any, crs: CRS,
    nbhd: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, providers: gpd.GeoDataFrame,
    travel: Any, points: DemandPoints, on_file: Callable[[str], None] | None = None,
) -> Streamed:
    """The calls stages of the analysis, batch by batch (see the module docstring);
    raises what the in-memory engine raises, in the same order (call sources the mapping
    does not name, no data rows, too many undated calls, swapped coordinates)."""
    reader = open_calls(inputs.calls, columns=opts.columns, encoding=opts.encoding,
                        max_malformed_share=opts.max_malformed_share,
                        parquet_rows=min(opts.batch_rows or DEFAULT_BATCH_ROWS,
                                         PARQUET_BATCH_ROWS))
    folder = Path(tempfile.mkdtemp(prefix="safetygap-stream-",
                                   dir=None if opts.staging is None else str(opts.staging)))
    try:
        return _stream(reader, folder, opts, taxonomy=taxonomy, rules=rules, crs=crs,
                       nbhd=nbhd, wards=wards, providers=providers, travel=travel,
                       points=points, on_file=on_file)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _stream(reader: Any, folder: Path, opts: AnalysisOptions, *, taxonomy: Any,
            rules: Any, crs: CRS, nbhd: gpd.GeoDataFrame, wards: gpd.GeoDataFrame,
            providers: gpd.GeoDataFrame, travel: Any, points: DemandPoints,
            on_file: Callable[[str], None] | None) -> Streamed:
    clock = _Clock()
    window = DateWindow.of(opts.date_from, opts.date_to, today=opts.as_of)
    denominator = (None if opts.diversion_denominator is None
                   else Denominator(opts.diversion_denominator))
    spill = folder / "spill"
    spill.mkdir()
    seen = SeenIds(spill)
    writer = C.StreamWriter(folder / C.FILE, crs.to_string(), spill)
    read_examples: dict[str, list[dict]] = {}
    unmapped: dict[str, int] = {}
    flagged: dict[str, list[dict]] = {}
    faults: dict[str, int] = {}
    swapped = SwappedRows()
    feeds: dict[str, int] = {}  # feed name -> its code in the order first seen
    kept: list[dict[str, Any]] = []
    alloc: dict[str, list[Allocation]] = {"neighborhood": [], "ward": []}  # the run's policy
    sums = {level: {pol: AllocationSums(len(areas), pol, _COUNTED_COLUMNS)
                    for pol in BOUNDARY_POLICIES}
            for level, areas in (("neighborhood", nbhd), ("ward", wards))}
    years: set[int] = set()
    tally = CallTally()
    # the bootstrap's cluster counts, batch by batch (whole calls: contain); under split
    # the run's allocation is kept (its shares are summed in scipy's order, see
    # ClusterCounts)
    clusters = (cluster_counts((len(nbhd), len(wards)), methods=opts.methods)
                if opts.boundary_policy == BoundaryPolicy.CONTAIN and opts.methods.bootstrap
                else None)
    counts = {"neighborhood": dict.fromkeys(("placed", "within", "shared"), 0),
              "ward": dict.fromkeys(("placed", "within", "shared"), 0)}
    joined = np.zeros(6, dtype=np.int64)  # rows.join_counts
    in_nbhd, no_ward = 0, np.zeros(len(nbhd), dtype=np.int64)  # the wards' cover
    days: dict[int, tuple[int, np.ndarray]] = {}  # feed code -> calls dated, their days
    kept_cols = tuple(dict.fromkeys((
        *(FOR_SPLIT_BOOTSTRAP if opts.methods.bootstrap and clusters is None else ()),
        *(FOR_NETWORK if travel.network is not None else ()))))
    need_files: list[Path] = []
    undated = 0
    outside: list[np.ndarray] = []  # the window codes of the rows outside it
    outside_first: list[tuple[Any, Any, Any]] = []  # (row, id, time) of the first five
    rows = kept_rows = 0
    starts: list[int] = []
    batch_rows = opts.batch_rows or DEFAULT_BATCH_ROWS
    t = time.perf_counter()
    for i, f in enumerate(reader.files):
        starts.append(rows)
        before = kept_rows
        for part in _cut(reader.batches(read_examples, unmapped, files=[i], row0=rows),
                         batch_rows):
            t = clock.part("read", t)
            calls = part.frame
            calls[C.DATE_OUTSIDE] = window.classify(calls[C.TIME])
            undated += int(calls[C.TIME].isna().sum())
            where = calls[C.DATE_OUTSIDE].to_numpy()
            out_idx = np.flatnonzero(where != 0)
            outside.append(where[out_idx])
            outside_first += [(calls[C.ROW].iat[i], calls[C.CALL_ID].iat[i],
                               calls[C.TIME].iat[i])
                              for i in out_idx[:max(0, 5 - len(outside_first))]]
            calls[C.X], calls[C.Y] = to_crs_xy(calls[C.X].to_numpy(), calls[C.Y].to_numpy(),
                                                 reader.crs, crs)
            calls = call_features(calls, taxonomy, rules, denominator=denominator,
                                  calls_from=opts.count_calls_from, repeats=False)
            codes = np.array([feeds.setdefault(name, len(feeds))
                              for name in calls.attrs["sources"]], dtype=np.int16)
            calls[C.SOURCE_CODE] = codes[calls[C.SOURCE_CODE].to_numpy()]
            t = clock.part("classify", t)
            calls[C.DUP] = seen.repeated(pa.array(calls[C.CALL_ID].array))
            t = clock.part("repeated ids", t)
            calls[C.COVERED] = coverage(calls, providers, travel, taxonomy)
            t = clock.part("coverage", t)
            xy = (calls[C.X].to_numpy(), calls[C.Y].to_numpy())
            n_idx = assign_areas(xy, nbhd, crs=crs)
            w_idx = assign_areas(xy, wards, crs=crs)
            joined += join_counts(n_idx, w_idx, calls[C.DUP].to_numpy())
            swapped.add(swapped_rows(part.source_xy, calls[C.COORD_FAULT].to_numpy(),
                                     calls[C.ROW].to_numpy(), n_idx, nbhd,
                                     src_crs=reader.crs, label=reader.coordinate_label))
            t = clock.part("join", t)
            calls, examples = flag_rows(calls, {}, n_idx, w_idx, source_xy=part.source_xy,
                                        coordinate_label=reader.coordinate_label)
            for kind, found in examples.items():
                have = flagged.setdefault(kind, [])
                have.extend(found[:5 - len(have)])
            for kind, n in calls.attrs["faults"].items():
                faults[kind] = faults.get(kind, 0) + n
            tally.add(calls)
            t = clock.part("flags", t)
            boundary = boundary_allocations(calls, nbhd, wards, crs, opts.boundary_tolerance_m)
            for level, entry in boundary.items():
                for key in counts[level]:
                    counts[level][key] += entry[key] or 0
                if clusters is None:
                    alloc[level].append(_narrow(entry[opts.boundary_policy], kept_rows))
            t = clock.part("boundary", t)
            if clusters is not None:
                add_clusters(clusters, calls, {lv: e[BoundaryPolicy.CONTAIN]
                                               for lv, e in boundary.items()})
                t = clock.part("clusters", t)
            for level, entry in boundary.items():
                for pol in BOUNDARY_POLICIES:
                    sums[level][pol].add(calls, entry[pol])
            placed = (calls[C.N_IDX].to_numpy() >= 0) | (calls[C.W_IDX].to_numpy() >= 0)
            years.update(int(y) for y in np.unique(calls[C.YEAR].to_numpy()[placed]) if y > 0)
            t = clock.part("counts", t)
            writer.write(C.build(calls, nbhd, wards, boundary))
            t = clock.part("write", t)
            in_nbhd, no_ward = _ward_cover(calls, in_nbhd, no_ward)
            _count_days(days, calls)
            need_files.append(folder / f"need-{len(need_files):06d}.npy")
            np.save(need_files[-1], _need_rows(calls, points))
            if kept_cols:
                kept.append(_kept(calls, kept_cols))
            kept_rows += len(calls)
            del calls, boundary, part, n_idx, w_idx, xy
            _release_freed()
            t = clock.part("keep", t)
        if on_file is not None and reader.source.partitioned:
            on_file(f"file {i + 1:,}/{len(reader.files):,} {reader.source.label(f)}: "
                    f"{kept_rows - before:,} rows "
                    f"({kept_rows:,} so far)")
        rows = kept_rows + len(reader.malformed)
    refuse_unmapped(reader.path, unmapped, opts.columns)
    if not kept_rows:
        problems = Problems()
        problems.add(f"calls {reader.path}", "no data rows: the file has a header but no "
                     "calls", allowed="a calls file with at least one row")
        problems.raise_if_any()
    calls = _concat(kept, kept_cols)
    names = sorted(feeds)  # the feeds' codes as the whole table's (sorted names)
    remap = np.array([names.index(n) for n in feeds], dtype=np.int16)
    calls.attrs["sources"] = names
    calls.attrs["faults"] = faults
    cin = CallsInput(reader.path, calls, reader.crs, reader.columns, {}, None,
                     reader.coordinate_label, reader.header, malformed=reader.malformed,
                     time_form=reader.time_form, source=reader.source, file_starts=starts)
    read_located = cin.locate(read_examples)
    cin.examples = read_located
    undated_found = np.zeros(kept_rows, dtype=bool)
    undated_found[:undated] = True  # the report counts them
    undated_entry = undated_report(
        undated_found, form=cin.time_form,
        examples=read_located.get(RowStatus.UNPARSEABLE_DATE, []),
        max_share=opts.undated_max_share, accept=opts.accept_undated,
        where=f"calls {cin.path}")
    window_entry = window.quality(
        np.concatenate(outside), np.array([r for r, _, _ in outside_first], dtype=np.int64),
        pd.Series([i for _, i, _ in outside_first], dtype=object),
        pd.Series([t for _, _, t in outside_first], dtype=object))
    del outside
    swapped_entry = swapped_verdict(swapped, where=f"calls {cin.path}",
                                    label=reader.coordinate_label)
    examples = {k: v for k, v in read_examples.items() if v}
    for kind in FLAG_EXAMPLES:
        if flagged.get(kind):
            examples[kind] = flagged[kind]
    examples = cin.locate(examples)
    matrices = None if clusters is None else clusters.matrices()
    clusters = None  # its runs let go before the calls table's last pass
    _release_freed()
    writer.close()
    t = clock.part("write", t)
    shutil.rmtree(spill, ignore_errors=True)
    spans = [span_of_days(*days.get(feeds[n], (0, np.zeros(0, dtype=np.int64)))[::-1],
                          source=n, gap_days=opts.methods.gap_days) for n in names]
    run_years = tuple(sorted(years))
    by_source = tuple(feeds[n] for n in names) if len(names) > 1 else None
    counted = {level: {pol: sums[level][pol].result(run_years, sources=by_source)
                       for pol in BOUNDARY_POLICIES} for level in sums}
    boundary = {level: {**counts[level], **{
        pol: _joined(alloc[level]) if pol == opts.boundary_policy and alloc[level] else None
        for pol in BOUNDARY_POLICIES}} for level in counts}
    flags = ", ".join(f"{k} {v:,}" for k, v in faults.items() if v)
    notes = {
        "read": f"{kept_rows:,} rows" + (
            f" from {len(reader.files):,} files" if reader.source.partitioned else "") + (
            f"; times {cin.time_form.describe()}" if cin.time_form else "") +
            f"; streamed in batches of at most {batch_rows:,} rows",
        "join": join_note_counts(joined),
        "flags": (f"{flags} (a call may have several flags)" if flags else "no faults"),
        "boundary": (f"{boundary['neighborhood']['shared']:,} calls within "
                     f"{opts.boundary_tolerance_m:g} m of a line between neighborhoods"),
    }
    return Streamed(calls, cin, examples, swapped_entry, window_entry, undated_entry, window,
                    boundary, counted, run_years, tally,
                    matrices, spans,
                    (in_nbhd, no_ward),
                    notes, folder / C.FILE, {k: round(v, 3) for k, v in clock.seconds.items()},
                    need_files, remap.astype(np.int64))


_COUNTED_COLUMNS = pd.DataFrame(columns=[C.DIVERSION_BASE, C.COVERABLE])
"""What tells :class:`AllocationSums` the streamed calls carry both columns
(:func:`~safetygap.stages.rows.call_features` adds them)."""


def _release_freed() -> None:
    """Hand the memory the batch freed back to the system (glibc's ``malloc_trim``):
    the batch's temporaries lie between the kept columns on the heap, and without this
    the process keeps them as its own (measured: about 2 GB more at 10 million calls).
    Nothing elsewhere."""
    pa.default_memory_pool().release_unused()  # Arrow's own pool (mimalloc) likewise
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> Any:
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()


def _cut(batches: Iterator[Any], n: int) -> Iterator[Any]:
    """The reader's batches cut into pieces of at most ``n`` rows."""
    for b in batches:
        if len(b.frame) <= n:
            yield b
            continue
        for a in range(0, len(b.frame), n):
            yield type(b)(b.frame.iloc[a:a + n].reset_index(drop=True),
                          (b.source_xy[0][a:a + n], b.source_xy[1][a:a + n]))


def _concat(parts: list[dict[str, Any]], cols: tuple[str, ...]) -> pd.DataFrame:
    """The batches' kept columns as one table, a column at a time (each batch's column
    freed once joined: the memory of the whole plus one column, not twice the whole)."""
    out: dict[str, Any] = {}
    for col in cols:
        pieces = [p.pop(col) for p in parts]
        if isinstance(pieces[0], np.ndarray):
            out[col] = np.concatenate(pieces)
        else:
            out[col] = pd.Categorical.from_codes(
                np.concatenate([c.codes for c in pieces]), dtype=pieces[0].dtype)
        del pieces
    return pd.DataFrame(out, copy=False)


def _kept(calls: pd.DataFrame, cols: tuple[str, ...]) -> dict[str, Any]:
    """The batch's kept columns ``cols``, each its own array (no view keeps a batch's
    block alive), as narrow as their values allow."""
    out: dict[str, Any] = {}
    for col in cols:
        values = calls[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            out[col] = values.array.copy()
        else:
            out[col] = np.array(values.to_numpy(), copy=True)
    return out


def _need_rows(calls: pd.DataFrame, points: DemandPoints) -> np.ndarray:
    """The batch's calls as :data:`NEED_ROW`: each one's demand point (located now),
    family and feed code."""
    rows = np.empty(len(calls), dtype=NEED_ROW)
    rows["point"] = points.locate(calls[C.X].to_numpy(), calls[C.Y].to_numpy(),
                                  calls[C.N_IDX].to_numpy(), calls[C.W_IDX].to_numpy())
    rows["family"] = calls[C.FAMILY_CODE].to_numpy()
    rows["source"] = calls[C.SOURCE_CODE].to_numpy()
    return rows


def _ward_cover(calls: pd.DataFrame, in_nbhd: int, no_ward: np.ndarray
                ) -> tuple[int, np.ndarray]:
    """The wards' cover counts with the batch's (calls in a neighborhood; per
    neighborhood those in no ward: :func:`~safetygap.stages.preflight.ward_coverage`)."""
    n_idx, w_idx = calls[C.N_IDX].to_numpy(), calls[C.W_IDX].to_numpy()
    in_n = n_idx >= 0
    missed = in_n & (w_idx < 0)
    return (in_nbhd + int(in_n.sum()),
            no_ward + np.bincount(n_idx[missed], minlength=len(no_ward)))


def _count_days(days: dict[int, tuple[int, np.ndarray]], calls: pd.DataFrame) -> None:
    """Add the batch's dated calls (no repeated id, inside the date window) to each
    feed's count and set of days (what :func:`~safetygap.geo.timespan.covered_spans`
    reads)."""
    no_day = calls[C.DUP].to_numpy() | calls[C.DATE_OUTSIDE].to_numpy(dtype=bool)
    day = np.where(no_day, NO_DAY, calls[C.DAY].to_numpy())
    src = calls[C.SOURCE_CODE].to_numpy()
    for code in np.unique(src):
        d = day[src == code]
        d = d[d != NO_DAY]
        n, have = days.get(int(code), (0, np.zeros(0, dtype=np.int64)))
        days[int(code)] = (n + len(d), np.union1d(have, d).astype(np.int64))


def _narrow(a: Allocation, offset: int) -> Allocation:
    """A batch's allocation kept narrow: call positions (global: ``offset`` added) and
    areas int32 (int64 past 2**31 calls), ``k`` int8, no weights under ``contain`` (all
    1). The counts and measures come out the same: they index, count and sum the same
    values in the same order."""
    wide = offset + len(a.k) >= 2**31
    call = (a.call + offset).astype(np.int64 if wide else np.int32)
    weight = a.weight if a.policy != BoundaryPolicy.CONTAIN else np.zeros(0)
    return Allocation(a.policy, call, a.area.astype(np.int32), weight, a.k.astype(np.int8))


def _joined(parts: list[Allocation]) -> Allocation:
    """One allocation of every call from the batches' narrow ones (:func:`_narrow`),
    joined a field at a time (each batch's field freed once joined); the weights of
    ``contain`` a read-only view of one 1.0."""
    policy = parts[0].policy
    joined = {}
    for name in ("call", "area", "k", "weight"):
        joined[name] = np.concatenate([getattr(p, name) for p in parts])
        parts[:] = [dataclasses.replace(p, **{name: None}) for p in parts]
    if policy == BoundaryPolicy.CONTAIN:
        joined["weight"] = np.broadcast_to(np.float64(1.0), (len(joined["call"]),))
    return Allocation(policy, joined["call"], joined["area"], joined["weight"], joined["k"])
