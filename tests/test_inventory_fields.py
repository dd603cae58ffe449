"""The inventory fields of a provider file: validation naming every bad row and field,
and the stale flags by date."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from safetygap.errors import ValidationError
from safetygap.inputs import providers_from_frame
from safetygap.inputs.inventory_fields import months_between, stale_flags
from safetygap.taxonomy import load_taxonomy

TODAY = dt.date(2025, 7, 15)


def _rows(**over):
    base = {"organisation": ["Org A", "Org B"], "programme": ["Youth Hub", ""],
            "service_type": ["youth_program", "youth_program"], "capacity": [3, 4],
            "latitude": [44.9, 44.91], "longitude": [-93.2, -93.21]}
    return pd.DataFrame(base | over)


def test_every_bad_field_named_with_its_row():
    frame = _rows(capacity_unit=["staff FTE", "beds"], phone=["612-555-0100", "12"],
                  website=["example.org", "javascript:alert(1)"],
                  last_verified=["2024-13-01", "2030-01-01"])
    with pytest.raises(ValidationError) as err:
        providers_from_frame(frame, taxonomy=load_taxonomy(), today=TODAY)
    probs = {(p.where, p.column) for p in err.value.problems}
    assert probs == {
        ("providers row 1", "last_verified"), ("providers row 2", "last_verified"),
        ("providers row 2", "phone"), ("providers row 2", "website"),
        ("providers rows 1, 2", "capacity_unit"),
    }
    assert "in the future" in str(err.value) and "'javascript:alert(1)'" in str(err.value)


def test_fields_normalised_and_name_derived():
    frame = _rows(capacity_unit=["staff FTE", "staff FTE"], phone=["612 555 0100 x12", ""],
                  website=["example.org/youth", "http://b.org"], languages=["English, Somali", ""],
                  last_verified=["2024-01", "2023-12-31T10:00:00"],
                  opening_hours=["Mo-Fr 15:00-20:00", ""], eligibility=["ages 12-24", ""])
    out, crs = providers_from_frame(frame, taxonomy=load_taxonomy(), today=TODAY)
    assert crs == "EPSG:4326"
    assert list(out["name"]) == ["Youth Hub (Org A)", "Org B"]
    assert list(out["website"]) == ["https://example.org/youth", "http://b.org"]
    assert list(out["languages"]) == ["English; Somali", ""]
    assert list(out["last_verified"]) == ["2024-01-01", "2023-12-31"]
    assert list(out["opening_hours"]) == ["Mo-Fr 15:00-20:00", ""]
    assert list(out["source"]) == ["", ""]


def test_no_name_column_and_no_organisation_is_missing_name():
    frame = _rows().drop(columns=["organisation", "programme"])
    with pytest.raises(ValidationError, match="name"):
        providers_from_frame(frame, taxonomy=load_taxonomy())


@pytest.mark.parametrize(("earlier", "months"), [
    ("2024-01-15", 18.0), ("2025-07-15", 0.0), ("2025-06-15", 1.0), ("2023-07-15", 24.0)])
def test_months_between_whole_months(earlier, months):
    assert months_between(dt.date.fromisoformat(earlier), TODAY) == pytest.approx(months)


def test_stale_flags_by_date():
    age, stale = stale_flags(pd.Series(["2024-01-15", "2024-01-14", "", "2025-07-01"]),
                             today=TODAY, months=18)
    assert list(stale) == [False, True, True, False]
    assert age[0] == 18.0 and np.isnan(age[2])
    _, stale12 = stale_flags(pd.Series(["2024-01-15", "2025-07-01"]), today=TODAY, months=12)
    assert list(stale12) == [True, False]
