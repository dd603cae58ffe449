"""Malformed CSV rows (another number of fields than the header) are skipped, counted and
listed with their line numbers; the other rows keep their own numbers; a file is refused
only past a share of malformed rows, and the message says so."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import safetygap.inputs.files as files_module
from safetygap.errors import ValidationError
from safetygap.inputs import load_preset, read_calls, read_population
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze

GENERIC = load_preset("generic")


def calls_csv(path: Path, tiny_calls: Path, n: int, bad_lines: dict[int, str]) -> Path:
    """``n`` calls (the tiny city's first call repeated, ids = their data-row numbers)
    with the file's lines in ``bad_lines`` (the header is line 1) replaced."""
    first = pd.read_csv(tiny_calls, dtype=str).iloc[[0]]
    rows = pd.concat([first] * n, ignore_index=True)
    rows["id"] = [str(i + 1) for i in range(n)]
    lines = rows.to_csv(index=False).splitlines()
    for line, text in bad_lines.items():
        lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return path


def test_malformed_rows_are_skipped_and_listed_with_their_lines(tiny_files, tmp_path,
                                                                monkeypatch):
    """300 rows, lines 5 (8 fields) and 250 (2 fields) malformed, read in blocks of 1 kB
    (several batches): 298 calls, each numbered by its data row (= its id), both lines
    listed."""
    monkeypatch.setattr(files_module, "CSV_BLOCK_BYTES", 1024)
    p = calls_csv(tmp_path / "calls.csv", tiny_files["calls"], 300,
                  {5: "4,Shooting (P),POLICE,2023-01-01,44.9,-93.2,extra,fields",
                   250: "249,oops"})
    with pytest.warns(UserWarning, match="line 5 .8 fields., line 250 .2 fields."):
        cin = read_calls(p, columns=GENERIC)
    assert len(cin.frame) == 298
    assert cin.frame["row"].tolist() == [r for r in range(1, 301) if r not in (4, 249)]
    assert (cin.frame["call_id"].astype(int) == cin.frame["row"]).all()
    assert cin.malformed.lines == [5, 250] and cin.malformed.fields == [8, 2]
    assert cin.malformed.expected == 6


def test_past_the_share_the_file_is_refused_naming_the_first_20_lines(tiny_files, tmp_path):
    bad = {line: "x,y" for line in range(3, 53)}  # 50 of 200 rows
    p = calls_csv(tmp_path / "calls.csv", tiny_files["calls"], 200, bad)
    with pytest.raises(ValidationError) as exc:
        read_calls(p, columns=GENERIC)
    text = str(exc.value)
    assert "50 of 200 rows (25.0%)" in text and "more than 1.0%" in text
    assert "SAFETYGAP_MAX_MALFORMED_SHARE" in text
    assert "line 3 (2 fields)" in text and "line 22 (2 fields)" in text
    assert "line 23 " not in text and "and 30 more" in text
    # a higher share allowed: read, every line kept for quality.json
    cin = read_calls(p, columns=GENERIC, max_malformed_share=0.3)
    assert len(cin.frame) == 150 and cin.malformed.lines == list(range(3, 53))


def test_quality_json_lists_every_malformed_row(tiny_files, tmp_path):
    """The tiny city's 11 calls padded to 211 rows (200 far outside the city): one bad
    line is within the default share (1%)."""
    calls = pd.read_csv(tiny_files["calls"], dtype=str)
    pad = calls.iloc[[8]].copy()  # call 9, outside every area
    pad = pd.concat([pad] * 200, ignore_index=True)
    pad["id"] = [f"p{i}" for i in range(200)]
    lines = pd.concat([calls, pad]).to_csv(index=False).splitlines()
    lines.insert(3, "oops,1")  # line 4 of the file
    p = tmp_path / "calls.csv"
    p.write_text("\n".join(lines) + "\n")
    inputs = AnalysisInputs(**{**tiny_files, "calls": p})
    with pytest.warns(UserWarning, match="line 4"):
        analysis = analyze(inputs, options=AnalysisOptions(columns=GENERIC, accept_undated=True))
    q = analysis.quality["calls"]
    assert q["malformed_rows"]["count"] == 1
    assert q["malformed_rows"]["rows"] == [{"line": 4, "fields": 2}]
    assert q["input_rows"] == 211 and sum(q["status_counts"].values()) == 211
    # the hand-worked tiny city is unchanged: the rows after line 4 keep their numbers
    assert q["examples"]["duplicate_id"][0]["row"] == 10 + 1
    assert q["status_counts"]["ok"] == 6


def test_a_malformed_provider_row_refuses_the_file(tiny_files, tmp_path):
    from safetygap.inputs import read_providers
    from safetygap.taxonomy import load_taxonomy

    p = tmp_path / "providers.csv"
    p.write_text("name,service_type,capacity,latitude,longitude\n"
                 "A,youth_program,3,44.97,-93.26\n"
                 "B,youth_program,3,44.97\n")
    with pytest.raises(ValidationError, match=r"line 3 \(4 fields\).*every row must be"):
        read_providers(p, taxonomy=load_taxonomy())


def test_malformed_population_rows_are_bad_rows_with_their_lines(tmp_path):
    p = tmp_path / "population.csv"
    lines = ["neighborhood,population"] + [f"area {i},{i}" for i in range(1, 200)]
    lines[50] = "area 50,50,extra"
    p.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match="line 51"):
        pin = read_population(p)
    assert len(pin.frame) == 198
    assert pin.bad_rows == [{"row": 50, "line": 51, "column": None, "name": None,
                             "value": "malformed: 3 fields, the header has 2"}]
