"""Error responses: 422 names the parameter and what is allowed, 404 what was not found,
503 when the workspace cannot be read. Every error body is an ``ErrorResponse``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from safetygap.api._busy import RETRY_AFTER_S, ComputeBusy, OverBudget
from safetygap.api._store import WorkspaceUnavailable
from safetygap.api.models import ErrorResponse
from safetygap.errors import name_options
from safetygap.readmodel import UnknownArea

PARAM_SOURCES = ("query", "path", "header", "cookie")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown id", "model": ErrorResponse},
    422: {"description": "bad parameter: the message names it and the allowed values",
          "model": ErrorResponse},
    503: {"description": "the workspace cannot be read, or the server is busy computing "
                         "other new answers (Retry-After)", "model": ErrorResponse},
}


def param_error(name: str, message: str, value: Any, *, source: str = "query"
                ) -> RequestValidationError:
    """A 422 error about one request parameter."""
    return RequestValidationError([{"loc": (source, name), "msg": message,
                                    "type": "value_error", "input": value}])


EXCERPT_CHARS = 200
"""Longest excerpt of a sent value quoted in an error body, characters."""


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> Any:
    """``value`` when short; else the start of its text with the full length named."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return value
    return f"{text[:limit]}... ({len(text):,} characters)"


def _describe(error: dict[str, Any]) -> str:
    loc = [str(x) for x in error.get("loc", ())]
    if len(loc) >= 2 and loc[0] in PARAM_SOURCES:
        where = f"{loc[0]} parameter {loc[-1]!r}"
    else:
        where = ".".join(loc) or "request"
    text = f"{where}: {error.get('msg', 'invalid')}"
    if error.get("input") is not None:
        text += f" (got {error['input']!r})"
    return text


FIELD_OF_OPTION: dict[str, str] = {"providers_crs": "crs", "candidates_crs": "crs"}
"""Options of the core that the API's requests call otherwise (the CRS of the rows sent)."""


def as_fields(text: str) -> str:
    """A message of the core with the options it names shown as the API's fields."""
    return name_options(text, lambda name: f"`{FIELD_OF_OPTION.get(name, name)}`")


def _error(status: int, message: str, detail: Any,
           headers: dict[str, str] | None = None) -> JSONResponse:
    message = as_fields(message)
    if isinstance(detail, str):
        detail = as_fields(detail)
    return JSONResponse(status_code=status, content={"message": message, "detail": detail},
                        headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error a clear ``message``."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: excerpt(v) if k in ("input", "msg") else v for k, v in e.items()
                   if k in ("loc", "msg", "type", "input")} for e in exc.errors()[:50]]
        errors = jsonable_encoder(errors)
        return _error(422, "; ".join(_describe(e) for e in errors), errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail  # a dict from the OGC API routes: code, description, parameter
        message = (str(detail.get("description", detail)) if isinstance(detail, dict)
                   else str(detail))
        return _error(exc.status_code, message, detail if isinstance(detail, dict)
                      else message, getattr(exc, "headers", None))

    @app.exception_handler(UnknownArea)
    async def _unknown(request: Request, exc: UnknownArea) -> JSONResponse:
        msg = (f"no {exc.level} with id {exc.area_id!r}; ids look like "
               f"{', '.join(repr(i) for i in exc.examples)}; see /api/{exc.level}s")
        return _error(404, msg, msg)

    @app.exception_handler(ComputeBusy)
    async def _busy(request: Request, exc: ComputeBusy) -> JSONResponse:
        return _error(503, str(exc), str(exc), {"Retry-After": str(RETRY_AFTER_S)})

    @app.exception_handler(OverBudget)
    async def _over_budget(request: Request, exc: OverBudget) -> JSONResponse:
        return _error(503, str(exc), str(exc))

    @app.exception_handler(WorkspaceUnavailable)
    async def _unavailable(request: Request, exc: WorkspaceUnavailable) -> JSONResponse:
        return _error(503, str(exc), str(exc))
