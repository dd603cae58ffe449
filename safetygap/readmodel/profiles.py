"""One area's profile, city-wide values, rankings and providers in reach (part of
:class:`~safetygap.readmodel.view.WorkspaceView`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from safetygap import FAMILIES
from safetygap.geo.bivariate import CLASS_LABELS as NEED_ACCESS_LABELS
from safetygap.geo.bivariate import NOT_RANKED, UNDERSERVED_CLASS
from safetygap.inventory.serves import serves_area, serving_polygons
from safetygap.privacy import (
    hidden_cells,
    shown,
)
from safetygap.readmodel._common import (
    COUNT_DERIVED,
    MEASURE_LABELS,
    MEASURES,
    REACH_METHODS,
    _id,
    _num,
)
from safetygap.readmodel._reach import minutes_to_area
from safetygap.readmodel.records import AreaProfile, GapRow, MeasureValue, NearbyProvider
from safetygap.tables import measures as M
from safetygap.vocab import ALL_FAMILIES

RANKING_FIELDS: tuple[str, ...] = (
    M.UNDERSERVED_RANK, M.CLASS, M.RATE_EB, M.RATE, M.RATE + M.CI_LOW, M.RATE + M.CI_HIGH,
    M.ACCESS, M.ACCESS_NEED, M.REACH, M.COVERAGE, M.CALLS, M.PROVIDERS, M.RANK_LOW,
    M.RANK_HIGH, M.P_TOP10, M.P_UNDERSERVED, M.CLASS_UNCERTAIN, M.HOTSPOT_NEED, M.GAP,
    M.GAP_CLASS)
"""The measures of a ranking's records, in order (the first is the order)."""


class Profiles:
    """Profiles, city values, rankings; mixed into :class:`WorkspaceView`."""

    # ------------------------------------------------------------ profiles

    def city_values(self, level: str) -> dict[str, float | None]:
        """City-wide value of each measure column from the areas of ``level`` (period
        ``all``): counts as the mean per area; rates (raw and smoothed) as the calls over
        the summed resident-years; shares weighted by their denominators; access and reach
        weighted by population; None for classes, ranks, intervals and the bootstrap and
        hot-spot results."""
        def compute() -> dict[str, float | None]:
            frame = self.areas[level]
            pop = frame[M.POPULATION].to_numpy(float)
            out: dict[str, float | None] = {}
            for col in self.values(level).columns:
                parsed = M.split_column(col)
                if parsed is None or parsed[1] is None:
                    continue
                measure, fam = parsed
                if measure in M.NO_CITY_VALUE or measure != M.base_measure(measure) \
                        or measure.startswith("p_top"):
                    out[col] = None
                    continue
                v = frame[col].to_numpy(float)
                calls = frame[M.column(M.CALLS, fam)].to_numpy(float)
                if measure in (M.RATE, M.RATE_EB):
                    ry_col = M.column(M.RESIDENT_YEARS, fam)
                    ry = (frame[ry_col].to_numpy(float) if ry_col in frame.columns
                          else pop * max(len(self.years), 1))
                    ok = np.isfinite(pop) & (pop > 0) & np.isfinite(ry) & (ry > 0)
                    out[col] = _num(calls[ok].sum() * 1000.0 / ry[ok].sum()) \
                        if ok.any() else None
                elif measure in (M.DIVERTED_SHARE, M.ELIGIBLE_NOT_DIVERTED_SHARE, M.COVERAGE):
                    w = calls
                    cov_col = M.column(M.COVERABLE, fam)
                    if measure == M.COVERAGE and cov_col in frame.columns:
                        w = frame[cov_col].to_numpy(float)
                    ok = np.isfinite(v) & (w > 0)
                    out[col] = _num((v[ok] * w[ok]).sum() / w[ok].sum()) \
                        if ok.any() else None
                elif measure in (M.ACCESS, M.ACCESS_NEED, M.REACH):
                    ok = np.isfinite(v) & np.isfinite(pop) & (pop > 0)
                    out[col] = _num((v[ok] * pop[ok]).sum() / pop[ok].sum()) \
                        if ok.any() else None
                else:
                    out[col] = _num(np.nanmean(v)) if np.isfinite(v).any() else None
            return out

        return self.cached(("city", level), compute)

    def measures(self, level: str, area_id: str) -> list[MeasureValue]:
        """Every measure of one area (period ``all``): family, measure, value with its
        interval (``ci_low``, ``ci_high``; None without one), rank among the areas of its
        level (1 = the most underserved by the measure, see :meth:`_rank_table`), number of
        ranked areas, city value; ``class`` also carries its label and whether it is
        uncertain."""
        pos = self._position(level, area_id)
        vals = self.values(level)
        ranks = self._ranks[level]
        city = self.city_values(level)
        hidden = self.hidden_family_counts(level)
        out = []
        for fam in ALL_FAMILIES:
            for measure in MEASURES:
                col = M.column(measure, fam)
                if col not in vals.columns:
                    continue
                rank = ranks[col].iloc[pos]
                value = _num(vals[col].iloc[pos])
                lo_col, hi_col = M.interval(measure, fam)
                low = _num(vals[lo_col].iloc[pos]) if lo_col in vals.columns else None
                high = _num(vals[hi_col].iloc[pos]) if hi_col in vals.columns else None
                if measure in COUNT_DERIVED and hidden[fam][pos]:
                    value, rank, low, high = None, np.nan, None, None
                if measure in M.INT_MEASURES and value is not None:
                    value = int(value)  # a class number or a rank
                rec: MeasureValue = {
                    "family": fam, "measure": measure, "label": MEASURE_LABELS[measure],
                    "value": value, "ci_low": low, "ci_high": high,
                    "rank": None if not np.isfinite(rank) else int(rank),
                    "of": int(ranks[col].notna().sum()),
                    "city": city.get(col),
                }
                if measure == M.CLASS:
                    unc = M.column(M.CLASS_UNCERTAIN, fam)
                    rec["text"] = NEED_ACCESS_LABELS.get(value or 0, NOT_RANKED)
                    rec["uncertain"] = (bool(vals[unc].iloc[pos] == 1)
                                        if unc in vals.columns else None)
                out.append(rec)
        return out

    def profile(self, level: str, area_id: str) -> AreaProfile:
        """One area's profile (see :meth:`measures`, :meth:`providers_near`)."""
        pos = self._position(level, area_id)
        row = self.areas[level].iloc[pos]
        counts = self.call_counts[level]
        mine = counts[counts[M.AREA_ID] == area_id]
        m = self.min_count
        total, total_sens = int(mine["calls"].sum()), int(mine["sensitive"].sum())
        total_hidden = bool(hidden_cells([total], [total_sens], min_count=m,
                                         total_shown=False)[0])
        cats = (mine.groupby(["category", "family"], sort=False)[["calls", "sensitive"]]
                .sum().reset_index())
        cat_hidden = hidden_cells(cats["calls"], cats["sensitive"], min_count=m,
                                  total_shown=not total_hidden)
        by_cat = []
        for (cat, fam), grp in mine.groupby(["category", "family"], sort=False):
            i = int(np.flatnonzero((cats["category"] == cat).to_numpy()
                                   & (cats["family"] == fam).to_numpy())[0])
            hide_years = hidden_cells(grp["calls"], grp["sensitive"], min_count=m,
                                      total_shown=not cat_hidden[i])
            by_year = dict(zip(grp["year"].astype(str),
                               shown(grp["calls"], hide_years), strict=True))
            by_cat.append({"category": str(cat), "family": str(fam),
                           "calls": None if cat_hidden[i] else int(grp["calls"].sum()),
                           "suppressed": bool(cat_hidden[i] or hide_years.any()),
                           "by_year": by_year})
        # shown counts first (largest first), then the hidden ones by name
        by_cat.sort(key=lambda r: (r["calls"] is None, -(r["calls"] or 0), r["category"]))
        years = mine.groupby("year")[["calls", "sensitive"]].sum()
        hide_years = hidden_cells(years["calls"], years["sensitive"], min_count=m,
                                  total_shown=not total_hidden)
        by_year = dict(zip(years.index.astype(str), shown(years["calls"], hide_years),
                           strict=True))
        inside, in_reach = self.providers_near(level, area_id)
        d = self.distance
        return {
            "level": level,
            "area_id": area_id,
            "name": str(row["name"]),
            "distance_model": d["distance_model"],
            "catchment_unit": d["unit"],
            "reach": REACH_METHODS[d["unit"]],
            "population": _num(row[M.POPULATION]),
            "area_km2": _num(row[M.AREA_KM2]),
            "calls": None if total_hidden else total,
            "calls_by_year": dict(sorted(by_year.items())),
            "calls_by_category": by_cat,
            "privacy": self.privacy_note,
            "providers_inside": inside,
            "providers_in_reach": in_reach,
            "measures": self.measures(level, area_id),
        }

    def providers_near(self, level: str, area_id: str
                       ) -> tuple[list[NearbyProvider], list[NearbyProvider]]:
        """Providers located in the area, and providers located outside it that reach it
        with the analysis' distance model (:data:`REACH_METHODS`), nearest first.

        A provider that serves named areas (``serves``) reaches exactly the areas its own
        overlap (:func:`safetygap.inventory.serves.serves_area`), not those within a
        catchment of its point. Each record has ``distance_m``, the straight-line distance
        from the area (projected CRS, metres; 0 inside), ``travel_min``, the travel time to
        the area's nearest point on the street network (minutes; 0 inside; None for a
        straight-line analysis, and for an area-serving provider), and ``serves_here``
        (an area-serving provider whose areas overlap this one).
        """
        pos = self._position(level, area_id)
        return self.cached(("near", level, area_id), lambda: self._near(level, area_id, pos))

    def _near(self, level: str, area_id: str, pos: int
              ) -> tuple[list[NearbyProvider], list[NearbyProvider]]:
        geom = self.areas[level].geometry.iloc[pos]
        p = self.providers
        d = self.distance
        inside_mask = (p[f"{level}_id"].map(_id) == area_id).to_numpy()
        dist = shapely.distance(p.geometry.to_numpy(), geom)
        catchment = self._catchments(p)
        polygons = serving_polygons(p)
        serving = np.array([q is not None for q in polygons], dtype=bool)
        serves_here = serves_area(polygons, geom)
        minutes: np.ndarray | None = None
        cost = dist
        if d["unit"] == "min":
            out = ~inside_mask & ~serving & np.isfinite(catchment)
            minutes = np.zeros(len(p))
            minutes[~inside_mask] = np.inf
            if out.any():
                minutes[out] = minutes_to_area(
                    self.travel(), geom, p.geometry.x.to_numpy()[out],
                    p.geometry.y.to_numpy()[out], cutoff=float(catchment[out].max()))
            cost = minutes
        reach_mask = ~inside_mask & np.where(serving, serves_here, cost <= catchment)

        ids = p["provider_id"].astype(str).to_numpy()
        shown = np.round(dist, 1) if minutes is None else np.round(minutes, 2)

        def records(mask: np.ndarray) -> list[NearbyProvider]:
            rows = np.flatnonzero(mask)
            rows = rows[np.lexsort((ids[rows], shown[rows]))]  # nearest first, then by id
            recs = self._provider_records(p.iloc[rows])
            for rec, i in zip(recs, rows, strict=True):
                rec["distance_m"] = round(float(dist[i]), 1)
                rec["travel_min"] = (None if minutes is None or (serving[i] and not
                                                                 inside_mask[i])
                                     else float(shown[i]))
                rec["serves_here"] = bool(serves_here[i])
            return recs

        return records(inside_mask), records(reach_mask)

    def ranking(self, level: str, family: str, *, year: int | None = None,
                top: int = 10) -> list[GapRow]:
        """The ``top`` most underserved areas of ``family``: by underserved rank (1 = most
        underserved: high need and low access first, by need), with their class, figures
        and how sure the class is; areas not ranked are left out."""
        frame = self.areas[level]
        vals = self.values(level, year=year)

        def col(measure: str) -> np.ndarray:
            c = M.column(measure, family)
            return (vals[c].to_numpy(float) if c in vals.columns
                    else np.full(len(vals), np.nan))

        table = pd.DataFrame({"area_id": frame[M.AREA_ID].to_numpy(),
                              "name": frame[M.NAME].to_numpy()})
        for f in RANKING_FIELDS:
            table[f] = col(f)
        table = table[np.isfinite(table[M.UNDERSERVED_RANK])]
        table = table.sort_values([M.UNDERSERVED_RANK, "area_id"]).head(top)
        out = []
        for i, r in enumerate(table.to_dict("records")):
            rec: dict[str, Any] = {"rank": i + 1, "area_id": str(r["area_id"]),
                                   "name": str(r["name"])}
            for f in RANKING_FIELDS[1:]:
                v = _num(r[f])
                if f in M.INT_MEASURES:
                    rec[f] = int(v) if v is not None else (
                        0 if f in (M.CLASS, M.GAP_CLASS) else None)
                else:
                    rec[f] = v
            rec["label"] = NEED_ACCESS_LABELS.get(rec[M.CLASS], NOT_RANKED)
            rec["underserved"] = rec[M.CLASS] == UNDERSERVED_CLASS
            rec["need"] = rec.pop(M.RATE_EB)
            out.append(rec)
        return out

    def calls_by_family_year(self) -> pd.DataFrame:
        """Calls placed in areas per family (``none`` included) and year (``unknown`` for
        unparseable dates): a table indexed by family with one column per year."""
        counts = self.call_counts["neighborhood"]
        table = counts.groupby(["family", "year"])["calls"].sum().unstack(fill_value=0)
        return table.reindex([f for f in (*FAMILIES, "none") if f in table.index])
