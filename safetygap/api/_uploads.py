"""Uploaded datasets: streamed to disk under a size limit, stored under server-chosen names.

- The body is never read into memory: the multipart parser spools the file part
  to a temporary file while :class:`~safetygap.api._limits.LimitedReceive` counts
  the bytes as they arrive, stopping the upload as soon as it passes the limit
  (413). A ``Content-Length`` above the limit is refused before any byte of the
  body is read.
- The client's file name never reaches the file system: files are stored as
  ``<kind>-<UTC time>-<random>.<suffix>`` in the data directory, the suffix
  taken from an allow-list per kind; the client's name is kept only as
  sanitised metadata (:func:`safe_client_name`).
- Every upload is validated with the readers the analysis uses (same column
  presets and options as the served analysis) before it is kept; a bad file
  answers 422 with the reader's message and is removed.
- ``datasets.json`` in the data directory lists the stored datasets (written
  atomically); the newest of each kind feeds the next re-run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import json
import logging
import os
import re
import secrets
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from filelock import FileLock

from safetygap._hashing import sha256_file
from safetygap._io import write_json
from safetygap.bounded import OverLimit, preload
from safetygap.errors import ValidationError
from safetygap.inputs.expansion import ExpansionTooLarge
from safetygap.inputs.files import CALL_FILE_SUFFIXES, CSV_SUFFIXES, PARQUET_SUFFIXES

KINDS: tuple[str, ...] = ("calls", "providers", "neighborhoods", "wards", "population",
                          "diversion_rules", "reports")
_BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb", ".zip", *PARQUET_SUFFIXES)
SUFFIXES: dict[str, tuple[str, ...]] = {
    "calls": CALL_FILE_SUFFIXES,
    "providers": (*CSV_SUFFIXES, *PARQUET_SUFFIXES, ".geojson", ".json", ".gpkg"),
    "neighborhoods": _BOUNDARY_SUFFIXES,
    "wards": _BOUNDARY_SUFFIXES,
    "population": (*CSV_SUFFIXES, *PARQUET_SUFFIXES, ".json"),
    "diversion_rules": (".toml",),
    "reports": CALL_FILE_SUFFIXES,
}
"""File name suffixes accepted per kind of dataset (lower case)."""
MULTIPART_SLACK = 64 * 1024
"""Bytes of multipart framing (boundaries, part headers, the kind field) allowed on top
of the file size limit."""
REGISTRY = "datasets.json"
REGISTRY_LOCK = ".datasets.json.lock"
"""File lock held while the registry is read and rewritten (every process)."""
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")
log = logging.getLogger("safetygap.api")
# uploads are checked in bounded child processes (validate_bounded), forked from a
# server that has imported what the check needs
preload(__name__, "safetygap.run", "safetygap.boundaries", "safetygap.taxonomy",
        "safetygap.workspace", "safetygap.diversion", "safetygap.geo.join",
        "safetygap.stages.places", "safetygap.stages.preflight", "safetygap.stages.rows",
        "safetygap.vector_io", "pyogrio", "safetygap.replacement", "safetygap.geo.swap",
        "pandas.core.methods.to_dict")


class UploadTooLarge(Exception):
    """The uploaded file passed the upload limit, or decompresses past its limit
    (``message`` then says so)."""

    def __init__(self, limit: int, message: str | None = None):
        super().__init__(limit)
        self.limit = limit
        self.message = message


class StorageUnavailable(Exception):
    """The data directory cannot take the upload (full, read-only, over quota): 503."""


STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES,
                            errno.EPERM, errno.EIO})
"""Errors of the data directory's file system answered 503 (nothing is kept)."""


def upload_limit_message(limit_bytes: int) -> str:
    return (f"upload too large: the limit is {limit_bytes / 1e6:g} MB "
            f"(SAFETYGAP_MAX_UPLOAD_MB on the server)")


def safe_client_name(name: str | None) -> str:
    """The client's file name reduced to a harmless label (metadata only, never a path).

    Directory parts (``/`` or ``\\``) are dropped, characters outside
    ``A-Z a-z 0-9 . _ - space`` become ``_``, leading dots are removed and the
    result is at most 100 characters; ``"upload"`` when nothing is left.
    """
    base = re.split(r"[/\\]", name or "")[-1]
    base = _NAME_CHARS.sub("_", base).strip().lstrip(".")
    return base[-100:] or "upload"


def suffix_for(kind: str, client_name: str) -> str | None:
    """The allowed suffix of ``client_name`` for ``kind`` (``.csv.gz`` counts as one), or None."""
    lower = client_name.lower()
    for suffix in sorted(SUFFIXES[kind], key=len, reverse=True):
        if lower.endswith(suffix):
            return suffix
    return None


def copy_limited(src: BinaryIO, dst: Path, limit: int) -> int:
    """Copy ``src`` to the new file ``dst`` in 1 MiB blocks; :class:`UploadTooLarge`
    (and ``dst`` removed) past ``limit`` bytes. Returns the bytes copied (fsynced)."""
    total = 0
    try:
        with open(dst, "xb") as out:
            for block in iter(lambda: src.read(1 << 20), b""):
                total += len(block)
                if total > limit:
                    raise UploadTooLarge(limit)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        dst.unlink(missing_ok=True)
        raise
    return total


def validate_dataset(kind: str, path: Path, workspace: Path, *,
                     max_decompressed_bytes: int) -> dict[str, Any]:
    """Check ``path`` as the new ``kind`` input of a re-run of the served ``workspace``:
    its decompressed size first (:func:`~safetygap.inputs.expansion.check_expansion`),
    then everything the re-run checks before its heavy steps
    (:func:`~safetygap.replacement.check_replacement`).

    Returns ``{"rows": n, "warnings": [...]}`` (the warnings about the upload only;
    for a diversion rule set, ``rows`` counts its rules); raises
    :class:`~safetygap.inputs.expansion.ExpansionTooLarge` or
    :class:`~safetygap.errors.ValidationError` naming every problem.
    """
    from safetygap.inputs.expansion import check_expansion
    from safetygap.replacement import check_replacement

    check_expansion(path, limit_bytes=max_decompressed_bytes, where=f"{kind} {path}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = check_replacement(workspace, kind, path)
    return {"rows": rows,
            "warnings": [str(w.message) for w in caught if str(path) in str(w.message)]}


CHECK_TIMEOUT_S = 600.0
"""Longest the check of one upload may take (then 422)."""


def validate_bounded(kind: str, path: Path, workspace: Path, *, max_decompressed_bytes: int,
                     memory_mb: float) -> dict[str, Any]:
    """:func:`validate_dataset` in a child process limited to ``memory_mb`` MB above its
    start and :data:`CHECK_TIMEOUT_S` (:func:`~safetygap.bounded.run_bounded`): a file
    whose contents expand past the sizes it declares (a Parquet footer or a zip directory
    that under-declares them, an encoding that expands) stops the child, never the
    server. Raises :class:`~safetygap.bounded.OverLimit` then."""
    from safetygap.bounded import run_bounded

    return run_bounded(validate_dataset, kind, path, workspace,
                       max_decompressed_bytes=max_decompressed_bytes,
                       memory_mb=memory_mb, timeout_s=CHECK_TIMEOUT_S)


def _over_limit(exc: OverLimit, name: str, kind: str) -> Exception:
    """413 past the memory limit, 422 past the time limit or when the reader died."""
    if exc.kind == "memory":
        return UploadTooLarge(int(exc.memory_mb * 1e6), (
            f"file {name!r}: reading and checking it needs more than {exc.memory_mb:,.0f} "
            "MB of memory, the limit (SAFETYGAP_MAX_UPLOAD_MEMORY_MB on the server): its "
            "contents expand past the sizes it declares, or it is too large for this "
            "server; nothing was stored"))
    if exc.kind == "time":
        msg = (f"file {name!r}: checking it as a {kind} file took longer than "
               f"{exc.timeout_s:,.0f} s, the limit; nothing was stored")
    else:
        error_id = secrets.token_hex(6)
        log.error("upload %s (%s): the reader's process %s, error id %s", name, kind, exc,
                  error_id)
        msg = (f"file {name!r}: cannot be read as a {kind} file (the reader stopped "
               f"unexpectedly); error id {error_id}, the server log has the details")
    return DatasetRejected(msg, [msg])


def _storage_message(doing: str, exc: OSError) -> str:
    return (f"the server cannot {doing}: {exc.strerror or exc} in its data directory; "
            "nothing was stored and the served analysis is unchanged (try again later, or "
            "tell the server's operator)")


@contextlib.contextmanager
def _storage(doing: str) -> Iterator[None]:
    """Turn a full, read-only or failing data directory into :class:`StorageUnavailable`."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in STORAGE_ERRNOS:
            raise
        log.warning("data directory: cannot %s: %s", doing, exc)
        raise StorageUnavailable(_storage_message(doing, exc)) from exc


class DatasetRejected(ValueError):
    """A bad upload (422): the reader's message, naming the client's file, not the server's."""

    def __init__(self, message: str, problems: list[str]):
        super().__init__(message)
        self.problems = problems


def _rejected(exc: ValidationError, path: Path, client_name: str,
              hidden: dict[str, str]) -> DatasetRejected:
    """The reader's problems with the upload's server path shown as the client's file
    name and every path of ``hidden`` as its value (e.g. the analysis' other inputs as
    their file names)."""
    names = {str(path): client_name, **hidden}

    def hide(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        for server, shown in sorted(names.items(), key=lambda kv: -len(kv[0])):
            v = v.replace(server, shown)
        return v

    problems = [str(dataclasses.replace(p, where=hide(p.where), message=hide(p.message),
                                        value=hide(p.value)))
                for p in exc.problems] + [hide(n) for n in exc.notes]  # e.g. the file's columns
    return DatasetRejected("; ".join(problems), problems)


class DatasetStore:
    """The data directory: stored uploads and their registry (safe across threads and
    processes: the registry is rewritten under a file lock, atomically)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._lock = threading.Lock()

    def _registry(self) -> list[dict[str, Any]]:
        try:
            return json.loads((self.directory / REGISTRY).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []

    def list(self) -> list[dict[str, Any]]:
        """Every stored dataset, oldest first."""
        return self._registry()

    def get(self, dataset_id: str) -> dict[str, Any] | None:
        return next((d for d in self._registry() if d["id"] == dataset_id), None)

    def latest(self) -> dict[str, dict[str, Any]]:
        """The newest stored dataset of each kind."""
        out: dict[str, dict[str, Any]] = {}
        for d in self._registry():
            out[d["kind"]] = d
        return out

    def path_of(self, record: dict[str, Any]) -> Path:
        return self.directory / record["stored_as"]

    def add(self, kind: str, src: BinaryIO, client_name: str, *, limit: int,
            validate: Callable[[Path], dict[str, Any]],
            hidden: dict[str, str] | None = None) -> dict[str, Any]:
        """Copy ``src`` into the data directory, validate it, record it; returns the record.

        Raises :class:`UploadTooLarge`, :class:`DatasetRejected` (problems quoted with
        the paths of ``hidden`` replaced, see :func:`_rejected`) or
        :class:`StorageUnavailable` (nothing is kept). A reader failing in a way it
        should not (a bug) is logged with its traceback under an error id and answered
        as a rejection naming the file and that id.
        """
        name = safe_client_name(client_name)
        suffix = suffix_for(kind, name)
        if suffix is None:
            msg = (f"file {name!r}: not an accepted {kind} file; allowed suffixes: "
                   f"{', '.join(SUFFIXES[kind])}")
            raise DatasetRejected(msg, [msg])
        dataset_id = (f"{kind}-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}-"
                      f"{secrets.token_hex(4)}")
        final = self.directory / f"{dataset_id}{suffix}"
        tmp = self.directory / f".{dataset_id}.uploading{suffix}"
        try:
            with _storage("store the upload"):
                self.directory.mkdir(parents=True, exist_ok=True)
                size = copy_limited(src, tmp, limit)
            try:
                checked = validate(tmp)
            except ExpansionTooLarge as exc:
                raise UploadTooLarge(exc.limit_bytes,
                                     str(_rejected(exc, tmp, name, {}))) from exc
            except OverLimit as exc:
                raise _over_limit(exc, name, kind) from exc
            except ValidationError as exc:
                raise _rejected(exc, tmp, name, hidden or {}) from exc
            except Exception as exc:  # a reader bug: never a 500 with a traceback
                if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
                    raise StorageUnavailable(_storage_message("check the upload", exc)) \
                        from exc
                error_id = secrets.token_hex(6)
                log.exception("upload %s (%s, %s): the reader failed, error id %s",
                              dataset_id, kind, name, error_id)
                what = getattr(exc, "type_name", type(exc).__name__)
                msg = (f"file {name!r}: cannot be read as a {kind} {suffix} file (the "
                       f"reader failed unexpectedly: {what}); error id "
                       f"{error_id}, the server log has the details")
                raise DatasetRejected(msg, [msg]) from exc
            with _storage("store the upload"):
                sha = sha256_file(tmp)
                os.replace(tmp, final)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        record = {
            "id": dataset_id, "kind": kind, "file_name": name, "stored_as": final.name,
            "bytes": size, "sha256": sha,
            "uploaded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **checked,
        }
        # a thread lock for this process, a file lock for every server process on the
        # directory; the registry itself is replaced atomically (readers never see half)
        try:
            with _storage("record the upload"), self._lock, \
                    FileLock(self.directory / REGISTRY_LOCK, timeout=60):
                write_json(self.directory / REGISTRY, [*self._registry(), record])
        except StorageUnavailable:
            final.unlink(missing_ok=True)
            raise
        return record

    def remove_partial(self) -> None:
        """Remove uploads interrupted by a crash (``.*.uploading*`` files)."""
        for p in self.directory.glob(".*.uploading*"):
            p.unlink(missing_ok=True)
