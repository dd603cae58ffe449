"""Whole analysis of a large city: wall time and peak memory of `safetygap analyze`.

Generates the input once into ``--dir`` (default: a folder under the system
temp directory): the synthetic demo city (``safetygap.demo``) with
``--calls`` calls (default 3,000,000) as a Minneapolis-911-style CSV. Then
runs ``safetygap analyze`` on it as a subprocess and prints its wall time and
peak resident memory (from ``/usr/bin/time -v`` when present, else
``getrusage(RUSAGE_CHILDREN)``), against the targets of 15 s and 2 GB for the
analysis without its bootstrap step (the bootstrap of the ranks and the hot
spots are timed separately, from the workspace's per-step timings). The
peak is that of the analysis process. ``--engine dask`` reads this one calls file as one
task on one worker; ``bench/stream.py --engines stream,dask`` measures the dask engine on
a dataset of files, each worker reading its own (with the largest process of the run).

As a baseline in the same run (unless ``--no-baseline``) the same analysis runs
with the earlier methods (residents at the centroids, the truncated Gaussian,
no bootstrap, no hot spots: ``--demand centroid --kernel truncated_gaussian
--bootstrap 0 --method hotspot_permutations=0``) and the ratio of wall times
is printed: what the demand grid, the intervals, the classes, the bootstrap and
the hot spots cost.

``--format geoparquet`` converts the calls to GeoParquet first (point geometry
in EPSG:4326 instead of the Latitude/Longitude columns, row groups of 1,000,000
calls) and analyses that (``--lat "" --lon ""``: coordinates from the
geometry). As a baseline measured in the same run it then reads the calls
alone twice, each in its own process: streamed as ``safetygap analyze`` reads
them (``read_calls``: mapped columns and geometry in batches) and whole (the
file read by ``geopandas.read_parquet``, then converted in one batch, as
GeoParquet calls were read before), printing both peaks and their ratio.

With ``--without-bootstrap`` the same analysis also runs with the bootstrap and hot
spots turned off (``--bootstrap 0 --method hotspot_permutations=0``) and its whole wall
time is printed: the 15 s target measured directly.

With ``--code-baseline REV`` the same analysis also runs with the code of git revision
REV (exported with ``git archive``, as bench/compare_workspaces.py does), alternately with
this code ``--rounds`` times each: the best wall time, peak memory and per-step seconds of
each code, their ratios and the load average are printed, and the two workspaces are
compared exactly (a speed-up must not change any result).

    python bench/analyze.py [--calls N] [--seed S] [--dir DIR] [--engine memory|dask]
                            [--format csv|geoparquet] [--regenerate] [--no-baseline]
                            [--without-bootstrap]
                            [--code-baseline REV] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 15.0
TARGET_GB = 2.0
BOOTSTRAP_STEP = "bootstrap of the ranks and hot spots"
NO_BOOTSTRAP = ["--bootstrap", "0", "--method", "hotspot_permutations=0"]
BASELINE_METHODS = ["--demand", "centroid", "--kernel", "truncated_gaussian", "--bootstrap", "0",
                    "--method", "hotspot_permutations=0"]


def generate_demo(out: Path, n_calls: int, seed: int) -> list[str]:
    """The demo city's files; returns the analyze arguments for them."""
    from safetygap.demo import generate_city, write_city
    from safetygap.pipeline import default_inputs

    write_city(generate_city(seed=seed, n_calls=n_calls), out)
    inp = default_inputs(out)
    return ["--calls", str(inp.calls), "--providers", str(inp.providers),
            "--neighborhoods", str(inp.neighborhoods), "--wards", str(inp.wards),
            "--population", str(inp.population), "--preset", "minneapolis-911"]


GEOPARQUET_ROW_GROUP = 1_000_000


def to_geoparquet(csv: Path, out: Path) -> None:
    """The demo calls CSV as GeoParquet: Latitude/Longitude become point geometry."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from safetygap._geoparquet import geo_metadata, point_wkb

    table = pacsv.read_csv(csv, convert_options=pacsv.ConvertOptions(
        column_types={"Latitude": pa.float64(), "Longitude": pa.float64()}))
    x = table.column("Longitude").to_numpy()
    y = table.column("Latitude").to_numpy()
    table = table.drop_columns(["Latitude", "Longitude"])
    table = table.append_column("geometry", point_wkb(np.asarray(x), np.asarray(y)))
    meta = dict(table.schema.metadata or {})
    meta[b"geo"] = geo_metadata("EPSG:4326", np.asarray(x), np.asarray(y))
    pq.write_table(table.replace_schema_metadata(meta), out,
                   row_group_size=GEOPARQUET_ROW_GROUP)


READ_ONLY = """
import sys
from safetygap.inputs import load_preset, read_calls
from safetygap.inputs.files import read_table
from safetygap.inputs.calls import _canonical
cmap = load_preset("minneapolis-911").with_overrides(latitude="", longitude="")
path, how = sys.argv[1], sys.argv[2]
if how == "streamed":
    n = len(read_calls(path, columns=cmap).frame)
else:
    t = read_table(path, where="calls", columns=sorted(set(cmap.required_columns().values())))
    n = len(_canonical(t.frame, t.geometry, cmap, t.crs, 0, {}, []))
print(n, "calls read", how)
"""


def step_timings(workspace: Path) -> dict[str, float]:
    """Seconds per pipeline step, from the workspace's manifest (empty when missing)."""
    import json

    try:
        manifest = json.loads((workspace / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in manifest.get("timings_s", {}).items()}


CPU_SECONDS: list[float] = []
"""User + system seconds of each run of :func:`run_measured`, in order (NaN when
unknown): less sensitive than the wall time to other work on a shared machine."""


def run_measured(cmd: list[str], *, src: Path | None = None) -> tuple[float, float, int]:
    """Run ``cmd`` (with the package of the source tree ``src`` first on the path, when
    given); returns (wall seconds, peak RSS in GB, exit code) and appends its CPU seconds
    to :data:`CPU_SECONDS`."""
    env = None if src is None else {**os.environ, "PYTHONPATH": str(src)}
    gnu_time = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time")
                                        else None)
    if gnu_time:
        with tempfile.NamedTemporaryFile("r", suffix=".time") as fh:
            t0 = time.perf_counter()
            rc = subprocess.call([gnu_time, "-v", "-o", fh.name, *cmd], env=env, cwd=src)
            wall = time.perf_counter() - t0
            text = fh.read()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        cpu = [re.search(rf"{k} time \(seconds\): ([\d.]+)", text) for k in ("User", "System")]
        if m:
            CPU_SECONDS.append(sum(float(c.group(1)) for c in cpu) if all(cpu)
                               else float("nan"))
            return wall, int(m.group(1)) / 1024**2, rc
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, env=env, cwd=src)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime)
    return wall, usage.ru_maxrss / 1024**2, rc


def code_command(src: Path, args: list[str]) -> list[str]:
    """``safetygap ARGS`` run with the package of the source tree ``src`` (asserted)."""
    code = ("import sys, safetygap\n"
            f"assert safetygap.__file__.startswith({str(src)!r}), safetygap.__file__\n"
            "from safetygap.cli import main\n"
            "sys.argv = ['safetygap', *sys.argv[1:]]\n"
            "sys.exit(main())\n")
    return [sys.executable, "-c", code, *args]


def code_baseline(rev: str, cmd: list[str], ws: Path, rounds: int) -> int:
    """The same analysis with this code and with the code of git revision ``rev``
    (exported with ``git archive``), run alternately ``rounds`` times each: wall time,
    peak memory and per-step seconds of both (best of the rounds), their ratios, and
    whether the two workspaces are identical (bench/compare_workspaces.py)."""
    from compare_workspaces import compare, source_tree

    rc = 0
    args = cmd[1:]
    out_at = args.index("--out") + 1
    runs: dict[str, list[tuple[float, float, dict[str, float]]]] = {"now": [], rev: []}
    cpu: dict[str, list[float]] = {"now": [], rev: []}
    with tempfile.TemporaryDirectory(prefix="safetygap-baseline-src-") as tmp:
        src = source_tree(rev, Path(tmp) / "src")
        for r in range(rounds):
            for who in ("now", rev) if r % 2 == 0 else (rev, "now"):
                out = ws.with_name(ws.name + ("-code-" + rev.replace("/", "_")
                                              if who == rev else ""))
                run_args = [*args[:out_at], str(out), *args[out_at + 1:]]
                wall, peak, code = (run_measured(code_command(ROOT, run_args), src=ROOT)
                                    if who == "now" else
                                    run_measured(code_command(src, run_args), src=src))
                rc = rc or code
                runs[who].append((wall, peak, step_timings(out)))
                cpu[who].append(CPU_SECONDS[-1])
                print(f"  round {r + 1}, {'this code' if who == 'now' else rev}: "
                      f"{wall:.1f} s ({cpu[who][-1]:.1f} CPU s), {peak:.2f} GB, load "
                      f"average {os.getloadavg()[0]:.1f}", flush=True)
    best = {who: (min(w for w, _, _ in v), min(p for _, p, _ in v),
                  {k: min(t[2].get(k, float("nan")) for t in v) for k in v[0][2]})
            for who, v in runs.items()}
    (wn, pn, sn), (wb, pb, sb) = best["now"], best[rev]
    print(f"\nthis code against {rev} (same run, best of {rounds}, load average "
          f"{os.getloadavg()[0]:.1f}):")
    for name in sn:
        print(f"  {sb.get(name, float('nan')):6.2f} s -> {sn[name]:6.2f} s  {name}")
    print(f"  wall {wb:.1f} s -> {wn:.1f} s (ratio {wn / wb:.2f}); CPU {min(cpu[rev]):.1f} s "
          f"-> {min(cpu['now']):.1f} s (ratio {min(cpu['now']) / min(cpu[rev]):.2f}); peak "
          f"{pb:.2f} GB -> {pn:.2f} GB (ratio {pn / pb:.2f})")
    diffs = compare(ws.with_name(ws.name + "-code-" + rev.replace("/", "_")), ws)
    same = not any(diffs.values())
    print(f"workspaces of the two codes: {'IDENTICAL' if same else 'DIFFERENT'}")
    for name, lines in diffs.items():
        for line in lines[:5]:
            print(f"    {name}: {line}")
    return rc or (0 if same else 1)


def _variant(cmd: list[str], ws: Path, suffix: str, extra: list[str]) -> list[str]:
    """``cmd`` writing to the workspace ``ws`` + ``suffix``, with ``extra`` options."""
    at = cmd.index("--out")
    return [*cmd[:at + 1], str(ws) + suffix, *cmd[at + 2:], *extra]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=3_000_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "safetygap-bench-analyze")
    ap.add_argument("--engine", choices=["memory", "dask"], default="memory")
    ap.add_argument("--format", choices=["csv", "geoparquet"], default="csv",
                    help="calls file format analysed")
    ap.add_argument("--regenerate", action="store_true", help="rebuild the input files")
    ap.add_argument("--without-bootstrap", action="store_true",
                    help="also run the analysis with the bootstrap and hot spots turned off "
                         "and time it whole (the 15 s target measured directly, not as the "
                         "wall time less the bootstrap step)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the baseline run with the earlier methods")
    ap.add_argument("--code-baseline", metavar="REV",
                    help="also run the same analysis with the code of git revision REV "
                         "(e.g. main~3), alternately with this code, and compare")
    ap.add_argument("--rounds", type=int, default=2,
                    help="runs of each code with --code-baseline (default 2)")
    args = ap.parse_args(argv)

    data = args.dir / f"demo-{args.calls}-{args.seed}"
    stamp = data / "args.txt"
    if args.regenerate and data.exists():
        shutil.rmtree(data)
    if not stamp.is_file():
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.calls:,} demo calls into {data} ...", flush=True)
        t0 = time.perf_counter()
        stamp.write_text("\n".join(generate_demo(data, args.calls, args.seed)))
        print(f"  generated in {time.perf_counter() - t0:.1f} s", flush=True)
    inputs = stamp.read_text().splitlines()
    i_calls = inputs.index("--calls") + 1
    if args.format == "geoparquet":
        gpq = data / "calls.geoparquet"
        if not gpq.is_file():
            print("converting the calls to GeoParquet ...", flush=True)
            to_geoparquet(Path(inputs[i_calls]), gpq)
        inputs[i_calls] = str(gpq)
        inputs += ["--lat", "", "--lon", ""]  # coordinates from the geometry
    calls_mb = Path(inputs[i_calls]).stat().st_size / 1024**2
    exe = Path(sys.executable).with_name("safetygap")
    ws = args.dir / f"workspace-{args.engine}-{args.format}"
    cmd = [str(exe) if exe.exists() else "safetygap", "analyze", *inputs,
           "--out", str(ws), "--engine", args.engine, "--quiet",
           "--no-precompute"]  # the analysis only, not the pages' precomputation
    print(f"running: safetygap analyze on {args.calls:,} calls ({args.format}, "
          f"{calls_mb:,.0f} MB), engine {args.engine}, {os.cpu_count()} cores", flush=True)
    wall, peak_gb, rc = run_measured(cmd)
    print(f"  {CPU_SECONDS[-1]:.1f} CPU seconds (user + system); load average "
          f"{os.getloadavg()[0]:.1f}")
    steps = step_timings(ws)
    boot = steps.get(BOOTSTRAP_STEP, 0.0)
    for name, secs in steps.items():
        print(f"  {secs:6.2f} s  {name}")
    print(f"\nwall time:   {wall:7.1f} s in all; {wall - boot:.1f} s without the bootstrap "
          f"and hot spots (target < {TARGET_S:.0f} s: "
          f"{'met' if wall - boot < TARGET_S else 'NOT met'}); bootstrap and hot spots "
          f"{boot:.1f} s")
    print(f"peak memory: {peak_gb:7.2f} GB  (target < {TARGET_GB:.0f} GB: "
          f"{'met' if peak_gb < TARGET_GB else 'NOT met'})")
    if args.without_bootstrap:
        n_wall, n_peak, code = run_measured(_variant(cmd, ws, "-no-bootstrap", NO_BOOTSTRAP))
        rc = rc or code
        print(f"the same analysis run without the bootstrap and hot spots "
              f"({' '.join(NO_BOOTSTRAP)}): {n_wall:.1f} s wall (target < {TARGET_S:.0f} s: "
              f"{'met' if n_wall < TARGET_S else 'NOT met'}), {CPU_SECONDS[-1]:.1f} CPU "
              f"seconds, peak {n_peak:.2f} GB; load average {os.getloadavg()[0]:.1f}")
    if not args.no_baseline:
        b_wall, b_peak, code = run_measured(_variant(cmd, ws, "-baseline", BASELINE_METHODS))
        rc = rc or code
        print(f"baseline (earlier methods: centroids, truncated Gaussian, no bootstrap, no "
              f"hot spots): {b_wall:.1f} s, {b_peak:.2f} GB; ratio of wall times "
              f"{wall / b_wall:.2f} (without the bootstrap step {(wall - boot) / b_wall:.2f}), "
              f"of peaks {peak_gb / b_peak:.2f}")
    if args.code_baseline:
        rc = code_baseline(args.code_baseline, cmd, ws, args.rounds) or rc
    if args.format == "geoparquet":
        peaks = {}
        for how in ("streamed", "whole"):
            t, peaks[how], code = run_measured([sys.executable, "-c", READ_ONLY,
                                                inputs[i_calls], how])
            rc = rc or code
            print(f"reading the calls alone, {how}: {t:.1f} s, peak {peaks[how]:.2f} GB")
        print(f"peak memory of the read, streamed / whole: "
              f"{peaks['streamed'] / peaks['whole']:.2f}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
