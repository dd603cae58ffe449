"""The results cache locks per key: one slow computation never blocks readers of other
keys; the same key is computed once; the cache is bounded in entries and bytes."""

from __future__ import annotations

import http.client
import threading
import time
from urllib.parse import urlsplit

import numpy as np
from _live import live_server

from safetygap.api.app import create_app
from safetygap.maps.data import WorkspaceView
from safetygap.settings import get_settings
from safetygap.workspace import Workspace


def test_slow_key_does_not_block_other_keys(api_workspace):
    view = WorkspaceView(Workspace.open(api_workspace))
    view.cached("fast", lambda: 1)
    started = threading.Event()

    def slow() -> int:
        started.set()
        time.sleep(1.0)
        return 2

    t = threading.Thread(target=view.cached, args=("slow", slow))
    t.start()
    started.wait(5)
    t0 = time.perf_counter()
    assert view.cached("fast", lambda: 3) == 1
    assert view.cached("other", lambda: 4) == 4  # a new key computes at once
    assert time.perf_counter() - t0 < 0.2
    t.join()


def test_same_key_is_computed_once(api_workspace):
    view = WorkspaceView(Workspace.open(api_workspace))
    calls = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 7

    threads = [threading.Thread(target=view.cached, args=("k", compute)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and view.cached("k", compute) == 7


def test_cache_is_bounded_in_bytes(api_workspace):
    view = WorkspaceView(Workspace.open(api_workspace))
    view.CACHE_BYTES = 10_000
    for i in range(10):
        view.cached(("blob", i), lambda: b"x" * 3000)
    assert view.cache_bytes <= 10_000
    assert ("blob", 9) in view._cache and ("blob", 0) not in view._cache


def test_cache_buster_does_not_slow_other_readers(demo_workspace):
    """One client asks for a new hexagon size again and again (each a computation) while
    three others read a cached route: their p99 stays under 200 ms."""
    app = create_app(demo_workspace, settings=get_settings(tiles="none"))
    with live_server(app) as url:
        host, port = urlsplit(url).hostname, urlsplit(url).port
        stop = threading.Event()
        times: list[float] = []
        busted: list[int] = []

        def get(conn: http.client.HTTPConnection, path: str) -> int:
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            return r.status

        def buster() -> None:
            conn = http.client.HTTPConnection(host, port, timeout=30)
            size = 400.0
            while not stop.is_set():
                size += 7.0
                assert get(conn, f"/api/hexbins?size={size}") == 200
                busted.append(1)

        def reader() -> None:
            conn = http.client.HTTPConnection(host, port, timeout=30)
            for _ in range(25):
                t0 = time.perf_counter()
                assert get(conn, "/api/neighborhoods?family=response") == 200
                times.append(time.perf_counter() - t0)
                time.sleep(0.02)

        conn = http.client.HTTPConnection(host, port, timeout=30)
        get(conn, "/api/neighborhoods?family=response")  # cached before the test
        b = threading.Thread(target=buster)
        b.start()
        time.sleep(0.3)
        readers = [threading.Thread(target=reader) for _ in range(3)]
        for t in readers:
            t.start()
        for t in readers:
            t.join(60)
        stop.set()
        b.join(60)
    assert len(busted) >= 3, "the buster should have computed several sizes meanwhile"
    p99 = float(np.percentile(times, 99))
    assert p99 < 0.2, f"readers' p99 {p99 * 1000:.0f} ms"
