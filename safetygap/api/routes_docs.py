"""The API documentation page ``/docs`` (Swagger UI), served from the app's own
``/static/docs`` (see :mod:`safetygap.maps.assets`): FastAPI's default pages load their
scripts, styles, fonts and icon from other hosts and stay blank on a closed network.

There is no ``/redoc``: ReDoc's bundle always draws its maker's logo from
cdn.redoc.ly, a request to another host on every visit.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from safetygap.maps.assets import docs_url

router = APIRouter(include_in_schema=False)

SWAGGER_PARAMETERS = {"validatorUrl": None, "deepLinking": False}
"""Swagger UI options on top of FastAPI's defaults: no validator badge (its image comes
from validator.swagger.io); no deep links (a link inside each operation's toggle button
nests one control in another, which screen readers cannot reach)."""
A11Y_CSS = "/static/safetygap/docs-a11y.css"
"""Colours of Swagger UI with enough contrast (its own fail WCAG AA)."""


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: every route, its parameters and models, and a try-it form."""
    root = request.scope.get("root_path", "")
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} API",
        swagger_js_url=root + docs_url("swagger_js"),
        swagger_css_url=root + docs_url("swagger_css"),
        swagger_favicon_url=root + docs_url("favicon"),
        swagger_ui_parameters=SWAGGER_PARAMETERS)
    html = bytes(page.body).decode("utf-8")
    html = html.replace("<html>", '<html lang="en">', 1)
    css = f'<link type="text/css" rel="stylesheet" href="{root}{A11Y_CSS}">'
    html = html.replace("</head>", f"{css}\n</head>", 1)
    return HTMLResponse(html)

