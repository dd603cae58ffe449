"""What every response carries, and what no public answer may carry.

:class:`PublicResponseMiddleware` adds to every HTTP response:

- ``X-Content-Type-Options: nosniff``;
- ``X-Frame-Options: DENY`` and the CSP's ``frame-ancestors 'none'`` (no framing);
- ``Referrer-Policy: strict-origin-when-cross-origin`` (tile servers see the site's
  origin, as their usage policies ask, never a page's query);
- a ``Content-Security-Policy`` that fits the map pages (:func:`content_security_policy`):
  scripts, styles, fonts and data from the app itself (the Folium pages use inline scripts
  and styles, so ``'unsafe-inline'`` is allowed for those two), images from the app and
  the configured tile server only, no plugins, no foreign forms or base URLs.

An unexpected error (a bug) is answered here too, inside the headers: a JSON 500 whose
``message`` carries an error id and no traceback; the traceback goes to the server log
(logger ``safetygap.api``) under that id. (Starlette's own 500 is sent outside every
middleware, so it would carry none of the headers above.)

It also removes server paths from the answers that can quote them (error responses, the
write routes' answers, ``/health``): any path under one of the server's directories (the
workspace, the data directory, the temporary directory, the working directory) is
replaced by its last component, the file name the client knows.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("safetygap.api")

SCRUBBED_PREFIXES = ("/api/datasets", "/api/analyses", "/health")
"""Paths whose answers (any status) are scrubbed of server paths; every error too."""


def tile_origin(tiles: str) -> str | None:
    """The origin of a tile URL template (``{s}`` subdomains as ``*``); None for none."""
    if not tiles or tiles.strip().lower() == "none":
        return None
    parts = urlsplit(tiles.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    netloc = re.sub(r"\{[^}]*\}", "*", parts.netloc)
    return f"{parts.scheme}://{netloc}"


def content_security_policy(tiles: str) -> str:
    """The CSP of every response (see module docstring)."""
    origin = tile_origin(tiles)
    img = "img-src 'self' data:" + (f" {origin}" if origin else "")
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        img,
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def security_headers(tiles: str) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (module docstring), as ASGI header pairs; the
    server's own answers to requests it cannot parse carry them too
    (:mod:`safetygap.api._connections`)."""
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"content-security-policy", content_security_policy(tiles).encode()),
    ]


def server_roots(paths: Iterable[str | os.PathLike | None]) -> list[str]:
    """Absolute forms (as given and resolved) of ``paths`` plus the temporary and working
    directories, longest first."""
    roots: set[str] = set()
    for p in [*paths, tempfile.gettempdir(), os.getcwd()]:
        if p is None:
            continue
        for form in (Path(p).absolute(), Path(p).resolve()):
            text = str(form).rstrip("/")
            if text and text != "/" and len(text) > 1:
                roots.add(text)
    return sorted(roots, key=len, reverse=True)


def scrub_paths(text: str, roots: list[str]) -> str:
    """``text`` with every path under ``roots`` cut to its last component (a root itself
    becomes ``<server directory>``)."""
    for root in roots:
        pattern = re.compile(re.escape(root) + r"(/[^\s'\"<>(),;]*)?")

        def short(m: re.Match[str]) -> str:
            rest = (m.group(1) or "").rstrip("/.:")
            tail = m.group(1)[len(rest):] if m.group(1) else ""
            return (rest.rsplit("/", 1)[-1] or "<server directory>") + tail if rest \
                else "<server directory>"

        text = pattern.sub(short, text)
    return text


class PublicResponseMiddleware:
    """Security headers on every response; server paths scrubbed (module docstring)."""

    def __init__(self, app: ASGIApp, *, tiles: str, roots: list[str]):
        self.app = app
        self.roots = roots
        self.headers = security_headers(tiles)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        always = str(scope.get("path", "")).startswith(SCRUBBED_PREFIXES)
        start: Message | None = None
        chunks: list[bytes] = []
        started = False  # a response start has gone to the client

        async def out(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[h for h in self.headers if h[0] not in names]]
                if always or message["status"] >= 400:
                    start = message  # held until the body is scrubbed
                    return
                await out(message)
                return
            if start is None or message["type"] != "http.response.body":
                await out(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = scrub_paths(b"".join(chunks).decode("utf-8", "replace"),
                               self.roots).encode()
            start["headers"] = [(k, str(len(body)).encode() if k.lower() == b"content-length"
                                 else v) for k, v in start["headers"]]
            await out(start)
            await out({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, receive, wrapped)
        except Exception:
            if started:
                raise  # the answer is under way: only the server can end it
            error_id = secrets.token_hex(6)
            log.exception("%s %s failed unexpectedly, error id %s", scope.get("method"),
                          scope.get("path"), error_id)
            message = (f"the server failed unexpectedly; error id {error_id}, the server "
                       f"log has the details")
            body = json.dumps({"message": message, "detail": message}).encode()
            await out({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()), *self.headers]})
            await out({"type": "http.response.body", "body": body})
