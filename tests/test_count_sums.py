"""CountSums: count_calls a batch at a time, the same cube to the last bit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetygap.geo.aggregate import NONE_CODE, CountSums, count_calls


def _bincount_cube(area, year, fam, mask, weight, n_areas, years):
    """The cube the way count_calls made it before CountSums (np.bincount over every
    call at once): the reference."""
    keep = area >= 0
    year_idx = np.full(len(area), len(years), dtype=np.int64)
    for i, y in enumerate(years):
        year_idx[year == y] = i
    n_fam = NONE_CODE + 1
    key = (area[keep] * (len(years) + 1) + year_idx[keep]) * n_fam + fam[keep]
    w = None if weight is None else weight[keep]
    m = None if mask is None else mask[keep]
    weights = w if m is None else (m.astype(float) if w is None else w * m)
    c = np.bincount(key, weights=weights, minlength=n_areas * (len(years) + 1) * n_fam)
    c = c.reshape(n_areas, len(years) + 1, n_fam)
    c = np.concatenate([c.sum(axis=1, keepdims=True), c[:, :-1]], axis=1)
    out = np.concatenate([c.sum(axis=2, keepdims=True), c[:, :, :NONE_CODE]], axis=2)
    return np.rint(out).astype(np.int64) if weight is None else out


def _calls(seed: int, n: int = 20_000):
    rng = np.random.default_rng(seed)
    k = rng.choice([1, 1, 1, 2, 3, 7], n)  # split shares 1/k: sums depend on their order
    return {
        "area": rng.integers(-1, 6, n), "year": rng.choice([-1, 2021, 2022, 2024], n),
        "fam": rng.integers(0, NONE_CODE + 1, n), "diverted": rng.random(n) < 0.2,
        "eligible": rng.random(n) < 0.5, "covered": rng.random(n) < 0.6,
        "base": rng.random(n) < 0.8, "coverable": rng.random(n) < 0.9,
        "source": rng.integers(0, 3, n), "weight": 1.0 / k,
    }


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_give_the_cube_of_all_calls_at_once_bit_for_bit(seed: int,
                                                                 weighted: bool) -> None:
    c = _calls(seed)
    years = (2021, 2022, 2024)
    w = c["weight"] if weighted else None
    whole = count_calls(c["area"], c["year"], c["fam"], c["diverted"], c["eligible"],
                        c["covered"], n_areas=6, years=years, weight=w, base=c["base"],
                        coverable=c["coverable"], source=c["source"], n_sources=3)
    for name, mask in (("calls", None), ("diverted", c["diverted"]),
                       ("eligible", c["eligible"]),
                       ("eligible_not_diverted", c["eligible"] & ~c["diverted"]),
                       ("covered", c["covered"]), ("base", c["base"]),
                       ("coverable", c["coverable"])):
        ref = _bincount_cube(c["area"], c["year"], c["fam"], mask, w, 6, years)
        assert np.array_equal(getattr(whole, name), ref), name
    for s in range(3):
        ref = _bincount_cube(c["area"], c["year"], c["fam"], c["source"] == s, w, 6, years)
        assert np.array_equal(whole.by_source[..., s], ref)
    # batches of uneven sizes, years and sources learnt as they come, sources coded
    # differently (9, 4, 7 for 0, 1, 2): the same cube, bit for bit
    code = np.array([9, 4, 7])
    sums = CountSums(6, weighted=weighted, base=True, coverable=True)
    cuts = [0, 1, 17, 5000, 5001, 13_000, 20_000]
    for a, b in itertools.pairwise(cuts):
        sl = slice(a, b)
        sums.add(c["area"][sl], c["year"][sl], c["fam"][sl], c["diverted"][sl],
                 c["eligible"][sl], c["covered"][sl], weight=None if w is None else w[sl],
                 base=c["base"][sl], coverable=c["coverable"][sl],
                 source=code[c["source"][sl]])
    batched = sums.result(years, sources=(9, 4, 7))
    for name in ("calls", "diverted", "eligible", "eligible_not_diverted", "covered",
                 "base", "coverable", "by_source"):
        a, b = getattr(whole, name), getattr(batched, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert batched.periods == whole.periods


def test_fractional_sums_depend_on_order_so_the_check_can_fail() -> None:
    """The reference is strict: summing the shares batch by batch (a bincount per batch,
    added) gives other bits than the order of the calls."""
    c = _calls(4)
    w = c["weight"]
    key = np.zeros(len(w), dtype=np.int64)
    whole = np.bincount(key, weights=w)[0]
    per_batch = sum(np.bincount(key[a:a + 997], weights=w[a:a + 997])[0]
                    for a in range(0, len(w), 997))
    assert whole != per_batch
    acc = np.zeros(1)
    for a in range(0, len(w), 997):
        np.add.at(acc, key[a:a + 997], w[a:a + 997])
    assert acc[0] == whole


def test_a_year_first_seen_in_a_later_batch_and_unknown_years() -> None:
    sums = CountSums(2, weighted=False, base=False, coverable=False)
    ones = np.ones(3, dtype=bool)
    sums.add(np.array([0, 1, 1]), np.array([2020, -1, 2020]), np.array([0, 1, 3]),
             ~ones, ones, ones)
    sums.add(np.array([0, 0, -1]), np.array([2019, 2020, 2019]), np.array([2, 0, 0]),
             ones, ones, ~ones)
    got = sums.result((2019, 2020))
    assert got.periods == ("all", "2019", "2020")
    # area 0: 2020 response twice, 2019 restoration once
    assert got.calls[0].tolist() == [[3, 2, 0, 1], [1, 0, 0, 1], [2, 2, 0, 0]]
    # area 1: undated prevention (all only), 2020 "none" family (total only)
    assert got.calls[1].tolist() == [[2, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    assert got.diverted[0, 0].tolist() == [2, 1, 0, 1]
    with pytest.raises(ValueError, match="weight"):
        sums.add(np.array([0]), np.array([2020]), np.array([0]), ~ones[:1], ones[:1],
                 ones[:1], weight=np.ones(1))


# ------------------------------------------------------------------ merge (dask workers)

_FIELDS = ("calls", "diverted", "eligible", "eligible_not_diverted", "covered", "base",
           "coverable", "by_source")


def _add(sums: CountSums, c: dict, sl: slice, code: np.ndarray) -> None:
    sums.add(c["area"][sl], c["year"][sl], c["fam"][sl], c["diverted"][sl],
             c["eligible"][sl], c["covered"][sl], base=c["base"][sl],
             coverable=c["coverable"][sl], source=code[c["source"][sl]])


def _cuts(rng: np.random.Generator, a: int, b: int, k: int) -> list[int]:
    """``k`` - 1 random cuts of ``a``..``b`` (empty pieces allowed), sorted, with the ends."""
    return [a, *sorted(int(v) for v in rng.integers(a, b + 1, k - 1)), b]


def _same_result(a: CountSums, b: CountSums, years, sources) -> None:
    ra, rb = a.result(years, sources=sources), b.result(years, sources=sources)
    assert ra.periods == rb.periods
    for name in _FIELDS:
        x, y = getattr(ra, name), getattr(rb, name)
        if x is None or y is None:
            assert x is None and y is None and sources is None and name == "by_source"
            continue
        assert x.dtype == y.dtype and np.array_equal(x, y), name


@pytest.mark.parametrize("fixed", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_merged_workers_equal_one_sum_of_every_batch(seed: int, fixed: bool) -> None:
    """The calls cut at random places into 2-4 workers, each adding its part in uneven
    batches (years and sources learnt as they come); the workers' sums merged in order
    equal one CountSums that added every batch, for any years and sources asked, with
    the same year and source slots."""
    rng = np.random.default_rng(seed)
    c = _calls(seed, n=6000)
    # the first worker sees only 2022 and undated calls: the later workers' year slots
    # are laid out in another order than the sequential sums' (-1, 2022, 2021, 2024), so
    # a naive merge would add the wrong slots
    early = slice(0, 1500)
    c["year"][early] = np.where(c["year"][early] > 0, 2022, -1)
    code = np.array([7, 4, 9]) if seed % 2 else np.array([9, 4, 7])
    years = (2021, 2022, 2024) if fixed else None
    seq = CountSums(6, weighted=False, base=True, coverable=True, years=years)
    workers = []
    k = int(rng.integers(2, 5))
    ends = [*sorted(int(v) for v in rng.integers(1500, 6001, k - 1)), 6000]
    for i, (a, b) in enumerate(zip([0, *ends[:-1]], ends, strict=True)):
        w = CountSums(6, weighted=False, base=True, coverable=True, years=years)
        cuts = ([0, *_cuts(rng, 1500, b, int(rng.integers(1, 6)))] if i == 0
                else _cuts(rng, a, b, int(rng.integers(1, 6))))
        for p, q in itertools.pairwise(cuts):
            _add(w, c, slice(p, q), code)
            _add(seq, c, slice(p, q), code)
        workers.append(w)
    if not fixed:
        assert seq.year_slots == [-1, 2022, 2021, 2024]
        assert any(w.year_slots != [y for y in seq.year_slots if y in w.year_slots]
                   for w in workers)
    merged = workers[0]
    for w in workers[1:]:
        assert merged.merge(w) is merged
    assert merged.year_slots == seq.year_slots
    assert merged.source_slots == seq.source_slots
    for m in seq.masks:
        assert np.array_equal(merged.sums[m], seq.sums[m]), m
    for s in range(len(seq.by_source)):
        assert np.array_equal(merged.by_source[s], seq.by_source[s])
    _same_result(merged, seq, (2021, 2022, 2024), (9, 4, 7))
    if not fixed:  # other years and sources asked: the rest goes to "no year"
        _same_result(merged, seq, (2022,), (4, 5))
        _same_result(merged, seq, (2020, 2024, 2021), None)
    # and the check can fail: a worker's batch left out gives other counts
    short = CountSums(6, weighted=False, base=True, coverable=True, years=years)
    _add(short, c, slice(0, 5999), code)
    assert not np.array_equal(short.result((2021, 2022, 2024)).calls,
                              seq.result((2021, 2022, 2024)).calls)


def test_merge_by_hand_and_with_a_worker_of_no_calls() -> None:
    """Worker A: a 2020 call in area 0; worker B (nothing before): an undated call and a
    2019 call in area 1, source 5. Merged with an empty worker on either side."""
    t = np.ones(1, dtype=bool)
    a = CountSums(2, weighted=False, base=False, coverable=False)
    a.add(np.array([0]), np.array([2020]), np.array([0]), t, t, t, source=np.array([3]))
    b = CountSums(2, weighted=False, base=False, coverable=False)
    b.add(np.array([1, 1]), np.array([-1, 2019]), np.array([1, 3]), ~t.repeat(2),
          t.repeat(2), t.repeat(2), source=np.array([5, 5]))
    empty = CountSums(2, weighted=False, base=False, coverable=False)
    got = empty.merge(a).merge(b).merge(
        CountSums(2, weighted=False, base=False, coverable=False))
    assert got.year_slots == [-1, 2020, 2019]
    assert got.source_slots == [3, 5]
    r = got.result((2019, 2020), sources=(5, 3))
    assert r.calls[0].tolist() == [[1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0]]
    assert r.calls[1].tolist() == [[2, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    assert r.diverted[:, 0, 0].tolist() == [1, 0]
    assert r.by_source[1, 0, 0].tolist() == [2, 0] and r.by_source[0, 0, 0].tolist() == [0, 1]


def test_merge_refuses_what_cannot_be_joined_exactly() -> None:
    def sums(**kw):
        args = {"weighted": False, "base": False, "coverable": False, **kw}
        n = args.pop("n", 3)
        return CountSums(n, **args)

    with pytest.raises(ValueError, match="weighted"):
        sums().merge(sums(weighted=True))
    with pytest.raises(ValueError, match="weighted"):
        sums(weighted=True).merge(sums(weighted=True))
    with pytest.raises(ValueError, match="areas"):
        sums().merge(sums(n=4))
    with pytest.raises(ValueError, match="areas"):
        sums().merge(sums(base=True))
    with pytest.raises(ValueError, match="years"):
        sums(years=(2020,)).merge(sums())
    with pytest.raises(ValueError, match="years"):
        sums(years=(2020,)).merge(sums(years=(2021,)))
    sums(years=(2020,)).merge(sums(years=(2020,)))


def _allocation_calls(seed: int, n: int):
    import pandas as pd

    from safetygap.geo.boundary import Allocation
    from safetygap.tables import calls as C

    c = _calls(seed, n)
    calls = pd.DataFrame({
        C.FAMILY_CODE: c["fam"].astype(np.int8), C.YEAR: c["year"].astype(np.int32),
        C.DIVERTED: c["diverted"], C.ELIGIBLE: c["eligible"], C.COVERED: c["covered"],
        C.DIVERSION_BASE: c["base"], C.COVERABLE: c["coverable"],
        C.SOURCE_CODE: c["source"].astype(np.int16)})
    area = c["area"]

    def alloc(a: int, b: int) -> Allocation:
        call = np.flatnonzero(area[a:b] >= 0)
        return Allocation("contain", call, area[a:b][call], np.ones(len(call)),
                          (area[a:b] >= 0).astype(np.int64))
    return calls, alloc


@pytest.mark.parametrize("families", [None, ("response", "restoration")])
def test_allocation_sums_merge_under_contain(families) -> None:
    from safetygap.stages.areas import AllocationSums

    calls, alloc = _allocation_calls(6, 5000)
    rng = np.random.default_rng(6)
    seq = AllocationSums(6, "contain", calls)
    merged = None
    for a, b in itertools.pairwise(_cuts(rng, 0, 5000, 3)):
        w = AllocationSums(6, "contain", calls)
        for p, q in itertools.pairwise(_cuts(rng, a, b, 3)):
            part = calls.iloc[p:q].reset_index(drop=True)
            w.add(part, alloc(p, q), families=families)
            seq.add(part, alloc(p, q), families=families)
        merged = w if merged is None else merged.merge(w)
    want = seq.result((2021, 2022, 2024), sources=(0, 1, 2))
    got = merged.result((2021, 2022, 2024), sources=(0, 1, 2))
    assert np.array_equal(got.calls_per_area, want.calls_per_area)
    assert got.calls_per_area.sum() == (_calls(6, 5000)["area"] >= 0).sum()
    for name in _FIELDS:
        assert np.array_equal(getattr(got.counts, name), getattr(want.counts, name)), name
    with pytest.raises(ValueError, match="contain"):
        merged.merge(AllocationSums(6, "split", calls))


_batch = st.lists(st.tuples(st.integers(-1, 2), st.sampled_from([-1, 0, 2019, 2020, 2023]),
                            st.integers(0, NONE_CODE), st.booleans(), st.integers(0, 3)),
                  max_size=8)


@settings(max_examples=150, deadline=None)
@given(st.lists(_batch, max_size=8), st.lists(st.integers(0, 8), max_size=3))
def test_merge_equals_one_sum_for_any_batches_and_workers(batches, cuts):
    """Hypothesis: any batches (area, year, family, a flag, source) shared among workers
    at any cuts: merged, the slots and sums of one CountSums of every batch."""
    def add(sums, batch):
        a = np.array([c[0] for c in batch], dtype=np.int64)
        flag = np.array([c[3] for c in batch], dtype=bool)
        sums.add(a, np.array([c[1] for c in batch], dtype=np.int64),
                 np.array([c[2] for c in batch], dtype=np.int64), flag, ~flag, flag,
                 base=flag, source=np.array([c[4] for c in batch], dtype=np.int64))

    seq = CountSums(3, weighted=False, base=True, coverable=False)
    for b in batches:
        add(seq, b)
    ends = [*sorted(min(c, len(batches)) for c in cuts), len(batches)]
    merged = None
    for a, e in zip([0, *ends[:-1]], ends, strict=True):
        w = CountSums(3, weighted=False, base=True, coverable=False)
        for b in batches[a:e]:
            add(w, b)
        merged = w if merged is None else merged.merge(w)
    assert merged.year_slots == seq.year_slots and merged.source_slots == seq.source_slots
    for m in seq.masks:
        assert np.array_equal(merged.sums[m], seq.sums[m])
    for got, want in zip(merged.by_source, seq.by_source, strict=True):
        assert np.array_equal(got, want)
