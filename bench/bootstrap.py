"""The bootstrap of the ranks on its own: 200 replicates on the demo city.

Generates the demo city (``--calls`` calls, default 650,000) and analyses it once (the
workspace is kept in ``--dir``), then times, in this process:

* the analysis' bootstrap step (:func:`safetygap.stages.uncertainty.add_uncertainty` with
  the hot spots off): cluster ids, the sparse cluster matrices of both levels, the
  grouped multinomial draws and the rank summaries of every family and level, against
  the target of 30 s for 200 replicates;
* the Gi* hot spots alone (999 permutations, every family and level, need and score);
* as a baseline, the plain cluster bootstrap: each replicate draws the K clusters one by
  one (``rng.integers``), counts them (``np.bincount``) and multiplies by the same
  matrices; the ratio of the two, and the largest difference between the two methods'
  mean replicate counts relative to their standard deviation (both are the same
  distribution).

    python bench/bootstrap.py [--calls N] [--replicates R] [--dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

TARGET_S = 30.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=650_000)
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "safetygap-bench-bootstrap")
    args = ap.parse_args(argv)

    from safetygap.geo.bootstrap import cluster_ids, cluster_matrix, resample
    from safetygap.methods import Methods
    from safetygap.run import run_demo
    from safetygap.scenarios import load_baseline
    from safetygap.stages.uncertainty import add_uncertainty
    from safetygap.vocab import LEVELS
    from safetygap.workspace import Workspace

    ws = args.dir / f"demo-{args.calls}-{args.seed}" / "workspace"
    if not (ws / "manifest.json").is_file():
        print(f"generating and analysing the demo city ({args.calls:,} calls) ...", flush=True)
        run_demo(ws.parent, seed=args.seed, n_calls=args.calls, quiet=True)
    base = load_baseline(ws)
    stored = Workspace.open(ws)
    calls = base.calls
    from safetygap.tables import measures as M

    def without_uncertainty(layer):  # the stored layers hold the analysis' own results
        added = {*M.UNCERTAINTY_MEASURES, *M.HOTSPOT_MEASURES}
        return layer[[c for c in layer.columns
                      if (M.split_column(c) or ("", None))[0] not in added]]

    layers = {"neighborhood": without_uncertainty(stored.neighborhoods),
              "ward": without_uncertainty(stored.wards)}
    alloc = {lv: base.boundary[lv][base.policy] for lv in LEVELS}
    methods = replace(Methods(), bootstrap=args.replicates, hotspot_permutations=0)
    print(f"{len(calls):,} calls, {len(layers['neighborhood'])} neighborhoods, "
          f"{len(layers['ward'])} wards; {args.replicates} replicates", flush=True)

    t0 = time.perf_counter()
    add_uncertainty(calls, alloc, layers, methods=methods)
    boot_s = time.perf_counter() - t0
    print(f"bootstrap step: {boot_s:.2f} s (target < {TARGET_S:.0f} s: "
          f"{'met' if boot_s < TARGET_S else 'NOT met'})", flush=True)

    t0 = time.perf_counter()
    add_uncertainty(calls, alloc, layers, methods=replace(Methods(), bootstrap=0))
    print(f"Gi* hot spots (999 permutations, 3 families x 2 levels x 2 values): "
          f"{time.perf_counter() - t0:.2f} s", flush=True)

    # the resampling alone, grouped (ours) against draw-by-draw (baseline)
    cluster, k = cluster_ids(calls["x"].to_numpy(), calls["y"].to_numpy(),
                             calls["day"].to_numpy(), cell_m=methods.bootstrap_cell_m)
    fam = calls["family_code"].to_numpy().astype(np.int64)
    mats = []
    for lv in LEVELS:
        a = alloc[lv]
        f = fam[a.call]
        keep = f < 3
        mats.append(cluster_matrix(cluster[a.call][keep], a.area[keep] * 3 + f[keep], k,
                                   len(layers[lv]) * 3, weight=a.weight[keep]))
    t0 = time.perf_counter()
    (ours,) = resample(mats[:1], replicates=args.replicates, seed=1)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rng = np.random.default_rng(2)
    trans = mats[0].T.tocsr()
    naive = np.empty_like(ours)
    for r in range(args.replicates):
        times = np.bincount(rng.integers(0, k, size=k), minlength=k).astype(float)
        naive[r] = trans @ times
    naive_s = time.perf_counter() - t0
    sd = np.maximum(ours.std(axis=0), 1e-9)
    gap = float(np.max(np.abs(ours.mean(axis=0) - naive.mean(axis=0)) / sd))
    print(f"resampling the neighborhoods' counts, {k:,} clusters: grouped multinomial "
          f"{ours_s:.2f} s, draw-by-draw baseline {naive_s:.2f} s (ratio "
          f"{ours_s / naive_s:.2f}); largest difference of mean counts {gap:.2f} sd")
    return 0 if boot_s < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
