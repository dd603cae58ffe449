"""The inputs and options of one analysis run (:func:`safetygap.pipeline.analyze`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from safetygap.defaults import (
    COUNT_CALLS_FROM,
    DEFAULT_BOUNDARY_TOLERANCE_M,
    UNDATED_MAX_SHARE,
    UNKNOWN_TYPE_MAX_SHARE,
    WARD_COVER_MIN,
)
from safetygap.diversion import CallsFrom, Denominator
from safetygap.equity import DEFAULT_DRAWS
from safetygap.equity.moe import CV_CAUTION, CV_UNRELIABLE
from safetygap.errors import Problems, ValidationError
from safetygap.inputs import ColumnMap
from safetygap.inputs.date_window import DEFAULT_DATE_FROM, DateWindow
from safetygap.inputs.inventory_fields import STALE_AFTER_MONTHS
from safetygap.inputs.malformed import DEFAULT_MAX_MALFORMED_SHARE
from safetygap.methods import Methods
from safetygap.vocab import (
    BOUNDARY_POLICIES,
    ENGINES,
    BoundaryPolicy,
    Channel,
    Engine,
    TravelKind,
    TravelMode,
    allowed,
)


@dataclass(frozen=True)
class AnalysisInputs:
    """Paths of the input files; population is optional."""

    calls: Path | str
    """The calls file, or a dataset of files: a directory or a glob
    (:mod:`safetygap.inputs.sources`)."""
    providers: Path
    neighborhoods: Path
    wards: Path
    population: Path | None = None
    taxonomy: Path | None = None
    network: Path | None = None
    """Street network (OSM XML or GraphML) for ``travel="network"``."""
    diversion_rules: Path | None = None
    """Diversion rule set (TOML); None: the packaged Minneapolis default."""
    population_layer: Path | None = None
    """Finer population layer (census blocks or address points with a population column,
    or building footprints / residential land use without one) that spreads each area's
    residents over the demand grid (docs/METHODS.md, demand points)."""
    reports: Path | None = None
    """Diverted records from outside 911 (311 and online police reports), optional:
    :mod:`safetygap.outside911`."""
    demographics: Path | None = None
    """Demographic table (groups with ACS margins of error) by area, or tract polygons."""
    demographics_mapping: Path | None = None
    """Layout of the demographic table (TOML); None: recognised among the packaged ones."""
    fine_population: Path | None = None
    """Finer population layer (blocks or address points) for dasymetric interpolation."""
    streets: Path | None = None
    """Street network (OSM XML or GraphML) whose street names name places (proposed
    sites: "5th Avenue & 12th Street"); None: the network's own names, if any."""
    calls_origin: str | None = None
    """Where :attr:`calls` were copied from (a URL the ``analyze`` command copied:
    :mod:`safetygap.fetch.remote`); recorded in the manifest. None: read where they are."""


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
    neighborhoods_crs: str | None = None  # declared CRS of the neighborhoods file (for a
    # file that carries none; must agree with the file's own)
    wards_crs: str | None = None  # declared CRS of the wards file, likewise
    population_name_column: str | None = None
    population_column: str | None = None
    providers_crs: str | None = None
    encoding: str = "utf-8"
    label: str | None = None  # free text shown on maps; the demo sets its synthetic label
    synthetic: bool = False
    boundary_tolerance_m: float = DEFAULT_BOUNDARY_TOLERANCE_M  # metres, safetygap.defaults
    boundary_policy: str = BoundaryPolicy.CONTAIN  # vocab.BoundaryPolicy: contain or split
    travel: str = TravelKind.STRAIGHT  # straight (metres) or network (minutes on inputs.network)
    mode: str = TravelMode.WALK  # network travel mode (vocab.TravelMode): walk or drive
    engine: str = Engine.MEMORY  # memory, stream (in batches), or dask (on a cluster)
    scheduler: str | None = None  # dask scheduler address; None: a local cluster
    staging: Path | None = None  # stream/dask: folder of the spills (dask: every worker's)
    partitions: int | None = None  # dask: tasks the calls files are grouped into (default:
    # one a file)
    batch_rows: int | None = None  # stream: rows of a batch (None: 500,000)
    diversion_denominator: str | None = None  # "police_and_alternatives" | "all_calls";
    # None: the rule set's own (docs/TAXONOMY.md, "Diversion rules")
    reports_columns: dict[str, str] | None = None  # field -> column of inputs.reports
    # (safetygap.inputs.records.RecordColumns; None: its default names)
    reports_channel: str = Channel.REPORT_311_ONLINE  # the channel of every record of
    # inputs.reports
    reports_counted: bool = True  # the records count in the diverted share (numerator and
    # denominator); False: reported beside it only
    stale_after_months: float = STALE_AFTER_MONTHS  # providers verified longer ago: stale
    as_of: dt.date | None = None  # the date staleness is measured at (default: today)
    methods: Methods = field(default_factory=Methods)  # every method choice (methods.py)
    population_layer_column: str | None = None  # the population layer's weight column;
    # None: point count or polygon area (dasymetric)
    demographic_groups: tuple[str, ...] | None = None  # group keys kept; None: every one
    fine_population_column: str | None = None  # head-count column of the finer layer
    demographics_crs: str | None = None  # declared CRS of the demographics' polygons
    # (census tracts) for a file that carries none; must agree with the file's own
    fine_population_crs: str | None = None  # declared CRS of the finer layer, likewise
    equity_draws: int = DEFAULT_DRAWS  # Monte Carlo draws of the equity intervals
    equity_seed: int = 2025  # their seed (docs/METHODS.md, Equity)
    cv_caution: float = CV_CAUTION  # CV from which an estimate is "use with caution"
    cv_unreliable: float = CV_UNRELIABLE  # CV above which it is "unreliable"
    max_malformed_share: float = DEFAULT_MAX_MALFORMED_SHARE  # CSV rows with a wrong
    # number of fields: skipped and listed up to this share of a file's rows, else refused
    date_from: str = DEFAULT_DATE_FROM  # ISO: calls dated before it are left out
    date_to: str | None = None  # ISO: calls dated after it are left out (None: tomorrow)
    count_calls_from: str = COUNT_CALLS_FROM  # "public" | "all": the calls demand measures
    # and the diverted share count, by who started them (safetygap.diversion.CallsFrom)
    unknown_type_max_share: float = UNKNOWN_TYPE_MAX_SHARE  # more calls of types the
    # taxonomy does not know: the headline lists are marked uncalibrated
    undated_max_share: float = UNDATED_MAX_SHARE  # more calls undated than this: stop
    accept_undated: bool = False  # run anyway past undated_max_share (rates said undated)
    ward_cover_min: float = WARD_COVER_MIN  # wards covering less of the neighborhoods: warn

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
        if not isinstance(self.equity_draws, int) or not 100 <= self.equity_draws <= 100_000:
            problems.add("equity_draws", "must be a whole number from 100 to 100,000",
                         value=self.equity_draws)
        cvs = (self.cv_caution, self.cv_unreliable)
        if not all(isinstance(c, (int, float)) and np.isfinite(c) for c in cvs) or \
                not 0 < self.cv_caution < self.cv_unreliable:
            problems.add("cv_caution, cv_unreliable", "need 0 < caution < unreliable "
                         "(fractions: 0.12 is 12%)", value=cvs)
        share = self.max_malformed_share
        if not isinstance(share, (int, float)) or not 0 <= share <= 1:
            problems.add("max_malformed_share", "must be a share from 0 to 1", value=share)
        try:
            DateWindow.of(self.date_from, self.date_to)
        except ValidationError as exc:
            problems.items.extend(exc.problems)
        for name in ("undated_max_share", "ward_cover_min", "unknown_type_max_share"):
            share = getattr(self, name)
            if not isinstance(share, (int, float)) or not 0 <= share <= 1:
                problems.add(name, "must be a share between 0 and 1", value=share)
        if self.count_calls_from not in allowed(CallsFrom):
            problems.add("count_calls_from", "unknown setting", value=self.count_calls_from,
                         allowed=allowed(CallsFrom))
        if self.batch_rows is not None and (not isinstance(self.batch_rows, int)
                                            or self.batch_rows < 1):
            problems.add("batch_rows", "must be a whole number of rows >= 1",
                         value=self.batch_rows)
        if self.partitions is not None and self.partitions < 1:
            problems.add("partitions", "must be at least 1", value=self.partitions)
        if self.diversion_denominator is not None and \
                self.diversion_denominator not in allowed(Denominator):
            problems.add("diversion_denominator", "unknown denominator",
                         value=self.diversion_denominator, allowed=allowed(Denominator))
        self.methods.problems(problems)
        diverted = [str(c) for c in Channel if c.diverted]
        if self.reports_channel not in diverted:
            problems.add("reports_channel", "the records' channel must be a non-police "
                         "alternative", value=self.reports_channel, allowed=diverted)
        problems.raise_if_any()

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k not in ("columns", "methods")}
        d["columns"] = self.columns.to_dict()
        d["methods"] = self.methods.to_dict()
        d["staging"] = None if self.staging is None else str(self.staging)
        d["as_of"] = None if self.as_of is None else self.as_of.isoformat()
        d["demographic_groups"] = (None if self.demographic_groups is None
                                   else list(self.demographic_groups))
        return d
