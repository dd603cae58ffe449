"""Step-by-step progress on standard error for long runs."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Prints ``[i/n] step ... done in s`` lines; silent when ``enabled`` is False."""

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None):
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.index = 0
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[dict]:
        """Context for one step; put a short result text in ``info["note"]``."""
        self.index += 1
        info: dict = {}
        t0 = time.perf_counter()
        if self.enabled:
            print(f"[{self.index}/{self.total}] {name} ...", file=self.stream, flush=True)
        yield info
        dt = time.perf_counter() - t0
        self.timings[name] = round(dt, 3)
        if self.enabled:
            note = f" ({info['note']})" if info.get("note") else ""
            print(f"      done in {dt:.1f} s{note}", file=self.stream, flush=True)

    def detail(self, text: str) -> None:
        """Print one indented line of progress within the current step."""
        if self.enabled:
            print(f"      {text}", file=self.stream, flush=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started
