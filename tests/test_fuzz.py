"""The API fuzzed against its own OpenAPI schema with schemathesis: on a small demo
city, every operation gets generated valid (positive) and invalid (negative)
parameters and bodies; no response may be a server error, and every response must
match the schema (documented status code, body of the documented model).

Bounded: at most MAX_EXAMPLES examples per operation and mode, each within a generous
DEADLINE (the first request of the report builds its charts), derandomized (seeded).
The write routes are fuzzed too, on a server without a token: they must answer their
documented 403 whatever the body. And on a server with a token, sent with every request
(tiny city workspace of its own, an upload limit of 4,000 bytes): ``POST /api/datasets``
and ``POST /api/analyses`` with schema-generated requests and with uploads made from the
tiny city's own files, mutated (truncated, a line or column lost, junk, over the limit),
and re-run bodies naming real and unknown datasets: only their documented 201/202/409/
413/422 (and 400/415 for malformed multipart), never a server error, every response
matching the schema, and the served workspace unchanged afterwards unless a re-run
succeeded (then the new version is active and complete, the original untouched).
(schemathesis' pytest plugin does not run under pytest 9, so the operations are driven
here with Hypothesis directly.)"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from safetygap.api._limits import MAX_BODY_BYTES
from safetygap.api._uploads import KINDS
from safetygap.api.app import create_app
from safetygap.settings import Settings
from safetygap.versions import LOCK, POINTER
from safetygap.workspace import Workspace

MAX_EXAMPLES = 20
DEADLINE = timedelta(seconds=20)
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture(scope="module")
def api_schema(demo_workspace):
    app = create_app(demo_workspace, settings=Settings(tiles="none", api_token=None))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _fuzz(operation, mode, *, headers: dict | None = None, max_examples: int = MAX_EXAMPLES,
          seen: list | None = None) -> None:
    """Fuzz one operation; ``seen`` (when given) collects the responses."""
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=max_examples, deadline=DEADLINE, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        if seen is not None:
            seen.append(response)

    run()


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_api_matches_its_schema(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = [op.label for op in operations]
    assert "GET /api/summary" in labels and "POST /api/datasets" in labels
    failures = []
    for operation in operations:
        try:
            _fuzz(operation, mode)
        except Unsatisfiable:  # negative mode: nothing invalid to send (no parameters)
            assert mode == schemathesis.GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


# ------------------------------------------------- write routes with a token configured

TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UPLOAD_LIMIT_MB = 0.004
"""4,000 bytes: every file of the tiny city fits, any of them twice over does not."""
WRITE_EXAMPLES = 12
UPLOAD_STATUSES = {201, 400, 413, 415, 422}
ANALYSIS_STATUSES = {202, 409, 413, 422}


def _write_app(ws: Path):
    settings = Settings(tiles="none", api_token=TOKEN, max_upload_mb=UPLOAD_LIMIT_MB,
                        data_dir=ws.parent / "uploads")
    return create_app(ws, settings=settings)


def _snapshot(ws: Path) -> dict[str, str]:
    """sha256 of every file of the served workspace (the re-run lock file aside)."""
    return {str(f.relative_to(ws)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(ws.rglob("*")) if f.is_file() and f.name != LOCK}


def _seed_files(files: dict[str, Path]) -> dict[str, tuple[str, bytes]]:
    """A valid upload of every kind made from the tiny city: (suffix, bytes)."""
    nbhd, wards = (gpd.read_file(files[k]) for k in ("neighborhoods", "wards"))
    prov = gpd.read_file(files["providers"]).to_crs("EPSG:4326")
    prov_csv = pd.DataFrame(prov.drop(columns="geometry")).assign(
        latitude=prov.geometry.y.round(7), longitude=prov.geometry.x.round(7))
    return {"calls": (".csv", files["calls"].read_bytes()),
            "providers": (".csv", prov_csv.to_csv(index=False).encode()),
            "neighborhoods": (".geojson", nbhd.to_json().encode()),
            "wards": (".geojson", wards.to_json().encode()),
            "population": (".csv", files["population"].read_bytes())}


MUTATIONS = ("as is", "truncated", "line lost", "first column lost", "junk line",
             "twice over the limit", "random bytes", "empty")


@st.composite
def uploads(draw, seeds: dict[str, tuple[str, bytes]]):
    """(kind field, client file name, content): a seed file of some kind, mutated."""
    source = draw(st.sampled_from(sorted(seeds)))
    suffix, content = seeds[source]
    how = draw(st.sampled_from(MUTATIONS))
    lines = content.split(b"\n")
    if how == "truncated":
        content = content[:draw(st.integers(0, len(content)))]
    elif how == "line lost":
        i = draw(st.integers(0, len(lines) - 1))
        content = b"\n".join(lines[:i] + lines[i + 1:])
    elif how == "first column lost":
        content = b"\n".join(line.partition(b",")[2] for line in lines)
    elif how == "junk line":
        i = draw(st.integers(0, len(lines)))
        junk = draw(st.binary(min_size=1, max_size=40))
        content = b"\n".join([*lines[:i], junk, *lines[i:]])
    elif how == "twice over the limit":
        content = content * (int(2 * UPLOAD_LIMIT_MB * 1e6) // max(len(content), 1) + 1)
    elif how == "random bytes":
        content = draw(st.binary(max_size=300))
    elif how == "empty":
        content = b""
    # mostly the right kind and suffix, so that the readers see the mutated content
    if draw(st.integers(0, 3)) == 0:
        source = draw(st.sampled_from([*KINDS, "", "Calls", "../calls"]))
    if draw(st.integers(0, 3)) == 0:
        suffix = draw(st.sampled_from([".csv", ".geojson", ".parquet", ".gpkg", ".exe", ""]))
    name = draw(st.sampled_from(["data", "../../etc/passwd", "a b", ".hidden", ""])) + suffix
    return source, name, content


def _bodies(ids: list[str]):
    """Re-run bodies: JSON naming real or unknown datasets (right or wrong kind), or junk."""
    dataset_id = st.sampled_from(ids or ["none"]) | st.text(max_size=12)
    datasets = st.dictionaries(st.sampled_from(KINDS) | st.text(max_size=8), dataset_id,
                               max_size=3)
    request = st.fixed_dictionaries({}, optional={
        "datasets": datasets, "use_uploads": st.booleans() | st.integers() | st.none()})
    return (request.map(lambda d: json.dumps(d).encode())
            | st.binary(max_size=50) | st.just(b""))


def _wait_jobs(client, job_ids: list[str], timeout_s: float = 120.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    jobs = []
    for job_id in job_ids:
        while True:
            job = client.get(f"/api/analyses/{job_id}").json()
            if job["status"] != "running":
                jobs.append(job)
                break
            assert time.monotonic() < deadline, f"re-run {job_id} still running"
            time.sleep(0.1)
    return jobs


def _check_workspace(ws: Path, before: dict[str, str], jobs: list[dict]) -> None:
    """Unchanged unless a re-run succeeded; then its version is active and complete."""
    after = _snapshot(ws)
    done = [j for j in jobs if j["status"] == "succeeded"]
    if not done:
        assert after == before
        return
    assert {k: after.get(k) for k in before} == before  # the original analysis untouched
    active = (ws / POINTER).read_text().strip()
    assert active == done[-1]["version"]
    new = {k.split("/")[1] for k in set(after) - set(before) if k.startswith("versions/")}
    assert new <= {j["version"] for j in done}
    assert Workspace.open(ws).path == ws / "versions" / active
    assert Workspace.open(ws).verify() == []


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_write_routes_with_a_token_match_their_schema(tiny_ws, mode):
    """Schema-generated requests to both write routes, the token sent with each."""
    ws, _ = tiny_ws
    before = _snapshot(ws)
    app = _write_app(ws)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    seen: dict[str, list[int]] = {}
    started: list[str] = []
    for path, statuses in (("/api/datasets", UPLOAD_STATUSES),
                           ("/api/analyses", ANALYSIS_STATUSES)):
        responses: list = []
        _fuzz(schema[path]["POST"], mode, headers=AUTH, max_examples=WRITE_EXAMPLES,
              seen=responses)
        seen[path] = [r.status_code for r in responses]
        assert set(seen[path]) <= statuses, (path, seen[path])
        started += [r.json()["id"] for r in responses if r.status_code == 202]
    assert 422 in seen["/api/datasets"]  # generated files have no accepted suffix
    with TestClient(app) as client:
        jobs = _wait_jobs(client, started)
    _check_workspace(ws, before, jobs)


def test_uploads_and_reruns_fuzzed_with_a_token(tiny_ws):
    """Uploads made from the tiny city's files, mutated; then re-run bodies naming them."""
    ws, files = tiny_ws
    before = _snapshot(ws)
    app = _write_app(ws)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    upload_op = schema["/api/datasets"]["POST"]
    analysis_op = schema["/api/analyses"]["POST"]
    seeds = _seed_files(files)
    stored: list[dict] = []
    upload_seen: list[int] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for kind, (suffix, content) in seeds.items():  # each kind's own file is accepted
            r = client.post("/api/datasets", data={"kind": kind}, headers=AUTH,
                            files={"file": (f"{kind}{suffix}", content)})
            assert r.status_code == 201, r.text
            upload_op.validate_response(r)
            stored.append(r.json())

        @given(case=uploads(seeds))
        @settings(max_examples=3 * WRITE_EXAMPLES, deadline=DEADLINE, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def upload(case) -> None:
            kind, name, content = case
            r = client.post("/api/datasets", data={"kind": kind}, headers=AUTH,
                            files={"file": (name, content, "application/octet-stream")})
            assert r.status_code in UPLOAD_STATUSES, (r.status_code, r.text)
            upload_op.validate_response(r)
            upload_seen.append(r.status_code)
            if r.status_code == 201:
                stored.append(r.json())
            else:
                assert r.json()["message"]

        upload()
        assert {201, 413, 422} <= set(upload_seen), upload_seen
        registry = client.get("/api/datasets").json()
        assert [d["id"] for d in registry["datasets"]] == [d["id"] for d in stored]

        ids = [d["id"] for d in stored]
        analysis_seen: list[int] = []
        started: list[str] = []

        @given(body=_bodies(ids))
        @settings(max_examples=WRITE_EXAMPLES, deadline=DEADLINE, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def rerun(body: bytes) -> None:
            r = client.post("/api/analyses", content=body, headers=AUTH | {
                "content-type": "application/json"})
            assert r.status_code in ANALYSIS_STATUSES, (r.status_code, r.text)
            analysis_op.validate_response(r)
            analysis_seen.append(r.status_code)
            if r.status_code == 202:
                started.append(r.json()["id"])

        rerun()
        # one re-run at a time: while it runs, a valid request is refused with 409
        r = client.post("/api/analyses", headers=AUTH, json={"use_uploads": False})
        if r.status_code == 202:
            started.append(r.json()["id"])
            r = client.post("/api/analyses", headers=AUTH, json={"use_uploads": False})
        assert r.status_code == 409, r.text
        analysis_op.validate_response(r)
        big = client.post("/api/analyses", headers=AUTH | {"content-type": "application/json"},
                          content=b" " * (MAX_BODY_BYTES + 1))
        assert big.status_code == 413
        analysis_op.validate_response(big)
        assert {202, 422} <= set(analysis_seen), analysis_seen
        jobs = _wait_jobs(client, started)
        assert all(j["status"] in ("succeeded", "failed") and j["message"] for j in jobs)
        _check_workspace(ws, before, jobs)

        # a re-run that fails (its calls file vanished from the data directory) changes
        # nothing
        before = _snapshot(ws)
        latest = client.get("/api/datasets").json()["latest"]["calls"]
        record = next(d for d in stored if d["id"] == latest)
        (ws.parent / "uploads" / record["stored_as"]).unlink()
        r = client.post("/api/analyses", headers=AUTH)
        assert r.status_code == 202, r.text
        analysis_op.validate_response(r)
        (failed,) = _wait_jobs(client, [r.json()["id"]])
        assert failed["status"] == "failed" and failed["message"]
    _check_workspace(ws, before, [failed])
