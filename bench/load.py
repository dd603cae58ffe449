"""Load test of the web app: many concurrent clients for a bounded time, zero errors.

Starts ``safetygap serve`` (uvicorn, one worker) on 127.0.0.1 in a child process
against a demo workspace (generated first unless ``--workspace`` is given). Then
``--clients`` threads, each with its own keep-alive connection, send requests for
``--duration`` seconds: first to ``/health`` alone (the baseline), then over the JSON
and map routes (every family, both levels, area profiles, hexagons, the gap and ward
maps). Prints requests, throughput, median / p99 / max latency and the error count
(any status but 200, or a failed connection) of each phase, and the ratios to the
baseline. Exits 1 when there was any error. All traffic stays on this machine and
stops by itself.

    python bench/load.py [--workspace DIR | --calls 650000] [--clients 50] [--duration 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from api import HOST, load_average, percentile, served_workspace

FAMILIES = ("response", "prevention", "restoration")


@dataclass
class Tally:
    """What the clients saw: one latency per request, errors by kind."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1

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


def client(port: int, paths: list[tuple[str, str]], start: int, until: float,
           tally: Tally) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    i = start
    while time.monotonic() < until:
        kind, path = paths[i % len(paths)]
        i += 1
        t0 = time.perf_counter()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                tally.error(f"HTTP {resp.status} {path}")
                continue
        except (OSError, http.client.HTTPException) as exc:
            tally.error(f"{type(exc).__name__} {path}")
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=60)
            continue
        tally.add(kind, time.perf_counter() - t0)
    conn.close()


def phase(port: int, paths: list[tuple[str, str]], clients: int, duration: float) -> tuple[
        Tally, float]:
    tally = Tally()
    until = time.monotonic() + duration
    threads = [threading.Thread(target=client, args=(port, paths, k * 7, until, tally))
               for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally, time.perf_counter() - t0


def report(name: str, tally: Tally, elapsed: float, base: dict[str, float] | None
           ) -> dict[str, float]:
    lat = tally.all()
    n_err = sum(tally.errors.values())
    fig = {"rps": len(lat) / elapsed, "median": statistics.median(lat) if lat else float("nan"),
           "p99": percentile(lat, 99) if lat else float("nan")}
    ratio = "" if base is None else (f"   ({fig['rps'] / base['rps']:.2f}x the baseline's "
                                     f"throughput, median {fig['median'] / base['median']:.1f}x)")
    print(f"\n{name}: {len(lat):,} requests in {elapsed:.1f} s, {n_err} errors{ratio}")
    print(f"  throughput {fig['rps']:,.0f} req/s; latency median {fig['median'] * 1e3:.1f} ms, "
          f"p99 {fig['p99'] * 1e3:.1f} ms, max {max(lat, default=0) * 1e3:.0f} ms")
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
    args = ap.parse_args()
    if not (1 <= args.clients <= 500 and 0 < args.duration <= 600 and 0 < args.baseline <= 600):
        raise SystemExit("--clients 1..500, --duration and --baseline 0..600 s")

    with served_workspace(args.workspace, args.calls) as port:
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
        print(f"\n{args.clients} concurrent clients, one keep-alive connection each; uvicorn "
              f"with one worker on {HOST}")
        print(f"at the start: {load_average()}")
        tally, elapsed = phase(port, [("health", "/health")], args.clients, args.baseline)
        base = report(f"baseline: /health for {args.baseline:g} s", tally, elapsed, None)
        errors = sum(tally.errors.values())
        tally, elapsed = phase(port, paths, args.clients, args.duration)
        report(f"JSON and map routes ({len(paths)} routes in turn) for {args.duration:g} s",
               tally, elapsed, base)
        errors += sum(tally.errors.values())
        print(f"\nat the end: {load_average()}")
    if errors:
        print(f"\nFAILED: {errors} errors")
        sys.exit(1)


if __name__ == "__main__":
    main()
