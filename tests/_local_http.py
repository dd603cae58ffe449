"""A threaded HTTP server on 127.0.0.1 (a free port) for the stand-ins of remote services."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handle = Callable[[BaseHTTPRequestHandler], None]


def serve_local(handle: Handle) -> ThreadingHTTPServer:
    """Start a server answering every GET and POST with ``handle(request)``; the client
    hanging up early (a timeout test) is ignored. Stop it with :func:`stop`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _answer(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                handle(self)

        do_GET = _answer
        do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
