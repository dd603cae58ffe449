"""OSMnx's settings changed for one download and restored after (shared by the OSM
downloaders of this package)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def osmnx_settings(ox: Any, **values: Any) -> Iterator[None]:
    """Set OSMnx settings (None = keep OSMnx's) for the duration of a block, then restore
    them, and the resolver OSMnx replaces to pin the Overpass host to one address."""
    given = {k: v for k, v in values.items() if v is not None}
    saved = {k: getattr(ox.settings, k) for k in given}
    resolver = socket.getaddrinfo
    try:
        for k, v in given.items():
            setattr(ox.settings, k, v)
        yield
    finally:
        for k, v in saved.items():
            setattr(ox.settings, k, v)
        socket.getaddrinfo = resolver
