"""Privacy of sensitive counts: the suppression rule by hand, and the public answers
(hexbins, area profiles) checked against the workspace's calls counted a second way."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import shape

from safetygap.privacy import (
    DEFAULT_MIN_COUNT,
    finest_hex_size,
    hidden_cells,
    is_sensitive,
    shown,
)
from tests.conftest import app_client


def test_is_sensitive_by_category_and_call_type():
    cats = ["behavioral_crisis", "victimization", "victimization", "traffic",
            "domestic_violence", None, "behavioral_crisis_high_risk"]
    types = ["Person In Crisis", "Theft", "CSC - RAPE", "Crash", "Domestic", None,
             "Overdose"]
    assert is_sensitive(cats, types).tolist() == [True, False, True, False, True, False,
                                                  True]
    assert is_sensitive(["violence", "quality_of_life"]).tolist() == [False, False]


@pytest.mark.parametrize(("counts", "sensitive", "total_shown", "hidden"), [
    # 10 sensitive calls: hidden; 11: shown
    ([10, 11, 40], [10, 11, 0], False, [True, False, False]),
    # one hidden cell with a published total: the smallest other non-empty one goes too
    ([3, 50, 12, 0], [1, 0, 0, 0], True, [True, False, True, False]),
    # two hidden already: no complement needed
    ([3, 50, 2], [1, 0, 2], True, [True, False, True]),
    # small cells without a sensitive call are shown
    ([3, 2, 1], [0, 0, 0], True, [False, False, False]),
    # the only non-empty cell: nothing to pair it with
    ([4, 0], [4, 0], True, [True, False]),
])
def test_hidden_cells_by_hand(counts, sensitive, total_shown, hidden):
    got = hidden_cells(counts, sensitive, min_count=11, total_shown=total_shown)
    assert got.tolist() == hidden
    assert shown(counts, got) == [None if h else c for c, h in zip(counts, hidden,
                                                                    strict=True)]


def test_default_threshold_is_eleven():
    assert DEFAULT_MIN_COUNT == 11
    assert hidden_cells([10], [1]).tolist() == [True]
    assert hidden_cells([11], [1]).tolist() == [False]


def test_finest_hex_size_by_hand():
    """6 sensitive calls at (0, 0) and 6 at (250, 0): hexagon centres on the row y = 0 are
    sqrt(3)*s apart, so the two groups share a hexagon only when 250 m is nearer to the
    centre at 0 than to the one at sqrt(3)*s, i.e. sqrt(3)*s - 250 > 250: s > 144.3 m,
    and the row above (centres at y = 1.5 s) is farther. At 100 m they are apart (6 each,
    both hidden); at 150 m, 1.732*150 = 259.8 m, the centre at 259.8 is 9.8 m from the
    second group: apart; at 200 m (346.4) the second group is 96.4 m from it vs 250 m:
    apart; at 300 m (519.6): 269.6 m vs 250 m, together: 12 calls, shown."""
    x = np.array([0.0] * 6 + [250.0] * 6)
    y = np.zeros(12)
    assert finest_hex_size(x, y, np.ones(12, bool), min_count=11) == 300.0
    # 11 at one spot: shown at the finest size
    assert finest_hex_size(np.zeros(11), np.zeros(11), np.ones(11, bool)) == 100.0
    # no sensitive call: no floor
    assert finest_hex_size(x, y, np.zeros(12, bool)) == 100.0


# ----------------------------------------------------------------- public answers


@pytest.fixture(scope="module")
def public_client(api_workspace):
    """The tiny city served with the default threshold (11)."""
    with app_client(api_workspace, privacy_min_count=None) as c:
        yield c


@pytest.fixture(scope="module")
def public_demo(demo_workspace):
    """The small demo city served with the default threshold (11)."""
    with app_client(demo_workspace, privacy_min_count=None) as c:
        yield c


def test_tiny_profile_hides_sensitive_counts(public_client):
    """Neighborhood A has 3 behavioral-crisis calls (2 in 2023, 1 undated): all hidden;
    its total (3, all sensitive) too."""
    r = public_client.get("/api/neighborhoods/A")
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["calls"] is None and p["calls_by_year"] == {"2023": None, "unknown": None}
    [crisis] = p["calls_by_category"]
    assert crisis["category"] == "behavioral_crisis"
    assert crisis["calls"] is None and crisis["by_year"] == {"2023": None, "unknown": None}
    assert crisis["suppressed"] is True
    assert "fewer than 11" in p["privacy"]
    # B: 2 shootings (prevention, not sensitive): shown
    b = public_client.get("/api/neighborhoods/B").json()
    assert b["calls"] == 2 and b["calls_by_category"][0]["calls"] == 2


def test_tiny_hexbins_hidden_and_coarsened(public_client):
    r = public_client.get("/api/hexbins?family=response&size=100")
    assert r.status_code == 200, r.text
    fc = r.json()
    # 3 sensitive calls in all: no size gets half of them into an 11-call hexagon
    assert fc["size_m"] == 5000.0 and fc["requested_size_m"] == 100.0
    assert all(f["properties"]["calls"] is None for f in fc["features"])
    assert fc["hidden_hexagons"] == len(fc["features"])
    # one hidden hexagon: its total would reveal it
    assert fc["max_calls"] == 0 and fc["total_calls"] is None


def test_demo_hexbins_never_show_a_small_sensitive_cell(public_demo, demo_workspace):
    """Second method: the workspace's calls joined to the returned hexagons with
    geopandas.sjoin; a hexagon shown with fewer than 11 calls holds no sensitive call,
    and the shown counts match the join."""
    r = public_demo.get("/api/hexbins?family=response&size=100")
    assert r.status_code == 200, r.text
    fc = r.json()
    calls = gpd.read_parquet(demo_workspace / "calls.parquet",
                             columns=["status", "family", "category", "call_type",
                                      "geometry"])
    placed = calls[calls["status"].isin(["ok", "unparseable_date", "unknown_call_type"])
                   & (calls["family"] == "response")].to_crs("EPSG:4326")
    placed = placed.assign(sens=is_sensitive(placed["category"], placed["call_type"]))
    assert placed["sens"].any()
    hexes = gpd.GeoDataFrame(
        {"calls": [f["properties"]["calls"] for f in fc["features"]]},
        geometry=[shape(f["geometry"]) for f in fc["features"]], crs="EPSG:4326")
    joined = gpd.sjoin(placed, hexes, predicate="within")
    per = joined.groupby("index_right").agg(n=("sens", "size"), s=("sens", "sum"))
    per = per.join(hexes["calls"])
    shown_small = per[per["calls"].notna() & (per["n"] < 11)]
    assert (shown_small["s"] == 0).all()
    shown_cells = per[per["calls"].notna()]
    # a call on a hexagon's edge may fall either side of the 1e-6 degree rounded edge
    diff = shown_cells["calls"].astype(int) - shown_cells["n"]
    assert diff.abs().sum() <= 3, shown_cells[diff != 0]
    hidden = per[per["calls"].isna()]
    assert len(hidden) == fc["hidden_hexagons"] and len(hidden) != 1
    # at the size served, at least half of the sensitive calls are in shown hexagons
    assert per.loc[per["calls"].notna(), "s"].sum() * 2 >= placed["sens"].sum()


def test_demo_profiles_hide_small_sensitive_categories(public_demo, demo_workspace):
    calls = pd.read_parquet(demo_workspace / "calls.parquet",
                            columns=["status", "neighborhood_id", "category", "call_type"])
    calls = calls[calls["status"].isin(["ok", "unparseable_date", "unknown_call_type"])]
    calls = calls.assign(sens=is_sensitive(calls["category"], calls["call_type"]))
    per = calls.groupby(["neighborhood_id", "category"]).agg(n=("sens", "size"),
                                                             s=("sens", "sum"))
    small = per[(per["s"] > 0) & (per["n"] < 11)]
    assert len(small), "the demo city should have small sensitive cells"
    for nb_id in small.index.get_level_values(0).unique()[:5]:
        p = public_demo.get(f"/api/neighborhoods/{nb_id}").json()
        got = {c["category"]: c["calls"] for c in p["calls_by_category"]}
        for cat, row in per.loc[nb_id].iterrows():
            if row["s"] > 0 and row["n"] < 11:
                assert got[cat] is None, (nb_id, cat)
        n_hidden = sum(v is None for v in got.values())
        assert n_hidden != 1  # a lone hidden cell is paired with a complement
        for cat, v in got.items():
            if v is not None:
                assert v == per.loc[(nb_id, cat), "n"]
