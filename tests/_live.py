"""A real uvicorn server on 127.0.0.1 in a background thread, or ``safetygap serve`` in a
process of its own, for tests that need real sockets (streamed uploads, concurrent readers,
slow clients). Bounded: stopped when the block ends."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(app, *, timeout_s: float = 20.0) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<free port>; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="error",
                                          lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)


@contextlib.contextmanager
def served(workspace: Path, *, env: dict[str, str] | None = None
           ) -> Iterator[tuple[str, int, subprocess.Popen]]:
    """``safetygap serve`` of ``workspace`` in its own process (the clients' threads then do
    not share the server's interpreter), with settings ``env`` on top of the tests' (no
    tiles, every count shown); yields (host, port, process); stopped at the end."""
    port = free_port()
    env = {**os.environ, "SAFETYGAP_TILES": "none", "SAFETYGAP_PRIVACY_MIN_COUNT": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1]), **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "safetygap.cli", "serve", "--workspace",
                             str(workspace), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                c = http.client.HTTPConnection(HOST, port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("safetygap serve did not start")
            time.sleep(0.2)
        yield HOST, port, proc
    finally:
        proc.terminate()
        proc.wait(20)
