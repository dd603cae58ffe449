"""The asset directory of a neighborhood or ward, on the tiny city of conftest (1 km
squares A B / C D; ward 1 = x 0..1500, ward 2 = x 1500..2000), worked out by hand:

    P1 crisis team       (0, 0) in A       catchment 6,000 m
    P2 youth program     (1900, 100) in B  catchment 1,200 m; stale (2022-01-01)
    S2 youth program     (1900, 1900) in D, serves "Alpha" (no catchment): 1,273 m from A
                         (beyond 1,200 m), 900 m from B and C (within)
    V1 victim services   (100, 1900) in C  catchment 4,000 m; never checked
    P3 victim services   50 km away: reaches nothing

as of 2025-01-31 (18 months: stale before 2023-07-31)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import X0, Y0, app_client, make_tiny_areas, write_tiny_city

from safetygap.api.models import AreaDirectory

AS_OF = dt.date(2025, 1, 31)
COLUMNS = ["provider_id", "name", "service_type", "capacity", "x", "y", "serves",
           "opening_hours", "phone", "website", "eligibility", "languages", "address",
           "organisation", "source", "last_verified", "geocode_quality"]
ROWS = [
    ("P1", "Crisis Team", "bcr_team", 2.0, 0, 0, "", "24/7", "612-555-0100",
     "https://crisis.example.org", "", "", "1 Alpha Ave", "City", "city", "2024-12-01", ""),
    ("P2", "Youth <Center> & Co", "youth_program", 10.0, 1900, 100, "",
     "Mo-Fr 15:00-20:00; Sa 10:00-16:00", "612 555 0101 x12", "", "ages 12-18",
     "English; Somali", "1900 Bravo St", "Prairie Youth", "hand", "2022-01-01", ""),
    ("S2", "Alpha Youth Outreach", "youth_program", 4.0, 1900, 1900, "Alpha", "", "", "",
     "", "", "", "", "hand", "2024-06-01", ""),
    ("V1", "Safe Harbor", "victim_services", 3.0, 100, 1900, "", "Mo-Fr 09:00-17:00", "",
     "", "survivors of crime", "", "100 Charlie Rd", "", "osm", "", "street_only"),
    ("P3", "Far Victim Services", "victim_services", 5.0, 50000, 0, "", "", "", "", "", "",
     "", "", "osm", "", ""),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from safetygap.inputs import load_preset
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import run_analysis

    d = tmp_path_factory.mktemp("directory")
    files = write_tiny_city(d, make_tiny_areas())
    prov = pd.DataFrame(ROWS, columns=COLUMNS)
    prov["x"] += X0
    prov["y"] += Y0
    prov.to_csv(d / "providers.csv", index=False)
    files["providers"] = d / "providers.csv"
    run_analysis(AnalysisInputs(**files), d / "ws", quiet=True, options=AnalysisOptions(
        columns=load_preset("generic"), providers_crs="EPSG:26915", as_of=AS_OF,
        accept_undated=True))  # the tiny city's one undated row of 11
    return d / "ws"


@pytest.fixture(scope="module")
def client(workspace):
    with app_client(workspace) as c:
        yield c


def rows(directory):
    return [(e["provider_id"], e["relation"], e["distance_m"]) for e in directory["entries"]]


def test_area_serving_providers_reach_exactly_their_areas(workspace):
    """The profile's providers in reach: S2 serves Alpha, not the areas its point is near."""
    from safetygap.readmodel import WorkspaceView
    from safetygap.workspace import Workspace

    view = WorkspaceView(Workspace.open(workspace))
    _, near_a = view.providers_near("neighborhood", "A")
    by_id = {r["provider_id"]: r for r in near_a}
    assert set(by_id) == {"S2", "P2", "V1"}
    assert by_id["S2"]["serves_here"] is True and by_id["S2"]["travel_min"] is None
    assert by_id["P2"]["serves_here"] is False
    for other in ("B", "C"):  # 900 m from S2's point, within a youth program's 1,200 m
        inside, near = view.providers_near("neighborhood", other)
        assert "S2" not in {r["provider_id"] for r in inside + near}, other
    _, near_w1 = view.providers_near("ward", "1")  # Alpha is in ward 1
    assert "S2" in {r["provider_id"] for r in near_w1}


def test_directory_json_by_hand(client):
    res = client.get("/api/neighborhoods/A/directory")
    assert res.status_code == 200
    d = AreaDirectory.model_validate(res.json()).model_dump()
    # by family, then located, serves, reaches; distances to A's nearest point
    assert rows(d) == [("P1", "located", 0.0), ("S2", "serves", 1272.8),
                       ("P2", "reaches", 900.0), ("V1", "reaches", 900.0)]
    assert d["counts"]["prevention"] == {"located": 0, "serves": 1, "reaches": 1}
    assert d["stale"] == 2  # P2 (2022-01-01) and V1 (never checked)
    p2 = next(e for e in d["entries"] if e["provider_id"] == "P2")
    assert (p2["opening_hours"], p2["languages"], p2["eligibility"]) == (
        "Mo-Fr 15:00-20:00; Sa 10:00-16:00", "English; Somali", "ages 12-18")
    b = client.get("/api/neighborhoods/B/directory").json()
    assert rows(b) == [("P1", "reaches", 1000.0), ("P2", "located", 0.0),
                       ("V1", "reaches", 1272.8)]
    w2 = client.get("/api/wards/2/directory").json()
    assert rows(w2) == [("P1", "reaches", 1500.0), ("S2", "located", 0.0),  # by name:
                        ("P2", "located", 0.0), ("V1", "reaches", 1400.0)]  # Alpha, Youth
    assert next(e for e in w2["entries"] if e["provider_id"] == "S2")["serves_here"] is False
    missing = client.get("/api/neighborhoods/ZZ/directory")
    assert missing.status_code == 404 and "ZZ" in missing.text


def test_directory_page(client):
    res = client.get("/neighborhoods/A/directory")
    assert res.status_code == 200
    html = res.text
    assert "<h1>Services for Alpha</h1>" in html
    assert "4 services serve Alpha: 1 response, 2 prevention, 1 restoration." in html
    assert "1 located in the neighborhood, 1 assigned to it, 2 located outside it" in html
    assert "Youth &lt;Center&gt; &amp; Co" in html and "<Center>" not in html
    assert "Monday to Friday 3 pm–8 pm; Saturday 10 am–4 pm" in html
    assert "Open 24 hours, every day" in html
    assert 'href="tel:6125550100"' in html and 'href="tel:6125550101"' in html
    assert "Assigned to this neighborhood (it serves: Alpha)." in html
    assert "900 m from the neighborhood (straight line). Office: 1900 Bravo St." in html
    # as of 2025-01-31, 2022-01-01 is 36 + 30/30.4375 = 37 months back
    assert ("Last checked 2022-01-01 (37 months before the analysis), longer ago than 18 "
            "months: call before you go.") in html
    assert "Never checked: call before you go." in html
    assert "Prairie Youth" in html and "ages 12-18" in html and "English, Somali" in html
    w2 = client.get("/wards/2/directory").text
    assert "In this ward. It serves other areas: Alpha." in w2
    nf = client.get("/wards/9/directory")
    assert nf.status_code == 404 and 'href="/wards/2/directory"' in nf.text
    # the area pages link to it
    assert 'href="/neighborhoods/A/directory"' in client.get("/neighborhoods/A").text
    assert 'href="/wards/2/directory"' in client.get("/wards/2").text


def test_index_states_the_inventory(client):
    html = client.get("/").text
    assert "The inventory of services" in html
    for row in ("<td>Response</td><td class=\"n\">1</td><td>city 1</td><td class=\"n\">0</td>",
                "<td>Prevention</td><td class=\"n\">2</td><td>hand 2</td><td class=\"n\">1</td>",
                "<td>Restoration</td><td class=\"n\">2</td><td>osm 2</td><td class=\"n\">2</td>"):
        assert row in html
    assert "3 stale in all, 2 of them never" in html
    assert "1 placed from an address matched to its street only" in html
    assert "1 serve named areas" in html
    assert 'href="/wards/1/directory"' in html


def test_hours_in_words():
    from safetygap.labels import hours_in_words

    assert hours_in_words("Mo-Fr 08:30-12:00,13:00-17:00; PH off") == (
        "Monday to Friday 8:30 am–noon and 1 pm–5 pm; public holidays closed")
    assert hours_in_words("Mo-Su 16:00-02:00") == "Every day 4 pm–2 am"
    assert hours_in_words("Sa,Su 10:00-18:00") == "Saturday and Sunday 10 am–6 pm"
    assert hours_in_words("Sa 12:00-24:00") == "Saturday noon–midnight"
    assert hours_in_words("Jan-Mar Mo 10:00-12:00") == "Jan-Mar Mo 10:00-12:00"  # as written
    assert hours_in_words("") == ""
