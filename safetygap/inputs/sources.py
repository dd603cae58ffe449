"""Where the calls come from: one file, or a dataset of partitions.

``--calls`` (:attr:`safetygap.stages.options.AnalysisInputs.calls`) names

- one file of any format the calls reader knows (CSV, Parquet, GeoParquet, GeoJSON,
  GeoPackage, JSON records): read as before;
- a **directory**: every CSV or (Geo)Parquet file under it (sub-directories too, as a
  Hive-style ``year=2024/part-0.parquet`` layout has them), hidden files and files whose
  name starts with ``_`` (``_SUCCESS``, ``_metadata``) left out;
- a **glob** (``calls/2024-*.csv``, ``exports/**/*.parquet``) when no file has that very
  name.

Only local files are read: the core never downloads, so a URL (``s3://...``,
``https://...``) is refused with a message saying to copy the files here first
(the ``analyze`` command does that itself for a URL: :mod:`safetygap.fetch.remote`).

A dataset of several files is read lazily, one batch of one file at a time, in the order
of the files' names (numbers in names compared as numbers: ``part-2`` before
``part-10``); its rows are numbered on from one file to the next. All files are CSV, or
all Parquet/GeoParquet (a dataset mixing the two is refused): every file's header is
checked before any row is read, each problem naming its file.
"""

from __future__ import annotations

import glob as _glob
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetygap._hashing import sha256_file
from safetygap.errors import Problems, option
from safetygap.inputs.files import CSV_SUFFIXES, PARQUET_SUFFIXES, check_file, suffix_of

STREAMED_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES
"""The formats a dataset of several files may hold (each read in batches)."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class CallsSource:
    """The calls' files as the calls input names them (see the module docstring)."""

    spec: str
    """The calls input as given."""
    files: tuple[Path, ...]
    partitioned: bool
    """True for a directory or glob: possibly several files, each named in messages
    and examples relative to :attr:`root`."""
    root: str = ""
    """The directory the files' :meth:`label` is relative to (partitioned only)."""
    sizes: tuple[int, ...] = field(default=(), compare=False)

    @property
    def path(self) -> Path | str:
        """The single file, else the spec (for messages)."""
        return self.spec if self.partitioned else self.files[0]

    def label(self, f: Path) -> str:
        """``f``'s name relative to the dataset's root (its full name for one file)."""
        text = str(f)
        if self.partitioned and self.root and text.startswith(self.root):
            return text[len(self.root):].lstrip("/\\") or text
        return text

    @property
    def bytes(self) -> int:
        return sum(self.sizes)

    def fingerprint(self) -> dict[str, Any]:
        """What the manifest records of the calls: path (absolute), bytes and a SHA-256
        (for a dataset, of its files' names and SHA-256s in order)."""
        out: dict[str, Any] = {"path": str(Path(self.spec).resolve()), "bytes": self.bytes}
        if self.partitioned:
            out["files"] = len(self.files)
        if not self.partitioned:
            out["sha256"] = sha256_file(self.files[0])
            return out
        digest = hashlib.sha256()
        for f in self.files:
            digest.update(f"{self.label(f)}\0{sha256_file(f)}\n".encode())
        out["sha256"] = digest.hexdigest()
        return out



def natural_key(text: str) -> tuple:
    """Sort key comparing the digit runs of ``text`` as numbers (``part-2`` < ``part-10``)."""
    return tuple((0, int(t), t) if t.isdigit() else (1, 0, t)
                 for t in re.split(r"(\d+)", text) if t)


def is_url(spec: str | os.PathLike) -> bool:
    """True when ``spec`` is a URL (``s3://...``): never read here, kept as text (not a
    path, which would fold its ``//``) for the commands that copy it here first."""
    return _URL.match(os.fspath(spec)) is not None


def _visible(name: str) -> bool:
    return not (name.startswith(".") or name.startswith("_"))


def resolve_calls(spec: str | os.PathLike, problems: Problems,
                  *, where: str = "calls") -> CallsSource | None:
    """The files ``spec`` names (see the module docstring); a problem added (and None
    returned) when it names nothing readable: a missing or empty file, a directory or glob
    with no CSV/Parquet file, a dataset mixing CSV and Parquet, an empty partition, a URL
    (never read: the core reads local files only)."""
    text = os.fspath(spec)
    if _URL.match(text):
        problems.add(where, "a URL: only local files are read", value=text,
                     allowed="a local file, directory or glob (copy the files here first; "
                     f"the analyze command copies them itself when {option('calls')} is "
                     "the URL)")
        return None
    p = Path(text)
    if p.is_dir():
        found = [f for f in sorted(p.rglob("*"))
                 if f.is_file() and all(_visible(part) for part in f.relative_to(p).parts)]
        return _dataset(text, str(p), found, problems, where, pattern=False)
    if _GLOB.search(text) and not p.exists():
        found = [Path(f) for f in _glob.glob(text, recursive=True)]
        found = [f for f in found if f.is_file() and _visible(f.name)]
        return _dataset(text, _glob_root(text), found, problems, where, pattern=True)
    one = check_file(p, where, problems)
    return None if one is None else CallsSource(text, (one,), False,
                                                sizes=(one.stat().st_size,))


def _glob_root(pattern: str) -> str:
    """The directory part of a glob before its first wildcard."""
    head = _GLOB.split(pattern, maxsplit=1)[0]
    return head.rsplit("/", 1)[0] if "/" in head else (os.path.dirname(head) or "")


def _dataset(spec: str, root: str, found: list[Path], problems: Problems, where: str,
             *, pattern: bool) -> CallsSource | None:
    what = "glob" if pattern else "directory"
    streamed = [f for f in found if suffix_of(f) in STREAMED_SUFFIXES]
    if pattern and not found:
        problems.add(where, "file not found: no file matches the glob", value=spec)
        return None
    if not streamed:
        problems.add(where, f"the {what} holds no calls file", value=spec,
                     allowed="CSV (.csv, .tsv, .txt, .csv.gz) or Parquet/GeoParquet "
                             "(.parquet, .geoparquet, .pq) files")
        return None
    files = sorted(streamed, key=lambda f: natural_key(str(f)))
    sizes = [f.stat().st_size for f in files]
    kinds = {"CSV" if suffix_of(f) in CSV_SUFFIXES else "Parquet" for f in files}
    if len(kinds) > 1:
        csv = next(f for f in files if suffix_of(f) in CSV_SUFFIXES)
        pq = next(f for f in files if suffix_of(f) in PARQUET_SUFFIXES)
        problems.add(where, "the dataset mixes CSV and Parquet files (e.g. "
                     f"{csv} and {pq})", value=spec,
                     allowed="files of one kind (a glob such as *.parquet picks them)")
        return None
    ok = True
    for f, size in zip(files, sizes, strict=True):
        if size == 0:
            problems.add(f"{where} {f}", "file is empty (0 bytes)")
            ok = False
    if not ok:
        return None
    return CallsSource(spec, tuple(files), True, root=root, sizes=tuple(sizes))
