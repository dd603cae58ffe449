"""The Minnesota Compass table (ACS 2012-2016, with MOEs) joined to the city's 87 official
neighborhood polygons: every one gets data or is reported with the reason."""

from __future__ import annotations

import numpy as np
import pytest

from safetygap.boundaries import load_boundaries
from safetygap.equity.moe import moe_proportion
from safetygap.inputs.demographics import read_demographics
from safetygap.stages.equity import NO_ROW, match_demographics

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def joined():
    from tests.conftest import require_shared

    shared = require_shared()
    nbhd, _ = load_boundaries(shared / "boundaries" / "Minneapolis_Neighborhoods.geojson",
                              layer="neighborhoods", id_column="BDNUM", name_column="BDNAME")
    nbhd = nbhd.to_crs("EPSG:26915")
    din = read_demographics(shared / "population" /
                            "mncompass_acs_2012_2016_neighborhoods.csv")
    demo, quality = match_demographics(din, nbhd)
    return nbhd, din, demo, quality


def test_every_official_neighborhood_gets_data_or_a_reason(joined):
    nbhd, din, demo, q = joined
    assert din.spec.name == "mncompass"  # recognised from its header
    assert q["rows_kept"] == 85 and q["matched_rows"] == 85 and q["unmatched_rows"] == []
    missing = {m["name"]: m["reason"] for m in q["areas_without_data"]}
    assert missing == {"Camden Industrial": NO_ROW["name"],
                       "Humboldt Industrial Area": NO_ROW["name"]}
    assert q["areas_with_data"] == 85 == len(nbhd) - 2
    # renamed neighborhoods and spelling differences matched, each listed
    renamed = q["matched_by_alias_or_folding"]
    for old, new in {"CARAG": "South Uptown", "ECCO": "East Bde Maka Ska",
                     "West Calhoun": "West Maka Ska", "Como (Minneapolis)": "Como",
                     "Bryn- Mawr": "Bryn - Mawr", "Near North": "Near - North"}.items():
        assert renamed[old] == new
    persons = demo.estimate["persons"]
    assert np.isfinite(persons).sum() == 85
    assert np.nansum(persons) == pytest.approx(404_385.4, abs=0.5)  # the data README's sum
    assert {g.key for g in din.spec.groups} >= {
        "of_color", "black", "hispanic", "poverty", "children", "older_adults",
        "no_vehicle", "limited_english"}


def test_shares_against_the_table_and_the_proportion_formula(joined):
    nbhd, _din, demo, _ = joined
    i = int(np.flatnonzero(nbhd["name"].to_numpy() == "Cedar Riverside")[0])
    s = demo.shares("black")
    # the table: 4,094 (MOE 701) Black residents of 8,576 (MOE 760)
    assert s.share[i] == pytest.approx(4094 / 8576)
    assert s.moe[i] == pytest.approx(float(moe_proportion(4094, 8576, 701, 760)))
    assert s.reliability[i] == "reliable"  # CV about 9%
    nv = demo.shares("no_vehicle")
    assert nv.share[i] == pytest.approx(1588.469191 / 3149)
