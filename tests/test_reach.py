"""Providers in reach of an area with the workspace's own distance model, by hand.

The tiny city (conftest) with three more providers, analysed twice: straight-line
metres, and walking minutes on the 500 m street grid (80 m/min, 500 m = 6.25 min):

  PX victim services (50 min walk, 4000 m) at (1900, 1900) in D, ward 2
  PY community center (20 min, 1600 m)    at (1700, 300)   in B, ward 2
  Q  youth program (15 min, 1200 m)       at (1700, 1700)  in D, ward 2

Q is 989.9 m from A in a straight line (within 1200 m) but on the streets it walks
hypot(200, 200) = 282.8 m to node (1500, 1500) (3.54 min) and then 1000 m to A's
corner node (1000, 1000) (12.5 min): 16.04 min > 15, so it reaches A only straight-line.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import X0, Y0, app_client, make_tiny_areas, write_tiny_city, write_tiny_network
from shapely.geometry import box

from safetygap.api.models import AreaProfile, ProviderCollection
from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions
from safetygap.readmodel import WorkspaceView
from safetygap.readmodel._reach import area_points, minutes_to_area
from safetygap.run import run_analysis
from safetygap.workspace import Workspace

WALK = 80.0  # metres per minute
EXTRA = [
    ("PX", "Victims First", "victim_services", 1.0, 1900, 1900),
    ("PY", "Rec Center", "community_center", 1.0, 1700, 300),
    ("Q", "Youth Hub", "youth_program", 1.0, 1700, 1700),
]


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("reach")
    files = write_tiny_city(d, make_tiny_areas(), extra_providers=EXTRA)
    network = write_tiny_network(d)
    out = {}
    for name, extra in (("straight", {}), ("walk", {"travel": "network", "mode": "walk"})):
        inputs = AnalysisInputs(**files, network=network if extra else None)
        run_analysis(inputs, d / name, quiet=True,
                     options=AnalysisOptions(columns=load_preset("generic"),
                                             accept_undated=True, **extra))
        out[name] = d / name
    return out


@pytest.fixture(scope="module")
def clients(workspaces):
    with app_client(workspaces["straight"]) as s, app_client(workspaces["walk"]) as w:
        yield {"straight": s, "walk": w}


def _profile(client, url: str) -> AreaProfile:
    r = client.get(url)
    assert r.status_code == 200, r.text
    return AreaProfile.model_validate(r.json())


def test_providers_carry_catchment_in_the_model_unit(clients):
    got = {}
    for name, client in clients.items():
        fc = ProviderCollection.model_validate(client.get("/api/providers").json())
        got[name] = {f.id: f.properties for f in fc.features}
        assert fc.distance_model == {"straight": "straight-line", "walk": "network-walk"}[name]
        assert fc.catchment_unit == {"straight": "m", "walk": "min"}[name]
    # taxonomy: youth_program 1200 m / 15 min walk; victim_services 4000 m / 50 min
    assert (got["straight"]["Q"].catchment, got["straight"]["Q"].catchment_unit) == (1200, "m")
    assert (got["walk"]["Q"].catchment, got["walk"]["Q"].catchment_unit) == (15, "min")
    assert got["walk"]["PX"].catchment == 50 and got["walk"]["PX"].catchment_m == 4000
    assert got["walk"]["P1"].distance_model == "network-walk"


def test_in_reach_straight_line_by_hand(clients):
    p = _profile(clients["straight"], "/api/neighborhoods/A")
    assert (p.distance_model, p.catchment_unit) == ("straight-line", "m")
    assert "straight-line distance" in p.reach
    # from the square [0, 1000]^2: PY 700 m, P2 (1900, 100) 900 m, Q hypot(700, 700),
    # PX hypot(900, 900); P3 is 49 km away
    assert [(q.provider_id, q.distance_m, q.travel_min) for q in p.providers_in_reach] == [
        ("PY", 700.0, None), ("P2", 900.0, None), ("Q", 989.9, None), ("PX", 1272.8, None)]
    assert [q.catchment for q in p.providers_in_reach] == [1600, 1200, 1200, 4000]


def test_in_reach_on_the_street_network_by_hand(clients):
    p = _profile(clients["walk"], "/api/neighborhoods/A")
    assert (p.distance_model, p.catchment_unit) == ("network-walk", "min")
    assert "street network" in p.reach
    c = math.hypot(200, 200) / WALK  # PY and Q walk to their nodes: 3.54 min
    c2 = math.hypot(100, 100) / WALK  # P2 and PX: 1.77 min
    expected = [
        ("PY", c + 500 / WALK),  # (1500, 500) -> (1000, 500): 9.79 min <= 20
        ("P2", c2 + 1000 / WALK),  # (2000, 0) -> (1000, 0): 14.27 min <= 15
        ("PX", c2 + 2000 / WALK),  # (2000, 2000) -> (1000, 1000): 26.77 min <= 50
    ]  # Q: c + 1000 / WALK = 16.04 min > 15, out of reach on foot
    assert [q.provider_id for q in p.providers_in_reach] == [e[0] for e in expected]
    assert [q.travel_min for q in p.providers_in_reach] == [
        pytest.approx(t, abs=0.005) for _, t in expected]
    assert [q.distance_m for q in p.providers_in_reach] == [700.0, 900.0, 1272.8]
    assert [(q.provider_id, q.travel_min) for q in p.providers_inside] == [("P1", 0.0)]


def test_ward_in_reach_on_the_street_network_by_hand(clients):
    # ward 1 = x in [0, 1500]: the nodes at x = 1500 lie on its line, so PY and Q
    # (3.54 min to (1500, 500) and (1500, 1500)) are there at once; P2 and PX walk
    # 1.77 min to a node and 500 m (6.25 min) along the street
    p = _profile(clients["walk"], "/api/wards/1")
    c, c2 = math.hypot(200, 200) / WALK, math.hypot(100, 100) / WALK + 500 / WALK
    assert [(q.provider_id, q.travel_min) for q in p.providers_in_reach] == [
        ("PY", pytest.approx(c, abs=0.005)), ("Q", pytest.approx(c, abs=0.005)),
        ("P2", pytest.approx(c2, abs=0.005)), ("PX", pytest.approx(c2, abs=0.005))]


def test_reach_agrees_with_the_travel_cost_matrix(workspaces):
    """Second method: forward Dijkstra from every provider (Travel.cost_matrix) to every
    point the area is reached at, the minimum per provider, against the catchment."""
    ws = Workspace.open(workspaces["walk"])
    view = WorkspaceView(ws)
    travel = ws.travel()
    prov = ws.providers
    pxy = (prov.geometry.x.to_numpy(), prov.geometry.y.to_numpy())
    catchment = prov["catchment_min"].to_numpy(float)
    checked = 0
    for level in ("neighborhood", "ward"):
        for pos, area_id in enumerate(view.area_ids(level)):
            geom = view.areas[level].geometry.iloc[pos]
            minutes = travel.cost_matrix(pxy, area_points(travel, geom)).min(axis=0)
            outside = (prov[f"{level}_id"].astype(str) != area_id).to_numpy()
            want = {pid: t for pid, t, ok in zip(prov["provider_id"], minutes,
                                                 outside & (minutes <= catchment), strict=True)
                    if ok}
            _, in_reach = view.providers_near(level, area_id)
            assert {r["provider_id"] for r in in_reach} == set(want)
            for r in in_reach:
                assert r["travel_min"] == pytest.approx(want[r["provider_id"]], abs=0.005)
            checked += 1
    assert checked == 6


def test_an_area_no_street_enters_is_reached_at_its_representative_point(workspaces):
    """A 100 m square between the grid's streets, nearest to node (0, 0): reached at its
    representative point, walked from that node."""
    travel = Workspace.open(workspaces["walk"]).travel()
    square = box(X0 + 100, Y0 + 100, X0 + 200, Y0 + 200)
    ax, ay = area_points(travel, square)
    assert len(ax) == 1  # no node inside: the representative point only
    walk_in = math.hypot(ax[0] - X0, ay[0] - Y0) / WALK
    # providers at nodes (0, 0) and (1000, 0): the walk in, and 12.5 min of street first
    t = minutes_to_area(travel, square, np.array([X0, X0 + 1000]), np.array([Y0, Y0]),
                        cutoff=60)
    assert t == pytest.approx([walk_in, 12.5 + walk_in])
    t = minutes_to_area(travel, square, np.array([X0, X0 + 1000]), np.array([Y0, Y0]),
                        cutoff=10)
    assert t[0] == pytest.approx(walk_in) and np.isinf(t[1])


# ------------------------------------------------------------------ pages


def test_pages_name_the_distance_model_and_catchments(clients):
    for name, label, youth in (
            ("straight", "straight-line distance (metres)", "youth program 1.2 km"),
            ("walk", "walking time on the street network (minutes)",
             "youth program 15 min walking")):
        client = clients[name]
        gaps = client.get("/maps/gaps").text
        assert f'"label": "{label}"' in gaps and youth in gaps
        report = client.get("/report").text
        assert label in report and youth in report
        panel = client.get("/maps/wards/1").text
        reach = re.search(r'<p class="sg-note" id="sg-reach">(.*?)</p>', panel, re.S)
        assert reach is not None and label in reach.group(1) and youth in reach.group(1)
    # the ward panel lists the providers reaching ward 1 from outside, in the model's unit
    panel = clients["walk"].get("/maps/wards/1").text
    table = panel[panel.index('id="sg-in-reach"'):]
    table = table[:table.index("</table>")]
    assert re.findall(r"<td>([\d.]+ min)</td></tr>", table) == [
        "3.5 min", "3.5 min", "8.0 min", "8.0 min"]
    straight = clients["straight"].get("/maps/wards/1").text
    table = straight[straight.index('id="sg-in-reach"'):]
    assert "200 m" in table[:table.index("</table>")]  # PY and Q 200 m from x = 1500


def test_a_workspace_missing_a_listed_file_is_refused(workspaces, tmp_path):
    """Reach on a network needs the saved network: a workspace whose manifest lists
    network.npz but lacks it is refused when opened (not a 500 at the first profile)."""
    import shutil

    from safetygap.errors import ValidationError

    ws = tmp_path / "ws"
    shutil.copytree(workspaces["walk"], ws)
    (ws / "network.npz").unlink()
    with pytest.raises(ValidationError, match=r"missing files \['network\.npz'\]"):
        Workspace.open(ws)
    (ws / "manifest.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"manifest\.json is not a JSON object"):
        Workspace.open(ws)
