"""Row flags and the display status of calls, shared by both engines.

Every input row carries independent **flags** (:class:`~safetygap.vocab.RowFlag`): a call
can be both undated and of an unknown type, and is counted under both. Neighborhoods and
wards are joined independently: a call outside every ward keeps its neighborhood
(:func:`placed_masks`). The **status** (:data:`STATUS_ORDER`) is one value per row derived
from the flags for display: the first that applies.
"""

from __future__ import annotations

import numpy as np

from safetygap.vocab import ROW_STATUSES, RowFlag, RowStatus

FLAGS: tuple[str, ...] = tuple(f.value for f in RowFlag)
"""Independent row flags, in the order of :class:`~safetygap.vocab.RowFlag`."""

STATUS_ORDER: tuple[str, ...] = ROW_STATUSES
"""Display statuses, in priority order: a row with several flags shows the first.
``outside_boundaries``: located, but outside every neighborhood *and* every ward."""

ANALYSED_STATUSES: tuple[str, ...] = (RowStatus.OK.value, RowStatus.UNPARSEABLE_DATE.value,
                                      RowStatus.UNKNOWN_CALL_TYPE.value)
"""Statuses of the calls placed in at least one layer (which layer: the row's area ids)."""


def row_faults(
    dup: np.ndarray,
    coord_fault: np.ndarray,
    n_idx: np.ndarray,
    w_idx: np.ndarray,
    no_date: np.ndarray,
    known: np.ndarray,
    date_outside: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Boolean mask per flag (:data:`FLAGS`) and per display fault (``outside_boundaries``:
    outside both layers); a row may have several. ``date_outside``: rows dated outside the
    plausible window (:mod:`safetygap.inputs.date_window`; None: none)."""
    coord = np.asarray(coord_fault)
    located = coord == 0
    out_n = located & (np.asarray(n_idx) < 0)
    out_w = located & (np.asarray(w_idx) < 0)
    outside = (np.zeros(len(coord), dtype=bool) if date_outside is None
               else np.asarray(date_outside, dtype=bool))
    return {
        RowFlag.DUPLICATE_ID.value: np.asarray(dup, dtype=bool),
        RowFlag.MISSING_COORDINATES.value: coord == 1,
        RowFlag.INVALID_COORDINATES.value: coord == 2,
        RowFlag.ZERO_COORDINATES.value: coord == 3,
        RowFlag.OUTSIDE_NEIGHBORHOODS.value: out_n,
        RowFlag.OUTSIDE_WARDS.value: out_w,
        RowStatus.OUTSIDE_BOUNDARIES.value: out_n & out_w,
        RowFlag.DATE_OUTSIDE_WINDOW.value: outside,
        RowFlag.UNPARSEABLE_DATE.value: np.asarray(no_date, dtype=bool),
        RowFlag.UNKNOWN_CALL_TYPE.value: ~np.asarray(known, dtype=bool),
    }


def status_codes(faults: dict[str, np.ndarray]) -> np.ndarray:
    """int8 code into :data:`STATUS_ORDER` per row: the first fault that applies, else ok."""
    n = len(faults[RowStatus.DUPLICATE_ID])
    status = np.full(n, len(STATUS_ORDER) - 1, dtype=np.int8)
    for code in range(len(STATUS_ORDER) - 2, -1, -1):  # lowest code (highest priority) last
        status[faults[STATUS_ORDER[code]]] = code
    return status


def placed_masks(
    dup: np.ndarray,
    coord_fault: np.ndarray,
    n_idx: np.ndarray,
    w_idx: np.ndarray,
    counted: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(in a neighborhood, in a ward) per row, each layer on its own: a located call with
    no repeated id inside an area of the layer (and, given ``counted``, counted as
    demand). Undated calls and calls of unknown type are placed."""
    ok = ~np.asarray(dup, dtype=bool) & (np.asarray(coord_fault) == 0)
    if counted is not None:
        ok &= np.asarray(counted, dtype=bool)
    return ok & (np.asarray(n_idx) >= 0), ok & (np.asarray(w_idx) >= 0)
