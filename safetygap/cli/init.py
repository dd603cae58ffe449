"""`safetygap init`: a starter city configuration written from a city's own files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safetygap.cli._app import Command, app, fail
from safetygap.cli._remote import local_calls
from safetygap.errors import ValidationError


@app.command(cls=Command)
def init(
    calls: Annotated[str, typer.Option(
        help="the city's calls-for-service file, or a folder or glob of CSV or Parquet "
             "partitions, or a URL of one (its first file is copied here for the sample "
             "and removed; the configuration names the URL)")],
    neighborhoods: Annotated[Path, typer.Option(help="neighborhood polygons")],
    wards: Annotated[Path | None, typer.Option(
        help="ward polygons (council wards, planning areas)")] = None,
    providers: Annotated[Path | None, typer.Option(
        help="provider file (docs/PROVIDERS.md)")] = None,
    population: Annotated[Path | None, typer.Option(
        help="population by neighborhood (CSV)")] = None,
    demographics: Annotated[Path | None, typer.Option(
        help="demographic table by area, or census-tract polygons, with ACS margins of "
             "error (the equity overlay)")] = None,
    out: Annotated[Path, typer.Option(help="configuration file to write (never "
                                      "overwritten)")] = Path("city.toml"),
    name: Annotated[str | None, typer.Option(help="the city's name")] = None,
    encoding: Annotated[str, typer.Option(help="text encoding of CSV inputs")] = "utf-8",
) -> None:
    """Write a starter city configuration from the city's files: every guess commented.

    Reads the header and a sample of the calls file and the boundary layers, and guesses
    which column is which, the time format, the CRS of each input and the call sources;
    every guess says what it rests on and every field it cannot tell is UNRESOLVED
    (`analyze --config` refuses the file until it is set). Fields: docs/NEW-CITY.md."""
    from safetygap.config.starter import write_starter_config

    try:
        with local_calls(calls, beside=out, first_file_only=True) as (local, origin):
            path, report = write_starter_config(
                out, local, neighborhoods, wards=wards, providers=providers,
                population=population, demographics=demographics, name=name or "",
                encoding=encoding, calls_file=origin)
    except ValidationError as exc:
        fail(exc)
        return
    typer.echo(f"starter configuration written to {path.resolve()}")
    typer.echo(f"  {len(report['guesses'])} guesses to check (marked GUESS): "
               + ", ".join(report["guesses"]))
    if report["unresolved"]:
        typer.secho(f"  {len(report['unresolved'])} fields to set (marked UNRESOLVED): "
                    + ", ".join(report["unresolved"]), fg=typer.colors.YELLOW)
    typer.echo(f"then: safetygap profile --config {path} --write-taxonomy taxonomy.toml "
               f"--write-rules rules.toml (review both, set [rules] taxonomy and "
               f"diversion_rules), and safetygap analyze --config {path} --out workspace")
