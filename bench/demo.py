"""Time the demo job end to end: generate the synthetic city and analyse it.

Runs ``safetygap demo --no-serve`` in a child process and prints wall time, peak memory
(resident set size of the child) and the per-step timings the analysis records, against the
issue's 60-second budget.

    python bench/demo.py [--calls 650000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 60.0


def run_once(calls: int) -> tuple[float, float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "safetygap.cli", "demo", "--no-serve", "--quiet",
               "--out", tmp, "--calls", str(calls)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        ws = Path(tmp) / "workspace"
        summary = json.loads((ws / "summary.json").read_text())
        manifest = json.loads((ws / "manifest.json").read_text())
        info = {"diverted_share": summary["diverted_share"]["all"],
                "timings": manifest.get("timings_s", {}),
                "calls": summary["totals"]["input_rows"]}
        return wall, max(peak_kb, before) / 1024, info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=650_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    walls, peaks = [], []
    info: dict = {}
    for i in range(args.runs):
        wall, peak, info = run_once(args.calls)
        walls.append(wall)
        peaks.append(peak)
        print(f"run {i + 1}: {wall:.1f} s, peak RSS {peak:.0f} MiB", flush=True)
    med = statistics.median(walls)
    print(f"\ndemo city, {info['calls']:,} calls: median wall {med:.1f} s "
          f"(min {min(walls):.1f}, max {max(walls):.1f}) over {args.runs} runs")
    print(f"budget {BUDGET_S:.0f} s: median / budget = {med / BUDGET_S:.2f}")
    print(f"peak RSS (largest run): {max(peaks):.0f} MiB")
    print(f"diverted share: {info['diverted_share']:.2%} (target 7-11%)")
    print("analysis steps of the last run (s):")
    for step, secs in info["timings"].items():
        print(f"  {secs:7.2f}  {step}")


if __name__ == "__main__":
    main()
