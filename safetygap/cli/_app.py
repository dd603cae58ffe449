"""Shared parts of the command line: the typer app, its command classes, and helpers used
by several command groups (errors, the summary printout, JSON output, the calls' column map)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from safetygap import __version__
from safetygap.errors import Problems, name_options

if TYPE_CHECKING:
    import click



def _no_flag_metavar(params: list[click.Parameter]) -> None:
    """Boolean flags take no value: show none (typer would show ``<bool>``)."""
    for p in params:
        if getattr(p, "is_flag", False) and p.metavar is None:
            p.metavar = ""


def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: Any = None, line: str | None = None) -> None:
    """A warning of the core as one line on stderr (``warning: ...``), the options it names
    shown as flags; not Python's form (the module, line number and source line)."""
    typer.secho(f"warning: {cli_message(str(message))}", fg=typer.colors.YELLOW, err=True)


class Command(TyperCommand):
    """A subcommand whose help shows no value for flags (``--quiet``, ``--help``) and whose
    warnings read as one line each, with flags (:func:`_show_warning`)."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _no_flag_metavar(self.get_params(ctx))
        super().format_help(ctx, formatter)

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings():  # the filters stay; only how a warning is shown
            warnings.showwarning = _show_warning
            return super().invoke(ctx)


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


FLAG_OF_OPTION: dict[str, str] = {
    "latitude": "--lat", "longitude": "--lon", "reports_columns": "--reports-column",
    "boundary_tolerance_m": "--boundary-tolerance",
    "diversion_denominator": "--diverted-denominator",
}
"""Options of the core whose command-line flag is not their name with dashes."""


def flag(name: str) -> str:
    """The command-line flag of the core's option ``name`` (``calls_crs`` ->
    ``--calls-crs``)."""
    return FLAG_OF_OPTION.get(name, "--" + name.replace("_", "-"))


def cli_message(text: str) -> str:
    """A message of the core with the options it names shown as command-line flags."""
    return name_options(text, flag)


def fail(exc: Exception) -> None:
    """Print ``exc`` as a one-line error, the options the core names shown as flags, and
    exit with status 2."""
    typer.secho(f"error: {cli_message(str(exc))}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def print_summary(out: Path, summary: dict) -> None:
    share = summary["diverted_share"]["all"]
    typer.echo(f"\nworkspace written to {out.resolve()}")
    if summary.get("synthetic"):
        typer.secho(f"  {summary['label']}", fg=typer.colors.YELLOW)
    for caveat in summary.get("caveats", []):
        typer.secho(f"  {caveat['headline'].upper()}: {cli_message(caveat['text'])}",
                    fg=typer.colors.YELLOW)
    t = summary["totals"]
    if "travel" in summary:
        typer.echo(f"  distance model: {summary['travel']['distance_model']} "
                   f"(catchments in {summary['travel']['unit']})")
    typer.echo(f"  calls: {t['input_rows']:,} rows, {t['calls_in_areas']:,} placed in areas")
    demand = summary.get("demand")
    if demand:
        typer.echo(f"  counted as demand: {demand['words']} ({demand['counted_calls']:,} "
                   f"calls; {demand['left_out_calls']:,} left out)")
    types = summary.get("call_types")
    if types:
        typer.echo(f"  call types the taxonomy does not know: {types['unknown_type_share']:.1%}"
                   f" of the calls ({types['unknown_type_calls']:,} of {types['calls']:,})")
    undated = summary.get("undated")
    if undated:
        if undated.get("form"):
            typer.echo(f"  times read as: {undated['form']}")
        typer.echo(f"  undated: {undated['words']}")
    agency = summary.get("agency")
    if agency and agency["default"]:
        typer.echo(f"  agency: {agency['words']}")
    if share is not None:
        div = summary.get("diversion", {})
        words = f" of {div['denominator_words']}" if div else ""
        typer.echo(f"  diverted to non-police services: {share:.1%}{words}")
    mark = " (UNCALIBRATED)" if summary.get("uncalibrated") else ""
    for family, rows in summary["top_underserved"]["neighborhood"].items():
        names = ", ".join(r["name"] + (" (uncertain)" if r.get("class_uncertain") else "")
                          for r in rows[:3]) or "none (no neighborhood is high need, low access)"
        typer.echo(f"  most underserved for {family}{mark} (high need, low access, by need): "
                   f"{names}")
    flagged = (summary.get("not_ranked") or {}).get("neighborhood", [])
    if flagged:
        typer.echo(f"  not ranked (few residents or mostly non-resident calls): "
                   f"{', '.join(r['name'] for r in flagged)}")
    sens = summary.get("boundary_sensitivity")
    if sens:
        changed = (sens.get("areas_changing_class") or
                   sens["areas_changing_gap_class"])["neighborhood"]
        typer.echo(
            f"  boundary streets: {sens['calls_shared']['neighborhood']:,} calls within "
            f"{sens['tolerance_m']:g} m of a line between neighborhoods; under the "
            f"'{sens['compared_with']}' policy the need/access class would change in "
            + ", ".join(f"{v} ({k})" for k, v in changed.items()) + " neighborhoods")
    typer.echo(f"  files: {', '.join(sorted(p.name for p in out.iterdir() if p.is_file()))}")


TIME_FORMAT_HELP = (
    "form of the call times: auto (detected on the file, the default), iso, us_12h "
    "(04/12/2018 12:50:17 PM), us_24h (04/12/2018 13:50), day_first_12h, day_first_24h, "
    "year_first, epoch_s, epoch_ms, or a strftime pattern")
DEFAULT_AGENCY_HELP = ("the agency of every call, for a file from one department with no "
                       "agency column (e.g. POLICE); leaves --agency unused")
SOURCE_HELP = ("column saying who started each call (e.g. SelfInitiated, CallSource); map "
               "its values with --source-value")
SOURCE_VALUE_HELP = ("VALUE=SOURCE of the --source column, repeatable (e.g. "
                     "Y=officer_initiated, N=public_911); sources: public_911, "
                     "non_emergency, online, officer_initiated, alarm_company, not_recorded")
DEFAULT_SOURCE_HELP = ("the source of every call when there is no --source column (default: "
                       "not_recorded, counted as a call from the public)")
FEED_HELP = ("column saying which export (feed) each call comes from when one file mixes "
             "several (e.g. 911 and 311 records): each feed's covered time (first to last "
             "day, gaps left out) divides its own calls' rates; without it the file is one "
             "feed")
DATE_HELP = ("date column, when the file has the date and the time of day in two columns "
             "(--time then names the time-of-day column)")

def pairs(values: list[str] | None, flag: str, form: str = "FIELD=COLUMN"
           ) -> dict[str, str] | None:
    """``["a=x", "b=y"]`` as ``{"a": "x", "b": "y"}``; a value without ``=`` is an error."""
    if not values:
        return None
    problems = Problems()
    out = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key.strip():
            problems.add(flag, f"expected {form}", value=v)
        out[key.strip()] = val.strip()
    problems.raise_if_any()
    return out


def precompute_now(workspace: Path, *, quiet: bool, asked: bool | None) -> None:
    """The report and the default sites of ``workspace``, computed now
    (:mod:`safetygap.api.precompute`) unless ``asked`` is False (None: the setting
    ``SAFETYGAP_PRECOMPUTE``)."""
    from safetygap.api.precompute import precompute, precomputed_skips
    from safetygap.settings import get_settings

    settings = get_settings()
    if not (settings.precompute if asked is None else asked):
        return
    if not quiet:
        typer.echo("precomputing the report and each family's default sites ...", err=True)
    timings = precompute(workspace, privacy_min_count=settings.privacy_min_count,
                         memory_budget_mb=settings.memory_budget_mb)
    if not quiet:
        typer.echo(f"      done in {sum(timings.values()):.1f} s", err=True)
    skipped = precomputed_skips(workspace)
    for family, why in skipped.items():
        typer.echo(f"      {family} sites not precomputed (computed when asked): {why}",
                   err=True)


def write_json_out(data: dict, out: Path | None) -> None:
    """``data`` as strict JSON (NaN and inf as null) on stdout, or written to ``out``."""
    from safetygap._io import dumps_json, write_json

    if out is None:
        typer.echo(dumps_json(data, indent=2))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, data)
        typer.echo(f"written to {out.resolve()}", err=True)
