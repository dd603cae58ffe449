"""The equity options of ``safetygap analyze`` (the demographic overlay,
docs/METHODS.md "Equity"): typed option declarations the analyze command uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safetygap.equity import DEFAULT_DRAWS
from safetygap.equity.moe import CV_CAUTION, CV_UNRELIABLE

Demographics = Annotated[Path | None, typer.Option(
    help="demographic table by neighborhood name or id, or census-tract polygons (CSV, "
         "GeoParquet, GeoPackage): group counts with ACS margins of error")]
DemographicsMapping = Annotated[Path | None, typer.Option(
    help="layout of the demographic table (TOML: key, universes, groups and MOE columns; "
         "default: recognised among the packaged ones, Minnesota Compass and the demo)")]
DemographicGroups = Annotated[str | None, typer.Option(
    help="comma-separated group keys to keep (default: every group the table allows)")]
FinePopulation = Annotated[Path | None, typer.Option(
    help="finer population layer (blocks or address points with a head count) for "
         "dasymetric interpolation of tract polygons")]
FinePopulationColumn = Annotated[str | None, typer.Option(
    help="head-count column of --fine-population")]
DemographicsCrs = Annotated[str | None, typer.Option(
    help="CRS of the demographics' tract polygons for a file that carries none (a shapefile "
         "without its .prj), e.g. EPSG:2276; must agree with the file's own")]
FinePopulationCrs = Annotated[str | None, typer.Option(
    help="CRS of --fine-population for a file that carries none; must agree with the "
         "file's own")]
EquityDraws = Annotated[int, typer.Option(
    min=100, max=100_000, help="Monte Carlo draws of the equity intervals")]
EquitySeed = Annotated[int, typer.Option(help="seed of the equity Monte Carlo draws")]
CvCaution = Annotated[float, typer.Option(
    help="coefficient of variation from which a survey estimate is flagged 'use with "
         "caution' (fraction)")]
CvUnreliable = Annotated[float, typer.Option(
    help="coefficient of variation above which a survey estimate is flagged 'unreliable' "
         "(fraction; Esri uses 0.40)")]

DEFAULT_SEED = 2025
CAUTION = CV_CAUTION
UNRELIABLE = CV_UNRELIABLE
DRAWS = DEFAULT_DRAWS


def group_keys(text: str | None) -> tuple[str, ...] | None:
    """``"black, poverty"`` -> ``("black", "poverty")``; None or blank -> None."""
    if not text or not text.strip():
        return None
    return tuple(k.strip() for k in text.split(",") if k.strip())
