"""A local stand-in for the ArcGIS REST API on 127.0.0.1, for the fetch tests.

It serves layers at ``<base>/<layer>/FeatureServer/0`` (``?f=json`` metadata) and
``.../query`` (``where``, ``returnCountOnly``, ``resultOffset``,
``resultRecordCount``, ``orderByFields``, ``f=geojson``), answering like the
city's services: pages capped at the layer's ``maxRecordCount``,
``exceededTransferLimit`` in the GeoJSON ``properties`` while more records
remain, errors as HTTP 200 with an ``{"error": ...}`` body. It counts every
page request per (layer, offset), and can fail a given page once: ``"503"``
(HTTP 503), ``"drop"`` (closes the connection without answering),
``"timeout"`` (answers too late), ``"arcgis500"`` (an ArcGIS error body) or
``"truncated"`` (half a body). ``"always503"`` fails the page every time.

The records are built from the real files in ../shared/data/minneapolis by
:func:`minneapolis_layers`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pandas as pd

WHERE_YEARS = re.compile(
    r"^(\w+) >= TIMESTAMP '([\d\- :]+)' AND \1 < TIMESTAMP '([\d\- :]+)'$")


@dataclass
class FakeLayer:
    features: list[dict[str, Any]]
    oid: str = "OBJECTID"
    max_record_count: int = 16_000
    advertise_max: bool = True  # put maxRecordCount in the layer metadata


@dataclass
class FakeArcGIS:
    layers: dict[str, FakeLayer]
    fail_once: dict[tuple[str, int], str] = field(default_factory=dict)
    timeout_delay_s: float = 1.5
    page_hits: Counter = field(default_factory=Counter)
    other_hits: Counter = field(default_factory=Counter)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/arcgis/rest/services"

    def start(self) -> FakeArcGIS:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                # the client may have given up already (timeout test)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ----------------------------------------------------------------- serving

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        m = re.fullmatch(r"/arcgis/rest/services/([^/]+)/FeatureServer/0(/query)?", url.path)
        if not m or unquote(m.group(1)) not in self.layers:
            self._send(h, 404, {"error": {"code": 404, "message": "not found"}})
            return
        name = unquote(m.group(1))
        layer = self.layers[name]
        if not m.group(2):
            with self._lock:
                self.other_hits[(name, "info")] += 1
            info: dict[str, Any] = {"name": name, "objectIdField": layer.oid,
                                    "advancedQueryCapabilities": {"supportsPagination": True}}
            if layer.advertise_max:
                info["maxRecordCount"] = layer.max_record_count
            self._send(h, 200, info)
            return
        rows = _filter(layer.features, q.get("where", ""))
        if rows is None:
            self._send(h, 200, {"error": {"code": 400, "message": "Unable to complete "
                                          "operation.", "details": ["invalid where clause"]}})
            return
        if q.get("returnCountOnly") == "true":
            with self._lock:
                self.other_hits[(name, "count")] += 1
            self._send(h, 200, {"count": len(rows)})
            return
        offset = int(q.get("resultOffset", 0))
        size = min(int(q.get("resultRecordCount", layer.max_record_count)),
                   layer.max_record_count)
        with self._lock:
            self.page_hits[(name, offset)] += 1
            mode = self.fail_once.get((name, offset))
            if mode and mode != "always503":
                del self.fail_once[(name, offset)]
        if q.get("orderByFields"):
            rows = sorted(rows, key=lambda f: f["properties"][layer.oid])
        page = rows[offset:offset + size]
        body: dict[str, Any] = {"type": "FeatureCollection", "features": page}
        if offset + size < len(rows):
            body["properties"] = {"exceededTransferLimit": True}
        if mode in ("503", "always503"):
            h.send_response(503)
            h.send_header("Retry-After", "0")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if mode == "drop":
            h.close_connection = True
            return
        if mode == "timeout":
            time.sleep(self.timeout_delay_s)
        if mode == "arcgis500":
            self._send(h, 200, {"error": {"code": 500, "message": "Error performing query"}})
            return
        if mode == "truncated":
            data = json.dumps(body).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/geo+json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.close_connection = True
            return
        self._send(h, 200, body)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)


def _epoch_ms(text: str) -> int:
    t = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1000)


def _filter(rows: list[dict[str, Any]], where: str) -> list[dict[str, Any]] | None:
    where = where.strip()
    if where in ("", "1=1"):
        return rows
    m = WHERE_YEARS.match(where)
    if not m:
        return None
    fld, lo, hi = m.group(1), _epoch_ms(m.group(2)), _epoch_ms(m.group(3))
    return [f for f in rows
            if f["properties"].get(fld) is not None and lo <= f["properties"][fld] < hi]


# ------------------------------------------------------- layers from the real files


def _geojson_features(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def incidents_as_911(shared: Path) -> list[dict[str, Any]]:
    """The 2021 police incidents as records of the 911 layer, plus the 13-row 911 sample.

    Incident -> 911 fields: ``caseNumber`` -> ``Master_Incident_Number``, ``description``
    + " (P)" -> ``Problem__Final_`` (the police suffix), ``reportedDateTime`` -> epoch ms
    of the same wall-clock time labelled UTC -> ``Response_Date``, ``centerLat/Long`` ->
    ``Latitude/Longitude`` (0,0 kept, with no geometry), ``Agency_Type`` POLICE.
    """
    inc = pd.read_csv(shared / "incidents" / "Police_Incidents_2021_Jan-May.csv",
                      encoding="utf-8-sig")
    when = pd.to_datetime(inc["reportedDateTime"].str.replace("+00", "", regex=False),
                          format="%Y/%m/%d %H:%M:%S")
    epoch = (when - pd.Timestamp("1970-01-01")) // pd.Timedelta(milliseconds=1)
    out = []
    for i, r in enumerate(inc.itertuples()):
        lon, lat = float(r.centerLong), float(r.centerLat)
        problem = f"{str(r.description).strip()} (P)"
        out.append({
            "type": "Feature",
            "id": i + 1,
            "geometry": None if lon == 0 and lat == 0 else
            {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "OBJECTID": i + 1,
                "Master_Incident_Number": str(r.caseNumber).strip(),
                "Agency_Type": "POLICE",
                "Initial_Problem": problem,
                "Problem__Final_": problem,
                "Response_Date": int(epoch.iat[i]),
                "Latitude": lat,
                "Longitude": lon,
                "Neighborhood__GIS_": r.neighborhood if isinstance(r.neighborhood, str)
                else None,
            },
        })
    sample = pd.read_csv(shared / "api-samples" / "incidents_reported_911_sample_13rows.csv")
    for rec in sample.to_dict(orient="records"):
        props = {k: (None if isinstance(v, float) and pd.isna(v) else v)
                 for k, v in rec.items() if k not in ("geom_x", "geom_y")}
        props["OBJECTID"] = int(props["OBJECTID"])
        props["Response_Date"] = int(props["Response_Date"])
        out.append({
            "type": "Feature",
            "id": props["OBJECTID"],
            "geometry": {"type": "Point", "coordinates": [rec["geom_x"], rec["geom_y"]]},
            "properties": props,
        })
    return out


def minneapolis_layers(shared: Path, *, page_cap: int = 16_000) -> dict[str, FakeLayer]:
    """The city's services as this module serves them, from the real files.

    The current wards are not in the shared data: the 2012-2022 wards stand in
    (object id ``FID`` as in that file, so the client must read it from the metadata).
    """
    b = shared / "boundaries"
    return {
        "Minneapolis_Neighborhoods": FakeLayer(
            _geojson_features(b / "Minneapolis_Neighborhoods.geojson"), "OBJECTID", page_cap),
        "CityCouncilWards_WebEOC": FakeLayer(
            _geojson_features(b / "City_Council_Wards_2012-2022.geojson"), "FID", page_cap),
        "Minneapolis_Communities": FakeLayer(
            _geojson_features(b / "Minneapolis_Communities.geojson"), "FID", page_cap),
        "Police_Precincts": FakeLayer(
            _geojson_features(b / "Minneapolis_Police_Precincts.geojson"), "OBJECTID", page_cap),
        "Incidents_Reported_911": FakeLayer(incidents_as_911(shared), "OBJECTID", page_cap),
    }
