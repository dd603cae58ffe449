"""What the server does when things go wrong around uploads and re-runs: an upload is
checked for what the re-run needs; a failed re-run's public answer carries a message and
an error id, never a traceback (that goes to the server log); a full or read-only disk is
a clean 503 and the analysis keeps being served; a corrupt newest version is not served:
the newest version whose checksums verify is, and /health says which and why."""

from __future__ import annotations

import errno
import json
import logging
import os
import textwrap

import geopandas as gpd
from shapely.affinity import translate
from typer.testing import CliRunner

from safetygap.run import rebuild
from safetygap.versions import POINTER, version_dirs
from safetygap.workspace import Workspace
from tests.test_write_api import AUTH, make_client, upload, wait_job


def test_an_upload_is_checked_against_the_analysis_it_would_change(tiny_ws):
    """Neighborhoods 100 km away from the served wards read fine on their own, but the
    re-run would stop: refused at upload (422), naming both layers' files."""
    ws, files = tiny_ws
    far = gpd.read_file(files["neighborhoods"])
    far["geometry"] = [translate(g, 100_000, 0) for g in far.geometry]
    with make_client(ws) as c:
        r = upload(c, "neighborhoods", "far.geojson", far.to_crs("EPSG:4326").to_json().encode())
        assert r.status_code == 422, r.text[:500]
        message = r.json()["message"]
        assert "do not overlap" in message and "far.geojson" in message
        assert files["wards"].name in message and str(files["wards"]) not in r.text


def test_a_failed_rerun_answers_a_message_and_an_error_id_never_a_traceback(
        tiny_ws, tmp_path, monkeypatch, caplog):
    """The re-run child crashes (a bug stand-in injected through sitecustomize): the job
    says it failed unexpectedly, with an error id; the traceback is in the server log
    under that id, not in the answer."""
    ws, _ = tiny_ws
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(textwrap.dedent("""
        import safetygap.pipeline as p
        def analyze(*a, **k):
            raise RuntimeError("boom in /srv/secret/place")
        p.analyze = analyze
    """))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(hook), os.environ.get("PYTHONPATH", "")]))
    with make_client(ws) as c, caplog.at_level(logging.ERROR, logger="safetygap.api"):
        active = c.get("/health").json()["manifest_sha256"]
        job = wait_job(c, c.post("/api/analyses", headers=AUTH).json()["id"])
        assert c.get("/health").json()["manifest_sha256"] == active
    assert job["status"] == "failed" and job["error_id"]
    assert "failed unexpectedly (exit code 1)" in job["message"]
    assert job["error_id"] in job["message"]
    text = json.dumps(job)
    assert "Traceback" not in text and "boom" not in text and "/srv/secret" not in text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert job["error_id"] in logged and "Traceback" in logged and "boom" in logged


def test_a_rerun_stopped_by_a_bad_input_says_why_with_an_error_id(tiny_ws):
    ws, files = tiny_ws
    with make_client(ws) as c:
        files["population"].unlink()
        job = wait_job(c, c.post("/api/analyses", headers=AUTH).json()["id"])
    assert job["status"] == "failed"
    assert "population file of the analysis is gone" in job["message"]
    assert not job["message"].startswith("error:") and job["error_id"] in job["message"]
    assert "Traceback" not in job["message"] and str(files["population"]) not in job["message"]


def _full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "/srv/data/x")


def test_a_full_disk_during_an_upload_is_a_503_and_nothing_changes(tiny_ws, monkeypatch):
    ws, files = tiny_ws
    with make_client(ws) as c:
        before = c.get("/api/summary")
        monkeypatch.setattr("safetygap.api._uploads.copy_limited", _full)
        r = upload(c, "calls", "c.csv", files["calls"].read_bytes())
        assert r.status_code == 503, r.text
        assert "No space left on device" in r.json()["message"]
        assert "/srv/data" not in r.text and "Traceback" not in r.text
        monkeypatch.undo()
        # the registry cannot be written (read-only): 503, and the stored file removed
        monkeypatch.setattr("safetygap.api._uploads.write_json", lambda *a: (_ for _ in ()).throw(
            OSError(errno.EROFS, "Read-only file system")))
        r = upload(c, "calls", "c.csv", files["calls"].read_bytes())
        assert r.status_code == 503 and "Read-only file system" in r.json()["message"]
        after = c.get("/api/summary")
        listed = c.get("/api/datasets").json()["datasets"]
    assert after.status_code == 200 and after.json() == before.json()
    assert after.headers["x-safetygap-workspace"] == before.headers["x-safetygap-workspace"]
    assert listed == [] and not [p for p in (ws.parent / "uploads").iterdir()
                                 if p.name.startswith("calls-")]


def test_a_full_disk_during_a_rerun_keeps_the_active_version(tiny_ws, monkeypatch):
    from safetygap.cli import app

    ws, _ = tiny_ws
    first = rebuild(ws)
    monkeypatch.setattr("safetygap.run.run_analysis", _full)
    result = CliRunner().invoke(app, ["rerun", "--workspace", str(ws), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output and "active version is unchanged" \
        in result.output
    assert "Traceback" not in result.output
    assert (ws / POINTER).read_text().strip() == first.name
    assert [v.name for v in version_dirs(ws)] == [first.name]


def test_a_corrupt_newest_version_falls_back_to_one_that_verifies(tiny_ws):
    """Two re-runs; the newest one's neighborhoods.parquet is truncated on disk: every
    route answers from the previous version, /health names both and the failing file."""
    ws, _ = tiny_ws
    older = rebuild(ws)
    newest = rebuild(ws)
    target = newest / "neighborhoods.parquet"
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    assert Workspace(newest).verify() == ["neighborhoods.parquet"]
    with make_client(ws) as c:
        health = c.get("/health").json()
        for route in ("/api/summary", "/api/neighborhoods", "/api/hexbins", "/api/wards"):
            r = c.get(route)
            assert r.status_code == 200, (route, r.text[:300])
            assert r.headers["x-safetygap-workspace"] == health["manifest_sha256"]
    assert health["served_version"] == older.name
    assert health["fallback"]["newest"] == newest.name
    assert "neighborhoods.parquet" in health["fallback"]["reason"]
    assert "checksum" in health["fallback"]["reason"]
    # every version broken but the top-level analysis: that one is served
    for v in (older, newest):
        (v / "wards.parquet").write_bytes(b"junk")
    with make_client(ws) as c:
        health = c.get("/health").json()
        assert c.get("/api/summary").status_code == 200
    assert health["served_version"] == "top-level analysis"


def test_a_full_disk_during_an_api_rerun_is_a_message_and_the_analysis_stays(
        tiny_ws, tmp_path, monkeypatch):
    """POST /api/analyses while the disk is full (the re-run child's writer raises ENOSPC,
    injected through sitecustomize): the job fails with the reason and an error id, no
    traceback, no server path; the served analysis and its version do not change."""
    ws, _ = tiny_ws
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(textwrap.dedent("""
        import errno
        import safetygap.run as r
        def run_analysis(*a, **k):
            raise OSError(errno.ENOSPC, "No space left on device", "/srv/data/x")
        r.run_analysis = run_analysis
    """))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(hook), os.environ.get("PYTHONPATH", "")]))
    with make_client(ws) as c:
        before = c.get("/api/summary")
        job = wait_job(c, c.post("/api/analyses", headers=AUTH).json()["id"])
        after = c.get("/api/summary")
    assert job["status"] == "failed" and job["error_id"] in job["message"]
    assert "No space left on device" in job["message"]
    text = json.dumps(job)
    assert "Traceback" not in text and "/srv/data" not in text and str(ws) not in text
    assert after.status_code == 200 and after.json() == before.json()
    assert after.headers["x-safetygap-workspace"] == before.headers["x-safetygap-workspace"]
