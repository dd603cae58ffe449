"""The calls table: the one owner of its column names, their dtypes, and of reading it from
and writing it to a workspace.

The table grows along the stages of an analysis (:mod:`safetygap.pipeline`):

1. the reader (:func:`safetygap.inputs.read_calls`) gives the canonical columns
   :data:`CANONICAL`: ``row`` (1-based input row), ``call_id``, ``call_type``, ``agency``,
   ``time`` (naive datetime64, NaT when unparseable), ``x``/``y`` (source CRS, NaN when
   missing) and ``coord_fault`` (0 ok, 1 missing, 2 invalid, 3 zero), plus ``disposition``
   and ``priority`` when the file has them;
2. :func:`safetygap.stages.rows.call_features` adds :data:`FEATURES` (taxonomy class,
   channel and deciding diversion rule, year, duplicate flag ...);
3. coverage adds :data:`COVERED`; :func:`safetygap.stages.rows.flag_rows` adds
   :data:`STATUS` and the area positions :data:`N_IDX` / :data:`W_IDX` (-1: no area);
4. :func:`build` turns that working table into the workspace table :data:`COLUMNS`
   (area ids instead of positions, boundary split counts), which :func:`write` stores as
   GeoParquet (``x``/``y`` as point geometry in the analysis CRS, metres) and :func:`read`
   reads back. :func:`working_table` rebuilds the working columns the scenarios need from a
   stored table.

Every other module names these columns through the constants here.

Long file (about 520 lines): the table's names and dtypes and every way it is stored, the
streaming engine's batch-by-batch writer (and the merging of dask workers' writers) among
them, so the stored file has one owner.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from safetygap import _geoparquet as _geo
from safetygap._geoparquet import write_points
from safetygap.tables import measures as M
from safetygap.vocab import FAMILIES, BoundaryPolicy, Level, RowFlag

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

# ------------------------------------------------------------------ canonical (reader)

ROW = "row"
"""1-based row number in the input file (int64)."""
CALL_ID = "call_id"
"""The call's id as text (duplicates flagged, never dropped)."""
CALL_TYPE = "call_type"
AGENCY = "agency"
TIME = "time"
"""When the call came in: naive datetime64[ns]; NaT when unparseable."""
X = "x"
"""Easting, or longitude before projection; NaN when missing."""
Y = "y"
COORD_FAULT = "coord_fault"
"""0 ok, 1 missing, 2 invalid, 3 zero coordinates (:mod:`safetygap.inputs.calls`)."""
DISPOSITION = "disposition"
PRIORITY = "priority"
SOURCE = "source"
"""Who started the call (:class:`safetygap.vocab.CallSource`), categorical: the file's
source column through its value mapping, else the stated default."""
FEED = "feed"
"""Optional: which export (feed) a record comes from when one file mixes several (e.g. 911
and 311 records); each feed's covered time is measured on its own
(:mod:`safetygap.geo.timespan`)."""
CANONICAL: tuple[str, ...] = (ROW, CALL_ID, CALL_TYPE, AGENCY, TIME, X, Y, COORD_FAULT,
                              SOURCE)
"""The columns every read calls table has (``disposition``, ``priority`` and ``feed``
optional)."""

# ------------------------------------------------------------------ features (stages)

CATEGORY = "category"
FAMILY = "family"
"""The family of service the call needs (:data:`safetygap.vocab.FAMILIES`), or none."""
FAMILY_CODE = "family_code"
"""int8 position of :data:`FAMILY` in :data:`safetygap.vocab.FAMILIES`; NONE_CODE none."""
ELIGIBLE = "eligible"
COVERABLE = "coverable"
"""Some service type with a place handles the call's category (service-matched coverage's
denominator)."""
KNOWN = "known"
"""The taxonomy knows the call type."""
CHANNEL = "channel"
"""Who handled the call (:class:`safetygap.vocab.Channel`), by the diversion rules."""
DIVERSION_RULE = "diversion_rule"
DIVERTED = "diverted"
DIVERSION_BASE = "diversion_base"
"""The call is in the diverted share's denominator."""
AGENCY_KNOWN = "agency_known"
YEAR = "year"
"""int32 year of :data:`TIME`; -1 when unparseable."""
DUP = "dup"
"""A later row with an id seen before."""
DAY = "day"
"""Calendar day number of :data:`TIME` (:func:`safetygap.geo.timespan.day_numbers`)."""
SOURCE_CODE = "source_code"
"""int16 code of the call's feed (:data:`FEED`; the names in ``calls.attrs["sources"]``):
the covered time is measured per feed."""
COUNTED = "counted"
"""The call is counted as demand (its :data:`SOURCE` is one the run's ``count_calls_from``
counts); the other calls keep their areas but are in no count."""
COVERED = "covered"
"""Within the catchment of a provider of the call's family."""
DATE_OUTSIDE = "date_outside"
"""int8: 0 the call's time is inside the plausible date window (or unparseable), 1 before
it, 2 after it (:mod:`safetygap.inputs.date_window`)."""
STATUS = "status"
"""The row's display status (:data:`safetygap.vocab.ROW_STATUSES`), categorical: the first of
its flags (:data:`FLAGS`) that applies."""
FLAGS: dict[str, str] = {f.value: f"flag_{f.value}" for f in RowFlag}
"""Flag name (:class:`safetygap.vocab.RowFlag`) -> its bool column: independent flags, a row
may have several."""
N_IDX = "n_idx"
"""Row position of the call's neighborhood in the neighborhoods layer, for the calls counted
as demand; -1 none (each layer placed on its own)."""
W_IDX = "w_idx"
N_AREA = "n_area"
"""Row position of the call's neighborhood whether it is counted or not; -1 none."""
W_AREA = "w_area"
FEATURES: tuple[str, ...] = (CATEGORY, FAMILY, ELIGIBLE, KNOWN, COVERABLE, FAMILY_CODE,
                             CHANNEL, DIVERSION_RULE, DIVERTED, DIVERSION_BASE, AGENCY_KNOWN,
                             YEAR, DAY, SOURCE_CODE, DUP, COUNTED)
FEATURES: tuple[str, ...] = (CATEGORY, FAMILY, ELIGIBLE, KNOWN, FAMILY_CODE, CHANNEL,
                             DIVERSION_RULE, DIVERTED, DIVERSION_BASE, AGENCY_KNOWN, YEAR, DUP,
                             COUNTED)
"""The columns :func:`safetygap.stages.rows.call_features` adds."""

# ------------------------------------------------------------------ workspace table

NEIGHBORHOOD_ID = "neighborhood_id"
WARD_ID = "ward_id"
SPLIT_NEIGHBORHOODS = "split_neighborhoods"
"""Number of neighborhoods the call is shared between under the ``split`` policy (0 none)."""
SPLIT_WARDS = "split_wards"
GEOMETRY = "geometry"
AREA_ID_OF: dict[str, str] = {Level.NEIGHBORHOOD.value: NEIGHBORHOOD_ID, Level.WARD.value: WARD_ID}
"""The column holding a call's area id at each level."""

DTYPES: dict[str, str] = {
    ROW: "int64", CALL_ID: "string", CALL_TYPE: "string", AGENCY: "string",
    TIME: "datetime64[ns]", YEAR: "int32", STATUS: "category",
    NEIGHBORHOOD_ID: "category", WARD_ID: "category", CATEGORY: "category",
    FAMILY: "category", ELIGIBLE: "bool", CHANNEL: "category", DIVERSION_RULE: "category",
    DIVERTED: "bool", DIVERSION_BASE: "bool", COVERABLE: "bool", COVERED: "bool",
    SPLIT_NEIGHBORHOODS: "int16",
    SPLIT_WARDS: "int16", **{col: "bool" for col in FLAGS.values()}, SOURCE: "category",
    COUNTED: "bool", X: "float64", Y: "float64",
}
"""The workspace calls table, column by column, in order (``x``/``y`` become the point
geometry of ``calls.parquet``; :data:`FEED`, categorical, is stored before ``status``
when the calls had feeds)."""
COLUMNS: tuple[str, ...] = tuple(DTYPES)
FILE = "calls.parquet"
"""The calls table's file in a workspace."""


def build(calls: pd.DataFrame, nbhd: gpd.GeoDataFrame, wards: gpd.GeoDataFrame,
          boundary: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The workspace table :data:`COLUMNS` from the working table of an analysis.

    ``boundary`` is the stage's allocation per level and policy
    (:func:`safetygap.stages.areas.boundary_allocations`); its ``split`` allocation gives
    the split counts. Area ids come from the layers' ``area_id`` column: every placed
    call's (:data:`N_AREA`/:data:`W_AREA`), counted as demand or not (:data:`COUNTED`).
    """
    n_ids = nbhd[M.AREA_ID].to_numpy()
    w_ids = wards[M.AREA_ID].to_numpy()
    n_idx = calls[N_AREA].to_numpy()
    w_idx = calls[W_AREA].to_numpy()
    out = pd.DataFrame({
        ROW: calls[ROW].to_numpy(),
        CALL_ID: calls[CALL_ID].array,
        CALL_TYPE: calls[CALL_TYPE].array,
        AGENCY: calls[AGENCY].array,
        TIME: calls[TIME].to_numpy(),
        YEAR: calls[YEAR].to_numpy(),
        STATUS: calls[STATUS].array,
        NEIGHBORHOOD_ID: pd.Categorical.from_codes(np.where(n_idx >= 0, n_idx, -1),
                                                   categories=pd.Index(n_ids)),
        WARD_ID: pd.Categorical.from_codes(np.where(w_idx >= 0, w_idx, -1),
                                           categories=pd.Index(w_ids)),
        CATEGORY: pd.Categorical(calls[CATEGORY].array),
        FAMILY: pd.Categorical(calls[FAMILY].array),
        ELIGIBLE: calls[ELIGIBLE].to_numpy(),
        CHANNEL: calls[CHANNEL].array,
        DIVERSION_RULE: calls[DIVERSION_RULE].array,
        DIVERTED: calls[DIVERTED].to_numpy(),
        DIVERSION_BASE: calls[DIVERSION_BASE].to_numpy(),
        COVERABLE: calls[COVERABLE].to_numpy(),
        COVERED: calls[COVERED].to_numpy(),
        SPLIT_NEIGHBORHOODS: boundary[Level.NEIGHBORHOOD][SPLIT].k.astype(np.int16),
        SPLIT_WARDS: boundary[Level.WARD][SPLIT].k.astype(np.int16),
        **{col: calls[col].to_numpy(dtype=bool) for col in FLAGS.values()},
        SOURCE: calls[SOURCE].array,
        COUNTED: calls[COUNTED].to_numpy(dtype=bool),
        X: calls[X].to_numpy(),
        Y: calls[Y].to_numpy(),
    }, copy=False)  # the working table's arrays shared, not copied (it is final)
    if FEED in calls.columns:
        out.insert(out.columns.get_loc(STATUS), FEED,
                   pd.Categorical(calls[FEED].astype("string").array))
    return out


def write(calls: pd.DataFrame, crs: str, path: str | os.PathLike) -> None:
    """Store the workspace table as GeoParquet: ``x``/``y`` (in ``crs``) as point geometry
    (empty where the call has no location), the other columns as they are."""
    write_points(calls.drop(columns=[X, Y]), calls[X].to_numpy(), calls[Y].to_numpy(), crs,
                 path)


DATA_CATEGORIES: tuple[str, ...] = (CATEGORY, FAMILY, FEED)
"""Categorical columns of :func:`build` whose categories are the values present (sorted):
known only once every call is read."""


class StreamWriter:
    """The workspace table written batch by batch (the streaming engine,
    :mod:`safetygap.stages.stream`), as :func:`write` writes it whole: the same columns,
    dtypes, categories and GeoParquet metadata.

    Each batch of :func:`build` goes to a spill file first (the columns of
    :data:`DATA_CATEGORIES` as codes in the order their values were first seen,
    ``x``/``y`` as numbers) while the values present and the points' bounding box are
    gathered; :meth:`close` then copies the spill, a row group at a time and without
    pandas, into ``path`` with the final (sorted) categories and point geometry. Memory:
    one batch. The spill (in ``spill_dir``) is removed by :meth:`close`.

    Writers that each wrote a part of the calls (dask workers, each with its own
    ``spill_dir``) are :meth:`seal` ed and :meth:`merge` d in the calls' order into one,
    whose :meth:`close` writes the file one writer given every batch would write.
    """

    def __init__(self, path: str | os.PathLike, crs: str, spill_dir: str | os.PathLike):
        from pathlib import Path

        self.path = Path(path)
        self.crs = crs
        self.spill = Path(spill_dir) / "calls-spill.arrow"
        self.rows = 0
        self._sink: pa.OSFile | None = None
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._schema: pa.Schema | None = None
        self._seen: dict[str, dict[str, int]] = {c: {} for c in DATA_CATEGORIES}
        self._fixed: dict[str, pd.Index] = {}  # other categoricals: same in every batch
        self._bbox = [np.inf, np.inf, -np.inf, -np.inf]
        self._sealed = False
        # the merged writers' spills (and each one's first-seen codes), after this one's
        self._merged: list[tuple[Path, dict[str, dict[str, int]]]] = []

    def write(self, frame: pd.DataFrame) -> None:
        """Append a batch of the workspace table (:func:`build`)."""
        if self._sealed or self._merged:
            raise ValueError("no batch can be written after seal() or merge()")
        frame = frame.copy(deep=False)
        for col in frame.columns:
            dtype = frame[col].dtype
            if col in self._seen:
                codes, values = pd.factorize(frame[col])
                seen = self._seen[col]
                lookup = np.array([seen.setdefault(str(v), len(seen)) for v in values] + [-1],
                                  dtype=np.int16)
                frame[col] = lookup[codes]  # -1 (missing) indexes the last
            elif not isinstance(dtype, pd.CategoricalDtype):
                continue
            elif col not in self._fixed:
                self._fixed[col] = dtype.categories
            elif not dtype.categories.equals(self._fixed[col]):
                raise ValueError(f"column {col}: categories change between batches")
        self._widen(_geo.point_bbox(frame[X].to_numpy(float), frame[Y].to_numpy(float)))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:  # Arrow IPC: written and read back at memory speed
            self._sink = pa.OSFile(str(self.spill), "wb")
            self._schema = table.schema
            self._writer = pa.ipc.new_file(self._sink, table.schema)
        self._writer.write_table(table.cast(self._schema))
        self.rows += len(frame)

    def _widen(self, box: tuple[float, float, float, float] | None) -> None:
        if box is not None:
            self._bbox = [min(self._bbox[0], box[0]), min(self._bbox[1], box[1]),
                          max(self._bbox[2], box[2]), max(self._bbox[3], box[3])]

    def seal(self) -> None:
        """Finish this writer's spill file without writing ``path`` (a dask worker, before
        it returns the writer): no file is left open, so the writer can be pickled and
        :meth:`merge` d into another; nothing more can be written to it."""
        if self._writer is not None:
            self._writer.close()
        if self._sink is not None:
            self._sink.close()
        self._writer = self._sink = None
        self._sealed = True

    def _segments(self) -> list[tuple[Path, dict[str, dict[str, int]]]]:
        """Every spill file this writer's :meth:`close` copies, in order, with its codes."""
        own = [(self.spill, self._seen)] if self._schema is not None else []
        return own + self._merged

    def merge(self, other: StreamWriter) -> None:
        """Let ``other`` 's batches (a :meth:`seal` ed writer; possibly of no batch)
        follow this writer's: :meth:`close` then writes every batch of both, in order,
        as one writer given them all would (and removes ``other`` 's spill too). This
        writer may have written nothing itself. The categoricals whose categories every
        batch shares must agree."""
        if not other._sealed:
            raise ValueError("seal() a writer before merging it")
        for col, categories in other._fixed.items():
            if col in self._fixed and not categories.equals(self._fixed[col]):
                raise ValueError(f"column {col}: categories differ between the merged "
                                 "writers")
        for col, categories in other._fixed.items():
            self._fixed.setdefault(col, categories)
        self._merged.extend(other._segments())
        self.rows += other.rows
        self._widen(None if not np.isfinite(other._bbox[0]) else tuple(other._bbox))

    def close(self) -> None:
        """Write ``path`` from the spills (every batch written, this writer's then the
        merged ones') and remove the spills."""
        self.seal()
        segments = self._segments()
        try:
            if not segments:
                raise ValueError("no calls were written")
            self._copy(segments)
        finally:
            for spill, _ in segments:
                spill.unlink(missing_ok=True)

    def _copy(self, segments: list[tuple[Path, dict[str, dict[str, int]]]]) -> None:
        """The spills' batches into ``path``: each spill's first-seen codes as codes of
        the sorted values of all, each batch in the first spill's schema."""
        sorted_values = {c: sorted(set().union(*(seen[c] for _, seen in segments)))
                         for c in DATA_CATEGORIES}
        place = {c: {v: i for i, v in enumerate(values)} for c, values in sorted_values.items()}
        bbox = None if not np.isfinite(self._bbox[0]) else tuple(self._bbox)
        out: pq.ParquetWriter | None = None
        first: pa.Schema | None = None
        try:
            for spill, seen in segments:
                remap = {c: np.array([place[c][v] for v in codes] + [-1], dtype=np.int64)
                         for c, codes in seen.items()}
                source = pa.OSFile(str(spill))  # read, not mapped: mapped pages count as ours
                try:
                    spilled = pa.ipc.open_file(source)
                    first = spilled.schema if first is None else first
                    for i in range(spilled.num_record_batches):
                        batch = _cast(spilled.get_batch(i), first)
                        if out is None:  # the schema (pandas and geo metadata) as write() has it
                            schema = self._final_schema(batch, sorted_values, bbox)
                            out = pq.ParquetWriter(self.path, schema)
                        out.write_table(_final_batch(batch, schema, remap, sorted_values))
                finally:
                    source.close()
        finally:
            if out is not None:
                out.close()

    def _final_schema(self, batch: pa.RecordBatch, sorted_values: dict[str, list[str]],
                      bbox: tuple[float, ...] | None) -> pa.Schema:
        """The file's schema, as :func:`write` makes it, from the first spilled batch."""
        head = batch.slice(0, 0).to_pandas()
        for col, values in sorted_values.items():
            if col in head.columns:
                head[col] = pd.Categorical([], categories=pd.Index(
                    pd.array(values, dtype=pd.StringDtype(na_value=np.nan))))
        empty = np.zeros(0)
        return _geo.points_table(head.drop(columns=[X, Y]), empty, empty, self.crs,
                                 bbox=bbox).schema


def _cast(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with the types of ``schema`` (as within one spill: every batch is cast to
    its first batch's schema)."""
    if batch.schema.equals(schema):
        return batch
    table = pa.Table.from_batches([batch]).cast(schema).combine_chunks()
    return pa.RecordBatch.from_arrays(
        [c.chunk(0) if c.num_chunks else pa.array([], type=c.type) for c in table.columns],
        schema=schema)


def _final_batch(batch: pa.RecordBatch, schema: pa.Schema, remap: dict[str, np.ndarray],
                 sorted_values: dict[str, list[str]]) -> pa.Table:
    """A spilled batch in the file's schema: point geometry from ``x``/``y``, the
    categories' codes mapped to the sorted values."""
    columns = []
    for name in schema.names:
        if name == GEOMETRY:
            columns.append(_geo.point_wkb(
                batch.column(X).to_numpy(zero_copy_only=False),
                batch.column(Y).to_numpy(zero_copy_only=False)))
        elif name in remap:
            codes = remap[name][batch.column(name).to_numpy(zero_copy_only=False)]
            kind = schema.field(name).type
            columns.append(pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=codes < 0, type=kind.index_type),
                pa.array(sorted_values[name], type=kind.value_type)))
        else:
            columns.append(batch.column(name))
    return pa.Table.from_arrays(columns, schema=schema)


def geoframe(calls: pd.DataFrame, crs: str) -> gpd.GeoDataFrame:
    """The workspace table with point geometry (None where the call has no location)."""
    geom = gpd.points_from_xy(calls[X], calls[Y], crs=crs)
    geom[calls[X].isna().to_numpy()] = None
    return gpd.GeoDataFrame(calls.drop(columns=[X, Y]), geometry=geom, crs=crs)


def read(path: str | os.PathLike, columns: list[str] | None = None
         ) -> gpd.GeoDataFrame | pd.DataFrame:
    """A stored calls table (large: read only the ``columns`` you need; without
    ``geometry`` among them a plain DataFrame)."""
    if columns is not None and GEOMETRY not in columns:
        return pd.read_parquet(path, columns=columns)
    return gpd.read_parquet(path, columns=columns)


def stored_columns(path: str | os.PathLike) -> list[str]:
    """The column names of a stored calls table (from its schema, no rows read)."""
    return list(pq.read_schema(path).names)


def xy(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``x``, ``y`` of a stored table's points (NaN where a call has no location)."""
    geom = frame.geometry
    has = geom.notna().to_numpy() & ~geom.is_empty.to_numpy()
    x = np.full(len(frame), np.nan)
    y = np.full(len(frame), np.nan)
    x[has] = shapely.get_x(geom.to_numpy()[has])
    y[has] = shapely.get_y(geom.to_numpy()[has])
    return x, y


SPLIT = BoundaryPolicy.SPLIT

WORKING: tuple[str, ...] = (STATUS, NEIGHBORHOOD_ID, WARD_ID, CATEGORY, FAMILY, YEAR, TIME,
                            ELIGIBLE, DIVERTED, COVERED, GEOMETRY)
"""The stored columns :func:`working_table` reads (``diversion_base``, ``coverable`` and
``source`` too when stored)."""
UNSPECIFIED_SOURCE = "unspecified"
SINGLE_SOURCE = "calls"
"""Name of the one feed of calls without a mapped ``feed`` column."""


def source_codes(source: pd.Series | None, n: int) -> tuple[np.ndarray, list[str]]:
    """Code of each call's feed (0.., int16) and the feeds' names: the values of ``source``
    (the :data:`FEED` column; missing or blank: ``"unspecified"``), else one feed for
    ``n`` calls."""
    if source is None:
        return np.zeros(n, dtype=np.int16), [SINGLE_SOURCE]
    text = source.astype("string").str.strip().fillna(UNSPECIFIED_SOURCE)
    text = text.where(text != "", UNSPECIFIED_SOURCE)
    codes, names = pd.factorize(text, sort=True)
    return codes.astype(np.int16), [str(v) for v in names]


def working_table(path: Path, nbhd_ids: pd.Series, ward_ids: pd.Series,
                  *, none_code: int, coverable: Callable[[str], bool] | None = None
                  ) -> pd.DataFrame:
    """The working columns the what-if and siting jobs recompute indices from, rebuilt
    from a stored calls table: ``x``, ``y``, ``status``, ``n_idx``/``w_idx`` (positions in
    ``nbhd_ids``/``ward_ids``, -1 none), ``family``, ``family_code`` (``none_code`` for
    none), ``year``, ``eligible``, ``diverted``, ``covered``, ``diversion_base`` (True for
    every call in a workspace written before the diversion rules), ``category``,
    ``coverable`` (from ``coverable(category)`` for a workspace written before service
    matching; every need call without it), ``time`` and ``source_code`` (the feeds'
    names in the frame's ``attrs["sources"]``); ``n_idx``/``w_idx`` only for the calls
    counted as demand (every call in a workspace written before the call sources)."""
    stored = stored_columns(path)
    cols = list(WORKING) + [c for c in (DIVERSION_BASE, COVERABLE, FEED, COUNTED)
                            if c in stored]
    has_base = DIVERSION_BASE in stored
    raw = read(path, columns=cols)
    category = raw[CATEGORY].astype(object).fillna("unknown").to_numpy()
    if COVERABLE in raw:
        cover = raw[COVERABLE].to_numpy(dtype=bool)
    elif coverable is not None:
        known = {c: coverable(str(c)) for c in pd.unique(category)}
        cover = np.array([known[c] for c in category], dtype=bool)
    else:
        cover = np.ones(len(raw), dtype=bool)
    codes, sources = source_codes(raw.get(FEED), len(raw))
    x, y = xy(raw)
    fam_codes = {f: i for i, f in enumerate(FAMILIES)}
    counted = (raw[COUNTED].to_numpy(dtype=bool) if COUNTED in stored
               else np.ones(len(raw), dtype=bool))
    table = pd.DataFrame({
        X: x,
        Y: y,
        STATUS: raw[STATUS].to_numpy(),
        N_IDX: np.where(counted, _codes(raw[NEIGHBORHOOD_ID], nbhd_ids), -1),
        W_IDX: np.where(counted, _codes(raw[WARD_ID], ward_ids), -1),
        FAMILY: raw[FAMILY].astype(object).to_numpy(),
        FAMILY_CODE: raw[FAMILY].astype(object).map(fam_codes).fillna(none_code)
        .astype(np.int8).to_numpy(),
        YEAR: raw[YEAR].to_numpy(),
        ELIGIBLE: raw[ELIGIBLE].to_numpy(dtype=bool),
        DIVERTED: raw[DIVERTED].to_numpy(dtype=bool),
        COVERED: raw[COVERED].to_numpy(dtype=bool),
        DIVERSION_BASE: (raw[DIVERSION_BASE].to_numpy(dtype=bool) if has_base
                         else np.ones(len(raw), dtype=bool)),
        CATEGORY: category,
        COVERABLE: cover,
        TIME: raw[TIME].to_numpy(),
        SOURCE_CODE: np.asarray(codes, dtype=np.int16),
    })
    table.attrs["sources"] = sources
    return table


def _codes(values: pd.Series, ids: pd.Series) -> np.ndarray:
    """Row index in ``ids`` of each (categorical) area id in ``values``; -1 for none."""
    pos = {str(v): i for i, v in enumerate(ids)}
    cat = values.astype("category")
    lookup = np.array([pos.get(str(c), -1) for c in cat.cat.categories] + [-1], dtype=np.int64)
    codes = cat.cat.codes.to_numpy().astype(np.int64)
    return lookup[np.where(codes >= 0, codes, len(lookup) - 1)]
