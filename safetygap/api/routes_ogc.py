"""OGC API - Features (Part 1: Core; GeoJSON, HTML and OpenAPI 3.0 conformance classes) over
the published layers, under ``/ogc``: a router of the same app, reading the same view.

Thin: the features come from :mod:`safetygap.maps.collections`; this module adds the links,
paging, content negotiation (``f=json|html`` or the Accept header) and the OGC error codes
(400 for a bad parameter, 404 for an unknown collection or feature).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from safetygap.api._ogc_openapi import openapi_30
from safetygap.api.models import ErrorResponse
from safetygap.api.routes_api import View
from safetygap.maps.collections import (
    COLLECTIONS,
    CRS84,
    FilterError,
    collection_features,
    extent,
    parse_bbox,
    queryables,
    select,
    site_features,
)
from safetygap.readmodel import WorkspaceView

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

PREFIX = "/ogc"
GEOJSON = "application/geo+json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
RESERVED = ("f", "limit", "offset", "bbox", "bbox-crs", "datetime")
OGC_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "bad parameter (OGC code InvalidParameterValue)", "model": ErrorResponse},
    404: {"description": "unknown collection or feature", "model": ErrorResponse},
    503: {"description": "the workspace cannot be read", "model": ErrorResponse},
}


# ------------------------------------------------------------------ helpers


def _bad(parameter: str, message: str) -> HTTPException:
    return HTTPException(400, detail={"code": "InvalidParameterValue",
                                      "parameter": parameter, "description": message})


def _format(request: Request) -> str:
    """``json`` or ``html``: the ``f`` parameter, else the Accept header (HTML only when a
    browser asks for it before any JSON)."""
    f = request.query_params.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise _bad("f", f"unknown format {f[:40]!r}; allowed: json, html")
        return f
    accept = request.headers.get("accept", "")
    if "text/html" in accept:
        html_at = accept.index("text/html")
        json_at = min((accept.index(t) for t in ("json",) if t in accept), default=None)
        if json_at is None or html_at < json_at:
            return "html"
    return "json"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _link(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def _self_links(request: Request, path: str, json_type: str, title: str,
                query: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """self and alternate links of a resource, in the format served and the other one."""
    fmt = _format(request)
    q = {k: v for k, v in (query or {}).items() if v is not None}
    url = f"{_base(request)}{path}"
    as_json = f"{url}?{urlencode({**q, 'f': 'json'})}"
    as_html = f"{url}?{urlencode({**q, 'f': 'html'})}"
    if fmt == "html":
        return [_link(as_html, "self", "text/html", title),
                _link(as_json, "alternate", json_type, f"{title} as JSON")]
    return [_link(as_json, "self", json_type, title),
            _link(as_html, "alternate", "text/html", f"{title} as HTML")]


def _reply(request: Request, body: dict[str, Any], json_type: str, title: str) -> Response:
    if _format(request) == "html":
        return HTMLResponse(_html(title, body))
    return Response(json.dumps(body, allow_nan=False).encode(), media_type=json_type)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:,.4g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, dict | list):
        return escape(json.dumps(v)[:200])
    return escape("" if v is None else str(v))


def _html(title: str, body: dict[str, Any]) -> str:
    """A plain HTML rendering: the links, then a table of the collections or features."""
    parts = [f"<h1>{escape(title)}</h1>"]
    if body.get("description"):
        parts.append(f"<p>{escape(body['description'])}</p>")
    if "numberMatched" in body:
        parts.append(f"<p>{body['numberReturned']:,} of {body['numberMatched']:,} "
                     "features.</p>")
    links = [lk for lk in body.get("links", []) if lk["rel"] != "self"]
    if links:
        parts.append("<h2>Links</h2><ul>" + "".join(
            f'<li><a href="{escape(lk["href"])}">{escape(lk.get("title") or lk["rel"])}</a>'
            f" ({escape(lk['rel'])})</li>" for lk in links) + "</ul>")
    rows: list[dict[str, Any]] = []
    if "collections" in body:
        rows = [{"id": c["id"], "title": c["title"], "description": c["description"]}
                for c in body["collections"]]
    elif body.get("type") == "FeatureCollection":
        rows = [{"id": f["id"], **f["properties"]} for f in body["features"]]
    elif body.get("type") == "Feature":
        rows = [{"property": k, "value": v} for k, v in body["properties"].items()]
    elif "conformsTo" in body:
        rows = [{"conformance class": c} for c in body["conformsTo"]]
    if rows:
        cols = list(dict.fromkeys(k for r in rows for k in r))
        head = "".join(f'<th scope="col">{escape(c)}</th>' for c in cols)
        trs = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>"
                      for r in rows)
        parts.append(f'<div class="scroll" tabindex="0" role="region" aria-label="table">'
                     f"<table><thead><tr>{head}</tr></thead>"
                     f"<tbody>{trs}</tbody></table></div>")
    style = ("body{font-family:system-ui,sans-serif;margin:1rem;max-width:100%}"
             ".scroll{overflow-x:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #999;padding:.2rem .4rem;text-align:left}"
             "a{color:#0645ad}")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)} - safetygap</title><style>{style}</style></head>"
            f"<body><main>{''.join(parts)}</main></body></html>")


def sites_features(request: Request) -> list[dict[str, Any]]:
    """The default proposed sites of every family, on the siting baseline of the version
    served (see :func:`~safetygap.maps.collections.default_sites`): the answers of ``GET
    /api/sites?family=F`` (precomputed, cached, or computed by a compute worker)."""
    from safetygap.api.routes_sites import default_sites_answers

    return site_features(default_sites_answers(request))


def _features(request: Request, view: WorkspaceView, collection_id: str
              ) -> list[dict[str, Any]]:
    if collection_id not in COLLECTIONS:
        raise HTTPException(404, detail={
            "code": "NotFound", "description": f"no collection {collection_id[:60]!r}; "
                                               f"the collections: {', '.join(COLLECTIONS)}"})
    return view.cached(("ogc", collection_id), lambda: collection_features(
        view, collection_id, sites=lambda: sites_features(request)))


def _period(view: WorkspaceView) -> list[str | None]:
    years = [int(y) for y in view.years]
    if not years:
        return [None, None]
    return [f"{min(years)}-01-01T00:00:00Z", f"{max(years)}-12-31T23:59:59Z"]


def _instant(text: str) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _bad("datetime", f"not an RFC 3339 date-time or interval: {text[:60]!r}"
                   ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _in_period(view: WorkspaceView, text: str) -> bool:
    """Whether the ``datetime`` instant or interval overlaps the analysis period (every
    feature summarises the whole period, so it matches all or none)."""
    start, _, end = text.partition("/")
    lo = _instant(start)
    hi = _instant(end) if end else lo
    if lo is not None and hi is not None and lo > hi:
        raise _bad("datetime", "the interval's start is after its end")
    p0, p1 = (None if p is None else datetime.fromisoformat(p) for p in _period(view))
    if p0 is None:
        return True
    return (hi is None or hi >= p0) and (lo is None or lo <= p1)


def _collection(request: Request, view: WorkspaceView, cid: str) -> dict[str, Any]:
    c = COLLECTIONS[cid]
    base = _base(request)
    bbox = extent(_features(request, view, cid))
    return {
        "id": cid, "title": c.title, "description": c.description, "itemType": "feature",
        "crs": [CRS84], "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [bbox] if bbox else [], "crs": CRS84},
                   "temporal": {"interval": [_period(view)],
                                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}},
        "links": [
            _link(f"{base}/collections/{cid}/items?f=json", "items", GEOJSON,
                  f"{c.title} as GeoJSON"),
            _link(f"{base}/collections/{cid}/items?f=html", "items", "text/html",
                  f"{c.title} as HTML"),
            _link(f"{base}/collections/{cid}/queryables?f=json",
                  "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json",
                  "the properties that can be filtered on"),
        ],
    }


# ------------------------------------------------------------------ routes


@router.get("/", summary="OGC API - Features landing page", responses=OGC_RESPONSES)
def landing(request: Request, view: View) -> Response:
    """Links to the API definition, the conformance declaration and the collections."""
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    body = {
        "title": f"safetygap: {view.label or 'analysis'}",
        "description": "The analysis' published layers (neighborhoods and wards with their "
                       "measures, providers, calls in hexagons, proposed sites) as OGC API - "
                       "Features." + (" Synthetic demo data." if view.synthetic else "")
                       + "".join(f" {c['headline']}: {c['text']}" for c in view.caveats),
        "links": [
            *_self_links(request, "/", "application/json", "landing page"),
            _link(f"{base}/api", "service-desc", OPENAPI_30, "API definition (OpenAPI 3.0)"),
            _link(f"{root}/docs", "service-doc", "text/html", "API documentation"),
            _link(f"{base}/conformance?f=json", "conformance", "application/json",
                  "conformance classes"),
            _link(f"{base}/collections?f=json", "data", "application/json", "collections"),
        ],
    }
    return _reply(request, body, "application/json", body["title"])


@router.get("/conformance", summary="conformance declaration", responses=OGC_RESPONSES)
def conformance(request: Request) -> Response:
    """The conformance classes this API implements."""
    body = {"conformsTo": list(CONFORMANCE),
            "links": _self_links(request, "/conformance", "application/json", "conformance")}
    return _reply(request, body, "application/json", "Conformance")


@router.get("/api", summary="API definition (OpenAPI 3.0)", responses=OGC_RESPONSES)
def api_definition(request: Request) -> Response:
    """The OpenAPI 3.0 document of the OGC API - Features routes."""
    body = openapi_30(str(request.base_url).rstrip("/"), PREFIX, tuple(COLLECTIONS))
    return Response(json.dumps(body).encode(), media_type=OPENAPI_30)


@router.get("/collections", summary="the collections", responses=OGC_RESPONSES)
def collections(request: Request, view: View) -> Response:
    """Every published layer with its extent and links."""
    body = {"links": _self_links(request, "/collections", "application/json", "collections"),
            "collections": [_collection(request, view, cid) for cid in COLLECTIONS]}
    return _reply(request, body, "application/json", "Collections")


@router.get("/collections/{collection_id}", summary="one collection", responses=OGC_RESPONSES)
def collection(request: Request, view: View, collection_id: str) -> Response:
    """One layer: extent, CRS, description and links to its items."""
    _features(request, view, collection_id)  # 404 when unknown
    body = _collection(request, view, collection_id)
    body["links"] = [*_self_links(request, f"/collections/{collection_id}",
                                  "application/json", body["title"]), *body["links"]]
    return _reply(request, body, "application/json", body["title"])


@router.get("/collections/{collection_id}/queryables",
            summary="filterable properties", responses=OGC_RESPONSES)
def collection_queryables(request: Request, view: View, collection_id: str) -> Response:
    """The properties that ``/items`` filters on (``?name=value``), as a JSON Schema."""
    feats = _features(request, view, collection_id)
    base = _base(request)
    body = {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{base}/collections/{collection_id}/queryables",
        "type": "object", "title": COLLECTIONS[collection_id].title,
        "properties": {k: {"type": t} for k, t in sorted(queryables(feats).items())},
    }
    if _format(request) == "html":
        return HTMLResponse(_html(f"{body['title']}: queryables", {
            "type": "Feature", "properties": {k: v["type"]
                                              for k, v in body["properties"].items()}}))
    return Response(json.dumps(body).encode(), media_type="application/schema+json")


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(name, f"not an integer: {raw[:40]!r}") from None
    if not lo <= value <= hi:
        raise _bad(name, f"must be between {lo:,} and {hi:,}, got {value:,}")
    return value


@router.get("/collections/{collection_id}/items",
            summary="the features of a collection", responses=OGC_RESPONSES)
def items(request: Request, view: View, collection_id: str) -> Response:
    """Features with paging (``limit`` 1..10,000, default 10; ``offset``; a ``next`` link),
    ``bbox=minlon,minlat,maxlon,maxlat`` (CRS84), ``datetime`` (the features summarise the
    analysis period: all or none match) and equality filters on simple properties
    (``?family=prevention``; see ``/queryables``)."""
    feats = _features(request, view, collection_id)
    q = request.query_params
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    if q.get("bbox-crs") not in (None, CRS84):
        raise _bad("bbox-crs", f"only {CRS84} is supported")
    filters = {k: v for k, v in q.items() if k not in RESERVED}
    try:
        bbox = parse_bbox(q["bbox"]) if "bbox" in q else None
        matched = select(feats, bbox=bbox, filters=filters)
    except FilterError as exc:
        raise _bad(exc.parameter, exc.message) from exc
    if "datetime" in q and not _in_period(view, q["datetime"]):
        matched = []
    page = matched[offset:offset + limit]
    path = f"/collections/{collection_id}/items"
    keep = {k: v for k, v in q.items() if k not in ("f", "offset")}
    links = _self_links(request, path, GEOJSON, "this page", {**keep, "offset": offset})
    url = f"{_base(request)}{path}"
    fmt = _format(request)
    mime = GEOJSON if fmt == "json" else "text/html"
    if offset + len(page) < len(matched):
        links.append(_link(f"{url}?{urlencode({**keep, 'offset': offset + limit, 'f': fmt})}",
                           "next", mime, "next page"))
    if offset > 0:
        prev = max(0, offset - limit)
        links.append(_link(f"{url}?{urlencode({**keep, 'offset': prev, 'f': fmt})}",
                           "prev", mime, "previous page"))
    links.append(_link(f"{_base(request)}/collections/{collection_id}?f=json", "collection",
                       "application/json", COLLECTIONS[collection_id].title))
    body = {"type": "FeatureCollection", "features": page,
            "numberMatched": len(matched), "numberReturned": len(page),
            "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "links": links}
    return _reply(request, body, GEOJSON, COLLECTIONS[collection_id].title)


@router.get("/collections/{collection_id}/items/{feature_id}",
            summary="one feature", responses=OGC_RESPONSES)
def item(request: Request, view: View, collection_id: str, feature_id: str) -> Response:
    """One feature by its id (an area id, a provider id, a hexagon number, or
    ``<family>-<rank>`` for a proposed site)."""
    feats = _features(request, view, collection_id)
    found = next((f for f in feats if f["id"] == feature_id), None)
    if found is None:
        raise HTTPException(404, detail={
            "code": "NotFound",
            "description": f"no feature {feature_id[:60]!r} in {collection_id!r}"})
    base = _base(request)
    body = {**found, "links": [
        *_self_links(request, f"/collections/{collection_id}/items/{feature_id}", GEOJSON,
                     "this feature"),
        _link(f"{base}/collections/{collection_id}?f=json", "collection", "application/json",
              COLLECTIONS[collection_id].title)]}
    title = f"{COLLECTIONS[collection_id].title}: {found['properties'].get('name', feature_id)}"
    return _reply(request, body, GEOJSON, title)

