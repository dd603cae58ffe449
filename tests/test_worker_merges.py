"""What dask workers return, merged in the calls' order: the streaming engine's call tally
(:class:`~safetygap.stages.tally.CallTally`) and calls-table writer
(:class:`~safetygap.tables.calls.StreamWriter`) of workers that each saw a part of the
batches equal, once merged, the tally and the file of one stream over every batch.

The batches are the very ones the streaming engine gives (recorded from a run on the demo
city), cut again at random places and shared out among 2-4 workers at random.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import pickle

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from safetygap.stages import tally as T
from safetygap.stages.tally import CallTally
from safetygap.tables import calls as C


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The frames the streaming engine gives its tally and its writer, batch by batch
    (the demo city's 6,000 calls in batches of 300: more than 16, so the tally joins its
    parts on the way), the CRS and the workspace's calls table."""
    from safetygap.demo import generate_city, write_city
    from safetygap.inputs import load_preset
    from safetygap.pipeline import AnalysisOptions, default_inputs
    from safetygap.run import run_analysis

    root = tmp_path_factory.mktemp("merges")
    city = generate_city(seed=5, n_calls=6000)
    paths = write_city(city, root / "city")
    as_of = json.loads(paths["meta"].read_text(encoding="utf-8"))["inventory"]["as_of"]
    opts = AnalysisOptions(columns=load_preset("minneapolis-911"), preset="minneapolis-911",
                           synthetic=True, as_of=dt.date.fromisoformat(as_of),
                           engine="stream", batch_rows=300)
    frames: dict[str, list[pd.DataFrame]] = {"tally": [], "writer": []}
    crs: list[str] = []
    add, write, init = CallTally.add, C.StreamWriter.write, C.StreamWriter.__init__

    def recording_add(self, calls):
        frames["tally"].append(calls.copy())
        return add(self, calls)

    def recording_write(self, frame):
        frames["writer"].append(frame.copy())
        return write(self, frame)

    def recording_init(self, path, crs_, spill_dir):
        crs.append(crs_)
        init(self, path, crs_, spill_dir)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CallTally, "add", recording_add)
        mp.setattr(C.StreamWriter, "write", recording_write)
        mp.setattr(C.StreamWriter, "__init__", recording_init)
        run_analysis(default_inputs(root / "city"), root / "ws", options=opts, quiet=True)
    assert len(frames["tally"]) == len(frames["writer"]) == 20
    return frames, crs[0], root / "ws" / C.FILE


def _pieces(frames: list[pd.DataFrame], rng: np.random.Generator) -> list[pd.DataFrame]:
    """Every frame cut again at 0-2 random rows (empty pieces left out)."""
    out = []
    for f in frames:
        cuts = [0, *sorted(int(v) for v in rng.integers(0, len(f) + 1, rng.integers(0, 3))),
                len(f)]
        out.extend(f.iloc[a:b] for a, b in itertools.pairwise(cuts) if b > a)
    return out


def _workers(pieces: list, rng: np.random.Generator) -> list[list]:
    """The pieces in order shared out among 2-4 workers (a worker may get none)."""
    k = int(rng.integers(2, 5))
    ends = [*sorted(int(v) for v in rng.integers(0, len(pieces) + 1, k - 1)), len(pieces)]
    return [pieces[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


# ------------------------------------------------------------------ the tally


def _tally_frames(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The tally's frames with 16 calls of unknown types U0..U7, each type twice (all
    tied: ``most_common`` lists them in the order they first appear): U7, U6 .. U0 over
    the first half of the calls, then U0 .. U7; so a worker that starts later sees them
    first in another order than the whole stream."""
    out = [f.copy() for f in frames]
    for j in range(16):
        p = 150 + 370 * j
        f, i = out[p // 300], p % 300
        f.iloc[i, f.columns.get_loc(C.CALL_TYPE)] = f"U{7 - j}" if j < 8 else f"U{j - 8}"
        f.iloc[i, f.columns.get_loc(C.KNOWN)] = False
    return out


def _tally(pieces: list[pd.DataFrame]) -> CallTally:
    t = CallTally()
    for p in pieces:
        t.add(p)
    return t


def _assert_same_tally(got: CallTally, want: CallTally) -> None:
    assert got.rows == want.rows
    assert got.flags == want.flags and got.placed_areas == want.placed_areas
    assert got.source_categories == want.source_categories
    assert got._dtypes == want._dtypes
    for name, counts in want.texts.items():
        assert list(got.texts[name].items()) == list(counts.items()), name  # order too
        pd.testing.assert_series_equal(got.most_common(name), want.most_common(name))
        assert list(got.first_seen(name).items()) == list(want.first_seen(name).items())
    pd.testing.assert_frame_equal(got.table, want.table)  # rows in the same order


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_merged_tallies_equal_one_tally_of_every_batch(recorded, seed):
    frames, _, _ = recorded
    rng = np.random.default_rng(seed)
    pieces = _pieces(_tally_frames(frames["tally"]), rng)
    want = _tally(pieces)
    parts = _workers(pieces, rng)
    workers = [_tally(w) for w in parts]
    merged = workers[0]
    for w in workers[1:]:
        assert merged.merge(pickle.loads(pickle.dumps(w))) is merged
    _assert_same_tally(merged, want)
    # and into an empty tally (the client's)
    client = CallTally()
    for part in parts:
        client.merge(_tally(part))
    _assert_same_tally(client, want)


def test_merged_tallies_keep_the_order_of_first_appearance(recorded):
    """Not vacuous: the second worker sees texts and table rows in another order than
    the whole stream (ties in ``most_common`` break by it), and the tally's rows are
    joined every 16 parts on either side."""
    frames, _, _ = recorded
    tallies = _tally_frames(frames["tally"])
    first, second = _tally(tallies[:3]), _tally(tallies[3:])
    want = _tally(tallies)
    assert len(second._parts) < 16 < len(tallies)
    assert list(want.most_common(T.UNKNOWN_TYPES).index[:8]) == [
        f"U{i}" for i in range(7, -1, -1)]
    assert [k for k in second.texts[T.UNKNOWN_TYPES] if k.startswith("U")] == [
        "U4", "U3", "U2", "U1", "U0", "U5", "U6", "U7"]
    for name in (T.UNKNOWN_TYPES, T.UNKNOWN_COUNTED, T.AGENCIES):
        seen = list(second.texts[name])
        assert seen != [k for k in want.texts[name] if k in second.texts[name]], name
    keys = list(T.GROUPED)
    order = [tuple(r) for r in second.table[keys].astype(str).itertuples(index=False)]
    whole = [tuple(r) for r in want.table[keys].astype(str).itertuples(index=False)]
    assert order != [r for r in whole if r in set(order)]
    _assert_same_tally(first.merge(second), want)


# ------------------------------------------------------------------ the writer


def _with_feed(frames: list[pd.DataFrame], rng: np.random.Generator) -> list[pd.DataFrame]:
    """A feed column (categorical, as :func:`~safetygap.tables.calls.build` adds it): the
    first frames only "911", later ones "web" and "311" in random order, so the workers'
    first-seen codes differ; from the sixth frame on ``year`` comes as int64 (cast to
    the first batch's int32 as one writer casts it)."""
    out = []
    for i, f in enumerate(frames):
        f = f.copy()
        values = (["911"] * len(f) if i < 4
                  else rng.choice(["911", "311", "web", None], len(f)).tolist())
        f.insert(f.columns.get_loc(C.STATUS), C.FEED,
                 pd.Categorical(pd.array(values, dtype="string")))
        if i >= 5:
            f[C.YEAR] = f[C.YEAR].astype(np.int64)
        out.append(f)
    return out


def _write(pieces, path, crs, spill_dir) -> C.StreamWriter:
    spill_dir.mkdir(parents=True, exist_ok=True)
    w = C.StreamWriter(path, crs, spill_dir)
    for p in pieces:
        w.write(p)
    return w


def _assert_same_file(got, want) -> None:
    a, b = pq.read_table(got), pq.read_table(want)
    assert a.schema.equals(b.schema, check_metadata=True)
    assert a.equals(b)
    assert a.schema.metadata[b"geo"] == b.schema.metadata[b"geo"]  # the bbox of all


@pytest.mark.parametrize(("seed", "feed"), [(1, False), (2, False), (3, True), (4, True),
                                            (5, True)])
def test_merged_writers_write_the_file_of_one_writer(recorded, tmp_path, seed, feed):
    """Workers (each its own spill folder) write their parts, seal and are pickled (as
    dask returns them), then merged in order into a client's writer that wrote nothing:
    its file is the file one writer given every batch writes (and the streaming
    engine's workspace table); no spill is left anywhere."""
    frames, crs, stored = recorded
    rng = np.random.default_rng(seed)
    batches = _with_feed(frames["writer"], rng) if feed else frames["writer"]
    pieces = _pieces(batches, rng)
    one = _write(pieces, tmp_path / "one.parquet", crs, tmp_path / "one")
    one.close()
    parts = _workers(pieces, rng)
    workers = []
    for i, part in enumerate(parts):
        w = _write(part, tmp_path / f"w{i}" / "unused.parquet", crs, tmp_path / f"w{i}")
        w.seal()
        workers.append(pickle.loads(pickle.dumps(w)))
    client = C.StreamWriter(tmp_path / "merged.parquet", crs, tmp_path / "client")
    for w in workers:
        client.merge(w)
    assert client.rows == one.rows == sum(len(p) for p in pieces)
    client.close()
    _assert_same_file(tmp_path / "merged.parquet", tmp_path / "one.parquet")
    if not feed:
        _assert_same_file(tmp_path / "merged.parquet", stored)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "merged.parquet", "one.parquet"]
    # not vacuous: some worker saw the categories first in another order than the whole
    codes = [w._seen for w in workers if w.rows]
    assert any(list(s[col]) != [v for v in one._seen[col] if v in s[col]]
               for s in codes for col in (C.CATEGORY, C.FEED))


def test_segments_with_other_first_seen_orders_by_hand(tmp_path):
    """Two writers whose category values came in opposite orders (codes 0/1 swapped),
    the second's year as int64: merged, the file equals one writer's, categories sorted;
    a writer's own batches come before the merged ones."""
    def frame(cats: list[str], rows: list[int], year_dtype=np.int32) -> pd.DataFrame:
        n = len(cats)
        return pd.DataFrame({
            C.ROW: np.array(rows, dtype=np.int64), C.YEAR: np.full(n, 2024, dtype=year_dtype),
            C.STATUS: pd.Categorical(["ok"] * n, categories=["ok", "duplicate_id"]),
            C.CATEGORY: pd.Categorical(pd.array(cats, dtype="string")),
            C.X: np.arange(n, dtype=float) + rows[0], C.Y: np.ones(n)})

    a = [frame(["theft", "noise", None], [1, 2, 3])]
    b = [frame(["noise", "alarm"], [4, 5], np.int64), frame(["theft"], [6])]
    one = _write(a + b, tmp_path / "one.parquet", "EPSG:26915", tmp_path / "one")
    one.close()
    first = _write(a, tmp_path / "first.parquet", "EPSG:26915", tmp_path / "first")
    second = _write(b, tmp_path / "u.parquet", "EPSG:26915", tmp_path / "second")
    second.seal()
    empty = C.StreamWriter(tmp_path / "u.parquet", "EPSG:26915", tmp_path / "none")
    empty.seal()
    assert list(first._seen[C.CATEGORY]) == ["theft", "noise"]
    assert list(second._seen[C.CATEGORY]) == ["noise", "alarm", "theft"]
    first.merge(empty)
    first.merge(second)  # first is not sealed: its own spill is finished by close()
    first.close()
    _assert_same_file(tmp_path / "first.parquet", tmp_path / "one.parquet")
    got = pd.read_parquet(tmp_path / "first.parquet")
    assert got[C.ROW].tolist() == [1, 2, 3, 4, 5, 6]
    assert got[C.CATEGORY].astype(object).tolist() == [
        "theft", "noise", np.nan, "noise", "alarm", "theft"]
    assert list(got[C.CATEGORY].cat.categories) == ["alarm", "noise", "theft"]
    assert got[C.YEAR].dtype == np.int32
    assert not (tmp_path / "second" / "calls-spill.arrow").exists()
    assert not (tmp_path / "first" / "calls-spill.arrow").exists()


def test_writer_merge_refusals(tmp_path):
    def frame(status_categories):
        return pd.DataFrame({C.ROW: np.array([1]), C.STATUS: pd.Categorical(
            ["ok"], categories=status_categories), C.X: [1.0], C.Y: [2.0]})

    a = _write([frame(["ok", "other"])], tmp_path / "a.parquet", "EPSG:26915", tmp_path / "a")
    b = _write([frame(["ok"])], tmp_path / "b.parquet", "EPSG:26915", tmp_path / "b")
    with pytest.raises(ValueError, match="seal"):
        a.merge(b)
    b.seal()
    with pytest.raises(ValueError, match="column status"):
        a.merge(b)
    with pytest.raises(ValueError, match="after seal"):
        b.write(frame(["ok"]))
    nothing = C.StreamWriter(tmp_path / "n.parquet", "EPSG:26915", tmp_path / "n")
    empty = C.StreamWriter(tmp_path / "e.parquet", "EPSG:26915", tmp_path / "e")
    empty.seal()
    nothing.merge(empty)
    with pytest.raises(ValueError, match="no calls"):
        nothing.close()
