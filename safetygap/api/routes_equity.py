"""``GET /api/equity`` and ``GET /api/equity/areas``: who lives in the gaps. Thin: the work
is done by :mod:`safetygap.readmodel.equity`; answers validated against
:mod:`safetygap.api.models_equity` and cached per workspace."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from safetygap.api._errors import ERROR_RESPONSES, param_error
from safetygap.api._formats import csv_response, download, feature_rows
from safetygap.api.models import Family, Level
from safetygap.api.models_equity import EquityAreaCollection, EquityReport
from safetygap.api.routes_api import (
    DOWNLOADS,
    GEOJSON,
    FormatQ,
    ToleranceQ,
    View,
    cached_json,
    checked_area,
    computed_json,
)
from safetygap.errors import name_options
from safetygap.readmodel import DEFAULT_SIMPLIFY_TOLERANCE_M, WorkspaceView
from safetygap.readmodel.equity import NoEquity, equity_layer, equity_report, group_keys

router = APIRouter()

WardQ = Annotated[str | None, Query(description="one ward's results (its neighborhoods "
                                                "weighted by their share of area in it); "
                                                "the whole city when left out")]


def _no_equity() -> JSONResponse:
    # the remedy is a new analysis: the option shown as the command line's flag
    text = name_options(str(NoEquity()), lambda name: f"`safetygap analyze --{name} FILE`")
    return JSONResponse(status_code=404, content={"message": text,
                                                  "detail": None})


def _checked_group(view: WorkspaceView, group: str) -> str:
    keys = group_keys(view)
    if group not in keys:
        raise param_error("group", f"unknown demographic group; allowed: {', '.join(keys)}",
                          group)
    return group


@router.get("/api/equity", response_model=EquityReport, responses=ERROR_RESPONSES,
            tags=["equity"])
def equity(view: View, ward: WardQ = None) -> Response:
    """Per demographic group (ACS-style estimates with 90% margins of error): its share of
    residents (or households) with a 90% interval and reliability flag, the mean access it
    experiences per family against everyone's, and the share of the group living in
    underserved areas against everyone else's (disparity, when the analysis has classes of
    underserved areas); for the city, or one ward. 404 when the analysis had no
    demographic table."""
    if view.workspace.equity is None:
        return _no_equity()
    ward = checked_area(view, "ward", "ward", ward)
    return cached_json(view, ("equity", ward), EquityReport,
                       lambda: equity_report(view, ward=ward))


@router.get("/api/equity/areas", response_model=EquityAreaCollection, responses=DOWNLOADS,
            tags=["equity"])
def equity_areas(
    request: Request,
    view: View,
    group: Annotated[str, Query(description="demographic group key (see /api/equity)")],
    family: Annotated[Family, Query(description="whose access the share is set against")],
    level: Annotated[Level, Query(description="neighborhood or ward")] = "neighborhood",
    ward: Annotated[str | None, Query(description="only the neighborhoods in this ward")]
    = None,
    tolerance: ToleranceQ = DEFAULT_SIMPLIFY_TOLERANCE_M,
    format: FormatQ = "json",
) -> Response:
    """One group's share per area (with its 90% interval, CV and reliability; unreliable
    estimates marked) against one family's access: the bivariate map layer, share
    terciles x access terciles, as GeoJSON (EPSG:4326); ``format=csv`` or ``geojson`` for a
    download."""
    if view.workspace.equity is None:
        return _no_equity()
    group = _checked_group(view, group)
    ward = checked_area(view, "ward", "ward", ward)
    if ward is not None and level != "neighborhood":
        raise param_error("ward", "only with level=neighborhood", ward)

    def build() -> dict:
        return equity_layer(view, level, group, family, tolerance_m=tolerance, ward=ward)

    name = f"safetygap-equity-{group}-{family}-{level}s"
    if format == "csv":
        return csv_response(feature_rows(build()["features"]), name)
    return download(format, name, computed_json(
        request, view, "equity_layer", {"level": level, "group": group, "family": family,
                                        "tolerance_m": tolerance, "ward": ward},
        media_type=GEOJSON))
