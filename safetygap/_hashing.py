"""File checksums (recorded in workspace and fetch manifests).

:func:`hash_ahead` starts the checksums of an analysis's input files on a background
thread when the analysis begins (hashlib releases the GIL on large blocks, so a 500 MB
calls file is hashed on the second core while the calls are parsed); :func:`sha256_file`
then returns the result computed ahead when the file has not changed since (same size and
modification time), and otherwise reads the file itself.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

_LOCK = threading.Lock()
_POOL: ThreadPoolExecutor | None = None
_AHEAD: dict[tuple[str, int, int], Future[str]] = {}
_MAX_AHEAD = 256
"""Checksums started ahead and not yet asked for, at most (older ones are dropped)."""


def _key(path: str | os.PathLike) -> tuple[str, int, int]:
    st = os.stat(path)
    return os.path.realpath(path), st.st_size, st.st_mtime_ns


def _sha256_now(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (or the one :func:`hash_ahead` began
    for the same unchanged file)."""
    try:
        key = _key(path)
    except OSError:
        return _sha256_now(path)  # raises the error naming the file
    with _LOCK:
        ahead = _AHEAD.pop(key, None)
    if ahead is not None:
        try:
            return ahead.result()
        except OSError:
            pass  # read again here, so the error is raised where it is asked for
    return _sha256_now(path)


def hash_ahead(paths: list[str | os.PathLike]) -> None:
    """Start the checksums of ``paths`` (files; others skipped) on a background thread."""
    global _POOL
    for p in paths:
        try:
            if not os.path.isfile(p):
                continue
            key = _key(p)
        except OSError:
            continue
        with _LOCK:
            if key in _AHEAD:
                continue
            if _POOL is None:
                _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="safetygap-hash")
            while len(_AHEAD) >= _MAX_AHEAD:
                _AHEAD.pop(next(iter(_AHEAD))).cancel()
            _AHEAD[key] = _POOL.submit(_sha256_now, p)
