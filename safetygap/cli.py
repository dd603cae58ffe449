"""The ``safetygap`` command line: one entry point, one subcommand per job.

    safetygap demo [--out DIR] [--no-serve]      build the synthetic demo city and analyse it
    safetygap analyze --calls F --providers F --neighborhoods F --wards F --out DIR
                      (--boundaries F is the same as --neighborhoods F)
    safetygap analyze --data DIR --providers F --out DIR   analyse what `fetch` downloaded
                      [--travel network --mode walk|drive --network FILE]
                      [--engine memory|dask [--scheduler ADDRESS]]
    safetygap fetch minneapolis --out DIR [--years 2022-2024]
                                                 download the city's boundaries and 911 calls
    safetygap network fetch --place "Minneapolis, Minnesota" --out F.graphml
                      [--nominatim-url U --overpass-url U]
    safetygap site --workspace DIR --family F --k K     recommend new sites
    safetygap whatif --workspace DIR --providers FILE   indices with hypothetical providers
    safetygap serve --workspace DIR [--host H] [--port P]   serve the maps and the API
    safetygap rerun --workspace DIR [--calls F ...]    re-run beside the served analysis and
                                                 swap the new version in atomically
    safetygap report --workspace DIR --out report.html     printable self-contained report
    safetygap presets                            list the built-in column presets
    safetygap providers minneapolis --facilities DIR --city F --out F
                                                 providers from the city's facility files
    safetygap providers osm --boundary F | --features F --out F
                                                 providers from OpenStreetMap
    safetygap providers geocode LIST.csv --address-points F --out F
                                                 an organisations list placed by address
    safetygap providers merge A.csv B.csv ... --out F   one inventory, duplicates resolved
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from safetygap import __version__
from safetygap import _cli_equity as eq
from safetygap.errors import Problems, ValidationError

if TYPE_CHECKING:
    import click

    from safetygap.inputs import ColumnMap


def _no_flag_metavar(params: list[click.Parameter]) -> None:
    """Boolean flags take no value: show none (typer would show ``<bool>``)."""
    for p in params:
        if getattr(p, "is_flag", False) and p.metavar is None:
            p.metavar = ""


class _Command(TyperCommand):
    """A subcommand whose help shows no value for flags (``--quiet``, ``--help``)."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _no_flag_metavar(self.get_params(ctx))
        super().format_help(ctx, formatter)


class _Group(TyperGroup):
    """A command group whose help shows no value for flags (``--version``, ``--help``)."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _no_flag_metavar(self.get_params(ctx))
        super().format_help(ctx, formatter)


CONTEXT = {"help_option_names": ["-h", "--help"]}
"""``-h`` is ``--help`` everywhere (subcommands inherit it)."""

app = typer.Typer(
    name="safetygap",
    help="Show a city where its community-safety services fall short.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Group,
    context_settings=CONTEXT,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"safetygap {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option(
        "--version", help="show the version and exit", callback=_show_version,
        is_eager=True)] = False,
) -> None:
    """Show a city where its community-safety services fall short."""


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _report(out: Path, summary: dict) -> None:
    share = summary["diverted_share"]["all"]
    typer.echo(f"\nworkspace written to {out.resolve()}")
    if summary.get("synthetic"):
        typer.secho(f"  {summary['label']}", fg=typer.colors.YELLOW)
    t = summary["totals"]
    if "travel" in summary:
        typer.echo(f"  distance model: {summary['travel']['distance_model']} "
                   f"(catchments in {summary['travel']['unit']})")
    typer.echo(f"  calls: {t['input_rows']:,} rows, {t['calls_in_areas']:,} placed in areas")
    if share is not None:
        div = summary.get("diversion", {})
        words = f" of {div['denominator_words']}" if div else ""
        typer.echo(f"  diverted to non-police services: {share:.1%}{words}")
    for family, rows in summary["top_underserved"]["neighborhood"].items():
        names = ", ".join(r["name"] for r in rows[:3])
        typer.echo(f"  most underserved for {family}: {names}")
    sens = summary.get("boundary_sensitivity")
    if sens:
        changed = sens["areas_changing_gap_class"]["neighborhood"]
        typer.echo(
            f"  boundary streets: {sens['calls_shared']['neighborhood']:,} calls within "
            f"{sens['tolerance_m']:g} m of a line between neighborhoods; under the "
            f"'{sens['compared_with']}' policy the gap class would change in "
            + ", ".join(f"{v} ({k})" for k, v in changed.items()) + " neighborhoods")
    typer.echo(f"  files: {', '.join(sorted(p.name for p in out.iterdir() if p.is_file()))}")


def _column_map(preset: str | None, **options: str | None) -> ColumnMap:
    """The calls' column map: the preset's (else the generic names), with the options given
    on the command line on top; x/y given drop the latitude/longitude columns."""
    from safetygap.inputs import ColumnMap, load_preset

    base = load_preset(preset) if preset else ColumnMap(
        id="id", call_type="call_type", agency="agency", time="time",
        latitude="latitude", longitude="longitude")
    cmap = base.with_overrides(**options)
    if options.get("x") and options.get("y"):
        cmap = cmap.with_overrides(latitude="", longitude="")
    return cmap


PROVIDERS_HELP = (
    "--providers is required: a provider file (format: docs/PROVIDERS.md; template: "
    "safetygap/data/providers_template.csv; in Minneapolis `safetygap providers minneapolis` "
    "builds one from the city's fire/police station and hospital files)")


class _CheckedRequired(_Command):
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


@app.command(cls=_CheckedRequired)
def analyze(
    out: Annotated[Path, typer.Option(help="workspace directory to write")],
    providers: Annotated[Path | None, typer.Option(
        help="provider file (format: docs/PROVIDERS.md; template: "
             "safetygap/data/providers_template.csv)")] = None,
    data: Annotated[Path | None, typer.Option(
        help="a directory written by `safetygap fetch`: its calls, neighborhoods and wards "
             "with the right preset (the options below override them)")] = None,
    calls: Annotated[Path | None, typer.Option(
        help="calls file: CSV (.csv, .tsv, .txt, .csv.gz), Parquet or GeoParquet (.parquet, "
             ".geoparquet, .pq), GeoJSON (.geojson), GeoPackage (.gpkg) or JSON records "
             "(.json)")] = None,
    neighborhoods: Annotated[Path | None, typer.Option(
        "--neighborhoods", "--boundaries",
        help="neighborhood polygons (--boundaries is another name for this option)")] = None,
    wards: Annotated[Path | None, typer.Option(help="ward polygons")] = None,
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
    reports: Annotated[Path | None, typer.Option(
        help="diverted records from outside 911 (311 and online police reports), the "
             "formats --calls reads: each counts as a diverted call, placed by its "
             "coordinates, else by its neighborhood or ward name")] = None,
    reports_column: Annotated[list[str] | None, typer.Option(
        help="FIELD=COLUMN of --reports, repeatable; fields id, call_type, time, "
             "time_format, latitude, longitude, x, y, crs, neighborhood, ward (default: "
             "columns named like the fields)")] = None,
    reports_channel: Annotated[str, typer.Option(
        help="channel of the --reports records")] = "report_311_online",
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
    time_col: Annotated[str | None, typer.Option("--time", help="time column")] = None,
    time_format: Annotated[str | None, typer.Option(help="epoch_ms, epoch_s, iso or strftime")]
    = None,
    lat: Annotated[str | None, typer.Option(help="latitude column")] = None,
    lon: Annotated[str | None, typer.Option(help="longitude column")] = None,
    x: Annotated[str | None, typer.Option(help="x column (with --calls-crs)")] = None,
    y: Annotated[str | None, typer.Option(help="y column (with --calls-crs)")] = None,
    geometry: Annotated[bool, typer.Option(
        "--geometry", help="take call locations from the file's point geometry "
        "(GeoParquet, GeoPackage, GeoJSON) instead of coordinate columns")] = False,
    calls_crs: Annotated[str | None, typer.Option(help="CRS of x/y columns")] = None,
    encoding: Annotated[str, typer.Option(help="text encoding of CSV inputs")] = "utf-8",
    boundary_tolerance: Annotated[float, typer.Option(
        help="metres: calls this close to a neighborhood or ward line are counted in "
             "quality.json and shared out by --boundary-policy split")] = 5.0,
    boundary_policy: Annotated[str, typer.Option(
        help="contain: count each call in the polygon containing it; split: share calls "
             "near the lines of k areas as 1/k each")] = "contain",
    travel: Annotated[str, typer.Option(help="distance model: straight (straight-line "
                                        "metres) or network (travel minutes on --network)")]
    = "straight",
    mode: Annotated[str, typer.Option(help="network travel mode: walk or drive")] = "walk",
    network: Annotated[Path | None, typer.Option(help="street network, OSM XML or GraphML "
                                                 "(see `safetygap network fetch`)")] = None,
    engine: Annotated[str, typer.Option(
        help="where the join and per-area counts run: 'memory' (this process; fastest "
             "when the calls fit in memory) or 'dask' (a dask.distributed cluster; needs "
             "pip install 'safetygap\\[dask]')")] = "memory",
    scheduler: Annotated[str | None, typer.Option(
        help="dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local "
             "cluster of 2 workers)")] = None,
    staging: Annotated[Path | None, typer.Option(
        help="dask: folder for the partitioned calls GeoParquet; every worker must see "
             "it (default: a temporary folder)")] = None,
    partitions: Annotated[int | None, typer.Option(
        help="dask: number of calls partitions (default: one per million calls, at "
             "least 2)")] = None,
    stale_after_months: Annotated[float | None, typer.Option(
        help="providers last verified longer ago than this many months (or never) are "
             "flagged stale (default: SAFETYGAP_STALE_AFTER_MONTHS, else 18)")] = None,
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
    demographics: eq.Demographics = None,
    demographics_mapping: eq.DemographicsMapping = None,
    demographic_groups: eq.DemographicGroups = None,
    fine_population: eq.FinePopulation = None,
    fine_population_column: eq.FinePopulationColumn = None,
    equity_draws: eq.EquityDraws = eq.DRAWS,
    equity_seed: eq.EquitySeed = eq.DEFAULT_SEED,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Analyse calls and providers against neighborhoods and wards; write a workspace."""
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import run_analysis

    try:
        if data is not None:
            from safetygap.fetch.minneapolis import fetched_inputs

            fetched = fetched_inputs(data)
            calls = calls or fetched.calls
            neighborhoods = neighborhoods or fetched.neighborhoods
            wards = wards or fetched.wards
            preset = preset or fetched.preset
            neighborhood_id = neighborhood_id or fetched.neighborhood_id
            neighborhood_name = neighborhood_name or fetched.neighborhood_name
            ward_id = ward_id or fetched.ward_id
            ward_name = ward_name or fetched.ward_name
        missing = Problems()
        for flag, value in (("--calls", calls), ("--neighborhoods", neighborhoods),
                            ("--wards", wards)):
            if value is None:
                missing.add(flag, "is required (or give --data DIR from `safetygap fetch`)")
        if providers is None:
            missing.add("--providers", PROVIDERS_HELP)
        missing.raise_if_any()
        assert calls and neighborhoods and wards and providers
        cmap = _column_map(preset, id=id_col, call_type=type_col, agency=agency_col,
                           time=time_col, time_format=time_format, latitude=lat,
                           longitude=lon, x=x, y=y, crs=calls_crs,
                           disposition=disposition_col, priority=priority_col)
        if geometry:
            cmap = cmap.with_overrides(latitude="", longitude="", x="", y="")
        inputs = AnalysisInputs(calls=calls, providers=providers, neighborhoods=neighborhoods,
                                wards=wards, population=population, taxonomy=taxonomy,
                                network=network, diversion_rules=diversion_rules,
                                reports=reports, demographics=demographics,
                                demographics_mapping=demographics_mapping,
                                fine_population=fine_population)
        opts = AnalysisOptions(columns=cmap, preset=preset, crs=crs,
                               diversion_denominator=diverted_denominator,
                               reports_columns=_pairs(reports_column, "--reports-column"),
                               reports_channel=reports_channel,
                               reports_counted=not reports_not_counted,
                               neighborhood_id=neighborhood_id,
                               neighborhood_name=neighborhood_name, ward_id=ward_id,
                               ward_name=ward_name, providers_crs=providers_crs,
                               population_name_column=population_name_column,
                               population_column=population_column, encoding=encoding,
                               boundary_tolerance_m=boundary_tolerance,
                               boundary_policy=boundary_policy, travel=travel, mode=mode,
                               engine=engine, scheduler=scheduler, staging=staging,
                               partitions=partitions,
                               demographic_groups=eq.group_keys(demographic_groups),
                               fine_population_column=fine_population_column,
                               equity_draws=equity_draws, equity_seed=equity_seed,
                               **_run_settings(stale_after_months=stale_after_months,
                                               max_malformed_share=max_malformed_share,
                                               date_from=date_from, date_to=date_to))
        analysis = run_analysis(inputs, out, options=opts, quiet=quiet)
    except ValidationError as exc:
        _fail(exc)
        return
    _report(out, analysis.summary)


def _run_settings(**given: object) -> dict[str, object]:
    """Analysis options that are also settings: the option given, else the environment
    (``SAFETYGAP_<NAME>``), else the default."""
    from safetygap.settings import get_settings

    settings = get_settings(**given)
    return {name: getattr(settings, name) for name in given}


def _pairs(values: list[str] | None, flag: str) -> dict[str, str] | None:
    """``["a=x", "b=y"]`` as ``{"a": "x", "b": "y"}``; a value without ``=`` is an error."""
    if not values:
        return None
    problems = Problems()
    out = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key.strip():
            problems.add(flag, "expected FIELD=COLUMN", value=v)
        out[key.strip()] = val.strip()
    problems.raise_if_any()
    return out


HOST_HELP = ("address to listen on: 127.0.0.1 this machine only, 0.0.0.0 every interface "
             "(default: SAFETYGAP_HOST, else 127.0.0.1)")
PORT_HELP = "port to listen on, 1-65535 (default: SAFETYGAP_PORT, else 8000)"
DEMO_OUT = Path("demo")
"""Default ``demo --out``: the same directory as ``make demo`` (workspace in demo/workspace)."""


class _ServeCommand(_Command):
    """A command that serves: its help ends with the settings' environment variables."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from safetygap.settings import environment_help

        self.epilog = ("Settings from the environment (an option given wins):\n\n"
                       + "\n\n".join(environment_help().splitlines()))
        super().format_help(ctx, formatter)


@app.command(cls=_ServeCommand)
def demo(
    out: Annotated[Path, typer.Option(
        help="directory for the demo data (out/data) and workspace (out/workspace)")]
    = DEMO_OUT,
    seed: Annotated[int, typer.Option(help="random seed of the synthetic city")] = 2025,
    calls: Annotated[int, typer.Option(min=1, help="number of calls to generate")] = 650_000,
    serve: Annotated[bool, typer.Option(help="serve the maps when done")] = True,
    host: Annotated[str | None, typer.Option(help=HOST_HELP)] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help=PORT_HELP)] = None,
    travel: Annotated[str, typer.Option(help="distance model: straight or network (the "
                                        "demo city's own street network)")] = "straight",
    mode: Annotated[str, typer.Option(help="network travel mode: walk or drive")] = "walk",
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Generate the synthetic demo city, analyse it, and (by default) serve the maps."""
    from safetygap.run import run_demo

    try:
        if serve:  # a bad address fails now, not after building the city
            from safetygap.api.app import check_address
            from safetygap.settings import get_settings

            settings = get_settings(host=host, port=port)
            check_address(settings.host, settings.port)
        analysis, workspace = run_demo(out, seed=seed, n_calls=calls, quiet=quiet,
                                       travel=travel, mode=mode)
    except ValidationError as exc:
        _fail(exc)
        return
    _report(workspace, analysis.summary)
    if serve:
        _serve(workspace, host=host, port=port)
    else:
        typer.echo(f"\nnot serving (--no-serve). Serve later with: "
                   f"safetygap serve --workspace {workspace}")


def _serve(workspace: Path | None, *, host: str | None, port: int | None) -> None:
    """Serve ``workspace`` (None: SAFETYGAP_WORKSPACE, else ./workspace); bad settings or
    an address that cannot be used end with a one-line error."""
    from safetygap.api.app import serve_workspace
    from safetygap.settings import get_settings

    try:
        serve_workspace(workspace or get_settings().workspace, host=host, port=port)
    except ValidationError as exc:
        _fail(exc)


@app.command(cls=_ServeCommand)
def serve(
    workspace: Annotated[Path | None, typer.Option(
        help="workspace directory to serve (default: SAFETYGAP_WORKSPACE, else ./workspace)")]
    = None,
    host: Annotated[str | None, typer.Option(help=HOST_HELP)] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help=PORT_HELP)] = None,
) -> None:
    """Serve a workspace: interactive maps at / and the JSON API (docs at /docs)."""
    _serve(workspace, host=host, port=port)


RERUN_BUSY_EXIT = 3
"""Exit code of ``safetygap rerun`` when another re-run of the workspace is running."""


@app.command(cls=_Command)
def rerun(
    workspace: Annotated[Path, typer.Option(help="workspace directory (served or not)")],
    calls: Annotated[Path | None, typer.Option(help="new calls file")] = None,
    providers: Annotated[Path | None, typer.Option(help="new provider file")] = None,
    neighborhoods: Annotated[Path | None, typer.Option(help="new neighborhood polygons")]
    = None,
    wards: Annotated[Path | None, typer.Option(help="new ward polygons")] = None,
    population: Annotated[Path | None, typer.Option(help="new population table")] = None,
    diversion_rules: Annotated[Path | None, typer.Option(
        help="new diversion rule set TOML (docs/TAXONOMY.md)")] = None,
    reports: Annotated[Path | None, typer.Option(
        help="new file of diverted records from outside 911 (311 / online reports)")]
    = None,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Re-run a workspace's analysis into a new version and swap it in atomically.

    The run uses the workspace's recorded inputs and options, any file given here
    replacing its own; a server serving the workspace picks the new version up without a
    restart and never sees a half-written one.
    """
    from safetygap.versions import RerunBusy, rebuild

    overrides = {"calls": calls, "providers": providers, "neighborhoods": neighborhoods,
                 "wards": wards, "population": population, "diversion_rules": diversion_rules,
                 "reports": reports}
    try:
        version = rebuild(workspace, {k: v for k, v in overrides.items() if v is not None},
                          quiet=quiet)
    except ValidationError as exc:
        _fail(exc)
        return
    except OSError as exc:  # a full or read-only disk: the active version is untouched
        _fail(ValidationError(f"workspace {workspace}: cannot write the new version "
                              f"({exc.strerror or exc}); the active version is unchanged"))
        return
    except RerunBusy as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=RERUN_BUSY_EXIT) from exc
    typer.echo(f"version {version.name} is now active in {workspace.resolve()}")


@app.command(cls=_Command)
def report(
    workspace: Annotated[Path, typer.Option(help="workspace directory to report on")],
    out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("report.html"),
) -> None:
    """Write a printable, self-contained HTML report (charts and static maps) of a workspace."""
    from safetygap.maps.report import write_report

    try:
        path = write_report(workspace, out)
    except ValidationError as exc:
        _fail(exc)
        return
    typer.echo(f"report written to {path.resolve()} ({path.stat().st_size / 1e6:.1f} MB); "
               "open it in any browser, offline, or print it")


@app.command(cls=_Command)
def export(
    workspace: Annotated[Path, typer.Argument(help="workspace directory to export")],
    out: Annotated[Path, typer.Option(help="GeoPackage file to write (.gpkg)")]
    = Path("safetygap.gpkg"),
) -> None:
    """Write the published layers to one GeoPackage, styled for QGIS (see docs/GIS.md)."""
    import json

    from safetygap.api.routes_api import summary
    from safetygap.maps.collections import default_sites, site_features
    from safetygap.maps.data import WorkspaceView
    from safetygap.maps.gpkg import export_geopackage
    from safetygap.scenarios import load_baseline
    from safetygap.settings import get_settings
    from safetygap.versions import active_dir
    from safetygap.workspace import Workspace

    if out.suffix.lower() != ".gpkg":
        _fail(ValidationError(f"--out {out}: a GeoPackage file name ends in .gpkg"))
        return
    try:
        src = active_dir(workspace)
        view = WorkspaceView(Workspace.open(src),
                             privacy_min_count=get_settings().privacy_min_count)
        public = json.loads(summary(view).body)
        written = export_geopackage(
            view, out, summary=public,
            sites=lambda: site_features(default_sites(load_baseline(src))))
    except ValidationError as exc:
        _fail(exc)
        return
    tables = ", ".join(f"{name} {n:,}" for name, n in written.items())
    typer.echo(f"GeoPackage written to {out.resolve()} ({out.stat().st_size / 1e6:.1f} MB; "
               f"rows: {tables}); open it in QGIS: the layers come styled as the map")


def _positive_seconds(value: float) -> float:
    if not value > 0:
        raise typer.BadParameter(f"must be more than 0 seconds, got {value:g}")
    return value


fetch_app = typer.Typer(
    cls=_Group, help="Download a city's open data (boundaries and 911 calls).",
    no_args_is_help=True)
app.add_typer(fetch_app, name="fetch")


@fetch_app.command("minneapolis", cls=_Command)
def fetch_minneapolis_cmd(
    out: Annotated[Path, typer.Option(help="directory for the GeoParquet files and manifest")],
    years: Annotated[str | None, typer.Option(
        help="911 calls of these calendar years, e.g. 2023 or 2022-2024 "
             "(default: the last complete year)")] = None,
    base_url: Annotated[str | None, typer.Option(
        help="ArcGIS REST services root (default: the City of Minneapolis')")] = None,
    page_size: Annotated[int, typer.Option(min=1, help="records per request (the city "
                                           "allows 16,000)")] = 16_000,
    timeout: Annotated[float, typer.Option(help="seconds to wait for one answer (> 0)",
                                           callback=_positive_seconds)] = 60.0,
    retries: Annotated[int, typer.Option(min=0, help="retries of a failed request "
                                         "(exponential back-off from 1 s)")] = 5,
    layers: Annotated[str | None, typer.Option(
        help="comma-separated subset: neighborhoods, wards, communities, precincts, "
             "calls_911, address_points (the address points, for `providers geocode`, "
             "only when named here)")] = None,
    service_name: Annotated[list[str] | None, typer.Option(
        help="LAYER=SERVICE: fetch a layer from another ArcGIS service name, e.g. "
             "address_points=Address_Points (repeatable)")] = None,
    force: Annotated[bool, typer.Option(help="download layers already fetched again")]
    = False,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Download Minneapolis boundaries and 911 calls (address points when asked for).

    Interrupted downloads resume where they stopped when the command is run again.
    """
    from safetygap.fetch import FetchError, RetryPolicy, fetch_minneapolis, parse_years
    from safetygap.fetch.arcgis import MINNEAPOLIS_BASE_URL

    try:
        chosen = parse_years(years)
        services = {}
        for item in service_name or ():
            name, eq, service = item.partition("=")
            if not eq:
                bad = Problems()
                bad.add("--service-name", "expected LAYER=SERVICE", value=item,
                        allowed="e.g. address_points=Address_Points")
                bad.raise_if_any()
            services[name.strip()] = service.strip()
        manifest = fetch_minneapolis(
            out, years=chosen, base_url=base_url or MINNEAPOLIS_BASE_URL, page_size=page_size,
            retry=RetryPolicy(retries=retries, timeout_s=timeout),
            layers=tuple(x.strip() for x in layers.split(",")) if layers else None,
            services=services, force=force, quiet=quiet)
    except ValidationError as exc:
        _fail(exc)
        return
    except FetchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        typer.echo("(pages already downloaded are kept: run the same command again to resume)",
                   err=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        typer.echo("\ninterrupted: pages already downloaded are kept; run the same command "
                   "again to resume", err=True)
        raise typer.Exit(code=130) from None
    typer.echo(f"fetched into {out.resolve()}:")
    for entry in manifest["layers"].values():
        typer.echo(f"  {entry['file']}: {entry['records']:,} records ({entry['layer']})")
    if "address_points" in manifest["layers"]:
        typer.echo(f"place an organisations list: safetygap providers geocode LIST.csv "
                   f"--address-points {out / manifest['layers']['address_points']['file']} "
                   "--out PROVIDERS.csv")
    typer.echo(f"next: safetygap analyze --data {out} --providers PROVIDERS.csv "
               "--out WORKSPACE")


providers_app = typer.Typer(
    cls=_Group, help="Build provider files: from a city's facilities, an organisations "
                     "list with addresses, OpenStreetMap; merge them.",
    no_args_is_help=True)
app.add_typer(providers_app, name="providers")


@providers_app.command("minneapolis", cls=_Command)
def providers_minneapolis(
    facilities: Annotated[Path, typer.Option(
        help="directory with Fire_Stations.csv, Police_Stations.geojson, Hospitals_MN_HIFLD.csv")],
    city: Annotated[Path, typer.Option(help="city limits polygon (e.g. "
                                       "Minneapolis_City_Boundary.geojson)")],
    out: Annotated[Path, typer.Option(help="provider CSV to write")],
    near: Annotated[float, typer.Option(help="keep hospitals within this many metres of "
                                        "the city limits")] = 2000.0,
) -> None:
    """Response providers from Minneapolis fire/police stations and nearby hospitals."""
    from safetygap.sources.minneapolis import providers_from_facilities

    try:
        built = providers_from_facilities(facilities, city, near_m=near)
    except ValidationError as exc:
        _fail(exc)
        return
    built.write(out)
    counts = built.frame["service_type"].value_counts()
    typer.echo(f"wrote {len(built.frame)} providers to {out} ("
               + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")")
    for e in built.excluded:
        typer.echo(f"  left out: {e['name']} ({e['source']}): {e['reason']}")


@providers_app.command("geocode", cls=_Command)
def providers_geocode(
    source: Annotated[Path, typer.Argument(help="organisations list (CSV, GeoJSON, GeoPackage, "
                                           "Parquet) with an address column")],
    out: Annotated[Path, typer.Option(help="provider CSV to write (the placed rows)")],
    address_points: Annotated[Path | None, typer.Option(
        help="the city's address-point layer (e.g. from `safetygap fetch minneapolis "
             "--layers address_points`)")] = None,
    address_column: Annotated[str, typer.Option(help="address column of the list")]
    = "address",
    address_points_column: Annotated[str | None, typer.Option(
        help="full-address column of --address-points (default: found by its usual "
             "names, or the Minnesota standard's ANUMBER + ST_NAME columns)")] = None,
    review: Annotated[Path | None, typer.Option(
        help="CSV of the rows to review: street-only and unmatched (default: OUT with "
             "'.review.csv')")] = None,
    min_quality: Annotated[str, typer.Option(
        help="worst match quality placed: exact, street_interpolation or street_only "
             "(rows below it are listed for review, not placed)")] = "street_only",
    online: Annotated[bool, typer.Option(
        "--online", help="ask Nominatim (OpenStreetMap's geocoder) about the rows the "
        "address points cannot place: one request a second, answers cached on disk; "
        "off by default")] = False,
    nominatim_url: Annotated[str | None, typer.Option(
        help="Nominatim server for --online (default: SAFETYGAP_NOMINATIM_URL, else "
             "https://nominatim.openstreetmap.org/)")] = None,
    user_agent: Annotated[str | None, typer.Option(
        help="user agent sent with --online (the usage policy asks for one naming you)")]
    = None,
    cache: Annotated[Path | None, typer.Option(
        help="cache file of --online answers (default: OUT with '.geocache.json')")] = None,
    city: Annotated[str, typer.Option(
        help="appended to each address asked online, e.g. 'Minneapolis, MN'")] = "",
    encoding: Annotated[str, typer.Option(help="text encoding of a CSV list")] = "utf-8",
) -> None:
    """Place an organisations list by its addresses; street-only and unmatched rows listed.

    Addresses are matched against the local address points, then (with --online) asked of
    Nominatim; every row gets a match quality.
    """
    from safetygap.inputs._files import read_table
    from safetygap.inventory.geocode import MatchQuality, geocode_frame, read_address_points
    from safetygap.settings import get_settings

    try:
        allowed = ("exact", "street_interpolation", "street_only")
        if min_quality not in allowed:
            bad = Problems()
            bad.add("--min-quality", "unknown match quality", value=min_quality,
                    allowed=allowed)
            bad.raise_if_any()
        table = read_table(source, where="list", encoding=encoding)
        points = (None if address_points is None else
                  read_address_points(str(address_points), address_column=address_points_column))
        geocoder = None
        if online:
            from safetygap.fetch.nominatim import USER_AGENT, NominatimGeocoder

            geocoder = NominatimGeocoder(
                url=nominatim_url or get_settings().nominatim_url, user_agent=user_agent
                or USER_AGENT, cache=cache or out.with_suffix(".geocache.json"), suffix=city)
        result = geocode_frame(table.frame, points, address_column=address_column,
                               online=geocoder, min_quality=MatchQuality(min_quality),
                               where=f"list {table.path}")
    except ValidationError as exc:
        _fail(exc)
        return
    result.placed.to_csv(out, index=False)
    review_path = review or out.with_name(out.stem + ".review.csv")
    result.review.to_csv(review_path, index=False)
    c = result.counts
    typer.echo(f"placed {c['placed']} of {len(table.frame)} rows in {out}: "
               + ", ".join(f"{k.replace('_', ' ')} {c[k]}" for k in
                           ("given", "exact", "street_interpolation", "street_only")))
    typer.echo(f"{len(result.review)} rows to review in {review_path} (street only "
               f"{c['street_only']}, unmatched {c['none']}, not placed {c['not_placed']})")
    for r in result.review.head(10).itertuples():
        typer.echo(f"  row {r.row}: {getattr(r, address_column, '')!s}: {r.reason}")


@providers_app.command("osm", cls=_Command)
def providers_osm(
    out: Annotated[Path, typer.Option(help="provider CSV to write")],
    boundary: Annotated[Path | None, typer.Option(
        help="study area polygons (e.g. the city limits or the neighborhoods), any CRS; "
             "needed to ask Overpass")] = None,
    features: Annotated[Path | None, typer.Option(
        help="OSM features saved earlier (GeoJSON export of Overpass turbo or "
             "osmtogeojson, or OSMnx features written to a file) instead of asking "
             "Overpass: works offline")] = None,
    tags: Annotated[Path | None, typer.Option(
        help="tag -> service type mapping (TOML; default: the packaged "
             "safetygap/data/osm_tags.toml, copy it to edit)")] = None,
    overpass_url: Annotated[str | None, typer.Option(
        help="Overpass API to ask (default: SAFETYGAP_OVERPASS_URL, else OSMnx's "
             "https://overpass-api.de/api)")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="taxonomy with the service types "
                                                  "(default: the packaged one)")] = None,
) -> None:
    """Prevention and restoration providers from OpenStreetMap inside a boundary.

    Asks Overpass (needs the internet or a local server), or maps a saved --features
    file offline; each provider keeps its OSM id, tags and opening_hours.
    """
    from safetygap.inputs import providers_from_frame
    from safetygap.inputs._files import read_table
    from safetygap.inventory.osm import (
        load_tag_rules,
        map_features,
        overpass_tags,
        read_features,
    )
    from safetygap.settings import get_settings
    from safetygap.taxonomy import load_taxonomy

    try:
        tax = load_taxonomy(taxonomy)
        rules = load_tag_rules(tags, taxonomy=tax)
        bad = Problems()
        if boundary is None and features is None:
            bad.add("providers osm", "nothing to map", allowed="--boundary FILE (asks "
                    "Overpass) or --features FILE (a saved extract), or both")
        bad.raise_if_any()
        import geopandas as gpd

        area = None
        if boundary is not None:
            table = read_table(boundary, where="boundary")
            if table.geometry is None or table.crs is None:
                bad.add(f"--boundary {table.path}", "needs polygons with a CRS",
                        allowed="GeoJSON, GeoPackage or GeoParquet polygons")
                bad.raise_if_any()
            area = gpd.GeoDataFrame(geometry=table.geometry, crs=table.crs)
        if features is not None:
            found = read_features(features, boundary=area)
        else:
            from safetygap.fetch.osm_features import features_in_boundary

            assert area is not None
            found = features_in_boundary(area, overpass_tags(rules), overpass_url=overpass_url
                                         or get_settings().overpass_url)
        frame, report = map_features(found, rules)
        if len(frame):
            providers_from_frame(frame, taxonomy=tax, where="OpenStreetMap features")
    except ValidationError as exc:
        _fail(exc)
        return
    frame.to_csv(out, index=False)
    typer.echo(f"wrote {report['providers']} providers from {report['features']} OSM "
               f"features to {out} (" + ", ".join(f"{k} {v}" for k, v in
                                                 report["by_service_type"].items()) + ")")
    if report["unmatched"]:
        typer.echo(f"  {report['unmatched']} features matched no rule of the mapping (left "
                   "out), e.g. " + ", ".join(e["osm_id"] for e in
                                            report["unmatched_examples"][:5]))
    if report["unnamed"]:
        typer.echo(f"  {report['unnamed']} providers have no name in OSM: check them")


@providers_app.command("merge", cls=_Command)
def providers_merge(
    sources: Annotated[list[str], typer.Argument(
        help="provider files to merge, most trusted first (FILE or LABEL=FILE; the label, "
             "default the file name, fills empty `source` cells)")],
    out: Annotated[Path, typer.Option(help="merged provider CSV to write")],
    review: Annotated[Path | None, typer.Option(
        help="CSV of the duplicates found and the near misses (default: OUT with "
             "'.duplicates.csv')")] = None,
    distance: Annotated[float | None, typer.Option(
        help="metres within which two providers of one service type may be duplicates "
             "(default: SAFETYGAP_MERGE_DISTANCE_M, else 100)")] = None,
    name_score: Annotated[float | None, typer.Option(
        help="least name similarity of duplicates, 0-100 (rapidfuzz token-set ratio; "
             "default: SAFETYGAP_MERGE_NAME_SCORE, else 90)")] = None,
    keep: Annotated[str, typer.Option(
        help="which duplicate stays: first (the source listed first), newest (verified "
             "most recently) or none (report only)")] = "first",
    taxonomy: Annotated[Path | None, typer.Option(help="taxonomy with the service types "
                                                  "(default: the packaged one)")] = None,
    encoding: Annotated[str, typer.Option(help="text encoding of CSV sources")] = "utf-8",
) -> None:
    """Merge OpenStreetMap, geocoded and hand-made provider files into one inventory.

    Duplicates (same service type, close together, similar names) are listed for review
    and resolved by the rule printed at the start.
    """
    from safetygap.inputs.providers import providers_from_frame
    from safetygap.inventory.merge import MergeRule, merge_sources, read_source
    from safetygap.settings import get_settings
    from safetygap.taxonomy import load_taxonomy

    try:
        settings = get_settings(merge_distance_m=distance, merge_name_score=name_score)
        rule = MergeRule(distance_m=settings.merge_distance_m,
                         name_score=settings.merge_name_score, keep=keep)
        rule.check()
        tax = load_taxonomy(taxonomy)
        read = []
        for item in sources:
            label, eq, path = item.partition("=")
            if not eq or Path(item).exists():
                label, path = "", item
            read.append(read_source(path, taxonomy=tax, label=label.strip() or None,
                                    encoding=encoding))
        result = merge_sources(read, rule=rule)
        providers_from_frame(result.merged, taxonomy=tax, where=f"merged inventory {out}")
    except ValidationError as exc:
        _fail(exc)
        return
    typer.echo(f"rule: {rule.describe()}")
    for label, c in result.counts["sources"].items():
        typer.echo(f"  {label}: {c['rows']} rows: {c['kept']} kept, "
                   f"{c['merged_away']} merged into a duplicate")
    review_path = review or out.with_name(out.stem + ".duplicates.csv")
    result.merged.to_csv(out, index=False)
    result.review.to_csv(review_path, index=False)
    c = result.counts
    typer.echo(f"wrote {c['providers']} providers from {c['rows']} rows to {out}: "
               f"{c['duplicate_groups']} groups of duplicates ({c['merged_away']} rows merged "
               f"away), {c['near_misses']} near misses to check")
    typer.echo(f"review them in {review_path}")


network_app = typer.Typer(cls=_Group, help="Street networks for --travel network.",
                          no_args_is_help=True)
app.add_typer(network_app, name="network")


@network_app.command("fetch", cls=_Command)
def network_fetch(
    place: Annotated[str, typer.Option(help='place to geocode, e.g. "Minneapolis, Minnesota"')],
    out: Annotated[Path, typer.Option(help="GraphML file to write")],
    network_type: Annotated[str, typer.Option(help="OSMnx network type (all keeps walking "
                                              "and driving streets)")] = "all",
    nominatim_url: Annotated[str | None, typer.Option(
        help="Nominatim geocoder to ask (default: SAFETYGAP_NOMINATIM_URL, else "
             "https://nominatim.openstreetmap.org/)")] = None,
    overpass_url: Annotated[str | None, typer.Option(
        help="Overpass API to download from (default: SAFETYGAP_OVERPASS_URL, else "
             "https://overpass-api.de/api)")] = None,
) -> None:
    """Download a place's street network from OpenStreetMap with OSMnx (needs internet)."""
    from safetygap.geo._osm import fetch_place
    from safetygap.settings import get_settings

    settings = get_settings(nominatim_url=nominatim_url, overpass_url=overpass_url)
    typer.echo(f"downloading the {network_type} street network of {place!r} ...", err=True)
    try:
        path = fetch_place(place, out, network_type=network_type,
                           nominatim_url=settings.nominatim_url,
                           overpass_url=settings.overpass_url)
    except Exception as exc:  # network errors, geocoding failures: say what and where
        servers = ", ".join(u for u in (settings.nominatim_url, settings.overpass_url) if u)
        _fail(ValidationError(f"network fetch {place!r}: {type(exc).__name__}: {exc} "
                              "(this needs the internet: Nominatim and the Overpass API"
                              + (f"; asked {servers}" if servers else "") + ")"))
        return
    typer.echo(f"street network written to {path.resolve()}")


def _write_json(data: dict, out: Path | None) -> None:
    """``data`` as strict JSON (NaN and inf as null) on stdout, or written to ``out``."""
    from safetygap._io import dumps_json, write_json

    if out is None:
        typer.echo(dumps_json(data, indent=2))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, data)
        typer.echo(f"written to {out.resolve()}", err=True)


def _reach(result: dict) -> str:
    """The catchment with its unit and distance model, e.g. ``catchment 1200 m
    straight-line`` or ``catchment 15 min network-walk``."""
    return (f"catchment {result['catchment']:g} {result['catchment_unit']} "
            f"{result['distance_model']}")


@app.command(cls=_Command)
def site(
    workspace: Annotated[Path, typer.Option(help="workspace directory (safetygap analyze)")],
    family: Annotated[str, typer.Option(help="response, prevention or restoration")],
    k: Annotated[int, typer.Option("--k", help="number of new sites")] = 5,
    candidates: Annotated[Path | None, typer.Option(help="candidate sites (CSV with "
                                                    "latitude/longitude, or points); default:"
                                                    " network nodes or a 200 m grid")] = None,
    candidates_crs: Annotated[str | None, typer.Option(help="CRS of x/y candidate columns")]
    = None,
    catchment: Annotated[float | None, typer.Option(help="catchment of the new sites in "
                                                    "the workspace's unit: travel minutes "
                                                    "(workspaces analysed with --travel "
                                                    "network) or metres (straight-line); "
                                                    "default: the service type's")] = None,
    service_type: Annotated[str | None, typer.Option(help="service type of the new sites "
                                                     "(default: the family's most common)")]
    = None,
    capacity: Annotated[float | None, typer.Option(help="capacity of each new site "
                                                   "(default: median of the type)")] = None,
    out: Annotated[Path | None, typer.Option(help="write the JSON result here")] = None,
) -> None:
    """Recommend K new sites that cover the most need calls not yet covered (MCLP)."""
    from safetygap.scenarios import (
        check_siting_options,
        load_baseline,
        read_candidates,
        recommend_sites,
    )

    try:
        base = load_baseline(workspace)
        check_siting_options(base, family=family, k=k, service_type=service_type,
                             catchment=catchment, capacity=capacity)
        cands = None
        if candidates is not None:
            from safetygap.scenarios import default_capacity, default_service_type

            stype = service_type or default_service_type(base, family)
            cands = read_candidates(base, candidates, crs=candidates_crs, service_type=stype,
                                    capacity=capacity or default_capacity(base, stype))
        result = recommend_sites(base, family=family, k=k, candidates=cands,
                                 service_type=service_type, catchment=catchment,
                                 capacity=capacity, candidates_source=f"file {candidates}")
    except ValidationError as exc:
        _fail(exc)
        return
    found = len(result["sites"])
    asked = f" of {result['k']} asked" if found < result["k"] else ""
    typer.echo(f"{found} new {result['service_type']} site{'' if found == 1 else 's'}{asked} "
               f"for {family} ({_reach(result)}; {result['candidates']['count']:,} "
               f"candidates: {result['candidates']['source']}):", err=True)
    for warning in result["warnings"]:
        typer.secho(f"  warning: {warning}", fg=typer.colors.YELLOW, err=True)
    for s in result["sites"]:
        areas = ", ".join(f"{a['name']} (+{a['calls_newly_covered']})"
                          for a in s["neighborhoods"][:3])
        typer.echo(f"  {s['rank']}. {s['name']} at {s['latitude']:.5f}, {s['longitude']:.5f}:"
                   f" +{s['marginal_calls']:,} calls; {areas}", err=True)
    if result["stopped_reason"]:
        typer.echo(f"  stopped: {result['stopped_reason']}", err=True)
    cb, ca = result["coverage_before"], result["coverage_after"]
    if cb is not None:
        typer.echo(f"  coverage of {family} need calls: {cb:.1%} -> {ca:.1%}", err=True)
    _write_json(result, out)


@app.command(cls=_Command)
def whatif(
    workspace: Annotated[Path, typer.Option(help="workspace directory (safetygap analyze)")],
    providers: Annotated[Path, typer.Option(help="hypothetical providers, provider file "
                                            "format (docs/PROVIDERS.md)")],
    providers_crs: Annotated[str | None, typer.Option(help="CRS of x/y columns")] = None,
    out: Annotated[Path | None, typer.Option(help="write the JSON result here")] = None,
) -> None:
    """Recompute the indices with hypothetical providers; the workspace is not changed."""
    from safetygap.scenarios import load_baseline, read_hypothetical
    from safetygap.scenarios import whatif as run_whatif

    try:
        base = load_baseline(workspace)
        result = run_whatif(base, read_hypothetical(base, providers, crs=providers_crs))
    except ValidationError as exc:
        _fail(exc)
        return
    for f, t in result["totals"].items():
        typer.echo(f"{f}: +{t['calls_newly_covered']:,} need calls covered, coverage "
                   f"{t['coverage_before']:.1%} -> {t['coverage_after']:.1%} "
                   f"({result['distance_model']})", err=True)
    _write_json(result, out)


@app.command(cls=_Command)
def profile(
    calls: Annotated[Path, typer.Argument(help="calls file (the formats --calls reads)")],
    preset: Annotated[str | None, typer.Option(
        help="column preset (default: the built-in preset whose columns the file has, "
             "else generic)")] = None,
    diversion_rules: Annotated[Path | None, typer.Option(
        help="diversion rule set TOML (default: the Minneapolis rules)")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="call taxonomy TOML")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the profile as JSON")]
    = False,
    write_rules: Annotated[Path | None, typer.Option(
        help="write a starter diversion rule file (TOML) listing the file's own types by "
             "count with a family and channel suggested from words in each, every "
             "suggestion marked REVIEW")] = None,
    id_col: Annotated[str | None, typer.Option("--id", help="call id column")] = None,
    type_col: Annotated[str | None, typer.Option("--type", help="call type column")] = None,
    agency_col: Annotated[str | None, typer.Option("--agency", help="agency column")] = None,
    time_col: Annotated[str | None, typer.Option("--time", help="time column")] = None,
    time_format: Annotated[str | None, typer.Option(help="epoch_ms, epoch_s, iso or strftime")]
    = None,
    disposition_col: Annotated[str | None, typer.Option(
        "--disposition", help="disposition column")] = None,
    priority_col: Annotated[str | None, typer.Option("--priority", help="priority column")]
    = None,
    lat: Annotated[str | None, typer.Option(help="latitude column")] = None,
    lon: Annotated[str | None, typer.Option(help="longitude column")] = None,
    x: Annotated[str | None, typer.Option(help="x column (with --calls-crs)")] = None,
    y: Annotated[str | None, typer.Option(help="y column (with --calls-crs)")] = None,
    calls_crs: Annotated[str | None, typer.Option(help="CRS of x/y columns")] = None,
    encoding: Annotated[str, typer.Option(help="text encoding of CSV inputs")] = "utf-8",
) -> None:
    """Profile a calls file: fields, agencies, top types, channels, gaps.

    Lists the fields and which are recognised, the agencies, the top problem types and
    dispositions with the channel and rule each falls to, the unmatched values and the
    date span and gaps; --write-rules writes a starter rule file."""
    from safetygap.diversion import load_rules
    from safetygap.inputs import calls_header
    from safetygap.inputs.columns import matching_presets
    from safetygap.profile import profile_calls, write_starter_rules
    from safetygap.taxonomy import load_taxonomy

    try:
        rules = load_rules(diversion_rules)
        tax = load_taxonomy(taxonomy)
        if preset is None:
            found = matching_presets(calls_header(calls, encoding=encoding))
            preset = found[0] if found else None
        cmap = _column_map(preset, id=id_col, call_type=type_col, agency=agency_col,
                           time=time_col, time_format=time_format, latitude=lat,
                           longitude=lon, x=x, y=y, crs=calls_crs,
                           disposition=disposition_col, priority=priority_col)
        result = profile_calls(calls, columns=cmap, taxonomy=tax, rules=rules,
                               encoding=encoding)
        result["preset"] = preset
        if write_rules is not None:
            from safetygap.inputs import read_calls

            frame = read_calls(calls, columns=cmap, encoding=encoding).frame
            path = write_starter_rules(write_rules, result, calls=frame,
                                       name=f"{Path(calls).stem}-starter")
            result["starter_rules"] = str(path)
            load_rules(path)  # the starter file must load as it is
    except ValidationError as exc:
        _fail(exc)
        return
    if json_out:
        _write_json(result, None)
        return
    typer.echo(_profile_text(result))


def _profile_text(p: dict) -> str:
    """The profile in words, for the terminal."""
    lines = [f"{p['file']}: {p['rows']:,} rows"
             + (f" (preset {p['preset']})" if p.get("preset") else " (generic columns)")]
    lines.append("fields: " + ", ".join(
        f"{f['field']}={f['column']}" + ("" if f["found"] else " (NOT FOUND)")
        for f in p["fields"]))
    if p["unmapped_columns"]:
        lines.append("not used: " + ", ".join(p["unmapped_columns"]))
    d = p["dates"]
    if d.get("first"):
        lines.append(f"dates: {d['first']} to {d['last']} ({d['days']:,} days, "
                     f"{d['days_with_calls']:,} with calls, {d['undated']:,} rows undated)")
        for g in d["gaps"][:5]:
            lines.append(f"  gap: no calls {g['from']} to {g['to']} ({g['days']} days)")
    else:
        lines.append(f"dates: none parsed ({d['undated']:,} rows undated)")
    lines.append("agencies: " + ", ".join(f"{a['value']} {a['calls']:,}"
                                          for a in p["agencies"]["top"]))
    ds = p["diverted_share"]
    if ds["share"] is not None:
        lines.append(f"diverted: {ds['diverted']:,} of {ds['denominator']:,} calls "
                     f"({ds['share']:.1%}) by the rules {p['diversion_rules']['name']}")
    lines.append("channels: " + ", ".join(f"{k} {v:,}" for k, v in p["channels"].items()
                                          if v))
    lines.append(f"top problem types (of {p['problem_types']['distinct']:,}): "
                 "calls, share, category, channel (rule)")
    for t in p["problem_types"]["top"]:
        lines.append(f"  {t['calls']:>9,} {t['share']:6.1%}  {t['value']}  ->  "
                     f"{t['category']}, {t['channel']} ({t['rule']})")
    for key, label in (("dispositions", "dispositions"), ("priorities", "priorities")):
        if p.get(key):
            lines.append(f"{label} (of {p[key]['distinct']:,}): calls, channel (rule)")
            for v in p[key]["top"][:12]:
                lines.append(f"  {v['calls']:>9,} {v['share']:6.1%}  {v['value']}  ->  "
                             f"{v['channel']} ({v['rule']})" + _mixed(v))
    u = p["unmatched"]["types_unknown_to_taxonomy"]
    lines.append(f"types the taxonomy does not know: {u['distinct']:,} types, "
                 f"{u['calls']:,} calls ({u['share']:.1%})")
    for t in u["top"][:10]:
        lines.append(f"  {t['calls']:>9,}  {t['value']}")
    lines.append(f"calls no diversion rule matched (default channel): "
                 f"{p['unmatched']['calls_no_rule_matched']:,}")
    if p.get("starter_rules"):
        lines.append(f"starter rule file written to {p['starter_rules']} (every suggestion "
                     "marked REVIEW)")
    return "\n".join(lines)


def _mixed(row: dict) -> str:
    """The other channels a value's calls fall to (``; also police 3``), or nothing."""
    others = [f"{c} {k:,}" for c, k in row["channels"].items() if c != row["channel"]]
    return f"; also {', '.join(others)}" if others else ""


@app.command(cls=_Command)
def presets() -> None:
    """List the built-in column presets for calls files."""
    from safetygap.inputs import load_preset, preset_names

    for name in preset_names():
        p = load_preset(name)
        typer.echo(f"{name}: {p.description}")


def main() -> None:
    """Entry point of the ``safetygap`` console script."""
    app(prog_name="safetygap")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
