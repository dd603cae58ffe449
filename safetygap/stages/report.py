"""The data-quality report, the summary and the manifest of a run.

Long file (about 510 lines): the three reports of a run (quality, summary, manifest) are
built here complete, in one place, from every stage's result; the headline lists, the
caveats and the demand summary are parts of the summary.

A stage of :func:`safetygap.pipeline.analyze`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from safetygap import FAMILIES, __version__
from safetygap._hashing import sha256_file
from safetygap._status import (
    ANALYSED_STATUSES,
    STATUS_ORDER,
)
from safetygap.diversion import (
    CALLS_FROM_WORDS,
    CallsFrom,
    Denominator,
    DiversionRules,
    channel_counts,
    denominator_words,
    rule_counts,
)
from safetygap.errors import Problems, option
from safetygap.geo.aggregate import NONE_CODE
from safetygap.inputs import ColumnMap
from safetygap.inputs.calls import COORD_FAULT_NAMES
from safetygap.inputs.sources import resolve_calls
from safetygap.stages.tally import (
    AGENCIES,
    IN_WARDS,
    PLACED,
    SOURCES,
    UNIQUE,
    UNKNOWN_COUNTED,
    UNKNOWN_TYPES,
    CallTally,
    N,
)
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.tables.report import (
    AgencySource,
    BoundariesQuality,
    BoundarySensitivity,
    CallsQuality,
    CallTypes,
    Caveat,
    Demand,
    DiversionRulesRef,
    DiversionSummary,
    FamilySummary,
    MethodsSummary,
    PopulationQuality,
    ProvidersQuality,
    Quality,
    QualityCounts,
    RuleCount,
    Summary,
    Totals,
    TravelQuality,
    TravelSummary,
    Undated,
)
from safetygap.taxonomy import Taxonomy
from safetygap.vocab import CallSource, Level, RowStatus

if TYPE_CHECKING:
    from safetygap.stages.options import AnalysisInputs, AnalysisOptions



def quality_report(
    tally: CallTally,
    examples: dict[str, list[dict]],
    cin: Any,
    *,
    faults: dict[str, int],
    population: PopulationQuality,
    providers: ProvidersQuality,
    boundaries: BoundariesQuality,
    travel: TravelQuality,
    swapped: dict[str, Any],
    time_covered: list[dict[str, Any]] | None = None,
    time: dict[str, Any],
    demographics: dict[str, Any] | None = None,
    reports: dict[str, Any] | None = None,
    date_window: dict[str, Any] | None = None,
    malformed_rows: dict[str, Any] | None = None,
) -> Quality:
    """The data-quality report, complete: the calls' statuses, faults (swapped coordinates
    last) and examples; the providers', population's and boundaries' checks; the distance
    model; the records from outside 911 when the run had them. The calls are counted in
    ``tally`` (:class:`~safetygap.stages.tally.CallTally`); ``faults`` are the row
    faults' counts (:func:`~safetygap.stages.rows.flag_rows`)."""
    t = tally.table
    n = t[N].to_numpy()
    status = t[C.STATUS].to_numpy()
    status_counts = {s: int(n[status == s].sum()) for s in STATUS_ORDER}
    analysed = sum(status_counts[s] for s in ANALYSED_STATUSES)
    rows = tally.rows
    by_source = {str(k): int(n[t[C.SOURCE].to_numpy() == k].sum())
                 for k in tally.source_categories}
    faults = {**faults, "swapped_coordinates": swapped["rows"]}
    # the faults found while reading first, in the reader's order (the same whatever
    # batches the calls were read in), then the row flags' as they came
    read_order = (RowStatus.UNPARSEABLE_DATE.value, *COORD_FAULT_NAMES.values())
    examples = {k: examples[k] for k in (*[k for k in read_order if k in examples],
                                         *[k for k in examples if k not in read_order])}
    if swapped["examples"]:
        examples["swapped_coordinates"] = swapped["examples"]
    return Quality(
        calls=CallsQuality(
            file=str(cin.path),
            input_rows=rows,
            flag_counts=dict(tally.flags),
            placed=dict(tally.placed_areas),
            by_source={k: v for k, v in by_source.items() if v},
            counted_as_demand=int(n[t[C.COUNTED].to_numpy(dtype=bool)].sum()),
            status_order=list(STATUS_ORDER),
            status_counts=status_counts,
            analysed_in_areas=analysed,
            excluded_from_areas=rows - analysed,
            faults=faults,
            examples=examples,
            unknown_call_types=tally.most_common(UNKNOWN_TYPES, 20).to_dict(),
            notes=(
                "flag_counts are independent: a row may have several flags (e.g. both "
                "unparseable_date and unknown_call_type) and is counted under each; the calls "
                "table has one flag_<name> column per flag. status_counts are a display "
                "summary: each row has the first status in status_order that applies, and "
                "they add up to input_rows (outside_boundaries: outside every neighborhood and "
                "every ward). Neighborhoods and wards are joined independently: placed counts "
                "the rows in an area of each layer (located, no repeated id); a call outside "
                "every ward keeps its neighborhood. Undated calls count only in period 'all'. "
                "Calls dated outside the plausible window (date_outside_window, see "
                "date_window) are kept in calls.parquet but left out of every count and rate. "
                "Rows of a CSV file with another number of fields than the header are not "
                "calls: they are listed in malformed_rows."
            ),
            time_covered=time_covered,
            time=time,
            date_window=date_window or {},
            malformed_rows=malformed_rows or {},
        ),
        providers=providers,
        population=population,
        boundaries=boundaries,
        travel=travel,
        demographics=demographics,
        reports=reports,
    )


UNDERSERVED_FIELDS = (
    ("rank", M.UNDERSERVED_RANK), ("need", M.RATE_EB), ("rate", M.RATE),
    ("rate_ci_low", M.RATE + M.CI_LOW), ("rate_ci_high", M.RATE + M.CI_HIGH),
    ("access", M.ACCESS), ("access_need", M.ACCESS_NEED), ("reach", M.REACH),
    ("coverage", M.COVERAGE), ("calls", M.CALLS), ("rank_low", M.RANK_LOW),
    ("rank_high", M.RANK_HIGH), ("p_underserved", M.P_UNDERSERVED),
    ("class_agreement", M.CLASS_AGREEMENT), ("class_uncertain", M.CLASS_UNCERTAIN),
    ("hotspot_need", M.HOTSPOT_NEED), ("gap", M.GAP), ("gap_class", M.GAP_CLASS),
)
"""(field of a headline record, measure of the layer) in the order written."""
_INT_FIELDS = frozenset({"rank", "gap_class", "class_uncertain", "hotspot_need"})


def underserved_list(layer: gpd.GeoDataFrame, family: str, *, top: str = M.P_TOP10
                     ) -> list[dict[str, Any]]:
    """The headline list: the areas of high need and low access for ``family``, rank 1
    (the highest need) first, with their figures and how sure the class is."""
    flag = layer.get(M.column(M.UNDERSERVED, family))
    if flag is None:
        return []
    rows = layer[flag.to_numpy(float) == 1]
    rows = rows.sort_values([M.column(M.UNDERSERVED_RANK, family), M.AREA_ID])
    out = []
    for _, r in rows.iterrows():
        rec: dict[str, Any] = {M.AREA_ID: r[M.AREA_ID], M.NAME: r[M.NAME],
                               "label": r.get(M.column(M.CLASS_LABEL, family), "")}
        for key, measure in (*UNDERSERVED_FIELDS, (top, top)):
            col = M.column(measure, family)
            if col in layer.columns:
                v = _num(r[col])
                rec[key] = (None if v is None else int(v)) if key in _INT_FIELDS else v
        out.append(rec)
    return out


def _top(layer: gpd.GeoDataFrame, family: str, n: int = 10) -> list[dict[str, Any]]:
    """Secondary: the areas with the largest rank-difference gap index."""
    cols = [M.AREA_ID, M.NAME, *(M.column(m, family) for m in (
        M.GAP, M.GAP_CLASS, M.RATE, M.ACCESS, M.COVERAGE, M.CALLS))]
    top = layer[cols].dropna(subset=[M.column(M.GAP, family)])
    top = top.sort_values([M.column(M.GAP, family), M.AREA_ID],
                          ascending=[False, True]).head(n)
    return [
        {M.AREA_ID: r[0], M.NAME: r[1], M.GAP: _num(r[2]), M.GAP_CLASS: int(r[3]),
         M.RATE: _num(r[4]), M.ACCESS: _num(r[5]), M.COVERAGE: _num(r[6]),
         M.CALLS: _num(r[7])}
        for r in top.itertuples(index=False)
    ]


def _flagged(layer: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Areas shown with a note rather than ranked: few residents, or mostly non-resident
    calls."""
    out = []
    for _, r in layer.iterrows():
        small = bool(r.get(M.SMALL_POPULATION, 0) == 1)
        nonres = bool(r.get(M.MOSTLY_NONRESIDENT, 0) == 1)
        if small or nonres:
            rate_total = M.column(M.RATE, M.TOTAL)
            out.append({M.AREA_ID: r[M.AREA_ID], M.NAME: r[M.NAME],
                        M.POPULATION: _num(r[M.POPULATION]),
                        M.SMALL_POPULATION: small, M.MOSTLY_NONRESIDENT: nonres,
                        rate_total: _num(r.get(rate_total, np.nan))})
    return out


def _num(v: Any) -> float | None:
    v = float(v)
    return None if not np.isfinite(v) else round(v, 6)


def summary_report(
    tally: CallTally,
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    years: tuple[int, ...],
    quality: Quality,
    opts: AnalysisOptions,
    taxonomy: Taxonomy,
    crs: CRS,
    *,
    rules: DiversionRules,
    sensitivity: BoundarySensitivity | None,
    travel: TravelSummary,
    measured: MethodsSummary,
    columns: ColumnMap,
    undated: dict[str, Any],
    records: pd.DataFrame | None = None,
) -> Summary:
    """The summary, complete: totals, diverted shares, diversion, families, top gaps,
    quality counts, the boundary policies compared (``sensitivity``), the distance
    model (``travel``), which calls are counted, the unknown call types, the undated calls
    (``undated``), where the agency comes from (``columns``), what the methods measured
    (``measured``: bootstrap and hot spots, services without a place, covered time, demand
    points) and the caveats every output says. The calls are counted in ``tally``
    (:class:`~safetygap.stages.tally.CallTally`): each mask below selects rows of it, each
    count sums their calls."""
    t = tally.table
    calls_n = t[N].to_numpy()
    uniq = t[UNIQUE].to_numpy(dtype=bool)
    demand = t[C.COUNTED].to_numpy(dtype=bool)
    base = t[C.DIVERSION_BASE].to_numpy(dtype=bool)
    placed_rows = t[PLACED].to_numpy(dtype=bool)
    year = t[C.YEAR].to_numpy(dtype=np.int64)
    fam = t[C.FAMILY_CODE].to_numpy(dtype=np.int64)
    diverted = t[C.DIVERTED].to_numpy(dtype=bool)
    covered = t[C.COVERED].to_numpy(dtype=bool)
    end = t[C.ELIGIBLE].to_numpy(dtype=bool) & ~diverted
    coverable = t[C.COVERABLE].to_numpy(dtype=bool)
    top = M.top_measure(opts.methods.top)

    def count(mask: np.ndarray) -> int:
        return int(calls_n[mask].sum())

    def share(mask: np.ndarray, values: np.ndarray) -> float | None:
        n = count(mask)
        return None if n == 0 else round(float(calls_n[mask & values].sum() / n), 6)

    denominator = Denominator(opts.diversion_denominator or rules.denominator)
    # records from outside 911 (311 / online reports): diverted; in the share when counted
    rec_base = (np.zeros(0, dtype=bool) if records is None
                else records["diversion_base"].to_numpy(bool))
    rec_year = np.zeros(0, dtype=np.int32) if records is None else records["year"].to_numpy()
    counted = bool(rec_base.any())

    def diverted_share(mask: np.ndarray, rec: np.ndarray) -> float | None:
        n = count(mask & base) + int((rec & rec_base).sum())
        k = count(mask & base & diverted) + int((rec & rec_base).sum())
        return None if n == 0 else round(k / n, 6)

    everyone = np.ones(len(rec_base), dtype=bool)
    by_year = {str(y): uniq & (year == y) for y in years}
    fam_counts = [count(placed_rows & (fam == i)) for i in range(NONE_CODE + 1)]
    demand_block = demand_summary(tally, opts.count_calls_from)
    share_words = denominator_words(denominator, outside_911=counted) + (
        "" if demand_block.all_counted else f", counting only {demand_block.words}")
    types = call_type_summary(tally, max_share=opts.unknown_type_max_share)
    form = undated.get("form")
    summary = Summary(
        label=opts.label or "",
        synthetic=opts.synthetic,
        generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        safetygap_version=__version__,
        crs=crs.to_string(),
        years=list(years),
        taxonomy={"name": taxonomy.name, "version": taxonomy.version},
        totals=Totals(
            input_rows=tally.rows,
            unique_calls=count(uniq),
            calls_in_areas=count(placed_rows),
            by_family={f: int(fam_counts[i]) for i, f in enumerate((*FAMILIES, "none"))},
            by_year={str(y): count(placed_rows & (year == y)) for y in years},
            neighborhoods=len(nbhd),
            wards=len(wards),
            population=_num(np.nansum(nbhd[M.POPULATION].to_numpy(float))),
            calls_in_wards=count(t[IN_WARDS].to_numpy(dtype=bool)),
        ),
        diverted_share={"all": diverted_share(uniq, everyone),
                        **{y: diverted_share(m, rec_year == int(y))
                           for y, m in by_year.items()}},
        eligible_not_diverted_share={"all": share(uniq & demand, end),
                                     **{y: share(m & demand, end)
                                        for y, m in by_year.items()}},
        diverted_by_agency={str(k): int(v) for k, v in
                            tally.most_common(AGENCIES).items()},
        diversion=DiversionSummary(
            rules=DiversionRulesRef(name=rules.name, version=rules.version,
                                    source=rules.source, checksum=rules.checksum()),
            denominator=str(denominator),
            denominator_words=share_words,
            denominator_calls=count(uniq & base) + int(rec_base.sum()),
            diverted_calls=count(uniq & diverted) + int(rec_base.sum()),
            calls_911={"denominator_calls": count(uniq & base),
                       "diverted_calls": count(uniq & base & diverted),
                       "diverted_share": share(uniq & base, diverted)},
            outside_911=None if records is None else {
                "records": len(records), "counted": counted,
                "channel": str(records["channel"].iloc[0]) if len(records) else None,
                "located_by": {str(k): int(v) for k, v in
                               records["located_by"].value_counts(sort=False).items()}},
            by_channel=_added(channel_counts(t[C.CHANNEL][uniq], weights=calls_n[uniq]),
                              None if records is None
                              else channel_counts(records["channel"][rec_base])),
            by_rule=[RuleCount(**r) for r in rule_counts(t, uniq, rules=rules,
                                                         weights=calls_n)],
        ),
        families={
            f: FamilySummary(
                need_calls=int(fam_counts[i]),
                coverable_calls=count(placed_rows & (fam == i) & coverable),
                placeless_only_calls=count(placed_rows & (fam == i) & ~coverable),
                coverage=share(placed_rows & (fam == i) & coverable, covered))
            for i, f in enumerate(FAMILIES)
        },
        top_underserved={
            Level.NEIGHBORHOOD: {f: underserved_list(nbhd, f, top=top) for f in FAMILIES},
            Level.WARD: {f: underserved_list(wards, f, top=top) for f in FAMILIES},
            "status": "uncalibrated" if types.uncalibrated else "calibrated",  # type: ignore
        },
        top_underserved_basis=(
            "areas of high need and low access (top third of need, bottom third of access "
            "among the ranked areas), ordered by need (empirical-Bayes smoothed calls per "
            "1,000 residents per covered year); rank 1 = most underserved"),
        not_ranked={Level.NEIGHBORHOOD: _flagged(nbhd), Level.WARD: _flagged(wards)},
        gap_index_top={
            Level.NEIGHBORHOOD: {f: _top(nbhd, f) for f in FAMILIES},
            Level.WARD: {f: _top(wards, f, n=5) for f in FAMILIES},
        },
        methods=opts.methods.to_dict(),
        quality=QualityCounts(
            status_counts=quality.calls.status_counts,
            areas_without_population=len(quality.population["areas_without_population"]),
            areas_with_zero_population=len(quality.population["areas_with_zero_population"]),
            providers_outside_boundaries=quality.providers["outside_boundaries"],
        ),
        diverted_share_basis="unique calls (duplicate ids excluded), all locations, of "
                             + share_words,
        boundary_sensitivity=sensitivity,
        travel=travel,
        uncertainty=measured.uncertainty,
        placeless_services=measured.placeless_services,
        time_covered=measured.time_covered,
        demand_points=measured.demand_points,
        demand=demand_block,
        call_types=types,
        uncalibrated=types.uncalibrated,
        undated=Undated(**{k: undated[k] for k in ("calls", "share", "max_share",
                                                   "rates_undated", "words")},
                        form=None if form is None else form["words"]),
        agency=agency_summary(columns),
        caveats=[],
    )
    summary.caveats = caveats(summary, quality)
    return summary


def _added(counts: dict[str, int], more: dict[str, int] | None) -> dict[str, int]:
    """``counts`` plus ``more`` key by key (the keys of ``counts``)."""
    return counts if more is None else {k: v + more.get(k, 0) for k, v in counts.items()}


def value_counts(values: pd.Series) -> dict[str, int]:
    """Rows per value, missing ones left out, most first (ties in order of first
    appearance): ``values.astype(str).value_counts()`` as a dict, counted on codes
    without a text per row."""
    codes, names = pd.factorize(values)
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    order = sorted(range(len(names)), key=lambda i: -counts[i])
    return {str(names[i]): int(counts[i]) for i in order}


def demand_summary(tally: CallTally, calls_from: str) -> Demand:
    """Which calls the demand measures and the diverted share count (the setting, its
    words, the unique calls by source, counted and left out)."""
    t = tally.table
    n = t[N].to_numpy()
    uniq = t[UNIQUE].to_numpy(dtype=bool)
    counted = t[C.COUNTED].to_numpy(dtype=bool)
    by_source = tally.first_seen(SOURCES)
    recorded = set(by_source) != {str(CallSource.NOT_RECORDED)}
    setting = CallsFrom(calls_from)
    left_out = int(n[uniq & ~counted].sum())
    words = (CALLS_FROM_WORDS[setting] if recorded else
             "every call (the calls file records no call source; each is taken as a call "
             "from the public)")
    return Demand(
        count_calls_from=str(setting),
        source_recorded=recorded,
        words=words,
        by_source=by_source,
        counted_calls=int(n[uniq & counted].sum()),
        left_out_calls=left_out,
        all_counted=left_out == 0,
        basis=f"calls, rates, need calls, coverage and the diverted share count {words}"
              + (f": {left_out:,} unique calls left out" if left_out else ""),
    )


def call_type_summary(tally: CallTally, *, max_share: float) -> CallTypes:
    """The share of calls whose type the taxonomy does not know, of the unique calls
    counted as demand, with the most common such types; above ``max_share`` the
    headline lists are ``uncalibrated``."""
    t = tally.table
    calls_n = t[N].to_numpy()
    basis = t[UNIQUE].to_numpy(dtype=bool) & t[C.COUNTED].to_numpy(dtype=bool)
    unknown = ~t[C.KNOWN].to_numpy(dtype=bool)
    n, k = int(calls_n[basis].sum()), int(calls_n[basis & unknown].sum())
    share_ = k / n if n else 0.0
    top = tally.most_common(UNKNOWN_COUNTED, 10)
    over = share_ > max_share
    return CallTypes(
        calls=n,
        unknown_type_calls=k,
        unknown_type_share=round(share_, 6),
        max_share=max_share,
        uncalibrated=over,
        top_unknown_types=[{"type": str(t), "calls": int(c)} for t, c in top.items()],
        basis="unique calls counted as demand (duplicate ids excluded, all locations)",
        words=(f"{share_:.1%} of the calls ({k:,} of {n:,}) are of types the taxonomy does "
               "not know"),
        advice=(f"Calibrate: `safetygap profile CALLS` with {option('write_taxonomy')} "
                "taxonomy.toml adds the city's own types to the categories words in them "
                f"suggest, and with {option('write_rules')} rules.toml lists them by count "
                "with a suggested family and channel for each (every suggestion marked "
                f"REVIEW); review both files and run analyze with {option('taxonomy')} "
                f"taxonomy.toml and {option('diversion_rules')} rules.toml (formats in "
                "docs/TAXONOMY.md)") if over else "",
    )


def agency_summary(columns: ColumnMap) -> AgencySource:
    """Where the calls' agency comes from: a column, or the stated default of a file from
    one department."""
    if columns.agency:
        return AgencySource(column=columns.agency, default=None,
                            words=f"the agency of each call is its {columns.agency!r} value")
    return AgencySource(column=None, default=columns.default_agency,
                        words=f"every call is counted as {columns.default_agency}'s: the "
                              "calls file has no agency column (default_agency)")


def caveats(summary: Mapping[str, Any], quality: Mapping[str, Any]) -> list[Caveat]:
    """What every output must say about this run before its figures: uncalibrated
    headline lists, undated rates, wards that miss part of the city. Each entry has a
    ``kind``, a short ``headline`` and the ``text``."""
    out = []
    types = summary["call_types"]
    if types["uncalibrated"]:
        out.append(Caveat(
            kind="uncalibrated",
            headline=f"Uncalibrated: {types['unknown_type_share']:.0%} of the calls are of "
                     "types the taxonomy does not know",
            text=f"{types['words']} (more than the {types['max_share']:.0%} allowed), so "
                 "the most-underserved lists rest only on the calls whose type it knows. "
                 + types["advice"] + "."))
    undated = summary.get("undated")
    if undated and undated["rates_undated"]:
        out.append(Caveat(kind="rates_undated", headline="Rates are undated",
                          text=undated["words"] + " (the run accepted them knowingly: "
                               f"{option('accept_undated')})."))
    demand = summary.get("demand")
    if demand and demand["left_out_calls"]:
        out.append(Caveat(
            kind="demand_basis",
            headline="Counts are of calls from the public"
            if demand["count_calls_from"] == "public" else "Counts are of every call",
            text=f"The counts, rates, need calls, coverage and the diverted share count "
                 f"{demand['words']}: {demand['left_out_calls']:,} of "
                 f"{demand['counted_calls'] + demand['left_out_calls']:,} unique calls left "
                 f"out (to count every call, set {option('count_calls_from')} to all)."))
    cover = quality.get("boundaries", {}).get("wards_cover_neighborhoods", {})
    if cover.get("warning"):
        out.append(Caveat(kind="wards_partial", headline="The wards miss part of the city",
                          text=cover["words"] + "."))
    return out


def calls_fingerprint(spec: str | os.PathLike) -> dict[str, Any]:
    """The manifest's record of the calls: path (absolute), bytes and
    SHA-256 (of a dataset: of its files' names and SHA-256s, with the number of files)."""
    problems = Problems()
    source = resolve_calls(spec, problems)
    problems.raise_if_any()
    assert source is not None
    return source.fingerprint()


def manifest_report(
    inputs: AnalysisInputs,
    opts: AnalysisOptions,
    taxonomy: Taxonomy,
    crs: CRS,
    columns: ColumnMap,
    *,
    rules: DiversionRules,
) -> dict[str, Any]:
    files = {}
    for role in ("calls", "providers", "neighborhoods", "wards", "population", "taxonomy",
                 "network", "diversion_rules", "reports", "demographics",
                 "demographics_mapping", "fine_population", "population_layer", "streets"):
        p = getattr(inputs, role)
        if p is None:
            continue
        if role == "calls":  # a file, or a dataset of files (a directory or glob)
            files[role] = calls_fingerprint(p)
            if inputs.calls_origin is not None:  # a local copy of a URL's files
                files[role]["origin"] = inputs.calls_origin
            continue
        p = Path(p)
        files[role] = {"path": str(p.resolve()), "bytes": p.stat().st_size,
                       "sha256": sha256_file(p)}
    return {
        "safetygap_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": files,
        "options": opts.to_dict() | {"columns": columns.to_dict()},
        "crs": crs.to_string(),
        "taxonomy": {
            "name": taxonomy.name,
            "version": taxonomy.version,
            "source": taxonomy.source,
            "checksum": taxonomy.checksum(),
            "content": taxonomy.to_dict(),
        },
        "diversion_rules": rules.to_dict(),
        "synthetic": opts.synthetic,
        "label": opts.label or "",
        "host": os.uname().nodename if hasattr(os, "uname") else "",
    }
