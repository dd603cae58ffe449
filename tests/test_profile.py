"""`safetygap profile`: what a calls file holds, and the starter rule file it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.diversion import load_rules
from safetygap.inputs import ColumnMap
from safetygap.profile import profile_calls, suggest
from safetygap.taxonomy import load_taxonomy
from safetygap.vocab import Channel

# Another city's export: its own names, upper case, an agency column with its own codes.
ROWS = (
    [("MENTAL HEALTH CRISIS", "PD", "2024-01-01T10:00:00")] * 3
    + [("WELFARE CHECK", "PD", "2024-01-01T11:00:00")] * 2
    + [("PARKING VIOLATION", "PD", "2024-01-02T09:00:00")] * 4
    + [("NOISE COMPLAINT", "PD", "2024-01-02T23:00:00")]
    + [("THEFT REPORT", "PD", "2024-01-03T12:00:00")] * 2
    + [("FIRE ALARM", "FIRE DEPT", "2024-01-03T13:00:00")]
    + [("DOG AT LARGE", "ANIMAL SERVICES", "2024-01-10T08:00:00")]
    + [("SUSPICIOUS PERSON", "PD", "not a date")]
    + [("INTOXICATED PERSON", "PD", "2024-01-10T01:00:00")]
    + [("ACCIDENT", "PD", "2024-01-10T17:00:00")]
)
COLUMNS = ColumnMap(id="incident", call_type="type", agency="agency", time="ts",
                    latitude="lat", longitude="lon", disposition="dispo")


@pytest.fixture
def calls_file(tmp_path: Path) -> Path:
    frame = pd.DataFrame(ROWS, columns=["type", "agency", "ts"])
    frame.insert(0, "incident", [f"C{i}" for i in range(len(frame))])
    frame["lat"] = 40.0
    frame["lon"] = -80.0
    frame["dispo"] = ["CLOSED"] * 10 + ["REPORT"] * 7
    frame["beat"] = "B1"
    path = tmp_path / "calls.csv"
    frame.to_csv(path, index=False)
    return path


def test_profile_counts_dates_and_channels(calls_file: Path) -> None:
    p = profile_calls(calls_file, columns=COLUMNS, taxonomy=load_taxonomy(),
                      rules=load_rules())
    assert p["rows"] == 17
    assert {f["field"]: f["found"] for f in p["fields"]} == {
        "id": True, "call_type": True, "agency": True, "time": True, "x": True, "y": True,
        "disposition": True}
    assert p["unmapped_columns"] == ["beat"]
    assert [(a["value"], a["calls"]) for a in p["agencies"]["top"]] == [
        ("PD", 15), ("FIRE DEPT", 1), ("ANIMAL SERVICES", 1)]
    top = {t["value"]: t["calls"] for t in p["problem_types"]["top"]}
    assert top == {"MENTAL HEALTH CRISIS": 3, "WELFARE CHECK": 2, "PARKING VIOLATION": 4,
                   "NOISE COMPLAINT": 1, "THEFT REPORT": 2, "FIRE ALARM": 1,
                   "DOG AT LARGE": 1, "SUSPICIOUS PERSON": 1, "INTOXICATED PERSON": 1,
                   "ACCIDENT": 1}
    assert p["problem_types"]["top"][0]["value"] == "PARKING VIOLATION"  # most common first
    assert [(d["value"], d["calls"]) for d in p["dispositions"]["top"]] == [
        ("CLOSED", 10), ("REPORT", 7)]
    # the Minneapolis rules on this city: parking -> traffic control, theft report -> 311;
    # 'FIRE DEPT' is not the code FIRE, so it falls to the default (police)
    assert p["channels"] == {"police": 11, "fire_ems": 0, "behavioral_crisis": 0,
                             "traffic_control": 4, "animal_control": 0,
                             "report_311_online": 2, "other_non_police": 0}
    assert p["unmatched"]["calls_no_rule_matched"] == 11
    assert p["diverted_share"] == {"diverted": 6, "denominator": 17,
                                   "share": round(6 / 17, 6)}
    # the default taxonomy's generic names (Mental Health Crisis, Welfare Check, Intoxicated
    # Person, Noise Complaint, Theft Report, Suspicious Person) are known; these four not
    unknown = {t["value"]: t["calls"] for t in p["unmatched"]["types_unknown_to_taxonomy"]
               ["top"]}
    assert unknown == {"PARKING VIOLATION": 4, "FIRE ALARM": 1, "DOG AT LARGE": 1,
                       "ACCIDENT": 1}
    assert p["unmatched"]["types_unknown_to_taxonomy"]["share"] == round(7 / 17, 6)
    d = p["dates"]
    assert (d["dated"], d["undated"]) == (16, 1)
    assert d["first"] == "2024-01-01T10:00:00" and d["last"] == "2024-01-10T17:00:00"
    assert d["days"] == 10 and d["days_with_calls"] == 4
    assert d["gaps"] == [{"from": "2024-01-04", "to": "2024-01-09", "days": 6}]


@pytest.mark.parametrize(("name", "family", "channel", "crisis"), [
    ("PERSON IN CRISIS", "response", None, True),
    ("Mental Health Call", "response", None, True),
    ("SUICIDE THREAT", "response", None, True),
    ("Welfare Check", "response", None, True),
    ("Intoxicated Person", "response", None, True),
    ("Audible Alarm", "none", None, False),
    ("FIRE ALARM", "none", Channel.FIRE_EMS, False),
    ("Accident - Property Damage", "response", None, False),
    ("PARKING COMPLAINT", "response", Channel.TRAFFIC_CONTROL, False),
    ("NOISE COMPLAINT", "prevention", None, False),
    ("Theft Report", "response", Channel.REPORT_311_ONLINE, False),
    ("Theft", "restoration", None, False),
    ("Barking Dog", "response", Channel.ANIMAL_CONTROL, False),
    ("Shots Fired", "prevention", None, False),
    ("ZZZ", "?", None, False),
])
def test_suggestions_from_words(name: str, family: str, channel: Channel | None,
                                crisis: bool) -> None:
    s = suggest(name)
    assert (s.family, s.channel, s.crisis) == (family, channel, crisis)


def test_cli_profile_json_and_starter_rules(calls_file: Path, tmp_path: Path) -> None:
    starter = tmp_path / "starter.toml"
    args = ["profile", str(calls_file), "--id", "incident", "--type", "type", "--agency",
            "agency", "--time", "ts", "--lat", "lat", "--lon", "lon", "--disposition", "dispo"]
    res = CliRunner().invoke(app, [*args, "--json", "--write-rules", str(starter)])
    assert res.exit_code == 0, res.output
    p = json.loads(res.stdout)
    assert p["rows"] == 17 and p["starter_rules"] == str(starter)
    text = starter.read_text(encoding="utf-8")
    assert "REVIEW" in text
    # every type listed with its count, most common first
    listing = [line for line in text.splitlines() if line.startswith("# ") and " | " in line]
    assert listing[1].split(" | ")[1] == "PARKING VIOLATION"
    assert {line.split(" | ")[1] for line in listing[1:]} == {r[0] for r in ROWS}
    # the crisis types are offered in a commented rule, not switched on
    assert '#     "MENTAL HEALTH CRISIS",  # 3 calls' in text
    rules = load_rules(starter)
    assert [r.id for r in rules.rules] == [
        "agency_fire_ems", "agency_animal_control", "type_fire_ems", "type_animal_control",
        "type_traffic_control", "type_report_311_online"]
    assert all(r.source == "review" for r in rules.rules)
    again = profile_calls(calls_file, columns=COLUMNS, taxonomy=load_taxonomy(), rules=rules)
    assert again["channels"] == {"police": 9, "fire_ems": 1, "behavioral_crisis": 0,
                                 "traffic_control": 4, "animal_control": 1,
                                 "report_311_online": 2, "other_non_police": 0}
    # the words: text output for people
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "17 rows (generic columns)" in res.output
    assert "gap: no calls 2024-01-04 to 2024-01-09 (6 days)" in res.output
    assert "types the taxonomy does not know: 4 types, 7 calls (41.2%)" in res.output


def test_cli_profile_detects_the_preset(shared_data: Path) -> None:
    path = shared_data / "api-samples" / "incidents_reported_911_sample_13rows.csv"
    res = CliRunner().invoke(app, ["profile", str(path), "--json"])
    assert res.exit_code == 0, res.output
    p = json.loads(res.stdout)
    assert p["preset"] == "minneapolis-911"
    assert p["channels"]["behavioral_crisis"] == 2 and p["channels"]["fire_ems"] == 4
    assert p["diverted_share"] == {"diverted": 2, "denominator": 9, "share": round(2 / 9, 6)}


def test_cli_profile_bad_input(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["profile", str(tmp_path / "none.csv")])
    assert res.exit_code == 2 and "none.csv" in res.output


def test_dispositions_name_the_channel_and_rule_they_fall_to(calls_file: Path) -> None:
    # dispo: rows 0-9 CLOSED, 10-16 REPORT (fixture). By hand, under the Minneapolis rules:
    # CLOSED = 3 crisis + 2 welfare (police, default) + 4 parking (traffic control,
    #          parking_traffic_control) + 1 noise (police)        -> police 6, traffic 4
    # REPORT = 2 theft report (report_311_online: 'Theft Report' is on the 311 list, dated
    #          2024, after 2021-06-14) + 5 others (police, default) -> police 5, 311 2
    p = profile_calls(calls_file, columns=COLUMNS, taxonomy=load_taxonomy(),
                      rules=load_rules())
    by = {d["value"]: d for d in p["dispositions"]["top"]}
    assert by["CLOSED"]["channel"] == "police" and by["CLOSED"]["rule"] == "default"
    assert by["CLOSED"]["channels"] == {"police": 6, "traffic_control": 4}
    assert by["CLOSED"]["rules"] == {"default": 6, "parking_traffic_control": 4}
    assert by["REPORT"]["channels"] == {"police": 5, "report_311_online": 2}
    assert by["REPORT"]["rules"] == {"default": 5, "theft_damage_report_311": 2}
    res = CliRunner().invoke(app, ["profile", str(calls_file), "--id", "incident", "--type",
                                   "type", "--agency", "agency", "--time", "ts", "--lat",
                                   "lat", "--lon", "lon", "--disposition", "dispo"])
    assert res.exit_code == 0, res.output
    assert "CLOSED  ->  police (default); also traffic_control 4" in res.output


# ------------------------------------------------------------- the starter taxonomy


def test_each_word_suggests_a_packaged_category_of_its_family() -> None:
    from safetygap.profile import _WORDS

    tax = load_taxonomy()
    for pattern, family, _, _, category in _WORDS:
        assert category in tax.categories, pattern
        assert tax.categories[category].family == family, (pattern, category)


def _content(tax) -> dict:
    d = tax.to_dict()
    for key in ("name", "source", "checksum"):
        d.pop(key)
    return d


def test_a_starter_with_nothing_to_add_is_the_taxonomy_itself(tmp_path: Path) -> None:
    from safetygap.profile import starter_taxonomy

    text, what = starter_taxonomy([("Theft", 5), ("Welfare Check", 2)])  # both known
    assert what == {"added": {}, "unresolved": []}
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    assert _content(load_taxonomy(path)) == _content(load_taxonomy())


def test_the_starter_adds_each_unknown_type_once_to_the_suggested_category(
        tmp_path: Path) -> None:
    from safetygap.profile import starter_taxonomy

    hostile = 'ODD "Q" \\ TYPE\twith ALARM\x7f'
    types = [("MENTAL HEALTH CALL", 3), ("mental health call (P)", 1), ("XYZZY", 2),
             ("Theft", 5), ("MVA - MINOR INJURY", 4), (hostile, 1)]
    text, what = starter_taxonomy(types, file="city.csv")
    # by hand: 'mental' -> behavioral_crisis (once: the second normalises to the first),
    # 'mva ... injur' -> traffic_injury, 'alarm' -> alarm; Theft is known; XYZZY no word
    assert what["added"] == {"behavioral_crisis": [("MENTAL HEALTH CALL", 3, "mental")],
                             "traffic_injury": [("MVA - MINOR INJURY", 4,
                                                 "mva - minor injur")],
                             "alarm": [(hostile, 1, "alarm")]}
    assert what["unresolved"] == [("XYZZY", 2)]
    assert "REVIEW: 3 calls; word 'mental'" in text and 'UNRESOLVED' in text
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    tax = load_taxonomy(path)
    got = {t: tax.category_of(t) for t, _ in types}
    assert got == {"MENTAL HEALTH CALL": "behavioral_crisis",
                   "mental health call (P)": "behavioral_crisis", "XYZZY": "unknown",
                   "Theft": load_taxonomy().category_of("Theft"),
                   "MVA - MINOR INJURY": "traffic_injury", hostile: "alarm"}
    # everything else as it was
    before, after = _content(load_taxonomy()), _content(tax)
    for name in ("behavioral_crisis", "traffic_injury", "alarm"):
        before["categories"].pop(name), after["categories"].pop(name)
    assert after == before
