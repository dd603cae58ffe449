"""What proposed sites and what-if services newly reach, worked out by hand on the tiny city
(tests/conftest.py) with named streets: the nearest intersection or street of each site,
the residents newly reached (areal weighting, checked against geopandas overlay), the calls
a non-police responder could take, and siting as if no provider existed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    CRS,
    X0,
    Y0,
    app_client,
    grid_segments,
    make_tiny_areas,
    tiny_residents_within,
    write_tiny_city,
)
from pyproj import Transformer
from shapely.geometry import Point

from safetygap.geo.siting import CIRCLE_QUAD_SEGS
from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions
from safetygap.run import run_analysis

TO_LL = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def ll(x: float, y: float) -> dict:
    lon, lat = TO_LL.transform(X0 + x, Y0 + y)
    return {"latitude": lat, "longitude": lon}


def named_streets(root: Path) -> Path:
    """The 5 x 5 grid of 500 m blocks over the tiny city with names: the east-west lines
    y = 0, 500, ... are Street 0..4, the north-south lines x = 0, 500, ... Avenue 0..4."""
    from safetygap.inputs.network import segments_to_graph, write_graphml

    x, y, u, v = grid_segments()
    horizontal = y[u] == y[v]
    name = np.where(horizontal, [f"Street {int(y[a] // 500)}" for a in u],
                    [f"Avenue {int(x[a] // 500)}" for a in u])
    graph = segments_to_graph(X0 + x, Y0 + y, u, v, crs=CRS,
                              highway=np.full(len(u), "residential", dtype=object),
                              name=name.astype(object))
    return write_graphml(graph, root / "named.graphml")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("sites-reach")
    files = write_tiny_city(root, make_tiny_areas())
    run_analysis(AnalysisInputs(**files, streets=named_streets(root)), root / "ws",
                 options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True),
                 quiet=True)  # the tiny city's one undated row of 11
    assert (root / "ws" / "streets.parquet").is_file()
    with app_client(root / "ws") as c:
        yield c


def test_a_crisis_site_as_if_no_provider_existed(client):
    """Response calls 1, 2 and 11 at (100, 100), (200, 200), (300, 300) in A are all
    within 160 m of (220, 200) (156, 20 and 128 m) and all of a kind a non-police
    responder can take (behavioral crisis). The BCR team at the origin reaches the whole
    city, so kept, nothing is left to cover; ignored, the site covers the 3 calls. The
    disc of 160 m lies inside A (1,000 residents a km²): pi x 0.16² km² x 1,000 = 80.4
    residents (the drawn disc is a 64-gon: 99.8% of it). The site is 200 m from Street 0
    (y = 0) and 220 m from Avenue 0: no corner within 60 m."""
    body = {"family": "response", "k": 1, "catchment": 160,
            "candidates": [ll(220, 200)]}
    kept = client.post("/api/sites", json=body).json()
    assert kept["sites"] == [] and kept["existing"] == "keep"
    assert kept["coverage_before"] == 1.0
    r = client.post("/api/sites", json={**body, "existing": "ignore"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["existing"] == "ignore" and got["covered_before"] == 0
    (site,) = got["sites"]
    assert site["marginal_calls"] == 3 and site["eligible_newly_covered"] == 3
    assert site["residents_newly_reached"] == pytest.approx(1000 * math.pi * 0.16 ** 2,
                                                            abs=1.0)
    assert got["residents_newly_reached"] == site["residents_newly_reached"]
    assert site["address"] == "about 200 m from Street 0"


def test_a_prevention_site_reaches_residents_beyond_the_existing_providers(client):
    """Call 4 (1050, 950) is 1,202 m from the youth program P2 (1900, 100) whose catchment
    is 1,200 m: not covered. A site at (1050, 1250) with a 400 m catchment covers it. Its
    residents newly reached: the disc minus P2's disc, over the four squares, each
    square's population spread evenly (geopandas overlay, a second method). The site is
    on Street 2 (y = 1000 is 250 m away; x = 1000 is Avenue 2, 50 m away) -> Avenue 2."""
    r = client.post("/api/sites", json={"family": "prevention", "k": 1, "catchment": 400,
                                        "candidates": [ll(1050, 1250)]})
    assert r.status_code == 200, r.text
    (site,) = r.json()["sites"]
    assert site["marginal_calls"] == 1 and site["eligible_newly_covered"] == 0
    new = Point(1050, 1250).buffer(400, quad_segs=CIRCLE_QUAD_SEGS).difference(
        Point(1900, 100).buffer(1200, quad_segs=CIRCLE_QUAD_SEGS))
    assert site["residents_newly_reached"] == pytest.approx(tiny_residents_within(new),
                                                            abs=1.0)
    assert site["address"] == "Avenue 2"


def test_what_if_totals_residents_and_eligible_calls(client):
    """Victim services (catchment 4,000 m) at (500, 1500) in C: every point of the 2 km
    city is within 2,121 m, so all 10,000 residents; the only restoration provider, P3,
    is 50 km away and reaches none of them. Its call, 5 (domestic), is not of a kind a
    non-police responder takes."""
    r = client.post("/api/scenarios", json={"providers": [{
        "name": "new", "service_type": "victim_services", "capacity": 1, **ll(500, 1500)}]})
    assert r.status_code == 200, r.text
    t = r.json()["totals"]["restoration"]
    assert t["calls_newly_covered"] == 1 and t["eligible_newly_covered"] == 0
    assert t["residents_newly_reached"] == pytest.approx(10_000, abs=1.0)


def test_sites_csv_carries_address_and_residents_and_a_header_without_sites(client):
    text = client.get("/api/sites?family=prevention&k=1&format=csv").text
    header, *rows = text.strip("\n").split("\n")
    cols = header.split(",")
    assert {"address", "residents_newly_reached", "eligible_newly_covered",
            "longitude", "latitude"} <= set(cols)
    assert len(rows) == 1
    empty = client.get("/api/sites?family=response&k=1&format=csv").text
    assert empty.strip("\n").split("\n") == [header]  # no site, still the header


def test_what_if_change_downloads_as_csv(client):
    """The same victim services as above as a CSV of the change: one row per area of both
    levels, restoration only; call 5, the city's only restoration call, is in Charlie
    (ward 1) and comes within reach there, nowhere else has a restoration call."""
    import csv
    import io

    body = {"providers": [{"name": "new", "service_type": "victim_services", "capacity": 1,
                           **ll(500, 1500)}]}
    r = client.post("/api/scenarios?format=csv", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="safetygap-whatif-restoration.csv"' in r.headers["content-disposition"]
    assert r.text.split("\n")[0].startswith("level,family,area_id,name,coverage_before,")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["level"], x["area_id"]) for x in rows] == [
        ("neighborhood", "A"), ("neighborhood", "B"), ("neighborhood", "C"),
        ("neighborhood", "D"), ("ward", "1"), ("ward", "2")]
    assert {x["family"] for x in rows} == {"restoration"}
    within = {x["name"]: (x["coverage_before"], x["coverage_after"]) for x in rows}
    assert within["Charlie"] == ("0.0", "1.0") and within["Ward 1"] == ("0.0", "1.0")
    assert {within[n] for n in ("Alpha", "Bravo", "Delta", "Ward 2")} == {("", "")}
    bad = client.post("/api/scenarios?format=xlsx", json=body)
    assert bad.status_code == 422 and "format" in bad.text


def test_existing_reach_counts_the_providers_handling_the_same_calls(tmp_path):
    """Residents count as reached only by an existing provider doing the same work: with an
    animal control unit (10 km) at (5000, 5000) beside the crisis team P1 (6 km) at
    (0, 0), a new crisis team's existing reach is P1's disc, animal control's is its own
    disc, and the family's whole reach (no service type) is their union."""
    from safetygap.scenarios import existing_reach, load_baseline

    files = write_tiny_city(tmp_path, make_tiny_areas(), extra_providers=[
        ("PA", "Animal Control", "animal_control", 1.0, 5000, 5000)])
    run_analysis(AnalysisInputs(**files), tmp_path / "ws",
                 options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True),
                 quiet=True)  # the tiny city's one undated row of 11
    base = load_baseline(tmp_path / "ws")
    crisis = Point(X0, Y0).buffer(6000, quad_segs=CIRCLE_QUAD_SEGS)
    animal = Point(X0 + 5000, Y0 + 5000).buffer(10_000, quad_segs=CIRCLE_QUAD_SEGS)
    got = existing_reach(base, "response", service_types=["bcr_team"])
    assert got.symmetric_difference(crisis).area < 1e-6 * crisis.area
    got = existing_reach(base, "response", service_types=["animal_control"])
    assert got.symmetric_difference(animal).area < 1e-6 * animal.area
    union = crisis.union(animal)
    got = existing_reach(base, "response")
    assert got.symmetric_difference(union).area < 1e-6 * union.area
