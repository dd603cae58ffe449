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
    assert 0.08 <= s["diverted_share"]["all"] <= 0.10
    # reached through the rules, with only the three real agencies: the share equals the
    # hand reading of the rules on the generated file's unique calls
    import pandas as pd

    raw = pd.read_csv(analysis.quality["calls"]["file"],
                      usecols=["Master_Incident_Number", "Agency_Type", "Problem__Final_"])
    raw = raw.drop_duplicates("Master_Incident_Number")
    assert set(raw["Agency_Type"]) == {"POLICE", "FIRE", "BCR"}
    names = {"Parking Problem (P)", "Theft - Report Only (P)", "Damage Property-Rpt Only (P)",
             "Animal Call (P)"}
    base = raw[raw["Agency_Type"] != "FIRE"]
    div = (base["Agency_Type"] == "BCR") | base["Problem__Final_"].isin(names)
    assert s["diverted_share"]["all"] == pytest.approx(div.mean(), abs=1e-6)
    by_channel = s["diversion"]["by_channel"]
    assert all(by_channel[c] > 0 for c in ("behavioral_crisis", "traffic_control",
                                          "animal_control", "report_311_online"))
    assert by_channel["fire_ems"] == (raw["Agency_Type"] == "FIRE").sum()
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


def test_inventory_through_the_analysis(demo_run):
    """The demo's inventory (built from its sources) is what the analysis reads: stale as
    of the inventory date, completeness by source, three providers serving areas."""
    import pandas as pd

    out, analysis, _ = demo_run
    city = json.loads((out / "data" / "city.json").read_text())
    prov = pd.read_csv(out / "data" / "providers.csv", dtype=str, keep_default_na=False)
    q = analysis.quality["providers"]
    assert q["verification"]["as_of"] == city["inventory"]["as_of"] == "2025-01-31"
    limit = pd.Timestamp("2025-01-31") - pd.DateOffset(months=18)
    dates = pd.to_datetime(prov["last_verified"].replace("", None))
    assert q["verification"]["stale"] == int((dates.isna() | (dates < limit)).sum()) > 0
    assert q["verification"]["never_verified"] == int(dates.isna().sum())
    c = q["completeness"]
    assert c["providers"] == len(prov) == city["inventory"]["services_in_the_city"]
    for fam in ("response", "prevention", "restoration"):
        mine = prov[prov["family"] == fam]
        assert c["by_family_and_source"][fam] == mine["source"].value_counts().to_dict()
    assert c["street_only"] == 1 and q["serving_areas"] == 3
