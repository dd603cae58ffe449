"""The streaming engine's calls stages: read, validate, classify, join, flag and allocate
the calls batch by batch (``AnalysisOptions(engine="stream")``).

Long file (about 680 lines): the batch loop and the running totals it carries from one
batch to the next (repeated ids, faults and their first examples, counts, clusters, the
need per demand point; merged for the dask engine's tasks) belong together; each
total's arithmetic lives in its owner module.

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
from safetygap.inputs.calls import MAX_EXAMPLES, CallsInput, open_calls, refuse_unmapped
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


class Clock:
    """Seconds spent in named parts, added up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def part(self, name: str, t0: float) -> float:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - t0
        return now


@dataclass
class BatchContext:
    """What every batch of calls needs besides itself: the run's options and layers
    (picklable: the dask engine sends it to its workers)."""

    opts: AnalysisOptions
    taxonomy: Any
    rules: Any
    crs: CRS
    nbhd: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    providers: gpd.GeoDataFrame
    travel: Any
    points: DemandPoints
    src_crs: str
    """The CRS of the calls' coordinates as read."""
    coordinate_label: str

    @property
    def window(self) -> DateWindow:
        return DateWindow.of(self.opts.date_from, self.opts.date_to, today=self.opts.as_of)

    @property
    def denominator(self) -> Denominator | None:
        d = self.opts.diversion_denominator
        return None if d is None else Denominator(d)

    @property
    def kept_columns(self) -> tuple[str, ...]:
        """The working columns kept of every call (:attr:`Streamed.calls`)."""
        opts = self.opts
        split_bootstrap = (opts.methods.bootstrap
                           and opts.boundary_policy != BoundaryPolicy.CONTAIN)
        return tuple(dict.fromkeys((
            *(FOR_SPLIT_BOOTSTRAP if split_bootstrap else ()),
            *(FOR_NETWORK if self.travel.network is not None else ()))))


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
        ctx = BatchContext(opts, taxonomy, rules, crs, nbhd, wards, providers, travel,
                           points, reader.crs, reader.coordinate_label)
        totals = StreamTotals(ctx, folder)
        read_examples: dict[str, list[dict]] = {}
        unmapped: dict[str, int] = {}
        rows = 0
        starts: list[int] = []
        for i, f in enumerate(reader.files):
            starts.append(rows)
            before = totals.rows
            for part in cut_batches(reader.batches(read_examples, unmapped, files=[i],
                                                   row0=rows), ctx):
                totals.add(part)
            if on_file is not None and reader.source.partitioned:
                on_file(f"file {i + 1:,}/{len(reader.files):,} {reader.source.label(f)}: "
                        f"{totals.rows - before:,} rows ({totals.rows:,} so far)")
            rows = totals.rows + len(reader.malformed)
        return finish(totals, reader, read_examples, unmapped, starts)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def cut_batches(batches: Iterator[Any], ctx: BatchContext) -> Iterator[Any]:
    """The reader's batches cut to the run's batch size (:data:`DEFAULT_BATCH_ROWS`)."""
    return _cut(batches, ctx.opts.batch_rows or DEFAULT_BATCH_ROWS)


class StreamTotals:
    """The running totals of a stream of batches (:meth:`add` each in input order): what
    the later stages read, instead of the calls. ``folder`` holds the spills (removed by
    the caller). The dask engine runs one per task, over its files, with the repeated ids
    found beforehand (``repeats_given``), the feeds' codes fixed (``feeds``), the calls'
    positions starting at ``offset``, the clusters anchored at ``origin`` and the
    ``split`` counts kept as spills (their fractional shares must be added in the calls'
    order), and :meth:`merge` s them in file order."""

    def __init__(self, ctx: BatchContext, folder: Path, *, feeds: dict[str, int] | None = None,
                 offset: int = 0, repeats_given: bool = False,
                 origin: tuple[float, float] | None = None, ordered_later: bool = False
                 ) -> None:
        opts = self.opts = ctx.opts
        self.ctx = ctx
        self.folder = folder
        spill = folder / "spill"
        spill.mkdir(exist_ok=True)
        self.seen = None if repeats_given else SeenIds(spill)
        self.writer = C.StreamWriter(folder / C.FILE, ctx.crs.to_string(), spill)
        self.offset = offset
        self.rows = offset  # calls added so far, from the first of the run
        self.flagged: dict[str, list[dict]] = {}
        self.faults: dict[str, int] = {}
        self.swapped = SwappedRows()
        self.feeds: dict[str, int] = dict(feeds or {})  # feed name -> code (first seen)
        self.kept: list[dict[str, Any]] = []
        self.alloc: dict[str, list[Allocation]] = {"neighborhood": [], "ward": []}
        self.ordered_later = ordered_later
        self.sums = {level: {pol: AllocationSums(len(areas), pol, _COUNTED_COLUMNS)
                             for pol in BOUNDARY_POLICIES
                             if not (ordered_later and pol != BoundaryPolicy.CONTAIN)}
                     for level, areas in (("neighborhood", ctx.nbhd), ("ward", ctx.wards))}
        self.later: list[Path] = []  # the split counts' spills (ordered_later)
        self.years: set[int] = set()
        self.tally = CallTally()
        # the bootstrap's cluster counts, batch by batch (whole calls: contain); under
        # split the run's allocation is kept (its shares are summed in scipy's order, see
        # ClusterCounts)
        self.clusters = (
            cluster_counts((len(ctx.nbhd), len(ctx.wards)), methods=opts.methods,
                           origin=origin)
            if opts.boundary_policy == BoundaryPolicy.CONTAIN and opts.methods.bootstrap
            else None)
        self.counts = {"neighborhood": dict.fromkeys(("placed", "within", "shared"), 0),
                       "ward": dict.fromkeys(("placed", "within", "shared"), 0)}
        self.joined = np.zeros(6, dtype=np.int64)  # rows.join_counts
        self.in_nbhd, self.no_ward = 0, np.zeros(len(ctx.nbhd), dtype=np.int64)
        self.days: dict[int, tuple[int, np.ndarray]] = {}  # feed -> calls dated, days
        self.kept_cols = ctx.kept_columns
        self.need_files: list[Path] = []
        self.undated = 0
        self.outside: list[np.ndarray] = []  # the window codes of the rows outside it
        self.outside_first: list[tuple[Any, Any, Any]] = []  # (row, id, time), first 5
        self.clock = Clock()
        self._window = ctx.window
        self._denominator = ctx.denominator
        self._t = time.perf_counter()  # the end of the last batch (reading: till the next)

    def add(self, part: Any, *, dup: np.ndarray | None = None) -> None:
        """Add a batch of the reader (``dup``: its repeated ids, when found beforehand)."""
        ctx, opts, clock = self.ctx, self.opts, self.clock
        nbhd, wards, crs = ctx.nbhd, ctx.wards, ctx.crs
        t = clock.part("read", self._t)
        calls = part.frame
        calls[C.DATE_OUTSIDE] = self._window.classify(calls[C.TIME])
        self.undated += int(calls[C.TIME].isna().sum())
        where = calls[C.DATE_OUTSIDE].to_numpy()
        out_idx = np.flatnonzero(where != 0)
        self.outside.append(where[out_idx])
        self.outside_first += [(calls[C.ROW].iat[i], calls[C.CALL_ID].iat[i],
                                calls[C.TIME].iat[i])
                               for i in out_idx[:max(0, 5 - len(self.outside_first))]]
        calls[C.X], calls[C.Y] = to_crs_xy(calls[C.X].to_numpy(), calls[C.Y].to_numpy(),
                                             ctx.src_crs, crs)
        calls = call_features(calls, ctx.taxonomy, ctx.rules, denominator=self._denominator,
                              calls_from=opts.count_calls_from, repeats=False)
        codes = np.array([self.feeds.setdefault(name, len(self.feeds))
                          for name in calls.attrs["sources"]], dtype=np.int16)
        calls[C.SOURCE_CODE] = codes[calls[C.SOURCE_CODE].to_numpy()]
        t = clock.part("classify", t)
        if dup is None:
            assert self.seen is not None, "repeated ids: neither found before nor seen"
            dup = self.seen.repeated(pa.array(calls[C.CALL_ID].array))
        calls[C.DUP] = dup
        t = clock.part("repeated ids", t)
        calls[C.COVERED] = coverage(calls, ctx.providers, ctx.travel, ctx.taxonomy)
        t = clock.part("coverage", t)
        xy = (calls[C.X].to_numpy(), calls[C.Y].to_numpy())
        n_idx = assign_areas(xy, nbhd, crs=crs)
        w_idx = assign_areas(xy, wards, crs=crs)
        self.joined += join_counts(n_idx, w_idx, calls[C.DUP].to_numpy())
        self.swapped.add(swapped_rows(part.source_xy, calls[C.COORD_FAULT].to_numpy(),
                                      calls[C.ROW].to_numpy(), n_idx, nbhd,
                                      src_crs=ctx.src_crs, label=ctx.coordinate_label))
        t = clock.part("join", t)
        calls, examples = flag_rows(calls, {}, n_idx, w_idx, source_xy=part.source_xy,
                                    coordinate_label=ctx.coordinate_label)
        add_examples(self.flagged, examples)
        for kind, n in calls.attrs["faults"].items():
            self.faults[kind] = self.faults.get(kind, 0) + n
        self.tally.add(calls)
        t = clock.part("flags", t)
        boundary = boundary_allocations(calls, nbhd, wards, crs, opts.boundary_tolerance_m)
        for level, entry in boundary.items():
            for key in self.counts[level]:
                self.counts[level][key] += entry[key] or 0
            if self.clusters is None:
                self.alloc[level].append(_narrow(entry[opts.boundary_policy], self.rows))
        t = clock.part("boundary", t)
        if self.clusters is not None:
            add_clusters(self.clusters, calls, {lv: e[BoundaryPolicy.CONTAIN]
                                                for lv, e in boundary.items()})
            t = clock.part("clusters", t)
        for level, entry in boundary.items():
            for pol in BOUNDARY_POLICIES:
                if pol in self.sums[level]:
                    self.sums[level][pol].add(calls, entry[pol])
        if self.ordered_later:  # the split shares, added in order by merge
            self.later.append(self.folder / f"split-{len(self.later):06d}.pkl")
            pd.to_pickle(({lv: e[BoundaryPolicy.SPLIT] for lv, e in boundary.items()},
                          calls[[c for c in _SUMMED if c in calls]].copy()), self.later[-1])
        placed = (calls[C.N_IDX].to_numpy() >= 0) | (calls[C.W_IDX].to_numpy() >= 0)
        self.years.update(int(y) for y in np.unique(calls[C.YEAR].to_numpy()[placed]) if y > 0)
        t = clock.part("counts", t)
        self.writer.write(C.build(calls, nbhd, wards, boundary))
        t = clock.part("write", t)
        self.in_nbhd, self.no_ward = _ward_cover(calls, self.in_nbhd, self.no_ward)
        _count_days(self.days, calls)
        self.need_files.append(self.folder / f"need-{len(self.need_files):06d}.npy")
        np.save(self.need_files[-1], _need_rows(calls, ctx.points))
        if self.kept_cols:
            self.kept.append(_kept(calls, self.kept_cols))
        self.rows += len(calls)
        del calls, boundary, part, n_idx, w_idx, xy
        _release_freed()
        self._t = clock.part("keep", t)

    def __getstate__(self) -> dict[str, Any]:
        """Sent without the batches' context (the layers, the demand points ...): the
        process that merges has its own."""
        state = dict(self.__dict__)
        state["ctx"] = None
        return state

    def seal(self) -> StreamTotals:
        """Ready to be sent to another process (the dask engine's task result): the
        calls' spill closed, no open file left."""
        self.writer.seal()
        self.seen = None
        return self

    def merge(self, other: StreamTotals) -> StreamTotals:
        """Add the totals of the batches that come right after these (``other``, sealed):
        the same totals as one stream over both (the ``split`` shares of ``other`` are
        added now, in order)."""
        if other.offset != self.rows:
            raise ValueError(f"totals of calls {other.offset:,}.. do not follow calls "
                             f"..{self.rows:,}")
        if other.feeds != self.feeds:
            raise ValueError("the totals were made with different feed codes")
        t = time.perf_counter()  # the merge's own parts timed ("merge: ...")
        self.writer.merge(other.writer)
        self.rows = other.rows
        add_examples(self.flagged, other.flagged)
        for kind, n in other.faults.items():
            self.faults[kind] = self.faults.get(kind, 0) + n
        self.swapped.add(other.swapped)
        self.kept += other.kept
        for level in self.alloc:
            self.alloc[level] += other.alloc[level]
        for level, by_pol in self.sums.items():
            for pol, sums in by_pol.items():
                if pol in other.sums[level]:
                    sums.merge(other.sums[level][pol])
        t = self.clock.part("merge: counts", t)
        for path in other.later:  # the split shares in the calls' order
            split, calls = pd.read_pickle(path)
            for level, alloc in split.items():
                self.sums[level][BoundaryPolicy.SPLIT].add(calls, alloc)
            path.unlink()
        t = self.clock.part("merge: split shares", t)
        self.years |= other.years
        self.tally.merge(other.tally)
        t = self.clock.part("merge: tally", t)
        if self.clusters is not None and other.clusters is not None:
            self.clusters.merge(other.clusters)
        t = self.clock.part("merge: clusters", t)
        for level, counts in self.counts.items():
            for key in counts:
                counts[key] += other.counts[level][key]
        self.joined += other.joined
        self.in_nbhd += other.in_nbhd
        self.no_ward += other.no_ward
        for code, (n, have) in other.days.items():
            m, mine = self.days.get(code, (0, np.zeros(0, dtype=np.int64)))
            self.days[code] = (m + n, np.union1d(mine, have).astype(np.int64))
        self.need_files += other.need_files
        self.undated += other.undated
        self.outside += other.outside
        self.outside_first += other.outside_first[:max(0, 5 - len(self.outside_first))]
        self.clock.part("merge: counts", t)
        for name, s in other.clock.seconds.items():
            self.clock.seconds[name] = self.clock.seconds.get(name, 0.0) + s
        return self


def add_examples(into: dict[str, list[dict]], found: dict[str, list[dict]]) -> None:
    """Each kind's examples ``found`` after those ``into`` has, up to the first
    :data:`~safetygap.inputs.calls.MAX_EXAMPLES` of the kind."""
    for kind, rows in found.items():
        have = into.setdefault(kind, [])
        have.extend(rows[:MAX_EXAMPLES - len(have)])


_SUMMED = (C.YEAR, C.FAMILY_CODE, C.DIVERTED, C.ELIGIBLE, C.COVERED, C.DIVERSION_BASE,
           C.COVERABLE, C.SOURCE_CODE)
"""The columns :class:`AllocationSums` reads of the calls (kept for the ``split``
counts a dask task leaves to :meth:`StreamTotals.merge`)."""


def finish(totals: StreamTotals, reader: Any, read_examples: dict[str, list[dict]],
           unmapped: dict[str, int], starts: list[int]) -> Streamed:
    """What the stages after the calls read, from the totals of every batch (``reader``
    the calls as opened, its malformed rows complete; ``read_examples``/``unmapped``
    what reading found; ``starts`` the first row of each file)."""
    opts, clock = totals.opts, totals.clock
    t = time.perf_counter()
    refuse_unmapped(reader.path, unmapped, opts.columns)
    kept_rows = totals.rows
    if not kept_rows:
        problems = Problems()
        problems.add(f"calls {reader.path}", "no data rows: the file has a header but no "
                     "calls", allowed="a calls file with at least one row")
        problems.raise_if_any()
    calls = _concat(totals.kept, totals.kept_cols)
    feeds = totals.feeds
    names = sorted(feeds)  # the feeds' codes as the whole table's (sorted names)
    remap = np.array([names.index(n) for n in feeds], dtype=np.int16)
    calls.attrs["sources"] = names
    calls.attrs["faults"] = totals.faults
    cin = CallsInput(reader.path, calls, reader.crs, reader.columns, {}, None,
                     reader.coordinate_label, reader.header, malformed=reader.malformed,
                     time_form=reader.time_form, source=reader.source, file_starts=starts)
    read_located = cin.locate(read_examples)
    cin.examples = read_located
    undated_found = np.zeros(kept_rows, dtype=bool)
    undated_found[:totals.undated] = True  # the report counts them
    undated_entry = undated_report(
        undated_found, form=cin.time_form,
        examples=read_located.get(RowStatus.UNPARSEABLE_DATE, []),
        max_share=opts.undated_max_share, accept=opts.accept_undated,
        where=f"calls {cin.path}")
    first = totals.outside_first
    window_entry = totals._window.quality(
        np.concatenate(totals.outside), np.array([r for r, _, _ in first], dtype=np.int64),
        pd.Series([i for _, i, _ in first], dtype=object),
        pd.Series([t for _, _, t in first], dtype=object))
    totals.outside = []
    swapped_entry = swapped_verdict(totals.swapped, where=f"calls {cin.path}",
                                    label=reader.coordinate_label)
    examples = {k: v for k, v in read_examples.items() if v}
    for kind in FLAG_EXAMPLES:
        if totals.flagged.get(kind):
            examples[kind] = totals.flagged[kind]
    examples = cin.locate(examples)
    matrices = None if totals.clusters is None else totals.clusters.matrices()
    totals.clusters = None  # its runs let go before the calls table's last pass
    _release_freed()
    totals.writer.close()
    t = clock.part("write", t)
    shutil.rmtree(totals.folder / "spill", ignore_errors=True)
    spans = [span_of_days(*totals.days.get(feeds[n], (0, np.zeros(0, dtype=np.int64)))[::-1],
                          source=n, gap_days=opts.methods.gap_days) for n in names]
    run_years = tuple(sorted(totals.years))
    by_source = tuple(feeds[n] for n in names) if len(names) > 1 else None
    counted = {level: {pol: sums.result(run_years, sources=by_source)
                       for pol, sums in by_pol.items()}
               for level, by_pol in totals.sums.items()}
    alloc = totals.alloc
    boundary = {level: {**counts, **{
        pol: _joined(alloc[level]) if pol == opts.boundary_policy and alloc[level] else None
        for pol in BOUNDARY_POLICIES}} for level, counts in totals.counts.items()}
    flags = ", ".join(f"{k} {v:,}" for k, v in totals.faults.items() if v)
    batch_rows = opts.batch_rows or DEFAULT_BATCH_ROWS
    notes = {
        "read": f"{kept_rows:,} rows" + (
            f" from {len(reader.files):,} files" if reader.source.partitioned else "") + (
            f"; times {cin.time_form.describe()}" if cin.time_form else "") +
            f"; streamed in batches of at most {batch_rows:,} rows",
        "join": join_note_counts(totals.joined),
        "flags": (f"{flags} (a call may have several flags)" if flags else "no faults"),
        "boundary": (f"{boundary['neighborhood']['shared']:,} calls within "
                     f"{opts.boundary_tolerance_m:g} m of a line between neighborhoods"),
    }
    return Streamed(calls, cin, examples, swapped_entry, window_entry, undated_entry,
                    totals._window, boundary, counted, run_years, totals.tally,
                    matrices, spans,
                    (totals.in_nbhd, totals.no_ward),
                    notes, totals.folder / C.FILE,
                    {k: round(v, 3) for k, v in clock.seconds.items()},
                    totals.need_files, remap.astype(np.int64))


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
