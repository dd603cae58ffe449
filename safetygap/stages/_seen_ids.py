"""The call ids seen so far in a streamed analysis, without holding them as Python strings.

Each id is hashed to 64 bits (:func:`id_hashes`); the hashes seen are kept as sorted numpy
runs (8 bytes an id, merged as they grow). A hash seen before makes a row only a
*candidate* repeat: the ids themselves are spilled batch by batch to files on disk (sorted
by hash, with their hashes beside them), and a candidate is a repeat only when one of the
spilled ids with its hash is the very same text. So two different ids whose hashes happen
to collide are never taken for one another: the answer is exact, like
``pandas.Series.duplicated(keep="first")`` on every id of the calls at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from safetygap.geo.sorted_runs import MAX_MERGED, distinct_sorted, merge_sorted

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def id_hashes(ids: pa.Array) -> np.ndarray:
    """A 64-bit hash (uint64) of every id's UTF-8 text (missing ids hash like ``""``):
    the length, then each 8-byte word of the bytes (the last padded with zeros), mixed by
    the splitmix64 finaliser: an id's hash does not depend on the other ids. ASCII
    ids are hashed with numpy in a few vectorised passes; other text by pandas'
    ``hash_array`` (slower; each id by its own kind, so the same in any batch)."""
    ids = pc.fill_null(ids, "")
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    ascii_ = pc.string_is_ascii(ids).to_numpy(zero_copy_only=False)
    if not ascii_.all():  # each id by its own text's kind: the same hash in any batch
        out = np.empty(n, dtype=np.uint64)
        other = np.flatnonzero(~ascii_)
        out[other] = pd.util.hash_array(np.asarray(ids.take(pa.array(other)).to_pylist(),
                                                   dtype=object))
        rest = np.flatnonzero(ascii_)
        out[rest] = id_hashes(ids.take(pa.array(rest))) if len(rest) else []
        return out
    lens = pc.binary_length(ids).to_numpy(zero_copy_only=False).astype(np.uint64)
    width = max(8, (int(lens.max()) + 7) // 8 * 8)
    padded = pc.utf8_rpad(ids, width=width, padding="\x00")
    fixed = pc.cast(pc.cast(padded, pa.binary()), pa.binary(width))
    if isinstance(fixed, pa.ChunkedArray):
        fixed = fixed.combine_chunks()
    words = np.frombuffer(fixed.buffers()[1], dtype=np.uint64, count=n * width // 8,
                          offset=fixed.offset * width).reshape(n, width // 8)
    h = _mix(lens * _GOLDEN)
    with np.errstate(over="ignore"):
        for j in range(words.shape[1]):  # only an id's own words: the same hash in any batch
            longer = lens > 8 * j
            h = np.where(longer, _mix(h ^ words[:, j]), h)
    return h


def _mix(h: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser of every value (uint64, wrapping)."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(30))
        h = h * _MIX1
        h = h ^ (h >> np.uint64(27))
        h = h * _MIX2
        return h ^ (h >> np.uint64(31))


class SeenIds:
    """The ids of the batches seen so far (:meth:`repeated` marks a batch's repeats and
    then adds its ids). ``spill`` is a directory for the ids' files (removed by the
    caller)."""

    def __init__(self, spill: Path):
        self.spill = spill
        self.runs: list[np.ndarray] = []  # sorted hashes, sizes falling
        self.files: list[tuple[Path, Path]] = []  # per batch: (hashes .npy, ids .arrow)
        self.collisions = 0  # candidates whose text differed (different ids, same hash)

    @property
    def count(self) -> int:
        """Distinct ids seen (different ids with colliding hashes once)."""
        return sum(len(r) for r in self.runs)

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.runs)

    def repeated(self, ids: pa.Array) -> np.ndarray:
        """Per id of the batch (trimmed text; missing: never repeated): True when it was
        seen in an earlier row, of this batch or of any earlier one."""
        ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        if ids.null_count:
            present = np.flatnonzero(~ids.is_null().to_numpy(zero_copy_only=False))
            ids_present = ids.take(pa.array(present))
        else:
            present, ids_present = np.arange(len(ids)), ids
        h_all = id_hashes(ids_present)
        dup = np.zeros(len(ids), dtype=bool)
        # in the batch: rows whose hash another row has, compared by their text
        order = np.argsort(h_all)
        same = h_all[order[1:]] == h_all[order[:-1]]
        keep = np.ones(len(present), dtype=bool)
        if same.any():
            rows = np.zeros(len(present), dtype=bool)
            rows[order[1:][same]] = True
            rows[order[:-1][same]] = True
            some = np.flatnonzero(rows)  # input order
            texts = pd.Series(pd.array(ids_present.take(pa.array(some)),
                                       dtype=pd.StringDtype("pyarrow")))
            keep[some] = ~texts.duplicated(keep="first").to_numpy()
            dup[present[some]] = ~keep[some]
        order = order[keep[order]]  # the batch's own first occurrences, by hash
        first = present[order]
        h_sorted = h_all[order]
        candidate = np.zeros(len(first), dtype=bool)
        for run in self.runs:
            pos = np.searchsorted(run, h_sorted)
            hit = pos < len(run)
            hit[hit] = run[pos[hit]] == h_sorted[hit]
            candidate |= hit
        cand = np.flatnonzero(candidate)
        if len(cand):
            seen = self._seen_texts(h_sorted[cand], ids.take(pa.array(first[cand])).to_pylist())
            dup[first[cand[seen]]] = True
            self.collisions += int((~seen).sum())
        self._add(h_sorted, ids.take(pa.array(first)), new=~candidate)
        return dup

    def _seen_texts(self, hashes: np.ndarray, texts: list[str]) -> np.ndarray:
        """Per candidate (its hash and text): whether an earlier batch had that text
        among its ids of that hash. Each spilled batch is opened once for them all."""
        found = np.zeros(len(texts), dtype=bool)
        for hashes_path, ids_path in self.files:
            spilled = np.load(hashes_path, mmap_mode="r")
            lo = np.searchsorted(spilled, hashes, side="left")
            hi = np.searchsorted(spilled, hashes, side="right")
            todo = np.flatnonzero((hi > lo) & ~found)
            if not len(todo):
                continue
            with pa.memory_map(str(ids_path)) as source:
                column = pa.ipc.open_file(source).read_all().column(0)
                for k in todo:
                    found[k] = texts[k] in column.slice(int(lo[k]), int(hi[k] - lo[k])
                                                        ).to_pylist()
        return found

    def _add(self, h_sorted: np.ndarray, ids_sorted: pa.Array, *, new: np.ndarray) -> None:
        """Keep the batch's hashes not seen before (``new``: a sorted run, merged with the
        last while not smaller, up to :data:`MAX_MERGED` hashes) and spill all its ids,
        sorted by hash."""
        k = len(self.files)
        hashes_path = self.spill / f"ids-{k:06d}.npy"
        ids_path = self.spill / f"ids-{k:06d}.arrow"
        np.save(hashes_path, h_sorted)
        table = pa.table({"id": ids_sorted})
        with pa.OSFile(str(ids_path), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        self.files.append((hashes_path, ids_path))
        run = _distinct(h_sorted[new])  # colliding hashes of one batch kept once
        while (self.runs and len(self.runs[-1]) <= 2 * len(run)
               and len(self.runs[-1]) + len(run) <= MAX_MERGED):
            run = merge_sorted(self.runs.pop(), run)[0]  # in about the result's memory
        self.runs.append(run)


def _distinct(sorted_values: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array (np.unique hashes, slower here)."""
    if len(sorted_values) < 2:
        return sorted_values
    return sorted_values[distinct_sorted(sorted_values)]
