"""Whole analysis of a large city: wall time and peak memory of `safetygap analyze`.

Generates the input once into ``--dir`` (default: a folder under the system
temp directory): the synthetic demo city (``safetygap.demo``) with
``--calls`` calls (default 3,000,000); when the demo generator is not
installed, a synthetic Minneapolis-911-style CSV over the real Minneapolis
neighborhoods and wards in ``../shared/data/minneapolis``. Then runs
``safetygap analyze`` as a subprocess and prints its wall time and peak
resident memory (from ``/usr/bin/time -v`` when present, else
``getrusage(RUSAGE_CHILDREN)``), against the targets of 60 s and 3 GB.

    python bench/analyze.py [--calls N] [--dir DIR] [--engine memory|dask] [--regenerate]
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

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "minneapolis"
TARGET_S = 60.0
TARGET_GB = 3.0
COLUMNS = ["Master_Incident_Number", "Agency_Type", "Problem__Final_", "Response_Date",
           "Latitude", "Longitude"]


def generate_demo(out: Path, n_calls: int, seed: int) -> list[str]:
    """The demo city's files; returns the analyze arguments for them."""
    from safetygap.demo import generate_city, write_city
    from safetygap.pipeline import default_inputs

    write_city(generate_city(seed=seed, n_calls=n_calls), out)
    inp = default_inputs(out)
    return ["--calls", str(inp.calls), "--providers", str(inp.providers),
            "--neighborhoods", str(inp.neighborhoods), "--wards", str(inp.wards),
            "--population", str(inp.population), "--preset", "minneapolis-911"]


def generate_synthetic(out: Path, n_calls: int, seed: int) -> list[str]:
    """A Minneapolis-911-style calls CSV over the real boundaries; returns analyze args.

    Calls are drawn in chunks and streamed to the CSV: about 2 % with 0,0
    locations, 0.5 % missing locations, 0.5 % duplicated ids, 0.2 % bad dates,
    3 % unknown call types, the rest spread over the taxonomy's types and
    three years, clustered around 300 hot spots in the city.
    """
    import geopandas as gpd
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from safetygap.taxonomy import load_taxonomy

    if not SHARED.is_dir():
        raise SystemExit(f"no demo generator and no real data at {SHARED}")
    rng = np.random.default_rng(seed)
    nbhd = gpd.read_file(SHARED / "boundaries" / "Minneapolis_Neighborhoods.geojson")
    xmin, ymin, xmax, ymax = nbhd.total_bounds
    hot = np.column_stack([rng.uniform(xmin, xmax, 300), rng.uniform(ymin, ymax, 300)])
    tax = load_taxonomy()
    types = np.array([t.title() + " (P)" for t in sorted(tax.type_to_category)]
                     + ["Mystery Call (P)", "Other Thing"], dtype=object)
    weights = np.ones(len(types))
    weights[-2:] = 0.03 * len(types) / 2 / 0.97
    weights /= weights.sum()
    agencies = np.array(["POLICE", "FIRE", "BCR", "TRAFFIC", "ANIMAL", "311"], dtype=object)
    agency_p = [0.82, 0.08, 0.04, 0.03, 0.01, 0.02]
    t0 = np.datetime64("2022-01-01T00:00:00", "ms").astype(np.int64)
    span = 3 * 365 * 24 * 3600 * 1000
    path = out / "calls.csv"
    chunk = 500_000
    writer = None
    try:
        for start in range(0, n_calls, chunk):
            m = min(chunk, n_calls - start)
            centre = hot[rng.integers(0, len(hot), m)]
            lon = centre[:, 0] + rng.normal(0, 0.01, m)
            lat = centre[:, 1] + rng.normal(0, 0.007, m)
            lon, lat = np.round(lon, 7), np.round(lat, 7)
            zero = rng.random(m) < 0.02
            lon[zero], lat[zero] = 0.0, 0.0
            ids = np.char.add("MP", (start + np.arange(m)).astype(str)).astype(object)
            dup = rng.random(m) < 0.005
            ids[dup] = np.char.add("MP", np.maximum(start + np.arange(m)[dup] - 7, 0)
                                   .astype(str)).astype(object)
            when = (t0 + rng.integers(0, span, m)).astype(str).astype(object)
            when[rng.random(m) < 0.002] = "not a date"
            missing = rng.random(m) < 0.005
            frame = pd.DataFrame({
                "Master_Incident_Number": ids,
                "Agency_Type": agencies[rng.choice(len(agencies), m, p=agency_p)],
                "Problem__Final_": types[rng.choice(len(types), m, p=weights)],
                "Response_Date": when,
                "Latitude": pd.array(np.where(missing, None, lat.astype(str)), dtype="string"),
                "Longitude": pd.array(np.where(missing, None, lon.astype(str)),
                                      dtype="string"),
            })
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pacsv.CSVWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    providers = _real_providers(out)
    return ["--calls", str(path), "--providers", str(providers),
            "--neighborhoods", str(SHARED / "boundaries" / "Minneapolis_Neighborhoods.geojson"),
            "--wards", str(SHARED / "boundaries" / "City_Council_Wards_2012-2022.geojson"),
            "--population", str(SHARED / "population" / "MplsDemo_2015_ACS.csv"),
            "--preset", "minneapolis-911"]


def _real_providers(out: Path) -> Path:
    import geopandas as gpd
    import pandas as pd

    fire = pd.read_csv(SHARED / "facilities" / "Fire_Stations.csv", encoding="utf-8-sig")
    police = gpd.read_file(SHARED / "facilities" / "Police_Stations.geojson")
    rows = [{"provider_id": f"FS{r.STATION_NU}", "name": f"Fire Station {r.STATION_NU}",
             "service_type": "fire_station", "capacity": float(r.RIG_COUNT),
             "latitude": r.Y, "longitude": r.X} for r in fire.itertuples()]
    rows += [{"provider_id": f"PS{i + 1}", "name": r.BUILDING_N,
              "service_type": "police_station", "capacity": 1.0,
              "latitude": r.geometry.y, "longitude": r.geometry.x}
             for i, r in police.iterrows()]
    # a few prevention and restoration providers at the police stations' sites
    for i, r in police.iterrows():
        for st in ("youth_program", "victim_services"):
            rows.append({"provider_id": f"{st[:2].upper()}{i + 1}", "name": f"{st} {i + 1}",
                         "service_type": st, "capacity": 5.0,
                         "latitude": r.geometry.y + 0.003, "longitude": r.geometry.x})
    path = out / "providers.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run_measured(cmd: list[str]) -> tuple[float, float, int]:
    """Run ``cmd``; returns (wall seconds, peak RSS in GB, exit code)."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time")
                                        else None)
    if gnu_time:
        with tempfile.NamedTemporaryFile("r", suffix=".time") as fh:
            t0 = time.perf_counter()
            rc = subprocess.call([gnu_time, "-v", "-o", fh.name, *cmd])
            wall = time.perf_counter() - t0
            text = fh.read()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        if m:
            return wall, int(m.group(1)) / 1024**2, rc
    t0 = time.perf_counter()
    rc = subprocess.call(cmd)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak_kb / 1024**2, rc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=3_000_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "safetygap-bench-analyze")
    ap.add_argument("--source", choices=["auto", "demo", "synthetic"], default="auto")
    ap.add_argument("--engine", choices=["memory", "dask"], default="memory")
    ap.add_argument("--regenerate", action="store_true", help="rebuild the input files")
    args = ap.parse_args(argv)

    source = args.source
    if source == "auto":
        try:
            import safetygap.demo  # noqa: F401
            source = "demo"
        except ImportError:
            source = "synthetic"
    data = args.dir / f"{source}-{args.calls}-{args.seed}"
    stamp = data / "args.txt"
    if args.regenerate and data.exists():
        shutil.rmtree(data)
    if not stamp.is_file():
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.calls:,} {source} calls into {data} ...", flush=True)
        t0 = time.perf_counter()
        gen = generate_demo if source == "demo" else generate_synthetic
        stamp.write_text("\n".join(gen(data, args.calls, args.seed)))
        print(f"  generated in {time.perf_counter() - t0:.1f} s", flush=True)
    inputs = stamp.read_text().splitlines()
    calls_mb = Path(inputs[inputs.index("--calls") + 1]).stat().st_size / 1024**2
    exe = Path(sys.executable).with_name("safetygap")
    cmd = [str(exe) if exe.exists() else "safetygap", "analyze", *inputs,
           "--out", str(args.dir / f"workspace-{args.engine}"), "--engine", args.engine]
    print(f"running: safetygap analyze on {args.calls:,} calls ({calls_mb:,.0f} MB), "
          f"engine {args.engine}, {os.cpu_count()} cores", flush=True)
    wall, peak_gb, rc = run_measured(cmd)
    print(f"\nwall time:   {wall:7.1f} s   (target < {TARGET_S:.0f} s: "
          f"{'met' if wall < TARGET_S else 'NOT met'})")
    print(f"peak memory: {peak_gb:7.2f} GB  (target < {TARGET_GB:.0f} GB: "
          f"{'met' if peak_gb < TARGET_GB else 'NOT met'})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
