"""`providers merge`: duplicates on a hand-made case (positions in metres, name scores
worked out below), the rule that resolves them, the review file and the command."""

from __future__ import annotations

import pandas as pd
import pytest
from pyproj import Transformer
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.errors import ValidationError
from safetygap.inputs.providers import read_providers
from safetygap.inventory.merge import (
    DEFAULT_DISTANCE_M,
    DEFAULT_NAME_SCORE,
    MergeRule,
    merge_sources,
    read_source,
)
from safetygap.settings import Settings
from safetygap.taxonomy import load_taxonomy

TO_LL = Transformer.from_crs("EPSG:26915", "EPSG:4326", always_xy=True)
X0, Y0 = 478_000.0, 4_980_000.0


def ll(x, y):
    lon, lat = TO_LL.transform(X0 + x, Y0 + y)
    return round(lat, 7), round(lon, 7)


def rows(specs):
    out = []
    for spec in specs:
        rec = dict(spec)
        xy = rec.pop("xy", None)
        rec["latitude"], rec["longitude"] = ll(*xy) if xy else ("", "")
        rec.setdefault("capacity", 2)
        out.append(rec)
    return pd.DataFrame(out).fillna("")


# Names scored with rapidfuzz token_set_ratio after normalize_name:
#   "cedar youth center" / "cedar youth centre" 94.4 (>= 90: duplicates)
#   "cedar youth center" or "centre" / "cedar youth club" 81.5 (a near miss: 70..90)
#   "riverside victim advocates" / "... (riverside legal aid)" 100 (subset of words)
#   "cedar youth club" or "center" / "northside teen lab" < 40
HAND = rows([
    {"provider_id": "H1", "name": "Cedar Youth Center", "service_type": "youth_program",
     "xy": (0, 0), "opening_hours": "Mo-Fr 15:00-20:00", "last_verified": "2023-01-01"},
    {"provider_id": "H2", "name": "Riverside Victim Advocates",
     "service_type": "victim_services", "xy": (1000, 0), "last_verified": "2022-06-01"},
    {"provider_id": "H3", "name": "Lake Street Peacekeepers",
     "service_type": "violence_interruption", "serves": "ward:1"},
])
OSM = rows([
    {"provider_id": "osm:node/1", "name": "Cedar Youth Centre", "service_type": "youth_program",
     "xy": (60, 0), "phone": "612-555-0101", "website": "https://cedar.example.org",
     "opening_hours": "Mo-Su 09:00-21:00", "last_verified": "2024-03-01", "osm_id": "node/1"},
    {"provider_id": "osm:node/2", "name": "Cedar Community Center",  # another type
     "service_type": "community_center", "xy": (10, 0), "osm_id": "node/2"},
    {"provider_id": "osm:node/3", "name": "Cedar Youth Center",  # 190 m from node/1
     "service_type": "youth_program", "xy": (250, 0), "osm_id": "node/3"},
    {"provider_id": "osm:node/4", "name": "Northside Teen Lab",  # near, other name
     "service_type": "youth_program", "xy": (0, 50), "osm_id": "node/4"},
    {"provider_id": "osm:node/5", "name": "Cedar Youth Club",  # near, similar name
     "service_type": "youth_program", "xy": (30, 30), "osm_id": "node/5"},
])
LIST = rows([
    {"name": "Riverside Victim Advocates (Riverside Legal Aid)",
     "service_type": "victim_services", "xy": (1020, 10), "phone": "612 555 0199",
     "last_verified": "2025-01-01", "address": "1020 River Rd"},
    {"name": "Lake Street Peacekeepers", "service_type": "violence_interruption",
     "serves": "ward:1", "last_verified": "2024-05-01", "languages": "English; Somali"},
    {"name": "Cedar Youth Center", "service_type": "youth_program", "xy": (-60, 0),
     "eligibility": "ages 12-18"},  # 60 m from H1, 120 m from node/1
])


@pytest.fixture
def sources(tmp_path):
    tax = load_taxonomy(None)
    out = []
    for label, frame in (("hand", HAND), ("osm", OSM), ("list", LIST)):
        path = tmp_path / f"{label}.csv"
        frame.to_csv(path, index=False)
        out.append(read_source(path, taxonomy=tax))
    return out


def by_id(frame):
    return frame.set_index("provider_id")


def test_duplicates_found_and_kept_first(sources):
    res = merge_sources(sources)
    m = by_id(res.merged)
    # groups {H1, node/1, list-3} (list-3 joins through H1: 120 m from node/1),
    # {H2, list-1}, {H3, list-2} (no point: the same areas served)
    assert list(m.index) == ["H1", "H2", "H3", "osm:node/2", "osm:node/3", "osm:node/4",
                             "osm:node/5"]
    assert m.loc["H1", "merged_from"] == "osm:node/1; list-3"
    assert m.loc["H2", "merged_from"] == "list-1"
    assert m.loc["H3", "merged_from"] == "list-2"
    # the kept row keeps its own fields and fills its empty ones in source order
    assert m.loc["H1", "opening_hours"] == "Mo-Fr 15:00-20:00"
    assert m.loc["H1", "phone"] == "612-555-0101"
    assert m.loc["H1", "website"] == "https://cedar.example.org"
    assert m.loc["H1", "eligibility"] == "ages 12-18"
    assert m.loc["H1", "osm_id"] == "node/1"
    assert m.loc["H1", "latitude"] == pytest.approx(ll(0, 0)[0])
    assert m.loc["H3", "languages"] == "English; Somali"
    assert m.loc["H2", "source"] == "hand" and m.loc["osm:node/5", "source"] == "osm"
    assert res.counts["duplicate_groups"] == 3 and res.counts["merged_away"] == 4
    assert res.counts["sources"] == {"hand": {"rows": 3, "kept": 3, "merged_away": 0},
                                     "osm": {"rows": 5, "kept": 4, "merged_away": 1},
                                     "list": {"rows": 3, "kept": 0, "merged_away": 3}}


def test_review_lists_groups_and_near_misses(sources):
    rev = merge_sources(sources).review
    groups = rev[~rev["group"].str.startswith("check")]
    assert list(zip(groups["group"], groups["provider_id"], groups["decision"],
                    strict=True)) == [
        ("1", "H1", "kept"), ("1", "osm:node/1", "merged into H1"),
        ("1", "list-3", "merged into H1"), ("2", "H2", "kept"),
        ("2", "list-1", "merged into H2"), ("3", "H3", "kept"), ("3", "list-2", "merged into H3")]
    g = groups.set_index("provider_id")
    assert g.loc["osm:node/1", "distance_m"] == pytest.approx(60.0, abs=0.5)
    assert g.loc["osm:node/1", "name_score"] == pytest.approx(94.4, abs=0.1)
    assert g.loc["list-1", "distance_m"] == pytest.approx((20**2 + 10**2) ** 0.5, abs=0.5)
    assert g.loc["list-1", "name_score"] == 100
    assert "phone from osm:node/1" in g.loc["H1", "fields_filled"]
    # Cedar Youth Club is 42 m from H1 and node/1 and 95 m from list-3, score 81.5 each
    checks = rev[rev["group"].str.startswith("check")]
    pairs = {tuple(sorted(c["provider_id"])) for _, c in checks.groupby("group")}
    assert pairs == {("H1", "osm:node/5"), ("osm:node/1", "osm:node/5"),
                     ("list-3", "osm:node/5")}
    assert checks["decision"].str.startswith("not merged: names score 81.5 < 90").all()
    assert checks["distance_m"].max() == pytest.approx((90**2 + 30**2) ** 0.5, abs=0.5)


def test_keep_newest_and_none(sources):
    newest = by_id(merge_sources(sources, rule=MergeRule(keep="newest")).merged)
    # node/1 2024-03 > H1 2023-01 > list-3 never; list-1 2025 > H2 2022; list-2 > H3 never
    assert {"osm:node/1", "list-1", "list-2"} <= set(newest.index)
    assert not {"H1", "H2", "H3", "list-3"} & set(newest.index)
    assert newest.loc["osm:node/1", "opening_hours"] == "Mo-Su 09:00-21:00"
    assert newest.loc["osm:node/1", "merged_from"] == "H1; list-3"
    none = merge_sources(sources, rule=MergeRule(keep="none"))
    assert len(none.merged) == 11 and none.counts["duplicate_groups"] == 3
    assert (none.merged["merged_from"] == "").all()


def test_settings_change_what_is_a_duplicate(sources):
    # 50 m: node/1 and list-3 (60 m) are no longer duplicates of H1; list-1 (22 m) still is
    near = merge_sources(sources, rule=MergeRule(distance_m=50)).counts
    assert near["duplicate_groups"] == 2 and near["merged_away"] == 2
    # score 80: Cedar Youth Club joins the Cedar Youth Center group
    loose = by_id(merge_sources(sources, rule=MergeRule(name_score=80)).merged)
    assert loose.loc["H1", "merged_from"] == "osm:node/1; osm:node/5; list-3"
    assert Settings().merge_distance_m == DEFAULT_DISTANCE_M
    assert Settings().merge_name_score == DEFAULT_NAME_SCORE
    with pytest.raises(ValidationError) as err:
        merge_sources(sources, rule=MergeRule(distance_m=-1, name_score=101, keep="last"))
    assert "3 problems" in str(err.value)


def test_ids_given_twice_are_prefixed(tmp_path):
    tax = load_taxonomy(None)
    a = rows([{"provider_id": "P1", "name": "A", "service_type": "reentry", "xy": (0, 0)}])
    b = rows([{"provider_id": "P1", "name": "B", "service_type": "reentry", "xy": (5000, 0)}])
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    res = merge_sources([read_source(tmp_path / "a.csv", taxonomy=tax),
                         read_source(tmp_path / "b.csv", taxonomy=tax, label="second")])
    assert list(res.merged["provider_id"]) == ["a:P1", "second:P1"]
    assert list(res.merged["source"]) == ["a", "second"]
    with pytest.raises(ValidationError, match="same label"):
        merge_sources([read_source(tmp_path / "a.csv", taxonomy=tax),
                       read_source(tmp_path / "b.csv", taxonomy=tax, label="a")])


def test_merge_command(sources, tmp_path):
    out = tmp_path / "inventory.csv"
    res = CliRunner().invoke(app, [
        "providers", "merge", str(tmp_path / "hand.csv"), f"osm={tmp_path / 'osm.csv'}",
        f"geocoded list={tmp_path / 'list.csv'}", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert ("rule: duplicates: same service type, points at most 100 m apart" in res.output
            and "kept: the row of the source listed first" in res.output)
    assert "wrote 7 providers from 11 rows" in res.output
    assert "3 groups of duplicates (4 rows merged away), 3 near misses" in res.output
    merged = pd.read_csv(out, keep_default_na=False)
    assert len(merged) == 7
    assert sorted(set(merged["source"])) == ["hand", "osm"]
    review = pd.read_csv(tmp_path / "inventory.duplicates.csv")
    assert len(review) == 7 + 6
    assert set(review.loc[review["provider_id"].str.startswith("geocoded-list-"),
                          "source"]) == {"geocoded list"}
    # the merged file is a provider file analyze reads
    back = read_providers(out, taxonomy=load_taxonomy(None))
    assert len(back.frame) == 7
    res = CliRunner().invoke(app, ["providers", "merge", str(tmp_path / "hand.csv"),
                                   "--out", str(out), "--keep", "oldest"])
    assert res.exit_code != 0 and "unknown rule" in res.output


def test_name_scores_quoted_in_the_docs():
    """docs/PROVIDERS.md quotes these scores of the default scorer."""
    from pathlib import Path

    from rapidfuzz import fuzz

    from safetygap.boundaries.names import normalize_name

    doc = (Path(__file__).resolve().parents[1] / "docs" / "PROVIDERS.md").read_text()
    for a, b, score in (("Cedar Youth Center", "Cedar Youth Centre", 94),
                        ("North Youth Center", "South Youth Center", 89),
                        ("Cedar Youth Center", "Cedar Youth Center - Main Site", 100)):
        got = fuzz.token_set_ratio(normalize_name(a), normalize_name(b))
        assert round(got) == score
        assert f"{score}" in doc and a in doc
    assert "at least 90 of 100" in doc and DEFAULT_NAME_SCORE == 90
