"""Counting calls per area, period and family.

The result is a dense cube: axis 0 the areas (positional), axis 1 the periods
(``"all"`` then each year), axis 2 the families (``"total"`` then
response, prevention, restoration). ``"total"`` counts every call, including
calls whose type signals no service family (family ``none``), so
``total >= sum of the three families``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from safetygap import FAMILIES

FAMILY_AXIS: tuple[str, ...] = ("total", *FAMILIES)
NONE_CODE = len(FAMILIES)  # family code of calls that signal no family


@dataclass(frozen=True)
class AreaCounts:
    """Counts per (area, period, family); float when calls carry fractional weights."""

    periods: tuple[str, ...]
    families: tuple[str, ...]
    calls: np.ndarray
    diverted: np.ndarray
    eligible: np.ndarray
    eligible_not_diverted: np.ndarray
    covered: np.ndarray
    base: np.ndarray | None = None
    """Calls in the denominator of the diverted share (None: every call counts)."""
    coverable: np.ndarray | None = None
    """Calls that can be covered in space: the coverage denominator (None: every call)."""
    by_source: np.ndarray | None = None
    """Calls per (area, period, family, source) when the calls come from several sources
    (None: one source)."""

    @property
    def n_years(self) -> int:
        return len(self.periods) - 1


def count_calls(
    area: np.ndarray,
    year: np.ndarray,
    family_code: np.ndarray,
    diverted: np.ndarray,
    eligible: np.ndarray,
    covered: np.ndarray,
    *,
    n_areas: int,
    years: tuple[int, ...],
    weight: np.ndarray | None = None,
    base: np.ndarray | None = None,
    coverable: np.ndarray | None = None,
    source: np.ndarray | None = None,
    n_sources: int = 1,
) -> AreaCounts:
    """Count calls into an :class:`AreaCounts` cube.

    ``area`` positional area index (-1 = not in any area: not counted);
    ``year`` calendar year (calls whose year is not in ``years``, e.g. with an
    unparseable date, count only in period ``"all"``); ``family_code`` 0..2 for
    FAMILIES, 3 for none; ``covered`` whether the call lies in the catchment
    of a provider of its own family. ``weight`` (default 1 per call) allows
    fractional calls; totals are conserved either way. ``base`` marks the calls in the
    denominator of the diverted share (see :class:`safetygap.diversion.Denominator`;
    default every call); ``coverable`` those of the coverage share (default every call).
    ``source`` (codes 0..n_sources-1) splits the calls by source when ``n_sources`` > 1
    (:attr:`AreaCounts.by_source`), so rates can use each source's covered time.
    The calls at once: :class:`CountSums` adds them a batch at a time, to the same cube.
    """
    by_source = source is not None and n_sources > 1
    sums = CountSums(n_areas, weighted=weight is not None, base=base is not None,
                     coverable=coverable is not None, years=years)
    sums.add(area, year, family_code, diverted, eligible, covered, weight=weight, base=base,
             coverable=coverable, source=source if by_source else None)
    return sums.result(years, sources=tuple(range(n_sources)) if by_source else None)


_NO_YEAR = -1
"""The year slot of :class:`CountSums` for every year not counted by year (undated)."""


class CountSums:
    """:func:`count_calls` a batch of calls at a time, to the same cube bit for bit.

    ``add`` each batch in the calls' order; ``result`` makes the :class:`AreaCounts`.
    Whole calls are counted as integers; fractional ``weight`` s are added one call after
    the other in the calls' order (``np.add.at``), the order in which ``np.bincount``
    adds them over all the calls at once, so the sums are the same to the last bit
    however the calls are cut into batches. The years (and sources) need not be known
    before the last batch (``years=None``): each year seen gets its own slot, and
    :meth:`result` puts the slots of ``years`` in order and every other (any year <= 0,
    the undated) in the "no year" slot. With ``years`` given, a year outside them goes
    to "no year" at once, as :func:`count_calls` does.
    """

    def __init__(self, n_areas: int, *, weighted: bool, base: bool, coverable: bool,
                 years: tuple[int, ...] | None = None) -> None:
        self.n_areas = n_areas
        self.weighted = weighted
        self.fixed = years is not None
        self.year_slots: list[int] = [*(int(y) for y in years or ()), _NO_YEAR]
        self.source_slots: list[int] = []
        # AreaCounts' count fields (calls, diverted, eligible, ...), the optional ones when
        # asked for: named by the dataclass, not spelled here (tables/measures owns names)
        optional = {"base": base, "coverable": coverable}
        self.masks = tuple(f.name for f in fields(AreaCounts)
                           if f.name not in ("periods", "families", "by_source")
                           and optional.get(f.name, True))
        self.sums = {m: self._zeros(len(self.year_slots)) for m in self.masks}
        self.by_source: list[np.ndarray] = []  # calls per source slot

    def _zeros(self, n_slots: int) -> np.ndarray:
        return np.zeros(self.n_areas * n_slots * (NONE_CODE + 1),
                        dtype=np.float64 if self.weighted else np.int64)

    def _year_slot(self, year: np.ndarray) -> np.ndarray:
        year = np.asarray(year, dtype=np.int64)
        if not self.fixed:
            year = np.where(year > 0, year, _NO_YEAR)
            for y in np.unique(year):
                if int(y) not in self.year_slots:
                    self._grow(int(y))
        slot = np.full(len(year), self.year_slots.index(_NO_YEAR), dtype=np.int64)
        for i, y in enumerate(self.year_slots):
            if y != _NO_YEAR:
                slot[year == y] = i
        return slot

    def _grow(self, year: int) -> None:
        """A new year slot (the areas' cubes re-laid out with one more year)."""
        n = len(self.year_slots)

        def grown(a: np.ndarray) -> np.ndarray:
            c = a.reshape(self.n_areas, n, NONE_CODE + 1)
            pad = np.zeros((self.n_areas, 1, NONE_CODE + 1), dtype=a.dtype)
            return np.concatenate([c, pad], axis=1).ravel()

        self.sums = {m: grown(a) for m, a in self.sums.items()}
        self.by_source = [grown(a) for a in self.by_source]
        self.year_slots.append(year)

    def _add(self, into: np.ndarray, key: np.ndarray, mask: np.ndarray | None,
             w: np.ndarray | None) -> None:
        k = key if mask is None else key[mask]
        if w is None:
            into += np.bincount(k, minlength=len(into))
        else:
            np.add.at(into, k, w if mask is None else w[mask])

    def add(self, area: np.ndarray, year: np.ndarray, family_code: np.ndarray,
            diverted: np.ndarray, eligible: np.ndarray, covered: np.ndarray, *,
            weight: np.ndarray | None = None, base: np.ndarray | None = None,
            coverable: np.ndarray | None = None, source: np.ndarray | None = None
            ) -> CountSums:
        """Add a batch of calls (the arguments of :func:`count_calls`; ``source`` the
        calls' source codes, any integers, or None not to count by source)."""
        if (weight is not None) != self.weighted:
            raise ValueError("weight given to unweighted sums, or missing from weighted")
        area = np.asarray(area)
        keep = area >= 0
        slot = self._year_slot(np.asarray(year)[keep])
        n_slots = len(self.year_slots)
        fam = np.asarray(family_code, dtype=np.int64)[keep]
        key = (area[keep].astype(np.int64) * n_slots + slot) * (NONE_CODE + 1) + fam
        w = None if weight is None else np.asarray(weight, dtype=float)[keep]
        d = np.asarray(diverted, dtype=bool)[keep]
        e = np.asarray(eligible, dtype=bool)[keep]
        masks = {"calls": None, "diverted": d, "eligible": e,
                 "eligible_not_diverted": e & ~d,
                 "covered": np.asarray(covered, dtype=bool)[keep],
                 "base": None if base is None else np.asarray(base, dtype=bool)[keep],
                 "coverable": None if coverable is None
                 else np.asarray(coverable, dtype=bool)[keep]}
        for m in self.masks:
            self._add(self.sums[m], key, masks[m], w)
        if source is not None:
            src = np.asarray(source, dtype=np.int64)[keep]
            for s in np.unique(src):
                if int(s) not in self.source_slots:
                    self.source_slots.append(int(s))
                    self.by_source.append(self._zeros(n_slots))
                self._add(self.by_source[self.source_slots.index(int(s))], key, src == s, w)
        return self

    def merge(self, other: CountSums) -> CountSums:
        """Add ``other``'s counts to these, as if its calls came after these calls (in
        place; returns self): afterwards :meth:`result` equals, for any ``years`` and
        ``sources``, that of one :class:`CountSums` that added these batches then
        ``other``'s, and the year and source slots are laid out as it would lay them out
        (these first, then ``other``'s new ones in ``other``'s order). Whole calls only:
        weighted (fractional) sums depend on the order the calls are added in, so they
        are refused, as are sums of other areas or count fields, and fixed years unless
        both have the same."""
        if self.weighted or other.weighted:
            raise ValueError("weighted sums cannot be merged: fractional shares are "
                             "summed in the calls' order")
        if self.n_areas != other.n_areas or self.masks != other.masks:
            raise ValueError(f"sums of {other.n_areas} areas counting {other.masks} "
                             f"merged into sums of {self.n_areas} areas counting "
                             f"{self.masks}")
        if (self.fixed or other.fixed) and not (
                self.fixed and other.fixed and self.year_slots == other.year_slots):
            raise ValueError("sums made with fixed years merged with sums of other years")
        for y in other.year_slots:
            if y not in self.year_slots:
                self._grow(y)
        at = [self.year_slots.index(y) for y in other.year_slots]
        n_fam = NONE_CODE + 1

        def laid_out(flat: np.ndarray) -> np.ndarray:
            """``other``'s flat cube in these slots' layout."""
            out = np.zeros((self.n_areas, len(self.year_slots), n_fam), dtype=flat.dtype)
            out[:, at] = flat.reshape(other.n_areas, len(other.year_slots), n_fam)
            return out.ravel()

        for m in self.masks:
            self.sums[m] += laid_out(other.sums[m])
        for s, flat in zip(other.source_slots, other.by_source, strict=True):
            if s not in self.source_slots:
                self.source_slots.append(s)
                self.by_source.append(self._zeros(len(self.year_slots)))
            self.by_source[self.source_slots.index(s)] += laid_out(flat)
        return self

    def _cube(self, flat: np.ndarray, years: tuple[int, ...]) -> np.ndarray:
        n_fam = NONE_CODE + 1
        c = flat.reshape(self.n_areas, len(self.year_slots), n_fam)
        pos = [self.year_slots.index(y) if y in self.year_slots else None for y in years]
        rest = [i for i, y in enumerate(self.year_slots) if y not in years]
        if self.weighted and sum(bool(c[:, i].any()) for i in rest) > 1:
            raise ValueError("calls of a year outside `years` and undated calls: their "
                             "fractional sums cannot be joined in the calls' order")
        out = np.zeros((self.n_areas, len(years) + 1, n_fam))
        for j, i in enumerate(pos):
            if i is not None:
                out[:, j] = c[:, i]
        for i in rest:
            out[:, len(years)] += c[:, i]
        return _periods(out, weighted=self.weighted)

    def result(self, years: tuple[int, ...], *, sources: tuple[int, ...] | None = None
               ) -> AreaCounts:
        """The cube of every call added, periods ``"all"`` then ``years``; with
        ``sources`` (the source codes in the order of the cube's source axis) also the
        calls per source."""
        if self.fixed and tuple(years) != tuple(self.year_slots[:-1]):
            raise ValueError("result() needs the years the sums were made with")
        cubes = {m: self._cube(a, tuple(years)) for m, a in self.sums.items()}
        by_source = None
        if sources is not None:
            zero = self._zeros(len(self.year_slots))
            by_source = np.stack([self._cube(
                self.by_source[self.source_slots.index(s)] if s in self.source_slots
                else zero, tuple(years)) for s in sources], axis=-1)
        return AreaCounts(
            periods=("all", *(str(y) for y in years)), families=FAMILY_AXIS,
            calls=cubes["calls"], diverted=cubes["diverted"], eligible=cubes["eligible"],
            eligible_not_diverted=cubes["eligible_not_diverted"], covered=cubes["covered"],
            base=cubes.get("base"), coverable=cubes.get("coverable"), by_source=by_source)


def _periods(c: np.ndarray, *, weighted: bool) -> np.ndarray:
    """(areas x (years + "no year") x (families + none)) sums as the cube's (areas x
    ("all" + years) x ("total" + families))."""
    by_year = c[:, :-1, :]
    all_years = c.sum(axis=1, keepdims=True)
    c = np.concatenate([all_years, by_year], axis=1)  # periods: all, years...
    fam_part = c[:, :, :NONE_CODE]
    total = c.sum(axis=2, keepdims=True)
    out = np.concatenate([total, fam_part], axis=2)
    if not weighted:
        out = np.rint(out).astype(np.int64)
    return out
