"""Shared fixtures: a tiny hand-made city whose answers are worked out by hand."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "minneapolis"

# workspaces built by the commands in tests skip the report and default sites computed for
# quick first visits (tests/test_precompute.py asks for them)
os.environ.setdefault("SAFETYGAP_PRECOMPUTE", "false")
CRS = "EPSG:26915"
TINY_YEARS = 487 / 365.25
"""Covered years of the tiny city's calls under :func:`tiny_options`: 2023-01-01 (call 8,
placed nowhere but dated) to 2024-05-01 (call 4)."""


def tiny_options(**methods: object):
    """Analysis options for the tiny city: its calls come every few months, so a 400-day
    gap threshold treats 2023-01-01 .. 2024-05-01 as covered (the default 7 days would leave
    only the 8 days with a call); its four areas are far smaller than a city's, so a
    non-resident ratio of 10 keeps all of them ranked; a short bootstrap and permutation
    test keep it quick; its one undated row of eleven is accepted. ``methods`` override any of
    these."""
    from dataclasses import replace

    from safetygap.inputs import load_preset
    from safetygap.methods import Methods
    from safetygap.pipeline import AnalysisOptions

    base = Methods(gap_days=400, nonresident_ratio=10.0, bootstrap=40, hotspot_permutations=99)
    return AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                           methods=replace(base, **methods))


def require_shared() -> Path:
    """The real Minneapolis data directory, or skip with a message saying why."""
    if not SHARED.is_dir():
        pytest.skip(f"real Minneapolis data not found at {SHARED} (../shared/data/minneapolis)")
    return SHARED


@pytest.fixture
def shared_data() -> Path:
    return require_shared()


# Tiny city (EPSG:26915, metres), origin at (500000, 4980000):
#
#   y=2000 +---------+---------+
#          |  C 3000 |  D 4000 |      neighborhoods: 1 km squares, population in the box
#   y=1000 +---------+---------+      wards: W1 = x in [0, 1500], W2 = x in [1500, 2000]
#          |  A 1000 |  B 2000 |
#   y=0    +---------+---------+
#          x=0      1000      2000
X0, Y0 = 500_000.0, 4_980_000.0


def load_compare_workspaces():
    """bench/compare_workspaces.py as a module (its ``compare(a, b)``)."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "bench" / "compare_workspaces.py"
    spec = importlib.util.spec_from_file_location("compare_workspaces", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def sq(x0: float, y0: float, x1: float, y1: float):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def make_tiny_areas() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The tiny city's neighborhoods and wards (see the drawing above)."""
    nbhd = gpd.GeoDataFrame(
        {"area_id": ["A", "B", "C", "D"], "name": ["Alpha", "Bravo", "Charlie", "Delta"]},
        geometry=[sq(0, 0, 1000, 1000), sq(1000, 0, 2000, 1000),
                  sq(0, 1000, 1000, 2000), sq(1000, 1000, 2000, 2000)],
        crs=CRS,
    )
    wards = gpd.GeoDataFrame(
        {"area_id": ["1", "2"], "name": ["Ward 1", "Ward 2"]},
        geometry=[sq(0, 0, 1500, 2000), sq(1500, 0, 2000, 2000)],
        crs=CRS,
    )
    return nbhd, wards


TINY_POPULATION = {"A": 1000.0, "B": 2000.0, "C": 3000.0, "D": 4000.0}
"""Residents of the tiny city's neighborhoods (see :func:`write_tiny_city`)."""


def tiny_residents_within(region) -> float:
    """Residents of the tiny city inside ``region`` (relative metres), each square's
    residents spread evenly: geopandas overlay, a second method for the areal weighting
    of :mod:`safetygap.geo.residents`."""
    from shapely import affinity

    nbhd, _ = make_tiny_areas()
    squares = nbhd.assign(pop=nbhd["area_id"].map(TINY_POPULATION))
    region = affinity.translate(region, X0, Y0)
    parts = gpd.overlay(squares, gpd.GeoDataFrame(geometry=[region], crs=CRS))
    return float((parts["pop"] * parts.area / 1e6).sum())


@pytest.fixture
def tiny_areas() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return make_tiny_areas()


@pytest.fixture
def tiny_files(tmp_path: Path, tiny_areas) -> dict[str, Path]:
    """The tiny city written as files (see :func:`write_tiny_city`)."""
    return write_tiny_city(tmp_path, tiny_areas)


def write_tiny_city(
    tmp_path: Path,
    tiny_areas: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    *,
    extra_providers: list[tuple[str, str, str, float, float, float]] = (),
) -> dict[str, Path]:
    """The tiny city written as files, with calls and providers placed by hand.

    Calls (x, y relative to the origin), 2023 unless noted:
      1 A (100,100)   Person In Crisis (P)   BCR     response, eligible, diverted
      2 A (200,200)   Person In Crisis (P)   POLICE  response, eligible, not diverted
      3 B (1600,500)  Shooting (P)           POLICE  prevention
      4 B (1050,950)  Shooting (P)           POLICE  prevention, 2024, ward 1,
                                                      1202 m from P2: not covered
      5 C (500,1500)  Domestic (P)           POLICE  restoration
      6 D (1700,1700) Heart (FE)             FIRE    none
      7 D (1800,1800) Fireworks Galore (P)   POLICE  unknown type -> none
      8 -             0,0 location           POLICE  zero_coordinates
      9 (5000,5000)   outside the city       POLICE  outside_boundaries
     10 dup of id 1                          BCR     duplicate_id
     11 A (300,300)   bad date               POLICE  unparseable_date (response)
    """
    from pyproj import Transformer

    nbhd, wards = tiny_areas
    nb_path = tmp_path / "nbhd.gpkg"
    wd_path = tmp_path / "wards.gpkg"
    nbhd.to_file(nb_path)
    wards.to_file(wd_path)
    tr = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)

    def ll(x: float, y: float) -> tuple[float, float]:
        lon, lat = tr.transform(X0 + x, Y0 + y)
        return round(lat, 7), round(lon, 7)

    rows = [
        ("1", "Person In Crisis (P)", "BCR", "2023-03-01T10:00:00", *ll(100, 100)),
        ("2", "Person In Crisis (P)", "POLICE", "2023-03-02T10:00:00", *ll(200, 200)),
        ("3", "Shooting (P)", "POLICE", "2023-05-01T22:00:00", *ll(1600, 500)),
        ("4", "Shooting (P)", "POLICE", "2024-05-01T22:00:00", *ll(1050, 950)),
        ("5", "Domestic (P)", "POLICE", "2023-07-04T01:00:00", *ll(500, 1500)),
        ("6", "Heart (FE)", "FIRE", "2023-08-01T12:00:00", *ll(1700, 1700)),
        ("7", "Fireworks Galore (P)", "POLICE", "2023-07-04T23:00:00", *ll(1800, 1800)),
        ("8", "Theft (P)", "POLICE", "2023-01-01T00:00:00", 0.0, 0.0),
        ("9", "Theft (P)", "POLICE", "2023-01-02T00:00:00", *ll(5000, 5000)),
        ("1", "Person In Crisis (P)", "BCR", "2023-03-01T10:00:00", *ll(100, 100)),
        ("11", "Person In Crisis (P)", "POLICE", "not a date", *ll(300, 300)),
    ]
    calls = pd.DataFrame(rows, columns=["id", "call_type", "agency", "time", "latitude",
                                        "longitude"])
    calls_path = tmp_path / "calls.csv"
    calls.to_csv(calls_path, index=False)

    prov_rows = [
        # BCR team at A's corner (0,0): catchment 6000 m covers the whole tiny city
        ("P1", "Crisis Team", "bcr_team", 2.0, 0, 0),
        # youth program at (1900, 100) in B: catchment 1200 m
        ("P2", "Youth <Center> & Co", "youth_program", 10.0, 1900, 100),
        # victim services far away (50 km): nothing in reach
        ("P3", "Far Victim Services", "victim_services", 5.0, 50000, 0),
        *extra_providers,
    ]
    # providers as a GeoPackage in the projected CRS, so distances are exact
    prov = pd.DataFrame(prov_rows, columns=["provider_id", "name", "service_type", "capacity",
                                            "x", "y"])
    prov = gpd.GeoDataFrame(prov.drop(columns=["x", "y"]),
                            geometry=gpd.points_from_xy(prov["x"] + X0, prov["y"] + Y0),
                            crs=CRS)
    prov_path = tmp_path / "providers.gpkg"
    prov.to_file(prov_path)
    pop = pd.DataFrame({"neighborhood": ["alpha", "BRAVO", "Charlie", nbhd["name"].iloc[3]],
                        "population": [1000, 2000, 3000, 4000]})
    pop_path = tmp_path / "population.csv"
    pop.to_csv(pop_path, index=False)
    return {"calls": calls_path, "providers": prov_path, "neighborhoods": nb_path,
            "wards": wd_path, "population": pop_path}


def grid_segments(n: int = 5, spacing: float = 500.0):
    """Nodes and segments of an n x n street grid from the origin (relative metres)."""
    import numpy as np

    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    x = ii.ravel() * spacing
    y = jj.ravel() * spacing
    idx = np.arange(n * n).reshape(n, n)
    u = np.r_[idx[:-1, :].ravel(), idx[:, :-1].ravel()]
    v = np.r_[idx[1:, :].ravel(), idx[:, 1:].ravel()]
    return x, y, u, v


def write_tiny_network(directory: Path) -> Path:
    """GraphML of a 5 x 5 residential grid, 500 m blocks, over the tiny city.

    Nodes at x, y in {0, 500, ..., 2000}; walking 500 m takes 6.25 min.
    """
    import numpy as np

    from safetygap.inputs.network import segments_to_graph, write_graphml

    x, y, u, v = grid_segments()
    graph = segments_to_graph(X0 + x, Y0 + y, u, v, crs=CRS,
                              highway=np.full(len(u), "residential", dtype=object))
    return write_graphml(graph, directory / "tiny.graphml")


@pytest.fixture
def tiny_network(tmp_path: Path) -> Path:
    """The tiny city's street grid (:func:`write_tiny_network`)."""
    return write_tiny_network(tmp_path)


# ----------------------------------------------------------------- workspaces for the web app

HOSTILE_PROVIDER = "<script>alert(1)</script>"
HOSTILE_TEMPLATE = "{{7*7}} <img src=x onerror=alert(2)>"
HOSTILE_AREA = "Delta <b>bold</b> & {{7*7}}"


@pytest.fixture(scope="session")
def api_workspace(tmp_path_factory) -> Path:
    """The tiny city analysed into a workspace, with hostile names: neighborhood D is
    called :data:`HOSTILE_AREA`; two extra providers in ward 2:
    PX :data:`HOSTILE_PROVIDER` (victim services, restoration) at (1900, 1900) in D and
    PY :data:`HOSTILE_TEMPLATE` (community center, prevention) at (1700, 300) in B."""
    from safetygap.pipeline import AnalysisInputs
    from safetygap.run import run_analysis

    d = tmp_path_factory.mktemp("api-tiny")
    nbhd, wards = make_tiny_areas()
    nbhd.loc[3, "name"] = HOSTILE_AREA
    files = write_tiny_city(d, (nbhd, wards), extra_providers=[
        ("PX", HOSTILE_PROVIDER, "victim_services", 1.0, 1900, 1900),
        ("PY", HOSTILE_TEMPLATE, "community_center", 1.0, 1700, 300),
    ])
    run_analysis(AnalysisInputs(**files), d / "workspace", options=tiny_options(), quiet=True)
    return d / "workspace"


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory) -> Path:
    """A small demo city (seed 7, 20,000 calls) with one more provider, named
    :data:`HOSTILE_PROVIDER`, at the city centre."""
    from safetygap.demo import CENTER_LON_LAT
    from safetygap.inputs import load_preset
    from safetygap.pipeline import AnalysisOptions, default_inputs
    from safetygap.run import run_analysis, run_demo

    out = tmp_path_factory.mktemp("api-demo")
    analysis, ws = run_demo(out, seed=7, n_calls=20_000, quiet=True)
    prov_path = out / "data" / "providers.csv"
    prov = pd.read_csv(prov_path)
    lon, lat = CENTER_LON_LAT
    extra = {col: None for col in prov.columns} | {
        "provider_id": "XSS1", "name": HOSTILE_PROVIDER, "family": "restoration",
        "service_type": "victim_services", "capacity": 1.0, "latitude": lat, "longitude": lon}
    pd.concat([prov, pd.DataFrame([extra])], ignore_index=True).to_csv(prov_path, index=False)
    run_analysis(default_inputs(out / "data"), ws, quiet=True, options=AnalysisOptions(
        columns=load_preset("minneapolis-911"), preset="minneapolis-911",
        label=analysis.summary["label"], synthetic=True))
    return ws


def app_client(workspace: Path, *, privacy_min_count: int | None = 1, **settings: object):
    """A test client of the app serving ``workspace``; server errors come back as 500
    responses (so tests can assert there are none) instead of being raised.

    ``privacy_min_count`` 1 (the tests' default) shows every count, so the hand-worked
    tiny-city answers stay visible; None: the public default (see tests/test_privacy.py).
    ``settings``: other settings (e.g. ``memory_budget_mb``), passed to ``get_settings``.
    """
    from fastapi.testclient import TestClient

    from safetygap.api.app import create_app
    from safetygap.settings import get_settings

    built = get_settings(privacy_min_count=privacy_min_count, **settings)
    return TestClient(create_app(workspace, settings=built),
                      raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(api_workspace):
    """A test client of the app serving :func:`api_workspace`."""
    with app_client(api_workspace) as c:
        yield c


@pytest.fixture(scope="module")
def demo_client(demo_workspace):
    """A test client of the app serving :func:`demo_workspace`."""
    with app_client(demo_workspace) as c:
        yield c


@pytest.fixture
def tiny_ws(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """The tiny city analysed into ``tmp_path/ws`` (its inputs in ``tmp_path/in``): a
    workspace of its own, for tests that re-run or upload into it."""
    from safetygap.pipeline import AnalysisInputs
    from safetygap.run import run_analysis

    (tmp_path / "in").mkdir()
    files = write_tiny_city(tmp_path / "in", make_tiny_areas())
    run_analysis(AnalysisInputs(**files), tmp_path / "ws", quiet=True, options=tiny_options())
    return tmp_path / "ws", files
