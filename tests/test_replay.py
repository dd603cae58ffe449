"""Cached answers sent again as they were (safetygap/api/_replay.py): byte for byte the
same answer, never for a request that a route did not mark, never across workspace
versions, and bounded; their ETag answers a revalidation with 304."""

from __future__ import annotations

from conftest import app_client

from safetygap._hashing import sha256_file
from safetygap.api._replay import REPLAYABLE, ReplayCache, etag
from safetygap.run import rebuild
from safetygap.versions import active_dir
from safetygap.workspace import MANIFEST

MARKED = ["/api/summary", "/api/neighborhoods?family=response", "/api/wards",
          "/api/hexbins?family=prevention", "/api/gaps?family=response&top=5",
          "/api/providers", "/api/neighborhoods/A", "/maps/gaps?family=response", "/",
          "/maps/wards/1", "/api/neighborhoods?family=response&format=geojson"]


def test_a_repeated_cached_answer_is_sent_again_byte_for_byte(api_workspace):
    with app_client(api_workspace) as c:
        cache = c.app.state.replay
        for path in MARKED:
            first = c.get(path)
            hits = cache.hits
            again = c.get(path)
            assert cache.hits == hits + 1, path  # answered from the replay cache
            assert first.status_code == again.status_code == 200, path
            assert again.content == first.content, path
            assert again.headers.multi_items() == first.headers.multi_items(), path
            assert REPLAYABLE.decode() not in again.headers, path  # the marker stays inside
            assert again.headers["x-content-type-options"] == "nosniff"
            assert again.headers["x-safetygap-workspace"] == sha256_file(
                api_workspace / MANIFEST)


def test_unmarked_answers_errors_and_requests_with_a_body_are_never_replayed(api_workspace):
    with app_client(api_workspace) as c:
        cache = c.app.state.replay
        for path in ["/health", "/api/neighborhoods?family=nope", "/api/neighborhoods/ZZ",
                     "/api/neighborhoods?format=csv", "/maps/wards/99", "/api/datasets"]:
            for _ in range(2):
                c.get(path)
        assert len(cache) == 0 and cache.hits == 0
        c.get("/api/summary")
        assert len(cache) == 1
        answer = c.request("GET", "/api/summary", content=b"x" * 10)
        assert answer.status_code == 200 and cache.hits == 0  # a body: routed as usual


def test_a_new_workspace_version_is_never_answered_from_the_old_one(tiny_ws):
    ws, _ = tiny_ws
    with app_client(ws) as c:
        cache = c.app.state.replay
        old = c.get("/api/summary").headers["x-safetygap-workspace"]
        assert c.get("/api/summary").headers["x-safetygap-workspace"] == old
        assert cache.hits == 1
        rebuild(ws)
        assert c.get("/health").status_code == 200  # the server has read the new version
        new = c.get("/api/summary")
        assert new.status_code == 200 and cache.hits == 1  # computed for the new version
        key = new.headers["x-safetygap-workspace"]
        assert key != old and key == sha256_file(active_dir(ws) / MANIFEST)
        assert c.get("/api/summary").headers["x-safetygap-workspace"] == key
        assert cache.hits == 2


def test_the_replay_cache_is_bounded_in_answers_and_bytes():
    cache = ReplayCache(max_entries=3, max_bytes=1000)
    for i in range(5):
        cache.put(("v", "/p", str(i).encode()), (200, [(b"a", b"b")], b"x" * 100, b""))
    assert len(cache) == 3 and cache.bytes == 3 * 102
    assert cache.get(("v", "/p", b"0")) is None and cache.get(("v", "/p", b"4"))
    for i in range(5, 20):
        cache.put(("v", "/p", str(i).encode()), (200, [], b"x" * 400, b""))
    assert cache.bytes <= 1000 and len(cache) == 2
    cache.put(("v", "/big", b""), (200, [], b"x" * 2000, b""))  # larger than the cache
    assert cache.get(("v", "/big", b"")) is None and cache.bytes <= 1000


def test_a_cached_answer_carries_its_etag_and_a_revalidation_gets_304(tiny_ws):
    ws, _ = tiny_ws
    with app_client(ws) as c:
        first = c.get("/api/neighborhoods?family=response")
        tag = first.headers["etag"]
        assert tag == etag(first.content).decode()  # a hash of the body, by a second call
        assert first.headers["cache-control"] == "no-cache"
        for asked in (tag, f"W/{tag}", f'"other", {tag}', "*"):
            again = c.get("/api/neighborhoods?family=response",
                          headers={"If-None-Match": asked})
            assert again.status_code == 304 and again.content == b"", asked
            assert again.headers["etag"] == tag
            assert again.headers["x-content-type-options"] == "nosniff"
            assert again.headers["x-safetygap-workspace"] == first.headers[
                "x-safetygap-workspace"]
            assert "content-type" not in again.headers
        stale = c.get("/api/neighborhoods?family=response", headers={"If-None-Match": '"x"'})
        assert stale.status_code == 200 and stale.content == first.content
        # a new version: the answer is computed again, and a revalidation with the old
        # tag is answered by the tag of the new body (304 only if the body is the same)
        rebuild(ws)
        new = c.get("/api/neighborhoods?family=response", headers={"If-None-Match": tag})
        if new.status_code == 200:
            assert new.headers["etag"] == etag(new.content).decode() != tag
        else:
            assert new.status_code == 304 and new.headers["etag"] == tag
        assert new.headers["x-safetygap-workspace"] == sha256_file(
            active_dir(ws) / MANIFEST)
        # unmarked answers carry no ETag and ignore If-None-Match
        health = c.get("/health", headers={"If-None-Match": "*"})
        assert health.status_code == 200 and "etag" not in health.headers
