"""Calls named by a URL (``s3://bucket/calls/``, ``gs://.../*.parquet``, ``https://...``):
copied to a local folder, file by file, before the analysis reads them.

The analysis core reads local files only (it never downloads: ``safetygap.inputs.sources``
refuses a URL), so ``safetygap analyze --calls URL`` copies what the URL names here first,
with `fsspec <https://filesystem-spec.readthedocs.io>`_ and the credentials the user's
environment already gives it (``AWS_PROFILE``, ``GOOGLE_APPLICATION_CREDENTIALS``, ...;
nothing is stored). A URL names one file, a folder (every CSV or Parquet file under it,
hidden and ``_``-files left out, as for a local folder) or a glob. Each file is streamed in
blocks of :data:`BLOCK_BYTES`, so memory stays bounded whatever its size; the local copy
keeps the files' relative paths, so the dataset reads in the same order as the remote one.

fsspec is optional: without it (or without the package of the URL's protocol, e.g.
``s3fs``), the message names what to install.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from safetygap.errors import ValidationError
from safetygap.inputs.sources import STREAMED_SUFFIXES
from safetygap.inputs.sources import is_url as is_any_url

_GLOB = re.compile(r"[*?\[]")
BLOCK_BYTES = 8 << 20
"""Bytes copied at a time."""
SUFFIXES = STREAMED_SUFFIXES
"""The files of a remote folder or glob that are copied (those a dataset may hold)."""


def is_url(spec: str | os.PathLike | None) -> bool:
    """True when ``spec`` is a URL other than ``file://``."""
    return spec is not None and is_any_url(spec) and \
        not os.fspath(spec).lower().startswith("file://")


@dataclass(frozen=True)
class RemoteCopy:
    """The local copy of the calls a URL names."""

    url: str
    local: Path
    """What ``--calls`` reads instead: the one file, or the folder of the copies."""
    files: tuple[str, ...]
    """The remote files copied, in order."""
    bytes: int


def _filesystem(url: str) -> tuple[Any, str]:
    where = f"--calls {url}"
    try:
        import fsspec
    except ImportError as exc:
        raise ValidationError(f"{where}: reading calls from a URL needs the fsspec package "
                              "(pip install fsspec); or copy the files here and give their "
                              "local path") from exc
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:  # the protocol's own package, e.g. s3fs, gcsfs
        raise ValidationError(f"{where}: {exc}; or copy the files here and give their "
                              "local path") from exc
    except ValueError as exc:  # an unknown protocol
        raise ValidationError(f"{where}: {exc}") from exc


def _visible(rel: str) -> bool:
    return all(not (part.startswith(".") or part.startswith("_"))
               for part in PurePosixPath(rel).parts)


def _wanted(name: str) -> bool:
    low = name.lower()
    return any(low.endswith(s) for s in SUFFIXES)


def remote_files(url: str) -> tuple[Any, list[tuple[str, str, int]], bool]:
    """The filesystem, the (remote path, relative path, bytes) of every file ``url``
    names, and whether it names a dataset (folder or glob) rather than one file. Raises a
    ValidationError naming the URL when it names nothing or cannot be listed."""
    fs, path = _filesystem(url)
    where = f"--calls {url}"
    try:
        if _GLOB.search(path):
            root = path[:_GLOB.search(path).start()].rsplit("/", 1)[0]
            found = sorted(fs.glob(path, detail=True).items())
            dataset = True
        elif fs.isdir(path):
            root = path.rstrip("/")
            found = sorted(fs.find(path, detail=True).items())
            dataset = True
        elif fs.isfile(path):
            info = fs.info(path)
            return fs, [(path, PurePosixPath(path).name, int(info.get("size") or 0))], False
        else:
            raise ValidationError(f"{where}: nothing at this URL (no file, folder or glob "
                                  "match)")
    except ValidationError:
        raise
    except Exception as exc:  # credentials, network: the filesystem's own words
        raise ValidationError(f"{where}: could not be listed: {type(exc).__name__}: "
                              f"{exc}") from exc
    files = []
    for p, info in found:
        if info.get("type", "file") != "file":
            continue
        rel = p[len(root):].lstrip("/") if p.startswith(root) else PurePosixPath(p).name
        if _visible(rel) and _wanted(rel):
            files.append((p, rel, int(info.get("size") or 0)))
    if not files:
        raise ValidationError(f"{where}: no CSV or Parquet file there "
                              f"({', '.join(SUFFIXES)})")
    return fs, files, dataset


def copy_calls(url: str, dest: str | os.PathLike, *, first_file_only: bool = False,
               on_file: Callable[[str], None] | None = None) -> RemoteCopy:
    """Copy the calls ``url`` names into the folder ``dest`` (created; it must be empty or
    new), each file streamed in blocks; ``on_file`` gets a line per file copied.
    ``first_file_only``: of a folder or glob, its first file only (a sample)."""
    fs, files, dataset = remote_files(url)
    if first_file_only:
        files = files[:1]
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for i, (remote, rel, size) in enumerate(files, 1):
        target = out.joinpath(*PurePosixPath(rel).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with fs.open(remote, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, BLOCK_BYTES)
        except Exception as exc:
            raise ValidationError(f"--calls {url}: copying {remote} failed: "
                                  f"{type(exc).__name__}: {exc}") from exc
        got = target.stat().st_size
        if size and got != size:
            raise ValidationError(f"--calls {url}: copying {remote} gave {got:,} of its "
                                  f"{size:,} bytes (the file changed or the connection "
                                  "dropped); run again")
        total += got
        if on_file is not None:
            on_file(f"copied {i:,}/{len(files):,} {rel} ({got / 1e6:,.1f} MB)")
    local = out if dataset else out / files[0][1]
    return RemoteCopy(url, local, tuple(f[0] for f in files), total)
