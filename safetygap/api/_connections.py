"""Slow and idle clients: the HTTP protocol ``safetygap serve`` runs uvicorn with.

uvicorn closes a keep-alive connection only when no byte at all arrives for
``timeout_keep_alive`` seconds, and has no limit on how long the headers of a request may
take or on how many connections are open, so a few thousand clients sending their headers
a byte at a time hold a file descriptor each for ever. :func:`guarded_protocol` makes
uvicorn's h11 protocol close

- a connection whose request line and headers are not complete ``read_timeout_s`` after
  the connection opened or its previous response ended (slow headers);
- a connection that sends nothing for ``read_timeout_s`` in the middle of a request body
  (slow body);

and keeps at most ``max_connections`` open: a new connection past the limit closes the
oldest one that is waiting for its request's headers (a slow or idle client), or, when
every open connection is serving a request, is itself closed at once. A client that sends
its request promptly is never closed by these rules.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("safetygap.api")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a read timeout and a connection limit (module
    docstring); the two bounds are class attributes set by :func:`guarded_protocol`."""

    read_timeout_s: float = 10.0
    max_connections: int = 1000

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._read_timer: asyncio.TimerHandle | None = None
        self._waiting_since = time.monotonic()
        self._arm()
        if len(self.connections) > self.max_connections:  # cheap test first
            # connections being closed leave the set a moment later: not counted
            live = [c for c in self.connections if isinstance(c, GuardedH11Protocol)
                    and not c.transport.is_closing()]
            if len(live) > self.max_connections:
                victim = min((c for c in live if c is not self and c._waiting_headers()),
                             key=lambda c: c._waiting_since, default=None)
                (victim or self)._close("connection limit reached")

    def _waiting_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE and (self.cycle is None
                                                     or self.cycle.response_complete)

    def _arm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer = self.loop.call_later(self.read_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _timed_out(self) -> None:
        self._read_timer = None
        if self._waiting_headers() or self.conn.their_state is h11.SEND_BODY:
            self._close(f"nothing complete read in {self.read_timeout_s:g} s")

    def _close(self, why: str) -> None:
        self._disarm()
        if not self.transport.is_closing():
            log.debug("closing connection from %s: %s", self.client, why)
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._arm()  # a body may take long, but never a pause longer than the timeout
        elif state is not h11.IDLE:
            self._disarm()  # the request is read: the application's time is its own

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._waiting_since = time.monotonic()
            self._arm()  # the next request's headers have the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def guarded_protocol(*, read_timeout_s: float, max_connections: int) -> type[Any]:
    """A :class:`GuardedH11Protocol` subclass with these bounds (uvicorn's ``http``)."""
    return type("SafetygapH11Protocol", (GuardedH11Protocol,),
                {"read_timeout_s": float(read_timeout_s),
                 "max_connections": int(max_connections)})
