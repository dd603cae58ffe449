"""Shared parts of the command line: the typer app, its command classes, and helpers used
by several command groups (errors, the summary printout, JSON output, the calls' column map)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from safetygap import __version__

if TYPE_CHECKING:
    import click

    from safetygap.inputs import ColumnMap


def _no_flag_metavar(params: list[click.Parameter]) -> None:
    """Boolean flags take no value: show none (typer would show ``<bool>``)."""
    for p in params:
        if getattr(p, "is_flag", False) and p.metavar is None:
            p.metavar = ""


class Command(TyperCommand):
    """A subcommand whose help shows no value for flags (``--quiet``, ``--help``)."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _no_flag_metavar(self.get_params(ctx))
        super().format_help(ctx, formatter)


class Group(TyperGroup):
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
    cls=Group,
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


def fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def print_summary(out: Path, summary: dict) -> None:
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


def column_map(preset: str | None, **options: str | None) -> ColumnMap:
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


def write_json_out(data: dict, out: Path | None) -> None:
    """``data`` as strict JSON (NaN and inf as null) on stdout, or written to ``out``."""
    from safetygap._io import dumps_json, write_json

    if out is None:
        typer.echo(dumps_json(data, indent=2))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, data)
        typer.echo(f"written to {out.resolve()}", err=True)
