"""First visit of every page in Chromium, and its weight: with the answers computed when the
analysis is built (``safetygap serve`` on a workspace analysed with precomputation, the view
opened and warmed at start) against the same pages computed on demand (a copy of the
workspace without its precomputed answers, served without warming), in the same run.

For each page: the time from navigation until the page has drawn what it fetches (the map's
areas, providers and sites; for text pages, their load), and the bytes it transferred
(HTML, scripts, styles, fonts, data). Targets: under 1 s and under 1 MB each.

    python bench/pages.py [--workspace DIR | --calls 650000] [--seed 2025]

Needs Chromium (/usr/bin/chromium) and Playwright (the project's test extra). All traffic
stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"
PAGES = [
    ("/", None),
    ("/maps/gaps", "data-sg-areas"),
    ("/maps/wards/6", "data-sg-areas"),
    ("/wards/6", None),
    ("/neighborhoods/{nbhd}", None),
    ("/maps/sites", "data-sg-sites"),
    ("/maps/sites?family=prevention", "data-sg-sites"),
    ("/report", None),
]
"""(path, attribute of the map that says the page has drawn its data)."""
TARGET_S = 1.0
TARGET_BYTES = 1_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(cmd: list[str], port: int) -> Iterator[str]:
    """A server started with ``cmd`` in a child process, stopped at the end."""
    import http.client

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield f"http://{HOST}:{port}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()


def visit(browser, url: str, ready: str | None) -> tuple[float, int]:
    """Seconds until ``url`` has drawn its data, and the bytes it transferred."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    sizes: list[int] = []

    def on_finished(request) -> None:
        with contextlib.suppress(Exception):
            sizes.append(request.sizes()["responseBodySize"])

    page.on("requestfinished", on_finished)
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
        f"http://{HOST}") else r.abort())
    t0 = time.perf_counter()
    page.goto(url, wait_until="load", timeout=600_000)
    if ready:
        page.wait_for_selector(f".folium-map[{ready}]:not([{ready}='loading'])",
                               state="attached", timeout=600_000)
    elapsed = time.perf_counter() - t0
    page.wait_for_timeout(300)  # late requests (fonts) counted in the weight
    page.close()
    return elapsed, sum(sizes)


def measure(base: str, browser, nbhd: str) -> list[tuple[str, float, int]]:
    return [(path.format(nbhd=nbhd), *visit(browser, base + path.format(nbhd=nbhd), ready))
            for path, ready in PAGES]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", type=Path, help="an analysed workspace (default: the demo "
                                                   "city, generated first)")
    ap.add_argument("--calls", type=int, default=650_000)
    ap.add_argument("--seed", type=int, default=2025)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from safetygap.api.precompute import DIRECTORY, precompute

    tmp = Path(tempfile.mkdtemp(prefix="safetygap-bench-pages-"))
    try:
        ws = args.workspace
        if ws is None:
            from safetygap.run import run_demo

            print(f"building the demo city ({args.calls:,} calls, seed {args.seed}) ...",
                  flush=True)
            t0 = time.perf_counter()
            _, ws = run_demo(tmp / "demo", seed=args.seed, n_calls=args.calls, quiet=True)
            print(f"  analysed in {time.perf_counter() - t0:.1f} s")
        print("precomputing the report and the default sites ...", flush=True)
        timings = precompute(ws)
        print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
              + f"; total {sum(timings.values()):.1f} s")
        plain = tmp / "on-demand"
        shutil.copytree(ws, plain, ignore=shutil.ignore_patterns(DIRECTORY))
        import geopandas as gpd

        nbhd = str(gpd.read_parquet(Path(ws) / "neighborhoods.parquet")["area_id"].iloc[0])
        env = {**os.environ, "SAFETYGAP_TILES": "none"}
        os.environ.update(env)
        p1, p2 = free_port(), free_port()
        fast_cmd = [sys.executable, "-m", "safetygap.cli", "serve", "--workspace", str(ws),
                    "--host", HOST, "--port", str(p1)]
        slow_cmd = [sys.executable, "-c",
                    "import sys, uvicorn; from safetygap.api.app import create_app; "
                    "uvicorn.run(create_app(sys.argv[1]), host=sys.argv[2], "
                    "port=int(sys.argv[3]), log_level='warning')", str(plain), HOST, str(p2)]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--headless", "--no-sandbox"])
            with serving(fast_cmd, p1) as base:
                fast = measure(base, browser, nbhd)
            with serving(slow_cmd, p2) as base:
                slow = measure(base, browser, nbhd)
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'page':34} {'first visit':>12} {'on demand':>10} {'ratio':>6} "
          f"{'weight':>9}  targets")
    ok = True
    for (path, t, size), (_, t_slow, _) in zip(fast, slow, strict=True):
        met = t < TARGET_S and size < TARGET_BYTES
        ok &= met
        print(f"{path:34} {t:>10.2f} s {t_slow:>8.2f} s {t_slow / t:>6.1f} "
              f"{size / 1e3:>7.0f} kB  {'met' if met else 'MISSED'}")
    print(f"\nevery page under {TARGET_S:g} s and {TARGET_BYTES / 1e6:g} MB: "
          f"{'yes' if ok else 'no'}")
    print("load average (1, 5, 15 min) at the end: "
          + ", ".join(f"{x:.1f}" for x in os.getloadavg())
          + f" on {os.cpu_count()} cores (other work on the machine slows every page)")


if __name__ == "__main__":
    main()
