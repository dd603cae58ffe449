"""`safetygap fetch ...`: download a city's open data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetygap.errors import ValidationError

if TYPE_CHECKING:

    pass
from safetygap.cli._app import Command, Group, app, fail


def _positive_seconds(value: float) -> float:
    if not value > 0:
        raise typer.BadParameter(f"must be more than 0 seconds, got {value:g}")
    return value


fetch_app = typer.Typer(
    cls=Group, help="Download a city's open data (boundaries and 911 calls).",
    no_args_is_help=True)
app.add_typer(fetch_app, name="fetch")


@fetch_app.command("minneapolis", cls=Command)
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
    except ValidationError as exc:
        fail(exc)
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
    typer.echo(f"next: safetygap analyze --data {out} --providers PROVIDERS.csv "
               "--out WORKSPACE")
