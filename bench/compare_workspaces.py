"""Compare the outputs of two analyses exactly: did a change alter any result?

A refactoring must leave every result as it was. This script compares two workspaces file by
file, ignoring only what differs between any two runs (timings, the creation time, the
directories the files were read from and written to):

- ``summary.json``, ``quality.json`` and ``manifest.json`` (less its timings, creation time
  and file checksums) as JSON, value by value;
- ``neighborhoods.parquet``, ``wards.parquet``, ``indices.parquet``, ``calls.parquet`` and
  ``providers.parquet`` column by column: names, order, dtypes and every value exactly (NaN
  equal to NaN, geometry as its WKB bytes), plus the GeoParquet metadata;
- any other JSON or Parquet file either workspace has (``equity.json``,
  ``outside_911.parquet``) the same way, and the arrays of ``network.npz`` exactly.

It can also build the synthetic demo city at two git revisions of this repository (each
revision exported with ``git archive`` into a temporary directory and run with this
environment's Python) and compare the two workspaces, timing each build.

    python bench/compare_workspaces.py WORKSPACE_A WORKSPACE_B
    python bench/compare_workspaces.py --before main --after WORKTREE [--calls 650000]
        [--seed 2025] [--travel straight|network] [--keep DIR]

``WORKTREE`` is the working tree as it is now (uncommitted changes included). Prints every
difference (at most ``--limit`` per file) and a fingerprint of each workspace (a SHA-256 of
its normalised contents: equal fingerprints, equal results); exits 1 when they differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
JSON_FILES = ("summary.json", "quality.json", "manifest.json")
PARQUET_FILES = ("neighborhoods.parquet", "wards.parquet", "indices.parquet",
                 "providers.parquet", "calls.parquet", "demand_points.parquet",
                 "bootstrap.parquet")
VOLATILE_KEYS = {
    "summary.json": {("generated",)},
    "manifest.json": {("created",), ("timings_s",), ("files",)},
}
"""Keys (paths from the top) whose values differ between any two runs."""
WORKTREE = "WORKTREE"
DIR_MARK = "<DIR>"


def _strip(value: Any, where: tuple[str, ...], volatile: set[tuple[str, ...]],
           roots: tuple[str, ...]) -> Any:
    """``value`` without its volatile keys, each root directory spelled ``<DIR>``."""
    if isinstance(value, dict):
        return {k: _strip(v, (*where, k), volatile, roots) for k, v in value.items()
                if (*where, k) not in volatile}
    if isinstance(value, list):
        return [_strip(v, where, volatile, roots) for v in value]
    if isinstance(value, str):
        for root in roots:
            value = value.replace(root, DIR_MARK)
    return value


def _roots(workspace: Path) -> tuple[str, ...]:
    """Directories a workspace's JSON may name: the workspace, its parent (the demo writes
    its inputs to ``../data``), longest first so the workspace itself is replaced whole."""
    ws = workspace.resolve()
    return tuple(sorted({str(ws), str(ws.parent)}, key=len, reverse=True))


def normalised_json(workspace: Path, name: str) -> Any:
    """The JSON file ``name`` of ``workspace`` without what differs between runs."""
    data = json.loads((workspace / name).read_text(encoding="utf-8"))
    return _strip(data, (), VOLATILE_KEYS.get(name, set()), _roots(workspace))


def _json_diffs(a: Any, b: Any, where: str = "") -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a.keys() - b.keys():
            yield f"{where}.{k}: only in A"
        for k in b.keys() - a.keys():
            yield f"{where}.{k}: only in B"
        if list(k for k in a if k in b) != list(k for k in b if k in a):
            yield f"{where}: same keys in a different order"
        for k in a.keys() & b.keys():
            yield from _json_diffs(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{where}: {len(a)} items in A, {len(b)} in B"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _json_diffs(x, y, f"{where}[{i}]")
    elif (type(a) is not type(b) or a != b) and not (
            isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b)):
        yield f"{where}: A {_short(a)} != B {_short(b)}"


def _short(value: Any, n: int = 80) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= n else text[:n] + "..."


def _column_diff(name: str, a: pd.Series, b: pd.Series) -> str | None:
    """Why columns ``a`` and ``b`` differ, or None when they are identical."""
    if str(a.dtype) != str(b.dtype):
        return f"column {name}: dtype {a.dtype} in A, {b.dtype} in B"
    if a.equals(b):  # NaN in the same place counts as equal
        return None
    av, bv = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    same = np.array([x == y or (_isnan(x) and _isnan(y)) for x, y in zip(av, bv, strict=True)])
    if same.all():  # equal values, different categories or chunking
        if isinstance(a.dtype, pd.CategoricalDtype):
            return (f"column {name}: same values, categories differ "
                    f"({list(a.cat.categories)[:5]} vs {list(b.cat.categories)[:5]})")
        return None
    first = int(np.flatnonzero(~same)[0])
    return (f"column {name}: {int((~same).sum()):,} of {len(same):,} rows differ; first at "
            f"row {first}: A {_short(av[first], 40)} != B {_short(bv[first], 40)}")


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA or x is pd.NaT


def parquet_diffs(path_a: Path, path_b: Path) -> list[str]:
    """Every difference between two Parquet files: columns, dtypes, values, geo metadata."""
    ta, tb = pq.read_table(path_a), pq.read_table(path_b)
    out: list[str] = []
    geo_a, geo_b = (t.schema.metadata or {} for t in (ta, tb))
    if geo_a.get(b"geo") is not None or geo_b.get(b"geo") is not None:
        ga = json.loads(geo_a.get(b"geo", b"null"))
        gb = json.loads(geo_b.get(b"geo", b"null"))
        out += [f"geo metadata{d}" for d in _json_diffs(ga, gb)]
    if ta.column_names != tb.column_names:
        only_a = [c for c in ta.column_names if c not in set(tb.column_names)]
        only_b = [c for c in tb.column_names if c not in set(ta.column_names)]
        out += [f"columns only in A ({len(only_a)}): {_short(only_a, 200)}"] if only_a else []
        out += [f"columns only in B ({len(only_b)}): {_short(only_b, 200)}"] if only_b else []
        if not only_a and not only_b:
            out.append("same columns in a different order")
    if ta.num_rows != tb.num_rows:
        out.append(f"rows: A {ta.num_rows:,} != B {tb.num_rows:,}")
        return out
    fa, fb = ta.to_pandas(), tb.to_pandas()
    for name in [c for c in ta.column_names if c in set(tb.column_names)]:
        diff = _column_diff(name, fa[name], fb[name])
        if diff:
            out.append(diff)
    return out


def compare(a: str | os.PathLike, b: str | os.PathLike, *, limit: int = 20) -> dict[str, list[str]]:
    """Differences between workspaces ``a`` and ``b``, by file (empty lists: identical).

    Timings, the creation time, file checksums in the manifest and the directories the
    analysis read and wrote are ignored; everything else must be equal exactly.
    """
    wa, wb = Path(a), Path(b)
    result: dict[str, list[str]] = {}
    for name in _names(wa, wb):
        pa, pb = wa / name, wb / name
        if not pa.is_file() or not pb.is_file():
            result[name] = [] if pa.is_file() == pb.is_file() else [
                f"only in {'A' if pa.is_file() else 'B'}"]
            continue
        if name.endswith(".json"):
            diffs = list(_json_diffs(normalised_json(wa, name), normalised_json(wb, name)))
        elif name.endswith(".npz"):
            diffs = npz_diffs(pa, pb)
        else:
            diffs = parquet_diffs(pa, pb)
        result[name] = diffs[:limit] + (
            [f"... and {len(diffs) - limit} more"] if len(diffs) > limit else [])
    return result


def _names(*workspaces: Path) -> list[str]:
    """The files compared: the usual ones, then any other JSON or Parquet file either
    workspace has (``equity.json``, ``outside_911.parquet`` ...), and ``network.npz``."""
    extra = sorted({p.name for w in workspaces if w.is_dir() for p in w.iterdir()
                    if p.suffix in (".json", ".parquet", ".npz")}
                   - {*JSON_FILES, *PARQUET_FILES})
    return [*JSON_FILES, *PARQUET_FILES, *extra]


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a NumPy archive; text arrays with the workspace's directories spelled
    ``<DIR>`` (the network's ``source`` is the path of the file it was read from)."""
    roots = _roots(path.parent)
    with np.load(path, allow_pickle=False) as z:
        out = {}
        for k in z.files:
            a = z[k]
            if a.dtype.kind == "U":
                a = np.asarray([_strip(str(v), (), set(), roots) for v in a.ravel()]
                               ).reshape(a.shape)
            out[k] = a
        return out


def npz_diffs(path_a: Path, path_b: Path) -> list[str]:
    """Every array of two NumPy archives compared exactly (the saved street network)."""
    za, zb = _npz_arrays(path_a), _npz_arrays(path_b)
    out = [f"array {k}: only in A" for k in za if k not in zb]
    out += [f"array {k}: only in B" for k in zb if k not in za]
    for k in (k for k in za if k in zb):
        if za[k].dtype.kind != zb[k].dtype.kind or za[k].shape != zb[k].shape or \
                not np.array_equal(za[k], zb[k], equal_nan=za[k].dtype.kind == "f"):
            out.append(f"array {k}: differs")
    return out


def fingerprint(workspace: str | os.PathLike) -> str:
    """SHA-256 of a workspace's normalised contents (JSON as compared, tables' values)."""
    ws = Path(workspace)
    h = hashlib.sha256()
    names = _names(ws)
    for name in (n for n in names if n.endswith(".json")):
        if (ws / name).is_file():
            h.update(json.dumps(normalised_json(ws, name), sort_keys=True, default=str)
                     .encode())
    for name in (n for n in names if n.endswith(".npz")):
        arrays = _npz_arrays(ws / name)  # the arrays, not the zip's dates or directories
        for k in sorted(arrays):
            h.update(k.encode() + arrays[k].dtype.kind.encode() + arrays[k].tobytes())
    for name in (n for n in names if n.endswith(".parquet")):
        if (ws / name).is_file():
            frame = pq.read_table(ws / name).to_pandas()
            h.update(repr([(c, str(frame[c].dtype)) for c in frame.columns]).encode())
            h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def source_tree(rev: str, into: Path) -> Path:
    """The repository at ``rev`` (a commit, branch or ``WORKTREE``) as a directory."""
    if rev == WORKTREE:
        return ROOT
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def build_demo(rev: str, out: Path, *, calls: int, seed: int, travel: str) -> float:
    """Build the demo city's workspace at revision ``rev`` into ``out``; returns seconds."""
    with tempfile.TemporaryDirectory(prefix="safetygap-src-") as tmp:
        src = source_tree(rev, Path(tmp) / "src")
        code = (
            "import sys, safetygap\n"
            f"assert safetygap.__file__.startswith({str(src)!r}), safetygap.__file__\n"
            "from safetygap.cli import main\n"
            f"sys.argv = ['safetygap', 'demo', '--no-serve', '--quiet', '--out', {str(out)!r},"
            f" '--calls', '{calls}', '--seed', '{seed}', '--travel', {travel!r}]\n"
            "main()\n"
        )
        env = {**os.environ, "PYTHONPATH": str(src)}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=src, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0


def report(diffs: dict[str, list[str]]) -> bool:
    """Print the differences; True when the workspaces are identical."""
    same = True
    for name, lines in diffs.items():
        print(f"{name}: {'identical' if not lines else f'{len(lines)} difference(s)'}")
        for line in lines:
            print(f"    {line}")
        same = same and not lines
    return same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspaces", nargs="*", type=Path, help="two workspace directories")
    ap.add_argument("--before", help="git revision of the baseline (e.g. main)")
    ap.add_argument("--after", default=WORKTREE, help=f"git revision or {WORKTREE}")
    ap.add_argument("--calls", type=int, default=650_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--travel", choices=("straight", "network"), default="straight")
    ap.add_argument("--keep", type=Path, help="build into this directory and keep it")
    ap.add_argument("--limit", type=int, default=20, help="differences shown per file")
    args = ap.parse_args()
    if args.before is None and len(args.workspaces) != 2:
        ap.error("give two workspaces, or --before REV [--after REV]")
    with tempfile.TemporaryDirectory(prefix="safetygap-compare-") as tmp:
        if args.before is not None:
            base = args.keep or Path(tmp)
            base.mkdir(parents=True, exist_ok=True)
            secs = {}
            for label, rev in (("before", args.before), ("after", args.after)):
                secs[label] = build_demo(rev, base / label, calls=args.calls, seed=args.seed,
                                         travel=args.travel)
                print(f"built the demo ({args.calls:,} calls, seed {args.seed}, "
                      f"{args.travel}) at {rev} in {secs[label]:.1f} s", flush=True)
            print(f"build time after / before: {secs['after'] / secs['before']:.2f}")
            a, b = base / "before" / "workspace", base / "after" / "workspace"
        else:
            a, b = args.workspaces
        same = report(compare(a, b, limit=args.limit))
        print(f"fingerprint A {fingerprint(a)}\nfingerprint B {fingerprint(b)}")
        print("IDENTICAL (timings and paths ignored)" if same else "DIFFERENT")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
