"""The ``safetygap`` command line: one entry point, one subcommand per job.

    safetygap demo [--out DIR] [--no-serve]      build the synthetic demo city and analyse it
    safetygap analyze --calls F --providers F --neighborhoods F --wards F --out DIR
    safetygap analyze --data DIR --providers F --out DIR   analyse what `fetch` downloaded
    safetygap fetch minneapolis --out DIR [--years 2022-2024]
                                                 download the city's boundaries and 911 calls
    safetygap presets                            list the built-in column presets
    safetygap providers minneapolis --facilities DIR --city F --out F
                                                 providers from the city's facility files
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from safetygap.errors import Problems, ValidationError

app = typer.Typer(
    name="safetygap",
    help="Show a city where its community-safety services fall short.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _report(out: Path, summary: dict) -> None:
    share = summary["diverted_share"]["all"]
    typer.echo(f"\nworkspace written to {out.resolve()}")
    if summary.get("synthetic"):
        typer.secho(f"  {summary['label']}", fg=typer.colors.YELLOW)
    t = summary["totals"]
    typer.echo(f"  calls: {t['input_rows']:,} rows, {t['calls_in_areas']:,} placed in areas")
    if share is not None:
        typer.echo(f"  diverted to non-police services: {share:.1%}")
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


PROVIDERS_HELP = (
    "--providers is required: a provider file (format: docs/PROVIDERS.md; template: "
    "safetygap/data/providers_template.csv; in Minneapolis `safetygap providers minneapolis` "
    "builds one from the city's fire/police station and hospital files)")


@app.command()
def analyze(
    out: Annotated[Path, typer.Option(help="workspace directory to write")],
    providers: Annotated[Path | None, typer.Option(
        help="provider file (see docs/PROVIDERS.md); required")] = None,
    data: Annotated[Path | None, typer.Option(
        help="a directory written by `safetygap fetch`: its calls, neighborhoods and wards "
             "with the right preset (the options below override them)")] = None,
    calls: Annotated[Path | None, typer.Option(
        help="calls file (CSV, GeoJSON, GeoParquet, GPKG)")] = None,
    neighborhoods: Annotated[Path | None, typer.Option("--neighborhoods", "--boundaries",
                                                       help="neighborhood polygons")] = None,
    wards: Annotated[Path | None, typer.Option(help="ward polygons")] = None,
    population: Annotated[Path | None, typer.Option(help="population by neighborhood")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="call taxonomy TOML")] = None,
    preset: Annotated[str | None, typer.Option(help="column preset, e.g. minneapolis-911")]
    = None,
    crs: Annotated[str | None, typer.Option(help="projected analysis CRS (default: "
                                           "the neighborhoods' own, or its UTM zone)")] = None,
    neighborhood_id: Annotated[str | None, typer.Option(help="id column of neighborhoods")]
    = None,
    neighborhood_name: Annotated[str | None, typer.Option(help="name column of neighborhoods")]
    = None,
    ward_id: Annotated[str | None, typer.Option(help="id column of wards")] = None,
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
    calls_crs: Annotated[str | None, typer.Option(help="CRS of x/y columns")] = None,
    encoding: Annotated[str, typer.Option(help="text encoding of CSV inputs")] = "utf-8",
    boundary_tolerance: Annotated[float, typer.Option(
        help="metres: calls this close to a neighborhood or ward line are counted in "
             "quality.json and shared out by --boundary-policy split")] = 5.0,
    boundary_policy: Annotated[str, typer.Option(
        help="contain: count each call in the polygon containing it; split: share calls "
             "near the lines of k areas as 1/k each")] = "contain",
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Analyse calls and providers against neighborhoods and wards; write a workspace."""
    from safetygap.inputs import ColumnMap, load_preset
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import run_analysis

    ward_name = None
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
            ward_name = fetched.ward_name
        missing = Problems()
        for flag, value in (("--calls", calls), ("--neighborhoods", neighborhoods),
                            ("--wards", wards)):
            if value is None:
                missing.add(flag, "is required (or give --data DIR from `safetygap fetch`)")
        if providers is None:
            missing.add("--providers", PROVIDERS_HELP)
        missing.raise_if_any()
        assert calls and neighborhoods and wards and providers
        base = load_preset(preset) if preset else ColumnMap(
            id="id", call_type="call_type", agency="agency", time="time",
            latitude="latitude", longitude="longitude")
        cmap = base.with_overrides(
            id=id_col, call_type=type_col, agency=agency_col, time=time_col,
            time_format=time_format, latitude=lat, longitude=lon, x=x, y=y, crs=calls_crs)
        if x and y:
            cmap = cmap.with_overrides(latitude="", longitude="")
        inputs = AnalysisInputs(calls=calls, providers=providers, neighborhoods=neighborhoods,
                                wards=wards, population=population, taxonomy=taxonomy)
        opts = AnalysisOptions(columns=cmap, preset=preset, crs=crs,
                               neighborhood_id=neighborhood_id,
                               neighborhood_name=neighborhood_name, ward_id=ward_id,
                               ward_name=ward_name, encoding=encoding,
                               boundary_tolerance_m=boundary_tolerance,
                               boundary_policy=boundary_policy)
        analysis = run_analysis(inputs, out, options=opts, quiet=quiet)
    except ValidationError as exc:
        _fail(exc)
        return
    _report(out, analysis.summary)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="directory for the demo data and workspace")]
    = Path("demo-workspace"),
    seed: Annotated[int, typer.Option(help="random seed of the synthetic city")] = 2025,
    calls: Annotated[int, typer.Option(help="number of calls to generate")] = 650_000,
    serve: Annotated[bool, typer.Option(help="serve the maps when done")] = True,
    host: Annotated[str | None, typer.Option(help="address to serve on")] = None,
    port: Annotated[int | None, typer.Option(help="port to serve on")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Generate the synthetic demo city, analyse it, and (by default) serve the maps."""
    from safetygap.run import run_demo

    analysis, workspace = run_demo(out, seed=seed, n_calls=calls, quiet=quiet)
    _report(workspace, analysis.summary)
    if serve:
        _serve(workspace, host=host, port=port)
    else:
        typer.echo(f"\nnot serving (--no-serve). Serve later with: "
                   f"safetygap serve --workspace {workspace}")


def _serve(workspace: Path, *, host: str | None, port: int | None) -> None:
    try:
        from safetygap.api.app import serve_workspace
    except ImportError:
        typer.echo(f"the web app is not available in this version; outputs are in {workspace}")
        return
    serve_workspace(workspace, host=host, port=port)


fetch_app = typer.Typer(help="Download a city's open data (boundaries and 911 calls).",
                         no_args_is_help=True)
app.add_typer(fetch_app, name="fetch")


@fetch_app.command("minneapolis")
def fetch_minneapolis_cmd(
    out: Annotated[Path, typer.Option(help="directory for the GeoParquet files and manifest")],
    years: Annotated[str | None, typer.Option(
        help="911 calls of these calendar years, e.g. 2023 or 2022-2024 "
             "(default: the last complete year)")] = None,
    base_url: Annotated[str | None, typer.Option(
        help="ArcGIS REST services root (default: the City of Minneapolis')")] = None,
    page_size: Annotated[int, typer.Option(help="records per request (the city allows "
                                           "16,000)")] = 16_000,
    timeout: Annotated[float, typer.Option(help="seconds to wait for one answer")] = 60.0,
    retries: Annotated[int, typer.Option(help="retries of a failed request (exponential "
                                         "back-off from 1 s)")] = 5,
    layers: Annotated[str | None, typer.Option(
        help="comma-separated subset: neighborhoods, wards, communities, precincts, "
             "calls_911")] = None,
    force: Annotated[bool, typer.Option(help="download layers already fetched again")]
    = False,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Download Minneapolis neighborhoods, wards, communities, precincts and 911 calls.

    Interrupted downloads resume where they stopped when the command is run again.
    """
    from safetygap.fetch import FetchError, RetryPolicy, fetch_minneapolis, parse_years
    from safetygap.fetch.arcgis import MINNEAPOLIS_BASE_URL

    try:
        chosen = parse_years(years)
        manifest = fetch_minneapolis(
            out, years=chosen, base_url=base_url or MINNEAPOLIS_BASE_URL, page_size=page_size,
            retry=RetryPolicy(retries=retries, timeout_s=timeout),
            layers=tuple(x.strip() for x in layers.split(",")) if layers else None,
            force=force, quiet=quiet)
    except (ValidationError, FetchError) as exc:
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
    typer.echo(f"next: safetygap analyze --data {out} --providers PROVIDERS.csv "
               "--out WORKSPACE")


providers_app = typer.Typer(help="Build provider files from a city's published facilities.",
                             no_args_is_help=True)
app.add_typer(providers_app, name="providers")


@providers_app.command("minneapolis")
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


@app.command()
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
