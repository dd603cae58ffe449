"""``GET /api/export.gpkg``: the published layers in one GeoPackage, styled for QGIS
(:mod:`safetygap.maps.gpkg`). Built once per workspace version and cached."""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Request, Response

from safetygap.api._errors import ERROR_RESPONSES
from safetygap.api.routes_api import View, summary_response
from safetygap.api.routes_ogc import sites_features
from safetygap.maps.gpkg import GPKG_MEDIA_TYPE

router = APIRouter()


def _filename(label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:60]
    return f"safetygap-{slug or 'workspace'}.gpkg"


@router.get("/api/export.gpkg", tags=["export"], responses={
    **ERROR_RESPONSES,
    200: {"description": "GeoPackage", "content": {GPKG_MEDIA_TYPE: {}}}})
def export_gpkg(request: Request, view: View) -> Response:
    """Every published layer (neighborhoods, wards, providers, call hexagons, the default
    proposed sites) in one GeoPackage (EPSG:4326), with the map's classes and colours in
    its ``layer_styles`` table (QGIS opens the layers styled) and the summary and the
    data-quality counts as attribute tables. The same privacy suppression as the maps.
    Built by a compute worker within the memory budget (``SAFETYGAP_MEMORY_BUDGET_MB``;
    past it 503 naming the setting) and ``SAFETYGAP_COMPUTE_TIMEOUT_S``."""
    def build() -> bytes:
        params = {"summary": json.loads(summary_response(view).body),
                  "sites": sites_features(request)}
        return request.app.state.compute.answer(
            view, "export_gpkg", params,
            timeout_s=request.app.state.settings.compute_timeout_s)

    body = view.cached(("export.gpkg",), build)
    return Response(body, media_type=GPKG_MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{_filename(view.label or "")}"'})
