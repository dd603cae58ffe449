"""Call times: the common export forms detected on a sample, parsed, and refused loudly
when the form is ambiguous or too many calls cannot be dated (issue 21, item 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from safetygap.cli._app import cli_message
from safetygap.errors import ValidationError
from safetygap.inputs import ColumnMap, read_calls
from safetygap.inputs.times import detect_time_form, parse_times, undated_report


@pytest.mark.parametrize(("values", "form", "first"), [
    (["2018-04-12T12:50:17", "2018-04-13 01:02"], "iso", "2018-04-12 12:50:17"),
    (["2018-04-12T17:50:17Z", "2018-04-13T01:02:00-05:00"], "iso", "2018-04-12 17:50:17"),
    (["04/12/2018 12:50:17 PM", "04/13/2018 12:05:00 AM", "4/30/2018 1:05 pm"], "us_12h",
     "2018-04-12 12:50:17"),
    (["04/12/2018 13:50", "04/30/2018 00:05", "12/31/2018 23:59:59"], "us_24h",
     "2018-04-12 13:50:00"),
    (["12/04/2018 13:50", "30/04/2018 00:05"], "day_first_24h", "2018-04-12 13:50:00"),
    (["13/04/2018 01:50:00 PM", "01/05/2018 11:00 AM"], "day_first_12h",
     "2018-04-13 13:50:00"),
    (["2021/01/01 00:15:00+00", "2021/01/02 13:00:00+00"], "year_first",
     "2021-01-01 00:15:00"),
    (["1523537417", "1523541017"], "epoch_s", "2018-04-12 12:50:17"),
    (["1523537417000", "1523541017000"], "epoch_ms", "2018-04-12 12:50:17"),
])
def test_common_forms_are_detected_and_parsed(values, form, first):
    got = detect_time_form(pd.Series(values), column="when")
    assert got.form == form and got.detected and got.sampled == len(values)
    times, bad = parse_times(pd.Series(values), got.form)
    assert not bad.any()
    assert times.iloc[0] == pd.Timestamp(first)


def test_us_twelve_hour_clock_noon_and_midnight():
    times, bad = parse_times(pd.Series(["04/12/2018 12:50:17 PM", "04/12/2018 12:50:17 AM",
                                        "04/12/2018 1:00 PM", "not a time"]), "us_12h")
    assert list(times.iloc[:3]) == [pd.Timestamp("2018-04-12 12:50:17"),
                                    pd.Timestamp("2018-04-12 00:50:17"),
                                    pd.Timestamp("2018-04-12 13:00")]
    assert list(bad) == [False, False, False, True]


def test_ambiguous_day_and_month_is_refused_with_the_choice():
    values = pd.Series(["04/05/2018 10:00", "03/11/2018 09:00", "12/01/2018 23:00"])
    with pytest.raises(ValidationError) as err:
        detect_time_form(values, column="CallDate")
    text = str(err.value)
    assert "'CallDate'" in text and "ambiguous" in text
    assert "option `time_format` us_24h" in text
    assert "--time-format day_first_24h" in cli_message(text)


def test_no_known_form_names_the_column_examples_and_option():
    with pytest.raises(ValidationError) as err:
        detect_time_form(pd.Series(["yesterday", "last week", "noon", "later"]), column="t")
    text = str(err.value)
    assert "'t'" in text and "'yesterday', 'last week', 'noon'" in text
    assert "option `time_format`" in text and "--time-format" in cli_message(text)


def test_detection_takes_the_form_most_values_fit():
    values = pd.Series(["04/13/2018 12:50:17 PM"] * 9 + ["garbage"])
    got = detect_time_form(values, column="t")
    assert (got.form, got.fitting, got.sampled) == ("us_12h", 9, 10)


def test_read_calls_detects_a_us_export_and_two_columns(tmp_path):
    p = tmp_path / "calls.csv"
    pd.DataFrame({
        "id": ["a", "b", "c"], "call_type": ["X", "Y", "Z"], "agency": ["P", "P", "P"],
        "when": ["04/12/2018 12:50:17 PM", "04/13/2018 12:05:00 AM", "04/30/2018 11:59 PM"],
        "day": ["04/12/2018", "04/13/2018", "04/30/2018"],
        "clock": ["12:50:17 PM", "12:05:00 AM", "11:59 PM"],
        "latitude": [45.0] * 3, "longitude": [-93.0] * 3,
    }).to_csv(p, index=False)
    want = [pd.Timestamp("2018-04-12 12:50:17"), pd.Timestamp("2018-04-13 00:05"),
            pd.Timestamp("2018-04-30 23:59")]
    base = dict(id="id", call_type="call_type", agency="agency", latitude="latitude",
                longitude="longitude")
    one = read_calls(p, columns=ColumnMap(time="when", **base))
    assert list(one.frame["time"]) == want
    assert one.time_form.form == "us_12h" and one.time_form.detected
    assert "12-hour clock" in one.time_form.describe()
    two = read_calls(p, columns=ColumnMap(date="day", time="clock", **base))
    assert list(two.frame["time"]) == want
    assert two.time_form.form == "us_12h" and two.time_form.column == "day+clock"
    given = read_calls(p, columns=ColumnMap(time="when", time_format="us_12h", **base))
    assert not given.time_form.detected and list(given.frame["time"]) == want


def test_undated_share_stops_with_column_examples_and_option():
    form = detect_time_form(pd.Series(["2018-04-12T10:00"]), column="when")
    undated = np.array([True, True, True, False] + [False] * 16)  # 3 of 20: 15%
    examples = [{"row": i, "value": v} for i, v in enumerate(["n/a", None, "??"], 1)]
    with pytest.raises(ValidationError) as err:
        undated_report(undated, form=form, examples=examples)
    text = str(err.value)
    assert "'when'" in text and "3 of 20 calls (15.0%)" in text
    assert "'n/a', <empty>, '??'" in text and "option `accept_undated`" in text
    assert "option `time_format`" in text and "--" not in text  # the core names options
    assert "--accept-undated" in cli_message(text) and "--time-format" in cli_message(text)
    ok = undated_report(undated, form=form, examples=examples, accept=True)
    assert ok["rates_undated"] and ok["calls"] == 3 and ok["share"] == 0.15
    assert "rates are undated" in ok["words"]
    below = undated_report(undated, form=form, examples=examples, max_share=0.2)
    assert not below["rates_undated"] and not below["over_max_share"]
