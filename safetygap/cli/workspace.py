"""Commands on a written workspace: `rerun`, `report`, `export`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetygap.errors import ValidationError

if TYPE_CHECKING:

    pass
from safetygap.cli._app import Command, app, fail, precompute_now

RERUN_BUSY_EXIT = 3
"""Exit code of ``safetygap rerun`` when another re-run of the workspace is running."""


@app.command(cls=Command)
def rerun(
    workspace: Annotated[Path, typer.Option(help="workspace directory (served or not)")],
    calls: Annotated[Path | None, typer.Option(help="new calls file")] = None,
    providers: Annotated[Path | None, typer.Option(help="new provider file")] = None,
    neighborhoods: Annotated[Path | None, typer.Option(help="new neighborhood polygons")]
    = None,
    wards: Annotated[Path | None, typer.Option(help="new ward polygons")] = None,
    population: Annotated[Path | None, typer.Option(help="new population table")] = None,
    diversion_rules: Annotated[Path | None, typer.Option(
        help="new diversion rule set TOML (docs/TAXONOMY.md)")] = None,
    reports: Annotated[Path | None, typer.Option(
        help="new file of diverted records from outside 911 (311 / online reports)")]
    = None,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Re-run a workspace's analysis into a new version and swap it in atomically.

    The run uses the workspace's recorded inputs and options, any file given here
    replacing its own; a server serving the workspace picks the new version up without a
    restart and never sees a half-written one.
    """
    from safetygap.run import rebuild
    from safetygap.versions import RerunBusy

    overrides = {"calls": calls, "providers": providers, "neighborhoods": neighborhoods,
                 "wards": wards, "population": population, "diversion_rules": diversion_rules,
                 "reports": reports}
    try:
        version = rebuild(workspace, {k: v for k, v in overrides.items() if v is not None},
                          quiet=quiet)
    except ValidationError as exc:
        fail(exc)
        return
    except OSError as exc:  # a full or read-only disk: the active version is untouched
        fail(ValidationError(f"workspace {workspace}: cannot write the new version "
                             f"({exc.strerror or exc}); the active version is unchanged"))
        return
    except RerunBusy as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=RERUN_BUSY_EXIT) from exc
    typer.echo(f"version {version.name} is now active in {workspace.resolve()}")
    try:
        precompute_now(version, quiet=quiet, asked=None)
    except ValidationError as exc:
        fail(exc)


@app.command(cls=Command)
def report(
    workspace: Annotated[Path, typer.Option(help="workspace directory to report on")],
    out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("report.html"),
) -> None:
    """Write a printable, self-contained HTML report (charts and static maps) of a workspace."""
    from safetygap.maps.report import write_report

    try:
        path = write_report(workspace, out)
    except ValidationError as exc:
        fail(exc)
        return
    typer.echo(f"report written to {path.resolve()} ({path.stat().st_size / 1e6:.1f} MB); "
               "open it in any browser, offline, or print it")


@app.command(cls=Command)
def export(
    workspace: Annotated[Path, typer.Argument(help="workspace directory to export")],
    out: Annotated[Path, typer.Option(help="GeoPackage file to write (.gpkg)")]
    = Path("safetygap.gpkg"),
) -> None:
    """Write the published layers to one GeoPackage, styled for QGIS (see docs/GIS.md)."""
    import json

    from safetygap.api.routes_api import summary_response
    from safetygap.maps.collections import default_sites, site_features
    from safetygap.maps.gpkg import export_geopackage
    from safetygap.readmodel import WorkspaceView
    from safetygap.scenarios import load_baseline
    from safetygap.settings import get_settings
    from safetygap.versions import active_dir
    from safetygap.workspace import Workspace

    if out.suffix.lower() != ".gpkg":
        fail(ValidationError(f"--out {out}: a GeoPackage file name ends in .gpkg"))
        return
    try:
        src = active_dir(workspace)
        view = WorkspaceView(Workspace.open(src),
                             privacy_min_count=get_settings().privacy_min_count)
        public = json.loads(summary_response(view).body)
        written = export_geopackage(
            view, out, summary=public,
            sites=lambda: site_features(default_sites(load_baseline(src))))
    except ValidationError as exc:
        fail(exc)
        return
    tables = ", ".join(f"{name} {n:,}" for name, n in written.items())
    typer.echo(f"GeoPackage written to {out.resolve()} ({out.stat().st_size / 1e6:.1f} MB; "
               f"rows: {tables}); open it in QGIS: the layers come styled as the map")
