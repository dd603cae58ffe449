"""Diversion rules: one channel and the deciding rule per call; the 13 real 911 rows; the
rule file's validation; the CLI's --diversion-rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetygap.diversion import (
    DEFAULT_RULE_ID,
    Denominator,
    DiversionRules,
    load_rules,
    normalize_disposition,
    rules_from_content,
)
from safetygap.errors import ValidationError
from safetygap.inputs import load_preset, read_calls
from safetygap.taxonomy import normalize_call_type
from safetygap.vocab import Channel

# What a reader of the city's descriptions gives each of the 13 verbatim rows of the 911
# layer (api-samples/incidents_reported_911_sample_13rows.csv), in file order:
# police calls stay police (an unknown trouble, a property-damage crash police attended, an
# unwanted person, a silent alarm re-typed as an unwanted person, a sexual-assault report,
# a call ending in a transport, an auto theft *in progress* ending in a report: none of them
# on the city's 311 / online list); the four FIRE calls are fire/EMS; the two BCR calls are
# Behavioral Crisis Response.
EXPECTED_13 = [
    ("26-280179", "police", "default"),
    ("26-280178", "police", "default"),
    ("26-280177", "police", "default"),
    ("26-280176", "police", "default"),
    ("26-280175", "police", "default"),
    ("26-0047944", "fire_ems", "fire_agency"),
    ("26-0047943", "fire_ems", "fire_agency"),
    ("26-0047942", "fire_ems", "fire_agency"),
    ("26-0047941", "fire_ems", "fire_agency"),
    ("26-280111", "behavioral_crisis", "bcr_agency"),
    ("26-279807", "behavioral_crisis", "bcr_agency"),
    ("26-276694", "police", "default"),
    ("26-280118", "police", "default"),
]


def test_thirteen_real_rows(shared_data: Path) -> None:
    path = shared_data / "api-samples" / "incidents_reported_911_sample_13rows.csv"
    cin = read_calls(path, columns=load_preset("minneapolis-911"))
    calls = cin.frame
    # the preset reads the optional disposition and priority columns as written
    assert calls["disposition"].iloc[9] == "TRN-Transport"
    assert calls["priority"].iloc[0] == "1"
    out = load_rules().assign(calls)
    got = list(zip(calls["call_id"], out["channel"].astype(str),
                   out["diversion_rule"].astype(str), strict=True))
    assert got == EXPECTED_13
    # 2 diverted (BCR) of the 9 police-or-alternative calls; the 4 fire calls are outside
    # the default denominator, inside the all-calls one
    assert int(out["diverted"].sum()) == 2
    assert int(out["diversion_base"].sum()) == 9
    assert int(load_rules().assign(calls, denominator="all_calls")["diversion_base"].sum()) \
        == 13


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["agency", "call_type", "disposition", "priority",
                                       "time"]).astype({"time": "datetime64[ns]"})


def test_default_rules_by_hand() -> None:
    """Each default rule on a hand-made call, in the layer's spelling."""
    calls = _frame([
        ("POLICE", "Parking Problem (P)", None, "3", "2023-05-01"),        # traffic control
        ("POLICE", "Theft - Report Only (P)", None, "4", "2021-06-13"),    # before the 311 date
        ("POLICE", "Theft - Report Only (P)", None, "4", "2021-06-14"),    # 311 from that day
        ("POLICE", "Damage Property-Rpt Only(P)", "RPT-Report", "4", "2024-01-01"),
        ("POLICE", "Lost Property (P)", None, "5", "2019-01-01"),          # 2006 list: any date
        ("POLICE", "Burglary Dwlng - Report (P)", None, "4", "2024-01-01"),  # not on the list
        ("POLICE", "Animal Call (P)", None, "3", "2024-01-01"),
        ("FIRE", "Animal Call (P)", None, "3", "2024-01-01"),              # agency first
        ("BCR", "Behavioral Crisis Welfare Ck", "TRN-Transport", "2", "2024-01-01"),
        (" traffic ", "Hit & Run (P)", None, "2", "2024-01-01"),           # coded agency
        ("POLICE", "Check the Welfare (P)", None, "2", "2024-01-01"),      # police went
        (None, None, None, None, None),                                    # nothing known
    ])
    out = load_rules().assign(calls)
    assert out["channel"].astype(str).tolist() == [
        "traffic_control", "police", "report_311_online", "report_311_online",
        "report_311_online", "police", "animal_control", "fire_ems", "behavioral_crisis",
        "traffic_control", "police", "police"]
    assert out["diversion_rule"].astype(str).tolist() == [
        "parking_traffic_control", "default", "theft_damage_report_311",
        "theft_damage_report_311", "report_only_311", "default", "animal_control",
        "fire_agency", "bcr_agency", "coded_traffic_agency", "default", "default"]
    assert out["diverted"].tolist() == [True, False, True, True, True, False, True, False,
                                        True, True, False, False]


RULES_TOML = """
[meta]
name = "test-city"
version = "2"
denominator = "all_calls"

[sources]
a = "a source"
b = "another source"

[default]
channel = "police"
source = "a"

[[rules]]
id = "priority5_online"
channel = "report_311_online"
priority = [5]
source = "a"

[[rules]]
id = "referred"
channel = "other_non_police"
disposition = ["REF", "Referred to Community Services"]
source = "b"

[[rules]]
id = "noise"
channel = "other_non_police"
problem_contains = ["noise"]
problem_prefix = ["Loud*"]
until = 2020-12-31
source = "b"
"""


@pytest.fixture
def custom(tmp_path: Path) -> DiversionRules:
    p = tmp_path / "rules.toml"
    p.write_text(RULES_TOML, encoding="utf-8")
    return load_rules(p)


def test_conditions_priority_disposition_words_dates(custom: DiversionRules) -> None:
    calls = _frame([
        ("POLICE", "Theft", None, "5", "2024-01-01"),                # priority 5
        ("POLICE", "Theft", None, "5.0", "2024-01-01"),              # 5.0 is 5
        ("POLICE", "Theft", "REF-Referred", "2", "2024-01-01"),      # disposition code
        ("POLICE", "Theft", "referred to community  services", "2", "2024-01-01"),  # text
        ("POLICE", "Noise Complaint (P)", None, "3", "2020-12-31"),  # contains, last day
        ("POLICE", "Noise Complaint (P)", None, "3", "2021-01-01"),  # after until
        ("POLICE", "Loud Party", None, "3", "2019-01-01"),           # prefix
        ("POLICE", "Theft", "REFUSED", "2", "2024-01-01"),           # not the code REF
    ])
    out = custom.assign(calls)
    assert out["diversion_rule"].astype(str).tolist() == [
        "priority5_online", "priority5_online", "referred", "referred", "noise", "default",
        "noise", "default"]
    assert custom.denominator is Denominator.ALL_CALLS
    assert out["diversion_base"].all()
    # a table without the fields a rule needs: that rule never matches
    bare = custom.assign(calls[["agency", "call_type"]])
    assert bare["diversion_rule"].astype(str).tolist() == ["default"] * 8


def test_normalize_disposition() -> None:
    assert normalize_disposition("RPT-Report") == ("rpt", "rpt-report")
    assert normalize_disposition(" GOA  Gone on Arrival ") == ("goa", "goa gone on arrival")


def test_checksum_and_round_trip(custom: DiversionRules) -> None:
    again = rules_from_content(custom.to_dict(), label="manifest")
    assert again.checksum() == custom.checksum()
    assert again.rules == custom.rules
    assert load_rules().checksum() != custom.checksum()
    assert rules_from_content(load_rules().to_dict(), label="m").checksum() == \
        load_rules().checksum()


def test_every_default_rule_has_a_source() -> None:
    rules = load_rules()
    for entry in rules.describe():
        assert entry["source"] and entry["source"] not in rules.sources  # the full text
    assert {r.source for r in rules.rules} <= set(rules.sources)


def test_validation_lists_every_problem(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("""
[meta]
denominator = "everything"

[sources]
a = "x"

[default]
channel = "polise"
source = "a"

[[rules]]
id = "one"
channel = "bcr"
agency = ["BCR"]
source = "nowhere"

[[rules]]
id = "one"
channel = "police"
problem = ["Theft"]
source = "a"

[[rules]]
id = "no_conditions"
channel = "police"
source = "a"

[[rules]]
id = "bad_values"
channel = "police"
priority = ["high"]
since = "2021-06-14"
sourse = "a"
""", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_rules(p)
    msg = str(err.value)
    for part in ("meta.denominator", "everything", "default.channel", "polise",
                 "rules[0] (one).channel", "'bcr'", "rules[0] (one).source", "nowhere",
                 "rules[1].id: repeated", "rules[2] (no_conditions): a rule needs at least "
                 "one condition", "rules[3] (bad_values).priority", "since must be a TOML "
                 "date", "unknown key 'sourse'", "every rule needs a source"):
        assert part in msg, part
    assert "behavioral_crisis" in msg  # the allowed channels are listed


def test_missing_file_and_syntax(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="file not found"):
        load_rules(tmp_path / "nope.toml")
    bad = tmp_path / "syntax.toml"
    bad.write_text("[meta\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="TOML syntax error"):
        load_rules(bad)


def _first_match(rules: DiversionRules, row: dict) -> str:
    """The deciding rule worked out one row at a time, straight from the definitions."""
    for r in rules.rules:
        ok = True
        if r.agency:
            ok &= row["agency"] is not None and row["agency"].strip().upper() in r.agency
        if r.problem or r.problem_prefix or r.problem_contains:
            name = None if row["call_type"] is None else normalize_call_type(row["call_type"])
            ok &= name is not None and (
                name in r.problem or any(name.startswith(p) for p in r.problem_prefix)
                or any(w in name for w in r.problem_contains))
        if r.disposition:
            disp = row.get("disposition")
            ok &= disp is not None and bool(set(normalize_disposition(disp)) & r.disposition)
        if r.priority:
            ok &= row["priority"] is not None and int(row["priority"]) in r.priority
        if r.since or r.until:
            day = row["time"]
            ok &= day is not None and (r.since is None or day >= r.since) and (
                r.until is None or day <= r.until)
        if ok:
            return r.id
    return DEFAULT_RULE_ID


AGENCIES = ["POLICE", "FIRE", "BCR", "police", "ANIMAL", "Sheriff", None]
TYPES = ["Parking Problem (P)", "Theft - Report Only (P)", "Lost Property", "Animal Bite (P)",
         "Heart (FE)", "Unknown Trouble (P)", "Loud Party", "Noise Complaint", None]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(AGENCIES), st.sampled_from(TYPES),
                          st.sampled_from([None, "1", "5"]),
                          st.one_of(st.none(), st.dates(dt.date(2019, 1, 1),
                                                        dt.date(2023, 12, 31)))),
                min_size=1, max_size=40))
def test_one_channel_per_call_matches_row_by_row(rows: list[tuple]) -> None:
    """Every call gets exactly one channel, the first matching rule's (checked one row at
    a time against the definitions), and the counts per rule add up to the calls."""
    frame = pd.DataFrame(rows, columns=["agency", "call_type", "priority", "time"])
    frame["time"] = pd.to_datetime(frame["time"])
    for rules in (load_rules(), _custom_rules()):
        out = rules.assign(frame)
        assert out["channel"].notna().all() and out["diversion_rule"].notna().all()
        want = [_first_match(rules, {"agency": a, "call_type": t, "priority": p, "time": d})
                for a, t, p, d in rows]
        assert out["diversion_rule"].astype(str).tolist() == want
        chan = {r.id: str(r.channel) for r in rules.rules} | {
            DEFAULT_RULE_ID: str(rules.default_channel)}
        assert out["channel"].astype(str).tolist() == [chan[w] for w in want]
        assert int(out["diversion_rule"].value_counts().sum()) == len(rows)
        assert out["diverted"].tolist() == [Channel(chan[w]).diverted for w in want]


_CUSTOM: list[DiversionRules] = []


def _custom_rules() -> DiversionRules:
    if not _CUSTOM:
        import tomllib

        from safetygap.diversion import _build

        _CUSTOM.append(_build(tomllib.loads(RULES_TOML), "test", "test"))
    return _CUSTOM[0]


MINE_TOML = """
[meta]
name = "mine"
[sources]
s = "test"
[default]
channel = "police"
source = "s"
[[rules]]
id = "fire"
channel = "fire_ems"
agency = ["FIRE"]
source = "s"
[[rules]]
id = "crisis"
channel = "other_non_police"
problem = ["Person In Crisis"]
source = "s"
"""
"""A rule set that sends every Person In Crisis call of the tiny city to other_non_police:
calls 1, 2 and 11 diverted, 3 / 9 of the unique non-fire calls."""


def test_pipeline_keeps_channel_and_rule(tiny_files: dict[str, Path], tmp_path: Path) -> None:
    """A rule file given to the analysis decides the channels: here Person In Crisis calls
    go to 'other_non_police' whatever the agency, so A's three crisis calls (1, 2, 11) are
    all diverted; the calls table keeps the rule, the manifest the rule set."""
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze

    p = tmp_path / "mine.toml"
    p.write_text(MINE_TOML, encoding="utf-8")
    a = analyze(AnalysisInputs(**tiny_files, diversion_rules=p),
                options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True))
    calls = a.calls.set_index("row")
    assert calls.loc[[1, 2, 11], "diversion_rule"].astype(str).tolist() == ["crisis"] * 3
    assert calls.loc[6, "channel"] == "fire_ems"
    n = a.neighborhoods.set_index("area_id")
    assert n.loc["A", "diverted_share_response"] == 1.0
    # 9 unique non-fire calls, of which calls 1, 2 and 11 diverted (10 is a duplicate)
    assert a.summary["diverted_share"]["all"] == pytest.approx(3 / 9)
    assert a.manifest["diversion_rules"]["name"] == "mine"
    assert a.manifest["inputs"]["diversion_rules"]["sha256"]
    assert a.summary["diversion"]["rules"]["checksum"] == load_rules(p).checksum()


def test_cli_diversion_rules_option(tiny_files: dict[str, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from safetygap.cli import app

    bad = tmp_path / "bad.toml"
    bad.write_text("[sources]\na='x'\n[default]\nchannel='nope'\nsource='a'\n",
                   encoding="utf-8")
    args = ["analyze", "--calls", str(tiny_files["calls"]), "--preset", "generic",
            "--accept-undated",
            "--providers", str(tiny_files["providers"]),
            "--neighborhoods", str(tiny_files["neighborhoods"]),
            "--wards", str(tiny_files["wards"]), "--out", str(tmp_path / "ws"), "--quiet"]
    res = CliRunner().invoke(app, [*args, "--diversion-rules", str(bad)])
    assert res.exit_code == 2
    assert "default.channel: unknown channel" in res.output
    res = CliRunner().invoke(app, [*args, "--diverted-denominator", "all_calls"])
    assert res.exit_code == 0, res.output
    assert "diverted to non-police services: 10.0% of all calls, fire/EMS included" in \
        res.output
    calls = pd.read_parquet(tmp_path / "ws" / "calls.parquet",
                            columns=["channel", "diversion_rule", "diversion_base"])
    assert bool(np.all(calls["diversion_base"]))
    assert set(calls["channel"].astype(str)) == {"police", "fire_ems", "behavioral_crisis"}


def test_rerun_keeps_the_rule_file_of_the_analysis(tiny_files: dict[str, Path],
                                                   tmp_path: Path) -> None:
    """A re-run takes the rule file the analysis recorded (not the packaged default), and
    a new rule file given to the re-run replaces it."""
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import rebuild, run_analysis
    from safetygap.workspace import Workspace

    mine = tmp_path / "mine.toml"
    mine.write_text(MINE_TOML, encoding="utf-8")
    ws = tmp_path / "ws"
    run_analysis(AnalysisInputs(**tiny_files, diversion_rules=mine), ws, quiet=True,
                 options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True))
    v1 = Workspace(rebuild(ws))
    assert v1.manifest["diversion_rules"]["name"] == "mine"
    assert v1.summary["diverted_share"]["all"] == pytest.approx(3 / 9)
    # the default rules: only call 1 (BCR) is diverted, 1 / 9
    default = tmp_path / "default.toml"
    default.write_bytes((Path(__file__).parents[1] / "safetygap" / "data"
                         / "diversion_minneapolis.toml").read_bytes())
    v2 = Workspace(rebuild(ws, {"diversion_rules": default}))
    assert v2.manifest["diversion_rules"]["name"] == "minneapolis-default"
    assert v2.summary["diverted_share"]["all"] == pytest.approx(1 / 9)
