"""Write routes: who may change data (bearer token), uploads (size limit, safe names,
validation with clear messages) and re-runs (background, one at a time, swapped in
atomically). Every test works on its own tiny-city workspace under tmp_path."""

from __future__ import annotations

import http.client
import json
import re
import select
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
from _live import live_server
from fastapi.testclient import TestClient

from safetygap.api.app import create_app
from safetygap.settings import Settings
from safetygap.versions import POINTER, version_dirs
from safetygap.workspace import Workspace

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_client(ws: Path, *, token: str | None = TOKEN, max_upload_mb: float = 5.0
                ) -> TestClient:
    settings = Settings(api_token=token, max_upload_mb=max_upload_mb,
                        data_dir=ws.parent / "uploads", tiles="none")
    return TestClient(create_app(ws, settings=settings), raise_server_exceptions=False)


def upload(client: TestClient, kind: str, name: str, content: bytes, *,
           headers: dict | None = AUTH):
    return client.post("/api/datasets", data={"kind": kind},
                       files={"file": (name, content, "application/octet-stream")},
                       headers=headers)


def wait_job(client: TestClient, job_id: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/analyses/{job_id}").json()
        if job["status"] != "running":
            return job
        time.sleep(0.1)
    raise AssertionError(f"re-run {job_id} still running after {timeout_s} s")


# ------------------------------------------------------------------ who may write


def test_write_routes_disabled_without_a_configured_token(tiny_ws):
    ws, files = tiny_ws
    with make_client(ws, token=None) as c:
        r = upload(c, "calls", "calls.csv", files["calls"].read_bytes())
        assert r.status_code == 403 and "SAFETYGAP_API_TOKEN" in r.json()["message"]
        assert c.post("/api/analyses", headers=AUTH).status_code == 403
        assert c.get("/api/summary").status_code == 200  # reads stay public
        assert c.get("/api/datasets").status_code == 200


@pytest.mark.parametrize("headers", [
    None,
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": "Bearer "},
    {"Authorization": TOKEN},
])
def test_write_routes_answer_401_without_the_right_token(tiny_ws, headers):
    ws, files = tiny_ws
    with make_client(ws) as c:
        r = upload(c, "calls", "calls.csv", files["calls"].read_bytes(), headers=headers)
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"].startswith("Bearer")
        r = c.post("/api/analyses", headers=headers or {})
        assert r.status_code == 401
        assert not (ws.parent / "uploads").exists() or not any((ws.parent / "uploads")
                                                               .iterdir())
        # read routes need no token
        for url in ("/health", "/api/summary", "/api/neighborhoods", "/maps/gaps", "/"):
            assert c.get(url).status_code == 200


# ------------------------------------------------------------------------ uploads


@pytest.mark.parametrize("client_name, label", [
    ("../../evil.csv", "evil.csv"),
    ("..\\..\\windows\\evil.csv", "evil.csv"),
    ("/etc/cron.d/evil.csv", "evil.csv"),
    (".hidden.csv", "hidden.csv"),
    ("calls; rm -rf $HOME.csv", "calls_ rm -rf _HOME.csv"),
])
def test_upload_file_names_never_reach_the_file_system(tiny_ws, client_name, label):
    ws, files = tiny_ws
    root = ws.parent
    before = {p for p in root.parent.rglob("*")}
    with make_client(ws) as c:
        r = upload(c, "calls", client_name, files["calls"].read_bytes())
        assert r.status_code == 201, r.text
        info = r.json()
    assert info["file_name"] == label
    assert re.fullmatch(r"calls-\d{8}T\d{6}Z-[0-9a-f]{8}\.csv", info["stored_as"])
    stored = root / "uploads" / info["stored_as"]
    assert stored.read_bytes() == files["calls"].read_bytes()
    assert info["rows"] == 11 and info["bytes"] == stored.stat().st_size
    new = {p for p in root.parent.rglob("*")} - before
    # only the data directory, the stored file and the registry appeared
    assert new == {root / "uploads", stored, root / "uploads" / "datasets.json",
                   root / "uploads" / ".datasets.json.lock"}  # server-chosen names only


def test_upload_registry_and_listing(tiny_ws):
    ws, files = tiny_ws
    with make_client(ws) as c:
        first = upload(c, "calls", "a.csv", files["calls"].read_bytes()).json()
        second = upload(c, "calls", "b.csv", files["calls"].read_bytes()).json()
        prov = upload(c, "providers", "p.gpkg", files["providers"].read_bytes()).json()
        listing = c.get("/api/datasets").json()
    assert [d["id"] for d in listing["datasets"]] == [first["id"], second["id"], prov["id"]]
    assert listing["latest"] == {"calls": second["id"], "providers": prov["id"]}


@pytest.mark.parametrize("kind, name", [("calls", "calls.exe"), ("calls", "calls"),
                                        ("neighborhoods", "n.csv"), ("bogus", "x.csv")])
def test_upload_refuses_wrong_kind_or_suffix(tiny_ws, kind, name):
    ws, files = tiny_ws
    with make_client(ws) as c:
        r = upload(c, kind, name, files["calls"].read_bytes())
    assert r.status_code == 422
    msg = r.json()["message"]
    assert ("suffixes" in msg and ".csv" in msg) if kind != "bogus" else "'bogus'" in msg


def _latin1_calls(files: dict[str, Path]) -> bytes:
    text = files["calls"].read_text().replace("Domestic (P)", "Doméstic (P)")
    return text.encode("latin-1")


BAD_UPLOADS = [
    ("empty file", "calls", "calls.csv", lambda f: b"", ["calls.csv", "empty (0 bytes)"]),
    ("wrong encoding", "calls", "calls.csv", _latin1_calls,
     ["calls.csv", "cannot decode the file as utf-8", "`encoding`"]),
    ("columns missing", "calls", "calls.csv",
     lambda f: b"id,call_type\n1,Theft (P)\n",
     ["calls.csv", "'latitude'", "'longitude'", "'agency'", "'time'",
      "columns of calls calls.csv (2): 'id', 'call_type'"]),
    ("wrong delimiter", "calls", "calls.csv",
     lambda f: f["calls"].read_text().replace(",", " ").encode(),
     ["calls.csv", "required column missing"]),
    ("not a vector file", "neighborhoods", "n.geojson", lambda f: b"{not json",
     ["n.geojson", "cannot read as a vector file"]),
    ("points, not polygons", "wards", "w.geojson", lambda f: json.dumps({
        "type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                   "geometry": {"type": "Point",
                                                                "coordinates": [0, 0]}}]})
     .encode(), ["w.geojson", "not a polygon"]),
    ("bad provider rows", "providers", "p.csv",
     lambda f: b"name,service_type,capacity,latitude,longitude\nX,spaceship,1,45,-93\n",
     ["p.csv", "'spaceship'"]),
    ("bad diversion rules", "diversion_rules", "rules.toml",
     lambda f: b"[sources]\na = 'x'\n[default]\nchannel = 'nope'\nsource = 'a'\n",
     ["rules.toml", "default.channel: unknown channel", "'nope'", "behavioral_crisis"]),
    ("rules not TOML", "diversion_rules", "rules.toml", lambda f: b"[meta\nname = 1\n",
     ["rules.toml", "TOML syntax error", "line 1"]),
]


@pytest.mark.parametrize("case, kind, name, make, expected", BAD_UPLOADS,
                         ids=[c[0] for c in BAD_UPLOADS])
def test_bad_uploads_are_refused_with_a_clear_message(tiny_ws, case, kind, name, make,
                                                      expected):
    ws, files = tiny_ws
    with make_client(ws) as c:
        r = upload(c, kind, name, make(files))
        assert r.status_code == 422, r.text
        body = r.json()
        assert c.get("/api/datasets").json()["datasets"] == []  # nothing kept
    for text in expected:
        assert text in body["message"], (text, body["message"])
    assert str(ws.parent) not in body["message"]  # the server's paths are not shown
    assert list((ws.parent / "uploads").iterdir()) == []


def test_upload_over_the_limit_is_refused_by_content_length(tiny_ws):
    ws, _ = tiny_ws
    with make_client(ws, max_upload_mb=0.1) as c:  # 100,000 bytes
        r = upload(c, "calls", "big.csv", b"x" * 200_000)
        assert r.status_code == 413 and "0.1 MB" in r.json()["message"]
        r = upload(c, "calls", "big.csv", b"x" * 200_000, headers=None)
        assert r.status_code == 401  # the token is checked before the size
    assert not (ws.parent / "uploads").exists() or list((ws.parent / "uploads")
                                                        .iterdir()) == []


def _multipart_head(boundary: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ncalls\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"huge.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()


def test_a_2_gb_upload_is_stopped_at_the_limit_while_streaming(tiny_ws):
    """A chunked upload that would send 2 GB (no Content-Length): the server counts the
    bytes as they arrive and answers 413 once past the 1 MB limit; the client has sent
    far less than 2 GB, and nothing is kept."""
    ws, _ = tiny_ws
    settings = Settings(api_token=TOKEN, max_upload_mb=1.0, data_dir=ws.parent / "uploads",
                        tiles="none")
    app = create_app(ws, settings=settings)
    total, chunk = 2 * 1024**3, b"x" * 65536
    with live_server(app) as url:
        parts = urlsplit(url)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        boundary = "safetygapboundary"
        sock.sendall((f"POST /api/datasets HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      f"Authorization: Bearer {TOKEN}\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      f"Transfer-Encoding: chunked\r\n\r\n").encode())
        sent = 0
        head = _multipart_head(boundary)
        sock.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:  # the server answered: stop sending
                    break
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = b""
        try:
            while b"\r\n\r\n" not in response:
                data = sock.recv(65536)
                if not data:
                    break
                response += data
        except ConnectionResetError:
            pass
        sock.close()
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert sent < 64 * 1024**2, f"sent {sent:,} bytes before the server stopped the upload"
    assert not any(p.is_file() and not p.name.startswith("datasets")
                   for p in (ws.parent / "uploads").rglob("*")) \
        if (ws.parent / "uploads").exists() else True


def test_a_2_gb_content_length_is_refused_before_the_body(tiny_ws):
    ws, _ = tiny_ws
    settings = Settings(api_token=TOKEN, max_upload_mb=1.0, data_dir=ws.parent / "uploads",
                        tiles="none")
    with live_server(create_app(ws, settings=settings)) as url:
        r = _post_claiming(url, "/api/datasets", "multipart/form-data; boundary=b", b"--b\r\n")
        assert r[0] == 413 and b"limit is 1 MB" in r[1]
        # JSON bodies of the other routes are limited too
        assert _post_claiming(url, "/api/analyses", "application/json", b"")[0] == 413


def _post_claiming(url: str, path: str, content_type: str, first_bytes: bytes
                   ) -> tuple[int, bytes]:
    """POST announcing a 2 GB body but sending only ``first_bytes``: (status, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest("POST", path)
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.putheader("Content-Type", content_type)
    conn.putheader("Content-Length", str(2 * 1024**3))
    conn.endheaders()
    if first_bytes:
        conn.send(first_bytes)
    r = conn.getresponse()
    out = (r.status, r.read())
    conn.close()
    return out


# ------------------------------------------------------------------------ re-runs


def test_rerun_with_an_uploaded_calls_file_swaps_the_new_version_in(tiny_ws):
    ws, files = tiny_ws
    fewer = pd.read_csv(files["calls"], dtype=str).iloc[:5]  # calls 1..5: all in areas
    with make_client(ws) as c:
        before = c.get("/health").json()["manifest_sha256"]
        assert c.get("/api/summary").json()["totals"]["input_rows"] == 11
        ds = upload(c, "calls", "fewer.csv", fewer.to_csv(index=False).encode()).json()
        r = c.post("/api/analyses", headers=AUTH)
        assert r.status_code == 202, r.text
        job = r.json()
        assert r.headers["location"] == f"/api/analyses/{job['id']}"
        assert job["inputs"] == {"calls": ds["id"]}
        done = wait_job(c, job["id"])
        assert done["status"] == "succeeded", done
        health = c.get("/health")
        summary = c.get("/api/summary")
    assert health.json()["manifest_sha256"] != before
    assert health.headers["x-safetygap-workspace"] == health.json()["manifest_sha256"]
    totals = summary.json()["totals"]
    assert totals["input_rows"] == 5 and totals["calls_in_areas"] == 5
    assert (ws / POINTER).read_text().strip() == done["version"]
    assert Workspace.open(ws).path == ws / "versions" / done["version"]
    assert Workspace.open(ws).verify() == []
    manifest = Workspace.open(ws).manifest
    assert manifest["inputs"]["calls"]["path"].endswith(ds["stored_as"])
    # the original analysis is still there, untouched
    assert Workspace(ws).verify() == []


def test_rerun_with_uploaded_diversion_rules_uses_them(tiny_ws):
    """Replacing the rules through the API: an uploaded rule set (token-protected, checked
    like every upload) decides the channels of the next re-run."""
    from test_diversion import MINE_TOML

    ws, _ = tiny_ws
    with make_client(ws) as c:
        assert c.get("/api/summary").json()["diverted_share"]["all"] == pytest.approx(1 / 9)
        assert upload(c, "diversion_rules", "mine.toml", MINE_TOML.encode(),
                      headers=None).status_code == 401
        ds = upload(c, "diversion_rules", "mine.toml", MINE_TOML.encode())
        assert ds.status_code == 201, ds.text
        assert ds.json()["rows"] == 2  # two rules
        job = c.post("/api/analyses", headers=AUTH).json()
        assert job["inputs"] == {"diversion_rules": ds.json()["id"]}
        assert wait_job(c, job["id"])["status"] == "succeeded"
        summary = c.get("/api/summary").json()
    # the rule set sends calls 1, 2 and 11 (Person In Crisis) to other_non_police
    assert summary["diverted_share"]["all"] == pytest.approx(3 / 9)
    assert Workspace.open(ws).manifest["diversion_rules"]["name"] == "mine"


def test_only_one_rerun_at_a_time_and_failures_are_reported(tiny_ws):
    ws, files = tiny_ws
    with make_client(ws) as c:
        first = c.post("/api/analyses", headers=AUTH)
        assert first.status_code == 202
        second = c.post("/api/analyses", headers=AUTH)
        assert second.status_code == 409 and first.json()["id"] in second.json()["message"]
        assert wait_job(c, first.json()["id"])["status"] == "succeeded"
        active = c.get("/health").json()["manifest_sha256"]
        # an input of the analysis vanished: the re-run fails with a message, nothing changes
        files["population"].unlink()
        job = c.post("/api/analyses", headers=AUTH).json()
        done = wait_job(c, job["id"])
        assert done["status"] == "failed"
        assert "population file of the analysis is gone" in done["message"]
        assert c.get("/health").json()["manifest_sha256"] == active
        assert c.get("/api/analyses/nope").status_code == 404
        bad = c.post("/api/analyses", headers=AUTH, json={"datasets": {"calls": "nope"}})
        assert bad.status_code == 422 and "'nope'" in bad.json()["message"]
    assert len([v for v in version_dirs(ws)]) == 1  # the failed one left nothing


def test_rerun_on_a_read_only_workspace_is_refused_cleanly(tiny_ws, monkeypatch):
    ws, _ = tiny_ws

    def no_lock(root):
        raise PermissionError(13, "Permission denied", str(root / ".rerun.lock"))

    monkeypatch.setattr("safetygap.api._jobs.rerun_lock", no_lock)
    with make_client(ws) as c:
        r = c.post("/api/analyses", headers=AUTH)
        assert r.status_code == 503 and "Permission denied" in r.json()["message"]
        assert c.get("/api/summary").status_code == 200


def test_upload_needs_a_multipart_body_with_one_file(tiny_ws):
    ws, _ = tiny_ws
    files_bytes = b"id\n1\n"
    with make_client(ws) as c:
        r = c.post("/api/datasets", content=b"{}", headers={**AUTH,
                                                             "Content-Type": "application/json"})
        assert r.status_code == 415
        r = c.post("/api/datasets", data={"kind": "calls"},
                   files=[("file", ("a.csv", files_bytes)), ("file", ("b.csv", files_bytes))],
                   headers=AUTH)
        assert r.status_code == 400
        r = c.post("/api/datasets", data={"kind": "calls"}, headers=AUTH,
                   files={"other": ("a.csv", files_bytes)})
        assert r.status_code == 422 and "field 'file': missing" in r.json()["message"]
