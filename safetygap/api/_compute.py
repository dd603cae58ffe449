"""Answers whose cost the client chooses, computed outside the server's interpreter.

A new hexagon size or simplification tolerance, a siting with new parameters or a
what-if is a computation of up to seconds of Python work; in the server process it holds
the interpreter lock, and every other client's cached answer waits behind it.
:class:`ComputePool` runs these computations (:data:`TASKS`: hexagons, area layers,
equity layers, siting, what-if, the default sites) in worker processes that read the
same workspace version themselves (and its siting baseline, :func:`view_baseline`), and
hands back the serialised answer, which the server caches as before (per key,
:meth:`WorkspaceView.cached <safetygap.readmodel.WorkspaceView.cached>`, or the siting
store's :mod:`safetygap.api._scenarios`). The server's threads only wait, at most a
timeout: past it the workers are stopped and started again (503).

At most ``queue`` computations wait or run at once; past that a request answers 503
with ``Retry-After`` (:class:`ComputeBusy`) instead of tying up the server's threads. A
worker that dies (killed, out of memory) is replaced; its request answers 503. With
``workers`` 0 (what :func:`~safetygap.api.app.create_app` sets up; ``safetygap serve``
starts ``SAFETYGAP_COMPUTE_WORKERS``, default 1) everything is computed in the server
process.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from safetygap.api._busy import ComputeBusy, OverBudget
from safetygap.bounded import (
    ARROW_POOL_VARIABLE,
    memory_limit,
    out_of_memory,
    prepare_allocators,
    watch_memory,
)
from safetygap.readmodel import WorkspaceView

log = logging.getLogger("safetygap.api")
RESULT_TIMEOUT_S = 300.0
"""Longest a request waits for its computation (then 503)."""


def _hexbins(view: WorkspaceView, **params: Any) -> dict[str, Any]:
    return view.hexbins(**params)


def _layer(view: WorkspaceView, level: str, **params: Any) -> dict[str, Any]:
    return view.layer(level, **params)


def _equity_layer(view: WorkspaceView, level: str, group: str, family: str,
                  **params: Any) -> dict[str, Any]:
    from safetygap.readmodel.equity import equity_layer

    return equity_layer(view, level, group, family, **params)


def _models() -> dict[str, tuple[type[BaseModel], Callable[..., dict[str, Any]]]]:
    from safetygap.api.models import AreaCollection, HexCollection
    from safetygap.api.models_equity import EquityAreaCollection

    return {"hexbins": (HexCollection, _hexbins), "layer": (AreaCollection, _layer),
            "equity_layer": (EquityAreaCollection, _equity_layer)}


_BASELINES: weakref.WeakKeyDictionary[WorkspaceView, Any] = weakref.WeakKeyDictionary()
_BASELINE_LOCK = threading.Lock()


def view_baseline(view: WorkspaceView) -> Any:
    """The siting baseline (:func:`~safetygap.scenarios.load_baseline`) of the version
    ``view`` reads, loaded once per view (in a worker: per version it keeps)."""
    from safetygap.scenarios import load_baseline

    with _BASELINE_LOCK:
        base = _BASELINES.get(view)
        if base is None:
            base = _BASELINES[view] = load_baseline(view.workspace.path)
        return base


TASKS = ("hexbins", "layer", "equity_layer", "sites", "scenario", "export_gpkg")
"""Computations a worker can do: each a function of the view and keyword parameters,
validated against its response model and serialised (:func:`answer`). ``sites``,
``scenario`` compute on the view's siting baseline
(:func:`view_baseline`; :mod:`safetygap.api._scenarios`) and raise
:class:`~safetygap.errors.ValidationError` for bad requests; ``export_gpkg`` is the
GeoPackage of :func:`~safetygap.maps.gpkg.geopackage_bytes`."""
WHAT = {"hexbins": "this hexagon map", "layer": "this layer", "equity_layer": "this layer",
        "sites": "this siting", "scenario": "this what-if",
        "export_gpkg": "the GeoPackage export"}


def answer(view: WorkspaceView, task: str, params: dict[str, Any]) -> bytes:
    """The JSON body of ``task`` on ``view`` (validated against its model)."""
    from safetygap.api._scenarios import TASK_FUNCTIONS

    if task in TASK_FUNCTIONS:
        return TASK_FUNCTIONS[task](view_baseline(view), **params)
    if task == "export_gpkg":
        from safetygap.maps.gpkg import geopackage_bytes

        return geopackage_bytes(view, **params)
    model, build = _models()[task]
    return model.model_validate(build(view, **params)).model_dump_json(by_alias=True).encode()


def view_key(view: WorkspaceView) -> str:
    """Checksum of the view's manifest: a worker checks it reads the same version."""
    return hashlib.sha256(json.dumps(view.manifest, sort_keys=True, default=str)
                          .encode()).hexdigest()


# ------------------------------------------------------------------ worker side

_VIEWS: collections.OrderedDict[tuple[str, str, int], WorkspaceView] = \
    collections.OrderedDict()
VIEWS_KEPT = 2


def _worker_view(path: str, key: str, min_count: int) -> WorkspaceView:
    from safetygap.workspace import Workspace

    ident = (path, key, min_count)
    view = _VIEWS.get(ident)
    if view is None:
        view = WorkspaceView(Workspace(Path(path)),
                             privacy_min_count=min_count)
        if view_key(view) != key:
            raise ComputeBusy("the workspace version changed while it was being read")
        _VIEWS[ident] = view
        while len(_VIEWS) > VIEWS_KEPT:
            _VIEWS.popitem(last=False)
    _VIEWS.move_to_end(ident)
    return view


WORKER_NICE = 10
"""Scheduling priority a worker lowers itself by: on a busy machine the server's cached
answers come first."""


def _worker_init(parent: int) -> None:
    """In each worker: a lower priority, and an exit as soon as the server that started
    it is gone (even killed), so no worker outlives its server."""
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICE)
    prepare_allocators()  # the memory budget (an address-space limit) sees every allocation
    # what the tasks import, loaded before any budget (a library mapped under the limit
    # would count against it)
    import safetygap.api.models_sites
    import safetygap.maps.gpkg
    import safetygap.readmodel.equity
    import safetygap.scenarios  # noqa: F401

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


ADDRESS_SLACK = 256_000_000
"""Address space a computation may map above its memory budget (the budget is measured
in resident memory, :func:`~safetygap.bounded.watch_memory`; the address-space limit
above it, :func:`~safetygap.bounded.memory_limit`, stops an allocation the sampling
would see too late)."""


def _work(path: str, key: str, min_count: int, task: str, params: dict[str, Any],
          memory_mb: float | None = None) -> bytes:
    """Run in a worker: ``task`` on the workspace version at ``path``; while it computes
    the worker's resident memory may grow by ``memory_mb`` (its address space by
    :data:`ADDRESS_SLACK` more) above what it holds (its views and baselines); past it
    :class:`OverBudget`."""
    view = _worker_view(path, key, min_count)
    if task == "warm":
        return b""
    if memory_mb is None:
        return answer(view, task, params)
    try:
        budget = int(memory_mb * 1e6)
        with memory_limit(budget + ADDRESS_SLACK), watch_memory(budget):
            return answer(view, task, params)
    except Exception as exc:
        if not out_of_memory(exc):
            raise
        log.warning("%s %s: past the memory budget of %g MB", task, params, memory_mb)
        raise OverBudget(
            f"{WHAT.get(task, task)} needs more than {memory_mb:,.0f} MB of memory, the "
            "budget of one computation (SAFETYGAP_MEMORY_BUDGET_MB on the server); it was "
            "stopped and nothing else is affected") from None


# ------------------------------------------------------------------ server side


class ComputePool:
    """Worker processes for :data:`TASKS` (see module docstring)."""

    def __init__(self, workers: int = 0, *, queue: int | None = None,
                 memory_mb: float | None = None):
        self.workers = int(workers)
        self.memory_mb = memory_mb
        """Memory one computation may take in a worker above what it holds (None: no
        limit)."""
        self.queue = queue if queue is not None else 2 * self.workers + 2
        self._slots = threading.BoundedSemaphore(max(self.queue, 1))
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._keys: weakref.WeakKeyDictionary[WorkspaceView, str] = \
            weakref.WeakKeyDictionary()

    def start(self, view: WorkspaceView | None = None) -> list[Any]:
        """Start the workers (none when ``workers`` is 0); they read ``view``'s version
        in the background so the first computation does not wait for it. Returns the
        futures of those readings (``safetygap serve`` waits for them before listening,
        so first visits do not share the machine with them)."""
        if self.workers <= 0:
            return []
        with self._lock:
            if self._executor is None:
                # workers inherit it: Arrow's own allocator would reserve 1 GiB of address
                # space at its first use, which the memory budget could not see
                os.environ.setdefault(ARROW_POOL_VARIABLE, "system")
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_init, initargs=(os.getpid(),))
        if view is None:
            return []
        return [self._submit(view, "warm", {}) for _ in range(self.workers)]

    def stop(self) -> None:
        """Stop the workers (a computation under way is abandoned)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        workers = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for proc in workers:
            with contextlib.suppress(Exception):
                proc.terminate()
        for proc in workers:
            with contextlib.suppress(Exception):
                proc.join(5)

    def _submit(self, view: WorkspaceView, task: str, params: dict[str, Any]) -> Any:
        key = self._keys.get(view)
        if key is None:
            key = self._keys[view] = view_key(view)
        assert self._executor is not None
        return self._executor.submit(_work, str(view.workspace.path), key, view.min_count,
                                     task, params, self.memory_mb)

    @property
    def in_process(self) -> bool:
        """True when computations run in this process (no worker started)."""
        return self._executor is None

    def answer(self, view: WorkspaceView, task: str, params: dict[str, Any], *,
               timeout_s: float | None = None) -> bytes:
        """The JSON body of ``task`` on ``view``, computed by a worker (in this process
        when there is none). Raises :class:`ComputeBusy` when ``queue`` computations
        already wait, or when the worker failed; when the answer takes longer than
        ``timeout_s`` (default :data:`RESULT_TIMEOUT_S`) the workers are stopped (the
        computation with them) and started again, and :class:`ComputeBusy` says so."""
        if self._executor is None:
            return answer(view, task, params)
        if not self._slots.acquire(blocking=False):
            raise ComputeBusy("the server is computing other new answers; try again in a "
                              "few seconds")
        timeout = RESULT_TIMEOUT_S if timeout_s is None else timeout_s
        try:
            return self._submit(view, task, params).result(timeout=timeout)
        except CancelledError as exc:  # another request's timeout stopped the workers
            raise ComputeBusy("the computation was stopped with the workers; try again") \
                from exc
        except BrokenProcessPool as exc:
            log.error("compute worker died (%s); starting a new one", exc)
            self._restart()
            raise ComputeBusy("the computation failed (its worker stopped); try again") \
                from exc
        except FutureTimeout as exc:
            log.warning("%s took longer than %g s: stopping the compute workers", task,
                        timeout)
            self._restart()
            raise ComputeBusy(f"the computation took longer than {timeout:g} s, the limit "
                              "(SAFETYGAP_COMPUTE_TIMEOUT_S on the server), and was "
                              "stopped; ask for less (a smaller k or catchment, fewer "
                              "sites or providers) or try again later") from exc
        finally:
            self._slots.release()

    def _restart(self) -> None:
        with self._lock:
            executor = self._executor
        self.stop()
        if executor is not None:
            self.start()
