"""Request body limits: no request body is ever read whole into memory past a limit.

:class:`LimitedReceive` counts body bytes as they arrive and raises a 413
``HTTPException`` once they pass the limit (FastAPI re-raises HTTP exceptions met
while reading a body, so the client gets a 413 with a clear message).
:class:`BodyLimitMiddleware` applies it, plus an early ``Content-Length`` check,
to every route except the upload route, which enforces the (larger) upload limit
itself after checking the bearer token.
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 5_000_000
"""Largest request body of any route but the upload route (JSON bodies), bytes."""


def limit_message(limit_bytes: int, *, what: str = "request body") -> str:
    return f"{what} too large: the limit is {limit_bytes / 1e6:g} MB"


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` (None when absent or not a number)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class LimitedReceive:
    """An ASGI ``receive`` that counts body bytes and raises 413 past ``limit``."""

    def __init__(self, receive: Receive, limit: int, message: str):
        self._receive = receive
        self.limit = limit
        self.message = message
        self.received = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise HTTPException(413, self.message)
        return message


class BodyLimitMiddleware:
    """413 for bodies over ``limit`` bytes, on every path but ``exempt``."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES,
                 exempt: tuple[str, ...] = ()):
        self.app = app
        self.limit = limit
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        message = limit_message(self.limit)
        length = declared_length(scope)
        if length is not None and length > self.limit:
            body = json.dumps({"message": message, "detail": message}).encode()
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, LimitedReceive(receive, self.limit, message), send)
