"""Hypothetical providers and candidate sites must lie in or near the city: a point far
outside (a wrong CRS, swapped coordinates) is refused with its distance."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import CRS, X0, Y0
from typer.testing import CliRunner

from safetygap.cli import app
from safetygap.errors import ValidationError
from safetygap.scenarios import MAX_OUTSIDE_M, load_baseline, new_providers


@pytest.fixture
def base(tiny_ws):
    return load_baseline(tiny_ws[0])


def _rows(*xy: tuple[float, float]) -> pd.DataFrame:
    """Youth programs at (x, y) relative to the tiny city's origin (EPSG:26915)."""
    return pd.DataFrame({"name": [f"site {i + 1}" for i in range(len(xy))],
                         "service_type": "youth_program", "capacity": 5.0,
                         "x": [X0 + x for x, _ in xy], "y": [Y0 + y for _, y in xy]})


def test_points_in_or_near_the_city_are_placed(base):
    # inside C; 5 km east of the city's east edge (x = 2000); on the limit, 10 km south
    gdf = new_providers(base, _rows((500, 1500), (7000, 1000), (1000, -MAX_OUTSIDE_M)),
                        where="providers", crs=CRS)
    assert gdf["neighborhood_id"].tolist()[0] == "C"
    assert gdf["neighborhood_id"].isna().tolist() == [False, True, True]


def test_points_far_outside_are_refused_with_their_distance(base):
    # 700 km east of the east edge; 3 km + 4 km from the corner (2000, 2000): 5 km, fine;
    # 30 km + 40 km from the same corner: 50 km
    rows = _rows((702_000, 1000), (5000, 6000), (32_000, 42_000))
    with pytest.raises(ValidationError) as err:
        new_providers(base, rows, where="providers p.csv", crs=CRS)
    got = [(p.where, p.message.split(" (")[0]) for p in err.value.problems]
    assert got == [
        ("providers p.csv row 1", "the point is 700.0 km outside the city's neighborhoods"),
        ("providers p.csv row 3", "the point is 50.0 km outside the city's neighborhoods"),
    ]
    assert "within 10 km" in err.value.problems[0].allowed


def test_longitude_without_its_sign_is_refused(base):
    rows = pd.DataFrame({"name": ["east"], "service_type": ["youth_program"],
                         "capacity": [1.0], "latitude": [44.97], "longitude": [93.0]})
    with pytest.raises(ValidationError, match="km outside the city's neighborhoods") as err:
        new_providers(base, rows, where="providers")
    assert "a longitude without its minus sign?" in str(err.value)
    assert "is this point in the city" not in str(err.value)


def test_site_and_whatif_refuse_far_points(tiny_ws, tmp_path):
    ws, _ = tiny_ws
    far = tmp_path / "far.csv"
    _rows((702_000, 1000)).to_csv(far, index=False)
    res = CliRunner().invoke(app, ["whatif", "--workspace", str(ws), "--providers", str(far),
                                   "--providers-crs", CRS])
    assert res.exit_code == 2 and "700.0 km outside" in res.output
    res = CliRunner().invoke(app, ["site", "--workspace", str(ws), "--family", "prevention",
                                   "--k", "1", "--candidates", str(far),
                                   "--candidates-crs", CRS])
    assert res.exit_code == 2 and "700.0 km outside" in res.output
