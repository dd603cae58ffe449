"""JSON / GeoJSON routes. Thin: parameters are checked here, the work is done by
:class:`safetygap.readmodel.WorkspaceView`; results are validated against the
response models once and cached as JSON per workspace.

The routes the map pages and most clients ask for are ``async``: a cached answer (bytes)
is sent from the event loop at once, and only a missing one is computed in a worker
thread (:func:`cached_async`), so a cached answer costs no thread hand-off. Reading the
workspace again after its manifest changed happens in a worker thread too
(:func:`current_view`). Their answers are marked :func:`replayable`: the same request
again is answered from :mod:`safetygap.api._replay` without routing."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from safetygap import FAMILIES, __version__
from safetygap.api._errors import ERROR_RESPONSES, param_error
from safetygap.api._formats import (
    Format,
    csv_response,
    download,
    feature_rows,
    geojson_response,
)
from safetygap.api._replay import REPLAYABLE
from safetygap.api._store import STATE_KEY
from safetygap.api.models import (
    AreaCollection,
    AreaDirectory,
    AreaProfile,
    Family,
    GapRanking,
    Health,
    HexCollection,
    Level,
    ProviderCollection,
    Summary,
)
from safetygap.readmodel import DEFAULT_HEX_SIZE_M, DEFAULT_SIMPLIFY_TOLERANCE_M, WorkspaceView
from safetygap.readmodel.directory import area_directory
from safetygap.vocab import LEVELS

router = APIRouter()
GEOJSON = "application/geo+json"


async def current_view(request: Request) -> WorkspaceView:
    """The view of the served workspace (read again, in a worker thread, when its manifest
    changed); the checksum of its manifest goes into the response header
    ``X-Safetygap-Workspace``."""
    store = request.app.state.store
    view, key = store.fresh() or await run_in_threadpool(store.current)
    setattr(request.state, STATE_KEY, key)
    return view


View = Annotated[WorkspaceView, Depends(current_view)]
FamilyQ = Annotated[Family | None, Query(description="one family; all when left out")]
YearQ = Annotated[int | None, Query(description="one year of the analysis; all years when "
                                                "left out")]
ToleranceQ = Annotated[float, Query(ge=0, le=1000, allow_inf_nan=False,
                                    description="geometry simplification tolerance, metres "
                                                "(0 = exact)")]
AreaId = Annotated[str, Path(description="area id (see the GeoJSON layers)")]
DOWNLOADS: dict[int | str, dict[str, Any]] = {**ERROR_RESPONSES, 200: {
    "description": "JSON; with format=geojson or format=csv a file download",
    "content": {"application/geo+json": {}, "text/csv": {}}}}
"""Responses of the routes that take ``format``."""
FormatQ = Annotated[Format, Query(description="json (default), geojson (a download of the "
                                              "same FeatureCollection) or csv (one row per "
                                              "feature, the field names as headers)")]


def checked_year(view: WorkspaceView, year: int | None) -> int | None:
    """``year`` if the analysis has it; 422 listing the years it has otherwise."""
    if year is not None and year not in view.years:
        allowed = ", ".join(str(y) for y in view.years) or "none"
        raise param_error("year", f"no data for this year; allowed: {allowed} "
                                  "(or leave it out for all years)", year)
    return year


def checked_area(view: WorkspaceView, level: str, name: str, area_id: str | None
                 ) -> str | None:
    """``area_id`` if it exists at ``level``; 422 naming the parameter otherwise."""
    if area_id is not None and not view.has_area(level, area_id):
        ids = view.area_ids(level)
        raise param_error(name, f"unknown {level} id; allowed: "
                                f"{', '.join(ids[:20])}{' ...' if len(ids) > 20 else ''}",
                          area_id)
    return area_id


_MISSING = object()


async def cached_async(view: WorkspaceView, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``view.cached(key, compute)`` for an async route: a kept result at once, on the
    event loop; a missing one computed in a worker thread (the loop never waits for it)."""
    value = view.peek(key, _MISSING)
    if value is _MISSING:
        value = await run_in_threadpool(view.cached, key, compute)
    return value


def _json_key(model: type[BaseModel], key: Hashable) -> tuple:
    return ("json", model.__name__, key)


def _json_bytes(model: type[BaseModel], build: Callable[[], Any]) -> Callable[[], bytes]:
    return lambda: model.model_validate(build()).model_dump_json(by_alias=True).encode()


def cached_json(view: WorkspaceView, key: Hashable, model: type[BaseModel],
                build: Callable[[], Any], *, media_type: str = "application/json"
                ) -> Response:
    """``build()`` validated against ``model`` and serialised once per workspace."""
    body = view.cached(_json_key(model, key), _json_bytes(model, build))
    return Response(content=body, media_type=media_type)


def replayable(response: Response) -> Response:
    """``response``, marked as decided by its path, query and workspace version alone
    (:mod:`safetygap.api._replay` sends it again to the same request)."""
    response.raw_headers.append((REPLAYABLE, b"1"))
    return response


async def cached_json_async(view: WorkspaceView, key: Hashable, model: type[BaseModel],
                            build: Callable[[], Any], *, media_type: str = "application/json"
                            ) -> Response:
    """:func:`cached_json` for an async route (:func:`cached_async`); replayable."""
    body = await cached_async(view, _json_key(model, key), _json_bytes(model, build))
    return replayable(Response(content=body, media_type=media_type))


def _computed(request: Request, view: WorkspaceView, task: str, params: dict[str, Any]
              ) -> tuple[tuple, Callable[[], bytes]]:
    return computed_key(task, params), lambda: request.app.state.compute.answer(
        view, task, params, timeout_s=request.app.state.settings.compute_timeout_s)


def computed_json(request: Request, view: WorkspaceView, task: str, params: dict[str, Any],
                  *, media_type: str = "application/json") -> Response:
    """The answer of ``task`` (:mod:`safetygap.api._compute`) with ``params``: computed
    once per workspace by a worker process (the client chooses what it costs), cached as
    JSON here."""
    return Response(content=view.cached(*_computed(request, view, task, params)),
                    media_type=media_type)


async def computed_json_async(request: Request, view: WorkspaceView, task: str,
                              params: dict[str, Any], *, media_type: str = "application/json"
                              ) -> Response:
    """:func:`computed_json` for an async route (:func:`cached_async`); replayable."""
    return replayable(Response(content=await cached_async(
        view, *_computed(request, view, task, params)), media_type=media_type))


def computed_key(task: str, params: dict[str, Any]) -> tuple:
    """The view's cache key of a computed answer (:func:`computed_json`)."""
    return ("computed", task, tuple(sorted(params.items())))


def layer_params(level: str, *, family: str | None, year: int | None, tolerance_m: float,
                 ward: str | None) -> dict[str, Any]:
    """The parameters of an area layer's computation (the ``layer`` task)."""
    return {"level": level, "family": family, "year": year, "tolerance_m": tolerance_m,
            "ward": ward}


def warm_map_layers(view: WorkspaceView, *, tolerance_m: float | None = None) -> None:
    """The area layers the map pages fetch at a first visit, computed in this process and
    cached as the layer routes cache them (:func:`computed_json`), so no first visit
    waits for a compute worker to read the workspace: each family's neighborhoods and
    wards, and each ward map's neighborhoods (its default family)."""
    from safetygap.api._compute import answer

    tol = DEFAULT_SIMPLIFY_TOLERANCE_M if tolerance_m is None else tolerance_m
    wanted = [layer_params(level, family=family, year=None, tolerance_m=tol, ward=None)
              for family in FAMILIES for level in LEVELS]
    wanted += [layer_params("neighborhood", family=FAMILIES[0], year=None, tolerance_m=tol,
                            ward=w) for w in view.area_ids("ward")]
    for params in wanted:
        view.cached(computed_key("layer", params),
                    lambda p=params: answer(view, "layer", p))


@router.get("/health", response_model=Health, tags=["service"])
async def health(request: Request, view: View) -> Health:
    """The service is up and serving a complete workspace; ``fallback`` says which version
    is served and why when the newest one failed its checksums."""
    store = request.app.state.store
    fallback = store.fallback
    return Health(status="ok", version=__version__, workspace=store.path.name,
                  manifest_sha256=getattr(request.state, STATE_KEY, None) or "",
                  served_version=fallback["served"] if fallback else None,
                  fallback=fallback)


@router.get("/api/summary", response_model=Summary, responses=ERROR_RESPONSES,
            tags=["summary"])
async def summary(view: View) -> Response:
    """Totals, diverted share by year and data-quality counts."""
    return await cached_json_async(view, "summary", Summary, lambda: _summary(view))


def summary_response(view: WorkspaceView) -> Response:
    """The answer of ``GET /api/summary`` (for the GeoPackage export)."""
    return cached_json(view, "summary", Summary, lambda: _summary(view))


def _summary(view: WorkspaceView) -> dict[str, Any]:
    """What ``GET /api/summary`` answers, before validation."""
    s = view.summary
    q = view.quality.get("calls", {})
    prov = view.providers["family"].value_counts()
    families = {f: {**s["families"][f], "providers": int(prov.get(f, 0))}
                for f in FAMILIES}
    return {
        **{k: s[k] for k in ("label", "synthetic", "generated", "safetygap_version", "crs",
                             "years", "totals", "diverted_share",
                             "eligible_not_diverted_share")},
        "families": families,
        "quality": {
            **s["quality"],
            "input_rows": q.get("input_rows", s["totals"]["input_rows"]),
            "analysed_in_areas": q.get("analysed_in_areas", s["totals"]["calls_in_areas"]),
            "excluded_from_areas": q.get("excluded_from_areas", 0),
        },
        "boundary_sensitivity": _sensitivity(s.get("boundary_sensitivity")),
        "travel": s.get("travel"),
        "diversion": s.get("diversion"),
        **{k: s.get(k) for k in ("top_underserved", "not_ranked", "time_covered",
                                 "uncertainty", "placeless_services", "demand_points",
                                 "methods")},
        **{k: s.get(k) for k in ("call_types", "demand", "undated", "agency")},
        "caveats": view.caveats,
        "uncalibrated": bool(s.get("uncalibrated")),
    }


def _sensitivity(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """summary.json's boundary_sensitivity, with the policies' class keys named alike."""
    if not raw:
        return None
    changed = {
        level: {f: [{"area_id": a["area_id"], "name": a["name"],
                     "gap_class_contain": a["gap_class_contain"],
                     "gap_class_split": a["gap_class_split"]} for a in areas]
                for f, areas in fams.items()}
        for level, fams in raw.get("changed_areas", {}).items()
    }
    return {**{k: raw[k] for k in ("policy", "compared_with", "tolerance_m", "calls_shared",
                                   "areas_changing_gap_class", "areas_compared")},
            "areas_changing_class": raw.get("areas_changing_class"),
            "changed_areas": changed}


async def _layer(request: Request, view: WorkspaceView, level: str, family: str | None,
                 year: int | None, tolerance: float, ward: str | None = None,
                 fmt: str = "json") -> Response:
    year = checked_year(view, year)
    ward = checked_area(view, "ward", "ward", ward)
    name = f"safetygap-{level}s-{family or 'all'}-{year or 'all-years'}"
    if fmt == "csv":
        return await run_in_threadpool(_layer_csv, view, level, family, year, tolerance,
                                       ward, name)
    return download(fmt, name, await computed_json_async(
        request, view, "layer", layer_params(level, family=family, year=year,
                                             tolerance_m=tolerance, ward=ward),
        media_type=GEOJSON))


def _layer_csv(view: WorkspaceView, level: str, family: str | None, year: int | None,
               tolerance: float, ward: str | None, name: str) -> Response:
    layer = view.layer(level, family=family, year=year, tolerance_m=tolerance, ward=ward)
    rows = feature_rows(layer["features"])
    if family is None and year is None:  # every measure: the equity columns too
        from safetygap.readmodel.equity import equity_rows

        extra = equity_rows(view, level, [r["area_id"] for r in rows])
        rows = [r | e for r, e in zip(rows, extra, strict=True)]
    return csv_response(rows, name)


@router.get("/api/neighborhoods", response_model=AreaCollection, responses=DOWNLOADS,
            tags=["areas"])
async def neighborhoods(
    request: Request,
    view: View,
    family: FamilyQ = None,
    year: YearQ = None,
    tolerance: ToleranceQ = DEFAULT_SIMPLIFY_TOLERANCE_M,
    ward: Annotated[str | None, Query(description="only the neighborhoods in this ward")]
    = None,
    format: FormatQ = "json",
) -> Response:
    """Neighborhoods as GeoJSON (EPSG:4326) with their indices as ``<measure>_<family>``
    properties, and the gap classes (legend) per family; ``format=csv`` or ``geojson``
    for a download."""
    return await _layer(request, view, "neighborhood", family, year, tolerance, ward, format)


@router.get("/api/wards", response_model=AreaCollection, responses=DOWNLOADS,
            tags=["areas"])
async def wards(request: Request, view: View, family: FamilyQ = None, year: YearQ = None,
                tolerance: ToleranceQ = DEFAULT_SIMPLIFY_TOLERANCE_M,
                format: FormatQ = "json") -> Response:
    """Wards as GeoJSON (EPSG:4326) with their indices; see ``/api/neighborhoods``."""
    return await _layer(request, view, "ward", family, year, tolerance, None, format)


@router.get("/api/neighborhoods/{area_id}", response_model=AreaProfile,
            responses=ERROR_RESPONSES, tags=["areas"])
async def neighborhood_profile(view: View, area_id: AreaId) -> Response:
    """One neighborhood: calls by category and year, providers inside and within
    reach, every index with its rank among neighborhoods and the city value."""
    return await cached_json_async(view, ("profile", "neighborhood", area_id), AreaProfile,
                                   lambda: view.profile("neighborhood", area_id))


@router.get("/api/wards/{area_id}", response_model=AreaProfile, responses=ERROR_RESPONSES,
            tags=["areas"])
async def ward_profile(view: View, area_id: AreaId) -> Response:
    """One ward: calls by category and year, providers inside and within reach,
    every index with its rank among wards and the city value."""
    return await cached_json_async(view, ("profile", "ward", area_id), AreaProfile,
                                   lambda: view.profile("ward", area_id))


@router.get("/api/neighborhoods/{area_id}/directory", response_model=AreaDirectory,
            responses=ERROR_RESPONSES, tags=["areas"])
async def neighborhood_directory(view: View, area_id: AreaId) -> Response:
    """The services of one neighborhood: every provider located in it, assigned to it
    (serves) or reaching it, with hours, contact, eligibility, languages, address, how
    far, and when it was last checked. The page: /neighborhoods/{id}/directory."""
    return await cached_json_async(view, ("directory", "neighborhood", area_id), AreaDirectory,
                                   lambda: area_directory(view, "neighborhood", area_id))


@router.get("/api/wards/{area_id}/directory", response_model=AreaDirectory,
            responses=ERROR_RESPONSES, tags=["areas"])
async def ward_directory(view: View, area_id: AreaId) -> Response:
    """The services of one ward (see /api/neighborhoods/{id}/directory). The page:
    /wards/{n}/directory."""
    return await cached_json_async(view, ("directory", "ward", area_id), AreaDirectory,
                                   lambda: area_directory(view, "ward", area_id))


@router.get("/api/gaps", response_model=GapRanking, responses=DOWNLOADS, tags=["areas"])
async def gaps(
    view: View,
    family: FamilyQ = None,
    level: Annotated[Level, Query(description="neighborhood or ward")] = "neighborhood",
    top: Annotated[int, Query(ge=1, le=1000, description="how many areas per family")] = 10,
    year: YearQ = None,
    format: FormatQ = "json",
) -> Response:
    """Areas ranked by gap index (most underserved first), per family; ``format=csv`` (one
    row per family and rank) or ``geojson`` (the ranked areas with their outlines)."""
    year = checked_year(view, year)
    fams = FAMILIES if family is None else (family,)
    if format != "json":
        name = f"safetygap-underserved-{level}s-{family or 'all'}-{year or 'all-years'}"
        return await run_in_threadpool(_gaps_download, view, fams, level, top, year, format,
                                       name)
    return await cached_json_async(
        view, ("gaps", fams, level, top, year), GapRanking,
        lambda: {"level": level, "period": "all" if year is None else str(year), "top": top,
                 "families": {f: view.ranking(level, f, year=year, top=top) for f in fams},
                 "status": "uncalibrated" if view.summary.get("uncalibrated")
                 else "calibrated", "caveats": view.caveats})


def _gaps_download(view: WorkspaceView, fams: tuple[str, ...], level: str, top: int,
                   year: int | None, fmt: str, name: str) -> Response:
    """The ranking as a CSV (one row per family and rank) or GeoJSON download."""
    ranked = {f: view.ranking(level, f, year=year, top=top) for f in fams}
    rows = [{"family": f, **r} for f in fams for r in ranked[f]]
    if fmt == "csv":
        return csv_response(rows, name)
    shapes = {str(ft["id"]): ft["geometry"] for ft in view.layer(
        level, family=None, year=year, tolerance_m=DEFAULT_SIMPLIFY_TOLERANCE_M)["features"]}
    return geojson_response({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"{r['family']}-{r['rank']}",
         "geometry": shapes.get(r["area_id"]), "properties": r} for r in rows]}, name)


@router.get("/api/providers", response_model=ProviderCollection, responses=DOWNLOADS,
            tags=["providers"])
async def providers(
    view: View,
    family: FamilyQ = None,
    ward: Annotated[str | None, Query(description="only providers in this ward")] = None,
    neighborhood: Annotated[str | None, Query(description="only providers in this "
                                                          "neighborhood")] = None,
    format: FormatQ = "json",
) -> Response:
    """Service providers as GeoJSON points (EPSG:4326); ``format=csv`` (with longitude and
    latitude columns) or ``geojson`` for a download."""
    ward = checked_area(view, "ward", "ward", ward)
    neighborhood = checked_area(view, "neighborhood", "neighborhood", neighborhood)
    name = f"safetygap-providers-{family or 'all'}"
    if format == "csv":
        return await run_in_threadpool(lambda: csv_response(feature_rows(view.providers_layer(
            family=family, ward=ward, neighborhood=neighborhood)["features"]), name))
    return download(format, name, await cached_json_async(
        view, ("providers", family, ward, neighborhood), ProviderCollection,
        lambda: view.providers_layer(family=family, ward=ward, neighborhood=neighborhood),
        media_type=GEOJSON))


@router.get("/api/hexbins", response_model=HexCollection, responses=ERROR_RESPONSES,
            tags=["calls"])
async def hexbins(
    request: Request,
    view: View,
    family: FamilyQ = None,
    year: YearQ = None,
    size: Annotated[float, Query(ge=100, le=5000, allow_inf_nan=False,
                                 description="hexagon circumradius, metres")]
    = DEFAULT_HEX_SIZE_M,
) -> Response:
    """Calls placed in areas, counted in hexagons (GeoJSON, EPSG:4326): the map's
    aggregated call layer (never one marker per call)."""
    year = checked_year(view, year)
    return await computed_json_async(request, view, "hexbins",
                                     {"family": family, "year": year, "size_m": size},
                                     media_type=GEOJSON)
