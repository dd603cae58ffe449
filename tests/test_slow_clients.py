"""Slow clients cannot exhaust the server: connections that trickle their headers are
closed after the read timeout, at most ``max_connections`` are open (a new one closes the
oldest still waiting for its headers), and /health keeps answering within a second; the
server's own answer to a request it cannot parse carries the security headers. With
either HTTP parser (httptools, the default, and h11)."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import time

import pytest
from _live import served

SLOW = 300
LIMIT = 100
TIMEOUT_S = 2.0


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _health_s(host: str, port: int) -> float:
    t0 = time.perf_counter()
    c = http.client.HTTPConnection(host, port, timeout=5)
    c.request("GET", "/health")
    r = c.getresponse()
    r.read()
    c.close()
    assert r.status == 200
    return time.perf_counter() - t0


def _closed_by_server(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(request, api_workspace):
    """``safetygap serve`` with a short read timeout and a low connection limit."""
    env = {"SAFETYGAP_READ_TIMEOUT_S": str(TIMEOUT_S), "SAFETYGAP_HTTP_PARSER": request.param,
           "SAFETYGAP_MAX_CONNECTIONS": str(LIMIT), "SAFETYGAP_COMPUTE_WORKERS": "0"}
    with served(api_workspace, env=env) as running:
        yield running


def test_a_request_the_server_cannot_parse_is_a_400_with_the_security_headers(server):
    host, port, _ = server
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):  # the server closes the connection after it
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    assert head.startswith("http/1.1 400"), head
    for header in ("x-content-type-options: nosniff", "x-frame-options: deny",
                   "referrer-policy: strict-origin-when-cross-origin",
                   "content-security-policy: default-src 'self'", "connection: close"):
        assert f"\r\n{header}" in head, (header, head)


def test_slow_header_clients_are_bounded_and_health_still_answers(server):
    host, port, proc = server
    resting = _open_fds(proc.pid)
    slow = []
    for _ in range(SLOW):
        s = socket.create_connection((host, port))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        slow.append(s)
    peak, health = 0, []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5 * TIMEOUT_S:
        for s in slow:  # a byte now and then: the keep-alive timer never fires
            with contextlib.suppress(OSError):
                s.sendall(b"X: y\r\n")
        health.append(_health_s(host, port))
        time.sleep(0.4)  # a burst of accepts is closed in the next turn of the loop
        peak = max(peak, _open_fds(proc.pid))
    closed = sum(_closed_by_server(s) for s in slow)
    for s in slow:
        s.close()
    print(f"server fds: resting {resting}, peak {peak}; /health max {max(health):.3f} s; "
          f"slow connections closed by the server {closed}/{SLOW}")
    assert max(health) < 1.0
    assert peak <= resting + LIMIT + 5  # every connection is a descriptor
    assert closed == SLOW  # the read timeout closed every slow connection


def test_a_body_that_stops_arriving_is_closed_after_the_read_timeout(server):
    """A request whose body pauses longer than the read timeout is closed (the guard's
    second rule); one that keeps sending within it is answered."""
    host, port, _ = server
    head = (b"POST /api/scenarios HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    stalled = socket.create_connection((host, port), timeout=5 * TIMEOUT_S)
    stalled.sendall(head + b'{"providers": [')  # then nothing
    t0 = time.monotonic()
    assert stalled.recv(65536) == b""  # closed by the server, no answer
    waited = time.monotonic() - t0
    stalled.close()
    assert TIMEOUT_S * 0.9 <= waited <= TIMEOUT_S + 2.0, waited
    # the same body trickled in time: read whole and answered
    body = b'{"providers": []}'.ljust(1000)
    with socket.create_connection((host, port), timeout=5 * TIMEOUT_S) as s:
        s.sendall(head)
        for i in range(0, len(body), 250):
            time.sleep(TIMEOUT_S * 0.4)
            s.sendall(body[i:i + 250])
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 "), answer[:80]
