"""`safetygap site` and `safetygap whatif`: scenarios on a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetygap.errors import ValidationError

if TYPE_CHECKING:

    pass
from safetygap.cli._app import Command, app, fail, write_json_out


def _reach(result: dict) -> str:
    """The catchment with its unit and distance model, e.g. ``catchment 1200 m
    straight-line`` or ``catchment 15 min network-walk``."""
    return (f"catchment {result['catchment']:g} {result['catchment_unit']} "
            f"{result['distance_model']}")


@app.command(cls=Command)
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
    ignore_existing: Annotated[bool, typer.Option(
        "--ignore-existing", help="place the sites as if the family had no provider "
                                  "(default: existing providers stay)")] = False,
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
                                 capacity=capacity, candidates_source=f"file {candidates}",
                                 keep_existing=not ignore_existing)
    except ValidationError as exc:
        fail(exc)
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
        where = f"{s['address']} ({s['name']})" if s["address"] else s["name"]
        typer.echo(f"  {s['rank']}. {where} at {s['latitude']:.5f}, {s['longitude']:.5f}:"
                   f" +{s['marginal_calls']:,} calls, {s['residents_newly_reached']:,.0f} "
                   f"residents; {areas}", err=True)
    if result["stopped_reason"]:
        typer.echo(f"  stopped: {result['stopped_reason']}", err=True)
    cb, ca = result["coverage_before"], result["coverage_after"]
    if cb is not None:
        typer.echo(f"  coverage of {family} need calls: {cb:.1%} -> {ca:.1%}", err=True)
    write_json_out(result, out)


@app.command(cls=Command)
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
        fail(exc)
        return
    for f, t in result["totals"].items():
        typer.echo(f"{f}: +{t['calls_newly_covered']:,} need calls covered, coverage "
                   f"{t['coverage_before']:.1%} -> {t['coverage_after']:.1%} "
                   f"({result['distance_model']})", err=True)
    write_json_out(result, out)
