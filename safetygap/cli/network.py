"""`safetygap network fetch`: street networks for --travel network."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetygap.errors import ValidationError

if TYPE_CHECKING:

    pass
from safetygap.cli._app import Command, Group, app, fail

network_app = typer.Typer(cls=Group, help="Street networks for --travel network.",
                          no_args_is_help=True)
app.add_typer(network_app, name="network")


@network_app.command("fetch", cls=Command)
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
    from safetygap.fetch.osm_network import fetch_place
    from safetygap.settings import get_settings

    settings = get_settings(nominatim_url=nominatim_url, overpass_url=overpass_url)
    typer.echo(f"downloading the {network_type} street network of {place!r} ...", err=True)
    try:
        path = fetch_place(place, out, network_type=network_type,
                           nominatim_url=settings.nominatim_url,
                           overpass_url=settings.overpass_url)
    except Exception as exc:  # network errors, geocoding failures: say what and where
        servers = ", ".join(u for u in (settings.nominatim_url, settings.overpass_url) if u)
        fail(ValidationError(f"network fetch {place!r}: {type(exc).__name__}: {exc} "
                              "(this needs the internet: Nominatim and the Overpass API"
                              + (f"; asked {servers}" if servers else "") + ")"))
        return
    typer.echo(f"street network written to {path.resolve()}")
