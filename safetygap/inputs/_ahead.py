"""Reading the next batch of a file while the current one is converted.

pyarrow parses a CSV block (or decodes a Parquet row group) with the GIL released, so
one thread reading ahead lets the parse of batch n + 1 run on a second core while the
caller converts batch n. Only ``depth`` batches wait at a time, so memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def read_ahead(batches: Iterable[T], *, depth: int = 1) -> Iterator[T]:
    """The items of ``batches`` in order, produced by a background thread at most
    ``depth`` items ahead of the caller. An exception raised while producing is raised
    to the caller at the item where it happened; a caller that stops early stops the
    thread (the source is not read further than ``depth`` items past where it stopped).
    """
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in batches:
                if not put((item, None)):
                    return
        except BaseException as exc:  # handed to the caller, raised there
            put((_DONE, exc))
            return
        put((_DONE, None))

    worker = threading.Thread(target=produce, name="safetygap-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = box.get()
            if item is _DONE:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        worker.join()
