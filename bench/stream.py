"""The streaming engine against the in-memory engine: `safetygap analyze` time and memory.

Uses (or generates with ``bench/make_calls.py``) ``--calls`` synthetic calls in partitions
under ``--dir``, then runs ``safetygap analyze --engine memory`` and ``--engine stream`` on
the same partitions, alternately, ``--runs`` times, each in its own child process (its wall
time and peak resident memory from ``os.wait4``, per progress step its seconds and the
largest resident memory sampled from ``/proc``: ``bench/partitions.py``'s measurement), then
prints the medians, calls per second, the ratios stream / memory, the streaming engine's
own per-part seconds (its manifest's ``stream: ...`` timings), and whether the two
workspaces are identical (``bench/compare_workspaces.py``; the manifest's options differ
only by the engine and the batch size). ``--engines stream`` runs the streaming engine alone
(for sizes the in-memory engine cannot hold); ``--engines stream,dask`` compares the dask
engine (its own LocalCluster of 2 workers; the largest process of the run is reported,
the client and every worker, sampled) with the streaming engine.

    python bench/stream.py [--calls 3000000] [--partition-size 500000] [--runs 1]
                           [--batch-rows 500000] [--engines memory,stream|stream,dask]
                           [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from partitions import _load, analyze_args, generate, run_measured  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=3_000_000)
    ap.add_argument("--partition-size", type=int, default=500_000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--batch-rows", type=int, default=500_000)
    ap.add_argument("--engines", default="memory,stream")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "safetygap-bench-stream")
    args = ap.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    data = args.dir / f"calls-{args.calls}-{args.partition_size}-parquet-{args.seed}"
    if not (data / "make_calls.json").is_file():
        print(f"generating {args.calls:,} calls into {data} ...", flush=True)
        generate(data, calls=args.calls, partition_size=args.partition_size, fmt="parquet",
                 seed=args.seed)
    parts = sorted((data / "calls").glob("part-*.parquet"))
    mb = sum(p.stat().st_size for p in parts) / 1024**2
    print(f"safetygap analyze on {args.calls:,} calls (Parquet, {len(parts)} partitions, "
          f"{mb:,.0f} MB), engines {', '.join(engines)}; stream batches of "
          f"{args.batch_rows:,} rows", flush=True)
    results: dict[str, list[dict[str, dict[str, float]]]] = {e: [] for e in engines}
    parts_s: dict[str, dict[str, float]] = {}
    for run in range(args.runs):
        for engine in engines:
            ws = args.dir / f"workspace-{engine}"
            cmd = [*analyze_args(data, data / "calls", ws), "--engine", engine]
            if engine in ("stream", "dask"):
                cmd += ["--batch-rows", str(args.batch_rows)]
            r = run_measured(cmd)
            results[engine].append(r)
            print(f"  run {run + 1} {engine:7s} wall {r['total']['s']:6.1f} s  peak "
                  f"{r['total']['mb']:7,.0f} MB" + (
                      f"; largest of its {r['others']['s']:.0f} child processes "
                      f"{r['others']['mb']:,.0f} MB" if r["others"]["s"] else ""), flush=True)
            if engine in ("stream", "dask"):
                timings = json.loads((ws / "manifest.json").read_text())["timings_s"]
                parts_s[engine] = {k: v for k, v in timings.items()
                                   if k.startswith("stream: ")}
    med = {e: {step: {k: statistics.median(r[step][k] for r in rs if step in r)
                      for k in ("s", "mb")} for step in rs[0]}
           for e, rs in results.items()}
    print(f"\n{'engine':8s} {'wall s':>8s} {'calls/s':>11s} {'peak MB':>9s} "
          f"{'largest child MB':>17s}")
    for e, m in med.items():
        print(f"{e:8s} {m['total']['s']:8.1f} {args.calls / m['total']['s']:11,.0f} "
              f"{m['total']['mb']:9,.0f} {m['others']['mb']:17,.0f}")
    if len(engines) == 2:
        a, b = (med[e] for e in engines)
        print(f"{engines[1]} / {engines[0]}: wall {b['total']['s'] / a['total']['s']:.2f}, "
              f"peak memory {b['total']['mb'] / a['total']['mb']:.2f}")
    print("\nper step: seconds, largest resident memory sampled (MB), per engine")
    steps = list(dict.fromkeys(k for e in engines for k in med[e]
                               if k not in ("total", "others")))
    for k in steps:
        cells = "".join(f"  {med[e].get(k, {}).get('s', float('nan')):6.1f} s "
                        f"{med[e].get(k, {}).get('mb', float('nan')):7,.0f} MB"
                        for e in engines)
        print(f"  {k[:56]:56s}{cells}")
    for engine, parts in parts_s.items():
        print(f"\n{engine}: seconds per part over every batch, last run (dask: added over "
              "its workers; 'dask: ...' the client's own wall time): "
              + ", ".join(f"{k[8:]} {v:.1f}" for k, v in parts.items()))
    if len(engines) == 2:
        cw = _load("compare_workspaces")
        diffs = cw.compare(*(args.dir / f"workspace-{e}" for e in engines))
        manifest = [d for d in diffs["manifest.json"]
                    if not any(f".options.{o}" in d for o in ("engine", "batch_rows"))]
        same = not manifest and not any(v for k, v in diffs.items() if k != "manifest.json")
        print(f"\nworkspaces identical (every table, summary, quality; the manifest but "
              f"the engine and batch size): {'yes' if same else 'NO'}")
        for name, found in diffs.items():
            for d in found[:5]:
                print(f"  {name}: {d}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
