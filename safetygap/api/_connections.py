"""Slow and idle clients: the HTTP protocol ``safetygap serve`` runs uvicorn with.

uvicorn closes a keep-alive connection only when no byte at all arrives for
``timeout_keep_alive`` seconds, and has no limit on how long the headers of a request may
take or on how many connections are open, so a few thousand clients sending their headers
a byte at a time hold a file descriptor each for ever. :func:`guarded_protocol` makes
uvicorn's HTTP protocol close

- a connection whose request line and headers are not complete ``read_timeout_s`` after
  the connection opened or its previous response ended (slow headers);
- a connection that sends nothing for ``read_timeout_s`` in the middle of a request body
  (slow body);

and keeps at most ``max_connections`` open: a new connection past the limit closes the
oldest one that is waiting for its request's headers (a slow or idle client), or, when
every open connection is serving a request, is itself closed at once. A client that sends
its request promptly is never closed by these rules.

The answer uvicorn sends itself to a request it cannot parse (400) carries the security
headers of every other response (:func:`safetygap.api._public.security_headers`).
A connection closed by these rules gets no answer at all: it is closed.

The same rules (:class:`ConnectionGuard`) sit on either of uvicorn's HTTP/1.1 protocols:
``httptools`` (a C parser, uvicorn's fast one; the default when installed) or ``h11``
(pure Python, several times slower per request; setting ``http_parser``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("safetygap.api")

PARSERS = ("auto", "httptools", "h11")
"""Values of the ``http_parser`` setting; auto: httptools when installed, else h11."""


class ConnectionGuard:
    """The read timeout and connection limit (module docstring), mixed into a uvicorn HTTP
    protocol class before it; the protocol says whether it waits for a request's headers
    (:meth:`_waiting_headers`) or reads a body (:meth:`_reading_body`). The two bounds are
    class attributes set by :func:`guarded_protocol`."""

    read_timeout_s: float = 10.0
    max_connections: int = 1000
    answer_headers: tuple[tuple[bytes, bytes], ...] = ()
    """Added to the server's own 400 answer (module docstring)."""
    # provided by the uvicorn protocol class
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    connections: set[Any]
    client: Any

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self._read_timer: asyncio.TimerHandle | None = None
        self._waiting_since = time.monotonic()
        self._arm()
        if len(self.connections) > self.max_connections:  # cheap test first
            # connections being closed leave the set a moment later: not counted
            live = [c for c in self.connections if isinstance(c, ConnectionGuard)
                    and not c.transport.is_closing()]
            if len(live) > self.max_connections:
                victim = min((c for c in live if c is not self and c._waiting_headers()),
                             key=lambda c: c._waiting_since, default=None)
                (victim or self)._close("connection limit reached")

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse, with :attr:`answer_headers`;
        then the connection is closed."""
        body = msg.encode("ascii", "replace")
        head = [b"HTTP/1.1 400 Bad Request", b"content-type: text/plain; charset=utf-8",
                b"content-length: " + str(len(body)).encode(), b"connection: close",
                *(name + b": " + value for name, value in self.answer_headers)]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()

    def _waiting_headers(self) -> bool:
        raise NotImplementedError

    def _reading_body(self) -> bool:
        raise NotImplementedError

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
        if self._waiting_headers() or self._reading_body():
            self._close(f"nothing complete read in {self.read_timeout_s:g} s")

    def _close(self, why: str) -> None:
        self._disarm()
        if not self.transport.is_closing():
            log.debug("closing connection from %s: %s", self.client, why)
            self.transport.close()

    def _after_data(self) -> None:
        """After the protocol has parsed what arrived: a body may take long, but never a
        pause longer than the timeout; once the request is read, the application's time
        is its own."""
        if self._reading_body():
            self._arm()
        elif not self._waiting_headers():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._waiting_since = time.monotonic()
            self._arm()  # the next request's headers have the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


class GuardedH11Protocol(ConnectionGuard, H11Protocol):
    """uvicorn's h11 protocol with the guard."""

    def _waiting_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE and (self.cycle is None
                                                     or self.cycle.response_complete)

    def _reading_body(self) -> bool:
        return self.conn.their_state is h11.SEND_BODY

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._after_data()


def _httptools_protocol() -> type[Any] | None:
    """The guarded httptools protocol class; None when httptools is not installed."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return None

    class GuardedHttpToolsProtocol(ConnectionGuard, HttpToolsProtocol):
        """uvicorn's httptools protocol with the guard; where the parser is in the request
        is followed through its callbacks (``_phase``: idle between requests, headers,
        body, done once the request is read whole)."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._phase = "idle"
            super().connection_made(transport)

        def _waiting_headers(self) -> bool:
            return self._phase in ("idle", "headers") and (self.cycle is None
                                                            or self.cycle.response_complete)

        def _reading_body(self) -> bool:
            return self._phase == "body"

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._phase = "headers"

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._phase = "body"

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._phase = "done"

        def on_response_complete(self) -> None:
            if self._phase == "done":
                self._phase = "idle"
            super().on_response_complete()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.parser is not None:  # None: the connection was lost meanwhile
                self._after_data()

    return GuardedHttpToolsProtocol


def guarded_protocol(*, read_timeout_s: float, max_connections: int,
                     parser: str = "auto",
                     headers: list[tuple[bytes, bytes]] | None = None) -> type[Any]:
    """A guarded uvicorn protocol class with these bounds and 400 ``headers`` (uvicorn's
    ``http``): on
    httptools when ``parser`` is httptools or auto and httptools is installed, else on
    h11. Raises ValueError for another ``parser``, and ImportError for httptools when it
    is not installed."""
    if parser not in PARSERS:
        raise ValueError(f"http parser {parser!r}: allowed {', '.join(PARSERS)}")
    base = None if parser == "h11" else _httptools_protocol()
    if base is None and parser == "httptools":
        raise ImportError("http parser httptools: the httptools package is not installed")
    base = base or GuardedH11Protocol
    return type(f"Safetygap{base.__name__}", (base,),
                {"read_timeout_s": float(read_timeout_s),
                 "max_connections": int(max_connections),
                 "answer_headers": tuple(headers or ())})
