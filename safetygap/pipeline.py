"""The analysis pipeline: inputs in, an :class:`Analysis` out.

Steps (each a pure function in :mod:`safetygap.geo` or :mod:`safetygap.boundaries`):

1. check every input before the heavy work (:mod:`safetygap._steps.preflight`): load the
   taxonomy, both boundary layers (in the projected analysis CRS, which it chooses), the
   providers and the population, check the calls file's header and that the wards
   overlap the neighborhoods; every problem of every file is raised in one error
2. match population to neighborhoods by name
3. place providers in areas
4. read calls, classify them, flag row faults, join them to neighborhoods and wards
5. calls within ``boundary_tolerance_m`` of a neighborhood or ward line
   (:mod:`safetygap.geo.boundary`), allocated under both boundary policies
6. coverage of each need call by its family's providers (straight-line metres, or
   travel minutes on a street network: ``AnalysisOptions(travel="network", mode=...)``)
7. counts per area, period and family under both policies; E2SFCA
   accessibility; indices (the chosen policy's are the outputs, the other's
   only feed ``summary["boundary_sensitivity"]``)
8. ward population by area-weighted apportioning from neighborhoods
9. summary and data-quality report

The steps live in the private modules of :mod:`safetygap._steps`; this module
composes them. :func:`analyze` returns everything in memory;
:func:`safetygap.workspace.write_workspace` writes it to disk.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from safetygap._progress import Progress
from safetygap._status import ANALYSED_STATUSES, STATUS_ORDER
from safetygap._steps.areas import (
    boundary_allocations,
    coverage,
    level_indices,
    near_boundary_quality,
)
from safetygap._steps.equity import equity_outputs, match_demographics
from safetygap._steps.places import match_population, place_providers, to_crs_xy
from safetygap._steps.preflight import analysis_crs, preflight
from safetygap._steps.report import manifest_report, quality_report, summary_report
from safetygap._steps.rows import (
    call_features,
    flag_rows,
    join_note,
    swapped_coordinates,
)
from safetygap._steps.travel import load_travel, travel_quality, travel_summary
from safetygap.diversion import Denominator
from safetygap.equity import DEFAULT_DRAWS
from safetygap.errors import Problems, ValidationError
from safetygap.geo.boundary import (
    BOUNDARY_POLICIES,
    DEFAULT_TOLERANCE_M,
)
from safetygap.geo.join import assign_areas
from safetygap.geo.network import StreetNetwork
from safetygap.inputs import ColumnMap, RecordsInput, read_calls
from safetygap.inputs.date_window import DEFAULT_DATE_FROM, DateWindow
from safetygap.inputs.malformed import DEFAULT_MAX_MALFORMED_SHARE
from safetygap.inventory.fields import STALE_AFTER_MONTHS
from safetygap.outside911 import place_records
from safetygap.vocab import Channel, allowed

__all__ = [
    "ANALYSED_STATUSES",
    "STATUS_ORDER",
    "STEPS",
    "Analysis",
    "AnalysisInputs",
    "AnalysisOptions",
    "analysis_crs",
    "analyze",
    "boundary_allocations",
    "coverage",
    "default_inputs",
    "level_indices",
    "load_travel",
    "swapped_coordinates",
]

STEPS = (
    "checking inputs: taxonomy, boundaries, providers, population, calls header",
    "loading street network",
    "matching population and demographics",
    "placing providers",
    "reading and classifying calls",
    "joining calls to neighborhoods and wards ({engine} engine)",
    "flagging faults",
    "calls near neighborhood and ward lines",
    "coverage, accessibility and indices",
    "summary and data-quality report",
)
"""The progress steps of :func:`analyze`, in order (``{engine}`` is filled in)."""

ENGINES = ("memory", "dask")
"""Where the join and per-area counts run: in this process, or on a dask cluster."""


@dataclass(frozen=True)
class AnalysisInputs:
    """Paths of the input files; population is optional."""

    calls: Path
    providers: Path
    neighborhoods: Path
    wards: Path
    population: Path | None = None
    taxonomy: Path | None = None
    network: Path | None = None
    """Street network (OSM XML or GraphML) for ``travel="network"``."""
    diversion_rules: Path | None = None
    """Diversion rule set (TOML); None: the packaged Minneapolis default."""
    reports: Path | None = None
    """Diverted records from outside 911 (311 and online police reports), optional:
    :mod:`safetygap.outside911`."""
    demographics: Path | None = None
    """Demographic table (groups with ACS margins of error) by area, or tract polygons."""
    demographics_mapping: Path | None = None
    """Layout of the demographic table (TOML); None: recognised among the packaged ones."""
    fine_population: Path | None = None
    """Finer population layer (blocks or address points) for dasymetric interpolation."""


@dataclass(frozen=True)
class AnalysisOptions:
    """Options of one run (all keyword-only at the call sites)."""

    columns: ColumnMap = field(default_factory=ColumnMap)
    preset: str | None = None
    crs: str | None = None  # projected analysis CRS; default: the neighborhoods' own or UTM
    neighborhood_id: str | None = None
    neighborhood_name: str | None = None
    ward_id: str | None = None
    ward_name: str | None = None
    population_name_column: str | None = None
    population_column: str | None = None
    providers_crs: str | None = None
    encoding: str = "utf-8"
    label: str | None = None  # free text shown on maps; the demo sets its synthetic label
    synthetic: bool = False
    boundary_tolerance_m: float = DEFAULT_TOLERANCE_M  # metres, see safetygap.geo.boundary
    boundary_policy: str = "contain"  # "contain" or "split"
    travel: str = "straight"  # "straight" (metres) or "network" (minutes on inputs.network)
    mode: str = "walk"  # network travel mode: "walk" or "drive"
    engine: str = "memory"  # "memory", or "dask": join and counts on a dask cluster
    scheduler: str | None = None  # dask scheduler address; None: a local cluster
    staging: Path | None = None  # dask: folder for the partitioned calls (visible to workers)
    partitions: int | None = None  # dask: number of calls partitions (default by size)
    diversion_denominator: str | None = None  # "police_and_alternatives" | "all_calls";
    # None: the rule set's own (docs/TAXONOMY.md, "Diversion rules")
    reports_columns: dict[str, str] | None = None  # field -> column of inputs.reports
    # (safetygap.inputs.records.RecordColumns; None: its default names)
    reports_channel: str = "report_311_online"  # the channel of every record of inputs.reports
    reports_counted: bool = True  # the records count in the diverted share (numerator and
    # denominator); False: reported beside it only
    stale_after_months: float = STALE_AFTER_MONTHS  # providers verified longer ago: stale
    as_of: dt.date | None = None  # the date staleness is measured at (default: today)
    max_malformed_share: float = DEFAULT_MAX_MALFORMED_SHARE  # CSV rows with a wrong
    # number of fields: skipped and listed up to this share of a file's rows, else refused
    date_from: str = DEFAULT_DATE_FROM  # ISO: calls dated before it are left out
    date_to: str | None = None  # ISO: calls dated after it are left out (None: tomorrow)
    demographic_groups: tuple[str, ...] | None = None  # group keys kept; None: every one
    fine_population_column: str | None = None  # head-count column of the finer layer
    equity_draws: int = DEFAULT_DRAWS  # Monte Carlo draws of the equity intervals
    equity_seed: int = 2025  # their seed (docs/METHODS.md, Equity)

    def validate(self) -> None:
        """Raise one ValidationError listing every bad option value."""
        problems = Problems()
        if self.boundary_policy not in BOUNDARY_POLICIES:
            problems.add("boundary_policy", "unknown boundary policy",
                         value=self.boundary_policy, allowed=BOUNDARY_POLICIES)
        tol = self.boundary_tolerance_m
        if not isinstance(tol, (int, float)) or not np.isfinite(tol) or tol < 0:
            problems.add("boundary_tolerance_m", "must be a number of metres >= 0", value=tol)
        if self.engine not in ENGINES:
            problems.add("engine", "unknown engine", value=self.engine,
                         allowed=", ".join(ENGINES))
        months = self.stale_after_months
        if not isinstance(months, (int, float)) or not np.isfinite(months) or months <= 0:
            problems.add("stale_after_months", "must be a number of months > 0", value=months)
        share = self.max_malformed_share
        if not isinstance(share, (int, float)) or not 0 <= share <= 1:
            problems.add("max_malformed_share", "must be a share from 0 to 1", value=share)
        try:
            DateWindow.of(self.date_from, self.date_to)
        except ValidationError as exc:
            problems.items.extend(exc.problems)
        if not isinstance(self.equity_draws, int) or not 100 <= self.equity_draws <= 100_000:
            problems.add("equity_draws", "must be a whole number from 100 to 100,000",
                         value=self.equity_draws)
        if self.partitions is not None and self.partitions < 1:
            problems.add("partitions", "must be at least 1", value=self.partitions)
        if self.diversion_denominator is not None and \
                self.diversion_denominator not in allowed(Denominator):
            problems.add("diversion_denominator", "unknown denominator",
                         value=self.diversion_denominator, allowed=allowed(Denominator))
        diverted = [str(c) for c in Channel if c.diverted]
        if self.reports_channel not in diverted:
            problems.add("reports_channel", "the records' channel must be a non-police "
                         "alternative", value=self.reports_channel, allowed=diverted)
        problems.raise_if_any()

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "columns"}
        d["columns"] = self.columns.to_dict()
        d["staging"] = None if self.staging is None else str(self.staging)
        d["as_of"] = None if self.as_of is None else self.as_of.isoformat()
        d["demographic_groups"] = (None if self.demographic_groups is None
                                   else list(self.demographic_groups))
        return d


@dataclass
class Analysis:
    """Everything one run produced, in memory."""

    neighborhoods: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    calls: pd.DataFrame
    providers: gpd.GeoDataFrame
    indices: pd.DataFrame
    summary: dict[str, Any]
    quality: dict[str, Any]
    manifest: dict[str, Any]
    crs: str
    timings: dict[str, float] = field(default_factory=dict)
    network: StreetNetwork | None = None  # the street network of a network-travel run
    records: pd.DataFrame | None = None
    """Diverted records from outside 911 (:data:`safetygap.outside911.RECORD_COLUMNS`),
    when the analysis had a reports file."""
    equity: dict[str, Any] | None = None  # equity.json: groups against underserved areas


def analyze(
    inputs: AnalysisInputs,
    *,
    options: AnalysisOptions | None = None,
    progress: Progress | None = None,
) -> Analysis:
    """Run the whole analysis and return it in memory (see module docstring)."""
    opts = options or AnalysisOptions()
    opts.validate()
    prog = progress or Progress(len(STEPS), enabled=False)
    names = iter(STEPS)

    def step(**fields: str) -> Any:
        return prog.step(next(names).format(**fields))

    with step() as info:
        checked = preflight(inputs, opts)  # raises every problem of every input at once
        taxonomy, crs = checked.taxonomy, checked.crs
        nbhd, wards = checked.neighborhoods, checked.wards
        info["note"] = f"{len(nbhd)} neighborhoods, {len(wards)} wards, CRS {crs.to_string()}"

    with step() as info:
        travel = load_travel(opts.travel, opts.mode, inputs.network, crs,
                             bounds=nbhd.total_bounds)
        info["note"] = (travel.name if travel.network is None else
                        f"{travel.name}, {travel.network.n_nodes:,} nodes, "
                        f"{travel.network.n_segments:,} segments")

    with step() as info:
        population, pop_quality = match_population(checked.population, nbhd)
        info["note"] = f"{int(np.isfinite(population).sum())} of {len(nbhd)} areas with population"
        demo_n = demo_quality = None
        if checked.demographics is not None:
            demo_n, demo_quality = match_demographics(checked.demographics, nbhd,
                                                      fine=checked.fine_population)
            info["note"] += (f"; demographics for {demo_quality['areas_with_data']} "
                             f"({len(demo_n.spec.groups)} groups)")

    with step() as info:
        prov = checked.providers
        providers, prov_quality = place_providers(
            prov.frame, prov.crs, crs, taxonomy, nbhd, wards, mode=opts.mode,
            today=opts.as_of, stale_after_months=opts.stale_after_months,
            where=f"providers {prov.path}")
        info["note"] = f"{len(providers)} providers"

    with step() as info:
        cin = read_calls(inputs.calls, columns=opts.columns, encoding=opts.encoding,
                         max_malformed_share=opts.max_malformed_share)
        calls = cin.frame
        window = DateWindow.of(opts.date_from, opts.date_to, today=opts.as_of)
        calls["date_outside"] = window.classify(calls["time"])
        calls["x"], calls["y"] = to_crs_xy(calls["x"].to_numpy(), calls["y"].to_numpy(),
                                             cin.crs, crs)
        denominator = (None if opts.diversion_denominator is None
                       else Denominator(opts.diversion_denominator))
        calls = call_features(calls, taxonomy, checked.rules, denominator=denominator)
        info["note"] = f"{len(calls):,} rows"

    contain_counts = None
    with step(engine=opts.engine) as info:
        calls["covered"] = coverage(calls, providers, travel)  # needs no area
        if opts.engine == "dask":
            from safetygap.distributed import join_and_count

            joined = join_and_count(calls, nbhd, wards, crs=crs.to_string(),
                                    scheduler=opts.scheduler, staging=opts.staging,
                                    partitions=opts.partitions)
            n_idx, w_idx, contain_counts = joined.n_idx, joined.w_idx, joined.counts
        else:
            xy = (calls["x"].to_numpy(), calls["y"].to_numpy())
            n_idx = assign_areas(xy, nbhd, crs=crs)
            w_idx = assign_areas(xy, wards, crs=crs)
        info["note"] = join_note(n_idx, w_idx, calls["dup"].to_numpy()) + (
            f"; {joined.note}" if opts.engine == "dask" else "")
        swapped = swapped_coordinates(cin, n_idx, nbhd)  # raises when the file is swapped

    with step() as info:
        calls, examples = flag_rows(calls, cin.examples, n_idx, w_idx,
                                    source_xy=cin.source_xy,
                                    coordinate_label=cin.coordinate_label)
        info["note"] = ", ".join(f"{k} {v:,}" for k, v in
                                 calls["status"].value_counts().items() if k != "ok")

    with step() as info:
        boundary = boundary_allocations(calls, nbhd, wards, crs, opts.boundary_tolerance_m)
        info["note"] = (f"{boundary['neighborhood']['shared']:,} calls within "
                        f"{opts.boundary_tolerance_m:g} m of a line between neighborhoods")

    with step() as info:
        in_areas = calls["n_idx"].to_numpy() >= 0
        years = tuple(sorted(int(y) for y in pd.unique(calls["year"].to_numpy()[in_areas])
                             if y > 0))
        result = level_indices(calls, years, nbhd, wards, population, providers,
                               boundary, policy=opts.boundary_policy,
                               tolerance_m=opts.boundary_tolerance_m, travel=travel,
                               contain_counts=None if contain_counts is None
                               else contain_counts(years))
        info["note"] = f"{travel.name}; years {', '.join(map(str, years)) or 'none'}"

    with step() as info:
        nbhd_out, ward_out, tidy, cw_quality, sensitivity = result
        equity = None
        if demo_n is not None:
            nbhd_out, ward_out, equity = equity_outputs(
                demo_n, nbhd_out, ward_out, n_draws=opts.equity_draws, seed=opts.equity_seed)
        quality = quality_report(calls, examples, cin, pop_quality, prov_quality,
                                 checked.nbhd_report, checked.ward_report, cw_quality)
        quality["boundaries"]["wards_cover_neighborhoods"] = checked.layers_overlap
        quality["boundaries"]["near_boundary"] = near_boundary_quality(boundary, opts)
        quality["travel"] = travel_quality(travel, calls, providers)
        if demo_quality is not None:
            quality["demographics"] = demo_quality
        quality["calls"]["faults"]["swapped_coordinates"] = swapped["rows"]
        quality["calls"]["date_window"] = window.quality(
            calls["date_outside"].to_numpy(), calls["row"].to_numpy(), calls["call_id"],
            calls["time"])
        quality["calls"]["malformed_rows"] = cin.malformed.to_dict(
            len(calls) + len(cin.malformed), opts.max_malformed_share)
        if swapped["examples"]:
            quality["calls"]["examples"]["swapped_coordinates"] = swapped["examples"]
        records = None
        if checked.records is not None:
            records, quality["reports"] = _records(checked.records, nbhd, wards, crs,
                                                   taxonomy, opts)
        summary = summary_report(calls, nbhd_out, ward_out, years, quality, opts, taxonomy, crs,
                                 rules=checked.rules, records=records)
        summary["boundary_sensitivity"] = sensitivity
        summary["travel"] = travel_summary(travel, taxonomy)
        manifest = manifest_report(inputs, opts, taxonomy, crs, cin.columns,
                                   rules=checked.rules)
        manifest["travel"] = summary["travel"]
        info["note"] = f"{quality['calls']['analysed_in_areas']:,} calls in areas"

    calls_out = _calls_output(calls, nbhd, wards, boundary)
    return Analysis(
        neighborhoods=nbhd_out,
        wards=ward_out,
        calls=calls_out,
        providers=providers,
        indices=tidy,
        summary=summary,
        quality=quality,
        manifest=manifest,
        crs=crs.to_string(),
        timings=dict(prog.timings),
        network=travel.network,
        records=records,
        equity=equity,
    )


def _records(rin: RecordsInput, nbhd: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, crs: Any,
             taxonomy: Any, opts: AnalysisOptions) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The records from outside 911 placed in areas (:mod:`safetygap.outside911`)."""
    frame = rin.frame.copy()
    frame["x"], frame["y"] = to_crs_xy(frame["x"].to_numpy(), frame["y"].to_numpy(),
                                       rin.crs, crs)
    table, quality = place_records(frame, nbhd, wards, crs=crs, taxonomy=taxonomy,
                                   channel=opts.reports_channel,
                                   counted=opts.reports_counted)
    return table, {"file": str(rin.path), **quality}


def _calls_output(calls: pd.DataFrame, nbhd: gpd.GeoDataFrame,
                  wards: gpd.GeoDataFrame, boundary: dict[str, dict[str, Any]]) -> pd.DataFrame:
    n_ids = nbhd["area_id"].to_numpy()
    w_ids = wards["area_id"].to_numpy()
    n_idx = calls["n_idx"].to_numpy()
    w_idx = calls["w_idx"].to_numpy()
    out = pd.DataFrame({
        "row": calls["row"].to_numpy(),
        "call_id": calls["call_id"].array,
        "call_type": calls["call_type"].array,
        "agency": calls["agency"].array,
        "time": calls["time"].to_numpy(),
        "year": calls["year"].to_numpy(),
        "status": calls["status"].array,
        "neighborhood_id": pd.Categorical.from_codes(np.where(n_idx >= 0, n_idx, -1),
                                                     categories=pd.Index(n_ids)),
        "ward_id": pd.Categorical.from_codes(np.where(w_idx >= 0, w_idx, -1),
                                             categories=pd.Index(w_ids)),
        "category": pd.Categorical(calls["category"].array),
        "family": pd.Categorical(calls["family"].array),
        "eligible": calls["eligible"].to_numpy(),
        "channel": calls["channel"].array,
        "diversion_rule": calls["diversion_rule"].array,
        "diverted": calls["diverted"].to_numpy(),
        "diversion_base": calls["diversion_base"].to_numpy(),
        "covered": calls["covered"].to_numpy(),
        "split_neighborhoods": boundary["neighborhood"]["split"].k.astype(np.int16),
        "split_wards": boundary["ward"]["split"].k.astype(np.int16),
        "x": calls["x"].to_numpy(),
        "y": calls["y"].to_numpy(),
    })
    return out


def default_inputs(directory: str | os.PathLike) -> AnalysisInputs:
    """The input paths the demo city writes into ``directory``."""
    d = Path(directory)
    return AnalysisInputs(
        calls=d / "calls.csv",
        providers=d / "providers.csv",
        neighborhoods=d / "neighborhoods.gpkg",
        wards=d / "wards.gpkg",
        population=d / "population.csv",
        demographics=d / "demographics.csv" if (d / "demographics.csv").is_file() else None,
    )
