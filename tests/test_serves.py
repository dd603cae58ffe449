"""Area-serving providers (``serves``): coverage and access against hand counts on the
tiny city of conftest (neighborhoods A B / C D, 1 km squares; ward 1 = x in [0, 1500])."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import X0, Y0

from safetygap.errors import ValidationError
from safetygap.inputs import load_preset
from safetygap.pipeline import AnalysisInputs, AnalysisOptions, analyze

AS_OF = dt.date(2025, 7, 15)


def _providers(path, rows):
    cols = ["provider_id", "name", "service_type", "capacity", "x", "y", "serves",
            "last_verified"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["x"] = frame["x"].map(lambda v: "" if v is None else X0 + v)
    frame["y"] = frame["y"].map(lambda v: "" if v is None else Y0 + v)
    frame.to_csv(path, index=False)
    return path


def _run(tiny_files, tmp_path, rows, **opts):
    prov = _providers(tmp_path / "serving.csv", rows)
    inputs = AnalysisInputs(**(tiny_files | {"providers": prov}))
    return analyze(inputs, options=AnalysisOptions(
        columns=load_preset("generic"), accept_undated=True, providers_crs="EPSG:26915",
        as_of=AS_OF, **opts))


BASE = [("P1", "Crisis Team", "bcr_team", 2.0, 0, 0, "", "2024-01-15")]


def test_ward_serving_youth_program_covers_its_ward_only(tiny_files, tmp_path):
    """Prevention calls: 3 at (1600, 500) in B and ward 2; 4 at (1050, 950) in B and ward 1.
    A youth program serving ward 1 (no point, no catchment) covers call 4 only: B 1 of 2."""
    a = _run(tiny_files, tmp_path, [*BASE, ("S1", "Ward One Youth", "youth_program", 6.0,
                                            None, None, "ward:1", "2024-01-14")])
    n = a.neighborhoods.set_index("area_id")
    assert n.loc["B", "coverage_prevention"] == pytest.approx(0.5)
    covered = a.calls.set_index("call_id")["covered"]
    assert bool(covered["4"]) and not bool(covered["3"])
    # the provider is placed inside ward 1 (its representative point)
    s1 = a.providers.set_index("provider_id").loc["S1"]
    assert s1["ward_id"] == "1" and s1["serves_wkt"].startswith("POLYGON")


def test_serving_named_areas_gives_hand_counted_access(tiny_files, tmp_path):
    """A youth program of capacity 6 serving Alpha and Charlie (populations 1,000 and
    3,000): every resident there is reached with full weight, nobody else, so
    R = 6 / 4,000 and access = 1.5 per 1,000 residents in A and C, 0 in B and D;
    ward 1 (A, C and the western halves of B and D: 1,000 + 2,000 residents at 0) =
    (1,000 x 1.5 + 3,000 x 1.5) / 7,000 = 6/7; ward 2 = 0."""
    a = _run(tiny_files, tmp_path, [*BASE, ("S1", "Two Areas Youth", "youth_program", 6.0,
                                            None, None, "Alpha; charlie", "")])
    n = a.neighborhoods.set_index("area_id")["access_prevention"]
    assert n.to_dict() == pytest.approx({"A": 1.5, "B": 0.0, "C": 1.5, "D": 0.0})
    w = a.wards.set_index("area_id")["access_prevention"]
    assert w.to_dict() == pytest.approx({"1": 6 / 7, "2": 0.0})
    # coverage: the prevention calls are both in B, which it does not serve
    assert a.neighborhoods.set_index("area_id").loc["B", "coverage_prevention"] == 0.0


def test_catchment_and_serving_providers_together(tiny_files, tmp_path):
    """The youth program at (1900, 100) (1,200 m) covers call 3; the ward-1 programme call
    4: both covered."""
    a = _run(tiny_files, tmp_path, [
        *BASE, ("P2", "Youth", "youth_program", 10.0, 1900, 100, "", "2025-01-01"),
        ("S1", "Ward One Youth", "youth_program", 6.0, None, None, "ward:1", "")])
    assert a.neighborhoods.set_index("area_id").loc["B", "coverage_prevention"] == 1.0


def test_serving_polygon_wkt(tiny_files, tmp_path):
    """A drawn corridor (WKT in the file's CRS) around call 5 at (500, 1500) in C covers it
    (restoration, C 1 of 1); a corridor elsewhere does not."""
    def box(x0, y0, x1, y1):
        return (f"POLYGON (({X0 + x0} {Y0 + y0}, {X0 + x1} {Y0 + y0}, {X0 + x1} {Y0 + y1}, "
                f"{X0 + x0} {Y0 + y1}, {X0 + x0} {Y0 + y0}))")
    hit = _run(tiny_files, tmp_path, [*BASE, ("V1", "Corridor", "victim_services", 2.0,
                                              None, None, box(400, 1400, 600, 1600), "")])
    assert hit.neighborhoods.set_index("area_id").loc["C", "coverage_restoration"] == 1.0
    miss = _run(tiny_files, tmp_path, [*BASE, ("V1", "Corridor", "victim_services", 2.0,
                                               None, None, box(700, 1400, 900, 1600), "")])
    assert miss.neighborhoods.set_index("area_id").loc["C", "coverage_restoration"] == 0.0


def test_bad_serves_names_every_row(tiny_files, tmp_path):
    with pytest.raises(ValidationError) as err:
        _run(tiny_files, tmp_path, [
            *BASE, ("S1", "x", "youth_program", 1.0, None, None, "Atlantis", ""),
            ("S2", "y", "youth_program", 1.0, None, None, "ward:9", "")])
    text = str(err.value)
    assert "row 2" in text and "'Atlantis'" in text and "serves names no neighborhood" in text
    assert "row 3" in text and "'ward:9'" in text


def test_stale_flags_in_quality(tiny_files, tmp_path):
    """As of 2025-07-15 with the 18-month default: 2024-01-15 is 18.0 months (not stale),
    2024-01-14 is past 18 (stale), no date is never verified (stale)."""
    a = _run(tiny_files, tmp_path, [
        *BASE, ("S1", "a", "youth_program", 6.0, None, None, "ward:1", "2024-01-14"),
        ("S2", "b", "victim_services", 1.0, 100, 100, "", "")])
    p = a.providers.set_index("provider_id")
    assert p["stale"].to_dict() == {"P1": False, "S1": True, "S2": True}
    assert p.loc["P1", "months_since_verified"] == pytest.approx(18.0)
    assert np.isnan(p.loc["S2", "months_since_verified"])
    v = a.quality["providers"]["verification"]
    assert (v["stale"], v["never_verified"], v["as_of"]) == (2, 1, "2025-07-15")
    assert v["stale_by_family"] == {"response": 0, "prevention": 1, "restoration": 1}
    assert [r["provider_id"] for r in v["stale_providers"]] == ["S2", "S1"]
    longer = _run(tiny_files, tmp_path, [
        *BASE, ("S1", "a", "youth_program", 6.0, None, None, "ward:1", "2024-01-14")],
        stale_after_months=24)
    assert longer.quality["providers"]["verification"]["stale"] == 0


def test_stale_and_serving_shown_in_the_providers_layer(tiny_files, tmp_path):
    """The map's providers layer (GET /api/providers) carries the stale flag, the last
    verified date and what an area-serving provider serves, validated by its model."""
    from safetygap.api.models import ProviderCollection
    from safetygap.readmodel import WorkspaceView
    from safetygap.workspace import Workspace, write_workspace

    a = _run(tiny_files, tmp_path, [
        *BASE, ("S1", "Ward One Youth", "youth_program", 6.0, None, None, "ward:1",
                "2022-01-01")])
    write_workspace(a, tmp_path / "ws")
    layer = WorkspaceView(Workspace.open(tmp_path / "ws")).providers_layer()
    ProviderCollection.model_validate(layer)
    props = {f["id"]: f["properties"] for f in layer["features"]}
    assert (props["P1"]["stale"], props["P1"]["last_verified"]) == (False, "2024-01-15")
    assert props["S1"]["stale"] is True and props["S1"]["serves_areas"] is True
    assert props["S1"]["serves"] == "ward:1" and props["P1"]["serves_areas"] is False


def test_completeness_counts_by_family_source_and_geocoding(tiny_files, tmp_path):
    rows = [*BASE, ("S1", "a", "youth_program", 6.0, None, None, "ward:1", "2024-01-14"),
            ("S2", "b", "victim_services", 1.0, 100, 100, "", "")]
    frame = pd.DataFrame(rows, columns=["provider_id", "name", "service_type", "capacity",
                                        "x", "y", "serves", "last_verified"])
    frame["x"] = frame["x"].map(lambda v: "" if v is None else X0 + v)
    frame["y"] = frame["y"].map(lambda v: "" if v is None else Y0 + v)
    frame["source"] = ["hand", "osm", "geocoded list"]
    frame["geocode_quality"] = ["", "", "street_only"]
    frame.to_csv(tmp_path / "p.csv", index=False)
    a = analyze(AnalysisInputs(**(tiny_files | {"providers": tmp_path / "p.csv"})),
                options=AnalysisOptions(columns=load_preset("generic"), accept_undated=True,
                                        providers_crs="EPSG:26915", as_of=AS_OF))
    c = a.quality["providers"]["completeness"]
    assert c["by_family_and_source"] == {"response": {"hand": 1}, "prevention": {"osm": 1},
                                         "restoration": {"geocoded list": 1}}
    assert (c["stale"], c["street_only"], c["serving_areas"]) == (2, 1, 1)
    assert c["with_field"]["last_verified"] == 2


def test_serves_area_by_overlap_not_by_touching():
    """Tiny city squares: serving Alpha serves Alpha and ward 1 (Alpha is inside it), not
    Bravo (a shared edge) nor ward 2. A 100 m x 100 m corridor reaching 10 m into Bravo
    overlaps it by 1,000 m², 10% of the smaller polygon (the corridor): it serves Bravo; a
    sliver reaching 0.5 m into Bravo overlaps by 50 m², 0.5% of its 10,050 m²: it does not
    (the threshold is 1%)."""
    from conftest import make_tiny_areas, sq

    from safetygap.inventory.serves import serves_area

    nbhd, wards = make_tiny_areas()
    alpha, bravo = nbhd.geometry.iat[0], nbhd.geometry.iat[1]
    corridor = sq(910, 400, 1010, 500)  # 100 x 100 m, the last 10 m in Bravo
    sliver = sq(900, 400, 1000.5, 500)  # 100.5 x 100 m, 0.5 m in Bravo
    polys = [alpha, None, corridor, sliver]
    assert list(serves_area(polys, alpha)) == [True, False, True, True]
    assert list(serves_area(polys, bravo)) == [False, False, True, False]
    assert list(serves_area(polys, wards.geometry.iat[0])) == [True, False, True, True]
    assert list(serves_area(polys, wards.geometry.iat[1])) == [False, False, False, False]
