"""Row statuses of calls: one exclusive status per input row, shared by both engines."""

from __future__ import annotations

import numpy as np

from safetygap.vocab import ROW_STATUSES, RowStatus

STATUS_ORDER: tuple[str, ...] = ROW_STATUSES
"""Exclusive row statuses, in priority order: a row with several faults gets the first."""

ANALYSED_STATUSES: tuple[str, ...] = (RowStatus.OK.value, RowStatus.UNPARSEABLE_DATE.value,
                                      RowStatus.UNKNOWN_CALL_TYPE.value)
"""Statuses whose calls are counted in areas (the others cannot be placed)."""

ANALYSED_CODES = np.array([STATUS_ORDER.index(s) for s in ANALYSED_STATUSES], dtype=np.int8)


def row_faults(
    dup: np.ndarray,
    coord_fault: np.ndarray,
    n_idx: np.ndarray,
    w_idx: np.ndarray,
    no_date: np.ndarray,
    known: np.ndarray,
    date_outside: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Boolean mask per fault (a row may have several), keyed by status name.
    ``date_outside``: rows dated outside the plausible window
    (:mod:`safetygap.inputs.date_window`; None: none)."""
    coord = np.asarray(coord_fault)
    outside = (np.zeros(len(coord), dtype=bool) if date_outside is None
               else np.asarray(date_outside, dtype=bool))
    return {
        RowStatus.DUPLICATE_ID.value: np.asarray(dup, dtype=bool),
        RowStatus.MISSING_COORDINATES.value: coord == 1,
        RowStatus.INVALID_COORDINATES.value: coord == 2,
        RowStatus.ZERO_COORDINATES.value: coord == 3,
        RowStatus.OUTSIDE_BOUNDARIES.value: (coord == 0) & ((n_idx < 0) | (w_idx < 0)),
        RowStatus.DATE_OUTSIDE_WINDOW.value: outside,
        RowStatus.UNPARSEABLE_DATE.value: np.asarray(no_date, dtype=bool),
        RowStatus.UNKNOWN_CALL_TYPE.value: ~np.asarray(known, dtype=bool),
    }


def status_codes(faults: dict[str, np.ndarray]) -> np.ndarray:
    """int8 code into :data:`STATUS_ORDER` per row: the first fault that applies, else ok."""
    n = len(faults[RowStatus.DUPLICATE_ID])
    status = np.full(n, len(STATUS_ORDER) - 1, dtype=np.int8)
    for code in range(len(STATUS_ORDER) - 2, -1, -1):  # lowest code (highest priority) last
        status[faults[STATUS_ORDER[code]]] = code
    return status


def placed(status: np.ndarray) -> np.ndarray:
    """Rows counted in areas (status in :data:`ANALYSED_STATUSES`)."""
    return np.isin(status, ANALYSED_CODES)
