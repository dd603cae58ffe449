"""Reading ahead on a second thread (inputs/_ahead.py) and checksums begun ahead
(_hashing.py): same items, same errors, same digests as doing it in line."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from safetygap._hashing import hash_ahead, sha256_file
from safetygap.inputs._ahead import read_ahead


def test_items_in_order_from_another_thread():
    seen = []

    def source():
        for i in range(50):
            seen.append(threading.current_thread().name)
            yield i

    assert list(read_ahead(source(), depth=2)) == list(range(50))
    assert set(seen) == {"safetygap-read-ahead"}


def test_an_error_reaches_the_caller_at_its_item():
    def source():
        yield 1
        yield 2
        raise ValueError("row 3 is bad")

    got = []
    with pytest.raises(ValueError, match="row 3 is bad"):
        for x in read_ahead(source()):
            got.append(x)
    assert got == [1, 2]


def test_a_caller_that_stops_stops_the_reading():
    produced = []

    def source():
        for i in range(1000):
            produced.append(i)
            yield i

    it = read_ahead(source(), depth=1)
    assert next(it) == 0
    it.close()  # joins the thread
    # item 0 taken, at most one waiting and one being made when it stopped
    assert len(produced) <= 3
    assert not any(t.name == "safetygap-read-ahead" for t in threading.enumerate())


def test_checksum_begun_ahead_equals_hashlib(tmp_path):
    p = tmp_path / "calls.csv"
    p.write_bytes(os.urandom(3 << 20))
    hash_ahead([p, tmp_path / "missing.csv", tmp_path])  # the others are skipped
    assert sha256_file(p) == hashlib.sha256(p.read_bytes()).hexdigest()


def test_a_file_changed_after_the_start_is_hashed_again(tmp_path):
    p = tmp_path / "calls.csv"
    p.write_bytes(b"a,b\n1,2\n")
    hash_ahead([p])
    p.write_bytes(b"a,b\n1,2\n3,4\n")  # another size: the early digest is not used
    assert sha256_file(p) == hashlib.sha256(b"a,b\n1,2\n3,4\n").hexdigest()
