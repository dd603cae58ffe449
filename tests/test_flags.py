"""Independent row flags and independently joined layers on the tiny city (issue 21,
items 3 and 5): a call can be both undated and of an unknown type and is counted under
both; a call outside every ward keeps its neighborhood."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import make_tiny_areas, sq, write_tiny_city

from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze

OPTS = AnalysisOptions(columns=load_preset("generic"), accept_undated=True)


def _by_row(a) -> pd.DataFrame:
    return a.calls.set_index("row")


def test_a_call_outside_every_ward_keeps_its_neighborhood(tmp_path):
    nbhd, wards = make_tiny_areas()
    # ward 2 ends at x = 1750: call 7 (1800, 1800) in D is in no ward, every other call
    # is where conftest's drawing puts it
    wards.loc[1, "geometry"] = sq(1500, 0, 1750, 2000)
    files = write_tiny_city(tmp_path, (nbhd, wards))
    with pytest.warns(UserWarning, match=r"cover only 87.5% .* 1 of 8 calls"):
        a = analyze(AnalysisInputs(**files), options=OPTS)
    # neighborhoods as with the full wards (conftest: A 3, B 2, C 1, D 2)
    assert list(a.neighborhoods["calls_total"]) == [3, 2, 1, 2]
    # ward 1 (x <= 1500): calls 1, 2, 4, 5, 11; ward 2 loses call 7: 3 and 6
    assert list(a.wards["calls_total"]) == [5, 2]
    row7 = _by_row(a).loc[7]
    assert row7["neighborhood_id"] == "D" and pd.isna(row7["ward_id"])
    assert row7["flag_outside_wards"] and not row7["flag_outside_neighborhoods"]
    assert row7["flag_unknown_call_type"] and row7["status"] == "unknown_call_type"
    q = a.quality["calls"]
    assert q["flag_counts"]["outside_wards"] == 2  # call 7 and call 9 (outside the city)
    assert q["flag_counts"]["outside_neighborhoods"] == 1  # call 9
    assert q["status_counts"]["outside_boundaries"] == 1
    assert q["placed"] == {"neighborhoods": 8, "wards": 7}
    cover = a.quality["boundaries"]["wards_cover_neighborhoods"]
    assert cover["neighborhood_area_in_wards"] == pytest.approx(3_500_000 / 4_000_000)
    assert cover["calls_in_neighborhoods"] == 8 and cover["calls_outside_wards"] == 1
    partly = {n["area_id"]: n for n in cover["neighborhoods_partly_outside_wards"]}
    assert set(partly) == {"B", "D"}  # x 1750..2000 of each: 250 x 1000 m
    assert partly["B"]["area_outside_wards_m2"] == pytest.approx(250_000)
    assert partly["D"]["calls_outside_wards"] == 1 and partly["B"]["calls_outside_wards"] == 0
    assert "1 of 8 calls" in cover["warning"]


def test_wards_covering_the_city_report_no_call_missed(tiny_files):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        a = analyze(AnalysisInputs(**tiny_files), options=OPTS)
    cover = a.quality["boundaries"]["wards_cover_neighborhoods"]
    assert cover["calls_outside_wards"] == 0 and "warning" not in cover
    assert cover["neighborhoods_partly_outside_wards"] == []


def test_flags_are_independent_and_each_counted(tmp_path):
    import io

    from safetygap._progress import Progress
    from safetygap.pipeline import STEPS

    files = write_tiny_city(tmp_path, make_tiny_areas())
    calls = pd.read_csv(files["calls"], dtype=str)
    calls.loc[10, "call_type"] = "Fireworks Galore (P)"  # row 11: undated and unknown type
    calls.to_csv(files["calls"], index=False)
    out = io.StringIO()
    a = analyze(AnalysisInputs(**files), options=OPTS,
                progress=Progress(len(STEPS), stream=out))
    # the progress line counts every flag, not the one status a call shows
    line = out.getvalue().split("flagging faults ...\n", 1)[1].splitlines()[0]
    assert "unparseable_date 1" in line and "unknown_call_type 2" in line
    row11 = _by_row(a).loc[11]
    assert row11["flag_unparseable_date"] and row11["flag_unknown_call_type"]
    q = a.quality["calls"]
    assert q["flag_counts"]["unparseable_date"] == 1
    assert q["flag_counts"]["unknown_call_type"] == 2  # rows 7 and 11
    # the display status shows one of them; the flags keep both
    assert q["status_counts"]["unparseable_date"] == 1
    assert q["status_counts"]["unknown_call_type"] == 1
    flags = a.calls[[c for c in a.calls if c.startswith("flag_")]]
    assert flags.sum().to_dict() == {f"flag_{k}": v for k, v in q["flag_counts"].items()}
    # row 11 still counts in A, in period "all"
    assert list(a.neighborhoods["calls_total"]) == [3, 2, 1, 2]
    assert int(np.count_nonzero(flags.sum(axis=1) >= 2)) >= 1
