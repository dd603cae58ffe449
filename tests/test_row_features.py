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
