"""The pipeline on the real Minneapolis data in ../shared/data/minneapolis.

87 neighborhoods, 13 wards (2012-2022), the 2021 police incidents as calls,
fire and police stations as response providers, the 2015 ACS population.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze

pytestmark = pytest.mark.realdata


def facilities_providers(shared: Path, out: Path) -> Path:
    """Response-family providers from the real fire and police station files."""
    fire = pd.read_csv(shared / "facilities" / "Fire_Stations.csv", encoding="utf-8-sig")
    police = gpd.read_file(shared / "facilities" / "Police_Stations.geojson")
    rows = [
        {"provider_id": f"FS{r.STATION_NU}", "name": f"Fire Station {r.STATION_NU}",
         "service_type": "fire_station", "capacity": float(r.RIG_COUNT),
         "latitude": r.Y, "longitude": r.X}
        for r in fire.itertuples()
    ] + [
        {"provider_id": f"PS{i + 1}", "name": r.BUILDING_N, "service_type": "police_station",
         "capacity": 1.0, "latitude": r.geometry.y, "longitude": r.geometry.x}
        for i, r in police.iterrows()
    ]
    path = out / "providers.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def real_inputs(shared: Path, tmp: Path) -> AnalysisInputs:
    """The 2021 police incidents against the real boundaries, stations and population."""
    return AnalysisInputs(
        calls=shared / "incidents" / "Police_Incidents_2021_Jan-May.csv",
        providers=facilities_providers(shared, tmp),
        neighborhoods=shared / "boundaries" / "Minneapolis_Neighborhoods.geojson",
        wards=shared / "boundaries" / "City_Council_Wards_2012-2022.geojson",
        population=shared / "population" / "MplsDemo_2015_ACS.csv",
    )


@pytest.fixture(scope="module")
def real_analysis(tmp_path_factory):
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "minneapolis"
    if not shared.is_dir():
        pytest.skip(f"real Minneapolis data not found at {shared}")
    inputs = real_inputs(shared, tmp_path_factory.mktemp("mpls"))
    opts = AnalysisOptions(columns=load_preset("minneapolis-police-incidents"))
    return shared, analyze(inputs, options=opts)


def test_every_incident_matches_sjoin(real_analysis):
    shared, a = real_analysis
    raw = pd.read_csv(shared / "incidents" / "Police_Incidents_2021_Jan-May.csv",
                      encoding="utf-8-sig")
    nb = gpd.read_file(shared / "boundaries" / "Minneapolis_Neighborhoods.geojson")
    crs = a.crs
    pts = gpd.GeoDataFrame(
        {"row": np.arange(1, len(raw) + 1)},
        geometry=gpd.points_from_xy(raw["centerLong"], raw["centerLat"], crs="EPSG:4326"),
    ).to_crs(crs)
    located = ~((raw["centerLong"] == 0) & (raw["centerLat"] == 0))
    j = gpd.sjoin(pts[located.to_numpy()], nb.to_crs(crs)[["BDNUM", "geometry"]],
                  predicate="within", how="left")
    ref = j.groupby("row")["BDNUM"].first()
    calls = a.calls.set_index("row")
    ours = calls.loc[ref.index, "neighborhood_id"].astype(object)
    # calls outside the wards are excluded from both layers (totals conserved); compare the
    # rest one by one, and check that the excluded ones are exactly those sjoin leaves out
    # of a neighborhood or the wards.
    both = ours.notna()
    assert (ours[both] == ref[both].astype(str)).all()
    excluded = ref[~both]
    outside = calls.loc[excluded.index, "status"]
    assert set(outside) <= {"outside_boundaries"}
    assert both.sum() == a.quality["calls"]["analysed_in_areas"]
    assert len(raw) == a.quality["calls"]["input_rows"] == 6305


def test_counts_conserved_and_population(real_analysis):
    _, a = real_analysis
    n, w = a.neighborhoods, a.wards
    assert len(n) == 87 and len(w) == 13
    placed = a.quality["calls"]["analysed_in_areas"]
    assert n["calls_total"].sum() == w["calls_total"].sum() == placed
    for f in ("response", "prevention", "restoration"):
        assert n[f"calls_{f}"].sum() == w[f"calls_{f}"].sum()
    assert a.quality["calls"]["status_counts"]["unknown_call_type"] == 0
    # 84 population rows, all matched (3 through the renamed-neighborhood aliases)
    assert n["population"].sum() == pytest.approx(401_606)
    assert w["population"].sum() == pytest.approx(401_606)
    assert sorted(a.quality["population"]["areas_without_population"]) == [
        "Camden Industrial", "Humboldt Industrial Area", "Near - North"]


def test_city_label_agreement_is_about_ninety_percent(real_analysis):
    shared, a = real_analysis
    raw = pd.read_csv(shared / "incidents" / "Police_Incidents_2021_Jan-May.csv",
                      encoding="utf-8-sig")
    names = dict(zip(a.neighborhoods["area_id"], a.neighborhoods["name"], strict=True))
    ours = a.calls["neighborhood_id"].astype(object).map(names)
    have = ours.notna() & raw["neighborhood"].notna()
    agree = (ours[have].str.casefold() == raw.loc[have, "neighborhood"].str.casefold()).mean()
    assert 0.85 < agree < 0.95
