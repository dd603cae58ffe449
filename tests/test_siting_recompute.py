"""The siting job's one-family recompute (``recompute(..., family=...)``, i.e.
``family_layers``) gives exactly the values of the full ``level_indices`` recompute; the
what-if job (CLI and ``POST /api/scenarios``) keeps the full one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from safetygap import FAMILIES, scenarios
from safetygap.scenarios import baseline as scenario_baseline
from safetygap.scenarios import load_baseline, new_providers, recommend_sites, recompute, whatif
from safetygap.scenarios import siting as scenario_siting
from safetygap.stages.areas import boundary_allocations
from safetygap.vocab import BOUNDARY_POLICIES
from tests.conftest import CRS, X0, Y0, app_client
from tests.test_scenarios import straight_ws, walk_ws  # noqa: F401 (fixtures used by name)


def _with_policy(base: scenarios.Baseline, policy: str) -> scenarios.Baseline:
    """The baseline as if analysed with ``policy`` (allocations under both policies)."""
    if policy == base.policy:
        return base
    boundary = boundary_allocations(base.calls, base.neighborhoods, base.wards, base.crs,
                                    base.tolerance_m, policies=BOUNDARY_POLICIES)
    return dataclasses.replace(base, policy=policy, boundary=boundary)


def _extra(base: scenarios.Baseline, seed: int, n: int) -> pd.DataFrame:
    """``n`` hypothetical providers of every family at random points of the city."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = base.neighborhoods.total_bounds
    stypes = sorted(base.taxonomy.service_types)
    to_ll = Transformer.from_crs(base.crs, "EPSG:4326", always_xy=True)
    x = rng.uniform(minx, maxx, n * len(stypes))
    y = rng.uniform(miny, maxy, n * len(stypes))
    lon, lat = to_ll.transform(x, y)
    frame = pd.DataFrame({"name": [f"new {i}" for i in range(len(x))],
                          "service_type": stypes * n,
                          "capacity": rng.uniform(1, 20, len(x)).round(1),
                          "latitude": lat, "longitude": lon})
    return new_providers(base, frame, where="test")


@pytest.mark.parametrize("policy", BOUNDARY_POLICIES)
@pytest.mark.parametrize("ws", ["straight_ws", "walk_ws", "demo_workspace"])
def test_one_family_recompute_equals_the_full_one(ws, policy, request):
    base = _with_policy(load_baseline(request.getfixturevalue(ws)), policy)
    extra = _extra(base, seed=len(ws), n=2 if ws == "demo_workspace" else 1)
    assert set(extra["family"]) == set(FAMILIES)
    full_n, full_w, full_cov = recompute(base, extra)
    changed = 0
    for family in FAMILIES:
        lean_n, lean_w, lean_cov = recompute(base, extra, family=family)
        np.testing.assert_array_equal(lean_cov, full_cov)
        for lean, full, stored in ((lean_n, full_n, base.neighborhoods),
                                   (lean_w, full_w, base.wards)):
            cols = ["area_id", "name", "population", "area_km2",
                    *(c for c in full.columns if f"_{family}" in c)]
            # only the family's measures were computed ...
            assert [c for c in lean.columns if c != "geometry"] == cols
            # ... and they are exactly the full recompute's (NaN where it has NaN)
            pd.testing.assert_frame_equal(lean[cols], full[cols], check_exact=True)
            assert lean.geometry.equals(full.geometry)
            changed += int((lean[f"coverage_{family}"].fillna(-1).to_numpy()
                            != stored[f"coverage_{family}"].fillna(-1).to_numpy()).sum())
    assert changed > 0  # the new providers changed something to compare


@pytest.mark.parametrize(("ws", "family", "k"), [
    ("walk_ws", "prevention", 2),
    ("straight_ws", "prevention", 2),
    ("demo_workspace", "prevention", 4),
    ("demo_workspace", "restoration", 3),
])
def test_siting_output_equals_the_one_with_full_recomputes(ws, family, k, request,
                                                           monkeypatch):
    base = load_baseline(request.getfixturevalue(ws))
    lean = recommend_sites(base, family=family, k=k)
    full_recompute = scenarios.recompute
    calls = []

    def full_only(base, extra, *, family=None):
        calls.append(family)
        return full_recompute(base, extra)

    monkeypatch.setattr(scenario_siting, "recompute", full_only)  # as recommend_sites sees it
    full = recommend_sites(base, family=family, k=k)
    assert calls == [family] * len(full["sites"]) and len(full["sites"]) >= 1
    lean.pop("timings_s")
    full.pop("timings_s")
    assert lean == full
    changes = [a[f"{m}_change"] for s in lean["sites"] for a in s["neighborhoods"] + s["wards"]
               for m in ("coverage", "access", "gap")]
    assert any(v not in (None, 0.0) for v in changes)  # something to compare
    if ws == "demo_workspace":  # 80 neighborhoods: the sites change gap indices too
        assert any(a["gap_change"] not in (None, 0.0)
                   for s in lean["sites"] for a in s["neighborhoods"])


def _no_lean(*args, **kwargs):
    raise AssertionError("the what-if job must recompute every family")


def test_whatif_and_scenarios_route_keep_the_full_recompute(request, monkeypatch):
    ws = request.getfixturevalue("straight_ws")
    monkeypatch.setattr(scenario_baseline, "family_layers", _no_lean)  # as recompute sees it
    base = load_baseline(ws)
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform([X0 + 1000, X0 + 300], [Y0 + 1000, Y0 + 300])
    rows = [{"name": "A", "service_type": "youth_program", "capacity": 10,
             "latitude": lat[0], "longitude": lon[0]},
            {"name": "B", "service_type": "victim_services", "capacity": 4,
             "latitude": lat[1], "longitude": lon[1]}]
    out = whatif(base, new_providers(base, pd.DataFrame(rows), where="test"))
    assert out["families"] == ["prevention", "restoration"]
    assert {r["family"] for r in out["neighborhoods"]} == {"prevention", "restoration"}
    with app_client(ws) as c:
        r = c.post("/api/scenarios", json={"providers": rows})
    assert r.status_code == 200, r.text
    got = {(a["area_id"], a["family"]): a for a in r.json()["neighborhoods"]}
    want = {(a["area_id"], a["family"]): a for a in out["neighborhoods"]}
    assert got.keys() == want.keys()
    for key, a in want.items():
        assert got[key]["gap_after"] == a["gap_after"]
        assert got[key]["access_after"] == pytest.approx(a["access_after"])
