"""Compare every GET answer of the API at two git revisions: did a change alter any answer?

A refactoring of the API's models or of the read model must leave every answer byte for
byte as it was. This script serves one workspace with the app of each revision (each
revision exported with ``git archive`` into a temporary directory and run in a child
process with this environment's Python; ``WORKTREE`` is the working tree as it is now) and
fetches, in each, ``/openapi.json`` and every GET route of that revision's OpenAPI schema:

- once with its defaults, path parameters filled with the first id the collection above
  them lists (``/api/wards/{area_id}``: the first feature of ``/api/wards``; OGC
  collections and items the same way), required query parameters with their first
  allowed value or a value of the workspace (the first ward, year, group ...);
- once more for each value of each enumerated query parameter (``family``, ``level``,
  ``format`` ...) and with the workspace's value of each optional one that names
  something (``ward``, ``neighborhood``, ``year``, ``group``, ``area``), the other
  parameters left at their defaults.

It then compares status, content type and body of every URL, exactly, and prints each URL
that differs (with the first differing bytes) or that only one revision answers, and a
fingerprint of each side (a SHA-256 of every URL's status, type and body).

    python bench/compare_api.py WORKSPACE --before main [--after WORKTREE]

The workspace is served as it is (use ``safetygap demo --no-serve --out DIR``; the
workspace is ``DIR/workspace``). What differs between any two runs of the same code
(Folium's random element ids, time stamps, the siting's timings) is replaced by a
placeholder first (:data:`VOLATILE`). ``--keep DIR`` keeps both sides' answers;
``--before DIR/before.json`` compares with kept answers again. Exits 1 when any answer
differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from compare_workspaces import WORKTREE, source_tree  # noqa: E402

SCHEMA = "/openapi.json"
VOLATILE = (
    (re.compile(r"_[0-9a-f]{32}(?![0-9a-f])"), "_<ID>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), "<TIME>"),
    (re.compile(r'"timings_s": ?\{[^{}]*\}'), '"timings_s":<TIMINGS>'),
)
"""What differs between any two runs of the same code: Folium's random element ids
(``map_<32 hex digits>``, ``geo_json_<32 hex digits>_styler``), time stamps (OGC
``timeStamp``, the GeoPackage's ``last_change`` and its styles' dates)
and the siting's ``timings_s``; replaced by a placeholder before comparing."""


def normalised(body: str) -> str:
    for pattern, placeholder in VOLATILE:
        body = pattern.sub(placeholder, body)
    return body


def _first_id(client: Any, collection: str) -> str | None:
    """The first id the GET answer at ``collection`` lists (features, collections)."""
    resp = client.get(collection)
    if resp.status_code != 200 or "json" not in resp.headers.get("content-type", ""):
        return None
    body = resp.json()
    for key in ("features", "collections"):
        items = body.get(key) if isinstance(body, dict) else None
        if isinstance(items, list) and items and isinstance(items[0], dict) \
                and items[0].get("id") is not None:
            return str(items[0]["id"])
    return None


def _fill(client: Any, path: str) -> str | None:
    """``path`` with each ``{param}`` replaced by the first id of the collection above it
    (or, for a page, of the API's collection of the same name: ``/wards/{ward}`` takes
    the first of ``/api/wards``); None when none can be found."""
    while "{" in path:
        start = path.index("{")
        end = path.index("}", start)
        above = path[:start].rstrip("/")
        value = _first_id(client, above)
        if value is None:
            value = _first_id(client, "/api/" + above.rsplit("/", 1)[-1])
        if value is None:
            return None
        path = path[:start] + value + path[end + 1:]
    return path


def samples(client: Any) -> dict[str, str]:
    """A value for the query parameters that name something of the workspace."""
    out = {"ward": _first_id(client, "/api/wards"),
           "neighborhood": _first_id(client, "/api/neighborhoods"),
           "area": _first_id(client, "/api/neighborhoods")}
    summary = client.get("/api/summary").json()
    if summary.get("years"):
        out["year"] = str(summary["years"][0])
    equity = client.get("/api/equity")
    if equity.status_code == 200 and equity.json().get("groups"):
        out["group"] = equity.json()["groups"][0]["key"]
    return {k: v for k, v in out.items() if v is not None}


def _enum(param: dict[str, Any]) -> list[Any]:
    sch = param.get("schema", {})
    return [v for s in (sch, *sch.get("anyOf", [])) if "enum" in s for v in s["enum"]]


def urls(client: Any, schema: dict[str, Any]) -> list[str]:
    """Every GET route of ``schema``: with its required parameters (the first allowed
    value, or a sample of the workspace), then once per value of each enumerated query
    parameter and once with the sample of each optional parameter that has one."""
    known = samples(client)
    out: list[str] = [SCHEMA]
    for template, methods in sorted(schema.get("paths", {}).items()):
        op = methods.get("get")
        if op is None:
            continue
        path = _fill(client, template)
        if path is None:
            out.append(f"UNFILLED {template}")
            continue
        query = [p for p in op.get("parameters", []) if p.get("in") == "query"]
        base: dict[str, Any] = {}
        for p in query:
            if p.get("required"):
                value = (_enum(p) or [known.get(p["name"])])[0]
                if value is not None:
                    base[p["name"]] = value
        out.append(f"{path}?{urlencode(base)}" if base else path)
        for p in query:
            values = _enum(p) + ([known[p["name"]]] if p["name"] in known else [])
            for value in values:
                if base.get(p["name"]) != value:
                    out.append(f"{path}?{urlencode({**base, p['name']: value})}")
    return out


def fetch_all(workspace: str, out: str) -> None:
    """(In the child process.) Serve ``workspace`` and write every answer to ``out``."""
    from fastapi.testclient import TestClient

    import safetygap
    from safetygap.api.app import create_app

    print(f"serving with {safetygap.__file__}", flush=True)
    answers: dict[str, list[str | int]] = {}
    with TestClient(create_app(workspace), raise_server_exceptions=False) as client:
        schema = client.get(SCHEMA).json()
        for url in urls(client, schema):
            if url.startswith("UNFILLED"):
                answers[url] = [0, "", ""]
                continue
            resp = client.get(url)
            answers[url] = [resp.status_code, resp.headers.get("content-type", ""),
                            resp.content.decode("latin-1")]
    Path(out).write_text(json.dumps(answers))


def answers_at(rev: str, workspace: Path, out: Path) -> tuple[dict[str, list], float]:
    """Every answer of the app at revision ``rev`` serving ``workspace``, and seconds."""
    with tempfile.TemporaryDirectory(prefix="safetygap-src-") as tmp:
        src = source_tree(rev, Path(tmp) / "src")
        code = (
            "import sys, safetygap\n"
            f"assert safetygap.__file__.startswith({str(src)!r}), safetygap.__file__\n"
            f"sys.path.insert(0, {str(ROOT / 'bench')!r})\n"
            "from compare_api import fetch_all\n"
            f"fetch_all({str(workspace)!r}, {str(out)!r})\n"
        )
        env = {**os.environ, "PYTHONPATH": str(src)}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=src, env=env, check=True)
        secs = time.perf_counter() - t0
    return json.loads(out.read_text()), secs


def fingerprint(answers: dict[str, list]) -> str:
    h = hashlib.sha256()
    for url in sorted(answers):
        status, kind, body = answers[url]
        h.update(f"{url}\0{status}\0{kind}\0".encode())
        h.update(normalised(body).encode("latin-1"))
    return h.hexdigest()


def differences(a: dict[str, list], b: dict[str, list]) -> list[str]:
    """One line per URL whose answers differ or that one side lacks."""
    out = []
    for url in sorted(set(a) | set(b)):
        if url not in a or url not in b:
            out.append(f"{url}: only {'after' if url not in a else 'before'}")
            continue
        (sa, ka, ba), (sb, kb, bb) = a[url], b[url]
        ba, bb = normalised(ba), normalised(bb)
        if (sa, ka) != (sb, kb):
            out.append(f"{url}: status/type {sa} {ka} -> {sb} {kb}")
        if ba != bb:
            i = next((i for i, (x, y) in enumerate(zip(ba, bb, strict=False)) if x != y),
                     min(len(ba), len(bb)))
            out.append(f"{url}: body differs at byte {i} ({len(ba)} vs {len(bb)} bytes): "
                       f"{ba[max(0, i - 40):i + 60]!r} -> {bb[max(0, i - 40):i + 60]!r}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspace", type=Path, help="the workspace both revisions serve")
    ap.add_argument("--before", required=True,
                    help="git revision of the baseline, or answers kept by --keep (a "
                         ".json file) to compare with again")
    ap.add_argument("--after", default=WORKTREE, help=f"git revision or {WORKTREE}")
    ap.add_argument("--keep", type=Path, help="write each side's answers into this "
                                              "directory (before.json, after.json)")
    ap.add_argument("--limit", type=int, default=30, help="differences shown")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="safetygap-api-") as tmp:
        keep = args.keep or Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        got = {}
        for label, rev in (("before", args.before), ("after", args.after)):
            if rev.endswith(".json") and Path(rev).is_file():
                got[label], secs = json.loads(Path(rev).read_text()), 0.0
            else:
                got[label], secs = answers_at(rev, args.workspace.resolve(),
                                              keep / f"{label}.json")
            ok = sum(1 for s, _, _ in got[label].values() if s == 200)
            print(f"{label} ({rev}): {len(got[label])} URLs ({ok} answered 200) in "
                  f"{secs:.1f} s", flush=True)
    diffs = differences(got["before"], got["after"])
    for line in diffs[:args.limit]:
        print(f"    {line}")
    if len(diffs) > args.limit:
        print(f"    ... {len(diffs) - args.limit} more")
    unfilled = [u for u in got["after"] if u.startswith("UNFILLED")]
    if unfilled:
        print(f"not fetched (no id found for a path parameter): {unfilled}")
    print(f"fingerprint before {fingerprint(got['before'])}\n"
          f"fingerprint after  {fingerprint(got['after'])}")
    print("IDENTICAL" if not diffs else f"DIFFERENT ({len(diffs)} URLs)")
    sys.exit(0 if not diffs else 1)


if __name__ == "__main__":
    main()
