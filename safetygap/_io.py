"""File helpers shared by the workspace writer and the downloader: atomic writes, JSON."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def current_umask() -> int:
    """The process's file-mode creation mask, read without changing it where the system
    tells (Linux: ``/proc/self/status``), else by setting and restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer`` on a temporary file next to ``path``, fsync it, rename it into place.

    The rename is atomic on POSIX: readers see the old file or the whole new one. The
    file gets the mode a plain ``open`` would give it (``0o666`` less the umask), not the
    owner-only mode of the temporary file, so other users can read workspaces and
    downloads as the umask allows.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def json_default(obj: Any) -> Any:
    """``json.dumps`` ``default``: numpy scalars and arrays, paths; NaN/inf become None."""
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return strict_json(obj.tolist())
    if isinstance(obj, (Path,)):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def strict_json(data: Any) -> Any:
    """``data`` with every float that JSON cannot hold (NaN, inf, -inf; numpy's too) and
    every missing value (None, NaN, ``pd.NA``, ``NaT``) as None, recursively through
    dicts, lists and tuples.

    ``json.dumps`` writes a float NaN as the bare word ``NaN``, which strict JSON parsers
    (browsers' ``JSON.parse``, jq, Go, Java) reject; ``numpy.float64`` is a ``float``, so
    a ``default`` hook never sees it.
    """
    if isinstance(data, dict):
        return {k: strict_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict_json(v) for v in data]
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if data is None or isinstance(data, (str, int)):
        return data
    try:
        import pandas as pd

        if data is pd.NA or data is pd.NaT:
            return None
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return data


def dumps_json(data: Any, **kwargs: Any) -> str:
    """Strict JSON text of ``data`` (:func:`strict_json`; ``allow_nan=False``, so a value
    that slipped through raises instead of writing ``NaN``)."""
    return json.dumps(strict_json(data), default=json_default, allow_nan=False, **kwargs)


def write_json(path: Path, data: Any) -> None:
    """Write strict JSON atomically (numpy scalars become numbers, NaN and inf null)."""
    def w(p: Path) -> None:
        p.write_text(dumps_json(data, indent=2) + "\n", encoding="utf-8")
    atomic_write(path, w)
