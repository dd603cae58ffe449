"""Large synthetic calls inputs, written in partitions without holding them in memory.

Writes the synthetic demo city (boundaries, providers, population) into ``--out`` and
``--calls`` calls into ``--out/calls/`` as ``--partition-size`` partitions (Parquet by
default, or CSV), one partition in memory at a time:

- a *template* of calls is generated once: the demo city's own calls (``--template-calls``,
  default 650,000, in the layout of the Minneapolis 911 layer, faults included);
- each partition draws its rows from the template with replacement (its own generator,
  seeded with ``[seed, partition]``, so any partition can be rewritten alone), gives every call a
  new unique ``Master_Incident_Number`` (``P<partition>-<row>``), moves its location by a
  Gaussian jitter of ``--jitter-m`` metres (default 25 m) and its time by a whole number of
  weeks (so hour of week and season stay as generated) within the template's years;
- ``--duplicates-per-million`` rows (default 55, the demo city's share) repeat the id of an
  earlier call: half of an earlier row of the same partition, half of a row of an earlier
  partition (the first partition's all within it), so a reader must find repeated ids
  across partitions. Their count is in ``make_calls.json``.

Peak memory is the template plus one partition, whatever ``--calls`` is (about 0.5 GB for
partitions of 1,000,000 calls). Then::

    safetygap analyze --calls OUT/calls --preset minneapolis-911 \\
        --providers OUT/providers.csv --neighborhoods OUT/neighborhoods.gpkg \\
        --wards OUT/wards.gpkg --population OUT/population.csv --out WORKSPACE

    python bench/make_calls.py --calls 30000000 --out DIR [--partition-size 1000000]
                               [--format parquet|csv] [--seed 2025] [--template-calls N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

METRES_PER_DEGREE_LAT = 111_320.0
WEEK_MS = 7 * 86_400_000


def template(seed: int, n_calls: int, out: Path) -> pd.DataFrame:
    """The demo city written to ``out`` (calls file left out); its calls as the template."""
    from safetygap.demo import generate_city, write_city

    city = generate_city(seed=seed, n_calls=n_calls)
    paths = write_city(city, out)
    paths["calls"].unlink()  # the partitions replace it
    return city.calls


def call_id(partition: int, row: int) -> str:
    return f"P{partition:05d}-{row:07d}"


def repeated_ids(rng: np.random.Generator, index: int, size: int, partition_size: int,
                 per_million: float) -> tuple[np.ndarray, list[str]]:
    """Rows of partition ``index`` that repeat an earlier call's id, and those ids: odd rows
    only, repeating even rows only (never themselves repeats), so every one of them is a
    repeated id and the count is exact."""
    odd = np.arange(1, size, 2)
    n = int(rng.binomial(len(odd), min(1.0, 2 * per_million / 1e6))) if len(odd) else 0
    rows = np.sort(rng.choice(odd, size=n, replace=False)) if n else np.zeros(0, np.int64)
    ids = []
    for k, r in enumerate(rows):
        if index == 0 or k % 2 == 0:  # an earlier (even) row of this partition
            ids.append(call_id(index, 2 * int(rng.integers(0, (r + 1) // 2))))
        else:  # an even row of an earlier partition
            ids.append(call_id(int(rng.integers(0, index)),
                               2 * int(rng.integers(0, (partition_size + 1) // 2))))
    return rows, ids


def partition(tmpl: pd.DataFrame, index: int, size: int, *, seed: int,
              jitter_m: float, partition_size: int | None = None,
              duplicates_per_million: float = 0.0) -> pd.DataFrame:
    """Partition ``index`` of ``size`` calls drawn from ``tmpl`` (see the module docstring);
    earlier partitions hold ``partition_size`` calls each (default ``size``)."""
    rng = np.random.default_rng([seed, index])
    take = rng.integers(0, len(tmpl), size)
    part = tmpl.iloc[take].reset_index(drop=True)
    ids = np.array([call_id(index, i) for i in range(size)], dtype=object)
    rows, repeated = repeated_ids(np.random.default_rng([seed, index, 1]), index, size,
                                  partition_size or size, duplicates_per_million)
    ids[rows] = repeated
    part["Master_Incident_Number"] = ids
    part.attrs["repeated_ids"] = len(rows)
    part["OBJECTID"] = np.arange(size, dtype=np.int64) + index * 10_000_000
    lat = pd.to_numeric(part["Latitude"], errors="coerce").to_numpy()
    lon = pd.to_numeric(part["Longitude"], errors="coerce").to_numpy()
    located = np.isfinite(lat) & np.isfinite(lon) & (lat != 0) & (lon != 0)
    dy = rng.normal(0.0, jitter_m, size) / METRES_PER_DEGREE_LAT
    dx = rng.normal(0.0, jitter_m, size) / (METRES_PER_DEGREE_LAT *
                                            np.cos(np.radians(np.where(located, lat, 0))))
    part["Latitude"] = np.where(located, np.round(lat + dy, 7), lat)
    part["Longitude"] = np.where(located, np.round(lon + dx, 7), lon)
    for col, src in (("geom_x", "Longitude"), ("geom_y", "Latitude")):
        if col in part:  # the layer's point geometry, as the city's export rounds it
            part[col] = np.where(located, np.round(part[src].to_numpy(), 5), part[col])
    ms = pd.to_numeric(part["Response_Date"], errors="coerce").to_numpy()
    dated = np.isfinite(ms)
    if dated.any():
        lo, hi = np.nanmin(ms), np.nanmax(ms)
        weeks = rng.integers(-8, 9, size) * WEEK_MS
        shifted = ms + weeks
        inside = dated & (shifted >= lo) & (shifted <= hi)
        part["Response_Date"] = pd.array(np.where(inside, shifted, ms), dtype="Int64")
    return part


def write_partition(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "parquet":
        pq.write_table(table, tmp, row_group_size=250_000)
    else:
        pacsv.write_csv(table, tmp)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=30_000_000, help="number of calls")
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--partition-size", type=int, default=1_000_000)
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--template-calls", type=int, default=650_000)
    ap.add_argument("--jitter-m", type=float, default=25.0)
    ap.add_argument("--duplicates-per-million", type=float, default=55.0,
                    help="rows repeating an earlier call's id, per million calls")
    args = ap.parse_args(argv)
    if args.calls < 1 or args.partition_size < 1:
        ap.error("--calls and --partition-size must be at least 1")
    out: Path = args.out
    calls_dir = out / "calls"
    calls_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tmpl = template(args.seed, args.template_calls, out)
    print(f"template: {len(tmpl):,} demo calls in {time.perf_counter() - t0:.1f} s", flush=True)
    n_parts = -(-args.calls // args.partition_size)
    written = repeats = 0
    for i in range(n_parts):
        size = min(args.partition_size, args.calls - written)
        part = partition(tmpl, i, size, seed=args.seed, jitter_m=args.jitter_m,
                         partition_size=args.partition_size,
                         duplicates_per_million=args.duplicates_per_million)
        repeats += int(part.attrs["repeated_ids"])
        write_partition(part, calls_dir / f"part-{i:05d}.{args.format}", args.format)
        written += size
        rate = written / (time.perf_counter() - t0)
        print(f"  partition {i + 1}/{n_parts}: {written:,} calls ({rate:,.0f} calls/s)",
              flush=True)
    meta = {"calls": written, "partitions": n_parts, "format": args.format,
            "seed": args.seed, "template_calls": len(tmpl), "jitter_m": args.jitter_m,
            "duplicates_per_million": args.duplicates_per_million,
            "repeated_ids": repeats, "synthetic": True}
    (out / "make_calls.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{written:,} calls in {n_parts} partitions under {calls_dir} "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
