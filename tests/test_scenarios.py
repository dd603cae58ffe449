"""What-if and siting on workspaces of the tiny city (conftest), worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from safetygap.errors import ValidationError
from safetygap.inputs import load_preset
from safetygap.methods import Methods
from safetygap.pipeline import AnalysisInputs, AnalysisOptions
from safetygap.run import run_analysis
from safetygap.scenarios import (
    candidates_from_frame,
    load_baseline,
    new_providers,
    read_candidates,
    recommend_sites,
    recompute,
    whatif,
)
from safetygap.workspace import Workspace
from tests.conftest import CRS, X0, Y0

TO_LL = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


@pytest.fixture
def straight_ws(tiny_files, tmp_path):
    """Residents at the centroids (the centroid demand model, kept by name), so access
    changes can be worked out by hand; the walking workspace uses the default grid."""
    out = tmp_path / "ws-straight"
    run_analysis(AnalysisInputs(**tiny_files), out,
                 options=AnalysisOptions(columns=load_preset("generic"),
                                         accept_undated=True,
                                         methods=Methods(demand="centroid", bootstrap=20,
                                                         hotspot_permutations=0)),
                 quiet=True)
    return out


@pytest.fixture
def walk_ws(tiny_files, tiny_network, tmp_path):
    out = tmp_path / "ws-walk"
    run_analysis(AnalysisInputs(**tiny_files, network=tiny_network), out,
                 options=AnalysisOptions(columns=load_preset("generic"),
                                         accept_undated=True, travel="network",
                                         mode="walk"), quiet=True)
    return out


def _hypothetical(x: float, y: float, service_type: str = "youth_program",
                  capacity: float = 10.0) -> pd.DataFrame:
    lon, lat = TO_LL.transform(X0 + x, Y0 + y)
    return pd.DataFrame({"name": ["New Center"], "service_type": [service_type],
                         "capacity": [capacity], "latitude": [lat], "longitude": [lon]})


@pytest.mark.parametrize("ws", ["straight_ws", "walk_ws"])
def test_recompute_without_new_providers_reproduces_the_workspace(ws, request):
    path = request.getfixturevalue(ws)
    base = load_baseline(path)
    empty = base.providers.iloc[:0]
    nbhd, wards, covered = recompute(base, empty)
    stored = Workspace.open(path)
    analysis_only = {"rank_low", "rank_high", "p_top10", "class_agreement", "p_underserved",
                     "class_uncertain", "hotspot_need", "gi_z_need", "gi_p_need",
                     "hotspot_score", "gi_z_score", "gi_p_score"}
    for got, want in ((nbhd, stored.neighborhoods), (wards, stored.wards)):
        # the bootstrap and the hot spots are the analysis' own, never recomputed
        only = {c.rsplit("_", 1)[0] for c in set(want.columns) - set(got.columns)}
        assert only and only <= analysis_only
        cols = [c for c in got.columns if c != "geometry"]
        pd.testing.assert_frame_equal(got[cols].reset_index(drop=True),
                                      want[cols].reset_index(drop=True), check_dtype=False)
    assert (covered == stored.calls(columns=["covered"])["covered"].to_numpy()).all()


def test_whatif_by_hand_and_workspace_untouched(straight_ws):
    before = {p.name: p.stat().st_mtime_ns for p in straight_ws.iterdir()}
    base = load_baseline(straight_ws)
    extra = new_providers(base, _hypothetical(1000, 1000), where="test")
    out = whatif(base, extra)
    assert out["distance_model"] == "straight-line"
    assert out["families"] == ["prevention"]
    assert out["providers"][0]["neighborhood_id"] in {"A", "B", "C", "D"}
    assert out["providers"][0]["catchment"] == 1200.0
    nb = {r["area_id"]: r for r in out["neighborhoods"]}
    # call 4 (1050,950) is 71 m from the new center: B's prevention coverage 0.5 -> 1
    assert nb["B"]["coverage_before"] == 0.5 and nb["B"]["coverage_after"] == 1.0
    assert nb["B"]["coverage_change"] == 0.5
    # every centroid is 707 m from (1000,1000), inside 1200 m: the new capacity 10 is
    # shared by all 10,000 residents with one weight, adding 1 per 1,000 everywhere
    assert [nb[a]["access_change"] for a in "ABCD"] == pytest.approx([1.0] * 4)
    assert nb["B"]["access_after"] == pytest.approx(6.0)
    totals = dict(out["totals"]["prevention"])
    reached = totals.pop("residents_newly_reached")  # checked in tests/test_api_sites.py
    assert totals == {"need_calls": 2, "coverage_before": 0.5, "coverage_after": 1.0,
                      "calls_newly_covered": 1, "eligible_newly_covered": 0}
    assert 0 < reached < 10_000
    assert {p.name: p.stat().st_mtime_ns for p in straight_ws.iterdir()} == before
    assert Workspace.open(straight_ws).verify() == []


def test_whatif_rejects_bad_providers(straight_ws):
    base = load_baseline(straight_ws)
    with pytest.raises(ValidationError, match="unknown service type") as err:
        new_providers(base, _hypothetical(0, 0, service_type="spa"), where="scenario")
    assert "service_type" in str(err.value) and "youth_program" in str(err.value)
    with pytest.raises(ValidationError, match="capacity"):
        new_providers(base, _hypothetical(0, 0, capacity=-1), where="scenario")


def test_siting_on_the_walking_network_by_hand(walk_ws):
    base = load_baseline(walk_ws)
    out = recommend_sites(base, family="prevention", k=2)
    assert out["distance_model"] == "network-walk"
    assert out["catchment"] == 15.0 and out["catchment_unit"] == "min"
    assert out["service_type"] == "youth_program"
    assert out["candidates"] == {"count": 25, "source": "network nodes in the city"}
    # both prevention calls are uncovered on the network (see test_pipeline_network);
    # node (500,500) is the first node (x, then y order) reaching both within 15 min:
    # call 3 via (1500,500): 12.5 + 1.25; call 4 via (1000,1000): 12.5 + 0.88
    assert out["need_calls"] == 2 and out["covered_before"] == 0
    assert len(out["sites"]) == 1 and out["stopped_early"]
    site = out["sites"][0]
    assert (site["x"] - X0, site["y"] - Y0) == pytest.approx((500.0, 500.0))
    assert site["marginal_calls"] == 2 and out["covered_after"] == 2
    (b,) = site["neighborhoods"]
    assert b["area_id"] == "B" and b["calls_newly_covered"] == 2
    assert (b["coverage_before"], b["coverage_after"]) == (0.0, 1.0)
    assert b["gap_change"] is not None
    assert sorted(w["area_id"] for w in site["wards"]) == ["1", "2"]
    # what the site reports is what a what-if with it finds
    extra = new_providers(base, _hypothetical(500, 500), where="test")
    assert whatif(base, extra)["totals"]["prevention"]["calls_newly_covered"] == 2


def test_siting_with_user_candidates_straight_line(straight_ws, tmp_path):
    base = load_baseline(straight_ws)
    rows = pd.concat([_hypothetical(100, 1900), _hypothetical(1000, 1000)])
    path = tmp_path / "candidates.csv"
    rows.drop(columns=["service_type", "capacity"]).to_csv(path, index=False)
    cands = read_candidates(base, path, service_type="youth_program", capacity=5.0)
    out = recommend_sites(base, family="prevention", k=1, candidates=cands)
    # (100,1900) reaches no uncovered call; (1000,1000) covers call 4 (71 m)
    assert out["candidates"]["source"] == "user file"
    assert out["sites"][0]["name"] == "New Center"
    assert out["sites"][0]["marginal_calls"] == 1
    assert out["coverage_before"] == 0.5 and out["coverage_after"] == 1.0


@pytest.mark.parametrize(("kw", "match"), [
    ({"family": "fun", "k": 1}, "unknown family"),
    ({"family": "prevention", "k": 0}, "at least 1"),
    ({"family": "prevention", "k": 1, "service_type": "bcr_team"}, "not a service type"),
    ({"family": "prevention", "k": 1, "catchment": -5.0}, "positive"),
])
def test_siting_parameter_errors(straight_ws, kw, match):
    with pytest.raises(ValidationError, match=match):
        recommend_sites(load_baseline(straight_ws), **kw)


def test_workspace_keeps_its_own_network(walk_ws, tiny_network):
    """What-if and siting use the network saved in the workspace, not the input file."""
    before = load_baseline(walk_ws)
    tiny_network.unlink()  # the input file may move or change after the analysis
    after = load_baseline(walk_ws)
    for k in ("x", "y", "u", "v", "length_m", "speed_kph", "oneway"):
        assert np.array_equal(getattr(before.travel.network, k), getattr(after.travel.network, k))
    assert list(after.travel.network.highway) == list(before.travel.network.highway)
    (walk_ws / "network.npz").unlink()
    with pytest.raises(ValidationError, match=r"network\.npz"):
        load_baseline(walk_ws)


def test_cli_site_and_whatif(walk_ws, tmp_path):
    import json
    import re

    from typer.testing import CliRunner

    from safetygap.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["site", "--workspace", str(walk_ws), "--family", "prevention",
                              "--k", "1", "--out", str(tmp_path / "sites.json")])
    assert res.exit_code == 0, res.output
    sites = json.loads((tmp_path / "sites.json").read_text())
    assert sites["sites"][0]["marginal_calls"] == 2
    prov = tmp_path / "new.csv"
    _hypothetical(500, 500).to_csv(prov, index=False)
    res = runner.invoke(app, ["whatif", "--workspace", str(walk_ws), "--providers", str(prov)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["totals"]["prevention"]["calls_newly_covered"] == 2
    # gap classes are class numbers: 3, not 3.0
    classes = [a[f"gap_class_{w}"] for a in out["neighborhoods"]
               for w in ("before", "after", "change")]
    assert classes and all(type(c) is int for c in classes)
    assert not re.search(r'"gap_class_\w+": -?\d+\.\d', res.stdout)
    # asked for 2 sites, one covers every uncovered call: the header counts the one found
    res = runner.invoke(app, ["site", "--workspace", str(walk_ws), "--family", "prevention",
                              "--k", "2"])
    assert res.exit_code == 0, res.output
    assert ("1 new youth_program site of 2 asked for prevention (catchment 15 min "
            "network-walk; 25 candidates: network nodes in the city)") in res.stderr
    assert "stopped: no further candidate covers any remaining call" in res.stderr
    got = json.loads(res.stdout)
    gains = got["sites"][0]["neighborhoods"] + got["sites"][0]["wards"]
    assert all(type(a[f"gap_class_{w}"]) is int for a in gains
               for w in ("before", "after", "change"))
    assert not re.search(r'"gap_class_\w+": -?\d+\.\d', res.stdout)
    res = runner.invoke(app, ["site", "--workspace", str(walk_ws), "--family", "nope"])
    assert res.exit_code == 2 and "unknown family" in res.output
    # options are checked before the candidate file is read with them
    cands = tmp_path / "cands.csv"
    _hypothetical(500, 500).to_csv(cands, index=False)
    res = runner.invoke(app, ["site", "--workspace", str(walk_ws), "--family", "nope",
                              "--candidates", str(cands)])
    assert res.exit_code == 2 and "unknown family" in res.output


def test_candidates_take_the_run_defaults_where_blank(straight_ws):
    base = load_baseline(straight_ws)
    frame = pd.concat([_hypothetical(100, 100), _hypothetical(200, 200)], ignore_index=True)
    frame.loc[1, ["name", "service_type", "capacity"]] = [" ", None, np.nan]
    got = candidates_from_frame(base, frame, where="candidates",
                                service_type="community_center", capacity=3.0)
    assert list(got["name"]) == ["New Center", "candidate 2"]
    assert list(got["service_type"]) == ["youth_program", "community_center"]
    assert list(got["capacity"]) == [10.0, 3.0]
    only_xy = frame[["latitude", "longitude"]]
    got = candidates_from_frame(base, only_xy, where="candidates",
                                service_type="youth_program", capacity=1.0)
    assert list(got["name"]) == ["candidate 1", "candidate 2"]


def test_cli_json_is_strict_for_a_site_outside_every_area(straight_ws, tmp_path):
    """A candidate at (2100, 500), 100 m east of the city, covers call 4 at (1050, 950)
    (hypot(1050, 450) = 1,142 m < 1,200 m) but stands in no neighborhood and no ward: its
    ids are null in the JSON written, never the bare word NaN. The second candidate, at
    (1000, 1000) in the city, covers the same call, so the first (listed first) is chosen;
    the two together make the area-id column a mix of ids and missing values."""
    from typer.testing import CliRunner

    from safetygap.cli import app
    from tests.test_io import strict_loads

    cands = tmp_path / "cands.csv"
    pd.concat([_hypothetical(2100, 500), _hypothetical(1000, 1000)]).to_csv(cands,
                                                                          index=False)
    runner = CliRunner()
    res = runner.invoke(app, ["site", "--workspace", str(straight_ws), "--family",
                              "prevention", "--k", "1", "--candidates", str(cands),
                              "--out", str(tmp_path / "site.json")])
    assert res.exit_code == 0, res.output
    site = strict_loads((tmp_path / "site.json").read_text())["sites"][0]
    assert site["marginal_calls"] == 1
    assert (site["neighborhood_id"], site["ward_id"]) == (None, None)
    res = runner.invoke(app, ["site", "--workspace", str(straight_ws), "--family",
                              "prevention", "--k", "1", "--candidates", str(cands)])
    assert strict_loads(res.stdout)["sites"][0]["neighborhood_id"] is None
    res = runner.invoke(app, ["whatif", "--workspace", str(straight_ws), "--providers",
                              str(cands), "--out", str(tmp_path / "whatif.json")])
    assert res.exit_code == 0, res.output
    p, q = strict_loads((tmp_path / "whatif.json").read_text())["providers"]
    assert (p["neighborhood_id"], p["ward_id"]) == (None, None)
    assert q["neighborhood_id"] in ("A", "B", "C", "D")


@pytest.mark.parametrize(("k", "sites", "candidates", "demand", "want"), [
    (5, 5, 100, 10, None),
    (5, 3, 3, 10, "all 3 candidates used"),
    (5, 1, 1, 10, "all 1 candidate used"),
    (5, 2, 10, 10, "no further candidate covers any remaining call"),
    (5, 0, 10, 10, "no candidate covers any remaining call"),
    (5, 0, 10, 0, "every prevention need call is already covered"),
])
def test_stopped_reason(k, sites, candidates, demand, want):
    from safetygap.scenarios import stopped_reason

    assert stopped_reason("prevention", k=k, sites=sites, candidates=candidates,
                          demand=demand) == want


def test_site_says_why_it_stopped(walk_ws, tmp_path):
    """On the 500 m walking grid both prevention calls are uncovered. With a 5-minute
    catchment (400 m at 4.8 km/h) the node (1500, 500) reaches call 3 at (1600, 500)
    (100 m from it) and the node (1000, 1000) call 4 at (1050, 950) (71 m); neither
    reaches the other call (1,000 m of streets apart), and (0, 2000) reaches none.
    So k = 3 among the first two uses both: 'all 2 candidates used'; among all three the
    third adds nothing: 'no further candidate covers any remaining call'."""
    import json

    from typer.testing import CliRunner

    from safetygap.cli import app

    def cands(points):
        path = tmp_path / f"cands{len(points)}.csv"
        pd.concat([_hypothetical(x, y) for x, y in points]).to_csv(path, index=False)
        return path

    runner = CliRunner()
    for points, reason in (([(1500, 500), (1000, 1000)], "all 2 candidates used"),
                           ([(1500, 500), (1000, 1000), (0, 2000)],
                            "no further candidate covers any remaining call")):
        res = runner.invoke(app, ["site", "--workspace", str(walk_ws), "--family",
                                  "prevention", "--k", "3", "--catchment", "5",
                                  "--candidates", str(cands(points))])
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        assert [s["marginal_calls"] for s in out["sites"]] == [1, 1]
        assert out["stopped_early"] and out["stopped_reason"] == reason
        assert f"stopped: {reason}" in res.stderr
        assert "catchment 5 min network-walk" in res.stderr
        assert out["warnings"] == []


def test_site_and_whatif_round_coordinates(straight_ws, tmp_path):
    """Longitude/latitude come back to 7 decimals (about 1 cm), projected x/y to 0.1 m:
    a candidate given to 5 decimals comes back exactly as given, not as
    43.718999999999994 after the round trip through the workspace's CRS."""
    import json
    import re

    from typer.testing import CliRunner

    from safetygap.cli import app

    lon, lat = (round(v, 5) for v in TO_LL.transform(X0 + 1000, Y0 + 1000))
    path = tmp_path / "c.csv"
    pd.DataFrame({"name": ["Here"], "service_type": ["youth_program"], "capacity": [1.0],
                  "latitude": [lat], "longitude": [lon]}).to_csv(path, index=False)
    runner = CliRunner()
    res = runner.invoke(app, ["site", "--workspace", str(straight_ws), "--family",
                              "prevention", "--k", "1", "--candidates", str(path)])
    assert res.exit_code == 0, res.output
    site = json.loads(res.stdout)["sites"][0]
    assert (site["longitude"], site["latitude"]) == (lon, lat)
    assert round(site["x"], 1) == site["x"] and round(site["y"], 1) == site["y"]
    assert not re.search(r'"(longitude|latitude)": -?\d+\.\d{8,}', res.stdout)
    assert not re.search(r'"[xy]": -?\d+\.\d{2,}', res.stdout)
    res = runner.invoke(app, ["whatif", "--workspace", str(straight_ws), "--providers",
                              str(path)])
    assert res.exit_code == 0, res.output
    (p,) = json.loads(res.stdout)["providers"]
    assert (p["longitude"], p["latitude"]) == (lon, lat)


@pytest.mark.parametrize(("ws", "catchment", "unit", "warned"), [
    ("straight_ws", "15", "m straight-line", "did you mean minutes? this workspace uses "
                                             "straight-line metres"),
    ("straight_ws", "99.5", "m straight-line", "did you mean minutes?"),
    ("straight_ws", "100", "m straight-line", None),
    ("walk_ws", "15", "min network-walk", None),
])
def test_site_catchment_states_its_unit_and_warns(ws, catchment, unit, warned, request):
    import json

    from typer.testing import CliRunner

    from safetygap.cli import app

    res = CliRunner().invoke(app, ["site", "--workspace", str(request.getfixturevalue(ws)),
                                   "--family", "prevention", "--k", "1", "--catchment",
                                   catchment])
    assert res.exit_code == 0, res.output
    assert f"catchment {float(catchment):g} {unit};" in res.stderr
    out = json.loads(res.stdout)
    if warned is None:
        assert out["warnings"] == [] and "warning" not in res.stderr
    else:
        (w,) = out["warnings"]
        assert warned in w and f"warning: {w}" in res.stderr


def test_site_catchment_past_the_city_is_refused_with_the_unit_hint(walk_ws):
    """500 min on the tiny city (35 min on foot corner to corner): one clean error that
    still asks whether metres were meant."""
    from typer.testing import CliRunner

    from safetygap.cli import app

    res = CliRunner().invoke(app, ["site", "--workspace", str(walk_ws), "--family",
                                   "prevention", "--k", "1", "--catchment", "500"])
    assert res.exit_code == 2, res.output
    assert "extent" in res.output and "did you mean metres? this workspace uses walk " \
        "travel minutes" in res.output


def test_a_point_far_outside_says_where_the_city_is(straight_ws):
    """A point of somewhere else (46.0 N, 93.27 W: about 115 km north of the tiny city at
    44.97 N, 93.0 W) is refused with the city's latitude/longitude range, worked out here
    by geopandas' reprojection of the neighborhoods; exchanged coordinates are suggested
    only when exchanging them puts the point inside."""
    from tests.conftest import make_tiny_areas

    base = load_baseline(straight_ws)
    nbhd, _ = make_tiny_areas()
    lon0, lat0, lon1, lat1 = nbhd.to_crs("EPSG:4326").total_bounds
    span = (f"the city spans latitude {lat0:.3f} to {lat1:.3f}, longitude {lon0:.3f} to "
            f"{lon1:.3f}")
    far = pd.DataFrame({"name": ["Far"], "service_type": ["youth_program"], "capacity": [1.0],
                        "latitude": [46.0], "longitude": [-93.27]})
    with pytest.raises(ValidationError) as err:
        new_providers(base, far, where="providers")
    text = str(err.value)
    assert "km outside the city's neighborhoods (is this point in the city being analysed? " \
        + span in text
    assert "exchanged" not in text and "swapped" not in text
    assert "(got 'latitude 46.0, longitude -93.27')" in text
    # x/y in the workspace's CRS typed the wrong way round: exchanged, they are inside
    swapped = pd.DataFrame({"name": ["S"], "service_type": ["youth_program"],
                            "capacity": [1.0], "x": [Y0 + 500], "y": [X0 + 500]})
    with pytest.raises(ValidationError) as err:
        new_providers(base, swapped, where="providers", crs=CRS)
    text = str(err.value)
    assert "with its two coordinates exchanged it falls inside the city: x and y swapped?" \
        in text and "is this point in the city" not in text
    # x/y outside, not inside either way: the span, and the CRS option to check
    off = swapped.assign(x=[X0 + 50_000.0], y=[Y0 + 500.0])
    with pytest.raises(ValidationError) as err:
        new_providers(base, off, where="providers", crs=CRS, crs_option="providers_crs")
    assert f"{span}; or are the x/y not in {CRS}, see option `providers_crs`?" in str(err.value)
    # latitude and longitude exchanged: out of range, and said so
    flipped = far.assign(latitude=[-93.0], longitude=[44.97])
    with pytest.raises(ValidationError, match=r"out of range for longitude/latitude "
                                              r"\(latitude and longitude exchanged\?\)"):
        new_providers(base, flipped, where="providers")
