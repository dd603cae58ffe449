"""Cached answers sent again as they were, without the app's routing.

A route whose answer depends only on its path, its query string and the workspace version
(an answer the view caches: :func:`safetygap.api.routes_api.cached_async` and the helpers
built on it) marks its response with the header :data:`REPLAYABLE`.
:class:`ReplayMiddleware`, the outermost of the app's own middleware, keeps such a
response whole as it went to the client (status, every header, body), keyed by the
manifest checksum of the workspace version that answered, the path and the raw query
string; the next ``GET`` of the same path and query, while that version is still the one
served, gets those bytes at once: no routing, no parameter parsing, no dependency, no other
middleware (about half of the server's time for such an answer). The marker never reaches
the client.

Such an answer also carries an ``ETag`` (a hash of its body) and ``Cache-Control:
no-cache``: a browser asks again with ``If-None-Match`` and, while the answer is the same,
gets ``304 Not Modified`` without the body (the map pages fetch their GeoJSON layers at
every visit). A re-run that changes an answer changes its ETag.

Bounded: at most :data:`MAX_ENTRIES` answers and :data:`MAX_BYTES` bytes (the least
recently used go first), so query strings varied at will cannot grow it. A new workspace
version is a new key: its answers are computed again, the old ones age out. A request with
a body is never answered from here.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safetygap.api._store import STATE_KEY

REPLAYABLE = b"x-safetygap-replayable"
"""Header a route sets on an answer that only its path, query and workspace version
decide; removed before the answer is sent."""
MAX_ENTRIES = 1024
"""Answers kept at most."""
MAX_BYTES = 64_000_000
"""Bytes (bodies and headers) kept at most."""

Answer = tuple[int, list[tuple[bytes, bytes]], bytes, bytes]
"""status, headers, body, ETag"""
NOT_MODIFIED_DROPS = (b"content-length", b"content-type", b"content-disposition")
"""Headers of the full answer a 304 leaves out."""


def etag(body: bytes) -> bytes:
    """The strong validator of an answer's body."""
    return b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'


def _matches(scope: Scope, tag: bytes) -> bool:
    """Whether the request's ``If-None-Match`` names ``tag`` (or ``*``); weak tags compare
    by their value (RFC 9110 13.1.2)."""
    for name, value in scope.get("headers", []):
        if name == b"if-none-match":
            tags = [t.strip().removeprefix(b"W/") for t in value.split(b",")]
            return b"*" in tags or tag in tags
    return False


class ReplayCache:
    """The answers kept (module docstring), least recently used first out."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self._answers: OrderedDict[tuple, tuple[Answer, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: tuple) -> Answer | None:
        with self._lock:
            entry = self._answers.get(key)
            if entry is None:
                return None
            self._answers.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: tuple, answer: Answer) -> None:
        size = len(answer[2]) + sum(len(k) + len(v) for k, v in answer[1])
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._answers.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._answers[key] = (answer, size)
            self.bytes += size
            while len(self._answers) > self.max_entries or self.bytes > self.max_bytes:
                _, (_, dropped) = self._answers.popitem(last=False)
                self.bytes -= dropped


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip()
                                           not in (b"", b"0")):
            return True
    return False


class ReplayMiddleware:
    """Answers a repeated ``GET`` from :class:`ReplayCache` (module docstring); ``store``
    (:class:`~safetygap.api._store.WorkspaceStore`) says which workspace version is
    served now."""

    def __init__(self, app: ASGIApp, *, store: Any, cache: ReplayCache):
        self.app = app
        self.store = store
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replayable = scope["method"] == "GET" and not _has_body(scope)
        if replayable:
            fresh = self.store.fresh()  # None: the workspace is to be read again
            answer = fresh and self.cache.get((fresh[1], scope["path"],
                                               scope["query_string"]))
            if answer:
                await self._send(scope, send, answer)
                return
        kept: dict[str, Any] = {}

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if any(name == REPLAYABLE for name, _ in headers):
                    headers = [(k, v) for k, v in headers if k != REPLAYABLE]
                    message = {**message, "headers": headers}
                    if replayable and message["status"] == 200:
                        kept.update(headers=headers, body=[])
                        return  # sent with its ETag once the body is complete
            elif message["type"] == "http.response.body" and kept:
                kept["body"].append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(kept["body"])
                tag = etag(body)
                answer = (200, [*kept["headers"], (b"etag", tag),
                                (b"cache-control", b"no-cache")], body, tag)
                version = scope.get("state", {}).get(STATE_KEY)
                if version:  # the version that answered, not the one asked about
                    self.cache.put((version, scope["path"], scope["query_string"]), answer)
                await self._send(scope, send, answer)
                return
            await send(message)

        await self.app(scope, receive, keep)

    @staticmethod
    async def _send(scope: Scope, send: Send, answer: Answer) -> None:
        """``answer`` whole, or ``304 Not Modified`` when the request already holds it."""
        status, headers, body, tag = answer
        if _matches(scope, tag):
            status, body = 304, b""
            headers = [(k, v) for k, v in headers if k not in NOT_MODIFIED_DROPS]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
