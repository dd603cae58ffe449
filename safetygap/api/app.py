"""The FastAPI application that serves a workspace: JSON/GeoJSON API, map pages, assets.

``create_app(workspace)`` builds the app; ``serve_workspace(workspace)`` runs
it with uvicorn (what ``safetygap serve`` and ``safetygap demo`` call).
"""

from __future__ import annotations

import errno
import gc
import os
import socket
from concurrent.futures import wait
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from safetygap import __version__
from safetygap.api._compute import RESULT_TIMEOUT_S, ComputePool
from safetygap.api._connections import guarded_protocol
from safetygap.api._errors import install_error_handlers
from safetygap.api._limits import BodyLimitMiddleware
from safetygap.api._public import PublicResponseMiddleware, security_headers, server_roots
from safetygap.api._replay import ReplayCache, ReplayMiddleware
from safetygap.api._scenarios import ScenarioStore
from safetygap.api._store import WorkspaceHeaderMiddleware, WorkspaceStore
from safetygap.api.routes_write import UPLOAD_PATH, install_write_routes, write_lifespan
from safetygap.errors import ValidationError
from safetygap.maps.assets import STATIC_PREFIX, asset_dirs
from safetygap.maps.gap_map import MapOptions
from safetygap.settings import Settings, get_settings
from safetygap.workspace import Workspace

DESCRIPTION = """\
Where a city's community-safety services fall short: calls for service and
providers joined to neighborhoods and wards, coverage, accessibility and gap
indices per family of services (response, prevention, restoration).

Layers are GeoJSON in EPSG:4326; measures are ``<measure>_<family>`` properties
(rates per 1,000 residents per year, shares in 0..1, distances in metres). Reach
follows the analysis' distance model: catchments are metres straight-line or
travel minutes on a street network (``distance_model``, ``catchment_unit``).
Bad parameters answer 422 with a message naming the parameter and the allowed
values; unknown ids answer 404. Maps: ``/``, ``/maps/gaps`` and ``/maps/sites``.

Read routes are public. The write routes (``POST /api/datasets``, ``POST
/api/analyses``) need ``Authorization: Bearer <token>`` with the server's
``SAFETYGAP_API_TOKEN`` (401 without it; 403 when the server has none set). Siting
(``/api/sites``) and what-if (``POST /api/scenarios``) are read-only: they compute
on the served workspace, never change it and store nothing, so they are public.
Every response built from the workspace carries ``X-Safetygap-Workspace``: the
checksum of the manifest of the analysis that answered.
"""


def create_app(workspace: str | os.PathLike, *, settings: Settings | None = None) -> FastAPI:
    """The app serving ``workspace`` (read-only; read again when its manifest changes).

    Raises :class:`~safetygap.errors.ValidationError` when ``workspace`` is not
    a complete workspace.
    """
    settings = settings or get_settings()
    path = Path(workspace)
    Workspace.open(path)  # fail early with a clear message
    # docs_url/redoc_url None: FastAPI's own pages load Swagger UI and ReDoc from a CDN;
    # routes_docs serves Swagger UI from the app's /static/docs instead
    app = FastAPI(title="safetygap", version=__version__, description=DESCRIPTION,
                  lifespan=write_lifespan, docs_url=None, redoc_url=None)
    app.state.store = WorkspaceStore(path, privacy_min_count=settings.privacy_min_count)
    app.state.replay = ReplayCache()
    app.add_middleware(BodyLimitMiddleware, exempt=(UPLOAD_PATH,))
    app.add_middleware(WorkspaceHeaderMiddleware)
    app.add_middleware(PublicResponseMiddleware, tiles=settings.tiles,
                       roots=server_roots([path, path.parent, settings.data_dir]))
    app.add_middleware(ReplayMiddleware, store=app.state.store, cache=app.state.replay)
    app.state.compute = ComputePool(0)  # in this process; serve_workspace starts workers
    app.state.scenarios = ScenarioStore(app.state.store)
    app.state.settings = settings
    app.state.map_options = MapOptions(tiles=settings.tiles,
                                       attribution=settings.tiles_attribution)
    for name, directory in asset_dirs().items():
        app.mount(f"{STATIC_PREFIX}/{name}", StaticFiles(directory=directory),
                  name=f"static-{name}")
    install_error_handlers(app)
    from safetygap.api.routes_api import router as api_router
    from safetygap.api.routes_diversion import router as diversion_router
    from safetygap.api.routes_docs import router as docs_router
    from safetygap.api.routes_equity import router as equity_router
    from safetygap.api.routes_export import router as export_router
    from safetygap.api.routes_ogc import router as ogc_router
    from safetygap.api.routes_pages import router as pages_router
    from safetygap.api.routes_sites import router as sites_router

    app.include_router(api_router)
    app.include_router(diversion_router)
    app.include_router(equity_router)
    app.include_router(pages_router)
    app.include_router(sites_router)
    app.include_router(docs_router)
    app.include_router(ogc_router)
    app.include_router(export_router)
    install_write_routes(app, path, settings)
    return app


def check_address(host: str, port: int) -> None:
    """Raise :class:`~safetygap.errors.ValidationError` unless the server can listen on
    ``host``:``port`` (bound and released at once): a host that is no address of this
    machine and a port in use are told apart."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except (socket.gaierror, UnicodeError) as exc:
            raise ValidationError(
                f"host {host!r} is not a name or address this machine can resolve "
                f"({getattr(exc, 'strerror', None) or exc}); give --host or SAFETYGAP_HOST "
                "an address such as 127.0.0.1 (this machine only) or 0.0.0.0 (every "
                "interface)") from exc
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise ValidationError(
                    f"host {host!r} is not an address of this machine; give --host or "
                    "SAFETYGAP_HOST one of its addresses, e.g. 127.0.0.1 or 0.0.0.0"
                ) from exc
            why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc})"
            raise ValidationError(f"port {port} on {host} {why}; pick another with "
                                  f"--port or SAFETYGAP_PORT") from exc


def freeze_heap() -> None:
    """Collect once, then keep every object alive now (the workspace read and warmed) out
    of the garbage collector's sight (``gc.freeze``). Without it, a full collection walks
    the workspace's object columns (hundreds of thousands of calls) and stalls every
    request for 0.3-1.4 s on the demo city now and then. A workspace read again later is
    frozen in its turn (:meth:`safetygap.api._store.WorkspaceStore.current`)."""
    gc.collect()
    gc.freeze()


def serve_workspace(workspace: str | os.PathLike, *, host: str | None = None,
                    port: int | None = None) -> None:
    """Serve ``workspace`` with uvicorn until interrupted; prints the address first."""
    import uvicorn

    settings = get_settings(host=host, port=port)
    app = create_app(workspace, settings=settings)
    print(f"reading workspace {Path(workspace).resolve()} ...", flush=True)
    from safetygap.api.routes_api import warm_map_layers
    from safetygap.maps.pages import warm_up

    view = app.state.store.view()
    # new hexagon sizes and layers are computed in worker processes (api/_compute.py);
    # they read the workspace while this process warms its own view, and the server
    # listens once both are done, so no first visit shares the machine with them
    app.state.compute = ComputePool(settings.compute_workers,
                                    memory_mb=settings.memory_budget_mb)
    warming = app.state.compute.start(view)
    try:
        warm_up(view, tolerance_m=app.state.map_options.tolerance_m)
        warm_map_layers(view, tolerance_m=app.state.map_options.tolerance_m)
        check_address(settings.host, settings.port)
        wait(warming, timeout=RESULT_TIMEOUT_S)
        freeze_heap()
        shown = f"[{settings.host}]" if ":" in settings.host else settings.host
        print(f"\nsafetygap is serving the maps at http://{shown}:{settings.port}/ "
              f"(API docs at /docs; Ctrl+C to stop)", flush=True)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    http=guarded_protocol(read_timeout_s=settings.read_timeout_s,
                                          max_connections=settings.max_connections,
                                          parser=settings.http_parser,
                                          headers=security_headers(settings.tiles)),
                    timeout_keep_alive=settings.keepalive_timeout_s)
    finally:
        app.state.compute.stop()
