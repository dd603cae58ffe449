"""The tiny city analysed with walking times on a 500 m street grid (conftest), by hand."""

from __future__ import annotations

import json
import math

import pytest

from safetygap.errors import ValidationError
from safetygap.inputs import load_preset
from safetygap.methods import Methods
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze
from safetygap.run import run_analysis


def _opts(**kw):
    return AnalysisOptions(columns=load_preset("generic"), accept_undated=True, **kw)


@pytest.fixture
def walk_analysis(tiny_files, tiny_network):
    return analyze(AnalysisInputs(**tiny_files, network=tiny_network),
                   options=_opts(travel="network", mode="walk"))


@pytest.fixture
def walk_centroid(tiny_files, tiny_network):
    """Residents at the centroids (street nodes of the grid) and the truncated Gaussian:
    access worked out by hand below."""
    return analyze(AnalysisInputs(**tiny_files, network=tiny_network),
                   options=_opts(travel="network", mode="walk", methods=Methods(
                       demand="centroid", kernel="truncated_gaussian", bootstrap=0,
                       hotspot_permutations=0)))


def _row(layer, area_id):
    return layer.set_index("area_id").loc[area_id]


def test_network_coverage_by_hand(walk_analysis):
    n = walk_analysis.neighborhoods
    # youth program (1900,100) snaps to node (2000,0), 141.4 m = 1.768 min away; call 3
    # (1600,500) snaps to (1500,500), 100 m = 1.25 min; 1000 m of streets = 12.5 min:
    # 15.52 min > 15 min walking catchment -> not covered (straight-line: 500 m, covered)
    assert _row(n, "B")["coverage_prevention"] == 0.0
    assert _row(n, "A")["coverage_response"] == 1.0  # BCR team, 75 min walk
    assert _row(n, "C")["coverage_restoration"] == 0.0


def test_network_access_by_hand(walk_centroid):
    n = walk_centroid.neighborhoods
    # BCR team at the node (0,0); centroids are nodes: A 1000 m, B and C 2000 m,
    # D 3000 m of streets -> 12.5, 25, 25, 37.5 min; catchment 75 min, sigma 37.5 min
    t = {"A": 12.5, "B": 25.0, "C": 25.0, "D": 37.5}
    pop = {"A": 1000, "B": 2000, "C": 3000, "D": 4000}
    w = {k: math.exp(-0.5 * (v / 37.5) ** 2) for k, v in t.items()}
    ratio = 2 / sum(pop[k] * w[k] for k in pop)
    for k in pop:
        assert _row(n, k)["access_response"] == pytest.approx(ratio * w[k] * 1000, rel=1e-12)
    # youth program: B's centroid is 12.5 + 1.768 = 14.27 min away (< 15), the rest
    # farther, so B's 2,000 residents share capacity 10: 5 per 1,000
    assert list(n["access_prevention"]) == pytest.approx([0.0, 5.0, 0.0, 0.0])


def test_outputs_name_the_distance_model(walk_analysis, tiny_files, tiny_network, tmp_path):
    s = walk_analysis.summary["travel"]
    assert s["distance_model"] == "network-walk"
    assert s["unit"] == "min"
    assert s["catchments"]["youth_program"] == 15.0
    assert s["network"]["routable_nodes"] == 25
    t = walk_analysis.indices
    assert set(t["distance_model"]) == {"network-walk"}
    prev = t[(t.family == "prevention")]["catchment"].unique()
    assert list(prev) == ["youth_program 15 min"]
    q = walk_analysis.quality["travel"]
    # placed calls (200,200) and (300,300) are the farthest from a node: 282.8 m
    assert q["calls_snap"]["max_m"] == pytest.approx(math.hypot(200, 200), abs=0.1)
    assert q["calls_snap"]["points"] == 8
    out = tmp_path / "ws"
    run_analysis(AnalysisInputs(**tiny_files, network=tiny_network), out,
                 options=_opts(travel="network", mode="drive"), quiet=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["travel"]["distance_model"] == "network-drive"
    assert manifest["travel"]["catchments"]["youth_program"] == 4.0
    assert len(manifest["inputs"]["network"]["sha256"]) == 64
    assert manifest["options"]["travel"] == "network"


def test_straight_line_outputs_say_so(tiny_files):
    a = analyze(AnalysisInputs(**tiny_files), options=_opts())
    assert a.summary["travel"]["distance_model"] == "straight-line"
    assert a.summary["travel"]["catchments"]["youth_program"] == 1200.0
    assert set(a.indices["distance_model"]) == {"straight-line"}


def test_network_option_errors(tiny_files, tiny_network, tmp_path):
    with pytest.raises(ValidationError, match="needs a street network"):
        analyze(AnalysisInputs(**tiny_files), options=_opts(travel="network"))
    with pytest.raises(ValidationError, match="add option `travel` network"):
        analyze(AnalysisInputs(**tiny_files, network=tiny_network), options=_opts())
    with pytest.raises(ValidationError, match="unknown travel mode"):
        analyze(AnalysisInputs(**tiny_files, network=tiny_network),
                options=_opts(travel="network", mode="bike"))
    with pytest.raises(ValidationError, match="unknown distance model"):
        analyze(AnalysisInputs(**tiny_files), options=_opts(travel="crow"))
