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


# ----------------------------------------------- examples that must work on the demo city

README = DOC.parents[1] / "README.md"


def _template() -> pd.DataFrame:
    return pd.read_csv(resources.files("safetygap") / "data" / "providers_template.csv")


def _csv_blocks(text: str) -> list[pd.DataFrame]:
    import io

    return [pd.read_csv(io.StringIO(b)) for b in re.findall(r"```csv\n(.*?)```", text, re.S)]


def test_doc_shows_the_template_as_shipped():
    assert _csv_blocks(DOC.read_text())[0].equals(_template())


def test_template_capacities_are_in_the_demo_citys_unit(demo_workspace):
    """The template's capacities are staff FTE like the demo city's providers: each within
    the range of the demo's providers of its service type."""
    from safetygap.workspace import Workspace

    demo = Workspace.open(demo_workspace).providers
    for row in _template().itertuples():
        same = demo.loc[demo["service_type"] == row.service_type, "capacity"]
        assert same.min() <= row.capacity <= same.max(), (row.service_type, row.capacity)


def test_doc_demo_example_is_accepted_and_the_template_refused_with_a_hint(demo_workspace):
    from safetygap.errors import ValidationError
    from safetygap.scenarios import load_baseline, new_providers

    base = load_baseline(demo_workspace)
    demo_rows = _csv_blocks(DOC.read_text())[1]
    placed = new_providers(base, demo_rows, where="providers")
    assert placed["neighborhood_id"].notna().all()  # inside the city, not just near it
    with pytest.raises(ValidationError) as err:
        new_providers(base, _template(), where="providers")
    assert len(err.value.problems) == 3
    for p in err.value.problems:
        assert re.search(r"the point is 1[5-7]\d\.\d km outside", p.message), p.message
        assert "is this point in the city being analysed? the city spans latitude 43." \
            in p.message
        assert "exchanged" not in p.message


def _readme_scenarios() -> tuple[dict, tuple[float, float]]:
    """The README's what-if curl body for the demo city, and its Minneapolis point."""
    import json

    text = README.read_text(encoding="utf-8")
    body = re.search(r"api/scenarios -H 'content-type: application/json' -d '(\{.*?\})'",
                     text, re.S)[1]
    mpls = re.search(r"Minneapolis\*\* workspace.*?\"latitude\": ([\d.]+), \"longitude\": "
                     r"(-[\d.]+)", text, re.S)
    return json.loads(body), (float(mpls[1]), float(mpls[2]))


def test_readme_whatif_example_runs_on_the_demo_city(demo_client):
    body, (lat, lon) = _readme_scenarios()
    r = demo_client.post("/api/scenarios", json=body)
    assert r.status_code == 200, r.text
    (p,) = r.json()["providers"]
    assert p["neighborhood_id"] is not None and p["family"] == "prevention"
    assert r.json()["totals"]["prevention"]["calls_newly_covered"] > 0
    # the labelled Minneapolis point is refused on the demo city, saying where the city is
    other = {"providers": [body["providers"][0] | {"latitude": lat, "longitude": lon}]}
    r = demo_client.post("/api/scenarios", json=other)
    assert r.status_code == 422
    msg = r.json()["message"]
    assert "km outside the city's neighborhoods (is this point in the city being analysed? " \
        "the city spans latitude 43." in msg
    assert "exchanged" not in msg
