"""The plain-language pages of one neighborhood (``/neighborhoods/{id}``) and one ward
(``/wards/{n}``), and the side panel of a ward's map.

Long file (about 550 lines): the facts of one area (AreaFacts: headline, family rows,
charts' data, neighborhoods of a ward) and the page assembled from them are read together;
the charts themselves are maps/charts.py.

A headline in sentences written from the data, each service family's gap in words with
its rank (1 = the most underserved), charts drawn on the server as SVG (calls and the
diverted share by year, calls by hour of the week, the area against the city), each with
its numbers in a table, a static map, and, for a ward, its neighborhoods most underserved
first. Printed, a ward's page is a brief of at most two pages: the headline, the map and
the table.

Counts hidden for privacy on the maps (:mod:`safetygap.privacy`) stay hidden here: the
measures come from :meth:`WorkspaceView.measures`, which hides them, and the charts hide the
same small counts of sensitive calls.

Every number is formatted and labelled by :mod:`safetygap.labels`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from safetygap import FAMILIES
from safetygap.labels import (
    CLASS_WORDS,
    FAMILY_HELP,
    family_label,
    field,
    fmt_num,
    fmt_pct,
    fmt_value,
    ordinal,
    times,
)
from safetygap.maps import charts
from safetygap.maps.jinja import render
from safetygap.maps.style import FAMILY_STYLE, NOT_RANKED_COLOR, class_color
from safetygap.privacy import hidden_cells, is_sensitive
from safetygap.readmodel import WorkspaceView
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.vocab import LEVELS

LEVEL_WORDS = {"neighborhood": ("neighborhood", "neighborhoods"), "ward": ("ward", "wards")}
DIVERSION_GOAL = 0.20
"""The city's goal for the share of calls handled by a non-police service."""
TABLE_MEASURES = (M.CALLS, M.RATE, M.COVERAGE, M.ACCESS, M.PROVIDERS, M.GAP)
"""The measures of each family's table, in order."""
ALL_CALLS_MEASURES = (M.CALLS, M.RATE, M.DIVERTED_SHARE, M.ELIGIBLE,
                      M.ELIGIBLE_NOT_DIVERTED_SHARE)
"""The measures of the table of all calls."""
COMPARED_WORDS = {M.RATE: "need", M.ACCESS: "access", M.COVERAGE: "calls within reach"}
COMPARED = (M.RATE, M.ACCESS, M.COVERAGE)
"""Measures charted against the city, per family."""


def _finite(v: Any) -> bool:
    return v is not None and isinstance(v, int | float) and math.isfinite(v)


def _ratio(a: Any, b: Any) -> float | None:
    return a / b if _finite(a) and _finite(b) and b > 0 else None


def rank_words(rank: int | None, of: int, plural: str, unranked: str = "") -> str:
    """``rank`` 1 = the most underserved, in words: "the most underserved of 80
    neighborhoods", "4th most underserved of 80 neighborhoods"; with ``unranked`` (see
    :meth:`AreaFacts.unranked`) "4th most underserved of 77 ranked neighborhoods (3 with
    too few residents are not ranked)"."""
    if rank is None:
        return "not ranked"
    areas = f"{of:,} ranked {plural} ({unranked})" if unranked else f"{of:,} {plural}"
    if rank == 1:
        return f"the most underserved of {areas}"
    if rank == of:
        return f"the best served of {areas}"
    return f"{ordinal(rank)} most underserved of {areas}"


class AreaFacts:
    """What the pages say about one area, read once from the view (see module docstring)."""

    def __init__(self, view: WorkspaceView, level: str, area_id: str):
        self.view = view
        self.level = level
        self.area_id = area_id
        self.name = view.area_name(level, area_id)
        self.word, self.plural = LEVEL_WORDS[level]
        frame = view.areas[level]
        self.pos = int(np.flatnonzero(frame[M.AREA_ID].to_numpy() == area_id)[0])
        self.row = frame.iloc[self.pos]
        self.population = _num(self.row[M.POPULATION])
        self.years = [str(y) for y in view.years]
        self.n_years = max(len(view.years), 1)
        self.measures = {(m["family"], m["measure"]): m for m in view.measures(level, area_id)}

    # ----------------------------------------------------------------- values

    def m(self, family: str, measure: str) -> dict[str, Any]:
        return self.measures.get((family, measure)) or {
            "value": None, "city": None, "rank": None, "of": 0}

    def value(self, family: str, measure: str) -> float | None:
        return self.m(family, measure)["value"]

    def city(self, family: str, measure: str) -> float | None:
        return self.m(family, measure)["city"]

    def eligible_rates(self) -> tuple[float | None, float | None]:
        """Calls a non-police responder could take per 1,000 residents a year: here and in
        the whole city (all areas of the level); None when hidden or no population."""
        eligible = self.value("total", "eligible")
        frame = self.view.areas[self.level]
        pop = frame[M.POPULATION].to_numpy(float)
        elig = frame["eligible_total"].to_numpy(float) if "eligible_total" in frame else None
        here = (eligible * 1000 / (self.population * self.n_years)
                if _finite(eligible) and _finite(self.population) and self.population > 0
                else None)
        city = None
        if elig is not None:
            ok = np.isfinite(pop) & (pop > 0) & np.isfinite(elig)
            if ok.any():
                city = float(elig[ok].sum() * 1000 / (pop[ok].sum() * self.n_years))
        return here, city

    def per_year(self, family: str, measure: str) -> list[float | None]:
        """``measure`` of ``family`` in each year of the analysis (None where hidden)."""
        out: list[float | None] = []
        for y in self.view.years:
            vals = self.view.values(self.level, year=y)
            col = M.column(measure, family)
            v = _num(vals[col].iloc[self.pos]) if col in vals.columns else None
            hidden = self.view.hidden_family_counts(self.level, year=y)
            if measure in M.COUNT_DERIVED and hidden[family][self.pos]:
                v = None
            out.append(v)
        return out

    def city_share_by_year(self) -> list[float | None]:
        """The city's diverted share per year (summary.json, unique calls)."""
        shares = self.view.summary.get("diverted_share", {})
        return [_num(shares.get(y)) for y in self.years]

    def column(self, name: str) -> Any:
        """This area's value of a layer column, None when the workspace has no such column
        (written before it existed) or no value."""
        if name not in self.row.index:
            return None
        v = self.row[name]
        if isinstance(v, str):
            return v or None
        return _num(v)

    def standing(self, family: str) -> dict[str, Any]:
        """Where the area stands for ``family``: ``rank`` (1 = the most underserved) of
        ``of`` areas and ``words``. From the need/access classes and the underserved rank
        when the analysis has them (``class_label_<f>``, ``underserved_rank_<f>``), else
        from the service gap score and its group."""
        col = M.column(M.UNDERSERVED_RANK, family)
        if col in self.row.index:
            ranks = self.view.areas[self.level][col].to_numpy(float)
            rank = self.column(col)
            words = self.column(M.column(M.CLASS_LABEL, family)) or "not ranked"
            return {"rank": None if rank is None else int(rank),
                    "of": int(np.isfinite(ranks).sum()), "words": str(words),
                    "classes": True}
        g = self.m(family, "gap")
        return {"rank": g["rank"], "of": g["of"],
                "words": self.group(family, self.value(family, "gap_class")),
                "classes": False}

    def unranked(self, family: str) -> str:
        """The areas of the level left out of ``family``'s ranks, in words ("3 with too few
        residents are not ranked"); "" when every area is ranked."""
        return unranked_words(self.view.areas[self.level], self.standing(family)["of"])

    def rank_words(self, family: str) -> str:
        """Where the area ranks for ``family``, counted one way on every page: among the
        ranked areas, saying how many are not ranked."""
        g = self.standing(family)
        return rank_words(g["rank"], g["of"], self.plural, self.unranked(family))

    def worst_family(self) -> str | None:
        """The family for which this area ranks the most underserved (lowest rank)."""
        ranked = [(self.standing(f)["rank"], i, f) for i, f in enumerate(FAMILIES)
                  if self.standing(f)["rank"] is not None]
        return min(ranked)[2] if ranked else None

    # -------------------------------------------------------------- sentences

    def group(self, family: str, gap_class: Any) -> str:
        """A gap class in words: the five names when the level has five classes, else
        "group c of n" (n = most underserved)."""
        n = sum(c["gap_class"] > 0 for c in self.view.classes(self.level, family))
        c = int(gap_class) if _finite(gap_class) else 0
        if c <= 0:
            return "no value"
        return CLASS_WORDS[c] if n == len(CLASS_WORDS) - 1 else f"group {c} of {n}"

    def city_diverted_share(self) -> float | None:
        """The city's share of calls handled by a non-police service (summary.json: unique
        calls of the diversion denominator), as the index page and the report give it."""
        return _num(self.view.summary.get("diverted_share", {}).get("all"))

    def headline(self) -> list[str]:
        """The page's headline: sentences written from the data."""
        out = []
        here, city = self.eligible_rates()
        if here is not None and city:
            if here == 0:
                out.append(f"No call here was of a kind a non-police responder could take "
                           f"(city: {_rate(city)} a year per 1,000 residents).")
            else:
                out.append(
                    f"Calls here that a non-police responder could take: "
                    f"{times(here / city)} the city rate ({_rate(here)} a year per 1,000 "
                    f"residents; city {_rate(city)}).")
        share = self.value("total", "diverted_share")
        if share is not None:
            out.append(
                f"{fmt_pct(share)} of calls here went to a non-police service (city "
                f"{fmt_pct(self.city_diverted_share())}; the city's goal is "
                f"{fmt_pct(DIVERSION_GOAL, 0)}).")
        worst = self.worst_family()
        if worst is not None:
            g = self.standing(worst)
            ranked = self.rank_words(worst)
            words = "" if g["words"] in ranked else f" ({g['words']})"
            if g["rank"] <= g["of"] / 2:
                out.append(f"{family_label(worst)} services fall shortest here{words}: "
                           f"{ranked}.")
            else:
                out.append(
                    f"Services here compare well with other {self.plural}: even "
                    f"{family_label(worst).lower()} services{words}, the weakest here, "
                    f"rank {ranked}.")
        trend = self.trend()
        if trend:
            out.append(trend)
        return out

    def trend(self) -> str | None:
        """Need calls from the first to the last year, here and in the city."""
        if len(self.view.years) < 2:
            return None
        counts = [self.view.values(self.level, year=y)["calls_total"].iloc[self.pos]
                  for y in (self.view.years[0], self.view.years[-1])]
        hidden = [self.view.hidden_family_counts(self.level, year=y)["total"][self.pos]
                  for y in (self.view.years[0], self.view.years[-1])]
        if any(hidden) or not all(_finite(float(c)) for c in counts) or counts[0] <= 0:
            return None
        city = [self.view.values(self.level, year=y)["calls_total"].sum()
                for y in (self.view.years[0], self.view.years[-1])]
        change = counts[1] / counts[0] - 1
        city_change = city[1] / city[0] - 1 if city[0] else None
        direction = "rose" if change > 0.005 else "fell" if change < -0.005 else "held"
        amount = f" {fmt_pct(abs(change))}" if direction != "held" else " steady"
        return (f"Calls here {direction}{amount} from {self.view.years[0]} to "
                f"{self.view.years[-1]} ({fmt_num(counts[0])} to {fmt_num(counts[1])}; city "
                f"{'+' if (city_change or 0) >= 0 else '−'}{fmt_pct(abs(city_change or 0))}).")

    def family_words(self, family: str) -> str:
        """One family's gap in words, with how sure the rank is."""
        g = self.standing(family)
        if g["rank"] is None:
            if self.column("small_population"):
                return ("Too few residents here for figures per resident to hold: not "
                        "ranked.")
            return (f"Not ranked for {family_label(family).lower()} services (no residents "
                    "or no calls).")
        need, access = self.m(family, "rate"), self.m(family, "access")
        parts = [f"{g['words'].capitalize()}: {self.rank_words(family)}."]
        if need["rank"] is not None and access["rank"] is not None:
            among = (f"all {need['of']:,} {self.plural}"
                     if need["of"] == len(self.view.areas[self.level])
                     else f"the {need['of']:,} {self.plural} with residents and calls")
            parts.append(
                f"Among {among}, need ranks {ordinal(need['rank'])} highest and access "
                f"{ordinal(access['rank'])} lowest.")
        parts.append(self.sureness(family))
        return " ".join(parts)

    def sureness(self, family: str) -> str:
        """How sure the rank is, in words: the range of its rank and the share of resamples
        in which it is underserved when the analysis resampled its calls (bootstrap), else
        the boundary check of the analysis."""
        low = self.column(M.column(M.RANK_LOW, family))
        high = self.column(M.column(M.RANK_HIGH, family))
        p = self.column(M.column(M.P_UNDERSERVED, family))
        if low is not None and high is not None:
            text = (f"How sure: resampling the calls, its rank runs from {int(low)} to "
                    f"{int(high)}")
            if p is not None:
                text += f"; it is high need, low access in {fmt_pct(p, 0)} of the resamples"
            if self.column(M.column(M.CLASS_UNCERTAIN, family)):
                text += " (its class is uncertain)"
            return text + "."
        sens = self.view.summary.get("boundary_sensitivity") or {}
        changing = (sens.get("areas_changing_gap_class", {}).get(self.level, {}).get(family))
        compared = (sens.get("areas_compared", {}).get(self.level, {}).get(family))
        if changing is None or not compared:
            return ("How sure: ranks close to each other (a few places apart) are not "
                    "reliably different.")
        return (f"How sure: ranks a few places apart are not reliably different; counting "
                f"calls on boundary streets the other way moves {changing:,} of {compared:,} "
                f"{self.plural} to another group.")

    # ----------------------------------------------------------------- tables

    def family_rows(self) -> list[dict[str, Any]]:
        """The summary table: one row per family (gap group, rank, key measures)."""
        rows = []
        for f in FAMILIES:
            g = self.m(f, "gap")
            standing = self.standing(f)
            rows.append({
                "family": f, "label": family_label(f), "help": FAMILY_HELP.get(f, ""),
                "group": standing["words"],
                "gap": fmt_value("gap", g["value"]),
                "rank": standing["rank"], "of": standing["of"],
                "unranked": self.unranked(f),
                "calls": fmt_value("calls", self.value(f, "calls")),
                "coverage": fmt_value("coverage", self.value(f, "coverage")),
                "coverage_city": fmt_value("coverage", self.city(f, "coverage")),
                "access_vs_city": _pct_of(self.value(f, "access"), self.city(f, "access")),
                "words": self.family_words(f),
            })
        return rows

    def measure_rows(self, family: str) -> list[dict[str, Any]]:
        """Every measure of a family: label, value here, city value, rank (1 = most
        underserved), worse than the city?"""
        rows = []
        for measure in ALL_CALLS_MEASURES if family == "total" else TABLE_MEASURES:
            m = self.m(family, measure)
            f = field(measure)
            worse = False
            if f.worse and _finite(m["value"]) and _finite(m["city"]):
                worse = m["value"] > m["city"] if f.worse == "higher" else m["value"] < m["city"]
            if measure == "gap" and _finite(m["value"]):
                worse = m["value"] > 0
            if (family, measure) == ("total", "diverted_share"):
                m = {**m, "city": self.city_diverted_share()}
            rows.append({"measure": measure, "label": f.label, "help": f.help,
                         "value": fmt_value(measure, m["value"], unit=True)
                         + self.interval(family, measure, m["value"]),
                         "city": fmt_value(measure, m["city"], unit=True)
                         if m["city"] is not None else "–",
                         "rank": m["rank"], "of": m["of"], "worse": worse})
        return rows

    def interval(self, family: str, measure: str, value: Any) -> str:
        """" (low to high)": the measure's 95% interval when the analysis gives one
        (``<measure>_<family>_ci_low`` / ``_ci_high``) and the value is shown."""
        low = self.column(f"{measure}_{family}_ci_low")
        high = self.column(f"{measure}_{family}_ci_high")
        if value is None or low is None or high is None:
            return ""
        return f" ({fmt_value(measure, low)} to {fmt_value(measure, high)})"

    # ----------------------------------------------------------------- charts

    def charts(self) -> list[dict[str, Any]]:
        """The page's charts, each with its data table (headers, rows)."""
        key = f"c-{self.level}-{self.area_id}".replace(" ", "_")
        out = [self._calls_chart(key), self._share_chart(key)]
        how = self._hour_chart(key)
        if how is not None:
            out.append(how)
        out.append(self._compare_chart(key))
        return out

    def _calls_chart(self, key: str) -> dict[str, Any]:
        series = {family_label(f): self.per_year(f, "calls") for f in FAMILIES}
        colors = {family_label(f): FAMILY_STYLE[f]["color"] for f in FAMILIES}
        title = f"Need calls by year, {self.name}"
        svg = charts.bars_by_year(
            self.years, series, colors, key=f"{key}-calls", title=title,
            ylabel="need calls", desc="Need calls of each service family per year; the "
                                      "table below gives the numbers.")
        rows = [[y, *(fmt_num(series[s][i]) if series[s][i] is not None else "hidden"
                      for s in series)] for i, y in enumerate(self.years)]
        return {"id": "calls", "title": title, "svg": svg, "headers": ["year", *series],
                "rows": rows}

    def _share_chart(self, key: str) -> dict[str, Any]:
        area = self.per_year("total", "diverted_share")
        city = self.city_share_by_year()  # summary.json, as the headline
        title = "Calls handled by a non-police service, by year"
        svg = charts.share_by_year(
            self.years, area, city, key=f"{key}-share", title=title, area_label=self.name,
            goal=DIVERSION_GOAL,
            desc=f"Share of calls a non-police service handled each year, {self.name} against "
                 "the whole city, with the city's 20% goal.")
        rows = [[y, fmt_pct(a), fmt_pct(c)] for y, a, c in zip(self.years, area, city,
                                                                 strict=True)]
        return {"id": "share", "title": title, "svg": svg,
                "headers": ["year", self.name, "whole city"], "rows": rows}

    def _hour_chart(self, key: str) -> dict[str, Any] | None:
        table = hour_of_week_counts(self.view, self.level)
        mine = table[table[M.AREA_ID] == self.area_id]
        if not len(mine):
            return None
        counts = np.zeros((7, 24), dtype=np.int64)
        sens = np.zeros((7, 24), dtype=np.int64)
        counts[mine["dow"], mine["hour"]] = mine["calls"]
        sens[mine["dow"], mine["hour"]] = mine["sensitive"]
        hidden = hidden_cells(counts.ravel(), sens.ravel(),
                              min_count=self.view.min_count).reshape(7, 24) & (counts > 0)
        title = "Calls by hour of the week"
        svg = charts.hour_of_week(
            counts, hidden, key=f"{key}-how", title=title,
            desc=f"Calls in {self.name} by day of the week and hour of the day, all years; "
                 "darker is more; grey squares are hidden for privacy. The table below "
                 "gives the numbers.")
        rows = [[charts.DAYS[d], *("hidden" if hidden[d, h] else fmt_num(counts[d, h])
                                   for h in range(24))] for d in range(7)]
        return {"id": "hours", "title": title, "svg": svg,
                "headers": ["day", *(f"{h:02d}" for h in range(24))], "rows": rows,
                "wide": True}

    def _compare_chart(self, key: str) -> dict[str, Any]:
        rows_in = []
        for f in FAMILIES:
            for measure in COMPARED:
                v, c = self.value(f, measure), self.city(f, measure)
                rows_in.append((f"{family_label(f)}: {COMPARED_WORDS[measure]}",
                                _ratio(v, c), v, c, measure))
        title = f"{self.name} against the city"
        svg = charts.compare_with_city(
            [(r[0], r[1]) for r in rows_in], key=f"{key}-city", title=title,
            desc="Each measure here as a percentage of the city's value (the city is 100%): "
                 "need above 100% means more need; access and reach below 100% mean less "
                 "service than the city.")
        rows = [[r[0], fmt_value(r[4], r[2], unit=True), fmt_value(r[4], r[3], unit=True),
                 "–" if r[1] is None else f"{fmt_num(100 * r[1])}%"] for r in rows_in]
        return {"id": "city", "title": title, "svg": svg,
                "headers": ["measure", "here", "whole city", "here as % of city"],
                "rows": rows}

    def map_svg(self, family: str) -> str:
        """A static map: a ward's neighborhoods (a neighborhood with its neighbours) shaded
        by ``family``'s need/access class with the city map's colours and words (by the
        service gap group when the workspace has no classes), the area outlined, the
        family's providers."""
        view = self.view
        nb = view.areas["neighborhood"]
        area = view.areas[self.level].geometry.iloc[self.pos]
        if self.level == "ward":
            frame = nb[nb[M.AREA_ID].isin(view.ward_neighborhoods(self.area_id))]
        else:
            frame = nb[nb.geometry.intersects(area.buffer(1.0))]
        need_access = M.column(M.CLASS, family) in nb.columns
        if need_access:  # the need/access classes, coloured and named as the city map's key
            key = {c["class"]: (c["color"], c["label"])
                   for c in view.need_access_classes("neighborhood", family)}
            key.setdefault(0, (NOT_RANKED_COLOR, "not ranked"))
            cls = np.nan_to_num(frame[M.column(M.CLASS, family)].to_numpy(float)).astype(int)
            order = [c for c in key if c in set(cls.tolist())]
            colors = {c: key[c][0] for c in order}
            words = {c: key[c][1] for c in order}
            shaded = "need/access class"
        else:  # a workspace analysed before the classes: the service gap groups
            n = sum(c["gap_class"] > 0 for c in view.classes("neighborhood", family))
            cls = np.nan_to_num(
                frame[M.column(M.GAP_CLASS, family)].to_numpy(float)).astype(int)
            order = sorted(set(cls.tolist()), reverse=True)
            colors = {c: class_color(c, n) for c in order}
            words = {c: (CLASS_WORDS.get(c, "") if n == 5 else f"group {c} of {n}")
                     for c in order}
            shaded = "service gap group"
        polygons = [(g, colors[c], f"{name}: {words[c]}")
                    for g, c, name in zip(frame.geometry, cls, frame["name"], strict=True)]
        prov = view.providers[view.providers["family"] == family]
        style = FAMILY_STYLE[family]
        legend = [("fill", colors[c], words[c]) for c in order]
        legend.append(("dot", style["color"], f"{style['label']} providers"))
        title = (f"{self.name}: {family_label(family).lower()} need and access" if need_access
                 else f"{self.name}: {family_label(family).lower()} service gap")
        return charts.area_map(
            polygons, highlight=area, legend=legend,
            points=[(prov.geometry.x.to_numpy(), prov.geometry.y.to_numpy(),
                     style["color"])],
            key=f"m-{self.level}-{self.area_id}-{family}".replace(" ", "_"), title=title,
            desc=f"Map of {self.name} with its neighborhoods shaded by "
                 f"{family_label(family).lower()} {shaded} and the family's "
                 "providers as dots.")

    # ----------------------------------------------------------- ward extras

    def neighborhoods(self) -> list[dict[str, Any]]:
        """A ward's neighborhoods, most underserved first (by the best rank among the
        families), with each family's group and rank among all neighborhoods."""
        view = self.view
        nb = view.areas["neighborhood"]
        ranks = gap_ranks(view, "neighborhood")
        pos = {a: i for i, a in enumerate(nb[M.AREA_ID])}
        out = []
        for i in view.ward_neighborhoods(self.area_id):
            p = pos[i]
            fams = {}
            for f in FAMILIES:
                r = ranks[f][p]
                cls = nb[M.column(M.GAP_CLASS, f)].iloc[p]
                cls = int(cls) if _finite(float(cls)) else 0
                words = (str(nb[M.column(M.CLASS_LABEL, f)].iloc[p] or "not ranked")
                         if M.column(M.CLASS_LABEL, f) in nb.columns
                         else CLASS_WORDS.get(cls, "no value"))
                of = int(np.isfinite(ranks[f]).sum())
                fams[f] = {"rank": None if not np.isfinite(r) else int(r), "of": of,
                           "unranked": unranked_words(nb, of),
                           "group": words, "class": cls}
            best = min((v["rank"] for v in fams.values() if v["rank"] is not None),
                       default=10**9)
            out.append({"area_id": i, "name": str(nb["name"].iloc[p]), "families": fams,
                        "best": best})
        out.sort(key=lambda r: (r["best"], r["name"]))
        return out


def unranked_words(frame: pd.DataFrame, ranked: int) -> str:
    """How many areas of ``frame`` are left out when ``ranked`` of them are ranked, in
    words ("3 with too few residents are not ranked"); "" when all are ranked."""
    n = len(frame) - ranked
    if n <= 0:
        return ""
    def flag(name: str) -> np.ndarray:
        return (frame[name].fillna(False).to_numpy(bool) if name in frame
                else np.zeros(len(frame), bool))

    verb = "is" if n == 1 else "are"
    small = flag(M.SMALL_POPULATION)
    visitors = flag(M.MOSTLY_NONRESIDENT) & ~small
    other = n - int(small.sum()) - int(visitors.sum())
    if other < 0:
        return f"{n:,} {verb} not ranked"
    reasons = [(k, words) for k, words in (
        (int(small.sum()), "with too few residents"),
        (int(visitors.sum()), "with calls mostly from non-residents"),
        (other, "with no residents")) if k]
    if len(reasons) == 1:
        return f"{n:,} {reasons[0][1]} {verb} not ranked"
    return f"{n:,} {verb} not ranked: " + ", ".join(f"{k:,} {w}" for k, w in reasons)


def gap_ranks(view: WorkspaceView, level: str) -> dict[str, np.ndarray]:
    """Per family, each area's rank (1 = most underserved, ties share the lowest rank; NaN
    when not ranked): the analysis' underserved rank when it has one
    (``underserved_rank_<f>``), else the rank by service gap score as
    :meth:`WorkspaceView.measures` ranks it."""
    def compute() -> dict[str, np.ndarray]:
        frame = view.areas[level]
        vals = view.values(level)
        out = {}
        for f in FAMILIES:
            col = M.column(M.UNDERSERVED_RANK, f)
            out[f] = (frame[col].to_numpy(float) if col in frame.columns else
                      vals[M.column(M.GAP, f)].astype(float)
                      .rank(ascending=False, method="min").to_numpy())
        return out

    return view.cached(("gap_ranks", level), compute)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _rate(v: float) -> str:
    """A rate with one decimal, two below 1 (0.15, not 0.1)."""
    return fmt_num(v, 1 if abs(v) >= 1 else 2)


def _pct_of(value: Any, city: Any) -> str:
    r = _ratio(value, city)
    return "–" if r is None else f"{fmt_num(100 * r)}% of the city"


def hour_of_week_counts(view: WorkspaceView, level: str) -> pd.DataFrame:
    """Calls placed in areas counted per area of ``level``, day of the week (0 = Monday)
    and hour, with how many of them are sensitive (:func:`safetygap.privacy.is_sensitive`);
    calls without a time are left out. The calls are read once per view for both levels."""
    return _hour_of_week_tables(view)[level]


def _hour_of_week_tables(view: WorkspaceView) -> dict[str, pd.DataFrame]:
    def compute() -> dict[str, pd.DataFrame]:
        from safetygap._status import ANALYSED_STATUSES

        cols = [C.STATUS, C.TIME, C.CATEGORY, C.NEIGHBORHOOD_ID, C.WARD_ID]
        try:
            calls = view.workspace.calls(columns=[*cols, C.CALL_TYPE])
        except (KeyError, ValueError):
            calls = view.workspace.calls(columns=cols)
        calls = calls[calls[C.STATUS].astype(str).isin(ANALYSED_STATUSES)]
        t = pd.to_datetime(calls[C.TIME], errors="coerce")
        ok = t.notna().to_numpy()
        sens = is_sensitive(calls[C.CATEGORY].to_numpy(object),
                            calls[C.CALL_TYPE].to_numpy(object)
                            if "call_type" in calls.columns else None)
        base = pd.DataFrame({"dow": t.dt.day_of_week.to_numpy()[ok].astype(np.int64),
                             "hour": t.dt.hour.to_numpy()[ok].astype(np.int64),
                             "sensitive": sens[ok].astype(np.int64)})
        out = {}
        for level in LEVELS:
            frame = base.assign(area_id=calls[f"{level}_id"].astype(str).to_numpy()[ok])
            out[level] = (frame.groupby(["area_id", "dow", "hour"])
                          .agg(calls=("sensitive", "size"), sensitive=("sensitive", "sum"))
                          .reset_index())
        return out

    return view.cached(("hour_of_week",), compute)


def area_page(view: WorkspaceView, level: str, area_id: str, *, family: str | None = None,
              links: dict[str, str] | None = None) -> str:
    """The page of one neighborhood or ward (HTML). ``family`` is the family of its map
    (default: the one that falls shortest here); ``links`` maps extra link names
    (``directory``) to their URLs."""
    from safetygap.readmodel.equity import area_groups, equity_context

    facts = AreaFacts(view, level, area_id)
    family = family or facts.worst_family() or FAMILIES[0]
    quoted = _quote(area_id)
    downloads = [("Providers in this " + facts.word,
                  f"/api/providers?{level}={quoted}&format=csv",
                  f"/api/providers?{level}={quoted}&format=geojson")]
    if level == "ward":
        downloads.insert(0, ("Its neighborhoods with every measure",
                             f"/api/neighborhoods?ward={quoted}&format=csv",
                             f"/api/neighborhoods?ward={quoted}&format=geojson"))
    wards = []
    if level == "neighborhood":
        p = view.areas["neighborhood"].geometry.iloc[facts.pos]
        w = view.areas["ward"]
        share = w.geometry.intersection(p).area / max(p.area, 1e-9)
        wards = [{"area_id": str(i), "name": str(n)} for i, n, s in
                 zip(w[M.AREA_ID], w["name"], share, strict=True) if s >= 0.01]
    return render(
        "area.html",
        facts=facts, level=level, area_id=area_id, name=facts.name, word=facts.word,
        plural=facts.plural, synthetic=view.synthetic, label=view.label,
        caveats=view.caveats,
        population=fmt_value("population", facts.population, unit=True),
        headline=facts.headline(), families=facts.family_rows(),
        measure_rows={f: facts.measure_rows(f) for f in ("total", *FAMILIES)},
        family_labels={f: family_label(f) for f in FAMILIES},
        table_labels={"total": "All calls", **{f: family_label(f) for f in FAMILIES}},
        charts=facts.charts(), map_svg=facts.map_svg(family), map_family=family,
        map_shaded=("need and access class"
                    if M.column(M.CLASS, family) in view.areas["neighborhood"].columns
                    else "service gap"),
        neighborhoods=facts.neighborhoods() if level == "ward" else [],
        wards=wards, reach=view.reach_info(), years=facts.years,
        downloads=downloads, links=links or {},
        map_url=(f"/maps/wards/{quoted}?family={family}" if level == "ward"
                 else f"/maps/gaps?family={family}&area={quoted}"),
        privacy=view.privacy_note if view.min_count > 1 else "",
        **(equity_context(view, ward=area_id) if level == "ward"
           else {"equity": None, "equity_h": "h2"}),
        area_groups=area_groups(view, level, area_id) if level == "neighborhood" else [],
    )


def _quote(area_id: str) -> str:
    from urllib.parse import quote

    return quote(str(area_id), safe="")
