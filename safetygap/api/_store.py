"""The served workspace, read once per manifest.

A :class:`WorkspaceStore` holds one :class:`~safetygap.maps.data.WorkspaceView`
keyed by the checksum of the workspace's ``manifest.json``. Each request
stats the manifest (cheap); when it changed, the workspace is read again, so
a workspace replaced on disk (a new analysis written into it, or a directory
swapped in atomically) is picked up without a restart. While a workspace is
being rewritten (no manifest), the last complete view keeps being served.
"""

from __future__ import annotations

import threading
from pathlib import Path

from safetygap._hashing import sha256_file
from safetygap.errors import ValidationError
from safetygap.maps.data import WorkspaceView
from safetygap.workspace import MANIFEST, Workspace


class WorkspaceUnavailable(RuntimeError):
    """The workspace cannot be read (yet): the API answers 503 with this message."""


class WorkspaceStore:
    """Caches the view of the workspace at ``path`` (see module docstring)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._view: WorkspaceView | None = None
        self._key: str | None = None
        self._stat: tuple[int, ...] | None = None

    @property
    def key(self) -> str | None:
        """Checksum of the manifest of the view served now."""
        return self._key

    def _manifest_stat(self) -> tuple[int, ...] | None:
        try:
            st = (self.path / MANIFEST).stat()
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _manifest_key(self) -> str | None:
        try:
            return sha256_file(self.path / MANIFEST)
        except OSError:
            return None

    def view(self) -> WorkspaceView:
        """The view of the current workspace, read again only when its manifest changed."""
        stat = self._manifest_stat()
        if stat is not None and stat == self._stat and self._view is not None:
            return self._view
        with self._lock:
            return self._refresh()

    def _refresh(self) -> WorkspaceView:
        for _ in range(3):
            stat = self._manifest_stat()
            if stat is None:
                break
            key = self._manifest_key()
            if key is not None and key == self._key and self._view is not None:
                self._stat = stat
                return self._view
            try:
                view = WorkspaceView(Workspace.open(self.path))
            except (ValidationError, OSError, ValueError, KeyError) as exc:
                if self._view is not None:
                    return self._view
                raise WorkspaceUnavailable(f"workspace {self.path} cannot be read: {exc}") \
                    from exc
            if self._manifest_key() == key:  # unchanged while reading: consistent
                self._view, self._key, self._stat = view, key, stat
                return view
        if self._view is not None:
            return self._view  # being rewritten: keep serving the last complete one
        raise WorkspaceUnavailable(
            f"workspace {self.path} is not complete (no {MANIFEST}); run `safetygap analyze "
            f"--out {self.path}` or `safetygap demo`")
