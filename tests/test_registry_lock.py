"""The upload registry is shared safely by server processes: two `safetygap serve`
processes on one workspace and data directory, each taking 30 concurrent uploads, list
all 60 (with a thread lock only, 9 of 30 were lost)."""

from __future__ import annotations

import http.client
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from _live import served

TOKEN = "lock-test-token"
PER_SERVER = 30


def _upload(host: str, port: int, name: str, content: bytes) -> int:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ncalls\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").encode() + content + \
        f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(host, port, timeout=300)
    conn.request("POST", "/api/datasets", body=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Authorization": f"Bearer {TOKEN}"})
    r = conn.getresponse()
    r.read()
    return r.status


def _listed(host: str, port: int) -> list[dict]:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("GET", "/api/datasets")
    return json.loads(conn.getresponse().read())["datasets"]


def test_two_server_processes_keep_every_upload(tiny_ws):
    ws, files = tiny_ws
    data = ws.parent / "uploads"
    content = files["calls"].read_bytes()
    env = {"SAFETYGAP_API_TOKEN": TOKEN, "SAFETYGAP_DATA_DIR": str(data),
           "SAFETYGAP_COMPUTE_WORKERS": "0"}
    with served(ws, env=env) as (h1, p1, _), served(ws, env=env) as (h2, p2, _), \
            ThreadPoolExecutor(12) as pool:
        jobs = [pool.submit(_upload, host, port, f"c{i}.csv", content)
                for i in range(PER_SERVER) for host, port in ((h1, p1), (h2, p2))]
        statuses = [j.result() for j in jobs]
        seen = [_listed(h1, p1), _listed(h2, p2)]
    assert statuses == [201] * (2 * PER_SERVER)
    records = json.loads((data / "datasets.json").read_text())
    assert len(records) == 2 * PER_SERVER
    assert len({r["id"] for r in records}) == 2 * PER_SERVER
    assert all(len(listed) == 2 * PER_SERVER for listed in seen)
    stored = [p for p in data.iterdir() if p.name.startswith("calls-")]
    assert len(stored) == 2 * PER_SERVER
