"""Re-runs requested through the API, one at a time, outside the request thread.

Each job runs ``safetygap rerun`` (:func:`safetygap.run.rebuild`) in a
child process watched by a background thread: the analysis never holds the
server's GIL or memory, a crash of the analysis cannot take the server down,
and a server stopped mid-run kills the child (the partial version is removed
by the next re-run; the active one is untouched). Job states: ``running``,
``succeeded`` (``version`` names the new active version), ``failed``
(``message`` says why, e.g. the reader's error naming the file and column).

A job's public fields never carry a traceback: ``progress`` is the last progress line
(``[i/n] step ...``) of the run, and a failure's ``message`` is the run's own error
message (``error: ...``) or, for an unexpected failure, a sentence; either way with an
``error_id`` under which the server log (logger ``safetygap.api``) holds the run's last
output lines, traceback included.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import re
import secrets
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from safetygap.versions import RerunBusy, rerun_lock

MAX_JOBS = 50
"""Finished jobs remembered (oldest forgotten first)."""
TAIL_LINES = 200
"""Last output lines of a run kept for the server log (a traceback fits)."""


PROGRESS_LINE = re.compile(r"^\s*(\[\d+/\d+\] |done in )")
"""The progress lines of a run (:class:`safetygap._progress.Progress`)."""
USAGE_EXIT = 2
"""Exit code of the command line for an error it reports itself (``error: ...``)."""
log = logging.getLogger("safetygap.api")


def failure_message(tail: list[str], code: int, error_id: str) -> str:
    """The public message of a failed run: its ``error: ...`` lines when it reported the
    error itself (never a traceback), else a sentence with the exit code or signal; then
    the error id."""
    errors = [i for i, t in enumerate(tail) if t.startswith("error:")]
    if code == USAGE_EXIT and errors:
        lines = [t for t in tail[errors[0]:]
                 if not t.startswith(("Traceback", "  File ")) and not PROGRESS_LINE.match(t)]
        text = "\n".join(lines).removeprefix("error: ")
    elif code < 0:
        text = f"the re-run was killed (signal {-code})"
    else:
        text = f"the re-run failed unexpectedly (exit code {code})"
    return f"{text}\n(error id {error_id}; the server log has the details)"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    """One re-run and what became of it."""

    id: str
    status: str
    inputs: dict[str, str]
    created: str = field(default_factory=_now)
    finished: str | None = None
    version: str | None = None
    progress: str = ""
    message: str = ""
    error_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Rerunner:
    """Starts and tracks re-runs of the workspace ``root`` (see module docstring)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = threading.Lock()
        self._jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._running: tuple[Job, subprocess.Popen] | None = None

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, overrides: dict[str, Path], labels: dict[str, str]) -> Job:
        """Start a re-run with ``overrides`` (role -> file); :class:`RerunBusy` if one runs.

        ``labels`` (role -> what to show, e.g. the uploaded dataset id) go in the job.
        """
        with self._lock:
            if self._running is not None:
                raise RerunBusy(f"re-run {self._running[0].id} is still running; see "
                                f"/api/analyses/{self._running[0].id}")
            with rerun_lock(self.root):  # a re-run started from the command line
                pass
            job = Job(id=secrets.token_hex(8), status="running", inputs=labels)
            cmd = [sys.executable, "-m", "safetygap.cli", "rerun", "--workspace",
                   str(self.root)]
            for role, path in overrides.items():
                cmd += [f"--{role.replace('_', '-')}", str(path)]
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, text=True, env=env)
            self._running = (job, proc)
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS:
                self._jobs.popitem(last=False)
        threading.Thread(target=self._watch, args=(job, proc), daemon=True,
                         name=f"rerun-{job.id}").start()
        return job

    def _watch(self, job: Job, proc: subprocess.Popen) -> None:
        tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if line:
                tail.append(line)
                if PROGRESS_LINE.match(line):
                    job.progress = line.strip()[:300]
        code = proc.wait()
        with self._lock:
            job.finished = _now()
            last = tail[-1] if tail else ""
            if code == 0 and last.startswith("version "):
                job.status, job.version = "succeeded", last.split()[1]
                job.message = last
            else:
                job.status = "failed"
                job.error_id = secrets.token_hex(6)
                job.message = failure_message(list(tail), code, job.error_id)
                log.error("re-run %s failed (exit code %s), error id %s; its last output:\n%s",
                          job.id, code, job.error_id, "\n".join(tail))
            self._running = None

    def stop(self) -> None:
        """Kill a running re-run (server shutdown); the active version is untouched."""
        with self._lock:
            running = self._running
        if running is not None:
            running[1].kill()
            running[1].wait()
