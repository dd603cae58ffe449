"""A local stand-in for a Nominatim server on 127.0.0.1 (``GET /search``), for the online
geocoder of ``providers geocode --online``. ``answers`` maps a query (``q``) to the JSON
result list to send; any other query gets ``[]``. ``requests`` records each (query,
user agent, monotonic time)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from _local_http import serve_local, stop


@dataclass
class FakeNominatim:
    answers: dict[str, list[dict[str, Any]]]
    requests: list[tuple[str, str, float]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> FakeNominatim:
        self._server = serve_local(self._handle)
        return self

    def stop(self) -> None:
        stop(self._server)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        q = parse_qs(url.query).get("q", [""])[0]
        self.requests.append((q, h.headers.get("User-Agent", ""), time.monotonic()))
        body = json.dumps(self.answers.get(q, []) if url.path == "/search" else {}).encode()
        h.send_response(200 if url.path == "/search" else 404)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
