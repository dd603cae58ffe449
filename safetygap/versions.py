"""Versioned workspaces: the pointer to the active version, version directories, pruning and
the re-run lock (the re-run itself is :func:`safetygap.run.rebuild`).

A workspace directory ``ROOT`` that has been re-run looks like::

    ROOT/
      manifest.json, *.parquet, ...   the original analysis (what `analyze --out ROOT` wrote)
      CURRENT                          pointer: one line, the name of the active version
      versions/20250101T120000123456Z-1a2b3c/   one workspace per re-run (UTC, microseconds)
      .rerun.lock                      held (flock) while a re-run is building

Readers resolve the pointer once (:func:`active_dir`; :meth:`Workspace.open
<safetygap.workspace.Workspace.open>` does it) and then read one version
directory, which is never modified once its manifest exists. A re-run
(:func:`safetygap.run.rebuild`) builds a new version directory completely (manifest last),
checks every file against the manifest, then replaces ``CURRENT`` with
``os.replace`` (atomic on POSIX) and fsyncs the directory. So

- readers during a re-run get the previous version, complete;
- a re-run killed at any point (even SIGKILL) leaves the previous version
  active and intact; its partial directory (no manifest) is removed by the
  next re-run;
- old versions are pruned only when more than ``keep`` complete versions
  exist besides the active one and they are older than ``grace_s`` seconds,
  so requests still reading a just-replaced version finish undisturbed.

``safetygap analyze --out ROOT`` keeps writing a plain directory; when ``ROOT``
has a pointer, the analysis written at the top level becomes the active one
again (the pointer is removed after its manifest is written).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from safetygap._io import atomic_write
from safetygap.errors import ValidationError

POINTER = "CURRENT"
VERSIONS = "versions"
LOCK = ".rerun.lock"
MANIFEST = "manifest.json"  # same name as safetygap.workspace.MANIFEST (no import cycle)
KEEP = 3
"""Complete versions kept besides the active one."""
GRACE_S = 600.0
"""Seconds a replaced version is kept at least (requests may still be reading it)."""
_VERSION_NAME = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")


class RerunBusy(RuntimeError):
    """Another re-run of the same workspace is building (the lock is held)."""


def active_dir(root: str | os.PathLike) -> Path:
    """The directory holding the active version of the workspace ``root``.

    ``root`` itself when it has no ``CURRENT`` pointer. A pointer naming anything
    but a version directory under ``root/versions`` is refused.
    """
    root = Path(root)
    try:
        name = (root / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return root
    except OSError as exc:
        raise ValidationError(f"workspace {root}: cannot read {POINTER}: {exc}") from exc
    if not _VERSION_NAME.match(name):
        raise ValidationError(f"workspace {root}: {POINTER} names {name!r}, not a version "
                              f"directory under {VERSIONS}/")
    return root / VERSIONS / name


def version_dirs(root: str | os.PathLike) -> list[Path]:
    """Version directories under ``root/versions``, oldest first (complete or not)."""
    vdir = Path(root) / VERSIONS
    if not vdir.is_dir():
        return []
    return sorted(p for p in vdir.iterdir() if p.is_dir() and _VERSION_NAME.match(p.name))


def is_complete(path: Path) -> bool:
    """A directory whose manifest has been written (the writer writes it last)."""
    return (path / MANIFEST).is_file()


def new_version_dir(root: str | os.PathLike) -> Path:
    """Create and return an empty, uniquely named version directory under ``root``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")  # sorts in creation order
    path = Path(root) / VERSIONS / f"{stamp}-{secrets.token_hex(3)}"
    path.mkdir(parents=True)
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap(root: str | os.PathLike, version: Path) -> None:
    """Make ``version`` (a complete directory under ``root/versions``) the active one.

    The pointer file is written to a temporary name, fsynced and renamed over
    ``CURRENT`` (atomic): a reader sees the old name or the new one, never a mix.
    """
    root = Path(root)
    version = Path(version)
    if version.parent.resolve() != (root / VERSIONS).resolve() or not is_complete(version):
        raise ValidationError(f"{version} is not a complete version of workspace {root}")
    atomic_write(root / POINTER,
                 lambda p: p.write_text(version.name + "\n", encoding="utf-8"))
    _fsync_dir(root)


def clear_pointer(root: str | os.PathLike) -> None:
    """Make the top-level analysis of ``root`` the active one again."""
    root = Path(root)
    if (root / POINTER).exists():
        (root / POINTER).unlink()
        _fsync_dir(root)


def remove_version(path: Path) -> None:
    """Remove a version directory: renamed away first, so it vanishes in one step."""
    trash = path.with_name(f".trash-{path.name}-{secrets.token_hex(3)}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def prune(root: str | os.PathLike, *, keep: int = KEEP, grace_s: float = GRACE_S,
          now: float | None = None) -> list[str]:
    """Remove incomplete versions and complete ones beyond ``keep`` (older than ``grace_s``).

    Call only while holding the re-run lock (:func:`rerun_lock`): an incomplete
    directory is then the leftover of a re-run that was killed. The active
    version is never removed. Returns the names removed.
    """
    root = Path(root)
    now = time.time() if now is None else now
    active = active_dir(root).name if (root / POINTER).exists() else None
    removed: list[str] = []
    complete: list[Path] = []
    for path in version_dirs(root):
        if path.name == active:
            continue
        if not is_complete(path):
            remove_version(path)
            removed.append(path.name)
        else:
            complete.append(path)
    for path in complete[:max(0, len(complete) - keep)]:
        if now - (path / MANIFEST).stat().st_mtime >= grace_s:
            remove_version(path)
            removed.append(path.name)
    for leftover in (root / VERSIONS).glob(".trash-*") if (root / VERSIONS).is_dir() else ():
        shutil.rmtree(leftover, ignore_errors=True)
    return removed


@contextlib.contextmanager
def rerun_lock(root: str | os.PathLike) -> Iterator[None]:
    """Hold the workspace's re-run lock; raises :class:`RerunBusy` when another holds it.

    An ``flock`` on ``ROOT/.rerun.lock``: released by the kernel when the holder
    dies, so a killed re-run never leaves the workspace locked.
    """
    path = Path(root) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RerunBusy(f"a re-run of workspace {root} is already running") from exc
        yield
    finally:
        os.close(fd)
