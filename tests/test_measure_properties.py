"""Properties every measure must keep, as hypothesis invariants:

* adding a provider never lowers any area's access, reach or coverage;
* doubling every population leaves the order of the rates unchanged (and halves them);
* moving a call across a boundary changes the counts, rates, intervals and shares of the
  two areas it touches and of no other area;
* the in-memory and dask engines give identical measures: tests/test_dask_engine.py.

Relative measures (smoothed need, terciles, classes, ranks, the gap index) compare each
area with all the others by design, so they are left out of the boundary property.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from safetygap.geo.aggregate import count_calls
from safetygap.geo.indices import Supply, area_flags, build_indices
from safetygap.pipeline import AnalysisInputs, analyze
from safetygap.run import run_analysis
from safetygap.scenarios import load_baseline, new_providers, recompute
from tests.conftest import CRS, X0, Y0, tiny_options

TO_LL = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
SERVICES = ("bcr_team", "youth_program", "community_center", "victim_services",
            "violence_interruption", "traffic_control", "restorative_justice")


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    from tests.conftest import make_tiny_areas, write_tiny_city

    d = tmp_path_factory.mktemp("props")
    files = write_tiny_city(d, make_tiny_areas())
    run_analysis(AnalysisInputs(**files), d / "ws", quiet=True,
                 options=tiny_options(bootstrap=0, hotspot_permutations=0))
    return load_baseline(d / "ws")


@settings(max_examples=12, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(x=st.floats(-500, 2500), y=st.floats(-500, 2500), service=st.sampled_from(SERVICES),
       capacity=st.floats(0.5, 50))
def test_adding_a_provider_never_lowers_access_reach_or_coverage(tiny_base, x, y, service,
                                                                 capacity):
    lon, lat = TO_LL.transform(X0 + x, Y0 + y)
    frame = pd.DataFrame({"name": ["New"], "service_type": [service], "capacity": [capacity],
                          "latitude": [lat], "longitude": [lon]})
    extra = new_providers(tiny_base, frame, where="property")
    before_n, before_w, before_cov = recompute(tiny_base, extra.iloc[:0])
    after_n, after_w, after_cov = recompute(tiny_base, extra)
    assert (after_cov >= before_cov).all()  # per call
    for before, after in ((before_n, after_n), (before_w, after_w)):
        for fam in ("response", "prevention", "restoration"):
            for m in ("access", "reach", "coverage", "access_need"):
                b = before[f"{m}_{fam}"].to_numpy(float)
                a = after[f"{m}_{fam}"].to_numpy(float)
                ok = np.isfinite(b)
                assert (a[ok] >= b[ok] - 1e-12).all(), (m, fam)


def _indices(calls_area, calls_family, population, years=2.0):
    counts = count_calls(np.asarray(calls_area), np.full(len(calls_area), 2023),
                         np.asarray(calls_family), np.zeros(len(calls_area), bool),
                         np.zeros(len(calls_area), bool), np.zeros(len(calls_area), bool),
                         n_areas=len(population), years=(2023,))
    n = len(population)
    zeros = {f: np.zeros(n) for f in ("response", "prevention", "restoration")}
    flags = area_flags(counts.calls[:, 0, 0], population, min_population=0,
                       nonresident_ratio=1e9)
    return build_indices(counts, population=population,
                         supply=Supply(access=zeros, providers=zeros, capacity=zeros),
                         years=np.array([[years, years]]), ranked=flags["ranked"],
                         flags=flags)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 3)), min_size=1, max_size=80),
       st.lists(st.integers(1, 100_000), min_size=8, max_size=8))
def test_doubling_every_population_keeps_the_order_of_the_rates(calls, pops):
    area = [c[0] for c in calls]
    fam = [c[1] for c in calls]
    pop = np.array(pops, dtype=float)
    one = _indices(area, fam, pop)["all"]
    two = _indices(area, fam, 2 * pop)["all"]
    for family in ("total", "response", "prevention", "restoration"):
        r1, r2 = one[family]["rate"], two[family]["rate"]
        np.testing.assert_allclose(r2, r1 / 2, rtol=1e-12)
        assert list(np.argsort(r1, kind="stable")) == list(np.argsort(r2, kind="stable"))
        np.testing.assert_allclose(two[family]["rate_ci_high"], one[family]["rate_ci_high"] / 2,
                                   rtol=1e-12)


ABSOLUTE = ("calls", "resident_years", "rate", "rate_ci_low", "rate_ci_high", "diverted",
            "diverted_share", "eligible", "eligible_not_diverted_share", "coverable",
            "coverage", "coverage_ci_low", "coverage_ci_high")
"""Measures of an area that depend only on its own calls."""


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """The tiny city, and the same with call 3 moved from B (1600, 500) across B's
    northern line into D (1600, 1500)."""
    from tests.conftest import make_tiny_areas, write_tiny_city

    out = {}
    for name in ("before", "after"):
        d = tmp_path_factory.mktemp(name)
        files = write_tiny_city(d, make_tiny_areas())
        if name == "after":
            calls = pd.read_csv(files["calls"], dtype=str)
            lon, lat = TO_LL.transform(X0 + 1600, Y0 + 1500)
            calls.loc[calls["id"] == "3", ["latitude", "longitude"]] = [f"{lat:.7f}",
                                                                        f"{lon:.7f}"]
            calls.to_csv(files["calls"], index=False)
        out[name] = analyze(AnalysisInputs(**files), options=tiny_options(
            bootstrap=0, hotspot_permutations=0))
    return out


def test_moving_a_call_across_a_boundary_changes_only_the_two_areas(moved):
    before, after = moved["before"], moved["after"]
    cols = [c for c in before.neighborhoods.columns
            if any(c == f"{m}_{f}" or c.startswith(f"{m}_{f}_ci") for m in ABSOLUTE
                   for f in ("total", "response", "prevention", "restoration"))]
    assert len(cols) > 40
    b = before.neighborhoods.set_index("area_id")[cols]
    a = after.neighborhoods.set_index("area_id")[cols]
    changed = {i for i in b.index if not b.loc[i].equals(a.loc[i])}
    assert changed == {"B", "D"}
    assert a.loc["B", "calls_prevention"] == 1 and a.loc["D", "calls_prevention"] == 1
    # both areas are in ward 2 (x >= 1500): its counts stay, its coverage changes (the call
    # is 1,400 m from the youth program now, beyond its 1,200 m); ward 1 does not change
    wb = before.wards.set_index("area_id")[cols]
    wa = after.wards.set_index("area_id")[cols]
    assert {i for i in wb.index if not wb.loc[i].equals(wa.loc[i])} == {"2"}
    assert wa.loc["2", "calls_prevention"] == wb.loc["2", "calls_prevention"] == 1
    assert (wb.loc["2", "coverage_prevention"], wa.loc["2", "coverage_prevention"]) == (1, 0)


def test_population_layer_spreads_residents(tiny_files, tmp_path):
    """A population layer of points (address points with units) puts A's residents where
    its points are; reach then counts them there (dasymetric demand)."""
    pts = gpd.GeoDataFrame({"units": [9.0, 1.0]},
                           geometry=gpd.points_from_xy([X0 + 900, X0 + 100],
                                                       [Y0 + 100, Y0 + 900]), crs=CRS)
    layer = tmp_path / "addresses.gpkg"
    pts.to_file(layer)
    opts = tiny_options(bootstrap=0, hotspot_permutations=0)
    from dataclasses import replace

    a = analyze(AnalysisInputs(**tiny_files, population_layer=layer),
                options=replace(opts, population_layer_column="units"))
    d = a.demand_points
    assert d.loc[d["area_id"] == "A", "residents"].sum() == pytest.approx(1000)
    # 90% of A's residents in the cell at (900, 100), 300 m from the youth program's
    # catchment edge (it sits at (1900, 100), 1,200 m): A's prevention reach is 0.9
    row = a.neighborhoods.set_index("area_id").loc["A"]
    assert row["reach_prevention"] == pytest.approx(0.9)
    assert a.summary["demand_points"]["population_layer"] == "addresses.gpkg"
