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
import os
import resource
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")
PRELOAD = ["safetygap.inputs"]
"""Modules the fork server imports once, so each child starts with them loaded
(:func:`preload` adds more)."""
_M_ARENA_MAX = -8
ARROW_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"
"""Environment variable of Arrow's default allocator; ``system`` (malloc) for processes
under an address-space limit: Arrow's own (mimalloc) reserves 1 GiB of address space at
its first use, inside which allocations would not count against the limit."""
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
            os.environ.setdefault(ARROW_POOL_VARIABLE, "system")  # the fork server's
        return _ctx


def _status_bytes(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {field} in /proc/self/status")


def address_space_bytes() -> int:
    """Bytes of address space this process has mapped now (``VmSize``)."""
    return _status_bytes("VmSize")


def prepare_allocators() -> None:
    """Make an address-space limit see every allocation: glibc held to two malloc arenas
    (their 64 MB reservations per thread would otherwise eat the allowance) and Arrow to
    the system allocator (its own reserves address space before it allocates, which the
    limit would not see; set for a later import of pyarrow too)."""
    os.environ.setdefault(ARROW_POOL_VARIABLE, "system")
    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_ARENA_MAX, 2)
    if "pyarrow" in sys.modules:
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def _limit(memory_bytes: int) -> tuple[int, int]:
    """Set the soft address-space limit to what is mapped now plus ``memory_bytes``;
    returns the limits before."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = address_space_bytes() + int(memory_bytes)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return soft, hard


def limit_memory(memory_bytes: int) -> None:
    """Limit this process's address space to what it has mapped now plus
    ``memory_bytes`` (for good; :func:`prepare_allocators` first)."""
    prepare_allocators()
    with contextlib.suppress(OSError, ValueError, AttributeError):
        _limit(memory_bytes)


@contextlib.contextmanager
def memory_limit(memory_bytes: int) -> Iterator[None]:
    """While the block runs, this process's address space is limited to what it has
    mapped when it starts plus ``memory_bytes`` (an allocation past it raises
    MemoryError, see :func:`out_of_memory`); the limit before is restored after. For a
    process that runs one computation at a time (a compute worker) whose allocators are
    prepared (:func:`prepare_allocators`)."""
    try:
        before = _limit(memory_bytes)
    except (OSError, ValueError, AttributeError):
        before = None
    try:
        yield
    finally:
        if before is not None:
            resource.setrlimit(resource.RLIMIT_AS, before)


def resident_bytes() -> int:
    """Bytes of this process's memory resident now (``VmRSS``)."""
    return _status_bytes("VmRSS")


WATCH_INTERVAL_S = 0.02


@contextlib.contextmanager
def watch_memory(memory_bytes: int, *, interval_s: float = WATCH_INTERVAL_S
                 ) -> Iterator[None]:
    """While the block runs, a thread samples this process's resident memory every
    ``interval_s``; once it is ``memory_bytes`` above what it was when the block started,
    MemoryError is raised in the main thread (as a signal is: at its next Python
    instruction, so C code that allocates without returning can pass the bound until it
    does; :func:`memory_limit` bounds that). Only from the main thread."""
    import signal

    start = resident_bytes()
    done = threading.Event()
    lock = threading.Lock()
    state = {"active": True}

    def _raise(signum: int, frame: Any) -> None:
        raise MemoryError(f"more than {memory_bytes / 1e6:,.0f} MB of memory above the "
                          "start of the computation")

    def watch() -> None:
        while not done.wait(interval_s):
            try:
                over = resident_bytes() - start > memory_bytes
            except OSError:
                return
            if over:
                with lock:
                    if state["active"]:
                        state["active"] = False
                        signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
                return

    before = signal.signal(signal.SIGUSR1, _raise)
    thread = threading.Thread(target=watch, daemon=True, name="memory-watch")
    thread.start()
    try:
        yield
    finally:
        with lock:
            state["active"] = False
        done.set()
        thread.join()
        signal.signal(signal.SIGUSR1, before)


def out_of_memory(exc: BaseException | None) -> bool:
    """True when ``exc`` or an exception it was raised from is an allocation failure."""
    seen = 0
    while exc is not None and seen < 20:
        text = str(exc)
        if isinstance(exc, MemoryError) or any(
                sign in text for sign in ("bad_alloc", "Cannot allocate memory",
                                          "failed to map segment")):
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
        out = ("memory", None) if out_of_memory(exc) else ("error", exc)
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
