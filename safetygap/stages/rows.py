"""Per-call features and row statuses; swapped coordinates.

A stage of :func:`safetygap.pipeline.analyze`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from safetygap import FAMILIES
from safetygap._status import (
    FLAGS,
    STATUS_ORDER,
    placed_masks,
    row_faults,
    status_codes,
)
from safetygap.diversion import CallsFrom, Denominator, DiversionRules, counted_sources
from safetygap.errors import Problems
from safetygap.geo.aggregate import NONE_CODE
from safetygap.geo.timespan import day_numbers
from safetygap.inputs.calls import COORD_MISSING, COORD_ZERO
from safetygap.stages._seen_ids import id_hashes
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.taxonomy import Taxonomy
from safetygap.vocab import RowFlag, RowStatus

if TYPE_CHECKING:
    pass


def call_features(calls: pd.DataFrame, taxonomy: Taxonomy, rules: DiversionRules, *,
                  denominator: Denominator | None = None,
                  calls_from: CallsFrom | str = CallsFrom.PUBLIC,
                  repeats: bool = True) -> pd.DataFrame:
    """Row features known before the join: taxonomy classes, the channel and deciding
    diversion rule (``channel``, ``diversion_rule``, ``diverted``, ``diversion_base``),
    whether the call is counted as demand (``counted``: its ``source`` is one
    ``calls_from`` counts; only counted calls are in the diversion base), whether the
    taxonomy knows the agency, year, calendar day (``day``), the feed code (``source_code``;
    the feeds' names in ``calls.attrs["sources"]``), duplicate ids (``repeats=False``: the
    ``dup`` column all False, for a caller that finds repeats itself — the streaming
    engine, across batches)."""
    calls = calls.copy(deep=False)  # new columns only: the input frame is untouched
    cls = taxonomy.classify(calls[C.CALL_TYPE])
    calls[C.CATEGORY] = cls["category"].array
    calls[C.FAMILY] = cls["family"].array
    calls[C.ELIGIBLE] = cls["eligible"].to_numpy(dtype=bool)
    calls[C.KNOWN] = cls["known"].to_numpy(dtype=bool)
    calls[C.COVERABLE] = cls["coverable"].to_numpy(dtype=bool)
    fam_codes = {f: i for i, f in enumerate(FAMILIES)}
    codes, uniques = pd.factorize(calls[C.FAMILY])
    lookup = np.array([fam_codes.get(u, NONE_CODE) for u in uniques] + [NONE_CODE],
                      dtype=np.int8)
    calls[C.FAMILY_CODE] = lookup[np.where(codes < 0, len(uniques), codes)]
    assigned = rules.assign(calls, denominator=denominator)
    for col in (C.CHANNEL, C.DIVERSION_RULE, C.DIVERTED, C.DIVERSION_BASE):
        calls[col] = assigned[col].to_numpy() if assigned[col].dtype == bool \
            else assigned[col].array
    calls[C.COUNTED] = (counted_sources(calls[C.SOURCE], calls_from) if C.SOURCE in calls
                        else np.ones(len(calls), dtype=bool))
    calls[C.DIVERSION_BASE] = calls[C.DIVERSION_BASE].to_numpy(dtype=bool) & calls[C.COUNTED]
    calls[C.AGENCY_KNOWN] = taxonomy.diverted(calls[C.AGENCY])["agency_known"].to_numpy(
        dtype=bool)
    calls[C.YEAR] = calls[C.TIME].dt.year.fillna(-1).astype(np.int32)
    calls[C.DAY] = day_numbers(calls[C.TIME].to_numpy())
    calls[C.SOURCE_CODE], names = C.source_codes(
        calls.get(C.FEED), len(calls))
    calls.attrs["sources"] = names
    calls[C.DUP] = repeated(calls[C.CALL_ID]) if repeats else np.zeros(len(calls), dtype=bool)
    return calls


def repeated(values: pd.Series) -> np.ndarray:
    """Bool per row: its value (not missing) is on an earlier row too: exactly what
    ``duplicated(keep="first") & notna()`` gives.

    Text is hashed to 64 bits (:func:`~safetygap.stages._seen_ids.id_hashes`, numpy
    passes, no hash table of strings) and the hashes sorted; only rows whose hash another
    row shares are candidates, and a candidate is a repeat only when its text equals an
    earlier row's (two ids whose hashes collide are told apart). Values that are not text
    are coded by ``pandas.factorize``."""
    n = len(values)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    if not isinstance(values.dtype, pd.StringDtype):
        codes, _ = pd.factorize(values, use_na_sentinel=True)
        before = np.empty_like(codes)
        before[0] = -1
        np.maximum.accumulate(codes[:-1], out=before[1:])
        return (codes >= 0) & (codes <= before)
    text = pa.array(values.array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    rows = np.flatnonzero(~values.isna().to_numpy())  # missing values repeat nothing
    text = text.take(pa.array(rows))
    h = id_hashes(text)
    order = np.argsort(h)
    hs = h[order]
    same = np.zeros(len(hs), dtype=bool)
    same[1:] = hs[1:] == hs[:-1]
    if not same.any():
        return out
    shared = same.copy()
    shared[:-1] |= same[1:]  # every row of a run of equal hashes
    cand = order[shared]
    cand = cand[np.lexsort((cand, h[cand]))]  # by hash, then input order
    hc = h[cand]
    start = np.ones(len(cand), dtype=bool)
    start[1:] = hc[1:] != hc[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(len(cand)), 0))
    equal = pc.equal(text.take(pa.array(cand)),
                     text.take(pa.array(cand[first]))).to_numpy(zero_copy_only=False)
    rep = ~start & equal
    mixed = np.unique(first[~equal])  # runs whose texts differ: hashes that collide
    for s0 in mixed:  # rare: each such run by its texts, in input order
        run = np.flatnonzero(first == s0)
        seen: set[str] = set()
        for k, v in zip(run, text.take(pa.array(cand[run])).to_pylist(), strict=True):
            rep[k] = v in seen
            seen.add(v)
    out[rows[cand[rep]]] = True
    return out


def join_note(n_idx: np.ndarray, w_idx: np.ndarray, dup: np.ndarray) -> str:
    """The join step's progress note: calls in a neighborhood and in a ward (each layer
    joined on its own), less the rows with a repeated id (``duplicate_id``), and the calls
    in a neighborhood but outside every ward (kept in the neighborhood counts). So the
    figures match the "calls in areas" of the end of the run."""
    return join_note_counts(join_counts(n_idx, w_idx, dup))


def join_counts(n_idx: np.ndarray, w_idx: np.ndarray, dup: np.ndarray) -> np.ndarray:
    """The counts :func:`join_note_counts` says (calls in a neighborhood, in a ward, with a
    repeated id, placed in neighborhoods and in wards less those, in a neighborhood and no
    ward): integers that add up batch by batch."""
    in_n = np.asarray(n_idx) >= 0
    in_w = np.asarray(w_idx) >= 0
    dup = np.asarray(dup, dtype=bool)
    return np.array([in_n.sum(), in_w.sum(), (dup & (in_n | in_w)).sum(),
                     (in_n & ~dup).sum(), (in_w & ~dup).sum(), (in_n & ~in_w & ~dup).sum()],
                    dtype=np.int64)


def join_note_counts(counts: np.ndarray) -> str:
    """:func:`join_note` from :func:`join_counts`."""
    n_in, w_in, n_dup, n_placed, w_placed, no_ward = (int(c) for c in counts)
    text = f"{n_in:,} in a neighborhood, {w_in:,} in a ward"
    if n_dup:
        text += (f"; less {n_dup:,} with a repeated call id (duplicate_id): "
                 f"{n_placed:,} placed in neighborhoods, "
                 f"{w_placed:,} in wards")
    if no_ward:
        text += (f"; {no_ward:,} in a neighborhood but outside every ward (kept in the "
                 "neighborhood counts)")
    return text


def flag_rows(
    calls: pd.DataFrame,
    read_examples: dict[str, list[dict]],
    n_idx: np.ndarray,
    w_idx: np.ndarray,
    *,
    source_xy: tuple[np.ndarray, np.ndarray] | None = None,
    coordinate_label: str = "x/y",
) -> tuple[pd.DataFrame, dict[str, list[dict]]]:
    """Independent flags per row (``flag_<name>`` columns, :data:`FLAGS`), the display
    status (:data:`STATUS_ORDER`), the area of each layer placed on its own
    (``n_area``/``w_area``, -1 when not placed: see :func:`placed_masks`), the same for
    the calls counted as demand (``n_idx``/``w_idx``: what every count uses), examples.

    Examples of ``outside_boundaries`` show the coordinates as the input file has them:
    ``source_xy`` (every row's coordinates as read, in the file's CRS, see
    :attr:`safetygap.inputs.calls.CallsInput.source_xy`) under ``coordinate_label``
    (its columns, e.g. ``longitude/latitude``), and the point in the analysis CRS
    (metres, to 0.1 m) as ``analysis_xy``. Without ``source_xy`` the value is the
    analysis CRS point under ``x/y``.
    """
    calls = calls.copy(deep=False)
    coord = calls[C.COORD_FAULT].to_numpy()
    known = calls[C.KNOWN].to_numpy()
    faults = row_faults(calls[C.DUP].to_numpy(), coord, n_idx, w_idx,
                        calls[C.TIME].isna().to_numpy(), known,
                        calls[C.DATE_OUTSIDE].to_numpy() if C.DATE_OUTSIDE in calls else None)
    status = status_codes(faults)
    calls[C.STATUS] = pd.Categorical.from_codes(status, categories=list(STATUS_ORDER))
    for flag in FLAGS:
        calls[C.FLAGS[flag]] = faults[flag]
    in_n, in_w = placed_masks(calls[C.DUP].to_numpy(), coord, n_idx, w_idx)
    counted = (calls[C.COUNTED].to_numpy(dtype=bool) if C.COUNTED in calls
               else np.ones(len(calls), dtype=bool))
    counted = counted & ~faults[RowFlag.DATE_OUTSIDE_WINDOW]  # left out of every rate
    calls[C.N_AREA] = np.where(in_n, n_idx, -1)
    calls[C.W_AREA] = np.where(in_w, w_idx, -1)
    calls[C.N_IDX] = np.where(in_n & counted, n_idx, -1)
    calls[C.W_IDX] = np.where(in_w & counted, w_idx, -1)

    examples = {k: v for k, v in read_examples.items() if v}
    for kind, col in ((RowStatus.DUPLICATE_ID, C.CALL_ID),
                      (RowStatus.UNKNOWN_CALL_TYPE, C.CALL_TYPE)):
        idx = np.flatnonzero(faults[kind])[:5]
        if len(idx):
            sub = calls.iloc[idx]
            examples[kind.value] = [
                {"row": int(r.row), "id": None if pd.isna(r.call_id) else str(r.call_id),
                 "column": col,
                 "value": None if pd.isna(getattr(r, col)) else str(getattr(r, col))}
                for r in sub.itertuples()]
    for kind in (RowStatus.OUTSIDE_BOUNDARIES.value, RowFlag.OUTSIDE_NEIGHBORHOODS.value,
                 RowFlag.OUTSIDE_WARDS.value):
        idx = np.flatnonzero(faults[kind])[:5]
        if len(idx):
            examples[kind] = [_outside_example(calls, i, source_xy, coordinate_label)
                              for i in idx]
    calls.attrs["faults"] = {k: int(v.sum()) for k, v in faults.items()}
    calls.attrs["faults"]["unknown_agency"] = int((~calls[C.AGENCY_KNOWN]).sum())
    calls.attrs["unknown_types"] = (
        calls[C.CALL_TYPE][~known].fillna("<missing>").value_counts().head(20).to_dict())
    return calls, examples


def _outside_example(calls: pd.DataFrame, i: int,
                     source_xy: tuple[np.ndarray, np.ndarray] | None, label: str) -> dict:
    """One ``outside_boundaries`` example: the row's coordinates as the file has them (see
    :func:`flag_rows`)."""
    x, y = float(calls[C.X].iat[i]), float(calls[C.Y].iat[i])
    cid = calls[C.CALL_ID].iat[i]
    out = {"row": int(calls[C.ROW].iat[i]), "id": None if pd.isna(cid) else str(cid)}
    if source_xy is None:
        return out | {"column": "x/y", "value": f"{x:.1f}, {y:.1f}"}
    sx, sy = float(source_xy[0][i]), float(source_xy[1][i])
    return out | {"column": label, "value": f"{sx!r}, {sy!r}",
                  "analysis_xy": f"{x:.1f}, {y:.1f}"}


SWAPPED_FILE_SHARE = 0.5
"""Above this share of located rows inside the city only once x and y are exchanged,
the calls file is refused as mapped the wrong way round."""


def swapped_coordinates(cin: Any, n_idx: np.ndarray, nbhd: gpd.GeoDataFrame
                        ) -> dict[str, Any]:
    """Rows outside the neighborhoods (or out of range) that fall inside one with their
    two coordinates exchanged (latitude read as longitude).

    When they are more than :data:`SWAPPED_FILE_SHARE` of the rows with numeric
    coordinates, the columns are mapped the wrong way round: a ValidationError
    names the file, the columns and an example. Otherwise returns ``{"rows": n,
    "examples": [...]}`` for the quality report (the rows keep their status,
    ``outside_boundaries`` or ``invalid_coordinates``, and a warning is issued).
    """
    if cin.source_xy is None:
        return {"rows": 0, "examples": []}
    found = swapped_rows(cin.source_xy, cin.frame["coord_fault"].to_numpy(),
                         cin.frame["row"].to_numpy(), n_idx, nbhd, src_crs=cin.crs,
                         label=cin.coordinate_label)
    return swapped_verdict(found, where=f"calls {cin.path}", label=cin.coordinate_label)


@dataclass
class SwappedRows:
    """Rows that would fall inside a neighborhood with their coordinates exchanged, of
    the rows with numeric coordinates (``located``); the first five as examples. Batches
    add up (:meth:`add`)."""

    rows: int = 0
    located: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: SwappedRows) -> None:
        self.rows += other.rows
        self.located += other.located
        self.examples = (self.examples + other.examples)[:5]


def swapped_rows(source_xy: tuple[np.ndarray, np.ndarray], fault: np.ndarray,
                 rows: np.ndarray, n_idx: np.ndarray, nbhd: gpd.GeoDataFrame, *,
                 src_crs: str, label: str) -> SwappedRows:
    """The swapped-coordinates count of some rows (``source_xy`` as read, their
    ``coord_fault`` and row numbers, their neighborhood position ``n_idx``)."""
    from safetygap.geo.swap import swapped_placement

    x, y = source_xy
    located = np.isfinite(x) & np.isfinite(y) & ~np.isin(fault, (COORD_MISSING, COORD_ZERO))
    out = SwappedRows(located=int(located.sum()))
    unplaced = located & (n_idx < 0)
    if not unplaced.any():
        return out
    alt = swapped_placement(np.where(unplaced, x, np.nan), np.where(unplaced, y, np.nan),
                            nbhd, src_crs=src_crs)
    hits = np.flatnonzero(unplaced & (alt >= 0))
    out.rows = len(hits)
    out.examples = [{"row": int(rows[i]), "column": label, "value": f"{x[i]:g}, {y[i]:g}",
                     "swapped_into": str(nbhd[M.AREA_ID].iat[alt[i]])} for i in hits[:5]]
    return out


def swapped_verdict(found: SwappedRows, *, where: str, label: str) -> dict[str, Any]:
    """Refuse the calls as swapped (more than :data:`SWAPPED_FILE_SHARE` of the located
    rows), else warn about the rows and return the quality entry (see
    :func:`swapped_coordinates`)."""
    out: dict[str, Any] = {"rows": found.rows, "examples": list(found.examples)}
    if found.rows > SWAPPED_FILE_SHARE * found.located:
        ex = out["examples"][0]
        problems = Problems()
        problems.add(
            where,
            f"the coordinates look swapped: {found.rows:,} of {found.located:,} rows "
            f"with coordinates fall outside the neighborhoods but inside them with the two "
            f"values exchanged (row {ex['row']}: {ex['value']})",
            column=label,
            allowed="exchange the two columns (e.g. option `latitude` <longitude column> "
                    "option `longitude` <latitude column>, or fix the file)")
        problems.raise_if_any()
    if found.rows:
        warnings.warn(f"{where}: {found.rows:,} rows outside the neighborhoods would "
                      f"fall inside with their coordinates exchanged (e.g. row "
                      f"{out['examples'][0]['row']}); they are counted as "
                      "outside_boundaries/invalid_coordinates, see quality.json "
                      "calls.examples.swapped_coordinates", stacklevel=3)
    return out
