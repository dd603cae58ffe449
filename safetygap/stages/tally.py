"""The calls counted for the summary and the data-quality report, a batch at a time.

A stage of :func:`safetygap.pipeline.analyze`. :func:`~safetygap.stages.report.summary_report`
and :func:`~safetygap.stages.report.quality_report` count calls by a few small columns
(status, counted as demand, in the diversion base, placed, year, family, diverted,
covered, eligible, coverable, known type, source, channel, diversion rule) and list the
most common texts of a few (agencies of the diverted calls, unknown call types, sources).
:class:`CallTally` keeps just that: one row per distinct combination of those columns with
its number of calls, and the texts' counts in the order they first appear. The in-memory
engine adds its whole calls table at once, the streaming engine each batch: the reports
read the same tally, so the two engines cannot drift (and no engine keeps the text of
every call for them).

Counts are integers, so adding them batch by batch is exact; "most common" lists break
ties in the order of first appearance, as ``value_counts`` does on the whole column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from safetygap._status import STATUS_ORDER
from safetygap.tables import calls as C
from safetygap.vocab import RowStatus

N = "n"
"""The tally's column: calls with the row's combination of values."""
PLACED = "placed"
"""Tally column: the call is placed in a neighborhood (``n_idx`` >= 0)."""
IN_WARDS = "in_wards"
"""Tally column: the call is placed in a ward (``w_idx`` >= 0)."""
UNIQUE = "unique"
"""Tally column: the call's id is not a repeat of an earlier row's."""

GROUPED: tuple[str, ...] = (
    C.STATUS, C.COUNTED, C.DIVERSION_BASE, PLACED, IN_WARDS, C.YEAR, C.FAMILY_CODE,
    C.DIVERTED, C.COVERED, C.ELIGIBLE, C.COVERABLE, C.KNOWN, C.SOURCE, C.CHANNEL,
    C.DIVERSION_RULE)
"""The columns the tally counts calls by (``placed``/``in_wards`` from the area rows)."""

AGENCIES = "agencies"
"""Texts: the agency of each unique diverted call."""
UNKNOWN_TYPES = "unknown_types"
"""Texts: the type of each call of a type the taxonomy does not know (``<missing>``)."""
UNKNOWN_COUNTED = "unknown_counted"
"""Texts: the same, of the unique calls counted as demand."""
SOURCES = "sources"
"""Texts: the source of each unique call."""
MISSING_TYPE = "<missing>"


class CallTally:
    """Calls counted by :data:`GROUPED` and a few texts' counts, a batch at a time
    (:meth:`add` in input order; see the module docstring)."""

    def __init__(self) -> None:
        self.rows = 0
        self.flags: dict[str, int] = dict.fromkeys(C.FLAGS, 0)
        self.placed_areas = {"neighborhoods": 0, "wards": 0}
        self.texts: dict[str, dict[Any, int]] = {
            AGENCIES: {}, UNKNOWN_TYPES: {}, UNKNOWN_COUNTED: {}, SOURCES: {}}
        self.source_categories: list[Any] = []
        """The call sources' categories in their order (the quality report's order)."""
        self._dtypes: dict[str, Any] = {}  # of each text's value_counts (its sort)
        self._parts: list[pd.DataFrame] = []
        self._table: pd.DataFrame | None = None

    def add(self, calls: pd.DataFrame) -> CallTally:
        """Count a batch of the working calls table (after the row flags)."""
        self.rows += len(calls)
        if not self.source_categories:
            self.source_categories = list(calls[C.SOURCE].cat.categories)
        for flag, col in C.FLAGS.items():
            self.flags[flag] += int(calls[col].sum())
        self.placed_areas["neighborhoods"] += int((calls[C.N_AREA].to_numpy() >= 0).sum())
        self.placed_areas["wards"] += int((calls[C.W_AREA].to_numpy() >= 0).sum())
        uniq = unique_rows(calls)
        known = calls[C.KNOWN].to_numpy(dtype=bool)
        counted = calls[C.COUNTED].to_numpy(dtype=bool)
        diverted = calls[C.DIVERTED].to_numpy(dtype=bool)
        types = calls[C.CALL_TYPE]
        for name, values in (
                (AGENCIES, calls[C.AGENCY][uniq & diverted]),
                (UNKNOWN_TYPES, types[~known].fillna(MISSING_TYPE)),
                (UNKNOWN_COUNTED, types[uniq & counted & ~known].fillna(MISSING_TYPE)
                 .astype(str)),
                (SOURCES, calls[C.SOURCE][uniq])):
            _add_counts(self.texts[name], values)
            self._dtypes.setdefault(name, values.iloc[:0].value_counts().dtype)
        self._parts.append(_grouped(calls))
        self._compact()
        return self

    def merge(self, other: CallTally) -> CallTally:
        """Add ``other``'s counts, as if its batches came after these (in place; returns
        self): afterwards equal to one tally that added these batches then ``other``'s
        (the same :attr:`table`, rows in the same order; texts in the order of first
        appearance: these, then ``other``'s new ones in its order)."""
        self.rows += other.rows
        for flag, n in other.flags.items():
            self.flags[flag] = self.flags.get(flag, 0) + n
        for level, n in other.placed_areas.items():
            self.placed_areas[level] += n
        for name, counts in other.texts.items():
            into = self.texts.setdefault(name, {})
            for value, n in counts.items():
                into[value] = into.get(value, 0) + n
        for name, dtype in other._dtypes.items():
            self._dtypes.setdefault(name, dtype)
        if not self.source_categories:
            self.source_categories = list(other.source_categories)
        self._parts.extend(other._parts)
        self._compact()
        return self

    def _compact(self) -> None:
        """The rows of the batches added since the last :attr:`table` are joined every
        16 parts (memory)."""
        self._table = None
        if len(self._parts) >= 16:
            self._parts = [self.table.drop(columns=UNIQUE)]
            self._table = None

    @property
    def table(self) -> pd.DataFrame:
        """One row per distinct combination of :data:`GROUPED` and :data:`UNIQUE`, with
        its calls in :data:`N` (int64); the booleans as bool, the rest as values."""
        if self._table is None:
            parts = (pd.concat(self._parts, ignore_index=True) if self._parts else
                     pd.DataFrame({**{c: np.zeros(0, dtype=object) for c in GROUPED},
                                   N: np.zeros(0, dtype=np.int64)}))
            table = (parts.groupby(list(GROUPED), dropna=False, sort=False)[N].sum()
                     .reset_index())
            table[UNIQUE] = table[C.STATUS].to_numpy() != RowStatus.DUPLICATE_ID.value
            self._parts = [table.drop(columns=UNIQUE)]
            self._table = table
        return self._table

    def most_common(self, name: str, n: int | None = None) -> pd.Series:
        """The counts of texts ``name`` (:data:`AGENCIES` ...), most first, ties in the
        order of first appearance: ``values.value_counts()`` over every call at once."""
        counts = self.texts[name]
        out = pd.Series(list(counts.values()), index=list(counts.keys()),
                        dtype=self._dtypes.get(name, np.int64)).sort_values(ascending=False)
        return out if n is None else out.head(n)

    def first_seen(self, name: str) -> dict[str, int]:
        """The counts of texts ``name`` in the order of first appearance, most first
        (ties in that order; what :func:`safetygap.stages.report.value_counts` gives)."""
        counts = self.texts[name]
        order = sorted(counts, key=lambda k: -counts[k])
        return {str(k): int(counts[k]) for k in order}


def unique_rows(calls: pd.DataFrame) -> np.ndarray:
    """Boolean per call: its id is not a repeat (status other than ``duplicate_id``)."""
    return (calls[C.STATUS].cat.codes.to_numpy()
            != STATUS_ORDER.index(RowStatus.DUPLICATE_ID))


def _add_counts(into: dict[Any, int], values: pd.Series) -> None:
    """Add the counts of ``values`` (missing left out) to ``into``, new values at the
    end in the order they first appear."""
    codes, names = pd.factorize(values)
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    for name, k in zip(names, counts, strict=True):
        into[name] = into.get(name, 0) + int(k)


def _grouped(calls: pd.DataFrame) -> pd.DataFrame:
    """The batch's calls counted by :data:`GROUPED`: each column factorized, the codes
    joined into one integer key, the keys counted."""
    n = len(calls)
    cols: dict[str, Any] = {}
    for col in GROUPED:
        if col == PLACED:
            cols[col] = calls[C.N_IDX].to_numpy() >= 0
        elif col == IN_WARDS:
            cols[col] = calls[C.W_IDX].to_numpy() >= 0
        elif col == C.COVERABLE and col not in calls:  # every call coverable
            cols[col] = np.ones(n, dtype=bool)
        else:
            values = calls[col]
            cols[col] = (values if isinstance(values.dtype, pd.CategoricalDtype)
                         else values.to_numpy())
    codes = {}
    uniques = {}
    for col, values in cols.items():
        codes[col], found = pd.factorize(values, use_na_sentinel=False)
        uniques[col] = np.asarray(found, dtype=object)
    if np.prod([float(max(len(u), 1)) for u in uniques.values()]) >= 2.0**62:
        frame = pd.DataFrame({c: uniques[c][codes[c]] for c in GROUPED}).assign(**{N: 1})
        return _typed(frame.groupby(list(GROUPED), dropna=False, sort=False)[N].sum()
                      .reset_index(), cols)
    key = np.zeros(n, dtype=np.int64)
    for col in GROUPED:
        key = key * max(len(uniques[col]), 1) + codes[col]
    kcodes, keys = pd.factorize(key)
    counts = np.bincount(kcodes, minlength=len(keys)).astype(np.int64)
    out: dict[str, Any] = {}
    rest = np.asarray(keys, dtype=np.int64)
    for col in reversed(GROUPED):
        size = max(len(uniques[col]), 1)
        out[col] = uniques[col][rest % size] if len(keys) else np.zeros(0, dtype=object)
        rest = rest // size
    frame = pd.DataFrame({c: out[c] for c in GROUPED})
    frame[N] = counts
    return _typed(frame, cols)


def _typed(frame: pd.DataFrame, cols: dict[str, Any]) -> pd.DataFrame:
    """The boolean columns of the tally as bool (object after factorizing)."""
    for col in GROUPED:
        if isinstance(cols[col], np.ndarray) and cols[col].dtype == bool:
            frame[col] = frame[col].astype(bool)
    return frame
