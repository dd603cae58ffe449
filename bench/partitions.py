"""Calls in partitions against the same calls in one file: `safetygap analyze` time and memory.

Generates ``--calls`` synthetic calls once into ``--dir`` with ``bench/make_calls.py`` (the demo
city's boundaries, providers and population, and the calls in partitions of
``--partition-size`` calls, Parquet or CSV), then joins the partitions into one file of the
same format (the same rows in the same order; Parquet through a streaming writer, CSV by
concatenating the files' text without their repeated headers) as the baseline.

Then runs ``safetygap analyze`` on each, alternately, ``--runs`` times, each run in its own
child process, and prints per run its wall time, its peak resident memory (the child's own
``ru_maxrss``, from ``os.wait4``) and the time of the step that reads the calls; then the
medians, calls per second, the ratios partitioned / single file, and per progress step its
seconds and the largest resident memory sampled from ``/proc`` every 50 ms during it. Last
it compares the two workspaces of the last runs (``bench/compare_workspaces.py``): every
table and the summary must be equal; the manifest's record of the calls and the quality
report's file names are expected to differ (a dataset's examples name their file and row).

    python bench/partitions.py [--calls 3000000] [--partition-size 500000]
                               [--format parquet|csv] [--runs 1] [--dir DIR] [--seed 2025]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
READ_STEP = "reading and classifying calls"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def generate(data: Path, *, calls: int, partition_size: int, fmt: str, seed: int) -> None:
    """``bench/make_calls.py`` in a child process (its memory is not this process's)."""
    subprocess.run([sys.executable, str(HERE / "make_calls.py"), "--calls", str(calls),
                    "--out", str(data), "--partition-size", str(partition_size),
                    "--format", fmt, "--seed", str(seed)], check=True)


def join_partitions(parts: list[Path], out: Path, fmt: str) -> None:
    """The partitions as one file, one partition in memory at a time."""
    tmp = out.with_name(f".{out.name}.tmp")
    if fmt == "parquet":
        writer = None
        for p in parts:
            table = pq.read_table(p)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=250_000)
        assert writer is not None
        writer.close()
    else:
        with open(tmp, "wb") as fh:
            for i, p in enumerate(parts):
                with open(p, "rb") as src:
                    if i:
                        src.readline()  # the header, written once
                    shutil.copyfileobj(src, fh, 1 << 24)
    tmp.replace(out)


def analyze_args(data: Path, calls: Path, out: Path) -> list[str]:
    exe = Path(sys.executable).with_name("safetygap")
    return [str(exe) if exe.exists() else "safetygap", "analyze", "--calls", str(calls),
            "--providers", str(data / "providers.csv"),
            "--neighborhoods", str(data / "neighborhoods.gpkg"),
            "--wards", str(data / "wards.gpkg"), "--population", str(data / "population.csv"),
            "--preset", "minneapolis-911", "--out", str(out),
            "--no-precompute"]  # the analysis only, not the pages' precomputation


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, and theirs (from ``/proc``: Linux)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def run_measured(cmd: list[str], *, every_s: float = 0.05) -> dict[str, dict[str, float]]:
    """Run ``cmd``: its wall seconds and peak resident memory (MB, the child's own
    ``ru_maxrss``), and for each progress step it printed its seconds and the largest
    resident memory sampled during it (every ``every_s`` seconds from ``/proc``: a short
    spike between samples can be missed). ``"others"``: the largest resident memory
    sampled of any process the child started (the dask engine's workers), and how many
    there were."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    samples: list[tuple[float, float]] = []
    others: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss = _rss_mb(proc.pid)
            if rss is not None:
                samples.append((time.perf_counter(), rss))
            for pid in _descendants(proc.pid):
                rss = _rss_mb(pid)
                if rss is not None:
                    others[pid] = max(others.get(pid, 0.0), rss)
            stop.wait(every_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = [(time.perf_counter(), line) for line in proc.stderr]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.stderr.write("".join(line for _, line in lines))
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    steps: dict[str, dict[str, float]] = {}
    name, start = None, t0
    for t, line in lines:
        if m := re.match(r"\[\d+/\d+\] (.*) \.\.\.$", line.rstrip()):
            name, start = m.group(1), t
        elif (m := re.match(r"\s+done in ([\d.]+) s", line)) and name:
            during = [rss for ts, rss in samples if start <= ts <= t]
            steps[name] = {"s": float(m.group(1)), "mb": max(during, default=float("nan"))}
    return {"total": {"s": wall, "mb": usage.ru_maxrss / 1024},
            "others": {"s": float(len(others)), "mb": max(others.values(), default=0.0)},
            **steps}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=3_000_000)
    ap.add_argument("--partition-size", type=int, default=500_000)
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "safetygap-bench-partitions")
    args = ap.parse_args(argv)

    data = args.dir / f"calls-{args.calls}-{args.partition_size}-{args.format}-{args.seed}"
    meta = data / "make_calls.json"
    if not meta.is_file():
        print(f"generating {args.calls:,} calls into {data} ...", flush=True)
        generate(data, calls=args.calls, partition_size=args.partition_size, fmt=args.format,
                 seed=args.seed)
    suffix = f".{args.format}"
    parts = sorted((data / "calls").glob(f"part-*{suffix}"))
    single = data / f"calls{suffix}"
    if not single.is_file():
        print(f"joining {len(parts)} partitions into {single.name} ...", flush=True)
        join_partitions(parts, single, args.format)
    mb = sum(p.stat().st_size for p in parts) / 1024**2
    print(f"safetygap analyze on {args.calls:,} calls ({args.format}, {mb:,.0f} MB): one file "
          f"against {len(parts)} partitions of {args.partition_size:,}; {os.cpu_count()} cores",
          flush=True)
    inputs = {"single file": single, "partitions": data / "calls"}
    results: dict[str, list[dict[str, dict[str, float]]]] = {k: [] for k in inputs}
    for run in range(args.runs):
        for label, calls in inputs.items():
            ws = args.dir / f"workspace-{label.replace(' ', '-')}"
            r = run_measured(analyze_args(data, calls, ws))
            results[label].append(r)
            read = r.get(READ_STEP, {"s": float("nan"), "mb": float("nan")})
            print(f"  run {run + 1} {label:12s} wall {r['total']['s']:6.1f} s  peak "
                  f"{r['total']['mb']:7,.0f} MB  read step {read['s']:5.1f} s, "
                  f"{read['mb']:,.0f} MB", flush=True)
    med = {label: {step: {k: statistics.median(r[step][k] for r in rs if step in r)
                          for k in ("s", "mb")} for step in rs[0]}
           for label, rs in results.items()}
    print(f"\n{'input':12s} {'wall s':>8s} {'calls/s':>11s} {'peak MB':>9s} {'read s':>7s}")
    for label, m in med.items():
        print(f"{label:12s} {m['total']['s']:8.1f} {args.calls / m['total']['s']:11,.0f} "
              f"{m['total']['mb']:9,.0f} {m.get(READ_STEP, {'s': float('nan')})['s']:7.1f}")
    a, b = med["single file"], med["partitions"]
    print(f"partitions / single file: wall {b['total']['s'] / a['total']['s']:.2f}, peak "
          f"memory {b['total']['mb'] / a['total']['mb']:.2f}")
    print("\nper step, single file / partitions: seconds, largest resident memory sampled "
          "(MB)")
    for k in [k for k in a if k not in ("total", "others")]:
        nan = {"s": float("nan"), "mb": float("nan")}
        x, y = a[k], b.get(k, nan)
        print(f"  {k[:58]:58s} {x['s']:6.1f} {y['s']:6.1f}   {x['mb']:7,.0f} {y['mb']:7,.0f}")

    cw = _load("compare_workspaces")
    ws_a, ws_b = (args.dir / f"workspace-{k.replace(' ', '-')}" for k in inputs)
    diffs = cw.compare(ws_a, ws_b)
    tables = {k: v for k, v in diffs.items() if k not in ("manifest.json", "quality.json")}
    manifest = [d for d in diffs["manifest.json"] if "inputs.calls" not in d]
    qa, qb = (cw.normalised_json(w, "quality.json") for w in (ws_a, ws_b))
    strip = {k: [{f: v for f, v in e.items() if f not in ("file", "file_row")} for e in ex]
             for k, ex in qb["calls"]["examples"].items()}
    qb["calls"]["examples"], qb["calls"]["file"] = strip, qa["calls"]["file"]
    same = (not any(tables.values()) and not manifest
            and json.dumps(qa, sort_keys=True) == json.dumps(qb, sort_keys=True))
    print(f"\nresults identical (tables, summary, quality but file names, manifest but the "
          f"calls' record): {'yes' if same else 'NO'}")
    for name, found in diffs.items():
        for d in found[:5]:
            print(f"  {name}: {d}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
