"""A local stand-in for Nominatim and the Overpass API on 127.0.0.1, for `network fetch`.

It answers the three requests OSMnx makes to download a place's streets:

``GET /nominatim/search?q=...&format=json&polygon_geojson=1``
    a JSON list with one result whose ``geojson`` is the place's polygon (an empty
    list for any other ``q``), like Nominatim;
``GET /api/status``
    the plain-text status page of an Overpass server with slots available;
``POST /api/interpreter`` (form field ``data``: the Overpass QL query)
    the hand-made OSM data below in Overpass' JSON output format.

Tinytown, a plus-shaped crossing near downtown Minneapolis (EPSG:4326)::

                 N (12)                 four 200 m arms from the centre C (node 1),
                   |  (11)              each with one shaping node half-way (11, 21,
    W (32)-(31)- C (1) -(41)->-E (42)   31, 41); the east arm is one-way (C -> E);
                   |  (21)              a separate 100 m street (51-52) in the north-
                 S (22)                 east corner touches nothing.

OSMnx simplifies the shaping nodes away and keeps the largest connected part, so the
GraphML must hold 5 nodes (1, 12, 22, 32, 42) and 7 edges (both directions of the
north, south and west arms; C -> E only), each about 200 m long.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from _local_http import serve_local, stop

PLACE = "Tinytown, Minnesota"
LON0, LAT0 = -93.2650, 44.9778
ARM_M = 200.0
M_PER_DEG_LAT = 111_320.0
M_PER_DEG_LON = M_PER_DEG_LAT * math.cos(math.radians(LAT0))


def _ll(east_m: float, north_m: float) -> tuple[float, float]:
    return LON0 + east_m / M_PER_DEG_LON, LAT0 + north_m / M_PER_DEG_LAT


NODES: dict[int, tuple[float, float]] = {
    1: _ll(0, 0),
    11: _ll(0, 100), 12: _ll(0, 200),
    21: _ll(0, -100), 22: _ll(0, -200),
    31: _ll(-100, 0), 32: _ll(-200, 0),
    41: _ll(100, 0), 42: _ll(200, 0),
    51: _ll(300, 300), 52: _ll(400, 300),
}
WAYS: list[dict[str, Any]] = [
    {"id": 101, "nodes": [1, 11, 12], "tags": {"highway": "residential", "name": "North St"}},
    {"id": 102, "nodes": [1, 21, 22], "tags": {"highway": "residential", "name": "South St"}},
    {"id": 103, "nodes": [1, 31, 32], "tags": {"highway": "residential", "name": "West St"}},
    {"id": 104, "nodes": [1, 41, 42], "tags": {"highway": "tertiary", "oneway": "yes",
                                               "name": "East Ave"}},
    {"id": 105, "nodes": [51, 52], "tags": {"highway": "residential", "name": "Lone Ln"}},
]
KEPT_NODES = {1, 12, 22, 32, 42}
EDGES = {(1, 12), (12, 1), (1, 22), (22, 1), (1, 32), (32, 1), (1, 42)}

# the place: a box around everything, with a 500 m margin
_W, _S = _ll(-700, -700)
_E, _N = _ll(900, 800)
PLACE_POLYGON = {"type": "Polygon",
                 "coordinates": [[[_W, _S], [_E, _S], [_E, _N], [_W, _N], [_W, _S]]]}

OVERPASS_STATUS = (
    "Connected as: 2130706433\n"
    "Current time: 2025-01-01T00:00:00Z\n"
    "Announced endpoint: none\n"
    "Rate limit: 2\n"
    "2 slots available now.\n"
    "Currently running queries (pid, space limit, time limit, start time):\n"
)


def nominatim_result() -> dict[str, Any]:
    return {
        "place_id": 1, "licence": "test", "osm_type": "relation", "osm_id": 900001,
        "boundingbox": [str(_S), str(_N), str(_W), str(_E)],
        "lat": str(LAT0), "lon": str(LON0), "display_name": PLACE,
        "class": "boundary", "type": "administrative", "importance": 0.6,
        "geojson": PLACE_POLYGON,
    }


def overpass_answer() -> dict[str, Any]:
    elements: list[dict[str, Any]] = [
        {"type": "node", "id": i, "lat": lat, "lon": lon} for i, (lon, lat) in NODES.items()]
    elements += [{"type": "way", **w} for w in WAYS]
    return {"version": 0.6, "generator": "Overpass API (test)",
            "osm3s": {"timestamp_osm_base": "2025-01-01T00:00:00Z"}, "elements": elements}


@dataclass
class FakeOSM:
    """The server; ``requests`` records (method, path, query or form fields)."""

    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    answer: dict[str, Any] | None = None  # Overpass answer instead of Tinytown's streets
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def root(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def nominatim_url(self) -> str:
        return f"{self.root}/nominatim/"

    @property
    def overpass_url(self) -> str:
        return f"{self.root}/api"

    def start(self) -> FakeOSM:
        self._server = serve_local(self._handle)
        return self

    def stop(self) -> None:
        stop(self._server)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = urlparse(h.path).path
        if h.command == "POST":
            n = int(h.headers.get("Content-Length") or 0)
            fields = parse_qs(h.rfile.read(n).decode())
        else:
            fields = parse_qs(urlparse(h.path).query)
        with self._lock:
            self.requests.append((h.command, path, fields))
        if h.command == "GET" and path == "/nominatim/search":
            hits = [nominatim_result()] if fields.get("q") == [PLACE] else []
            self._send(h, 200, json.dumps(hits), "application/json")
        elif h.command == "GET" and path == "/api/status":
            self._send(h, 200, OVERPASS_STATUS, "text/plain")
        elif h.command == "POST" and path == "/api/interpreter":
            self._send(h, 200, json.dumps(self.answer or overpass_answer()), "application/json")
        else:
            self._send(h, 404, json.dumps({"error": f"no {h.command} {path}"}),
                       "application/json")

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: str, ctype: str) -> None:
        data = body.encode()
        h.send_response(status)
        h.send_header("Content-Type", f"{ctype}; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
