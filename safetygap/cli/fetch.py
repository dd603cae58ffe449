"""`safetygap fetch ...`: download a city's open data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetygap.errors import Problems, ValidationError

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
    if "address_points" in manifest["layers"]:
        typer.echo(f"place an organisations list: safetygap providers geocode LIST.csv "
                   f"--address-points {out / manifest['layers']['address_points']['file']} "
                   "--out PROVIDERS.csv")
    typer.echo(f"next: safetygap analyze --data {out} --providers PROVIDERS.csv "
               "--out WORKSPACE")
