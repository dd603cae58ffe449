"""`safetygap demo` and `safetygap serve`: build the synthetic demo city; serve a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetygap.errors import ValidationError
from safetygap.vocab import TravelKind, TravelMode

if TYPE_CHECKING:
    import click

from safetygap.cli._app import Command, app, fail, precompute_now, print_summary

HOST_HELP = ("address to listen on: 127.0.0.1 this machine only, 0.0.0.0 every interface "
             "(default: SAFETYGAP_HOST, else 127.0.0.1)")
PORT_HELP = "port to listen on, 1-65535 (default: SAFETYGAP_PORT, else 8000)"
DEMO_OUT = Path("demo")
"""Default ``demo --out``: the same directory as ``make demo`` (workspace in demo/workspace)."""


class ServeCommand(Command):
    """A command that serves: its help ends with the settings' environment variables."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from safetygap.settings import environment_help

        self.epilog = ("Settings from the environment (an option given wins):\n\n"
                       + "\n\n".join(environment_help().splitlines()))
        super().format_help(ctx, formatter)


@app.command(cls=ServeCommand)
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
                                        "demo city's own street network)")] \
    = TravelKind.STRAIGHT.value,
    mode: Annotated[str, typer.Option(help="network travel mode: walk or drive")] \
    = TravelMode.WALK.value,
    precompute: Annotated[bool | None, typer.Option(
        help="compute the report and each family's default sites now, so the pages are "
             "quick at their first visit (default: SAFETYGAP_PRECOMPUTE, else yes)")] = None,
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
        precompute_now(workspace, quiet=quiet, asked=precompute)
    except ValidationError as exc:
        fail(exc)
        return
    print_summary(workspace, analysis.summary)
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
        fail(exc)


@app.command(cls=ServeCommand)
def serve(
    workspace: Annotated[Path | None, typer.Option(
        help="workspace directory to serve (default: SAFETYGAP_WORKSPACE, else ./workspace)")]
    = None,
    host: Annotated[str | None, typer.Option(help=HOST_HELP)] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help=PORT_HELP)] = None,
) -> None:
    """Serve a workspace: interactive maps at / and the JSON API (docs at /docs)."""
    _serve(workspace, host=host, port=port)
