"""Latency of the web app and size of its pages, against ``/health`` measured in the same run.

Starts ``safetygap serve`` (uvicorn) on 127.0.0.1 in a child process against a demo
workspace (generated first unless ``--workspace`` is given), then sends ``--requests``
sequential requests over one keep-alive connection to each of ``/health`` (the baseline),
``/api/neighborhoods`` and ``/maps/gaps``, and prints the median and 99th percentile
latency, the ratio of each median to the baseline's, the first (cold, uncached) request's
time, and the size of every map page. All traffic stays on this machine.

    python bench/api.py [--workspace DIR | --calls 650000] [--requests 300]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def get(conn: http.client.HTTPConnection, path: str) -> tuple[float, int, bytes]:
    t0 = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    return time.perf_counter() - t0, resp.status, body


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            _, status, _ = get(conn, "/health")
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start in time")


def load_average() -> str:
    """The machine's load average (1, 5, 15 min) for the figures: on a shared machine the
    latencies mean little without it."""
    try:
        one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return "load average unknown"
    return f"load average {one} / {five} / {fifteen} (1 / 5 / 15 min)"


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


@contextlib.contextmanager
def served_workspace(workspace: Path | None, calls: int, *, procs: list | None = None
                     ) -> Iterator[int]:
    """Serve ``workspace`` (or a new demo of ``calls`` calls) with ``safetygap serve`` on
    127.0.0.1 in a child process; yields the port once it answers (the process is appended
    to ``procs`` when given)."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace
        if ws is None:
            print(f"generating a demo workspace ({calls:,} calls) ...", flush=True)
            subprocess.run([sys.executable, "-m", "safetygap.cli", "demo", "--no-serve",
                            "--quiet", "--out", tmp, "--calls", str(calls)], check=True,
                           stdout=subprocess.DEVNULL)
            ws = Path(tmp) / "workspace"
        port = free_port()
        env = os.environ | {"SAFETYGAP_TILES": "none"}
        proc = subprocess.Popen([sys.executable, "-m", "safetygap.cli", "serve", "--workspace",
                                 str(ws), "--host", HOST, "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL)
        if procs is not None:
            procs.append(proc)
        try:
            t0 = time.perf_counter()
            wait_ready(port, proc)
            print(f"server ready in {time.perf_counter() - t0:.1f} s (reads the workspace)")
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, help="workspace to serve (default: a new demo)")
    ap.add_argument("--calls", type=int, default=650_000, help="calls of the generated demo")
    ap.add_argument("--requests", type=int, default=300, help="requests per route")
    args = ap.parse_args()
    with served_workspace(args.workspace, args.calls) as port:
        run(port, args.requests)


def run(port: int, n: int) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    routes = ["/health", "/api/neighborhoods", "/maps/gaps"]
    cold = {}
    for path in routes:
        cold[path], status, _ = get(conn, path)
        assert status == 200, (path, status)
    results = {}
    for path in routes:
        times = []
        for _ in range(n):
            dt, status, _ = get(conn, path)
            assert status == 200
            times.append(dt)
        results[path] = times
    base = statistics.median(results["/health"])
    print(f"\n{n} sequential requests per route, one keep-alive connection")
    print(f"{'route':<24}{'first (cold)':>14}{'median':>11}{'p99':>11}{'x /health':>11}")
    for path in routes:
        med = statistics.median(results[path])
        print(f"{path:<24}{cold[path] * 1e3:>11.1f} ms{med * 1e3:>8.2f} ms"
              f"{percentile(results[path], 99) * 1e3:>8.2f} ms{med / base:>10.1f}x")

    _, _, body = get(conn, "/api/summary")
    summary = json.loads(body)
    _, _, body = get(conn, "/api/wards?family=response")
    wards = [f["id"] for f in json.loads(body)["features"]]
    pages = ["/", *(f"/maps/gaps?family={f}&level={lv}" for f in
                    ("response", "prevention", "restoration") for lv in ("neighborhood", "ward")),
             *(f"/maps/wards/{w}" for w in wards), "/report"]
    print(f"\npage sizes ({summary['totals']['neighborhoods']} neighborhoods, "
          f"{len(wards)} wards, {summary['totals']['input_rows']:,} calls)")
    sizes = {}
    for page in pages:
        dt, status, body = get(conn, page)
        assert status == 200, (page, status)
        sizes[page] = len(body)
        if not page.startswith("/maps/wards/"):
            print(f"  {page:<48}{len(body) / 1024:>9.1f} KiB  (first request {dt * 1e3:.0f} ms)")
    ward_sizes = [sizes[p] for p in pages if p.startswith("/maps/wards/")]
    print(f"  {'/maps/wards/{ward}':<48}{max(ward_sizes) / 1024:>9.1f} KiB max, "
          f"{statistics.median(ward_sizes) / 1024:.1f} KiB median over {len(ward_sizes)}")
    for path in ("/api/neighborhoods", "/api/neighborhoods?family=response",
                 "/api/hexbins?family=response", "/api/providers"):
        _, _, body = get(conn, path)
        print(f"  {path:<48}{len(body) / 1024:>9.1f} KiB  (fetched by the map)")
    conn.close()


if __name__ == "__main__":
    main()
