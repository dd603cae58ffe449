"""The demo city through the whole pipeline: faults injected == faults reported."""

from __future__ import annotations

import json

import pytest

from safetygap.run import run_demo


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    analysis, ws = run_demo(out, seed=7, n_calls=30_000, quiet=True)
    return out, analysis, ws


def test_quality_matches_injected_faults(demo_run):
    out, analysis, _ = demo_run
    city = json.loads((out / "data" / "city.json").read_text())
    injected = city["injected_faults"]
    status = analysis.quality["calls"]["status_counts"]
    assert sum(status.values()) == 30_000
    for kind in ("duplicate_id", "missing_coordinates", "zero_coordinates",
                 "unparseable_date", "unknown_call_type"):
        assert status[kind] == injected[kind], kind


def test_diverted_share_and_labels(demo_run):
    _, analysis, ws = demo_run
    s = analysis.summary
    assert 0.07 <= s["diverted_share"]["all"] <= 0.11
    assert s["synthetic"] is True and "Synthetic" in s["label"]
    assert s["years"] == [2022, 2023, 2024]
    manifest = json.loads((ws / "manifest.json").read_text())
    assert manifest["synthetic"] is True


def test_totals_conserved(demo_run):
    _, a, _ = demo_run
    placed = a.quality["calls"]["analysed_in_areas"]
    for f in ("total", "response", "prevention", "restoration"):
        assert a.neighborhoods[f"calls_{f}"].sum() == a.wards[f"calls_{f}"].sum()
    assert a.neighborhoods["calls_total"].sum() == placed
    assert a.wards["population"].sum() == pytest.approx(a.neighborhoods["population"].sum())
    t = a.indices
    for period in ("2022", "2023", "2024"):
        sel = t[(t.period == period) & (t.measure == "calls") & (t.family == "total")]
        assert sel.groupby("level")["value"].sum().nunique() == 1


def test_real_gaps_exist(demo_run):
    _, a, _ = demo_run
    n = a.neighborhoods
    for f in ("response", "prevention", "restoration"):
        assert n[f"gap_{f}"].between(-1, 1).all()
        assert n[f"gap_{f}"].max() > 0.5  # some areas have high need and little access
        assert set(n[f"gap_class_{f}"]) <= {1, 2, 3, 4, 5}
    assert n["coverage_prevention"].min() < 0.5 < n["coverage_prevention"].max()
