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
                 options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True))
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "ws").iterdir()}
    assert "manifest.json" in modes and "calls.parquet" in modes
    assert set(modes.values()) == {0o644}, modes


# ------------------------------------------------------------------ strict JSON


def strict_loads(text: str):
    """``json.loads`` that refuses the non-standard NaN, Infinity and -Infinity, as
    browsers' JSON.parse, jq and most other parsers do."""
    import json

    def refuse(word: str):
        raise ValueError(f"non-standard JSON constant {word}")

    return json.loads(text, parse_constant=refuse)


def test_strict_loads_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        strict_loads('{"a": NaN}')


def test_write_json_writes_strict_json(tmp_path):
    import numpy as np
    import pandas as pd

    from safetygap._io import dumps_json

    data = {"float_nan": float("nan"), "np_nan": np.float64("nan"), "inf": float("inf"),
            "minus_inf": np.float32("-inf"), "na": pd.NA, "nat": pd.NaT,
            "nested": [{"x": np.nan, "y": (1.5, np.inf)}], "arr": np.array([1.0, np.nan]),
            "ok": [np.int64(3), np.float64(2.5), np.bool_(True), "NaN"]}
    want = {"float_nan": None, "np_nan": None, "inf": None, "minus_inf": None, "na": None,
            "nat": None, "nested": [{"x": None, "y": [1.5, None]}], "arr": [1.0, None],
            "ok": [3, 2.5, True, "NaN"]}
    write_json(tmp_path / "d.json", data)
    assert strict_loads((tmp_path / "d.json").read_text()) == want
    assert strict_loads(dumps_json(data)) == want
