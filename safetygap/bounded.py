"""Run one function in a child process with bounded memory and time.

A file from outside can lie about what reading it costs (a Parquet footer that
under-declares its pages, a zip whose members are larger than declared, an encoding that
expands past its decompressed pages), and a computation's peak is not always known
before it runs. :func:`run_bounded` runs ``fn`` in a child process whose address space
is limited (``RLIMIT_AS``: what the child has mapped when it starts, plus
``memory_mb``) and waits at most ``timeout_s``: past either the child is gone and
:class:`OverLimit` says which limit; the calling process (the server) never grows.

Children are forked from a fork server (:mod:`multiprocessing`'s ``forkserver``) that
has imported the readers once, so a child starts in milliseconds and never inherits the
server's threads. Linux only (the limit is skipped where ``RLIMIT_AS`` is unknown).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import resource
import sys
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")
PRELOAD = ["safetygap.inputs"]
"""Modules the fork server imports once, so each child starts with them loaded
(:func:`preload` adds more)."""
_M_ARENA_MAX = -8
_ctx_lock = threading.Lock()
_ctx: Any = None


class OverLimit(RuntimeError):
    """The child passed its memory (``kind`` "memory") or time (``kind`` "time") limit,
    or died without an answer (``kind`` "crashed", e.g. killed by the kernel)."""

    def __init__(self, kind: str, *, memory_mb: float, timeout_s: float,
                 detail: str = ""):
        self.kind = kind
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        what = {"memory": f"needed more than its memory limit of {memory_mb:,.0f} MB",
                "time": f"took longer than its time limit of {timeout_s:,.0f} s",
                }.get(kind, f"stopped without an answer ({detail or 'killed'})")
        super().__init__(what)


class ChildFailed(RuntimeError):
    """``fn`` raised an exception that cannot be sent back as it is: its type name and
    traceback (for the log)."""

    def __init__(self, type_name: str, text: str):
        super().__init__(text)
        self.type_name = type_name


def preload(*modules: str) -> None:
    """Have the fork server import ``modules`` too (the modules of the functions a caller
    runs bounded); effective when called before the first :func:`run_bounded`."""
    with _ctx_lock:
        PRELOAD.extend(m for m in modules if m not in PRELOAD)


def _context() -> Any:
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            methods = multiprocessing.get_all_start_methods()
            _ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods
                                               else "spawn")
            if _ctx.get_start_method() == "forkserver":
                _ctx.set_forkserver_preload(PRELOAD)
        return _ctx


def address_space_bytes() -> int:
    """Bytes of address space this process has mapped now (``VmSize``)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def limit_memory(memory_bytes: int) -> None:
    """Limit this process's address space to what it has mapped now plus
    ``memory_bytes``: glibc to two malloc arenas (their 64 MB reservations per thread
    would otherwise eat the allowance) and Arrow to the system allocator (its own
    reserves address space before it allocates, which the limit would not see)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_ARENA_MAX, 2)
    if "pyarrow" in sys.modules:  # its mimalloc pool reserved its address space up front:
        import pyarrow  # allocations from it would not count against the limit

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    with contextlib.suppress(OSError, ValueError, AttributeError):
        limit = address_space_bytes() + int(memory_bytes)
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _out_of_memory(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, MemoryError) or "bad_alloc" in str(exc) or \
                "Cannot allocate memory" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _child(conn: Connection, memory_bytes: int, fn: Callable[..., Any],
           args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    limit_memory(memory_bytes)
    try:
        out: tuple[str, Any] = ("ok", fn(*args, **kwargs))
    except BaseException as exc:  # everything goes back to the parent
        out = ("memory", None) if _out_of_memory(exc) else ("error", exc)
        if out[0] == "error":
            try:
                import pickle

                pickle.loads(pickle.dumps(exc))
            except Exception:  # not picklable: its text instead
                out = ("error", ChildFailed(type(exc).__name__, "".join(
                    traceback.format_exception(exc))))
    try:
        conn.send(out)
    except MemoryError:
        conn.send(("memory", None))
    finally:
        conn.close()


def run_bounded(fn: Callable[..., T], *args: Any, memory_mb: float, timeout_s: float,
                **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` computed in a child process limited to ``memory_mb`` MB of
    address space above its start and ``timeout_s`` seconds; its exceptions are raised
    here. Raises :class:`OverLimit` past either limit, or when the child dies. ``fn``,
    its arguments and its result must pickle (``fn`` a module-level function)."""
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, int(memory_mb * 1e6), fn, args, kwargs),
                       daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout_s):
            raise OverLimit("time", memory_mb=memory_mb, timeout_s=timeout_s)
        try:
            status, value = parent.recv()
        except (EOFError, OSError) as exc:
            proc.join(5)
            code = proc.exitcode
            # a C++ allocation failure aborts the child (SIGABRT) when the limit is hit
            kind = "memory" if code in (-6, -9) else "crashed"
            raise OverLimit(kind, memory_mb=memory_mb, timeout_s=timeout_s,
                            detail=f"exit code {code}") from exc
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    if status == "memory":
        raise OverLimit("memory", memory_mb=memory_mb, timeout_s=timeout_s)
    if status == "error":
        raise value
    return value
