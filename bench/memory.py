"""Memory of every public route at its costliest, against the memory budget.

Starts ``safetygap serve`` (uvicorn, with its compute worker) on 127.0.0.1 against a demo
workspace (generated first unless ``--workspace`` is given; 650,000 calls by default),
waits until it rests, then sends each public route with the parameters that cost it most
(the finest hexagons of every family, exact area layers, the report, the GeoPackage
export, 10,000 OGC features a page, siting with the widest catchment, a what-if with the
most providers allowed, ...) one at a time. For each it prints the answer's status and
size and the peak resident memory the request added over the resting server, in the
server and its compute worker together and (``server``) in the server process alone
(Linux peak counters reset before each request), and
compares the largest with the budget (``SAFETYGAP_MEMORY_BUDGET_MB``, default 1000 MB).
Exits 1 when a route passed the budget without refusing. All traffic stays on this
machine.

    python bench/memory.py [--workspace DIR | --calls 650000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from pathlib import Path

from api import HOST, get, load_average, served_workspace

FAMILIES = ("response", "prevention", "restoration")


def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def _family(pid: int) -> list[int]:
    """``pid`` and its children (the compute worker and its helpers)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                kids.append(int(entry.name))
    return [pid, *kids]


def _reset_peaks(pids: list[int]) -> None:
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def routes(conn: http.client.HTTPConnection) -> list[tuple[str, str, bytes | None]]:
    """(method, path, JSON body) of every public route at its costliest."""
    _, _, body = get(conn, "/api/neighborhoods")
    nbhd = json.loads(body)["features"][0]["id"]
    _, _, body = get(conn, "/api/wards")
    ward = json.loads(body)["features"][0]["id"]
    _, _, body = get(conn, "/api/summary")
    year = json.loads(body)["years"][0]
    out: list[tuple[str, str, bytes | None]] = [
        ("GET", "/api/summary", None), ("GET", "/api/gaps?top=1000", None),
        ("GET", "/api/neighborhoods?tolerance=0", None), ("GET", "/api/wards?tolerance=0", None),
        ("GET", "/api/neighborhoods?format=csv", None), ("GET", "/api/providers", None),
        ("GET", f"/api/neighborhoods/{nbhd}", None), ("GET", f"/api/wards/{ward}", None),
        ("GET", "/api/hexbins?size=100", None), ("GET", f"/api/hexbins?size=100&year={year}", None),
        *[("GET", f"/api/hexbins?size=100&family={f}", None) for f in FAMILIES],
        ("GET", "/report", None), ("GET", "/maps/gaps", None), ("GET", f"/maps/wards/{ward}", None),
        ("GET", "/api/export.gpkg", None),
        *[("GET", f"/ogc/collections/{c}/items?limit=10000", None)
          for c in ("neighborhoods", "wards", "providers", "hexbins")],
        *[("GET", f"/api/sites?family={f}&k=20", None) for f in FAMILIES],
        ("GET", "/api/sites?family=prevention&k=20&catchment=6000", None),
    ]
    _, _, body = get(conn, "/api/providers")  # 100 providers around the served ones
    points = [f["geometry"]["coordinates"] for f in json.loads(body)["features"]]
    providers = [{"name": f"p{i}", "service_type": "youth_program", "capacity": 8,
                  "latitude": points[i % len(points)][1] + 1e-3 * (i // len(points)),
                  "longitude": points[i % len(points)][0]} for i in range(100)]
    out.append(("POST", "/api/scenarios", json.dumps({"providers": providers}).encode()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, help="workspace to serve (default: a new demo)")
    ap.add_argument("--calls", type=int, default=650_000, help="calls of the generated demo")
    args = ap.parse_args()
    budget = float(os.environ.get("SAFETYGAP_MEMORY_BUDGET_MB", "1000")) * 1e6
    procs: list = []
    with served_workspace(args.workspace, args.calls, procs=procs) as port:
        conn = http.client.HTTPConnection(HOST, port, timeout=600)
        plan = routes(conn)
        time.sleep(5)  # the compute worker reads the workspace
        pids = _family(procs[0].pid)
        rest = {pid: _status(pid)["VmRSS"] for pid in pids}
        print(f"resting: server {rest[pids[0]] / 1e6:,.0f} MB, compute worker(s) "
              f"{sum(v for p, v in rest.items() if p != pids[0]) / 1e6:,.0f} MB")
        print(f"at the start: {load_average()}")
        print(f"{'route':<58} {'status':>6} {'bytes':>12} {'s':>6} {'peak +MB':>9} "
              f"{'server':>7}")
        worst, over = 0.0, []
        for method, path, body in plan:
            pids = _family(procs[0].pid)
            _reset_peaks(pids)
            before = {pid: _status(pid)["VmRSS"] for pid in pids}
            t0 = time.perf_counter()
            conn = http.client.HTTPConnection(HOST, port, timeout=600)  # idle ones close
            conn.request(method, path, body=body,
                         headers={"Content-Type": "application/json"} if body else {})
            resp = conn.getresponse()
            data = resp.read()
            dt = time.perf_counter() - t0
            grown = sum(max(0, _status(p)["VmHWM"] - before.get(p, rest.get(p, 0)))
                        for p in pids if Path(f"/proc/{p}").exists())
            server = max(0, _status(pids[0])["VmHWM"] - before[pids[0]])
            worst = max(worst, grown)
            if grown > budget and resp.status not in (422, 503):
                over.append(path)
            print(f"{method + ' ' + path:<58.58} {resp.status:>6} {len(data):>12,} "
                  f"{dt:>6.1f} {grown / 1e6:>9.1f} {server / 1e6:>7.1f}")
        print(f"at the end: {load_average()}")
        print(f"largest peak over the resting server: {worst / 1e6:,.0f} MB "
              f"({worst / budget:.2f}x the budget of {budget / 1e6:,.0f} MB)")
    if over:
        print(f"over the budget without refusing: {over}")
        sys.exit(1)


if __name__ == "__main__":
    main()
