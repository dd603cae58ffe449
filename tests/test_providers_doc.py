"""The provider template and docs/PROVIDERS.md agree with the code; the Minneapolis
facility builder on the real files."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.inputs import read_providers
from safetygap.taxonomy import load_taxonomy

DOC = Path(__file__).resolve().parents[1] / "docs" / "PROVIDERS.md"


def test_template_reads_cleanly():
    tax = load_taxonomy()
    path = resources.files("safetygap") / "data" / "providers_template.csv"
    with resources.as_file(path) as p:
        prov = read_providers(p, taxonomy=tax)
    assert list(prov.frame["family"]) == ["response", "prevention", "restoration"]
    assert prov.crs == "EPSG:4326"
    assert (prov.frame["capacity"] > 0).all()


def test_doc_service_table_matches_taxonomy():
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| ([\d,]+) \| (.*) \|$", DOC.read_text(),
                      flags=re.MULTILINE)
    tax = load_taxonomy()
    documented = {name: (fam, float(c.replace(",", ""))) for name, fam, c, _ in rows}
    expected = {n: (s.family, s.catchment_m) for n, s in tax.service_types.items()}
    assert documented == expected


def test_doc_columns_match_reader():
    text = DOC.read_text()
    header = pd.read_csv(resources.files("safetygap") / "data" / "providers_template.csv",
                         nrows=0).columns
    for col in header:
        assert f"| `{col}`" in text or f"`{col}`" in text


@pytest.fixture
def facilities(shared_data):
    shared = shared_data
    return shared / "facilities", shared / "boundaries" / "Minneapolis_City_Boundary.geojson"


def test_minneapolis_facilities(facilities):
    from safetygap.sources.minneapolis import providers_from_facilities

    fac, city = facilities
    built = providers_from_facilities(fac, city)
    f = built.frame
    counts = f["service_type"].value_counts().to_dict()
    raw_fire = pd.read_csv(fac / "Fire_Stations.csv", encoding="utf-8-sig")
    assert counts["fire_station"] == len(raw_fire) == 19
    assert f.loc[f.service_type == "fire_station", "capacity"].sum() == raw_fire["RIG_COUNT"].sum()
    assert counts["police_station"] == 12
    # by hand from the HIFLD list: open, with an emergency department, beds known,
    # within 2 km of the city limits
    hospitals = f[f.service_type == "hospital"]
    names = {re.sub(r" \(trauma .*\)$", "", n) for n in hospitals["name"]}
    assert names == {
        "ABBOTT NORTHWESTERN HOSPITAL", "CHILDRENS HOSP AND CLINICS MPLS",
        "HENNEPIN COUNTY MEDICAL CTR", "UNIVERSITY OF MN MED CTR", "NORTH MEMORIAL HEALTH",
        "FAIRVIEW SOUTHDALE HOSPITAL", "REGENCY HOSPITAL OF MPLS LLC"}
    assert hospitals["capacity"].sum() == 972 + 279 + 894 + 1700 + 518 + 390 + 92
    reasons = {e["name"]: e["reason"] for e in built.excluded}
    assert reasons["SHRINERS HOSPITAL FOR CHILDREN"] == "status CLOSED"
    assert reasons["MINNEAPOLIS VA MEDICAL CENTER"].startswith("BEDS not available")
    assert "PHILLIPS EYE INSTITUTE" in reasons
    assert f["provider_id"].is_unique


def test_providers_cli(facilities, tmp_path):
    fac, city = facilities
    out = tmp_path / "providers.csv"
    res = CliRunner().invoke(app, ["providers", "minneapolis", "--facilities", str(fac),
                                   "--city", str(city), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "left out: SHRINERS" in res.output
    prov = read_providers(out, taxonomy=load_taxonomy())
    assert len(prov.frame) == 19 + 12 + 7
    assert set(prov.frame["family"]) == {"response"}


def test_providers_cli_missing_files(tmp_path):
    res = CliRunner().invoke(app, ["providers", "minneapolis", "--facilities", str(tmp_path),
                                   "--city", str(tmp_path / "city.geojson"),
                                   "--out", str(tmp_path / "p.csv")])
    assert res.exit_code == 2
    assert "Fire_Stations.csv" in res.output and "Hospitals_MN_HIFLD.csv" in res.output
