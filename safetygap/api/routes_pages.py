"""HTML routes: the index page, the gap maps and the printable report (thin: the pages
are built by :mod:`safetygap.maps` and cached per workspace; the most visited are
``async``: a cached page is sent from the event loop, a missing one built in a worker
thread, :func:`~safetygap.api.routes_api.cached_async`)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from safetygap.api._errors import ERROR_RESPONSES, param_error
from safetygap.api.models import Family, Level
from safetygap.api.models_diversion import DivertedChannel, ModelName
from safetygap.api.routes_api import (
    View,
    YearQ,
    cached_async,
    checked_area,
    checked_year,
    replayable,
)
from safetygap.maps.area_page import area_page
from safetygap.maps.directory import directory_page
from safetygap.maps.gap_map import MapOptions, build_gap_map, build_ward_map, render_page
from safetygap.maps.jinja import render
from safetygap.maps.pages import index_page
from safetygap.readmodel import WorkspaceView

router = APIRouter(tags=["pages"])
FamilyPage = Annotated[Family, Query(description="family shown first")]


def _options(request: Request) -> MapOptions:
    return request.app.state.map_options


@router.get("/", response_class=HTMLResponse)
async def index(view: View) -> HTMLResponse:
    """What the data is, the most underserved neighborhoods, links to every map."""
    return replayable(HTMLResponse(await cached_async(view, ("page", "index"),
                                                      lambda: index_page(view))))


@router.get("/maps/gaps", response_class=HTMLResponse, responses=ERROR_RESPONSES)
async def gap_map(
    request: Request,
    view: View,
    family: FamilyPage = "response",
    level: Annotated[Level, Query(description="areas shown first")] = "neighborhood",
    year: YearQ = None,
) -> HTMLResponse:
    """The city's gap map: choropleth per family, ward outlines, providers, calls."""
    year = checked_year(view, year)
    options = _options(request)
    html = await cached_async(
        view, ("page", "gaps", family, level, year, options),
        lambda: render_page(build_gap_map(view, family=family, level=level, year=year,
                                          options=options)))
    return replayable(HTMLResponse(html))


def _not_found(view: WorkspaceView, level: str, value: str, prefix: str) -> HTMLResponse:
    """404: no such area; the page lists the ones there are."""
    items = [{"href": f"{prefix}{quote(i, safe='')}", "name": view.area_name(level, i)}
             for i in view.area_ids(level)]
    return HTMLResponse(render("not_found.html", what=level, value=value, items=items),
                        status_code=404)


@router.get("/maps/equity", response_class=HTMLResponse, responses=ERROR_RESPONSES)
def equity_map(
    request: Request,
    view: View,
    group: Annotated[str | None, Query(description="demographic group key (default: the "
                                                   "first of the analysis)")] = None,
    family: Annotated[Family, Query(description="whose access the share is set "
                                                "against")] = "prevention",
) -> HTMLResponse:
    """Who lives in the gaps: one group's share per neighborhood against one family's
    access (bivariate), intervals and reliability on every area."""
    from safetygap.maps.equity_map import build_equity_map
    from safetygap.readmodel.equity import group_keys

    keys = group_keys(view)
    if not keys:
        return HTMLResponse(render("not_found.html", what="demographic table in this analysis",
                                   value="(run analyze --demographics FILE)", items=[]),
                            status_code=404)
    group = group or keys[0]
    if group not in keys:
        raise param_error("group", f"unknown demographic group; allowed: {', '.join(keys)}",
                          group)
    options = _options(request)
    html = view.cached(("page", "equity", group, family, options), lambda: render_page(
        build_equity_map(view, group=group, family=family, options=options)))
    return HTMLResponse(html)


@router.get("/maps/wards/{ward}", response_class=HTMLResponse, responses=ERROR_RESPONSES)
async def ward_map(
    request: Request,
    view: View,
    ward: Annotated[str, Path(description="ward id")],
    family: FamilyPage = "response",
    year: YearQ = None,
) -> HTMLResponse:
    """A council member's view: the ward, its neighborhoods by gap, its providers and
    its headline against the city."""
    if not view.has_area("ward", ward):
        return _not_found(view, "ward", ward, "/maps/wards/")
    year = checked_year(view, year)
    options = _options(request)
    html = await cached_async(
        view, ("page", "ward", ward, family, year, options),
        lambda: render_page(build_ward_map(view, ward, family=family, year=year,
                                           options=options)))
    return replayable(HTMLResponse(html))


@router.get("/diversion", response_class=HTMLResponse, responses=ERROR_RESPONSES)
def diversion(
    request: Request,
    view: View,
    model: Annotated[ModelName | None, Query(description="eligibility model")] = None,
    category: Annotated[list[str] | None, Query(max_length=40,
                                                description="categories to move")] = None,
    channel: Annotated[DivertedChannel, Query(description="where they go")]
    = "behavioral_crisis",
    share: Annotated[float, Query(ge=0, le=1, allow_inf_nan=False)] = 1.0,
    hours: Annotated[Literal["24/7", "Mo-Su 06:00-22:00"], Query(
        description="the new responders' hours")] = "24/7",
    whole_model: Annotated[bool, Query(description="move every eligible call")] = False,
    ward: Annotated[str | None, Query(max_length=100, description="the ward whose hours "
                                                                  "of the week are shown")]
    = None,
) -> HTMLResponse:
    """Diversion: the share of calls going to non-police services today, which calls
    could (an eligibility model), and a change to try: moving categories (or a whole
    model's calls) to a non-police channel, with charts and tables by ward and hour."""
    from safetygap.maps.diversion_page import PageRequest, diversion_page

    cats = tuple(sorted(set(category or ())))
    ward = checked_area(view, "ward", "ward", ward or None)
    req = PageRequest(model=model or request.app.state.settings.eligibility_model,
                      categories=cats, channel=channel, share=share, hours=hours,
                      whole_model=whole_model, ward=ward)
    html = view.cached(("page", "diversion", req.model, cats, channel, share, hours,
                        whole_model, ward), lambda: diversion_page(view, req))
    return HTMLResponse(html)


def _links(request: Request, plural: str, area_id: str) -> dict[str, str]:
    """Pages about the area served by other parts of the app: the services directory
    (routes below). (The routes are not discovered from ``app.router.routes``: FastAPI
    keeps an included router's routes out of that list.)"""
    return {"directory": f"/{plural}/{quote(area_id, safe='')}/directory"}


def _area_page(request: Request, view: WorkspaceView, level: str, plural: str,
               area_id: str) -> HTMLResponse:
    if not view.has_area(level, area_id):
        return _not_found(view, level, area_id, f"/{plural}/")
    links = _links(request, plural, area_id)
    html = view.cached(("page", level, area_id, tuple(sorted(links.items()))),
                       lambda: area_page(view, level, area_id, links=links))
    return HTMLResponse(html)


@router.get("/neighborhoods/{area_id}", response_class=HTMLResponse,
            responses=ERROR_RESPONSES)
def neighborhood_page(
    request: Request, view: View,
    area_id: Annotated[str, Path(description="neighborhood id")],
) -> HTMLResponse:
    """One neighborhood in plain words: a headline written from the data, each family's
    service gap with its rank (1 = most underserved), charts with their numbers, a map."""
    return _area_page(request, view, "neighborhood", "neighborhoods", area_id)


@router.get("/wards/{ward}", response_class=HTMLResponse, responses=ERROR_RESPONSES)
def ward_page(
    request: Request, view: View,
    ward: Annotated[str, Path(description="ward id")],
) -> HTMLResponse:
    """One ward in plain words, printable as a brief of at most two pages: the headline,
    the map, its neighborhoods most underserved first, charts with their numbers."""
    return _area_page(request, view, "ward", "wards", ward)


def _directory(view: WorkspaceView, level: str, plural: str, area_id: str) -> HTMLResponse:
    if not view.has_area(level, area_id):
        items = [{"href": f"/{plural}/{quote(i, safe='')}/directory",
                  "name": view.area_name(level, i)} for i in view.area_ids(level)]
        return HTMLResponse(render("not_found.html", what=level, value=area_id, items=items),
                            status_code=404)
    return HTMLResponse(view.cached(("page", "directory", level, area_id),
                                    lambda: directory_page(view, level, area_id)))


@router.get("/neighborhoods/{area_id}/directory", response_class=HTMLResponse,
            responses=ERROR_RESPONSES)
def neighborhood_directory_page(
    view: View, area_id: Annotated[str, Path(description="neighborhood id")],
) -> HTMLResponse:
    """The services of one neighborhood: every provider located in it, assigned to it or
    reaching it, with hours, phone, web, who can use it, languages, where it is and how
    far, and when it was last checked (JSON: /api/neighborhoods/{id}/directory)."""
    return _directory(view, "neighborhood", "neighborhoods", area_id)


@router.get("/wards/{ward}/directory", response_class=HTMLResponse,
            responses=ERROR_RESPONSES)
def ward_directory_page(
    view: View, ward: Annotated[str, Path(description="ward id")],
) -> HTMLResponse:
    """The services of one ward (see /neighborhoods/{id}/directory)."""
    return _directory(view, "ward", "wards", ward)


FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
           '<rect width="32" height="32" rx="6" fill="#1f2a36"/>'
           '<path d="M16 5l9 4v7c0 6-4 10-9 12-5-2-9-6-9-12V9z" fill="#fd8d3c"/>'
           '<path d="M16 9v15c-3-1.5-5-4.5-5-8v-4z" fill="#ffffb2"/></svg>')
"""The site's icon: a shield in the map's colours."""


@router.get("/favicon.svg", include_in_schema=False)
@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """The site's icon (SVG; browsers asking for /favicon.ico get the same)."""
    return Response(FAVICON, media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/report", response_class=HTMLResponse)
def report(request: Request, view: View) -> HTMLResponse:
    """The printable report (one self-contained HTML file), as
    ``safetygap report`` writes it (computed when the analysis was built, when it was)."""
    from safetygap.api._precomputed import precomputed_report
    from safetygap.api._store import STATE_KEY
    from safetygap.maps.report import build_report

    manifest = getattr(request.state, STATE_KEY, "")
    return HTMLResponse(view.cached(
        ("page", "report"),
        lambda: precomputed_report(view, manifest) or build_report(view)))
