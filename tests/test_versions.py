"""Versioned workspaces: a re-run builds beside the served analysis and is swapped in
atomically; a re-run killed with SIGKILL leaves the previous version intact and served;
readers during re-runs always get one complete, consistent version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from _live import live_server
from fastapi.testclient import TestClient

from safetygap._hashing import sha256_file
from safetygap.api.app import create_app
from safetygap.errors import ValidationError
from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions
from safetygap.run import rebuild, run_analysis
from safetygap.settings import Settings
from safetygap.versions import (
    POINTER,
    RerunBusy,
    active_dir,
    new_version_dir,
    prune,
    rerun_lock,
    version_dirs,
)
from safetygap.workspace import MANIFEST, Workspace


def _client(ws: Path) -> TestClient:
    return TestClient(create_app(ws, settings=Settings(tiles="none")),
                      raise_server_exceptions=False)


def test_rebuild_swaps_pointer_and_keeps_the_original(tiny_ws):
    ws, files = tiny_ws
    original = sha256_file(ws / MANIFEST)
    assert active_dir(ws) == ws
    v1 = rebuild(ws)
    assert (ws / POINTER).read_text() == v1.name + "\n"
    assert active_dir(ws) == v1 and Workspace.open(ws).path == v1
    assert Workspace(v1).verify() == [] and Workspace(ws).verify() == []
    assert sha256_file(ws / MANIFEST) == original  # the top level is never rewritten
    # same inputs, same answer
    assert Workspace(v1).summary["totals"] == Workspace(ws).summary["totals"]
    # `analyze --out ws` (a plain write) makes the top level active again
    run_analysis(AnalysisInputs(**files), ws, quiet=True,
                 options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True))
    assert not (ws / POINTER).exists() and Workspace.open(ws).path == ws


def test_rebuild_with_bad_input_changes_nothing(tiny_ws, tmp_path):
    ws, _ = tiny_ws
    v1 = rebuild(ws)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,call_type\n1,Theft (P)\n")
    with pytest.raises(ValidationError, match="'latitude'"):
        rebuild(ws, {"calls": bad})
    assert active_dir(ws) == v1 and version_dirs(ws) == [v1]


def test_pointer_outside_versions_is_refused(tiny_ws):
    ws, _ = tiny_ws
    (ws / POINTER).write_text("../../etc\n")
    with pytest.raises(ValidationError, match="not a version directory"):
        Workspace.open(ws)


def test_rerun_lock_is_exclusive(tiny_ws):
    ws, _ = tiny_ws
    with rerun_lock(ws), pytest.raises(RerunBusy):
        rebuild(ws)


def test_prune_keeps_active_and_recent_and_removes_partial(tiny_ws):
    ws, _ = tiny_ws
    versions = [rebuild(ws, keep=10) for _ in range(4)]
    partial = new_version_dir(ws)  # a killed re-run's leftover: no manifest
    (partial / "calls.parquet").write_bytes(b"half")
    assert active_dir(ws) == versions[-1]
    now = time.time()
    # within the grace period nothing complete goes; the partial one does
    assert prune(ws, keep=1, grace_s=3600, now=now) == [partial.name]
    assert version_dirs(ws) == versions
    # past the grace period: the active one and `keep` others stay
    removed = prune(ws, keep=1, grace_s=3600, now=now + 7200)
    assert removed == [v.name for v in versions[:2]]
    assert version_dirs(ws) == versions[2:]
    assert Workspace.open(ws).verify() == []


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import safetygap.run as run
    import safetygap.versions as versions
    import safetygap.workspace as workspace

    root, point, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])

    def hang():
        marker.write_text("here")
        time.sleep(600)

    if point == "before_manifest":  # every data file written, the manifest not yet
        real = workspace.write_json
        def write_json(path, data):
            if path.name == "manifest.json":
                hang()
            real(path, data)
        workspace.write_json = write_json
    else:  # the new version complete, the pointer not yet replaced
        versions.swap = lambda root, version: hang()
    run.rebuild(root, {"calls": sys.argv[4]})
""")


@pytest.mark.parametrize("point", ["before_manifest", "before_swap"])
def test_rerun_killed_mid_way_leaves_the_previous_version_served(tiny_ws, tmp_path, point):
    ws, files = tiny_ws
    v1 = rebuild(ws)
    fewer = tmp_path / "fewer.csv"
    pd.read_csv(files["calls"], dtype=str).iloc[:5].to_csv(fewer, index=False)
    with _client(ws) as c:
        before = c.get("/health").json()["manifest_sha256"]
        summary = c.get("/api/summary").json()
        marker = tmp_path / "marker"
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(ws), point,
                                 str(marker), str(fewer)])
        try:
            deadline = time.monotonic() + 60
            while not marker.exists():
                assert proc.poll() is None, "the re-run ended before the kill point"
                assert time.monotonic() < deadline, "the re-run never reached the kill point"
                time.sleep(0.02)
            partial = [v for v in version_dirs(ws) if v != v1]
            assert len(partial) == 1 and (partial[0] / "calls.parquet").is_file()
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        # the previous version is intact, active and still served
        assert active_dir(ws) == v1
        assert Workspace.open(ws).verify() == []
        assert c.get("/health").json()["manifest_sha256"] == before
        assert c.get("/api/summary").json() == summary
    with _client(ws) as fresh:  # a server started after the crash serves it too
        assert fresh.get("/health").json()["manifest_sha256"] == before
    # the next re-run clears the leftover (incomplete) and swaps in normally
    v3 = rebuild(ws, {"calls": fewer})
    assert active_dir(ws) == v3 and Workspace(v3).summary["totals"]["input_rows"] == 5
    if point == "before_manifest":
        assert partial[0] not in version_dirs(ws)
    else:  # complete but never active: kept like any old version, pruned later
        assert Workspace(partial[0]).verify() == []


def test_readers_during_reruns_always_get_one_complete_version(tiny_ws, tmp_path):
    """Threads hammer two routes over real sockets while re-runs alternate between two
    calls files. Every response is a 200 whose body is exactly what its version (named
    by the X-Safetygap-Workspace header) holds: no mixed or partial answers."""
    ws, files = tiny_ws
    fewer = tmp_path / "fewer.csv"
    pd.read_csv(files["calls"], dtype=str).iloc[:5].to_csv(fewer, index=False)
    results: list[tuple[str, int, str, dict]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader(url: str) -> None:
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                while not stop.is_set():
                    for route in ("/api/summary", "/api/neighborhoods?tolerance=0"):
                        r = http.get(route)
                        results.append((route, r.status_code,
                                        r.headers.get("x-safetygap-workspace", ""), r.json()))
        except BaseException as exc:
            errors.append(exc)

    with live_server(create_app(ws, settings=Settings(tiles="none", privacy_min_count=1))) as url:
        threads = [threading.Thread(target=reader, args=(url,)) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(4):
                rebuild(ws, {"calls": fewer if i % 2 == 0 else files["calls"]}, keep=10)
                time.sleep(0.3)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
    assert not errors, errors
    by_key = {sha256_file(d / MANIFEST): Workspace(d)
              for d in [ws, *version_dirs(ws)]}
    seen = set()
    for route, status, key, body in results:
        assert status == 200, (route, body)
        assert key in by_key, f"{route} answered from an unknown manifest {key}"
        seen.add(key)
        version = by_key[key]
        if route == "/api/summary":
            assert body["totals"] == version.summary["totals"]
        else:
            calls = sum(f["properties"]["calls_total"] for f in body["features"])
            assert calls == version.summary["totals"]["calls_in_areas"]
    assert len(results) > 50 and len(seen) >= 3, (len(results), len(seen))


def test_a_frozen_server_heap_stays_frozen_and_frees_the_old_view_after_a_rerun(tiny_ws):
    """``safetygap serve`` freezes its heap once the workspace is read (gc.freeze, so full
    collections never walk the workspace); a re-run's new view is frozen in its turn and
    the old one is handed back to the collector, which frees it."""
    import gc
    import weakref

    from safetygap.api._store import WorkspaceStore

    ws, _ = tiny_ws
    store = WorkspaceStore(ws)
    old = weakref.ref(store.view())
    gc.collect()
    gc.freeze()
    try:
        rebuild(ws)
        new = store.view()
        assert new is not old() and new.workspace.path == active_dir(ws)
        assert old() is None  # released, even though it was frozen
        # frozen: in none of the collector's generations
        assert not any(o is new for g in range(3) for o in gc.get_objects(g))
        assert store.fresh() is not None and store.fresh()[0] is new
    finally:
        gc.unfreeze()
