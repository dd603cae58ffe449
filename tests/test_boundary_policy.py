"""The boundary policy in the pipeline, on the tiny city (answers by hand in the comments).

Tiny-city calls placed in areas (see conftest): 1 A(100,100), 2 A(200,200), 3 B(1600,500),
4 B(1050,950), 5 C(500,1500), 6 D(1700,1700), 7 D(1800,1800), 11 A(300,300).
Neighborhood lines: x=0,1000,2000 and y=0,1000,2000; ward line x=1500.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.errors import ValidationError
from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze


def _run(files, **opts):
    return analyze(AnalysisInputs(**files),
                   options=AnalysisOptions(columns=load_preset("generic"),
                                           accept_undated=True, **opts))


@pytest.fixture
def contain_110(tiny_files):
    return _run(tiny_files, boundary_tolerance_m=110.0)


@pytest.fixture
def split_110(tiny_files):
    return _run(tiny_files, boundary_tolerance_m=110.0, boundary_policy="split")


def test_split_counts_by_hand(split_110):
    n, w = split_110.neighborhoods, split_110.wards
    # call 4 (1050,950) is 50 m from the A|B, A|D... lines and 70.7 m from C's corner:
    # within 110 m of all four squares -> 1/4 each. Call 1 is 100 m from the city edge
    # (only A's line) and stays whole.
    assert list(n["calls_total"]) == pytest.approx([3.25, 1.25, 1.25, 2.25])
    assert list(n["calls_prevention"]) == pytest.approx([0.25, 1.25, 0.25, 0.25])
    assert list(n["calls_response"]) == pytest.approx([3, 0, 0, 0])
    # call 3 (1600,500) is 100 m from the ward line x=1500: half in each ward
    assert list(w["calls_total"]) == pytest.approx([5.5, 2.5])
    assert list(w["calls_prevention"]) == pytest.approx([1.5, 0.5])
    # totals conserved
    assert n["calls_total"].sum() == pytest.approx(8) and w["calls_total"].sum() == 8
    # per year: call 4 is a 2024 call
    t = split_110.indices
    sel = t[(t.level == "neighborhood") & (t.period == "2024") & (t.family == "prevention")
            & (t.measure == "calls")]
    assert dict(zip(sel.area_id, sel.value, strict=True)) == pytest.approx(
        {"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25})
    # coverage is per call: call 4 is not covered (1202 m from the youth program)
    b = split_110.neighborhoods.set_index("area_id").loc["B"]
    assert b["coverage_prevention"] == pytest.approx(1.0 / 1.25)


def test_contain_is_the_default_and_unchanged(tiny_files, contain_110):
    default = _run(tiny_files)
    assert list(default.neighborhoods["calls_total"]) == [3, 2, 1, 2]
    assert list(contain_110.neighborhoods["calls_total"]) == [3, 2, 1, 2]
    assert default.summary["boundary_sensitivity"]["policy"] == "contain"
    assert default.summary["boundary_sensitivity"]["tolerance_m"] == 5.0


def test_quality_counts_calls_near_lines(contain_110):
    q = contain_110.quality["boundaries"]["near_boundary"]
    assert q["tolerance_m"] == 110.0 and q["policy"] == "contain"
    # neighborhoods: call 1 (city edge, 100 m) and call 4 (between areas) are within 110 m;
    # only call 4 is near the lines of two or more areas
    assert q["neighborhood"] == {"calls_in_areas": 8, "within_tolerance": 2,
                                 "within_tolerance_share": 0.25, "shared": 1,
                                 "shared_share": 0.125}
    # wards: call 1 (city edge) and call 3 (100 m from x=1500)
    assert q["ward"]["within_tolerance"] == 2 and q["ward"]["shared"] == 1
    calls = contain_110.calls.set_index("row")
    assert calls.loc[4, "split_neighborhoods"] == 4
    assert calls.loc[1, "split_neighborhoods"] == 1
    assert calls.loc[3, "split_wards"] == 2
    assert calls.loc[8, "split_neighborhoods"] == 0  # 0,0 location: in no area


def test_sensitivity_matches_two_separate_runs(contain_110, split_110):
    """The changed-class count each run reports equals a recount from two runs."""
    from safetygap import FAMILIES

    for a, b in ((contain_110, split_110), (split_110, contain_110)):
        sens = a.summary["boundary_sensitivity"]
        assert sens["compared_with"] == b.summary["boundary_sensitivity"]["policy"]
        for level, la, lb in (("neighborhood", a.neighborhoods, b.neighborhoods),
                              ("ward", a.wards, b.wards)):
            for f in FAMILIES:
                ca, cb = la[f"gap_class_{f}"].to_numpy(), lb[f"gap_class_{f}"].to_numpy()
                both = (ca > 0) & (cb > 0)
                assert sens["areas_changing_gap_class"][level][f] == int(
                    (both & (ca != cb)).sum())
                assert sens["areas_compared"][level][f] == int(both.sum())
                ids = [r["area_id"] for r in sens["changed_areas"][level][f]]
                assert ids == list(la["area_id"][both & (ca != cb)])
    sens = split_110.summary["boundary_sensitivity"]
    assert sens["calls_shared"] == {"neighborhood": 1, "ward": 1}


def test_zero_tolerance_split_equals_contain(tiny_files):
    a = _run(tiny_files, boundary_tolerance_m=0.0, boundary_policy="split")
    assert list(a.neighborhoods["calls_total"]) == [3, 2, 1, 2]
    changed = a.summary["boundary_sensitivity"]["areas_changing_gap_class"]
    assert all(v == 0 for level in changed.values() for v in level.values())


@pytest.mark.parametrize(("opts", "message"), [
    ({"boundary_policy": "nearest"}, "boundary_policy"),
    ({"boundary_tolerance_m": -1.0}, "boundary_tolerance_m"),
    ({"boundary_tolerance_m": float("nan")}, "boundary_tolerance_m"),
])
def test_bad_options(tiny_files, opts, message):
    with pytest.raises(ValidationError, match=message):
        _run(tiny_files, **opts)


def test_cli_boundary_options(tiny_files, tmp_path):
    out = tmp_path / "ws"
    args = ["analyze", "--calls", str(tiny_files["calls"]),
            "--providers", str(tiny_files["providers"]),
            "--neighborhoods", str(tiny_files["neighborhoods"]),
            "--wards", str(tiny_files["wards"]), "--population", str(tiny_files["population"]),
            "--preset", "generic", "--accept-undated", "--out", str(out), "--quiet",
            "--boundary-policy", "split", "--boundary-tolerance", "110"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["boundary_sensitivity"]["policy"] == "split"
    assert summary["boundary_sensitivity"]["tolerance_m"] == 110.0
    quality = json.loads((out / "quality.json").read_text())
    assert quality["boundaries"]["near_boundary"]["neighborhood"]["shared"] == 1
    bad = CliRunner().invoke(app, [*args[:-4], "--boundary-policy", "nearest"])
    assert bad.exit_code == 2 and "nearest" in bad.output
    assert np.isfinite(summary["totals"]["calls_in_areas"])
