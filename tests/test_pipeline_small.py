"""End-to-end analysis of the tiny hand-made city (answers worked out by hand in conftest)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import X0, Y0

from safetygap.inputs import load_preset
from safetygap.methods import Methods
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze
from safetygap.run import run_analysis
from safetygap.workspace import Workspace

# The tiny city has a call every few months, so a 400-day gap threshold makes its covered
# time 2023-01-01 (call 8, placed nowhere but dated) .. 2024-05-01 (call 4): 487 days.
# Its four areas are far smaller than a city; a non-resident ratio of 10 keeps all ranked.
TINY_METHODS = Methods(gap_days=400, nonresident_ratio=10.0, bootstrap=40,
                       hotspot_permutations=99)
TINY_YEARS = 487 / 365.25


def _tiny_options(**methods: object) -> AnalysisOptions:
    from dataclasses import replace

    return AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                           methods=replace(TINY_METHODS, **methods))


@pytest.fixture
def tiny_analysis(tiny_files):
    return analyze(AnalysisInputs(**tiny_files), options=_tiny_options())


def _row(layer, area_id):
    return layer.set_index("area_id").loc[area_id]


def test_status_counts_add_up(tiny_analysis):
    q = tiny_analysis.quality["calls"]
    assert q["input_rows"] == 11
    assert q["status_counts"] == {
        "duplicate_id": 1, "missing_coordinates": 0, "invalid_coordinates": 0,
        "zero_coordinates": 1, "outside_boundaries": 1, "date_outside_window": 0,
        "unparseable_date": 1, "unknown_call_type": 1, "ok": 6,
    }
    assert sum(q["status_counts"].values()) == q["input_rows"]
    assert q["analysed_in_areas"] == 8
    assert q["examples"]["duplicate_id"][0]["row"] == 10
    assert q["examples"]["unknown_call_type"][0]["value"] == "Fireworks Galore (P)"
    assert q["examples"]["unparseable_date"][0]["value"] == "not a date"


def test_neighborhood_counts(tiny_analysis):
    n = tiny_analysis.neighborhoods
    assert list(n["calls_total"]) == [3, 2, 1, 2]
    assert list(n["calls_response"]) == [3, 0, 0, 0]
    assert list(n["calls_prevention"]) == [0, 2, 0, 0]
    assert list(n["calls_restoration"]) == [0, 0, 1, 0]
    a = _row(n, "A")
    assert a["diverted_response"] == 1
    assert a["diverted_share_response"] == pytest.approx(1 / 3)
    assert a["eligible_not_diverted_share_response"] == pytest.approx(2 / 3)
    # 3 calls / 1,000 residents * 1,000 / 487 covered days (2023-01-01 .. 2024-05-01)
    assert a["rate_response"] == pytest.approx(3 / TINY_YEARS)
    assert _row(n, "B")["rate_prevention"] == pytest.approx(2 / 2000 * 1000 / TINY_YEARS)
    # exact Poisson 95% limits of 3 events (0.6187, 8.7673) over 1 x 1.333 thousand
    # resident-years; of 0 events (0, 3.6889)
    assert a["rate_response_ci_low"] == pytest.approx(0.61867 / TINY_YEARS, rel=1e-4)
    assert a["rate_response_ci_high"] == pytest.approx(8.76727 / TINY_YEARS, rel=1e-4)
    assert a["rate_prevention_ci_low"] == 0
    assert a["rate_prevention_ci_high"] == pytest.approx(3.68888 / TINY_YEARS, rel=1e-4)
    # Wilson 95% interval of 1 diverted of 3: (0.0615, 0.7923)
    assert a["diverted_share_response_ci_low"] == pytest.approx(0.06149, abs=1e-4)
    assert a["diverted_share_response_ci_high"] == pytest.approx(0.79234, abs=1e-4)


def test_providers_and_capacity_per_area(tiny_analysis):
    """Worked out from conftest: P1 (bcr_team, response, capacity 2.0) at (0, 0), the
    corner of A and of ward 1 (a point only on boundaries goes to the lowest-index area
    covering it: A, ward 1); P2 (youth_program, prevention, 10.0) at (1900, 100) in B and
    ward 2; P3 (victim_services, restoration, 5.0) 50 km away, in no area."""
    n, w = tiny_analysis.neighborhoods, tiny_analysis.wards
    assert list(n["area_id"]) == ["A", "B", "C", "D"] and list(w["area_id"]) == ["1", "2"]
    assert list(n["providers_response"]) == [1, 0, 0, 0]
    assert list(n["capacity_response"]) == [2.0, 0.0, 0.0, 0.0]
    assert list(n["providers_prevention"]) == [0, 1, 0, 0]
    assert list(n["capacity_prevention"]) == [0.0, 10.0, 0.0, 0.0]
    assert list(n["providers_restoration"]) == [0, 0, 0, 0]
    assert list(n["capacity_restoration"]) == [0.0, 0.0, 0.0, 0.0]
    assert list(w["providers_response"]) == [1, 0]
    assert list(w["capacity_response"]) == [2.0, 0.0]
    assert list(w["providers_prevention"]) == [0, 1]
    assert list(w["capacity_prevention"]) == [0.0, 10.0]
    assert list(w["providers_restoration"]) == [0, 0]
    assert list(w["capacity_restoration"]) == [0.0, 0.0]
    assert tiny_analysis.quality["providers"]["outside_boundaries"] == 1


def test_eligible_not_diverted_whatever_agency_handled_it(tiny_files):
    """eligible_not_diverted counts eligible calls whose agency is not a diverted service,
    police or not: A's two eligible non-BCR crisis calls handled by FIRE and by an agency
    the taxonomy does not know still count (2 of A's 3 response calls), as with POLICE."""
    import pandas as pd

    calls = pd.read_csv(tiny_files["calls"], dtype=str)
    calls.loc[calls["id"] == "2", "agency"] = "FIRE"
    calls.loc[calls["id"] == "11", "agency"] = "MOBILE UNIT 7"
    calls.to_csv(tiny_files["calls"], index=False)
    a = analyze(AnalysisInputs(**tiny_files),
                options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True))
    row = _row(a.neighborhoods, "A")
    # the diverted share leaves fire/EMS calls out of its denominator (call 2 now FIRE):
    # 1 BCR call of A's 2 police-or-alternative response calls (1 and 11)
    assert row["diverted_share_response"] == pytest.approx(1 / 2)
    assert row["eligible_not_diverted_share_response"] == pytest.approx(2 / 3)
    assert a.summary["eligible_not_diverted_share"]["all"] == pytest.approx(2 / 10)
    assert a.quality["calls"]["faults"]["unknown_agency"] == 1


def test_ward_counts_and_population(tiny_analysis):
    w = tiny_analysis.wards
    assert list(w["calls_total"]) == [5, 3]
    assert list(w["calls_prevention"]) == [1, 1]
    # W1 = A + C + half of B + half of D
    assert list(w["population"]) == pytest.approx([7000.0, 3000.0])
    n = tiny_analysis.neighborhoods
    for col in ("calls_total", "calls_response", "calls_prevention", "calls_restoration",
                "diverted_total"):
        assert w[col].sum() == n[col].sum()
    assert w["population"].sum() == pytest.approx(n["population"].sum())


def test_coverage(tiny_analysis):
    n = tiny_analysis.neighborhoods
    assert _row(n, "A")["coverage_response"] == 1.0
    # row 3 is 500 m from the youth program (covered), row 4 is 1202 m (catchment 1200 m)
    assert _row(n, "B")["coverage_prevention"] == 0.5
    assert _row(n, "C")["coverage_restoration"] == 0.0
    assert math.isnan(_row(n, "D")["coverage_response"])  # no need calls


@pytest.fixture
def centroid_analysis(tiny_files):
    """The earlier method, kept by name: residents at the centroids, truncated Gaussian."""
    return analyze(AnalysisInputs(**tiny_files),
                   options=_tiny_options(demand="centroid", kernel="truncated_gaussian"))


def test_access_by_hand(centroid_analysis):
    n = centroid_analysis.neighborhoods
    # response: one BCR team, capacity 2, at (0,0); catchment 6000 m, sigma 3000 m
    d = {"A": math.hypot(500, 500), "B": math.hypot(1500, 500),
         "C": math.hypot(500, 1500), "D": math.hypot(1500, 1500)}
    pop = {"A": 1000, "B": 2000, "C": 3000, "D": 4000}
    w = {k: math.exp(-0.5 * (v / 3000) ** 2) for k, v in d.items()}
    ratio = 2 / sum(pop[k] * w[k] for k in pop)
    for k in pop:
        assert _row(n, k)["access_response"] == pytest.approx(ratio * w[k] * 1000, rel=1e-12)
    # prevention: only B's centroid is within 1200 m of the youth program, so all of its
    # capacity (10) goes to B's 2,000 residents: 5 per 1,000
    assert list(n["access_prevention"]) == pytest.approx([0.0, 5.0, 0.0, 0.0])
    assert list(n["access_restoration"]) == [0.0, 0.0, 0.0, 0.0]


def _grid_points() -> list[tuple[str, float, float, float]]:
    """The tiny city's 200 m demand points: (area, x, y, share of the area's residents).
    Cell centres, 25 per area, except that the cells from x = 1400 to 1600 are cut along
    the ward line at x = 1500 into two 100 m halves (centres 1450 and 1550)."""
    out = []
    for area, (x0, y0) in {"A": (0, 0), "B": (1000, 0), "C": (0, 1000),
                           "D": (1000, 1000)}.items():
        for i in range(5):
            for j in range(5):
                x, y = x0 + 100 + 200 * i, y0 + 100 + 200 * j
                if x == 1500:
                    out += [(area, 1450, y, 1 / 50), (area, 1550, y, 1 / 50)]
                else:
                    out.append((area, x, y, 1 / 25))
    return out


def _dai(d: float, d0: float) -> float:
    e = math.exp(-0.5)
    return (math.exp(-0.5 * (d / d0) ** 2) - e) / (1 - e) if d <= d0 else 0.0


def test_grid_access_and_reach_by_hand(tiny_analysis):
    """Default method: each area's residents spread evenly over its 25 cells of 200 m,
    Dai's kernel; E2SFCA written out here point by point, then the residents' mean."""
    n = tiny_analysis.neighborhoods
    pop = {"A": 1000, "B": 2000, "C": 3000, "D": 4000}
    pts = _grid_points()
    for family, (px, py, cap, d0) in {"response": (0, 0, 2.0, 6000.0),
                                      "prevention": (1900, 100, 10.0, 1200.0)}.items():
        w = [_dai(math.hypot(x - px, y - py), d0) for _, x, y, _ in pts]
        ratio = cap / sum(pop[a] * share * wi
                          for (a, _, _, share), wi in zip(pts, w, strict=True))
        for area in pop:
            expect = 1000 * ratio * sum(share * wi for (a, _, _, share), wi
                                        in zip(pts, w, strict=True) if a == area)
            assert _row(n, area)[f"access_{family}"] == pytest.approx(expect, rel=1e-9)
            reach = sum(share for a, x, y, share in pts
                        if a == area and math.hypot(x - px, y - py) <= d0)
            assert _row(n, area)[f"reach_{family}"] == pytest.approx(reach)
    # the youth program reaches B's cells near it and a few of A's and D's, none of C's
    assert _row(n, "C")["access_prevention"] == 0 and _row(n, "C")["reach_prevention"] == 0
    assert 0 < _row(n, "A")["reach_prevention"] < _row(n, "B")["reach_prevention"]
    # the victim-services office is 50 km away: no restoration access anywhere
    assert list(n["access_restoration"]) == [0.0, 0.0, 0.0, 0.0]


def test_need_classes_by_hand(tiny_analysis):
    n = tiny_analysis.neighborhoods
    # response need smoothed by empirical Bayes (Marshall 1991) over exposures of
    # population x 487/365.25 years: A has 3 calls, the others none
    pop = np.array([1000.0, 2000.0, 3000.0, 4000.0])
    b = pop * TINY_YEARS / 1000
    e = np.array([3.0, 0, 0, 0])
    m = e.sum() / b.sum()
    a = (b * (e / b - m) ** 2).sum() / b.sum() - m / b.mean()
    w = a / (a + m / b)
    eb = w * e / b + (1 - w) * m
    assert list(n["rate_eb_response"]) == pytest.approx(list(eb), rel=1e-9)
    # need: A > B > C > D (the zero-call areas shrink less the fewer residents they have);
    # access: A > B, C > D (B and C nearly mirror each other about the BCR team's corner;
    # B's cells on the ward line are cut in two, so they differ a little).
    # Terciles of four areas at (rank - 1/2) / 4: 1/8 low, 3/8 and 5/8 middle, 7/8 high.
    assert list(n["need_tercile_response"]) == [3, 2, 2, 1]
    assert list(n["access_tercile_response"]) == [3, 2, 2, 1]
    assert list(n["class_label_response"]) == [
        "high need, high access", "middle need, middle access",
        "middle need, middle access", "low need, low access"]
    assert list(n["underserved_rank_response"]) == [1, 2, 3, 4]
    assert list(n["underserved_response"]) == [0, 0, 0, 0]
    assert tiny_analysis.summary["top_underserved"]["neighborhood"]["response"] == []
    # prevention: C has no access (lowest) and more smoothed need than D
    assert _row(n, "C")["access_tercile_prevention"] == 1
    assert list(n["ranked"]) == [1, 1, 1, 1]


def test_gap_by_hand(centroid_analysis):
    """The rank-difference gap index, kept as a secondary measure (residents at the
    centroids, so B and C mirror each other about the crisis team's corner)."""
    n = centroid_analysis.neighborhoods
    # need ranks: A 1, others tied at 1/3; access ranks: A 1, B=C 0.5, D 0
    assert list(n["gap_response"]) == pytest.approx([0.0, 1 / 3 - 0.5, 1 / 3 - 0.5, 1 / 3])
    assert n["gap_class_response"].iloc[3] == n["gap_class_response"].max()
    top = centroid_analysis.summary["gap_index_top"]["neighborhood"]["response"]
    assert top[0]["area_id"] == "D"


def test_default_gap_detection_and_flags(tiny_files):
    """With the default 7-day gap threshold the tiny city's sparse calls cover only the 8
    days that have a call; with the default non-resident ratio (2.5) area A, whose 3 calls
    per 1,000 residents are 3.75 times the city's 0.8, is flagged and not ranked."""
    a = analyze(AnalysisInputs(**tiny_files), options=AnalysisOptions(
        columns=load_preset("generic"), accept_undated=True, methods=Methods(bootstrap=20,
                                                        hotspot_permutations=0)))
    (span,) = a.summary["time_covered"]
    assert span["covered_days"] == 8 and span["first"] == "2023-01-01"
    assert span["last"] == "2024-05-01" and len(span["gaps"]) == 5
    assert _row(a.neighborhoods, "A")["rate_response"] == pytest.approx(3 * 365.25 / 8)
    n = a.neighborhoods
    assert list(n["mostly_nonresident"]) == [1, 0, 0, 0]
    assert list(n["ranked"]) == [0, 1, 1, 1]
    assert _row(n, "A")["class_response"] == 0
    assert _row(n, "A")["class_label_response"] == "not ranked"
    assert [r["area_id"] for r in a.summary["not_ranked"]["neighborhood"]] == ["A"]


def test_summary_shares(tiny_analysis):
    s = tiny_analysis.summary
    # 10 unique calls less the fire call (6): the denominator is the calls police or an
    # alternative handled; one of them (1, BCR) diverted
    assert s["diverted_share"]["all"] == pytest.approx(1 / 9)
    assert s["diverted_share"]["2023"] == pytest.approx(1 / 7)  # 8 unique 2023 calls less 6
    assert s["diverted_share"]["2024"] == 0.0
    assert s["diversion"]["denominator"] == "police_and_alternatives"
    assert s["diversion"]["denominator_calls"] == 9
    assert s["diversion"]["by_channel"] == {
        "police": 8, "fire_ems": 1, "behavioral_crisis": 1, "traffic_control": 0,
        "animal_control": 0, "report_311_online": 0, "other_non_police": 0}
    assert {r["rule"]: r["calls"] for r in s["diversion"]["by_rule"] if r["calls"]} == {
        "bcr_agency": 1, "fire_agency": 1, "default": 8}
    assert s["eligible_not_diverted_share"]["all"] == pytest.approx(2 / 10)
    assert s["years"] == [2023, 2024]
    assert s["totals"]["by_family"] == {"response": 3, "prevention": 2, "restoration": 1,
                                        "none": 2}


def test_per_year_indices(tiny_analysis):
    t = tiny_analysis.indices
    sel = t[(t.level == "neighborhood") & (t.area_id == "A") & (t.family == "response")
            & (t.measure == "calls")]
    by_period = dict(zip(sel["period"], sel["value"], strict=True))
    assert by_period == {"all": 3.0, "2023": 2.0, "2024": 0.0}  # row 11 has no year
    rate = t[(t.level == "neighborhood") & (t.area_id == "A") & (t.family == "response")
             & (t.measure == "rate") & (t.period == "2023")]["value"].item()
    assert rate == pytest.approx(2.0 / (365 / 365.25))  # all 365 days of 2023 covered


def test_workspace_round_trip(tiny_files, tmp_path):
    out = tmp_path / "ws"
    run_analysis(AnalysisInputs(**tiny_files), out,
                 options=AnalysisOptions(columns=load_preset("generic"),
                                         accept_undated=True), quiet=True)
    ws = Workspace.open(out)
    assert ws.verify() == []
    assert len(ws.neighborhoods) == 4 and ws.neighborhoods.crs.to_epsg() == 26915
    calls = ws.calls()
    assert len(calls) == 11
    assert calls["status"].value_counts()["ok"] == 6
    assert calls.loc[calls["row"] == 3, "neighborhood_id"].item() == "B"
    assert calls.loc[calls["row"] == 4, "ward_id"].item() == "1"
    assert calls.loc[calls["row"] == 8, "neighborhood_id"].isna().item()
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["inputs"]) == {"calls", "providers", "neighborhoods", "wards",
                                       "population"}
    assert len(manifest["inputs"]["calls"]["sha256"]) == 64
    assert manifest["taxonomy"]["checksum"]
    assert not list(out.glob("*.tmp"))


def test_incomplete_workspace_is_refused(tiny_files, tmp_path):
    from safetygap.errors import ValidationError

    out = tmp_path / "ws"
    run_analysis(AnalysisInputs(**tiny_files), out,
                 options=AnalysisOptions(columns=load_preset("generic"),
                                         accept_undated=True), quiet=True)
    (out / "manifest.json").unlink()
    with pytest.raises(ValidationError, match=r"manifest\.json"):
        Workspace.open(out)


def test_inputs_not_modified(tiny_files):
    before = {k: v.read_bytes() for k, v in tiny_files.items()}
    analyze(AnalysisInputs(**tiny_files), options=AnalysisOptions(columns=load_preset("generic"),
                                                                  accept_undated=True))
    assert {k: v.read_bytes() for k, v in tiny_files.items()} == before


def test_totals_conserved_tidy(tiny_analysis):
    t = tiny_analysis.indices
    calls = t[(t.measure == "calls") & (t.period == "all") & (t.family == "total")]
    by_level = calls.groupby("level")["value"].sum()
    assert by_level["neighborhood"] == by_level["ward"] == 8
    assert np.isfinite(t[t.measure == "calls"]["value"]).all()


def test_zero_and_missing_population_reported_not_divided(tiny_files, tmp_path):
    """Delta has population 0 and Charlie none: both are reported, neither divides by zero."""
    import pandas as pd

    pop = tmp_path / "pop0.csv"
    pd.DataFrame({"neighborhood": ["alpha", "BRAVO", "Delta"],
                  "population": [1000, 2000, 0]}).to_csv(pop, index=False)
    files = dict(tiny_files, population=pop)
    a = analyze(AnalysisInputs(**files), options=AnalysisOptions(columns=load_preset("generic"),
                                                                 accept_undated=True))
    q = a.quality["population"]
    assert q["areas_without_population"] == ["Charlie"]
    assert q["areas_with_zero_population"] == ["Delta"]
    assert a.summary["quality"]["areas_with_zero_population"] == 1
    n = a.neighborhoods.set_index("name")
    for name in ("Charlie", "Delta"):
        assert np.isnan(n.loc[name, "rate_total"]) and np.isnan(n.loc[name, "gap_response"])
        assert n.loc[name, "gap_class_response"] == 0
    assert np.isfinite(n.loc["Alpha", "rate_total"])
    assert not np.isinf(a.neighborhoods.select_dtypes("number").to_numpy(float)).any()


def test_outside_boundaries_examples_show_the_files_own_columns(tiny_files, tiny_analysis):
    """Call 9 (row 9) lies at (5000, 5000) relative to the origin, outside the city: its
    example names the file's coordinate columns and the values the CSV has (as
    zero_coordinates examples do), with the analysis-CRS point beside them."""
    import pandas as pd

    raw = pd.read_csv(tiny_files["calls"], dtype=str).iloc[8]
    (ex,) = tiny_analysis.quality["calls"]["examples"]["outside_boundaries"]
    assert (ex["row"], ex["id"]) == (9, "9")
    assert ex["column"] == "longitude/latitude"
    assert ex["value"] == f"{raw['longitude']}, {raw['latitude']}"
    x, y = (float(v) for v in ex["analysis_xy"].split(", "))
    assert (x - X0, y - Y0) == pytest.approx((5000, 5000), abs=0.1)
    zero = tiny_analysis.quality["calls"]["examples"]["zero_coordinates"][0]
    assert zero["column"] == ex["column"]


def test_diverted_share_of_all_calls_setting(tiny_files):
    """diversion_denominator="all_calls" counts the fire call in the denominator: 1 of the
    10 unique calls, 1 of the 8 unique 2023 calls."""
    a = analyze(AnalysisInputs(**tiny_files),
                options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                                        diversion_denominator="all_calls"))
    s = a.summary
    assert s["diverted_share"]["all"] == pytest.approx(1 / 10)
    assert s["diverted_share"]["2023"] == pytest.approx(1 / 8)
    assert s["diversion"]["denominator"] == "all_calls"
    # area D holds the fire call and an unknown police call: 0 of 2 diverted
    d = _row(a.neighborhoods, "D")
    assert d["diverted_share_total"] == 0.0
