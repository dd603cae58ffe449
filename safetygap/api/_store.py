"""The served workspace, read once per manifest.

A :class:`WorkspaceStore` holds one :class:`~safetygap.readmodel.WorkspaceView`
keyed by the checksum of the workspace's ``manifest.json``. Each request
stats the manifest (cheap); when it changed, the workspace is read again, so
a workspace replaced on disk (a new analysis written into it, or a directory
swapped in atomically) is picked up without a restart. While a workspace is
being rewritten (no manifest), the last complete view keeps being served.

A re-run workspace (:mod:`safetygap.versions`) is followed through its
``CURRENT`` pointer: the manifest stat'ed and the files read are those of the
active version directory, resolved once per refresh, so one view never mixes
two versions.

Before a version is served its files are checked against the checksums of its manifest
(once per manifest). A version that fails (a truncated or altered file) is not served:
the newest other version whose files all verify is (the version directories, newest
first, then the analysis at the top level), and :attr:`WorkspaceStore.fallback` says
which and why (``/health`` shows it).
"""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safetygap._hashing import sha256_file
from safetygap.errors import ValidationError
from safetygap.privacy import DEFAULT_MIN_COUNT
from safetygap.readmodel import WorkspaceView
from safetygap.versions import active_dir, is_complete, version_dirs
from safetygap.workspace import MANIFEST, Workspace

log = logging.getLogger("safetygap.api")
TOP_LEVEL = "top-level analysis"
"""How the analysis at the top of a re-run workspace is named in ``fallback``."""
STATE_KEY = "workspace_sha256"
"""Key of the served manifest's checksum in the request state."""


class WorkspaceUnavailable(RuntimeError):
    """The workspace cannot be read (yet): the API answers 503 with this message."""


class WorkspaceStore:
    """Caches the view of the workspace at ``path`` (see module docstring)."""

    def __init__(self, path: Path, *, privacy_min_count: int = DEFAULT_MIN_COUNT):
        self.path = Path(path)
        self.privacy_min_count = privacy_min_count
        self._lock = threading.Lock()
        # (view, manifest checksum, manifest stat), replaced as one object
        self._entry: tuple[WorkspaceView, str, tuple[int, ...]] | None = None
        self.fallback: dict[str, Any] | None = None
        """When the active version failed its checksums: ``{"served": name,
        "newest": name, "reason": text}`` (names of version directories, or the
        workspace's own for its top-level analysis); None when the active one is served."""

    @property
    def key(self) -> str | None:
        """Checksum of the manifest of the view served now."""
        return None if self._entry is None else self._entry[1]

    def _active(self) -> Path:
        try:
            return active_dir(self.path)
        except ValidationError:
            return self.path

    @staticmethod
    def _manifest_stat(active: Path) -> tuple[int, ...] | None:
        try:
            st = (active / MANIFEST).stat()
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    @staticmethod
    def _manifest_key(active: Path) -> str | None:
        try:
            return sha256_file(active / MANIFEST)
        except OSError:
            return None

    def view(self) -> WorkspaceView:
        """The view of the current workspace, read again only when its manifest changed."""
        return self.current()[0]

    def current(self) -> tuple[WorkspaceView, str]:
        """The current view and the checksum of its manifest, as one consistent pair."""
        fresh = self.fresh()
        if fresh is not None:
            return fresh
        with self._lock:
            entry = self._refresh()
        return entry[0], entry[1]

    def fresh(self) -> tuple[WorkspaceView, str] | None:
        """:meth:`current` when the view read before is still the workspace's (its
        manifest unchanged: one stat and the ``CURRENT`` pointer read, quick enough for an
        event loop); None when the workspace must be read (seconds: call :meth:`current`
        in a worker thread)."""
        entry = self._entry
        if entry is not None and self._manifest_stat(self._active()) == entry[2]:
            return entry[0], entry[1]
        return None

    def _refresh(self) -> tuple[WorkspaceView, str, tuple[int, ...]]:
        for _ in range(3):
            active = self._active()
            stat = self._manifest_stat(active)
            if stat is None:
                break
            key = self._manifest_key(active)
            if key is not None and self._entry is not None and key == self._entry[1]:
                self._entry = (self._entry[0], key, stat)
                return self._entry
            try:
                served, fallback = self._verified(active)
            except WorkspaceUnavailable as exc:
                if self._entry is None:
                    raise
                # nothing on disk verifies: keep serving the view read (and verified) before
                self.fallback = {"served": "the version read before", "newest":
                                 self._name(active), "reason": str(exc)}
                return self._entry
            try:
                # a fallback verified already (and the top level must not follow CURRENT)
                view = WorkspaceView(Workspace.open(served) if fallback is None
                                     else Workspace(served),
                                     privacy_min_count=self.privacy_min_count)
            except (ValidationError, OSError, ValueError, KeyError) as exc:
                if self._entry is not None:
                    return self._entry
                raise WorkspaceUnavailable(f"workspace {self.path} cannot be read: {exc}") \
                    from exc
            if key is not None and self._manifest_key(active) == key:  # unchanged: consistent
                served_key = key if served == active else self._manifest_key(served)
                self._entry = (view, served_key or key, stat)
                self.fallback = fallback
                _refreeze()
                return self._entry
        if self._entry is not None:
            return self._entry  # being rewritten: keep serving the last complete one
        raise WorkspaceUnavailable(
            f"workspace {self.path} is not complete (no {MANIFEST}); run `safetygap analyze "
            f"--out {self.path}` or `safetygap demo`")


    def _verified(self, active: Path) -> tuple[Path, dict[str, Any] | None]:
        """``active`` when its files match its manifest, else the newest other version
        that does and why (see module docstring). Raises WorkspaceUnavailable when none
        does."""
        bad = _failed_files(active)
        if not bad:
            return active, None
        reason = f"files that do not match the manifest's checksums: {', '.join(bad)}"
        log.error("workspace %s: version %s not served: %s", self.path, active.name, reason)
        for candidate in self._candidates():
            if candidate != active and not _failed_files(candidate):
                log.warning("workspace %s: serving %s instead", self.path, candidate.name)
                return candidate, {"served": self._name(candidate),
                                   "newest": self._name(active), "reason": reason}
        raise WorkspaceUnavailable(
            f"workspace {self.path.name}: version {active.name} has {reason}, and no other "
            "version verifies; re-run the analysis (POST /api/analyses or `safetygap rerun`)")

    def _name(self, version: Path) -> str:
        return TOP_LEVEL if version == self.path else version.name

    def _candidates(self) -> list[Path]:
        """Complete versions, newest first, then the top-level analysis."""
        out = [v for v in reversed(version_dirs(self.path)) if is_complete(v)]
        return [*out, self.path] if (self.path / MANIFEST).is_file() else out


def _refreeze() -> None:
    """In a server that froze its heap (:func:`safetygap.api.app.freeze_heap`), after a
    new view replaced the old: the old view's objects go back to the collector, which
    frees them (one full collection, a pause of about a second), and what is alive now
    is frozen again."""
    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
        gc.freeze()


def _failed_files(path: Path) -> list[str]:
    """Files of the workspace version ``path`` whose checksums differ from its manifest
    (``manifest.json`` itself when it cannot be read)."""
    try:
        return Workspace(path).verify()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return [MANIFEST]


WORKSPACE_HEADER = "x-safetygap-workspace"
"""Response header: checksum of the manifest of the workspace version that answered."""


class WorkspaceHeaderMiddleware:
    """Adds :data:`WORKSPACE_HEADER` to every response built from a workspace view.

    The view dependency records the checksum in ``scope["state"]``; clients (and
    the tests) can check that two responses come from the same analysis.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                key = scope.get("state", {}).get(STATE_KEY)
                if key:
                    message["headers"] = [*message.get("headers", []),
                                          (WORKSPACE_HEADER.encode(), key.encode())]
            await send(message)

        await self.app(scope, receive, send_with_header)
