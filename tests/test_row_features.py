"""The per-row features computed once per distinct value (issue 13's speed work) give
exactly what the row-by-row definitions give."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from safetygap.diversion import CALLS_FROM_SOURCES, CallsFrom, _priority_codes, counted_sources
from safetygap.inputs.calls import _call_sources
from safetygap.inputs.columns import ColumnMap
from safetygap.stages.rows import repeated
from safetygap.vocab import CallSource

STR = pd.Series(["x"]).dtype  # the text dtype the calls are read as

IDS = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "22-1", " a", ""])),
               max_size=60)


@settings(max_examples=80, deadline=None)
@given(IDS)
def test_repeated_is_duplicated_and_not_missing(ids: list[str | None]) -> None:
    s = pd.Series(ids, dtype=STR)
    want = (s.duplicated(keep="first") & s.notna()).to_numpy()
    got = repeated(s)
    assert got.dtype == bool and got.tolist() == want.tolist()
    # by hand: seen before on an earlier row
    seen: set[str] = set()
    by_hand = []
    for v in ids:
        by_hand.append(v is not None and v in seen)
        if v is not None:
            seen.add(v)
    assert got.tolist() == by_hand


@settings(max_examples=60, deadline=None)
@given(IDS, st.sampled_from([1, 2, 3]))
def test_repeated_when_hashes_collide(ids: list[str | None], buckets: int) -> None:
    """Ids whose 64-bit hashes collide are still told apart by their text: with every id
    hashed into 1-3 values, the answer is still ``duplicated() & notna()``."""
    import safetygap.stages.rows as rows

    def few(text):  # a hash with only `buckets` values: collisions everywhere
        return np.array([len(v) % buckets for v in text.to_pylist()], dtype=np.uint64)

    s = pd.Series(ids, dtype=STR)
    want = (s.duplicated(keep="first") & s.notna()).to_numpy()
    real = rows.id_hashes
    rows.id_hashes = few
    try:
        got = repeated(s)
    finally:
        rows.id_hashes = real
    assert got.tolist() == want.tolist()


def test_repeated_of_numbers_and_non_ascii_text() -> None:
    assert repeated(pd.Series([3, 1, 3, np.nan, 1, np.nan])).tolist() == [
        False, False, True, False, True, False]
    s = pd.Series(["é", "e", "é", "日本", None, "日本", "e"], dtype=STR)
    assert repeated(s).tolist() == [False, False, True, False, False, True, True]


def test_repeated_by_hand() -> None:
    s = pd.Series(["7", None, "7", "8", None, "8", "7", "9"], dtype=STR)
    assert repeated(s).tolist() == [False, False, True, False, False, True, True, False]
    assert repeated(pd.Series([], dtype=STR)).tolist() == []


SOURCES = [str(s) for s in CallSource]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(SOURCES)), max_size=40),
       st.sampled_from(list(CallsFrom)))
def test_counted_sources_row_by_row(values: list[str | None], calls_from: CallsFrom) -> None:
    keep = {str(s) for s in CALLS_FROM_SOURCES[calls_from]}
    want = [v is not None and v in keep for v in values]
    cat = pd.Categorical(values, categories=SOURCES)
    assert counted_sources(pd.Series(cat), calls_from).tolist() == want
    assert counted_sources(pd.Series(values, dtype=object), calls_from).tolist() == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["1", " 2", "2", "2.0", "2.5", "x",
                                                      "", " 3 "])), max_size=40))
def test_priority_codes_row_by_row(values: list[str | None]) -> None:
    """Each row's key: its text trimmed and read as a number, an integer or None."""
    codes, keys = _priority_codes(pd.Series(values, dtype=STR), len(values))
    got = [keys[c] if c >= 0 else "missing" for c in codes]
    want = []
    for v in values:
        num = pd.to_numeric(pd.Series([v], dtype="string").str.strip(), errors="coerce")[0]
        want.append("missing" if pd.isna(num) else int(num) if float(num).is_integer()
                    else None)
    assert got == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["Y", " y", "N", "n ", "", "Q", "q"])),
                max_size=40))
def test_call_sources_row_by_row(values: list[str | None]) -> None:
    """The source column through its mapping (trimmed, case ignored; empty or missing: not
    recorded); unmapped values counted by their trimmed text."""
    cmap = ColumnMap(source="src", source_values={"Y": "officer_initiated", "N": "public_911"})
    unmapped: dict[str, int] = {}
    got = _call_sources(pd.DataFrame({"src": pd.Series(values, dtype=STR)}), cmap, unmapped)
    mapping = {"y": "officer_initiated", "n": "public_911"}
    want, bad = [], {}
    for v in values:
        t = None if v is None else v.strip()
        if t and t.casefold() not in mapping:
            bad[t] = bad.get(t, 0) + 1
        want.append(mapping.get((t or "").casefold(), "not_recorded"))
    assert list(got.astype(str)) == want
    assert list(got.categories) == SOURCES
    assert unmapped == bad


def test_default_source_for_every_row() -> None:
    got = _call_sources(pd.DataFrame({"a": np.arange(3)}), ColumnMap(), {})
    assert list(got.astype(str)) == [str(ColumnMap().default_source)] * 3


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(SOURCES)), max_size=40))
def test_value_counts_is_the_text_value_counts(values: list[str | None]) -> None:
    """Counts of a categorical column without a text per row: the same dict, in the same
    order (most first, ties in order of first appearance), as counting the texts."""
    from safetygap.stages.report import value_counts

    s = pd.Series(pd.Categorical(values, categories=SOURCES))
    want = {str(k): int(v) for k, v in s.astype(str).value_counts().items()}
    assert list(value_counts(s).items()) == list(want.items())
    by_hand: dict[str, int] = {}
    for v in values:
        if v is not None:
            by_hand[v] = by_hand.get(v, 0) + 1
    assert value_counts(s) == by_hand


def test_channel_counts_of_a_categorical() -> None:
    from safetygap.diversion import channel_counts
    from safetygap.vocab import Channel, allowed

    chans = ["police", "behavioral_crisis", "police", None]
    cat = pd.Series(pd.Categorical(chans, categories=allowed(Channel)))
    got = channel_counts(cat)
    assert got == channel_counts(pd.Series(chans, dtype=object))
    assert list(got) == list(allowed(Channel))
    assert (got["police"], got["behavioral_crisis"], got["fire_ems"]) == (2, 1, 0)
    assert sum(got.values()) == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-2_000_000_000, 7_000_000_000_000)),
                max_size=30), st.sampled_from(["epoch_ms", "epoch_s"]),
       st.booleans())
def test_epoch_times_are_what_pandas_gives(values: list[int | None], fmt: str,
                                           fraction: bool) -> None:
    """Whole epoch numbers by integer arithmetic, fractions by pandas: either way what
    ``pd.to_datetime(unit=...)`` gives for the values in the 1900..2200 window."""
    from safetygap.inputs.times import parse_times

    text = [None if v is None else (f"{v}.25" if fraction else str(v)) for v in values]
    got, bad = parse_times(pd.Series(text, dtype=STR), fmt)
    unit = "ms" if fmt == "epoch_ms" else "s"
    lo, hi = (-2.2e12, 7.2e12) if unit == "ms" else (-2.2e9, 7.2e9)
    num = pd.Series([np.nan if t is None else float(t) for t in text], dtype=float)
    want = pd.to_datetime(num.where((num >= lo) & (num <= hi)), unit=unit, errors="coerce")
    assert got.to_numpy().tolist() == want.to_numpy(dtype="datetime64[ns]").tolist()
    assert bad.tolist() == want.isna().tolist()


def test_epoch_by_hand() -> None:
    from safetygap.inputs.times import parse_times

    got, bad = parse_times(pd.Series(["1640995214000", None, "x"], dtype=STR), "epoch_ms")
    assert str(got[0]) == "2022-01-01 00:00:14" and bad.tolist() == [False, True, True]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(
    ["1.5", " 1.5", "2 ", "-3e2", "+4", ".5", "nan", "inf", "", "x", "0x10", "1,5"])),
    max_size=20))
def test_to_float_trims_and_refuses_what_is_not_a_number(values: list[str | None]) -> None:
    from safetygap.inputs.files import to_float

    by_hand = {"1.5": 1.5, " 1.5": 1.5, "2 ": 2.0, "-3e2": -300.0, "+4": 4.0, ".5": 0.5}
    got = to_float(pd.Series(values, dtype=STR))
    want = [by_hand.get(v, np.nan) if v is not None else np.nan for v in values]
    np.testing.assert_array_equal(got, np.array(want, dtype=float))


def test_kept_row_numbers_with_and_without_skipped_rows() -> None:
    from safetygap.inputs.malformed import kept_row_numbers

    assert kept_row_numbers(10, 4, np.array([], dtype=np.int64)).tolist() == [11, 12, 13, 14]
    assert kept_row_numbers(10, 4, np.array([3, 12, 20])).tolist() == [11, 13, 14, 15]
    assert kept_row_numbers(10, 4, np.array([3])).tolist() == [11, 12, 13, 14]
