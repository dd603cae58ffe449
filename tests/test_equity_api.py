"""GET /api/equity and /api/equity/areas, the equity map page and the report's section, on
the demo city (its demographics.csv), against figures recomputed from the input files."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from safetygap.equity.moe import moe_proportion, moe_sum


@pytest.fixture(scope="module")
def data_dir(demo_workspace):
    return demo_workspace.parent / "data"


@pytest.fixture(scope="module")
def table(data_dir):
    return pd.read_csv(data_dir / "demographics.csv")


def test_city_figures_recomputed_from_the_table(demo_client, demo_workspace, table):
    r = demo_client.get("/api/equity")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["synthetic"] is True and body["scope"]["level"] == "city"
    keys = [g["key"] for g in body["groups"]]
    assert keys[:3] == ["of_color", "white_nh", "black"]
    black = next(g for g in body["groups"] if g["key"] == "black")
    g, u = table["black"].sum(), table["total_population"].sum()
    assert black["total"]["share"] == pytest.approx(g / u, abs=1e-6)
    g_moe = float(moe_sum(table["black_moe"], table["black"]))
    u_moe = float(moe_sum(table["total_population_moe"], table["total_population"]))
    assert black["total"]["share_moe"] == pytest.approx(
        float(moe_proportion(g, u, g_moe, u_moe)), abs=1e-6)
    cv = black["total"]["share_moe"] / 1.645 / black["total"]["share"]
    assert black["reliability"] == ("reliable" if cv < 0.12 else "caution")
    # of color = the sum of four columns: its MOE by the sum formula per area first
    oc = next(x for x in body["groups"] if x["key"] == "of_color")
    assert oc["total"]["group"] == pytest.approx(
        table[["black", "hispanic", "asian", "other_race"]].to_numpy().sum())
    ma = black["mean_access"]["prevention"]
    assert ma["group"]["low"] <= ma["group"]["estimate"] <= ma["group"]["high"]
    assert "prevention access" in ma["sentence"]
    # the disparity from the analysis' own need/access classes: Black residents' share in
    # the neighborhoods underserved for prevention, recomputed from the table and the layer
    assert body["disparity_available"] is True
    layer = gpd.read_parquet(demo_workspace / "neighborhoods.parquet")
    under = set(layer.loc[layer["underserved_prevention"] == 1, "name"])
    classified = set(layer.loc[layer["class_prevention"] > 0, "name"])
    rows = table[table["neighborhood"].isin(classified)]
    inside = rows["neighborhood"].isin(under).to_numpy()
    d = black["disparity"]["prevention"]
    assert d["underserved_areas"] == len(under)
    assert d["share_group"]["estimate"] == pytest.approx(
        rows["black"].to_numpy()[inside].sum() / rows["black"].sum(), abs=1e-6)
    others = (rows["total_population"] - rows["black"]).to_numpy()
    assert d["share_others"]["estimate"] == pytest.approx(
        others[inside].sum() / others.sum(), abs=1e-6)
    assert d["difference"]["low"] <= d["difference"]["estimate"] <= d["difference"]["high"]


def test_ward_figures_follow_the_area_crosswalk(demo_client, data_dir, table):
    nb = gpd.read_file(data_dir / "neighborhoods.gpkg")
    wd = gpd.read_file(data_dir / "wards.gpkg")
    pieces = gpd.overlay(nb, wd[["ward_id", "geometry"]], how="intersection")
    pieces["w"] = pieces.area / pieces["name"].map(
        pd.Series(nb.area.to_numpy(), index=nb["name"]))
    pieces = pieces[pieces["ward_id"] == "3"]
    kids = pieces["name"].map(table.set_index("neighborhood")["age_17_under"])
    r = demo_client.get("/api/equity", params={"ward": "3"}).json()
    assert r["scope"] == {"level": "ward", "area_id": "3", "name": "Ward 3"}
    children = next(g for g in r["groups"] if g["key"] == "children")
    assert children["total"]["group"] == pytest.approx((kids * pieces["w"]).sum(), rel=1e-6)
    bad = demo_client.get("/api/equity", params={"ward": "99"})
    assert bad.status_code == 422 and "ward" in bad.json()["message"]


def test_area_layer_shares_terciles_and_reliability(demo_client, table):
    r = demo_client.get("/api/equity/areas", params={"group": "black",
                                                     "family": "prevention"})
    assert r.status_code == 200, r.text
    fc = r.json()
    assert len(fc["features"]) == len(table) and len(fc["legend"]) == 9
    props = pd.DataFrame([f["properties"] for f in fc["features"]]).set_index("name")
    t = table.set_index("neighborhood")
    share = t["black"] / t["total_population"]
    assert props["share"].to_numpy() == pytest.approx(share[props.index].to_numpy())
    moe = moe_proportion(t["black"], t["total_population"], t["black_moe"],
                         t["total_population_moe"])[props.index.get_indexer(t.index)]
    cv = pd.Series(moe / 1.645 / share.to_numpy(), index=t.index)[props.index]
    assert (props["unreliable"] == (cv > 0.30)).all()
    assert (props.loc[cv < 0.12, "reliability"] == "reliable").all()
    # terciles by percentile position (rank - 1/2) / n, ties sharing their average rank
    both = props["share"].notna() & props["access"].notna()
    for col, t_col in (("share", "share_tercile"), ("access", "access_tercile")):
        v = props.loc[both, col].to_numpy()
        p = (rankdata(v) - 0.5) / len(v)
        expect = np.where(p < 1 / 3, 1, np.where(p < 2 / 3, 2, 3))
        assert props.loc[both, t_col].tolist() == expect.tolist()
    cls = 3 * (props["share_tercile"] - 1) + props["access_tercile"]
    assert (props.loc[both, "bivariate_class"] == cls[both]).all()
    concern = props[props["bivariate_class"] == 7]
    assert (concern["label"] == "high share, low access").all() and len(concern)


def test_area_layer_downloads_and_errors(demo_client, client):
    csv = demo_client.get("/api/equity/areas", params={"group": "poverty",
                                                       "family": "response",
                                                       "format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    head = csv.text.splitlines()[0]
    assert "share_low" in head and "reliability" in head
    bad = demo_client.get("/api/equity/areas", params={"group": "martians",
                                                       "family": "response"})
    assert bad.status_code == 422 and "poverty" in bad.json()["message"]
    none = client.get("/api/equity")  # the tiny city was analysed without demographics
    assert none.status_code == 404
    assert "`safetygap analyze --demographics FILE`" in none.json()["message"]


def test_equity_map_page_and_report_section(demo_client, demo_workspace):
    page = demo_client.get("/maps/equity", params={"group": "poverty",
                                                   "family": "restoration"})
    assert page.status_code == 200, page.text
    html = page.text
    assert "residents below the poverty line against restoration access" in html
    assert "High share, low access" in html and "unreliable" in html
    assert "<select id='sg-group' name='group'>" in html
    bad = demo_client.get("/maps/equity", params={"group": "nobody"})
    assert bad.status_code == 422
    from safetygap.maps.report import build_report
    from safetygap.readmodel import WorkspaceView
    from safetygap.workspace import Workspace

    report = build_report(WorkspaceView(Workspace.open(demo_workspace)))
    assert "Who lives in the city" in report and "Residents by group" in report
    assert "Black residents (not Hispanic)" in report
    assert "SYNTHETIC" in report and "these residents do not exist" in report
    index = demo_client.get("/").text
    assert 'href="/maps/equity"' in index


def test_ward_page_has_the_ward_equity_section(demo_client):
    body = demo_client.get("/api/equity", params={"ward": "3"}).json()
    page = demo_client.get("/wards/3")
    assert page.status_code == 200
    html = page.text
    assert "Who lives in Ward 3" in html and "Residents by group" in html
    poverty = next(g for g in body["groups"] if g["key"] == "poverty")
    assert f"{100 * poverty['total']['share']:.1f}%" in html
    nb = demo_client.get("/neighborhoods/N01").text
    assert "Who lives in" not in nb and "Who lives here" in nb
    layer = demo_client.get("/api/equity/areas", params={"group": "black",
                                                         "family": "response"}).json()
    n01 = next(f["properties"] for f in layer["features"] if f["id"] == "N01")
    assert f"{100 * n01['share']:.1f}%" in nb and n01["reliability"] in nb


def test_every_measure_csv_carries_the_equity_columns(demo_client, client, table):
    import io

    csv = demo_client.get("/api/neighborhoods", params={"format": "csv"})
    frame = pd.read_csv(io.StringIO(csv.text)).set_index("name")
    t = table.set_index("neighborhood")
    assert frame.loc[t.index, "group_count_black"].tolist() == t["black"].tolist()
    assert frame.loc[t.index, "group_share_moe_black"].notna().all()
    assert set(frame["group_reliability_black"]) <= {"reliable", "caution", "unreliable"}
    assert "universe_households" in frame.columns
    wards = pd.read_csv(io.StringIO(demo_client.get("/api/wards",
                                                    params={"format": "csv"}).text))
    assert wards["group_count_poverty"].sum() == pytest.approx(t["below_poverty"].sum())
    tiny = client.get("/api/neighborhoods", params={"format": "csv"}).text.splitlines()[0]
    assert "group_" not in tiny


def test_equity_map_says_it_is_the_same_every_year(demo_client, demo_workspace):
    """The equity map has no year picker because its values do not vary by year: access
    (residents as demand, no calls) is the same in every year's figures as over all years,
    and the group shares come from one survey; the page says so."""
    import numpy as np

    from safetygap.readmodel import WorkspaceView
    from safetygap.workspace import Workspace

    view = WorkspaceView(Workspace.open(demo_workspace))
    every = view.values("neighborhood")
    assert view.years
    for year in view.years:
        one = view.values("neighborhood", year=year)
        for f in ("response", "prevention", "restoration"):
            col = f"access_{f}"
            assert np.isfinite(one[col].to_numpy(float)).any()
            assert np.allclose(one[col].to_numpy(float), every[col].to_numpy(float),
                               equal_nan=True), (year, f)
    html = demo_client.get("/maps/equity", params={"group": "poverty"}).text
    assert "The same map for every year, so there is no year to choose" in html
    assert 'name="year"' not in html and "name='year'" not in html
