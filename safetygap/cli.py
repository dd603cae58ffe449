"""The ``safetygap`` command line: one entry point, one subcommand per job.

    safetygap demo [--out DIR] [--no-serve]      build the synthetic demo city and analyse it
    safetygap analyze --calls F --providers F --neighborhoods F --wards F --out DIR
                      [--engine memory|dask [--scheduler ADDRESS]]
    safetygap presets                            list the built-in column presets
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from safetygap.errors import ValidationError

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
    typer.echo(f"  files: {', '.join(sorted(p.name for p in out.iterdir() if p.is_file()))}")


@app.command()
def analyze(
    calls: Annotated[Path, typer.Option(help="calls file (CSV, GeoJSON, GeoParquet, GPKG)")],
    providers: Annotated[Path, typer.Option(help="provider file (see docs/PROVIDERS.md)")],
    out: Annotated[Path, typer.Option(help="workspace directory to write")],
    neighborhoods: Annotated[Path, typer.Option("--neighborhoods", "--boundaries",
                                                help="neighborhood polygons")],
    wards: Annotated[Path, typer.Option(help="ward polygons")],
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
    engine: Annotated[str, typer.Option(
        help="where the join and per-area counts run: 'memory' (this process; fastest "
             "when the calls fit in memory) or 'dask' (a dask.distributed cluster; needs "
             "pip install 'safetygap[dask]')")] = "memory",
    scheduler: Annotated[str | None, typer.Option(
        help="dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local "
             "cluster of 2 workers)")] = None,
    staging: Annotated[Path | None, typer.Option(
        help="dask: folder for the partitioned calls GeoParquet; every worker must see "
             "it (default: a temporary folder)")] = None,
    partitions: Annotated[int | None, typer.Option(
        help="dask: number of calls partitions (default: one per million calls, at "
             "least 2)")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Analyse calls and providers against neighborhoods and wards; write a workspace."""
    from safetygap.inputs import ColumnMap, load_preset
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import run_analysis

    try:
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
                               encoding=encoding, engine=engine, scheduler=scheduler,
                               staging=staging, partitions=partitions)
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
