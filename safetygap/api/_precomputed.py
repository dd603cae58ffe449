"""Reading the answers computed when an analysis was built (see :mod:`.precompute`): which
files, their names, and the check that they belong to the served workspace version."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from safetygap._hashing import sha256_file

DIRECTORY = "precomputed"
INDEX = "index.json"
REPORT = "report.html"
DEFAULT_K = 5
"""Sites of the siting page's default answer (``/maps/sites``)."""


def sites_file(family: str) -> str:
    return f"sites-{family}.json"


def sites_key(family: str, k: int = DEFAULT_K) -> tuple:
    """The key of ``GET /api/sites?family=F&k=K`` (no other parameter) in the app's siting
    store (:mod:`safetygap.api.routes_sites`)."""
    return ("query", family, k, None, None, None, "keep")


def precomputed_report(view: Any, manifest_sha256: str) -> str | None:
    """The report precomputed for the served view's workspace version, if any."""
    body = read_precomputed(view.workspace.path, manifest_sha256=manifest_sha256,
                            privacy_min_count=view.min_count).get(REPORT)
    return None if body is None else body.decode("utf-8")


def read_precomputed(workspace: str | os.PathLike, *, manifest_sha256: str,
                     privacy_min_count: int) -> dict[str, bytes]:
    """The precomputed files of ``workspace`` by name, when they belong to the manifest
    with checksum ``manifest_sha256`` and were drawn with ``privacy_min_count``, and every
    file is intact; else nothing (``{}``)."""
    d = Path(workspace) / DIRECTORY
    index = _index(workspace)
    if (index.get("manifest_sha256") != manifest_sha256
            or index.get("privacy_min_count") != privacy_min_count):
        return {}
    out = {}
    for name, digest in index.get("files", {}).items():
        p = d / name
        if p.is_file() and sha256_file(p) == digest:
            out[name] = p.read_bytes()
    return out


def _index(workspace: str | os.PathLike) -> dict[str, Any]:
    """The precomputed answers' index of ``workspace`` (empty when missing or unreadable)."""
    try:
        return json.loads((Path(workspace) / DIRECTORY / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def precomputed_skips(workspace: str | os.PathLike) -> dict[str, str]:
    """The families whose default sites were not precomputed, with the reason."""
    return dict(_index(workspace).get("skipped", {}))
