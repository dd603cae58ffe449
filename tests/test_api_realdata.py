"""The web app on the real Minneapolis data (87 neighborhoods, 13 wards, 2021 incidents):
every route answers, with the real boundaries' names and shapes."""

from __future__ import annotations

import pytest
import shapely
from conftest import app_client
from shapely.geometry import shape
from test_realdata import run_real

from safetygap.api.models import AreaCollection, AreaProfile, GapRanking, HexCollection
from safetygap.workspace import write_workspace

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def real_ws(tmp_path_factory):
    _, analysis = run_real(tmp_path_factory, "Police_Incidents_2021_Jan-May.csv",
                           "minneapolis-police-incidents")
    return write_workspace(analysis, tmp_path_factory.mktemp("mpls-ws") / "workspace")


@pytest.fixture(scope="module")
def real_client(real_ws):
    with app_client(real_ws) as c:
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
    for page in ("/", "/maps/gaps", "/maps/gaps?level=ward", "/maps/wards/1", "/wards/1"):
        r = real_client.get(page)
        assert r.status_code == 200, (page, r.text[:200])
        assert len(r.content) < 1_000_000


def test_real_sites_and_scenario(real_client, real_ws):
    """Three new restoration sites in Minneapolis; the calls they newly cover counted again
    from the workspace's calls with scipy's cdist (a second method)."""
    import geopandas as gpd
    import numpy as np
    from scipy.spatial.distance import cdist

    from safetygap.api.models_sites import ScenarioResult, SiteRecommendation

    r = real_client.get("/api/sites?family=restoration&k=3")
    assert r.status_code == 200, r.text[:300]
    s = SiteRecommendation.model_validate(r.json())
    assert len(s.sites) == 3 and s.distance_model == "straight-line"
    gains = [x.marginal_calls for x in s.sites]
    assert gains == sorted(gains, reverse=True) and gains[-1] > 0
    assert all(-93.4 < x.longitude < -93.1 and 44.85 < x.latitude < 45.1 for x in s.sites)
    assert all(x.neighborhoods and x.wards for x in s.sites)
    from safetygap.taxonomy import load_taxonomy

    calls = gpd.read_parquet(real_ws / "calls.parquet",
                             columns=["status", "family", "category", "coverable", "covered",
                                      "geometry"])
    need = calls[calls["status"].isin(["ok", "unparseable_date", "unknown_call_type"])
                 & (calls["family"] == "restoration") & calls["coverable"]]
    assert s.need_calls == len(need) and s.covered_before == int(need["covered"].sum())
    # the new sites cover only calls of the categories their service type handles
    handles = load_taxonomy().service_types[s.service_type].handles
    need = need[need["category"].astype(str).isin(handles)]
    sites = gpd.GeoSeries(gpd.points_from_xy([x.longitude for x in s.sites],
                                             [x.latitude for x in s.sites]),
                          crs="EPSG:4326").to_crs(calls.crs)
    left = need[~need["covered"]]
    d = cdist(np.column_stack([left.geometry.x, left.geometry.y]),
              np.column_stack([sites.x, sites.y]))
    assert int((d <= s.catchment + 0.01).any(axis=1).sum()) == s.covered_after - s.covered_before

    site = s.sites[0]
    body = {"providers": [{"name": "proposed", "service_type": s.service_type, "capacity": 5,
                           "latitude": site.latitude, "longitude": site.longitude}]}
    r = real_client.post("/api/scenarios", json=body)
    assert r.status_code == 200, r.text[:300]
    w = ScenarioResult.model_validate(r.json())
    assert w.totals["restoration"].calls_newly_covered == site.marginal_calls
    assert len(w.neighborhoods) == 87 and len(w.wards) == 13
    assert real_client.get("/maps/sites?family=restoration&k=3").status_code == 200
