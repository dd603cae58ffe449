"""Siting and what-if routes (thin: the work is :mod:`safetygap.scenarios`, the caching
:mod:`safetygap.api._scenarios`, the page :mod:`safetygap.maps.sites`).

All of them only read the workspace: ``POST /api/scenarios`` and ``POST /api/sites``
compute with the providers or candidate sites sent and store nothing, so they are as
public as the GET routes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from safetygap import FAMILIES
from safetygap.api._errors import ERROR_RESPONSES
from safetygap.api._formats import csv_response, feature_rows, geojson_response
from safetygap.api._precomputed import DEFAULT_K, sites_key
from safetygap.api._scenarios import ScenarioStore, computed, problems_422
from safetygap.api._store import STATE_KEY
from safetygap.api.models import ErrorResponse, Family
from safetygap.api.models_sites import (
    AreaChange,
    CandidateSite,
    Existing,
    ScenarioRequest,
    ScenarioResult,
    SiteRecommendation,
    SiteRequest,
)
from safetygap.api.routes_api import DOWNLOADS, FormatQ, View
from safetygap.errors import ValidationError
from safetygap.inputs.providers import MAX_CAPACITY
from safetygap.maps.collections import SITE_PROPERTIES, site_features
from safetygap.maps.gap_map import render_page
from safetygap.maps.sites import MAX_SITES, build_sites_map
from safetygap.scenarios import Baseline

router = APIRouter()
JSON = "application/json"
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    400: {"description": "the body cannot be parsed (not UTF-8 text)", "model": ErrorResponse},
}


def scenario_store(request: Request) -> ScenarioStore:
    """The app's siting / what-if store (see :mod:`safetygap.api._scenarios`)."""
    return request.app.state.scenarios


def _answer(request: Request, manifest: str, body: bytes) -> Response:
    """The JSON body; its workspace version in the ``X-Safetygap-Workspace`` header."""
    setattr(request.state, STATE_KEY, manifest)
    return Response(body, media_type=JSON)


Scenarios = Annotated[ScenarioStore, Depends(scenario_store)]
KQ = Annotated[int, Query(ge=1, le=MAX_SITES, description=f"number of new sites, 1..{MAX_SITES}")]
ServiceTypeQ = Annotated[str | None, Query(
    description="service type of the new sites (default: the family's most common among "
                "existing providers)")]
CatchmentQ = Annotated[float | None, Query(
    gt=0, le=100_000, allow_inf_nan=False,
    description="catchment of the new sites in the workspace's unit: travel minutes on a "
                "street network, metres straight-line (the response's catchment_unit and "
                "distance_model say which; a straight-line catchment under 100 m is "
                "answered with a warning in warnings); at most the study area's extent "
                "(its bounding box's diagonal in metres, or the minutes to walk it: 422 "
                "past it); default: the service type's")]
ExistingQ = Annotated[Existing, Query(
    description="keep (default): existing providers stay and the calls they reach count as "
                "served; ignore: the sites are placed as if the family had no provider")]
CapacityQ = Annotated[float | None, Query(
    gt=0, le=MAX_CAPACITY, allow_inf_nan=False,
    description=f"capacity of each new site, at most {MAX_CAPACITY:,.0f} (default: median "
                "of the service type's)")]


def _sites(request: Request, store: ScenarioStore, key: tuple, *, source: str, family: str,
           k: int, service_type: str | None, catchment: float | None,
           capacity: float | None, candidates: list[CandidateSite] | None,
           existing: str = "keep") -> Response:
    """Sites of ``family`` among ``candidates`` (default ones when None), cached under
    ``key``, computed by a compute worker (:mod:`safetygap.api._compute`); problems with
    the options or candidates answer one 422 located in ``source`` listing all of them."""
    params = _site_params(request, family=family, k=k, service_type=service_type,
                          catchment=catchment, capacity=capacity, candidates=candidates,
                          existing=existing)
    try:
        return _answer(request, *store.response("sites", key, _computed(request, "sites",
                                                                         params)))
    except ValidationError as exc:
        raise problems_422(exc, source=source) from exc


def default_sites_answers(request: Request) -> list[dict[str, Any]]:
    """The answers of ``GET /api/sites?family=F`` (the defaults, :data:`DEFAULT_K` sites)
    of every family that can be sited (precomputed with the analysis, cached, or computed
    by a compute worker), as :func:`~safetygap.maps.collections.default_sites` gives
    them."""
    store = scenario_store(request)
    out = []
    for family in FAMILIES:
        params = _site_params(request, family=family, k=DEFAULT_K, service_type=None,
                              catchment=None, capacity=None, candidates=None,
                              existing="keep")
        try:
            _, body = store.response("sites", sites_key(family),
                                     _computed(request, "sites", params))
        except ValidationError:  # no provider to copy, no need calls: left out
            continue
        out.append(json.loads(body))
    return out


def _site_params(request: Request, *, family: str, k: int, service_type: str | None,
                 catchment: float | None, capacity: float | None,
                 candidates: list[CandidateSite] | None, existing: str) -> dict[str, Any]:
    return {"family": family, "k": k, "service_type": service_type,
            "catchment": catchment, "capacity": capacity, "existing": existing,
            "candidates": None if candidates is None
            else [c.model_dump() for c in candidates],
            "memory_budget_mb": request.app.state.settings.memory_budget_mb}


def _computed(request: Request, task: str, params: dict[str, Any]) -> Any:
    """The computation of ``task`` for :meth:`ScenarioStore.response`."""
    def compute(view: Any, manifest: str, base: Callable[[], Baseline]) -> bytes:
        return computed(request.app.state.compute, view, task,
                        {**params, "manifest": manifest}, base,
                        timeout_s=request.app.state.settings.compute_timeout_s)
    return compute


@router.get("/api/sites", response_model=SiteRecommendation, responses=DOWNLOADS,
            tags=["siting"])
def sites(
    request: Request,
    store: Scenarios,
    family: Annotated[Family, Query(description="family of the new sites")],
    k: KQ = 5,
    service_type: ServiceTypeQ = None,
    catchment: CatchmentQ = None,
    capacity: CapacityQ = None,
    existing: ExistingQ = "keep",
    format: FormatQ = "json",
) -> Response:
    """Choose ``k`` new sites that cover the most need calls of ``family`` not covered yet
    (maximal covering location problem; existing providers stay fixed), among the street
    network's nodes in the city (a 200 m grid for straight-line workspaces). Each ranked
    site: its position, the calls it newly covers, the neighborhoods and wards that gain
    with their indices before and after, and the area its catchment covers. Takes seconds
    the first time; cached per workspace version."""
    answer = _sites(request, store,
                    ("query", family, k, service_type, catchment, capacity, existing),
                    source="query", family=family, k=k, service_type=service_type,
                    catchment=catchment, capacity=capacity, candidates=None,
                    existing=existing)
    if format == "json":
        return answer
    features = site_features([json.loads(answer.body)])
    name = f"safetygap-sites-{family}-{k}"
    if format == "csv":
        return csv_response(feature_rows(features), name,
                            columns=(*SITE_PROPERTIES, "longitude", "latitude"))
    return geojson_response({"type": "FeatureCollection", "features": features}, name)


@router.post("/api/sites", response_model=SiteRecommendation, responses=BODY_RESPONSES,
             tags=["siting"])
def sites_among(request: Request, store: Scenarios, body: SiteRequest) -> Response:
    """Like ``GET /api/sites``, choosing among the candidate sites sent (read-only: nothing
    is stored)."""
    return _sites(request, store, ("body", body.model_dump_json()), source="body",
                  family=body.family, k=body.k, service_type=body.service_type,
                  catchment=body.catchment, capacity=body.capacity,
                  candidates=body.candidates, existing=body.existing)


@router.post("/api/scenarios", response_model=ScenarioResult,
             responses={**BODY_RESPONSES, 200: {
                 "description": "JSON; with format=csv a file download",
                 "content": {"text/csv": {}}}}, tags=["what-if"])
def scenarios(
    request: Request,
    store: Scenarios,
    body: ScenarioRequest,
    format: Annotated[Literal["json", "csv"], Query(
        description="json (default) or csv: a download of the change, one row per area "
                    "(neighborhoods, then wards) and family, the field names as headers")]
    = "json",
) -> Response:
    """What if these providers existed? The indices recomputed with them and the change per
    neighborhood and ward for their families. Read-only: the stored workspace does not
    change (the same as ``safetygap whatif``)."""
    compute = _computed(request, "scenario",
                        {"providers": [p.model_dump() for p in body.providers]})
    try:
        answer = _answer(request, *store.response("scenario", body.model_dump_json(),
                                                  compute))
    except ValidationError as exc:
        raise problems_422(exc, source="body") from exc
    if format == "json":
        return answer
    result = json.loads(answer.body)
    rows = [{"level": level, **area} for level, key in (("neighborhood", "neighborhoods"),
                                                         ("ward", "wards"))
            for area in result[key]]
    return csv_response(rows, "safetygap-whatif-" + "-".join(result["families"]),
                        columns=("level", "family", *AreaChange.model_fields))


@router.get("/maps/sites", response_class=HTMLResponse, responses=ERROR_RESPONSES,
            tags=["pages"])
def sites_map(
    request: Request,
    view: View,
    family: Annotated[Family, Query(description="family of the new sites")] = "response",
    k: KQ = 5,
) -> HTMLResponse:
    """The recommended sites on the gap map: numbered markers, their catchments, a popup
    per site with the calls it covers and the areas that gain (the sites come from
    ``GET /api/sites``)."""
    options = request.app.state.map_options
    html = view.cached(("page", "sites", family, k, options),
                       lambda: render_page(build_sites_map(view, family=family, k=k,
                                                           options=options)))
    return HTMLResponse(html)
