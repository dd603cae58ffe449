"""`safetygap analyze`: calls and providers against neighborhoods and wards into a workspace."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from safetygap.errors import ValidationError
from safetygap.vocab import Channel, Engine

if TYPE_CHECKING:
    import click

from safetygap.cli import _equity as eq
from safetygap.cli._app import (
    DATE_HELP,
    DEFAULT_AGENCY_HELP,
    DEFAULT_SOURCE_HELP,
    FEED_HELP,
    SOURCE_HELP,
    SOURCE_VALUE_HELP,
    TIME_FORMAT_HELP,
    Command,
    app,
    fail,
    pairs,
    precompute_now,
    print_summary,
)
from safetygap.cli._remote import local_calls

PROVIDERS_HELP = (
    "--providers is required: a provider file (format: docs/PROVIDERS.md; template: "
    "safetygap/data/providers_template.csv; in Minneapolis `safetygap providers minneapolis` "
    "builds one from the city's fire/police station and hospital files)")


class CheckedRequired(Command):
    """A command whose options listed in ``checked_required`` are required but checked by
    the command itself (so a missing one is reported with every other missing input at
    once, with a hint); the help marks them required like click's own."""

    checked_required: tuple[str, ...] = ("providers",)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        params = [p for p in self.params if p.name in self.checked_required]
        for p in params:
            p.required = True
        try:
            super().format_help(ctx, formatter)
        finally:
            for p in params:
                p.required = False


@app.command(cls=CheckedRequired)
def analyze(
    out: Annotated[Path, typer.Option(help="workspace directory to write")],
    config: Annotated[str | None, typer.Option(
        help="city configuration: a TOML file (`safetygap init` writes a starter; fields in "
             "docs/NEW-CITY.md) or a built-in one (see `safetygap presets`); the options "
             "below override it")] = None,
    providers: Annotated[Path | None, typer.Option(
        help="provider file (format: docs/PROVIDERS.md; template: "
             "safetygap/data/providers_template.csv)")] = None,
    data: Annotated[Path | None, typer.Option(
        help="a directory written by `safetygap fetch`: its calls, neighborhoods and wards "
             "with the right preset (the options below override them)")] = None,
    calls: Annotated[str | None, typer.Option(
        help="calls file: CSV (.csv, .tsv, .txt, .csv.gz), Parquet or GeoParquet (.parquet, "
             ".geoparquet, .pq), GeoJSON (.geojson), GeoPackage (.gpkg) or JSON records "
             "(.json); or a dataset of CSV or Parquet files, read lazily in the order of "
             "their names: a directory or a glob ('calls/*.parquet', quoted); or a URL "
             "(s3://, gs://, https://, ...: a file, folder or glob there, copied beside "
             "the workspace first with fsspec and the credentials of your environment, "
             "removed after the run)")] = None,
    neighborhoods: Annotated[Path | None, typer.Option(
        "--neighborhoods", "--boundaries",
        help="neighborhood polygons (--boundaries is another name for this option)")] = None,
    wards: Annotated[Path | None, typer.Option(help="ward polygons")] = None,
    neighborhoods_crs: Annotated[str | None, typer.Option(
        help="CRS of the neighborhoods file when it carries none (a shapefile without its "
             ".prj), e.g. EPSG:2276; must agree with the file's own")] = None,
    wards_crs: Annotated[str | None, typer.Option(
        help="CRS of the wards file when it carries none; must agree with the file's "
             "own")] = None,
    providers_crs: Annotated[str | None, typer.Option(
        help="CRS of the x/y columns of --providers, e.g. EPSG:26915")] = None,
    population: Annotated[Path | None, typer.Option(help="population by neighborhood")] = None,
    population_name_column: Annotated[str | None, typer.Option(
        help="neighborhood-name column of --population (default: the first of neighborhood, "
             "name, area, NAME, BDNAME, area_name)")] = None,
    population_column: Annotated[str | None, typer.Option(
        help="head-count column of --population (default: the first of population, pop, "
             "POPULATION, total_population, POP)")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="call taxonomy TOML")] = None,
    diversion_rules: Annotated[Path | None, typer.Option(
        help="diversion rule set TOML: which channel handled each call (default: the "
             "Minneapolis rules; format in docs/TAXONOMY.md; `safetygap profile CALLS "
             "--write-rules FILE` writes a starter file)")] = None,
    diverted_denominator: Annotated[str | None, typer.Option(
        help="denominator of the diverted share: police_and_alternatives (fire/EMS calls "
             "left out, as the city's 9%) or all_calls (default: the rule set's)")] = None,
    count_calls_from: Annotated[str | None, typer.Option(
        help="which calls the demand measures and the diverted share count: public (911, "
             "non-emergency line, online; officer-initiated and alarm-company calls left "
             "out; the default) or all")] = None,
    reports: Annotated[Path | None, typer.Option(
        help="diverted records from outside 911 (311 and online police reports), the "
             "formats --calls reads: each counts as a diverted call, placed by its "
             "coordinates, else by its neighborhood or ward name")] = None,
    reports_column: Annotated[list[str] | None, typer.Option(
        help="FIELD=COLUMN of --reports, repeatable; fields id, call_type, time, "
             "time_format, latitude, longitude, x, y, crs, neighborhood, ward (default: "
             "columns named like the fields)")] = None,
    reports_channel: Annotated[str, typer.Option(
        help="channel of the --reports records")] = Channel.REPORT_311_ONLINE.value,
    reports_not_counted: Annotated[bool, typer.Option(
        "--reports-not-counted", help="report the --reports records beside the diverted "
        "share instead of counting them in it (numerator and denominator)")] = False,
    disposition_col: Annotated[str | None, typer.Option(
        "--disposition", help="disposition column (optional: read when present)")] = None,
    priority_col: Annotated[str | None, typer.Option(
        "--priority", help="priority column (optional: read when present)")] = None,
    preset: Annotated[str | None, typer.Option(help="column preset, e.g. minneapolis-911")]
    = None,
    crs: Annotated[str | None, typer.Option(help="projected analysis CRS (default: "
                                           "the neighborhoods' own, or its UTM zone)")] = None,
    neighborhood_id: Annotated[str | None, typer.Option(help="id column of neighborhoods")]
    = None,
    neighborhood_name: Annotated[str | None, typer.Option(help="name column of neighborhoods")]
    = None,
    ward_id: Annotated[str | None, typer.Option(help="id column of wards")] = None,
    ward_name: Annotated[str | None, typer.Option(help="name column of wards")] = None,
    id_col: Annotated[str | None, typer.Option("--id", help="call id column")] = None,
    type_col: Annotated[str | None, typer.Option("--type", help="call type column")] = None,
    agency_col: Annotated[str | None, typer.Option("--agency", help="agency column")] = None,
    default_agency: Annotated[str | None, typer.Option(help=DEFAULT_AGENCY_HELP)] = None,
    source_col: Annotated[str | None, typer.Option("--source", help=SOURCE_HELP)] = None,
    source_value: Annotated[list[str] | None, typer.Option(help=SOURCE_VALUE_HELP)] = None,
    default_source: Annotated[str | None, typer.Option(help=DEFAULT_SOURCE_HELP)] = None,
    feed_col: Annotated[str | None, typer.Option("--feed", help=FEED_HELP)] = None,
    time_col: Annotated[str | None, typer.Option("--time", help="time column")] = None,
    date_col: Annotated[str | None, typer.Option("--date", help=DATE_HELP)] = None,
    time_format: Annotated[str | None, typer.Option(help=TIME_FORMAT_HELP)] = None,
    lat: Annotated[str | None, typer.Option(help="latitude column")] = None,
    lon: Annotated[str | None, typer.Option(help="longitude column")] = None,
    x: Annotated[str | None, typer.Option(help="x column (with --calls-crs)")] = None,
    y: Annotated[str | None, typer.Option(help="y column (with --calls-crs)")] = None,
    geometry: Annotated[bool, typer.Option(
        "--geometry", help="take call locations from the file's point geometry "
        "(GeoParquet, GeoPackage, GeoJSON) instead of coordinate columns")] = False,
    calls_crs: Annotated[str | None, typer.Option(help="CRS of x/y columns")] = None,
    encoding: Annotated[str | None, typer.Option(
        help="text encoding of CSV inputs (default: utf-8)")] = None,
    boundary_tolerance: Annotated[float | None, typer.Option(
        help="metres: calls this close to a neighborhood or ward line are counted in "
             "quality.json and shared out by --boundary-policy split (default: 5)")] = None,
    boundary_policy: Annotated[str | None, typer.Option(
        help="contain (the default): count each call in the polygon containing it; split: "
             "share calls near the lines of k areas as 1/k each")] = None,
    travel: Annotated[str | None, typer.Option(
        help="distance model: straight (straight-line metres, the default) or network "
             "(travel minutes on --network)")] = None,
    mode: Annotated[str | None, typer.Option(
        help="network travel mode: walk (the default) or drive")] = None,
    network: Annotated[Path | None, typer.Option(help="street network, OSM XML or GraphML "
                                                 "(see `safetygap network fetch`)")] = None,
    streets: Annotated[Path | None, typer.Option(
        help="street network (OSM XML or GraphML) whose street names name proposed sites "
             "(\"5th Avenue & 12th Street\"); default: --network's names")] = None,
    precompute: Annotated[bool | None, typer.Option(
        help="compute the report and each family's default sites now, so the pages are "
             "quick at their first visit (default: SAFETYGAP_PRECOMPUTE, else yes)")] = None,
    engine: Annotated[str, typer.Option(
        help="where the join and per-area counts run: 'memory' (this process; fastest "
             "when the calls fit in memory), 'stream' (this process, the calls read, "
             "classified, joined and written in batches: for calls too large to hold "
             "whole; the same results) or 'dask' (needs pip install 'safetygap\\[dask]'; "
             "the same batches on the workers of a dask.distributed cluster, each reading "
             "its own files of a --calls folder or glob; the same results)")] = \
        Engine.MEMORY.value,
    scheduler: Annotated[str | None, typer.Option(
        help="dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local "
             "cluster of 2 workers)")] = None,
    staging: Annotated[Path | None, typer.Option(
        help="stream and dask: folder for the calls table while it is written and the "
             "batches' spills (dask: every worker must see it; default: a temporary "
             "folder)")] = None,
    batch_rows: Annotated[int | None, typer.Option(
        help="stream: rows of a batch (default 500,000)")] = None,
    partitions: Annotated[int | None, typer.Option(
        help="dask: number of tasks the calls files are grouped into (default: one a "
             "file; a single file is one task)")] = None,
    stale_after_months: Annotated[float | None, typer.Option(
        help="providers last verified longer ago than this many months (or never) are "
             "flagged stale (default: SAFETYGAP_STALE_AFTER_MONTHS, else 18)")] = None,
    kernel: Annotated[str | None, typer.Option(
        help="distance decay of accessibility: dai (Dai 2010, 0 at the catchment edge; "
             "default) or truncated_gaussian")] = None,
    demand: Annotated[str | None, typer.Option(
        help="where residents are placed: grid (cells clipped to each area; default) or "
             "centroid (one point per area)")] = None,
    demand_cell_m: Annotated[float | None, typer.Option(
        help="side of the demand grid's cells, metres (default 200)")] = None,
    population_layer: Annotated[Path | None, typer.Option(
        help="finer population layer spreading residents over the grid: blocks or address "
             "points (with --population-layer-column), or building footprints / "
             "residential land use (without)")] = None,
    population_layer_column: Annotated[str | None, typer.Option(
        help="population (or units) column of --population-layer")] = None,
    bootstrap: Annotated[int | None, typer.Option(
        help="bootstrap replicates of the ranks (default 200; 0: none)")] = None,
    min_population: Annotated[float | None, typer.Option(
        help="areas with fewer residents are flagged and not ranked (default 500)")] = None,
    method: Annotated[list[str] | None, typer.Option(
        help="any method setting as NAME=VALUE (repeatable), e.g. gap_days=14, "
             "nonresident_ratio=3, confidence=0.9; docs/METHODS.md lists them")] = None,
    accept_undated: Annotated[bool | None, typer.Option(
        "--accept-undated/--no-accept-undated", help="run even when more than "
        "--undated-max-share of the calls have no usable date; every output then says the "
        "rates are undated")] = None,
    undated_max_share: Annotated[float | None, typer.Option(
        help="the analysis stops when more than this share of the calls cannot be dated "
             "(0-1, default 0.05)")] = None,
    unknown_type_max_share: Annotated[float | None, typer.Option(
        help="above this share of calls of types the taxonomy does not know, the headline "
             "lists are marked uncalibrated in every output (0-1, default 0.10)")] = None,
    ward_cover_min: Annotated[float | None, typer.Option(
        help="warn, and report the area and calls missed, when the wards cover less than "
             "this share of the neighborhoods (0-1, default 0.95)")] = None,
    demographics: eq.Demographics = None,
    demographics_mapping: eq.DemographicsMapping = None,
    demographic_groups: eq.DemographicGroups = None,
    fine_population: eq.FinePopulation = None,
    fine_population_column: eq.FinePopulationColumn = None,
    demographics_crs: eq.DemographicsCrs = None,
    fine_population_crs: eq.FinePopulationCrs = None,
    equity_draws: eq.EquityDraws = None,
    equity_seed: eq.EquitySeed = None,
    cv_caution: eq.CvCaution = None,
    cv_unreliable: eq.CvUnreliable = None,
    max_malformed_share: Annotated[float | None, typer.Option(
        help="share of a CSV file's rows that may have another number of fields than its "
             "header: skipped and listed in quality.json; more refuses the file (default: "
             "SAFETYGAP_MAX_MALFORMED_SHARE, else 0.01)")] = None,
    date_from: Annotated[str | None, typer.Option(
        help="first plausible call date, YYYY-MM-DD: earlier calls are counted in "
             "quality.json and left out of the areas and rates (default: "
             "SAFETYGAP_DATE_FROM, else 1990-01-01)")] = None,
    date_to: Annotated[str | None, typer.Option(
        help="last plausible call date, YYYY-MM-DD (default: SAFETYGAP_DATE_TO, else "
             "tomorrow)")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Analyse calls and providers against neighborhoods and wards; write a workspace."""
    from safetygap.config.city import analysis_setup, load_city_config
    from safetygap.run import run_analysis

    try:
        city = load_city_config(config) if config else None
        ids: dict[str, str | None] = {
            "neighborhood_id": neighborhood_id, "neighborhood_name": neighborhood_name,
            "ward_id": ward_id, "ward_name": ward_name}
        if data is not None:
            from safetygap.fetch.minneapolis import fetched_inputs

            fetched = fetched_inputs(data)
            calls = calls or fetched.calls
            neighborhoods = neighborhoods or fetched.neighborhoods
            wards = wards or fetched.wards
            preset = preset or fetched.preset
            ids = {k: v or getattr(fetched, k) for k, v in ids.items()}
        inputs, opts = analysis_setup(
            city,
            files={"calls": calls, "providers": providers, "neighborhoods": neighborhoods,
                   "wards": wards, "population": population, "taxonomy": taxonomy,
                   "network": network, "diversion_rules": diversion_rules,
                   "reports": reports, "demographics": demographics,
                   "demographics_mapping": demographics_mapping,
                   "fine_population": fine_population, "streets": streets,
                   "population_layer": population_layer},
            columns={"id": id_col, "call_type": type_col, "agency": agency_col,
                     "default_agency": default_agency, "source": source_col,
                     "source_values": pairs(source_value, "--source-value",
                                             "VALUE=SOURCE"),
                     "default_source": default_source, "feed": feed_col,
                     "time": time_col, "date": date_col,
                     "time_format": time_format,
                     "latitude": lat, "longitude": lon, "x": x, "y": y, "crs": calls_crs,
                     "disposition": disposition_col, "priority": priority_col},
            options={"crs": crs, "diversion_denominator": diverted_denominator,
                     "count_calls_from": count_calls_from,
                     "reports_columns": pairs(reports_column, "--reports-column"),
                     "reports_channel": reports_channel,
                     "reports_counted": not reports_not_counted, **ids,
                     "providers_crs": providers_crs, "neighborhoods_crs": neighborhoods_crs,
                     "wards_crs": wards_crs, "population_name_column": population_name_column,
                     "population_column": population_column, "encoding": encoding,
                     "boundary_tolerance_m": boundary_tolerance,
                     "boundary_policy": boundary_policy, "travel": travel, "mode": mode,
                     "engine": engine, "scheduler": scheduler, "staging": staging,
                     "partitions": partitions, "batch_rows": batch_rows,
                     "accept_undated": accept_undated,
                     "undated_max_share": undated_max_share,
                     "unknown_type_max_share": unknown_type_max_share,
                     "ward_cover_min": ward_cover_min,
                     "demographic_groups": eq.group_keys(demographic_groups),
                     "fine_population_column": fine_population_column,
                     "demographics_crs": demographics_crs,
                     "fine_population_crs": fine_population_crs,
                     "equity_draws": equity_draws, "equity_seed": equity_seed,
                     "cv_caution": cv_caution, "cv_unreliable": cv_unreliable,
                     **_run_settings(stale_after_months=stale_after_months,
                                     max_malformed_share=max_malformed_share,
                                     date_from=date_from, date_to=date_to),
                     "methods": _methods(city.methods if city else None,
                                         kernel=kernel, demand=demand,
                                         demand_cell_m=demand_cell_m, bootstrap=bootstrap,
                                         min_population=min_population, pairs=method or []),
                     "population_layer_column": population_layer_column},
            preset=preset, geometry=geometry, hints={"providers": PROVIDERS_HELP})
        # calls named by a URL (--calls or the configuration): read from a local copy
        with local_calls(inputs.calls, beside=out, staging=staging, quiet=quiet) as (
                local, origin):
            if origin is not None:
                inputs = dataclasses.replace(inputs, calls=Path(local), calls_origin=origin)
            analysis = run_analysis(inputs, out, options=opts, quiet=quiet)
        precompute_now(out, quiet=quiet, asked=precompute)
    except ValidationError as exc:
        fail(exc)
        return
    print_summary(out, analysis.summary)


def _methods(base: Any, *, pairs: list[str], **given: object) -> Any:
    """The method settings (:class:`safetygap.methods.Methods`): ``base`` (the city
    configuration's ``[methods]``; None: the defaults) with the named options given (not
    None) and the NAME=VALUE pairs (``--method``) on top; one error naming every bad
    value."""
    from dataclasses import replace

    from safetygap.methods import Methods

    out = replace(base or Methods(), **{k: v for k, v in given.items() if v is not None})
    if pairs:
        return out.with_pairs(pairs)
    out.problems().raise_if_any()
    return out
def _run_settings(**given: object) -> dict[str, object]:
    """Analysis options that are also settings: the option given, else the environment
    (``SAFETYGAP_<NAME>``), else the default."""
    from safetygap.settings import get_settings

    settings = get_settings(**given)
    return {name: getattr(settings, name) for name in given}

