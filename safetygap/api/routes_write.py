"""Write routes: upload datasets and re-run the analysis (bearer token required).

``POST /api/datasets`` stores an uploaded file (see :mod:`safetygap.api._uploads`);
``POST /api/analyses`` starts a re-run in the background (one at a time, 409
while one runs) that builds a new workspace version beside the served one and
swaps it in atomically (:mod:`safetygap.versions`); ``GET`` on both, and on
``/api/analyses/{id}``, is public like every read route.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError as PydanticValidationError
from starlette.datastructures import UploadFile

from safetygap.api._auth import AUTH_RESPONSES, Authorized
from safetygap.api._errors import as_fields
from safetygap.api._jobs import Rerunner
from safetygap.api._limits import LimitedReceive, declared_length
from safetygap.api._uploads import (
    KINDS,
    MULTIPART_SLACK,
    SUFFIXES,
    DatasetRejected,
    DatasetStore,
    StorageUnavailable,
    UploadTooLarge,
    upload_limit_message,
    validate_bounded,
)
from safetygap.api.models import ErrorResponse
from safetygap.api.models_write import AnalysisJob, AnalysisRequest, DatasetInfo, DatasetList
from safetygap.settings import Settings
from safetygap.versions import RerunBusy

router = APIRouter(tags=["write"])
UPLOAD_PATH = "/api/datasets"

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["kind", "file"],
            "properties": {
                "kind": {"type": "string", "enum": list(KINDS),
                         "description": "what the file is"},
                "file": {"type": "string", "format": "binary",
                         "description": "the file; accepted suffixes per kind: " + "; ".join(
                             f"{k} {', '.join(v)}" for k, v in SUFFIXES.items())},
            },
        }}},
    }
}


def install_write_routes(app: FastAPI, served: Path, settings: Settings) -> None:
    """Attach the data directory, the re-run worker and the write routes to ``app``."""
    data_dir = settings.data_dir or Path(served).resolve().parent / "uploads"
    app.state.datasets = DatasetStore(data_dir)
    app.state.rerunner = Rerunner(Path(served))
    app.include_router(router)


@contextlib.asynccontextmanager
async def write_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Kill a running re-run when the server stops (the active version is untouched)."""
    yield
    rerunner = getattr(app.state, "rerunner", None)
    if rerunner is not None:
        rerunner.stop()


def _error_body(status: int, message: str, problems: list[str] | None = None) -> JSONResponse:
    """An ``ErrorResponse``; ``detail`` has one problem per line."""
    message = as_fields(message)
    return JSONResponse(status_code=status, content={
        "message": message,
        "detail": as_fields("\n".join(problems)) if problems else message})


@router.post(UPLOAD_PATH, status_code=201, response_model=DatasetInfo,
             openapi_extra=UPLOAD_BODY, responses={
                 **AUTH_RESPONSES,
                 400: {"description": "malformed multipart body (e.g. more than one file)",
                       "model": ErrorResponse},
                 415: {"description": "not a multipart/form-data body",
                       "model": ErrorResponse},
                 413: {"description": "the file passed the upload limit, or decompresses "
                                      "past its limit", "model": ErrorResponse},
                 503: {"description": "the data directory cannot store the upload (full or "
                                      "read-only); nothing was stored", "model": ErrorResponse},
                 422: {"description": "bad kind, suffix or file: the message names the file, "
                                      "column and value", "model": ErrorResponse}})
async def upload_dataset(request: Request, _: Authorized) -> JSONResponse:
    """Upload a calls, providers, neighborhoods, wards or population file, a diversion
    rule set (TOML, docs/TAXONOMY.md; replaces the rules at the next re-run) or a file of
    diverted records from outside 911 (``reports``: 311 / online reports) (multipart
    form: ``kind`` and ``file``). The file is streamed to disk (never held in memory), checked
    with the readers of the analysis and stored under a server-chosen name; the next
    ``POST /api/analyses`` uses it. 413 past ``SAFETYGAP_MAX_UPLOAD_MB``."""
    limit = int(request.app.state.settings.max_upload_mb * 1e6)
    message = upload_limit_message(limit)
    length = declared_length(request.scope)
    if length is not None and length > limit + MULTIPART_SLACK:
        raise HTTPException(413, message)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "send a multipart/form-data body with fields 'kind' and "
                                 "'file'")
    counted = Request(request.scope, LimitedReceive(request.receive, limit + MULTIPART_SLACK,
                                                    message))
    form = await counted.form(max_files=1, max_fields=2)
    try:
        kind, upload = form.get("kind"), form.get("file")
        problems = []
        if kind not in KINDS:
            problems.append(f"field 'kind': must be one of {', '.join(KINDS)} (got {kind!r})")
        if not isinstance(upload, UploadFile):
            problems.append("field 'file': missing (send the file as a multipart file part)")
        if problems:
            return _error_body(422, "; ".join(problems), problems)
        assert isinstance(upload, UploadFile) and isinstance(kind, str)
        served = request.app.state.store
        inputs = served.view().workspace.manifest.get("inputs", {})
        # the analysis' other inputs are named by their file names in messages
        hidden = {str(v["path"]): Path(str(v["path"])).name for v in inputs.values()
                  if isinstance(v, dict) and v.get("path")}
        expanded = int(request.app.state.settings.max_decompressed_mb * 1e6)
        store: DatasetStore = request.app.state.datasets
        try:
            record = await run_in_threadpool(
                store.add, kind, upload.file, upload.filename or "", limit=limit,
                validate=lambda p: validate_bounded(
                    kind, p, served.path, max_decompressed_bytes=expanded,
                    memory_mb=request.app.state.settings.max_upload_memory_mb),
                hidden=hidden)
        except UploadTooLarge as exc:
            return _error_body(413, exc.message or message)
        except DatasetRejected as exc:
            return _error_body(422, f"{kind} file rejected: {exc}", exc.problems)
        except StorageUnavailable as exc:
            return _error_body(503, str(exc))
    finally:
        await form.close()
    return JSONResponse(status_code=201,
                        content=DatasetInfo.model_validate(record).model_dump(mode="json"))


@router.get(UPLOAD_PATH, response_model=DatasetList)
def list_datasets(request: Request) -> DatasetList:
    """Stored uploads, oldest first, and the newest of each kind (what a re-run uses)."""
    store: DatasetStore = request.app.state.datasets
    return DatasetList(datasets=[DatasetInfo.model_validate(d) for d in store.list()],
                       latest={k: d["id"] for k, d in store.latest().items()})


ANALYSIS_BODY: dict[str, Any] = {
    "requestBody": {"required": False, "content": {
        "application/json": {"schema": AnalysisRequest.model_json_schema()}}},
}


@router.post("/api/analyses", status_code=202, response_model=AnalysisJob,
             openapi_extra=ANALYSIS_BODY, responses={
                 **AUTH_RESPONSES,
                 409: {"description": "a re-run is already running", "model": ErrorResponse},
                 413: {"description": "body too large", "model": ErrorResponse},
                 503: {"description": "the workspace directory cannot be written",
                       "model": ErrorResponse},
                 422: {"description": "bad body, unknown dataset id or wrong kind",
                       "model": ErrorResponse}})
async def start_analysis(request: Request, _: Authorized) -> JSONResponse:
    """Re-run the analysis in the background on the current datasets: per kind, the
    dataset named in ``datasets``, else the newest upload, else the file of the served
    analysis. The new workspace is built beside the served one and swapped in atomically
    when complete; readers never see a partial one. Poll ``GET /api/analyses/{id}``.
    The body (optional) is read only after the token is checked."""
    raw = await request.body()
    try:
        body = AnalysisRequest.model_validate_json(raw) if raw.strip() else AnalysisRequest()
    except PydanticValidationError as exc:
        problems = [f"body {'.'.join(str(x) for x in e['loc']) or '(JSON)'}: {e['msg']}"
                    for e in exc.errors()]
        return _error_body(422, "; ".join(problems), problems)
    store: DatasetStore = request.app.state.datasets
    chosen = dict(store.latest()) if body.use_uploads else {}
    problems = []
    for kind, dataset_id in body.datasets.items():
        record = store.get(dataset_id)
        if record is None or record["kind"] != kind:
            problems.append(f"datasets.{kind}: no {kind} dataset with id {dataset_id!r} "
                            f"(see GET /api/datasets)")
        else:
            chosen[kind] = record
    if problems:
        return _error_body(422, "; ".join(problems), problems)
    try:
        job = await run_in_threadpool(request.app.state.rerunner.start,
                                      {k: store.path_of(d) for k, d in chosen.items()},
                                      {k: d["id"] for k, d in chosen.items()})
    except RerunBusy as exc:
        return _error_body(409, str(exc))
    except OSError as exc:  # e.g. a read-only workspace directory (no lock file)
        return _error_body(503, f"cannot start a re-run of {request.app.state.store.path}: "
                                f"{exc}")
    return JSONResponse(status_code=202, content=AnalysisJob(**job.to_dict()).model_dump(),
                        headers={"Location": f"/api/analyses/{job.id}"})


@router.get("/api/analyses/{job_id}", response_model=AnalysisJob,
            responses={404: {"description": "unknown job id", "model": ErrorResponse}})
def analysis_status(request: Request,
                    job_id: Annotated[str, PathParam(description="job id")]) -> AnalysisJob:
    """The state of a re-run: running, succeeded (with the version now served) or failed
    (with the error). Jobs are kept in memory; a restarted server forgets them."""
    job = request.app.state.rerunner.get(job_id)
    if job is None:
        raise HTTPException(404, f"no re-run with id {job_id!r}")
    return AnalysisJob(**job.to_dict())
