"""The OpenAPI 3.0 document of the OGC API - Features routes (``/ogc/api``).

The app's own ``/openapi.json`` is OpenAPI 3.1 (FastAPI's); the OGC conformance class
*OpenAPI 3.0* needs a 3.0 document, so this one describes the ``/ogc`` routes alone, in
3.0.3, following the building blocks of OGC 17-069r4 (parameters ``limit``, ``bbox``,
``datetime``, ``collectionId``, ``featureId``).
"""

from __future__ import annotations

from typing import Any

_JSON_OR_HTML = {"application/json": {"schema": {"type": "object"}},
                 "text/html": {"schema": {"type": "string"}}}
_GEOJSON_OR_HTML = {"application/geo+json": {"schema": {"type": "object"}},
                    "text/html": {"schema": {"type": "string"}}}
_ERROR = {"description": "the problem: code, description and the parameter",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _get(summary: str, content: dict[str, Any], *, params: list[dict[str, Any]],
         not_found: bool = False) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": summary, "content": content},
                                 "400": _ERROR}
    if not_found:
        responses["404"] = _ERROR
    return {"get": {"summary": summary, "parameters": params, "responses": responses}}


def openapi_30(root: str, prefix: str, collections: tuple[str, ...]) -> dict[str, Any]:
    """The document, with ``root`` (scheme and host) as its server."""
    f = {"$ref": "#/components/parameters/f"}
    cid = {"$ref": "#/components/parameters/collectionId"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "safetygap OGC API - Features", "version": "1.0.0",
                 "description": "The published layers of a safetygap analysis."},
        "servers": [{"url": root}],
        "paths": {
            f"{prefix}/": _get("landing page", _JSON_OR_HTML, params=[f]),
            f"{prefix}/conformance": _get("conformance classes", _JSON_OR_HTML, params=[f]),
            f"{prefix}/api": {"get": {"summary": "this document", "responses": {"200": {
                "description": "OpenAPI 3.0", "content": {
                    "application/vnd.oai.openapi+json;version=3.0": {
                        "schema": {"type": "object"}}}}}}},
            f"{prefix}/collections": _get("the collections", _JSON_OR_HTML, params=[f]),
            f"{prefix}/collections/{{collectionId}}": _get(
                "one collection", _JSON_OR_HTML, params=[cid, f], not_found=True),
            f"{prefix}/collections/{{collectionId}}/queryables": _get(
                "the properties items can be filtered on",
                {"application/schema+json": {"schema": {"type": "object"}},
                 "text/html": {"schema": {"type": "string"}}},
                params=[cid, f], not_found=True),
            f"{prefix}/collections/{{collectionId}}/items": _get(
                "features", _GEOJSON_OR_HTML, not_found=True, params=[
                    cid, {"$ref": "#/components/parameters/limit"},
                    {"$ref": "#/components/parameters/offset"},
                    {"$ref": "#/components/parameters/bbox"},
                    {"$ref": "#/components/parameters/datetime"},
                    {"$ref": "#/components/parameters/properties"}, f]),
            f"{prefix}/collections/{{collectionId}}/items/{{featureId}}": _get(
                "one feature", _GEOJSON_OR_HTML, not_found=True, params=[
                    cid, {"name": "featureId", "in": "path", "required": True,
                          "schema": {"type": "string"}}, f]),
        },
        "components": {
            "parameters": {
                "f": {"name": "f", "in": "query", "required": False,
                      "schema": {"type": "string", "enum": ["json", "html"]}},
                "collectionId": {"name": "collectionId", "in": "path", "required": True,
                                 "schema": {"type": "string", "enum": list(collections)}},
                "limit": {"name": "limit", "in": "query", "required": False,
                          "style": "form", "explode": False,
                          "schema": {"type": "integer", "minimum": 1, "maximum": 10000,
                                     "default": 10}},
                "offset": {"name": "offset", "in": "query", "required": False,
                           "schema": {"type": "integer", "minimum": 0, "default": 0}},
                "bbox": {"name": "bbox", "in": "query", "required": False, "style": "form",
                         "explode": False,
                         "schema": {"type": "array", "minItems": 4, "maxItems": 4,
                                    "items": {"type": "number"}}},
                "datetime": {"name": "datetime", "in": "query", "required": False,
                             "style": "form", "explode": False, "schema": {"type": "string"}},
                "properties": {"name": "properties", "in": "query", "required": False,
                               "style": "form", "explode": True,
                               "description": "equality filters on the collection's "
                                              "queryables, e.g. family=prevention",
                               "schema": {"type": "object",
                                          "additionalProperties": {"type": "string"}}},
            },
            "schemas": {"Error": {"type": "object", "required": ["message"], "properties": {
                "message": {"type": "string"},
                "detail": {"type": "object", "properties": {
                    "code": {"type": "string"}, "description": {"type": "string"},
                    "parameter": {"type": "string"}}}}}},
        },
    }
