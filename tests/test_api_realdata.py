"""The web app on the real Minneapolis data (87 neighborhoods, 13 wards, 2021 incidents):
every route answers, with the real boundaries' names and shapes."""

from __future__ import annotations

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape
from test_realdata import run_real

from safetygap.api.app import create_app
from safetygap.api.models import AreaCollection, AreaProfile, GapRanking, HexCollection
from safetygap.workspace import write_workspace

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def real_client(tmp_path_factory):
    _, analysis = run_real(tmp_path_factory, "Police_Incidents_2021_Jan-May.csv",
                           "minneapolis-police-incidents")
    ws = write_workspace(analysis, tmp_path_factory.mktemp("mpls-ws") / "workspace")
    with TestClient(create_app(ws), raise_server_exceptions=False) as c:
        yield c


def test_real_layers_and_profiles(real_client):
    fc = AreaCollection.model_validate(real_client.get("/api/neighborhoods").json())
    assert len(fc.features) == 87
    geoms = [shape(f.geometry.model_dump(exclude_none=True)) for f in fc.features]
    assert all(g.is_valid and not g.is_empty for g in geoms)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    assert -93.4 < minx < maxx < -93.1 and 44.85 < miny < maxy < 45.1  # Minneapolis, degrees
    wards = AreaCollection.model_validate(real_client.get("/api/wards").json())
    assert len(wards.features) == 13
    for f in fc.features[:5] + wards.features[:2]:
        level = "neighborhoods" if f in fc.features else "wards"
        r = real_client.get(f"/api/{level}/{f.id}")
        assert r.status_code == 200, r.text[:200]
        AreaProfile.model_validate(r.json())
    g = GapRanking.model_validate(real_client.get("/api/gaps?level=ward&top=3").json())
    assert all(len(v) == 3 for v in g.families.values())
    h = HexCollection.model_validate(real_client.get("/api/hexbins").json())
    assert h.total_calls > 1000 and len(h.features) < h.total_calls


def test_real_pages(real_client):
    for page in ("/", "/maps/gaps", "/maps/gaps?level=ward", "/maps/wards/1"):
        r = real_client.get(page)
        assert r.status_code == 200, (page, r.text[:200])
        assert len(r.content) < 1_000_000
