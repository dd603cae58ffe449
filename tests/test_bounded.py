"""run_bounded: a function computed in a child process under an address-space limit and
a time limit; past either the child is gone and OverLimit says which; the caller's
exceptions come back as they were raised."""

from __future__ import annotations

import time

import pytest

from safetygap.bounded import OverLimit, run_bounded
from safetygap.errors import Problem, ValidationError


def allocate(mb: int) -> int:
    return len(bytearray(mb * 1_000_000))


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def refuse(where: str) -> None:
    raise ValidationError([Problem(where, "bad", value=3)], ["a note"])


def test_within_the_limits_the_answer_comes_back():
    assert run_bounded(allocate, 20, memory_mb=200, timeout_s=60) == 20_000_000


def test_past_the_memory_limit_is_over_limit_and_the_caller_does_not_grow():
    with pytest.raises(OverLimit) as exc:
        run_bounded(allocate, 400, memory_mb=100, timeout_s=60)
    assert exc.value.kind == "memory" and "100 MB" in str(exc.value)
    assert run_bounded(allocate, 400, memory_mb=600, timeout_s=60) == 400_000_000


def test_past_the_time_limit_the_child_is_stopped():
    t0 = time.monotonic()
    with pytest.raises(OverLimit) as exc:
        run_bounded(sleep, 30, memory_mb=100, timeout_s=1)
    assert exc.value.kind == "time" and time.monotonic() - t0 < 10


def test_a_validation_error_crosses_with_its_problems_and_notes():
    with pytest.raises(ValidationError) as exc:
        run_bounded(refuse, "file x.csv", memory_mb=100, timeout_s=60)
    assert exc.value.problems == [Problem("file x.csv", "bad", value=3)]
    assert exc.value.notes == ["a note"] and str(exc.value).count("1 problem") == 1
