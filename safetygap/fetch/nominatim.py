"""The optional online geocoder of ``providers geocode --online``: Nominatim through geopy.

Off by default; asked only about the rows the local address-point layer could not place.
It follows the Nominatim usage policy (https://operations.osmfoundation.org/policies/
nominatim/): at most one request a second, an identifying user agent, and results cached
on disk so that no address is asked twice (the cache is a JSON file, the address text ->
the answer, or null for "not found"). ``url`` points it at another Nominatim server
(``SAFETYGAP_NOMINATIM_URL``, e.g. a city's own); the tests use a local stand-in.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from safetygap import __version__
from safetygap.inventory.geocode import MatchQuality

DEFAULT_URL = "https://nominatim.openstreetmap.org/"
USER_AGENT = f"safetygap/{__version__} (community-safety asset inventory)"
MIN_DELAY_S = 1.0
"""Seconds between two requests (the usage policy's maximum of one a second)."""
_ROAD_TYPES = {"road", "residential", "primary", "secondary", "tertiary", "unclassified",
               "trunk", "service", "living_street", "pedestrian"}


def answer_quality(raw: dict[str, Any]) -> MatchQuality:
    """The match quality a Nominatim answer supports: a house number is ``exact``, a road
    ``street_only``, anything coarser (a neighbourhood, a city) ``none``."""
    address = raw.get("address") or {}
    if address.get("house_number"):
        return MatchQuality.EXACT
    kind = str(raw.get("addresstype") or raw.get("type") or "")
    if raw.get("class") == "highway" or kind in _ROAD_TYPES:
        return MatchQuality.STREET_ONLY
    return MatchQuality.NONE


class NominatimGeocoder:
    """Callable: address text -> (quality, longitude, latitude, display name) or None."""

    def __init__(self, *, url: str | None = None, user_agent: str = USER_AGENT,
                 cache: str | os.PathLike | None = None, min_delay_s: float = MIN_DELAY_S,
                 timeout_s: float = 10.0, suffix: str = "") -> None:
        from geopy.geocoders import Nominatim

        parts = urlsplit(url or DEFAULT_URL)
        self.path = Path(cache) if cache is not None else None
        self.cache: dict[str, Any] = {}
        if self.path is not None and self.path.is_file():
            self.cache = json.loads(self.path.read_text("utf-8"))
        self.min_delay_s = max(float(min_delay_s), MIN_DELAY_S if parts.hostname ==
                               urlsplit(DEFAULT_URL).hostname else 0.0)
        self.suffix = suffix
        self.requests = 0
        self._last = 0.0
        self._lock = threading.Lock()
        domain = parts.netloc + parts.path.rstrip("/")
        self._client = Nominatim(user_agent=user_agent, domain=domain,
                                 scheme=parts.scheme or "https", timeout=timeout_s)

    def _ask(self, query: str) -> dict[str, Any] | None:
        with self._lock:
            wait = self._last + self.min_delay_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                loc = self._client.geocode(query, exactly_one=True, addressdetails=True)
            finally:
                self._last = time.monotonic()
                self.requests += 1
        return None if loc is None else dict(loc.raw)

    def __call__(self, text: str) -> tuple[MatchQuality, float, float, str] | None:
        query = f"{text}, {self.suffix}" if self.suffix else text
        if query in self.cache:
            raw = self.cache[query]
        else:
            raw = self._ask(query)
            self.cache[query] = raw
            self._save()
        if raw is None:
            return None
        return (answer_quality(raw), float(raw["lon"]), float(raw["lat"]),
                str(raw.get("display_name", "")))

    def _save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.cache, indent=1, sort_keys=True), "utf-8")
        os.replace(tmp, self.path)
