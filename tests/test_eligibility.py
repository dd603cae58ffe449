"""Eligibility models (NICJR tiers, CAHOOTS, STAR, Albuquerque Community Safety): rule
files with sources, matched by the diversion rules' engine; counts per area and city."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from safetygap.diversion import load_rules
from safetygap.eligibility import (
    DEFAULT_MODEL,
    MODELS,
    OUT_OF_SCOPE,
    eligibility_counts,
    load_model,
)
from safetygap.errors import ValidationError
from safetygap.inputs import load_preset, read_calls
from safetygap.taxonomy import load_taxonomy


def _calls(names: list[str], agency: str = "POLICE") -> pd.DataFrame:
    calls = pd.DataFrame({"call_type": names, "agency": agency})
    calls["category"] = load_taxonomy().classify(calls["call_type"])["category"].to_numpy()
    return calls


@pytest.mark.parametrize("name", MODELS)
def test_packaged_models_load_with_a_source_for_every_rule(name: str) -> None:
    m = load_model(name)
    assert m.name == name and m.rules and m.tiers
    assert any(t.eligible for t in m.tiers) and not all(t.eligible for t in m.tiers)
    for r in m.rules:
        assert r.source in m.sources and m.sources[r.source].strip(), r.id
        assert r.tier in {t.id for t in m.tiers}
    assert m.default_source in m.sources
    assert m.to_dict()["rules"][0]["reference"] == m.sources[m.rules[0].source]
    assert load_model(None).name == DEFAULT_MODEL == "nicjr"


# By hand, from each model file's rules and the default taxonomy's categories:
# name                            category                nicjr   cahoots star albuq.
HAND = [
    ("Person In Crisis (P)",          "behavioral_crisis",    "tier2", True, True, True),
    ("Down Outside-One w/Fire (PE)",  "behavioral_crisis",    "tier2", False, False, False),
    ("Death Notification",            "behavioral_crisis",    "tier2", True, False, True),
    ("Unwanted Person (P)",           "quality_of_life",      "tier2", False, True, False),
    ("Neighbor Trouble (P)",          "quality_of_life",      "tier2", True, False, False),
    ("Disturbance (P)",               "quality_of_life",      "tier2", False, True, True),
    ("Narcotics (Drug) Activity (P)", "quality_of_life",      "tier3", False, True, False),
    ("Loud Party (P)",                "quality_of_life",      "tier1", False, False, False),
    ("Needle Pickup",                 "quality_of_life",      "tier1", False, True, True),
    ("Parking Problem (P)",           "traffic",              "tier1", False, False, False),
    ("Hit & Run (P)",                 "traffic",              "tier3", False, False, False),
    ("Animal Bite (P)",               "animal",               "tier2", False, False, False),
    ("Animal Call (P)",               "animal",               "tier1", False, False, False),
    ("Theft - Report Only (P)",       "report_only_property", "tier1", False, False, False),
    ("Assault Report Only (P)",       "report_only_person",   "tier3", False, False, False),
    ("Overdose (PE)",                 "behavioral_crisis_high_risk", "tier3", False, False,
     False),
    ("Shooting (P)",                  "violence",             "tier4", False, False, False),
    ("Domestic (P)",                  "domestic_violence",    "tier4", False, False, False),
    ("Fireworks Galore (P)",          "unknown",              "tier4", False, False, False),
]


def test_models_by_hand() -> None:
    calls = _calls([h[0] for h in HAND])
    assert calls["category"].tolist() == [h[1] for h in HAND]
    nicjr = load_model("nicjr").assess(calls)
    assert nicjr["eligibility_tier"].astype(str).tolist() == [h[2] for h in HAND]
    assert nicjr["eligible"].tolist() == [h[2] in ("tier1", "tier2") for h in HAND]
    for col, name in ((3, "cahoots"), (4, "star"), (5, "albuquerque")):
        got = load_model(name).assess(calls)["eligible"].tolist()
        assert got == [h[col] for h in HAND], name
    # the unknown type falls to the default, named as such
    assert nicjr["eligibility_rule"].astype(str).iloc[-1] == "default"


def test_fire_calls_are_outside_every_model() -> None:
    calls = _calls(["Person In Crisis (P)", "Person In Crisis (P)"])
    calls["channel"] = ["fire_ems", "police"]
    out = load_model("cahoots").assess(calls)
    assert out["eligibility_tier"].astype(str).tolist() == [OUT_OF_SCOPE, "eligible"]
    assert out["eligible"].tolist() == [False, True]


def test_thirteen_real_rows(shared_data: Path) -> None:
    path = shared_data / "api-samples" / "incidents_reported_911_sample_13rows.csv"
    calls = read_calls(path, columns=load_preset("minneapolis-911")).frame
    calls["category"] = load_taxonomy().classify(calls["call_type"])["category"].to_numpy()
    calls = pd.concat([calls, load_rules().assign(calls)], axis=1)
    # rows: 0 Unknown Trouble, 1 Property Damage Accident, 2-3 Unwanted Person, 4 Crim Sex
    # Conduct/Report, 5-8 FIRE, 9-10 BCR welfare checks, 11 Miscellaneous, 12 Auto Theft
    # in Progress
    tiers = load_model("nicjr").assess(calls)["eligibility_tier"].astype(str).tolist()
    assert tiers == ["tier3", "tier1", "tier2", "tier2", "tier3", *[OUT_OF_SCOPE] * 4,
                     "tier2", "tier2", "tier3", "tier4"]
    eligible = {m: [i for i, e in enumerate(load_model(m).assess(calls)["eligible"]) if e]
                for m in MODELS}
    assert eligible == {"nicjr": [1, 2, 3, 9, 10], "cahoots": [9, 10],
                        "star": [2, 3, 9, 10], "albuquerque": [9, 10]}
    # city counts under NICJR: 9 calls in the denominator (fire left out), 2 diverted (BCR),
    # 5 eligible, of which 2 diverted and 3 not (the crash and the two unwanted persons)
    calls["eligible"] = load_model("nicjr").assess(calls)["eligible"]
    c = eligibility_counts(calls).loc["city"].to_dict()
    assert c == {"base": 9, "diverted": 2, "eligible": 5, "eligible_diverted": 2,
                 "eligible_not_diverted": 3, "diverted_not_eligible": 0}


def test_counts_per_area_by_hand() -> None:
    calls = pd.DataFrame({
        "area": ["A", "A", "A", "B", "B", None],
        "diversion_base": [True, True, False, True, True, True],
        "diverted": [True, False, False, True, False, False],
        "eligible": [True, True, True, False, False, True],
    })
    out = eligibility_counts(calls, by="area")
    # A: base 2 (the third is fire), diverted 1 eligible, 1 eligible not diverted;
    # B: base 2, 1 diverted but not eligible; the call with no area is left out
    assert out.loc["A"].tolist() == [2, 1, 2, 1, 1, 0]
    assert out.loc["B"].tolist() == [2, 1, 0, 0, 0, 1]
    assert list(out.index) == ["A", "B"]


def test_model_files_are_validated(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text("""
[meta]
name = "m"
hours = "whenever"
[sources]
s = "x"
[tiers.yes]
label = "yes"
eligible = "true"
[default]
tier = "maybe"
source = "s"
[[rules]]
id = "r"
tier = "yes"
problem = ["A"]
source = "nope"
colour = "red"
""", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_model(bad)
    text = str(err.value)
    for part in ("meta.hours", "'whenever'", "tiers.yes.eligible must be true or false",
                 "default.tier: not a tier", "'maybe'", "source: not a key of [sources]",
                 "unknown key 'colour'"):
        assert part in text, part
    with pytest.raises(ValidationError, match=r"unknown model.*cahoots"):
        load_model("nope")
