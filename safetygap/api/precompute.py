"""Answers computed when an analysis is built, so that every page is quick at its first visit.

:func:`precompute` writes into ``<workspace>/precomputed/``:

``report.html``
    the printable report (``GET /report``, ``safetygap report``)
``sites-<family>.json``
    the siting page's default answer for each family (``GET /api/sites?family=F&k=5``:
    the family's most common service type and its catchment, existing providers kept),
    byte for byte what the route would compute
``index.json``
    the checksum of the workspace's ``manifest.json`` these belong to, the privacy
    threshold the report was drawn with, the checksum of each file, the timings

The app uses them (:func:`read_precomputed`) only while the served workspace's manifest has
that checksum and its privacy threshold is the same; otherwise (a re-run, another
setting) it computes on demand as before. The command line runs :func:`precompute` after
``analyze``, ``demo`` and ``rerun`` (``--no-precompute`` skips it).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from safetygap import FAMILIES
from safetygap._hashing import sha256_file
from safetygap._io import atomic_write
from safetygap.api._precomputed import (
    DEFAULT_K,
    DIRECTORY,
    INDEX,
    REPORT,
    precomputed_report,
    precomputed_skips,
    read_precomputed,
    sites_file,
    sites_key,
)
from safetygap.errors import ValidationError
from safetygap.privacy import DEFAULT_MIN_COUNT
from safetygap.workspace import MANIFEST, Workspace

__all__ = ["DEFAULT_K", "DIRECTORY", "INDEX", "REPORT", "precompute", "precomputed_report",
           "precomputed_skips", "read_precomputed", "sites_file", "sites_key"]



def precompute(workspace: str | os.PathLike, *, privacy_min_count: int = DEFAULT_MIN_COUNT,
               memory_budget_mb: float | None = None) -> dict[str, float]:
    """Write the report and the default sitings of ``workspace`` (see module docstring);
    returns the seconds each took. A family whose siting the core refuses (its coverage
    would pass ``memory_budget_mb``, say) is left out and named with the reason under
    ``skipped`` in the index: its page then computes on demand and answers that reason,
    and the analysis itself stands."""
    from safetygap.api._scenarios import sites_response, validated_json
    from safetygap.api.models_sites import SiteRecommendation
    from safetygap.maps.report import build_report
    from safetygap.readmodel import WorkspaceView
    from safetygap.scenarios import load_baseline, recommend_sites

    ws = Workspace.open(workspace)
    manifest = sha256_file(ws.path / MANIFEST)
    out = ws.path / DIRECTORY
    out.mkdir(exist_ok=True)
    (out / INDEX).unlink(missing_ok=True)  # incomplete until the index is written
    timings: dict[str, float] = {}
    files: dict[str, bytes] = {}
    t0 = time.perf_counter()
    view = WorkspaceView(ws, privacy_min_count=privacy_min_count)
    files[REPORT] = build_report(view).encode("utf-8")
    timings["report"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    base = load_baseline(ws.path)
    timings["siting_baseline"] = round(time.perf_counter() - t0, 3)
    skipped: dict[str, str] = {}
    for family in FAMILIES:
        t0 = time.perf_counter()
        try:
            result = recommend_sites(base, family=family, k=DEFAULT_K,
                                     memory_budget_mb=memory_budget_mb)
        except ValidationError as exc:  # e.g. past the memory budget: the route says so
            skipped[family] = str(exc)
            continue
        files[sites_file(family)] = validated_json(
            SiteRecommendation, sites_response(base, manifest, result))
        timings[f"sites_{family}"] = round(time.perf_counter() - t0, 3)
    for name, body in files.items():
        atomic_write(out / name, lambda p, b=body: Path(p).write_bytes(b))
    index = {"manifest_sha256": manifest, "privacy_min_count": int(privacy_min_count),
             "k": DEFAULT_K, "timings_s": timings,
             "files": {n: sha256_file(out / n) for n in files}, "skipped": skipped}
    atomic_write(out / INDEX, lambda p: Path(p).write_text(json.dumps(index, indent=1)))
    return timings
