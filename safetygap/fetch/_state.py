"""Resume state of one layer download and the fetch manifest, both written atomically.

A layer being downloaded lives in ``<out>/.partial/<name>/``: one GeoParquet
file per completed page (``page-<offset>.parquet``) and ``state.json`` listing
the completed pages with their record counts. A page is recorded only after
its file is on disk, so an interrupted download resumes at the first page not
recorded and never fetches a recorded page again. The state is tied to the
query (URL, where clause, page size, ordering): a different query starts over.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetygap._io import write_json
from safetygap.errors import ValidationError

PARTIAL_DIR = ".partial"
STATE_FILE = "state.json"
MANIFEST_FILE = "manifest.json"
MANIFEST_KIND = "safetygap-fetch"


@dataclass
class LayerState:
    """Completed pages of one layer download (offset -> record count)."""

    directory: Path
    query: dict[str, Any]
    pages: dict[int, int] = field(default_factory=dict)
    more: dict[int, bool] = field(default_factory=dict)  # server's exceededTransferLimit
    started: str = ""

    @classmethod
    def open(cls, directory: Path, query: dict[str, Any], started: str) -> tuple[LayerState, str]:
        """Resume the download in ``directory`` if it was for ``query``, else start afresh.

        Returns the state and what happened: ``"new"``, ``"resumed"`` or ``"restarted"``
        (an earlier partial download of a different query was discarded).
        """
        path = directory / STATE_FILE
        if path.is_file():
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                saved = None
            if isinstance(saved, dict) and saved.get("query") == query:
                state = cls(directory, query,
                            {int(k): int(v) for k, v in saved.get("pages", {}).items()},
                            {int(k): bool(v) for k, v in saved.get("more", {}).items()},
                            saved.get("started", started))
                # a page counts only if its file survived
                state.pages = {o: n for o, n in state.pages.items()
                               if state.page_path(o).is_file()}
                return state, "resumed"
            shutil.rmtree(directory)
            directory.mkdir(parents=True)
            return cls(directory, query, started=started), "restarted"
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory, query, started=started), "new"

    def page_path(self, offset: int) -> Path:
        return self.directory / f"page-{offset:010d}.parquet"

    def record(self, offset: int, n_records: int, more: bool) -> None:
        """Mark the page at ``offset`` complete (its file must already be written)."""
        self.pages[offset] = n_records
        self.more[offset] = more
        write_json(self.directory / STATE_FILE, {
            "query": self.query,
            "started": self.started,
            "pages": {str(k): v for k, v in sorted(self.pages.items())},
            "more": {str(k): v for k, v in sorted(self.more.items())},
        })

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        parent = self.directory.parent
        if parent.name == PARTIAL_DIR and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()


def read_manifest(out: Path) -> dict[str, Any]:
    """The fetch manifest of ``out`` (an empty one when there is none yet)."""
    path = out / MANIFEST_FILE
    if not path.is_file():
        return {"kind": MANIFEST_KIND, "layers": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: not a readable manifest ({exc})") from exc
    if not (isinstance(data, dict) and data.get("kind") == MANIFEST_KIND):
        raise ValidationError(
            f"{path}: this manifest was not written by `safetygap fetch` (is {out} an "
            "analysis workspace?); fetch into a directory of its own")
    data.setdefault("layers", {})
    return data
