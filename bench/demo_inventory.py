"""Time the demo city's inventory: making its sources and building providers.csv from them
(providers osm, geocode, merge), against generating and writing the whole city in the same
run.

    python bench/demo_inventory.py [--calls 650000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=650_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from safetygap.demo import FILES, generate_city, write_city
    from safetygap.demo._inventory import inventory_sources
    from safetygap.demo.city import INVENTORY_SOURCES
    from safetygap.demo.inventory import build_inventory

    t0 = time.perf_counter()
    city = generate_city(n_calls=args.calls)
    generate = time.perf_counter() - t0
    writes, sources, builds = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_city(city, out)  # warm: imports, GDAL
        for _ in range(args.runs):
            t0 = time.perf_counter()
            write_city(city, out)
            writes.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            inventory_sources(city)
            sources.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            report = build_inventory(out, files={k: FILES[k] for k in (*INVENTORY_SOURCES,
                                                                         "neighborhoods")})
            builds.append(time.perf_counter() - t0)
    w, s, b = (statistics.median(x) for x in (writes, sources, builds))
    print(f"demo city, {args.calls:,} calls; medians over {args.runs} runs")
    print(f"  generate_city                      {generate:6.2f} s (once)")
    print(f"  write_city (everything)            {w:6.2f} s")
    print(f"    of which inventory sources       {s:6.2f} s")
    print(f"    of which building providers.csv  {b:6.2f} s "
          f"(osm + geocode + merge: {report.merge['providers']} providers)")
    print(f"  inventory / (generate + write) = {(s + b) / (generate + w):.2f}")


if __name__ == "__main__":
    main()
