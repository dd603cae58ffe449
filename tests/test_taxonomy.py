"""Tests for the call taxonomy (safetygap.taxonomy and the packaged default)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetygap import FAMILIES
from safetygap.errors import ValidationError
from safetygap.taxonomy import (
    DEFAULT_SOURCE,
    Taxonomy,
    load_taxonomy,
    normalize_call_type,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "minneapolis"


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy()


# -- normalisation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Narcotics (Drug) Activity (P)", "narcotics (drug) activity"),
        ("Theft (P)~PD", "theft"),
        ("Unknown Wireless/Cell Phone(P)", "unknown wireless/cell phone"),
        ("AUTOMOBILE THEFT              ", "automobile theft"),
        ("Fall (E)~EMS", "fall"),
        ("Shooting (PFE)", "shooting"),
        ("Personal Injury Accident (FE)", "personal injury accident"),
        ("Outside Fire (F)", "outside fire"),
        ("Down Outside-One (PE)", "down outside-one"),
        ("Damage Property-In Progress(P)", "damage property-in progress"),
        ("Behavioral Crisis Welfare Ck", "behavioral crisis welfare ck"),
        ("Assault in Progress (P) ~PD", "assault in progress"),
        ("Theft (P) (P)", "theft"),
        ("Check  the\tWelfare (BCR)", "check the welfare"),
        ("theft (p)", "theft"),
        ("MURDER (GENERAL)", "murder (general)"),
        ("Something (ABCDE)", "something (abcde)"),
        ("   Disturbance (P)   ", "disturbance"),
        ("", ""),
        ("   ", ""),
        ("\t\n", ""),
        ("(P)", ""),
    ],
)
def test_normalize_call_type(raw: str, expected: str) -> None:
    assert normalize_call_type(raw) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_call_type(text)
    assert normalize_call_type(once) == once


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=8), max_size=6),
       st.sampled_from(["", " ", "(P)", " (PE)", "~PD", "(FE)~EMS", "  "]))
def test_normalize_ignores_suffixes(words: list[str], suffix: str) -> None:
    base = " ".join(words)
    assert normalize_call_type(base + suffix) == normalize_call_type(
        normalize_call_type(base) + suffix
    )


# -- classify -----------------------------------------------------------------


def test_classify_hand_worked(tax: Taxonomy) -> None:
    calls = pd.Series(
        [
            "Theft (P)~PD",
            None,
            "Person In Crisis (P)",
            "no such call",
            np.nan,
            "CHECK THE WELFARE",
            "Unknown Wireless/Cell Phone(P)",
            "",
            "Shooting (PFE)",
            "Behavioral Crisis Welfare Ck",
            "AUTOMOBILE THEFT              ",
            "F Alarm-Commercial (F)",
        ],
        index=[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21],
    )
    out = tax.classify(calls)
    expected = pd.DataFrame(
        {
            "category": [
                "victimization", "unknown", "behavioral_crisis", "unknown", "unknown",
                "behavioral_crisis", "proactive_admin", "unknown", "violence",
                "behavioral_crisis", "victimization", "medical_fire",
            ],
            "family": [
                "restoration", "none", "response", "none", "none", "response", "none",
                "none", "prevention", "response", "restoration", "none",
            ],
            "eligible": [
                False, False, True, False, False, True, False, False, False, True,
                False, False,
            ],
            "known": [
                True, False, True, False, False, True, True, False, True, True, True, True,
            ],
        },
        index=calls.index,
    )
    assert list(out.columns) == ["category", "family", "eligible", "known", "coverable"]
    # coverable: a service type with a place handles the category (none for unknown,
    # for fire/EMS and admin calls)
    assert out["coverable"].tolist() == [
        True, False, True, False, False, True, False, False, True, True, True, False]
    assert out.index.equals(calls.index)
    assert out["category"].tolist() == expected["category"].tolist()
    assert out["family"].tolist() == expected["family"].tolist()
    assert out["eligible"].dtype == bool and out["known"].dtype == bool
    assert out["eligible"].tolist() == expected["eligible"].tolist()
    assert out["known"].tolist() == expected["known"].tolist()


def test_classify_empty_and_categorical_and_string_dtype(tax: Taxonomy) -> None:
    empty = tax.classify(pd.Series([], dtype=object))
    assert list(empty.columns) == ["category", "family", "eligible", "known", "coverable"]
    assert len(empty) == 0
    values = ["Fight (P)", "Heart (FE)", None, "Fight (P)"]
    for series in (
        pd.Series(values, dtype="category"),
        pd.Series(values, dtype="string"),
        pd.Series(values, dtype=object),
    ):
        out = tax.classify(series)
        assert out["category"].tolist() == ["violence", "medical_fire", "unknown", "violence"]
        assert out["known"].tolist() == [True, True, False, True]


def test_classify_non_string_values(tax: Taxonomy) -> None:
    out = tax.classify(pd.Series([1, 2.5, pd.NA, "Fight"], dtype=object))
    assert out["category"].tolist() == ["unknown", "unknown", "unknown", "violence"]


def test_exact_name_beats_prefix_and_longest_prefix_wins(tmp_path: Path) -> None:
    path = tmp_path / "prefix.toml"
    path.write_text(
        _toml(
            categories="""
[categories.a]
family = "response"
eligible = true
types = ["Smoke Alarm Test"]
prefixes = ["Smoke*"]

[categories.b]
family = "none"
eligible = false
types = ["Other"]
prefixes = ["Smoke Alarm*"]
"""
        )
    )
    t = load_taxonomy(path)
    out = t.classify(pd.Series(["Smoke Alarm Test (F)", "Smoke Alarm-Res", "Smoke-Inside",
                                "Smok"]))
    assert out["category"].tolist() == ["a", "b", "a", "unknown"]


@pytest.mark.slow
def test_classify_millions_of_rows(tax: Taxonomy) -> None:
    """Millions of rows of repeated names classify like the names one by one."""
    names = sorted(tax.type_to_category)[:200]
    rng = np.random.default_rng(0)
    big = pd.Series(rng.choice(np.array([*names, "zzz (P)"], dtype=object), 3_000_000))
    out = tax.classify(big)
    assert len(out) == len(big)
    assert not out["known"].iloc[np.flatnonzero(big.to_numpy() == "zzz (P)")].any()
    one = tax.classify(pd.Series([*names, "zzz (P)"]))
    expected = dict(zip([*names, "zzz (P)"], one["category"], strict=True))
    assert (out["category"].to_numpy() == big.map(expected).to_numpy()).all()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.just(float("nan")),
            st.text(max_size=20),
            st.sampled_from(["Theft (P)", "Heart (FE)", "Fight", "Disturbance (P)~PD"]),
        ),
        max_size=30,
    )
)
def test_classify_one_row_per_input_row(values: list[object]) -> None:
    tax = _default()
    series = pd.Series(values, dtype=object, index=range(100, 100 + len(values)))
    out = tax.classify(series)
    assert len(out) == len(series)
    assert out.index.equals(series.index)
    assert (out["known"] == (out["category"] != "unknown")).all()
    assert not out.loc[~out["known"], "eligible"].any()
    assert (out.loc[~out["known"], "family"] == "none").all()


_DEFAULT: list[Taxonomy] = []


def _default() -> Taxonomy:
    if not _DEFAULT:
        _DEFAULT.append(load_taxonomy())
    return _DEFAULT[0]


# -- agencies ------------------------------------------------------------------


def test_diverted(tax: Taxonomy) -> None:
    agencies = pd.Series(
        ["POLICE", " bcr ", "Fire", "traffic", "ANIMAL", "311", "sheriff", None, np.nan, ""],
        index=list("abcdefghij"),
    )
    out = tax.diverted(agencies)
    assert list(out.columns) == ["diverted", "agency_known"]
    assert out.index.equals(agencies.index)
    assert out["diverted"].tolist() == [
        False, True, False, True, True, True, False, False, False, False,
    ]
    assert out["agency_known"].tolist() == [
        True, True, True, True, True, True, False, False, False, False,
    ]
    assert out["diverted"].dtype == bool and out["agency_known"].dtype == bool


def test_default_agencies(tax: Taxonomy) -> None:
    expected = {
        "POLICE": (False, "police"),
        "FIRE": (False, "fire/EMS"),
        "BCR": (True, "behavioral crisis response"),
        "TRAFFIC": (True, "traffic control"),
        "ANIMAL": (True, "animal control"),
        "311": (True, "311/online reporting"),
    }
    assert {k: (a.diverted, a.service) for k, a in tax.agencies.items()} == expected


# -- the packaged default -----------------------------------------------------

REQUIRED_CATEGORIES = {
    "behavioral_crisis": ("response", True),
    "behavioral_crisis_high_risk": ("response", False),
    "traffic": ("response", True),
    "traffic_injury": ("response", False),
    "animal": ("response", True),
    "report_only_property": ("response", True),
    "report_only_person": ("restoration", False),
    "quality_of_life": ("prevention", True),
    "violence": ("prevention", False),
    "domestic_violence": ("restoration", False),
    "victimization": ("restoration", False),
    "medical_fire": ("none", False),
    "alarm": ("none", False),
    "proactive_admin": ("none", False),
}

REQUIRED_SERVICES = {
    "police_station": ("response", 5000),
    "fire_station": ("response", 3000),
    "hospital": ("response", 8000),
    "bcr_team": ("response", 6000),
    "traffic_control": ("response", 8000),
    "animal_control": ("response", 10000),
    "online_311": ("response", 0),  # placeless: no catchment
    "violence_interruption": ("prevention", 1500),
    "youth_program": ("prevention", 1200),
    "community_center": ("prevention", 1600),
    "victim_services": ("restoration", 4000),
    "restorative_justice": ("restoration", 4000),
    "reentry": ("restoration", 4000),
}

# The names the synthetic demo city uses, with the category each is meant for.
DEMO_NAMES = {
    "Behavioral Crisis Welfare Ck": "behavioral_crisis",
    "Person In Crisis (P)": "behavioral_crisis",
    "Check the Welfare (P)": "behavioral_crisis",
    "Emotionally Disturb Person (P)": "behavioral_crisis",
    "Drunk/Intoxicated Person (P)": "behavioral_crisis",
    "Down Outside-One (PE)": "behavioral_crisis",
    "Attempted Suicide (P)": "behavioral_crisis_high_risk",
    "Overdose (PE)": "behavioral_crisis_high_risk",
    "Property Damage Accident (P)": "traffic",
    "Parking Problem (P)": "traffic",
    "Road Hazard (P)": "traffic",
    "Personal Injury Accident (PE)": "traffic_injury",
    "Hit & Run (P)": "traffic",
    "Animal Call (P)": "animal",
    "Aggressive Dog (P)": "animal",
    "Animal Bite (P)": "animal",
    "Theft - Report Only (P)": "report_only_property",
    "Damage Property-Rpt Only (P)": "report_only_property",
    "Burglary Dwlng - Report (P)": "report_only_property",
    "Assault Report Only (P)": "report_only_person",
    "Domestic Abuse Report Only (P)": "report_only_person",
    "Unwanted Person (P)": "quality_of_life",
    "Disturbance (P)": "quality_of_life",
    "Music-Loud (P)": "quality_of_life",
    "Loud Party (P)": "quality_of_life",
    "Neighbor Trouble (P)": "quality_of_life",
    "Narcotics (Drug) Activity (P)": "quality_of_life",
    "Shooting (P)": "violence",
    "Sound of Shots Fired (P)": "violence",
    "Fight (P)": "violence",
    "Assault in Progress (P)": "violence",
    "Person with a Gun (P)": "violence",
    "Robbery of Person (P)": "violence",
    "Domestic (P)": "domestic_violence",
    "Domestic Abuse-In Progress (P)": "domestic_violence",
    "Theft (P)": "victimization",
    "Burglary Dwelling (P)": "victimization",
    "Auto Theft in Progress (P)": "victimization",
    "Crim Sex Conduct (P)": "victimization",
    "Shortness of Breath (FE)": "medical_fire",
    "Heart (FE)": "medical_fire",
    "Unconscious (FE)": "medical_fire",
    "Outside Fire (FE)": "medical_fire",
    "Audible Business Alarm (P)": "alarm",
    "Silent Alarm (P)": "alarm",
    "Suspicious Person (P)": "proactive_admin",
    "Suspicious Vehicle (P)": "proactive_admin",
    "Unknown Trouble (P)": "proactive_admin",
    "Miscellaneous (P)": "proactive_admin",
    "Unknown Wireless/Cell Phone(P)": "proactive_admin",
    "Receive Information (P)": "proactive_admin",
}


def test_default_metadata(tax: Taxonomy) -> None:
    assert tax.name == "safetygap-default"
    assert tax.version == "2"
    assert tax.source == DEFAULT_SOURCE
    assert len(tax.sources) >= 5
    joined = " ".join(tax.sources)
    for program in ("STAR", "HEART", "CAHOOTS", "Minneapolis"):
        assert program in joined


def test_default_categories(tax: Taxonomy) -> None:
    assert {n: (c.family, c.eligible) for n, c in tax.categories.items()} == REQUIRED_CATEGORIES
    used = set(tax.type_to_category.values())
    assert used == set(REQUIRED_CATEGORIES), "every category needs at least one type"
    for category in tax.categories.values():
        assert category.description


def test_default_service_types(tax: Taxonomy) -> None:
    got = {n: (s.family, s.catchment_m) for n, s in tax.service_types.items()}
    assert got == {n: (f, float(m)) for n, (f, m) in REQUIRED_SERVICES.items()}
    assert all(s.family in FAMILIES for s in tax.service_types.values())
    assert all(isinstance(s.catchment_m, float) for s in tax.service_types.values())


@pytest.mark.parametrize(("name", "category"), sorted(DEMO_NAMES.items()))
def test_demo_city_names(tax: Taxonomy, name: str, category: str) -> None:
    assert tax.category_of(name) == category


def test_demo_city_names_vectorised(tax: Taxonomy) -> None:
    out = tax.classify(pd.Series(list(DEMO_NAMES)))
    assert out["known"].all()
    assert out["category"].tolist() == list(DEMO_NAMES.values())


def test_checksum_and_to_dict(tax: Taxonomy, tmp_path: Path) -> None:
    again = load_taxonomy()
    assert tax.checksum() == again.checksum()
    assert len(tax.checksum()) == 64
    d = tax.to_dict()
    text = json.dumps(d)
    assert json.loads(text) == d
    assert d["checksum"] == tax.checksum()
    assert d["source"] == DEFAULT_SOURCE
    assert set(d["categories"]) == set(REQUIRED_CATEGORIES)
    assert "theft" in d["categories"]["victimization"]["types"]
    # the same content at another path has the same checksum; a change alters it
    packaged = Path(__file__).resolve().parents[1] / "safetygap" / "data" / "taxonomy.toml"
    copy = tmp_path / "copy.toml"
    copy.write_text(packaged.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_taxonomy(copy).checksum() == tax.checksum()
    changed = tmp_path / "changed.toml"
    text = packaged.read_text(encoding="utf-8")
    changed.write_text(text.replace("catchment_m = 1500.0", "catchment_m = 1600.0"),
                       encoding="utf-8")
    assert load_taxonomy(changed).checksum() != tax.checksum()


# -- real Minneapolis data -------------------------------------------------------

needs_data = pytest.mark.skipif(
    not DATA.is_dir(),
    reason=f"real-data test: {DATA} (../shared/data/minneapolis next to the repo) is absent",
)


@pytest.mark.realdata
@needs_data
def test_every_police_incident_description_is_known(tax: Taxonomy) -> None:
    csv = pd.read_csv(DATA / "incidents" / "Police_Incidents_2021_Jan-May.csv",
                      usecols=["description"], dtype=str, encoding="utf-8-sig")
    js = pd.read_json(DATA / "incidents" / "Police_Incidents_2020_to_2021_reduced.json")
    for frame in (csv, js):
        descriptions = frame["description"].dropna()
        out = tax.classify(descriptions)
        unknown = sorted(set(descriptions[~out["known"]]))
        assert not unknown, f"unmapped descriptions: {unknown}"


def _call_type_names(table: pd.DataFrame) -> set[str]:
    """Distinct normalised call-type names from the 911 and incidents rows.

    Rows that are not call types are left out: the three ``Agency_Type=...``
    rows of the 911 layer (counts of calls per agency). The 911 layer's
    wildcard name stems (``Overdose*``, ``F Alarm*`` ...) are counted with the
    ``*`` removed. Incidents rows give both the offense code (``code_or_text``)
    and, where the row is a code/description pair, the description.
    """
    rows = table[table["source_layer"].isin(["911", "incidents"])]
    names: set[str] = set()
    columns = ["source_layer", "code_or_text", "description"]
    for layer, code, description in rows[columns].itertuples(index=False):
        if code.startswith("Agency_Type="):
            continue
        names.add(normalize_call_type(code.replace("*", "")))
        if layer == "incidents" and not description.startswith(
            "Police_Incidents description only"
        ):
            names.add(normalize_call_type(description))
    names.discard("")
    return names


@pytest.mark.realdata
@needs_data
def test_coverage_of_minneapolis_call_types(tax: Taxonomy) -> None:
    table = pd.read_csv(DATA / "call-types" / "mpls_call_types.csv", dtype=str)
    names = _call_type_names(table)
    assert len(names) > 100
    known = {n for n in names if tax.category_of(n) != "unknown"}
    coverage = len(known) / len(names)
    missing = sorted(names - known)
    assert coverage >= 0.90, f"coverage {coverage:.1%}; unmapped: {missing}"
    # all the Police_Incidents names (codes and descriptions) are mapped
    incidents = _call_type_names(table[table["source_layer"] == "incidents"])
    assert {n for n in incidents if tax.category_of(n) == "unknown"} == set()


# -- validation ----------------------------------------------------------------

_AGENCIES = """
[agencies.POLICE]
diverted = false
service = "police"
"""

_SERVICES = """
[service_types.bcr_team]
family = "response"
catchment_m = 6000.0
description = "BCR"
"""

_CATEGORIES = """
[categories.crisis]
family = "response"
eligible = true
description = "crisis"
types = ["Person In Crisis (P)"]
"""


def _toml(categories: str = _CATEGORIES, agencies: str = _AGENCIES,
          services: str = _SERVICES, meta: str = '[meta]\nname = "t"\nversion = "2"\n') -> str:
    return "\n".join([meta, categories, agencies, services])


def _error(tmp_path: Path, text: str, name: str = "bad.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_taxonomy(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_minimal_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(_toml(), encoding="utf-8")
    t = load_taxonomy(path)
    assert t.name == "t" and t.version == "2" and t.source == str(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ValidationError) as info:
        load_taxonomy(path)
    assert str(path) in str(info.value)
    assert "not found" in str(info.value)


def test_toml_syntax_error_has_line(tmp_path: Path) -> None:
    message = _error(tmp_path, '[meta]\nname = "x"\nversion = \n')
    assert "TOML" in message
    assert "line 3" in message


def test_unknown_family(tmp_path: Path) -> None:
    message = _error(tmp_path, _toml(categories=_CATEGORIES.replace('"response"', '"repair"')))
    assert "categories.crisis.family" in message
    assert "'repair'" in message
    assert "'prevention'" in message and "'none'" in message


def test_non_bool_eligible(tmp_path: Path) -> None:
    message = _error(tmp_path, _toml(categories=_CATEGORIES.replace("true", '"yes"')))
    assert "categories.crisis.eligible" in message
    assert "'yes'" in message


def test_non_bool_diverted(tmp_path: Path) -> None:
    message = _error(tmp_path, _toml(agencies=_AGENCIES.replace("false", "0")))
    assert "agencies.POLICE.diverted" in message
    assert "(got 0)" in message


@pytest.mark.parametrize("bad", ["-5.0", "0", '"far"', "true", "nan", "inf"])
def test_catchment_not_positive(tmp_path: Path, bad: str) -> None:
    message = _error(tmp_path, _toml(services=_SERVICES.replace("6000.0", bad)))
    assert "service_types.bcr_team.catchment_m" in message
    got = message.split("(got ", 1)[1]
    expected = {"-5.0": "-5.0", "0": "0", '"far"': "'far'", "true": "True",
                "nan": "nan", "inf": "inf"}[bad]
    assert got.startswith(expected)


def test_category_without_types(tmp_path: Path) -> None:
    message = _error(tmp_path, _toml(categories=_CATEGORIES.replace(
        'types = ["Person In Crisis (P)"]', "types = []")))
    assert "categories.crisis.types" in message
    assert "(got [])" in message
    message = _error(tmp_path, _toml(categories=_CATEGORIES.replace(
        'types = ["Person In Crisis (P)"]', "")), name="bad2.toml")
    assert "categories.crisis.types" in message


def test_same_type_in_two_categories(tmp_path: Path) -> None:
    categories = _CATEGORIES + """
[categories.other]
family = "none"
eligible = false
types = ["PERSON IN CRISIS ~PD"]
"""
    message = _error(tmp_path, _toml(categories=categories))
    assert "categories.crisis" in message and "categories.other" in message
    assert "'PERSON IN CRISIS ~PD'" in message
    assert "'person in crisis'" in message


def test_service_type_family_invalid(tmp_path: Path) -> None:
    message = _error(tmp_path, _toml(services=_SERVICES.replace('"response"', '"none"')))
    assert "service_types.bcr_team.family" in message
    assert "'none'" in message
    assert "'restoration'" in message


@pytest.mark.parametrize("table", ["categories", "agencies", "service_types"])
def test_missing_tables(tmp_path: Path, table: str) -> None:
    argument = {"categories": "categories", "agencies": "agencies",
                "service_types": "services"}[table]
    message = _error(tmp_path, _toml(**{argument: ""}))
    assert f"missing [{table}] table" in message


def test_several_problems_in_one_error(tmp_path: Path) -> None:
    categories = _CATEGORIES.replace('"response"', '"repair"').replace("true", '"maybe"') + """
[categories.empty]
family = "none"
eligible = false
types = []
"""
    text = _toml(
        categories=categories,
        agencies=_AGENCIES.replace("false", '"no"'),
        services=_SERVICES.replace("6000.0", "-1").replace('"response"', '"help"'),
    )
    path = tmp_path / "many.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_taxonomy(path)
    message = str(info.value)
    assert message.startswith("6 problems")
    for fragment in (
        "categories.crisis.family", "'repair'",
        "categories.crisis.eligible", "'maybe'",
        "categories.empty.types",
        "agencies.POLICE.diverted", "'no'",
        "service_types.bcr_team.catchment_m", "-1",
        "service_types.bcr_team.family", "'help'",
    ):
        assert fragment in message
    assert len(info.value.problems) == 6
    assert all(str(path) in str(p) for p in info.value.problems)


def test_unknown_keys_are_reported(tmp_path: Path) -> None:
    message = _error(tmp_path, _toml(categories=_CATEGORIES.replace(
        "eligible = true", "eligible = true\neligable = true")))
    assert "categories.crisis" in message and "'eligable'" in message


def test_reserved_unknown_category(tmp_path: Path) -> None:
    message = _error(tmp_path, _toml(categories=_CATEGORIES.replace(
        "[categories.crisis]", "[categories.unknown]")))
    assert "categories.unknown" in message and "reserved" in message


# -- replacement taxonomy ------------------------------------------------------------


def test_user_taxonomy_replaces_default(tmp_path: Path) -> None:
    path = tmp_path / "my.toml"
    path.write_text(
        """
[meta]
name = "my-city"
version = "2024.1"
sources = ["my city's CAD code book"]

[categories.crisis]
family = "response"
eligible = true
description = "Mental-health calls"
types = ["MH CRISIS", "WELFARE"]

[categories.noise]
family = "prevention"
eligible = true
types = ["NOISE"]

[agencies.pd]
diverted = false
service = "police"

[agencies." Crisis Team "]
diverted = true
service = "crisis team"

[service_types.crisis_team]
family = "response"
catchment_m = 7000
""",
        encoding="utf-8",
    )
    mine = load_taxonomy(path)
    assert mine.name == "my-city" and mine.version == "2024.1"
    assert mine.source == str(path)
    assert set(mine.categories) == {"crisis", "noise"}
    assert set(mine.agencies) == {"PD", "CRISIS TEAM"}
    assert mine.service_types["crisis_team"].catchment_m == 7000.0
    out = mine.classify(pd.Series(["mh crisis (P)", "Noise", "Theft (P)"]))
    assert out["category"].tolist() == ["crisis", "noise", "unknown"]
    assert out["family"].tolist() == ["response", "prevention", "none"]
    div = mine.diverted(pd.Series(["crisis team", "POLICE"]))
    assert div["diverted"].tolist() == [True, False]
    assert div["agency_known"].tolist() == [True, False]
    assert mine.checksum() != load_taxonomy().checksum()
    assert math.isfinite(mine.to_dict()["service_types"]["crisis_team"]["catchment_m"])


def test_default_service_matching(tax: Taxonomy) -> None:
    # crisis calls by crisis teams, animal calls by animal control, and so on
    assert tax.handlers("behavioral_crisis") == ("bcr_team",)
    assert tax.handlers("animal") == ("animal_control",)
    assert tax.handlers("traffic") == ("traffic_control",)
    assert tax.handlers("violence") == ("community_center", "violence_interruption",
                                        "youth_program")
    # report-only property calls go to 311/online only: a placeless service
    assert tax.handlers("report_only_property") == ()
    assert tax.handlers("report_only_property", placeless=True) == ("online_311",)
    assert not tax.coverable("report_only_property") and tax.coverable("animal")
    assert tax.service_types["online_311"].placeless
    assert tax.service_types["reentry"].handles == ()
    # every category of a family is handled by a service of that family
    for name, cat in tax.categories.items():
        for stype in tax.handlers(name) + tax.handlers(name, placeless=True):
            assert tax.service_types[stype].family == cat.family


def test_handles_validation_and_default(tmp_path) -> None:
    doc = """
[categories.fights]
family = "prevention"
eligible = false
types = ["Fight"]
[categories.noise]
family = "prevention"
eligible = true
types = ["Noise"]
[categories.crisis]
family = "response"
eligible = true
types = ["Crisis"]
[agencies.POLICE]
diverted = false
[service_types.centre]
family = "prevention"
catchment_m = 1000
[service_types.outreach]
family = "prevention"
catchment_m = 1000
handles = ["fights"]
[service_types.line]
family = "response"
placeless = true
handles = ["crisis"]
"""
    path = tmp_path / "t.toml"
    path.write_text(doc)
    t = load_taxonomy(path)
    assert t.service_types["centre"].handles == ("fights", "noise")  # default: the family's
    assert t.handlers("noise") == ("centre",)
    assert t.service_types["line"].catchment_m == 0.0 and not t.coverable("crisis")
    # round trip through the manifest content keeps the matching
    from safetygap.taxonomy import taxonomy_from_content
    again = taxonomy_from_content(t.to_dict(), label="manifest")
    assert again.checksum() == t.checksum()
    bad = doc.replace('handles = ["fights"]', 'handles = ["crisis", "nope"]').replace(
        "placeless = true", "placeless = 1")
    path.write_text(bad)
    with pytest.raises(ValidationError) as err:
        load_taxonomy(path)
    text = str(err.value)
    assert "handles: not a category of family 'prevention'" in text and "'nope'" in text
    assert "'crisis'" in text and "placeless must be true or false" in text
