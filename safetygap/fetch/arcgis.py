"""A small ArcGIS REST client: layer metadata, record counts and pages of features.

Only the standard library is used (``urllib``). Every request is retried on
timeouts, connection errors, HTTP 5xx and 429 answers, and on ArcGIS error
bodies with such codes (ArcGIS often answers errors with HTTP 200 and
``{"error": {"code": 500, ...}}``), waiting ``backoff_s * 2**attempt`` seconds
(capped at ``max_backoff_s``; a ``Retry-After`` header is honoured within
the cap) between attempts. Other HTTP 4xx answers and ArcGIS errors fail at
once with :class:`FetchError` naming the URL.

URLs: ``<base_url>/<layer>/FeatureServer/0`` is a layer,
``.../FeatureServer/0/query`` its query endpoint (see
``../shared/data/README.md`` for the City of Minneapolis services).
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from safetygap import __version__
from safetygap.errors import Problems

MINNEAPOLIS_BASE_URL = "https://services.arcgis.com/afSMGVsC7QlRK1kZ/arcgis/rest/services"
"""The City of Minneapolis ArcGIS Online organisation's REST services."""
MAX_PAGE_SIZE = 16_000
"""Largest page the city's services answer (their ``maxRecordCount``)."""
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class FetchError(RuntimeError):
    """A download failed for good (after retries, or on a non-retryable answer)."""


class _Retryable(Exception):
    """A transient failure: the request may be tried again."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``retries`` extra attempts after the first, exponential back-off."""

    retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        problems = Problems()
        if not (isinstance(self.retries, int) and self.retries >= 0):
            problems.add("retries", "must be a whole number >= 0", value=self.retries)
        for name in ("timeout_s", "backoff_s", "max_backoff_s"):
            v = getattr(self, name)
            if not (v > 0 if name == "timeout_s" else v >= 0):
                problems.add(name, "must be a number of seconds "
                             + ("> 0" if name == "timeout_s" else ">= 0"), value=v)
        problems.raise_if_any()

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        wait = self.backoff_s * (2.0 ** attempt)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_backoff_s)


class ArcGISClient:
    """Queries one ArcGIS REST services root, e.g. :data:`MINNEAPOLIS_BASE_URL`.

    ``sleep`` (default :func:`time.sleep`) and ``log`` (a callable taking one
    line of text; default: silent) are injectable so tests run without
    waiting and can read what was retried.
    """

    def __init__(
        self,
        base_url: str = MINNEAPOLIS_BASE_URL,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.log = log or (lambda _line: None)
        self.requests = 0  # HTTP requests made, retries included

    def layer_url(self, layer: str) -> str:
        """URL of feature layer 0 of the service ``layer``."""
        return f"{self.base_url}/{urllib.parse.quote(layer)}/FeatureServer/0"

    def query_url(self, layer: str) -> str:
        return f"{self.layer_url(layer)}/query"

    # ------------------------------------------------------------ requests

    def get_json(self, url: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """GET ``url?params`` and decode the JSON body, retrying transient failures."""
        full = f"{url}?{urllib.parse.urlencode(params)}"
        attempts = self.retry.retries + 1
        last = ""
        for attempt in range(attempts):
            try:
                return self._get_once(full)
            except _Retryable as exc:
                last = str(exc)
                if attempt == attempts - 1:
                    break
                wait = self.retry.delay(attempt, exc.retry_after)
                self.log(f"    {last}; retry {attempt + 1}/{self.retry.retries} "
                         f"in {wait:.1f} s")
                self.sleep(wait)
        raise FetchError(f"{full}: failed after {attempts} attempts: {last}. Are you "
                         "online? (--base-url points the download elsewhere)")

    def _get_once(self, full: str) -> dict[str, Any]:
        self.requests += 1
        req = urllib.request.Request(full, headers={
            "User-Agent": f"safetygap/{__version__} (+https://github.com/safetygap)",
            "Accept": "application/json, application/geo+json",
        })
        try:
            with urllib.request.urlopen(req, timeout=self.retry.timeout_s) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code in RETRYABLE_STATUS:
                raise _Retryable(f"HTTP {exc.code} {exc.reason}",
                                 _retry_after(exc.headers.get("Retry-After"))) from exc
            raise FetchError(f"{full}: HTTP {exc.code} {exc.reason}") from exc
        except TimeoutError as exc:
            raise _Retryable(f"timed out after {self.retry.timeout_s:g} s") from exc
        except urllib.error.URLError as exc:
            raise _Retryable(f"cannot connect: {exc.reason}") from exc
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            raise _Retryable(f"connection failed: {type(exc).__name__}: {exc}") from exc
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _Retryable(f"unreadable JSON answer ({len(body)} bytes)") from exc
        if not isinstance(data, dict):
            raise FetchError(f"{full}: expected a JSON object, got {type(data).__name__}")
        err = data.get("error")
        if isinstance(err, dict):
            code = err.get("code")
            text = f"ArcGIS error {code}: {err.get('message', '')} {err.get('details', '')}"
            if isinstance(code, int) and code in RETRYABLE_STATUS:
                raise _Retryable(text.strip())
            raise FetchError(f"{full}: {text.strip()}")
        return data

    # ----------------------------------------------------------- endpoints

    def layer_info(self, layer: str) -> dict[str, Any]:
        """The layer's metadata (``objectIdField``, ``maxRecordCount``, fields...)."""
        return self.get_json(self.layer_url(layer), {"f": "json"})

    def count(self, layer: str, where: str) -> int:
        """Number of records matching ``where``."""
        data = self.get_json(self.query_url(layer),
                             {"where": where, "returnCountOnly": "true", "f": "json"})
        if not isinstance(data.get("count"), int):
            raise FetchError(f"{self.query_url(layer)}: no record count in the answer "
                             f"(keys: {sorted(data)[:10]})")
        return int(data["count"])

    def page_params(self, *, where: str, offset: int, size: int,
                    order_by: str | None) -> dict[str, Any]:
        """The query parameters of one page (also recorded in the manifest)."""
        params: dict[str, Any] = {
            "where": where,
            "outFields": "*",
            "outSR": "4326",
            "f": "geojson",
            "resultOffset": offset,
            "resultRecordCount": size,
        }
        if order_by:
            params["orderByFields"] = f"{order_by} ASC"
        return params

    def page(self, layer: str, *, where: str, offset: int, size: int,
             order_by: str | None) -> tuple[list[dict[str, Any]], bool]:
        """One page of GeoJSON features and whether the server says more remain."""
        data = self.get_json(self.query_url(layer), self.page_params(
            where=where, offset=offset, size=size, order_by=order_by))
        features = data.get("features")
        if not isinstance(features, list):
            raise FetchError(f"{self.query_url(layer)}: the answer has no 'features' list")
        more = bool(data.get("exceededTransferLimit")
                    or (data.get("properties") or {}).get("exceededTransferLimit"))
        return features, more


def _retry_after(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None
