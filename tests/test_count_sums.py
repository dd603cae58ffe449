"""CountSums: count_calls a batch at a time, the same cube to the last bit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

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
