"""Load test of the web app: many concurrent clients for a bounded time, zero errors.

Starts ``safetygap serve`` (uvicorn, one worker) on 127.0.0.1 in a child process
against a demo workspace (generated first unless ``--workspace`` is given; ``--port``
measures a server already running instead). Then ``--clients`` closed-loop clients, each
with its own keep-alive connection, send requests for ``--duration`` seconds: first to
``/health`` alone (the baseline), then over the JSON and map routes (every family, both
levels, area profiles, hexagons, the gap and ward maps) in turn. A client sends its next
request as soon as it has read the whole previous answer; the latency of a request is
from its first byte sent to its last byte read.

The clients are light so that they measure the server, not themselves: they run as
asyncio tasks writing raw HTTP/1.1 requests and reading the answers (Content-Length or
chunked) on plain sockets, in ``--processes`` client processes (default 1: one event loop
holds 50 clients on one core with room to spare), all starting at one moment after
their connections are open. (An earlier version ran one Python thread per client with
``http.client``: 0.19-0.21 ms of CPU per request against these clients' 0.05-0.13 ms,
measured on the same server, on the two cores the server shares.)

Prints requests, throughput, median / p99 / max latency and the error count (any status
but 200, or a failed connection) of each phase, the ratios to the baseline, the server's
CPU time per request (when its process is known) and the machine's load average at the
start and end. Exits 1 when there was any error. All traffic stays on this machine and
stops by itself.

    python bench/load.py [--workspace DIR | --calls 650000 | --port PORT [--pid PID]]
                         [--clients 50] [--duration 20] [--baseline 5] [--processes 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from api import HOST, load_average, percentile, served_workspace

FAMILIES = ("response", "prevention", "restoration")


@dataclass
class Tally:
    """What the clients saw: one latency per request (seconds) by kind, errors by kind,
    and how long they ran."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    cpu: float = 0.0
    """CPU time the client processes used (seconds)."""

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def merge(self, other: Tally) -> None:
        for kind, ts in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(ts)
        for what, n in other.errors.items():
            self.errors[what] = self.errors.get(what, 0) + n
        self.elapsed = max(self.elapsed, other.elapsed)
        self.cpu += other.cpu

    def all(self) -> list[float]:
        return [t for ts in self.latencies.values() for t in ts]


def routes(port: int) -> list[tuple[str, str]]:
    """(kind, path) of the mixed phase, ids read from the served workspace."""
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    conn.request("GET", "/api/wards")
    wards = [f["id"] for f in json.loads(conn.getresponse().read())["features"]]
    conn.request("GET", "/api/neighborhoods")
    nbhds = [f["id"] for f in json.loads(conn.getresponse().read())["features"]]
    conn.close()
    out = [("json", "/api/summary"), ("json", "/api/providers"),
           ("json", "/api/gaps"), ("json", "/api/neighborhoods"), ("json", "/api/wards")]
    for f in FAMILIES:
        out += [("json", f"/api/neighborhoods?family={f}"), ("json", f"/api/wards?family={f}"),
                ("json", f"/api/hexbins?family={f}"), ("json", f"/api/gaps?family={f}&top=5"),
                ("map", f"/maps/gaps?family={f}"), ("map", f"/maps/gaps?family={f}&level=ward")]
    out += [("json", f"/api/neighborhoods/{n}") for n in nbhds[:10]]
    out += [("json", f"/api/wards/{w}") for w in wards]
    out += [("map", f"/maps/wards/{w}") for w in wards] + [("map", "/")]
    return out


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response whole (Content-Length or chunked body); returns its
    status and whether the server closes the connection after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)  # the chunk and its CRLF
            if size == 0:
                break
    else:
        raise ValueError("response without Content-Length or chunked body")
    return status, headers.get("connection") == "close"


async def client(port: int, paths: list[tuple[str, str]], start: int, begin: float,
                 until: float, tally: Tally) -> None:
    """One closed-loop client: its own keep-alive connection, the next request sent as
    soon as the previous answer is read whole, from wall-clock ``begin`` to ``until``."""
    reader, writer = await asyncio.open_connection(HOST, port)
    requests = [(kind, path, f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
                for kind, path in paths]
    await asyncio.sleep(max(0.0, begin - time.time()))
    i = start
    while time.time() < until:
        kind, path, request = requests[i % len(requests)]
        i += 1
        t0 = time.perf_counter()
        try:
            writer.write(request)
            status, closing = await read_response(reader)
        except (OSError, ValueError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError) as exc:
            tally.error(f"{type(exc).__name__} {path}")
            closing, status = True, 0
        else:
            if status == 200:
                tally.add(kind, time.perf_counter() - t0)
            else:
                tally.error(f"HTTP {status} {path}")
        if closing:
            writer.close()
            reader, writer = await asyncio.open_connection(HOST, port)
    writer.close()


def client_process(port: int, paths: list[tuple[str, str]], starts: list[int], begin: float,
                   duration: float) -> Tally:
    """The clients ``starts`` (their first route's index) in one process's event loop."""
    async def run() -> Tally:
        cpu0 = time.process_time()
        tally = Tally()
        await asyncio.gather(*(client(port, paths, k, begin, begin + duration, tally)
                               for k in starts))
        tally.elapsed = time.time() - begin
        tally.cpu = time.process_time() - cpu0
        return tally

    return asyncio.run(run())


def phase(port: int, paths: list[tuple[str, str]], clients: int, duration: float,
          processes: int) -> tuple[Tally, float]:
    """``clients`` closed-loop clients spread over ``processes`` client processes, all
    starting together once every connection is open; returns the merged tally and the
    phase's length (seconds)."""
    begin = time.time() + 2.0 + 0.5 * processes  # the processes start and connect first
    groups = [[k * 7 for k in range(clients)][p::processes] for p in range(processes)]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=ctx) as pool:
        futures = [pool.submit(client_process, port, paths, g, begin, duration)
                   for g in groups if g]
        tally = Tally()
        for f in futures:
            tally.merge(f.result())
    return tally, tally.elapsed


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system, seconds) the process ``pid`` has used so far; None when
    unknown (no pid, or not Linux). Per request it is a figure the machine's other load
    changes little, unlike latency."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(port: int, paths: list[tuple[str, str]], args: argparse.Namespace,
             duration: float, pid: int | None) -> tuple[Tally, float, float | None]:
    """A phase, with the server's CPU milliseconds per request when ``pid`` is known."""
    cpu0 = cpu_seconds(pid)
    tally, elapsed = phase(port, paths, args.clients, duration, args.processes)
    cpu1 = cpu_seconds(pid)
    n = len(tally.all())
    cpu = None if cpu0 is None or cpu1 is None or not n else (cpu1 - cpu0) * 1e3 / n
    return tally, elapsed, cpu


def report(name: str, tally: Tally, elapsed: float, base: dict[str, float] | None,
           cpu_ms: float | None = None) -> dict[str, float]:
    lat = tally.all()
    n_err = sum(tally.errors.values())
    fig = {"rps": len(lat) / elapsed, "median": statistics.median(lat) if lat else float("nan"),
           "p99": percentile(lat, 99) if lat else float("nan")}
    ratio = "" if base is None else (f"   ({fig['rps'] / base['rps']:.2f}x the baseline's "
                                     f"throughput, median {fig['median'] / base['median']:.1f}x)")
    print(f"\n{name}: {len(lat):,} requests in {elapsed:.1f} s, {n_err} errors{ratio}")
    print(f"  throughput {fig['rps']:,.0f} req/s; latency median {fig['median'] * 1e3:.1f} ms, "
          f"p99 {fig['p99'] * 1e3:.1f} ms, max {max(lat, default=0) * 1e3:.0f} ms")
    if cpu_ms is not None:
        print(f"  server CPU time {cpu_ms:.2f} ms per request (user + system)")
    if lat:
        print(f"  clients' CPU time {tally.cpu * 1e3 / len(lat):.2f} ms per request")
    for kind, ts in sorted(tally.latencies.items()):
        if len(tally.latencies) > 1:
            print(f"  {kind:<5} {len(ts):>7,} requests, median {statistics.median(ts) * 1e3:.1f} "
                  f"ms, p99 {percentile(ts, 99) * 1e3:.1f} ms")
    for what, count in sorted(tally.errors.items()):
        print(f"  error x{count}: {what}")
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, help="workspace to serve (default: a new demo)")
    ap.add_argument("--calls", type=int, default=650_000, help="calls of the generated demo")
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of the mixed phase")
    ap.add_argument("--baseline", type=float, default=5.0, help="seconds of the /health phase")
    ap.add_argument("--port", type=int,
                    help=f"measure a server already running on {HOST}:PORT instead of "
                         "starting one")
    ap.add_argument("--pid", type=int,
                    help="with --port: the server's process id, for its CPU time per request")
    ap.add_argument("--processes", type=int, default=1,
                    help="client processes the clients are spread over (each an event loop)")
    args = ap.parse_args()
    if not (1 <= args.clients <= 500 and 0 < args.duration <= 600 and 0 < args.baseline <= 600
            and 1 <= args.processes <= min(16, args.clients)):
        raise SystemExit("--clients 1..500, --duration and --baseline 0..600 s, --processes "
                         "1..16 and at most --clients")

    procs: list = []
    server = (contextlib.nullcontext(args.port) if args.port
              else served_workspace(args.workspace, args.calls, procs=procs))
    with server as port:
        pid = procs[0].pid if procs else args.pid
        paths = routes(port)
        print(f"warming the caches: {len(paths)} routes, each once ...", flush=True)
        t0 = time.perf_counter()
        for _kind, path in paths:
            conn = http.client.HTTPConnection(HOST, port, timeout=300)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if status != 200:
                raise SystemExit(f"{path} answered {status} before the load started")
        print(f"  done in {time.perf_counter() - t0:.1f} s")
        print(f"\n{args.clients} concurrent closed-loop clients, one keep-alive connection "
              f"each, in {args.processes} client process(es); uvicorn with one worker on "
              f"{HOST}")
        print(f"at the start: {load_average()}")
        tally, elapsed, cpu = measured(port, [("health", "/health")], args, args.baseline,
                                       pid)
        base = report(f"baseline: /health for {args.baseline:g} s", tally, elapsed, None,
                      cpu)
        errors = sum(tally.errors.values())
        tally, elapsed, cpu = measured(port, paths, args, args.duration, pid)
        report(f"JSON and map routes ({len(paths)} routes in turn) for {args.duration:g} s",
               tally, elapsed, base, cpu)
        errors += sum(tally.errors.values())
        print(f"\nat the end: {load_average()}")
    if errors:
        print(f"\nFAILED: {errors} errors")
        sys.exit(1)


if __name__ == "__main__":
    main()
