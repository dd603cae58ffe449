"""The upload registry is shared safely by server processes: two processes adding 30
uploads each to one data directory leave 60 records (a thread lock lost 9 of 30)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHILD = """
import io, sys
from pathlib import Path
from safetygap.api._uploads import DatasetStore
store = DatasetStore(Path(sys.argv[1]))
for i in range(30):
    store.add("calls", io.BytesIO(b"id\\n1\\n"), f"c{i}.csv", limit=1000,
              validate=lambda p: {"rows": 1, "warnings": []})
"""


def test_two_processes_keep_every_upload(tmp_path):
    root = str(Path(__file__).resolve().parents[1])
    env = {"PYTHONPATH": root, "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "data")],
                              env=env) for _ in range(2)]
    for p in procs:
        assert p.wait(120) == 0
    records = json.loads((tmp_path / "data" / "datasets.json").read_text())
    assert len(records) == 60
    assert len({r["id"] for r in records}) == 60
    stored = [p for p in (tmp_path / "data").iterdir() if p.name.startswith("calls-")]
    assert len(stored) == 60
