"""Calls named by a URL, for the commands that read them (`analyze`, `profile`, `init`):
copied to a hidden folder beside the output, read there, removed at the end
(:mod:`safetygap.fetch.remote`; the analysis core reads local files only)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from safetygap.fetch.remote import copy_calls, is_url


@contextmanager
def local_calls(spec: str | os.PathLike | None, *, beside: str | os.PathLike,
                staging: str | os.PathLike | None = None, quiet: bool = False,
                first_file_only: bool = False) -> Iterator[tuple[str | None, str | None]]:
    """``(what to read, the URL it was copied from)``: ``spec`` itself and None when it is
    not a URL; else the local copy (in a new folder under ``staging``, else in the folder of
    ``beside``), removed when the block ends, even on error. ``first_file_only``: of a
    folder or glob, only its first file (enough for a sample)."""
    if spec is None or not is_url(spec):
        yield (None if spec is None else os.fspath(spec)), None
        return
    url = os.fspath(spec)
    parent = Path(staging) if staging is not None else Path(beside).resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".safetygap-calls-", dir=parent))
    try:
        if not quiet:
            typer.echo(f"copying the calls of {url} to {folder} (removed afterwards) ...",
                       err=True)
        done = copy_calls(url, folder, first_file_only=first_file_only,
                          on_file=None if quiet else (
                              lambda line: typer.echo(f"  {line}", err=True)))
        yield str(done.local), url
    finally:
        shutil.rmtree(folder, ignore_errors=True)
