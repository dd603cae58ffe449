"""Siting and what-if for the web app, computed on the served workspace without writing to it.

A :class:`ScenarioStore` holds the :class:`~safetygap.scenarios.Baseline` of
the served workspace, loaded once per version (the checksum of its
``manifest.json``, as :class:`~safetygap.api._store.WorkspaceStore` keys its
view), and the finished responses (validated JSON bytes) keyed by that
checksum and the request (every parameter), least recently used dropped first, at most
:data:`MAX_RESULTS` of them and :data:`MAX_RESULT_BYTES` in all. Siting takes
seconds (10 s and 1.2 GB above the loaded workspace at its peak for a
50-minute walking catchment on the 650,000-call demo city), so concurrent
identical requests wait for one computation, and one siting and one what-if
run at a time (the others wait their turn). A re-run workspace is read from
the version directory the served view comes from.

The shaping helpers turn :func:`~safetygap.scenarios.recommend_sites` and
:func:`~safetygap.scenarios.whatif` results into the response models
(EPSG:4326 at this edge only), and :func:`problems_422` turns a
:class:`~safetygap.errors.ValidationError` into a 422 listing every problem.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from shapely.geometry import mapping

from safetygap._hashing import sha256_file
from safetygap.api._errors import as_fields
from safetygap.api._store import WorkspaceStore, WorkspaceUnavailable
from safetygap.errors import ValidationError
from safetygap.scenarios import CATCHMENT_AREAS, Baseline, load_baseline, records, site_catchments
from safetygap.workspace import MANIFEST

KINDS = ("sites", "scenario")
"""Kinds of computation; one of each runs at a time."""
MAX_RESULTS = 64
"""Responses kept per app."""
MAX_RESULT_BYTES = 128_000_000
"""Bytes of the responses kept per app; the least recently used go first."""
DRAW_TOLERANCE_M = 2.0
"""Simplification of drawn catchment areas, metres (projected CRS)."""
WGS84 = "EPSG:4326"


class ScenarioStore:
    """Baseline per workspace version and cached responses (see module docstring)."""

    def __init__(self, store: WorkspaceStore, *, max_results: int = MAX_RESULTS,
                 max_bytes: int = MAX_RESULT_BYTES):
        self._store = store
        self._max_results = max_results
        self._max_bytes = max_bytes
        self.result_bytes = 0
        """Bytes of the responses kept."""
        self._slots = {kind: threading.Lock() for kind in KINDS}
        self._lock = threading.Lock()
        self._base_lock = threading.Lock()
        self._base: tuple[str, Baseline] | None = None
        self._results: OrderedDict[tuple[str, Hashable], bytes] = OrderedDict()
        self._pending: dict[tuple[str, Hashable], Future[bytes]] = {}
        self._preloaded: set[str] = set()
        self._latest: str | None = None
        self.loads = 0
        """Baselines loaded so far (each workspace version once)."""
        self.computed = 0
        """Responses computed so far (a cached response is not computed again)."""

    def baseline(self) -> tuple[str, Baseline]:
        """(manifest checksum, baseline) of the workspace version served now: loaded from
        the directory the served view was read from (a re-run's version directory, or the
        workspace itself), and checked to be the same version after reading."""
        view, key = self._store.current()
        with self._base_lock:
            for _ in range(3):
                if self._base is not None and self._base[0] == key:
                    return self._base
                src = view.workspace.path
                try:
                    base = load_baseline(src)
                    now = sha256_file(src / MANIFEST)
                except (ValidationError, OSError, ValueError, KeyError) as exc:
                    raise WorkspaceUnavailable(
                        f"workspace {self._store.path} cannot be read for siting and "
                        f"what-if: {exc}") from exc
                if now == key:  # unchanged while reading: consistent with the view
                    self._base = (key, base)
                    self.loads += 1
                    self._forget_others(key)
                    return self._base
                view, key = self._store.current()
            raise WorkspaceUnavailable(
                f"workspace {self._store.path} keeps changing; try again shortly")

    def _forget_others(self, manifest: str) -> None:
        """Let go of the results of other versions than ``manifest`` (never asked again)."""
        with self._lock:
            if self._latest == manifest:
                return
            self._latest = manifest
            for old in [k for k in self._results if k[0] != manifest]:
                self.result_bytes -= len(self._results.pop(old))

    def _precomputed(self, view: Any, manifest: str) -> None:
        """Take in the answers computed when the analysis was built
        (:mod:`safetygap.api.precompute`), once per workspace version."""
        from safetygap import FAMILIES
        from safetygap.api._precomputed import read_precomputed, sites_file, sites_key

        with self._lock:
            if manifest in self._preloaded:
                return
            self._preloaded.add(manifest)
        files = read_precomputed(view.workspace.path, manifest_sha256=manifest,
                                 privacy_min_count=view.min_count)
        with self._lock:
            for family in FAMILIES:
                body = files.get(sites_file(family))
                if body is not None:
                    key = (manifest, ("sites", sites_key(family)))
                    if key not in self._results:
                        self._results[key] = body
                        self.result_bytes += len(body)

    def cached(self, kind: str, request_key: Hashable) -> tuple[str, bytes] | None:
        """(manifest checksum, answer) when the answer to this request is kept for the
        workspace version served now (precomputed or computed before), without loading the
        baseline; else None."""
        view, current = self._store.current()
        self._precomputed(view, current)
        key = (current, (kind, request_key))
        with self._lock:
            hit = self._results.get(key)
            if hit is not None:
                self._results.move_to_end(key)
                return current, hit
        return None

    def response(self, kind: str, request_key: Hashable,
                 compute: Callable[[Any, str, Callable[[], Baseline]], bytes]
                 ) -> tuple[str, bytes]:
        """(manifest checksum, ``compute(view, manifest checksum, baseline)``), computed
        once per workspace version and key (answers precomputed with the analysis are
        taken as they are); ``baseline()`` loads this version's baseline in this process
        (a computation given to the compute workers never calls it); ``kind`` (one of
        :data:`KINDS`) says which queue it waits in."""
        hit = self.cached(kind, request_key)
        if hit is not None:
            return hit
        view, manifest = self._store.current()
        self._forget_others(manifest)
        key = (manifest, (kind, request_key))
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return manifest, self._results[key]
            future = self._pending.get(key)
            owner = future is None
            if future is None:
                future = self._pending[key] = Future()
        if not owner:
            return manifest, future.result()
        def base() -> Baseline:
            loaded, baseline = self.baseline()
            if loaded != manifest:
                raise WorkspaceUnavailable("the workspace changed while the answer was "
                                           "being computed; try again")
            return baseline

        try:
            with self._slots[kind]:
                body = compute(view, manifest, base)
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            future.set_exception(exc)
            raise
        with self._lock:
            del self._pending[key]
            self._results[key] = body
            self.result_bytes += len(body)
            self.computed += 1
            while self._results and (len(self._results) > self._max_results
                                     or self.result_bytes > self._max_bytes):
                self.result_bytes -= len(self._results.popitem(last=False)[1])
        future.set_result(body)
        return manifest, body


# ------------------------------------------------------------------- errors

_ROW = re.compile(r"^(\w+) row (\d+)$")


def problems_422(exc: ValidationError, *, source: str) -> RequestValidationError:
    """A 422 listing every problem of ``exc``; ``source`` is ``query`` or ``body``.

    A problem about row n of a list sent in the body (``providers row 3``) is
    located at ``(body, providers, 2, column)``.
    """
    errors = []
    for p in exc.problems:
        m = _ROW.match(p.where)
        loc: tuple[Any, ...] = (source, m[1], int(m[2]) - 1) if m else (source, p.where)
        if p.column is not None:
            loc += (p.column,)
        msg = as_fields(p.message + (f"; allowed: {p.allowed}" if p.allowed is not None
                                     else ""))
        errors.append({"loc": loc, "msg": msg, "type": "value_error",
                       "input": None if p.value is None else str(p.value)})
    return RequestValidationError(errors)


# ------------------------------------------------------------------ shaping


def _num(v: Any) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else float(v)


def _id(v: Any) -> str | None:
    """An area id as text; None for none (None, NaN, pandas NA)."""
    return None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) \
        else str(v)


def _geojson(geoms: list[shapely.Geometry], crs: Any) -> list[dict[str, Any]]:
    """Geometries in ``crs`` simplified by :data:`DRAW_TOLERANCE_M`, as GeoJSON in
    EPSG:4326 with coordinates rounded to 1e-6 degrees (about 0.1 m)."""
    simple = shapely.simplify(np.array(geoms, dtype=object), DRAW_TOLERANCE_M,
                              preserve_topology=True)
    out = gpd.GeoSeries(simple, crs=crs).to_crs(WGS84).to_numpy()
    return [mapping(shapely.transform(g, lambda c: np.round(c, 6))) for g in out]


def validated_json(model: type[BaseModel], data: dict[str, Any]) -> bytes:
    """``data`` validated against ``model`` and serialised."""
    return model.model_validate(data).model_dump_json(by_alias=True).encode()


def sites_response(base: Baseline, manifest: str, result: dict[str, Any]
                   ) -> records.SiteRecommendation:
    """A :func:`~safetygap.scenarios.recommend_sites` result as a ``SiteRecommendation``."""
    areas = _geojson(site_catchments(base, result), base.crs)
    sites = []
    for s, area in zip(result["sites"], areas, strict=True):
        site = {k: v for k, v in s.items() if k not in ("x", "y")}
        site["neighborhood_id"] = _id(s["neighborhood_id"])
        site["ward_id"] = _id(s["ward_id"])
        site["catchment_area"] = area
        sites.append(site)
    out = {k: v for k, v in result.items() if k != "workspace"}
    return {**out, "crs": WGS84, "manifest_sha256": manifest, "sites": sites,
            "catchment_area_method": CATCHMENT_AREAS[base.travel.kind]}


def scenario_response(manifest: str, result: dict[str, Any]) -> records.ScenarioResult:
    """A :func:`~safetygap.scenarios.whatif` result as a ``ScenarioResult``."""
    providers = [{**p, "neighborhood_id": _id(p["neighborhood_id"]), "ward_id": _id(p["ward_id"]),
                  "capacity": _num(p["capacity"]), "catchment": _num(p["catchment"])}
                 for p in result["providers"]]
    out = {k: v for k, v in result.items() if k != "workspace"}
    return {**out, "manifest_sha256": manifest, "providers": providers}


# ------------------------------------------------------------------ computations
# run by the compute workers (safetygap.api._compute: tasks sites, scenario,
# site_features), or in the server process when it has none; bad requests raise
# ValidationError (the route turns it into a 422 located in the query or the body)


def candidate_frame(base: Baseline, candidates: list[dict[str, Any]], *, family: str,
                    service_type: str | None, capacity: float | None) -> Any:
    """The candidate sites sent, validated and placed (blank fields: the run's service
    type and capacity)."""
    from safetygap.scenarios import candidates_from_frame, default_capacity, default_service_type

    stype = service_type or default_service_type(base, family)
    cap = capacity if capacity is not None else default_capacity(base, stype)
    return candidates_from_frame(base, pd.DataFrame(candidates), where="candidates",
                                 service_type=stype, capacity=cap)


def site_answer(base: Baseline, *, manifest: str, family: str, k: int,
                service_type: str | None, catchment: float | None, capacity: float | None,
                candidates: list[dict[str, Any]] | None, existing: str,
                memory_budget_mb: float) -> bytes:
    """The ``SiteRecommendation`` JSON of siting ``family`` among ``candidates`` (default
    ones when None). Raises one :class:`~safetygap.errors.ValidationError` listing every
    problem of the options and the candidates."""
    from safetygap import FAMILIES
    from safetygap.api.models_sites import SiteRecommendation
    from safetygap.scenarios import check_siting_options, recommend_sites

    try:
        check_siting_options(base, family=family, k=k, service_type=service_type,
                             catchment=catchment, capacity=capacity)
    except ValidationError as exc:
        errors = [exc]
        if candidates is not None and family in FAMILIES:  # their problems too, at once
            valid_type = exc.problems and all(p.where != "service_type" for p in exc.problems)
            try:
                candidate_frame(base, candidates, family=family,
                                service_type=service_type if valid_type else None,
                                capacity=capacity if capacity is not None and capacity > 0
                                else None)
            except ValidationError as more:
                errors.append(more)
        raise ValidationError.merge(errors) from exc
    cands = None if candidates is None else candidate_frame(
        base, candidates, family=family, service_type=service_type, capacity=capacity)
    result = recommend_sites(
        base, family=family, k=k, candidates=cands, service_type=service_type,
        catchment=catchment, capacity=capacity, candidates_source="request body",
        memory_budget_mb=memory_budget_mb, keep_existing=existing == "keep")
    return validated_json(SiteRecommendation, sites_response(base, manifest, result))


def scenario_answer(base: Baseline, *, manifest: str, providers: list[dict[str, Any]]
                    ) -> bytes:
    """The ``ScenarioResult`` JSON of the what-if with ``providers`` added."""
    from safetygap.api.models_sites import ScenarioResult
    from safetygap.scenarios import new_providers, whatif

    extra = new_providers(base, pd.DataFrame(providers), where="providers")
    return validated_json(ScenarioResult, scenario_response(manifest, whatif(base, extra)))


TASK_FUNCTIONS: dict[str, Callable[..., bytes]] = {
    "sites": site_answer, "scenario": scenario_answer}
"""The compute tasks (:data:`safetygap.api._compute.TASKS`) done on a siting baseline."""


def computed(pool: Any, view: Any, task: str, params: dict[str, Any],
             base: Callable[[], Baseline], *, timeout_s: float) -> bytes:
    """``task`` of :data:`TASK_FUNCTIONS` with ``params``: by a compute worker of ``pool``
    (a :class:`~safetygap.api._compute.ComputePool`, which imports this module; on its
    own baseline of ``view``'s version, at most ``timeout_s``), or in this
    process on ``base()`` when the pool has no worker."""
    if pool.in_process:
        return TASK_FUNCTIONS[task](base(), **params)
    return pool.answer(view, task, params, timeout_s=timeout_s)
