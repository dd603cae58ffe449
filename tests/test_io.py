"""Files written atomically get the mode a plain open() would give them (0o666 less the
umask), so workspaces and downloads are readable by others as the umask allows."""

from __future__ import annotations

import os
import stat

import pytest

from safetygap._io import atomic_write, current_umask, write_json


@pytest.fixture
def umask():
    """Set the umask for one test, restore it after."""
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600),
                                        (0o000, 0o666)])
def test_atomic_write_mode_follows_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    assert current_umask() == mask
    atomic_write(tmp_path / "a.txt", lambda p: p.write_text("x"))
    write_json(tmp_path / "b.json", {"a": 1})
    for name in ("a.txt", "b.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.json"]  # no temp left


def test_workspace_files_are_readable_by_others(tmp_path, tiny_files, umask):
    from safetygap.inputs import load_preset
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import run_analysis

    umask(0o022)
    run_analysis(AnalysisInputs(**tiny_files), tmp_path / "ws", quiet=True,
                 options=AnalysisOptions(columns=load_preset("generic")))
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "ws").iterdir()}
    assert "manifest.json" in modes and "calls.parquet" in modes
    assert set(modes.values()) == {0o644}, modes
