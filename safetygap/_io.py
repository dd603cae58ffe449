"""File helpers shared by the workspace writer and the downloader: atomic writes, JSON."""

from __future__ import annotations

import json
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
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, (Path,)):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (numpy scalars become numbers, NaN becomes null)."""
    def w(p: Path) -> None:
        p.write_text(json.dumps(data, indent=2, default=json_default) + "\n", encoding="utf-8")
    atomic_write(path, w)
