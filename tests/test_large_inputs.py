"""Streaming the calls file in batches: every row kept, numbered and converted as if the
file were read whole; numbers parsed by pyarrow; calls.parquet written from arrays."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from safetygap._geoparquet import write_points
from safetygap.errors import ValidationError
from safetygap.inputs import ColumnMap, load_preset, read_calls
from safetygap.inputs import files as _files
from safetygap.inputs.calls import to_float

GENERIC = load_preset("generic")


def calls_csv(path, n: int, seed: int = 1) -> pd.DataFrame:
    """n generic calls with faults sprinkled in at known rows."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "id": [f"C{i}" for i in range(n)],
        "call_type": rng.choice(["Theft (P)", "Person In Crisis (P)", "Nonsense"], n),
        "agency": rng.choice(["POLICE", "BCR", ""], n),
        "time": [f"2023-01-{1 + i % 28:02d}T10:00:00" for i in range(n)],
        "latitude": np.round(rng.uniform(44.9, 45.0, n), 6).astype(str),
        "longitude": np.round(rng.uniform(-93.3, -93.2, n), 6).astype(str),
    })
    # for n = 3000: bad latitudes at 7, 1500, 2999; bad dates at 10, 2000; 0,0 at 2500
    df.loc[[7, n // 2, n - 1], "latitude"] = ["abc", "", "95"]
    df.loc[[10, 2 * n // 3], "time"] = ["soon", "2023-02-30T00:00:00"]
    df.loc[[5 * n // 6], ["latitude", "longitude"]] = ["0", "0"]
    df.loc[[20, 13 * n // 15], "id"] = ["C3", "C4"]  # duplicates of earlier ids
    df.to_csv(path, index=False)
    return df


def test_batches_equal_one_read(tmp_path, monkeypatch):
    p = tmp_path / "calls.csv"
    calls_csv(p, 3000)
    whole = read_calls(p, columns=GENERIC)
    monkeypatch.setattr(_files, "CSV_BLOCK_BYTES", 4096)  # ~60 rows a batch: ~50 batches
    batches = list(_files.open_csv_batches(p, "calls", ["id", "time"]))
    assert len(batches) > 40 and sum(b.num_rows for b in batches) == 3000
    streamed = read_calls(p, columns=GENERIC)
    pd.testing.assert_frame_equal(whole.frame, streamed.frame)
    assert whole.examples == streamed.examples
    f = streamed.frame
    assert list(f["row"]) == list(range(1, 3001))
    assert list(np.flatnonzero(f["coord_fault"].to_numpy() == 2)) == [7, 2999]
    assert list(np.flatnonzero(f["coord_fault"].to_numpy() == 1)) == [1500]
    assert list(np.flatnonzero(f["coord_fault"].to_numpy() == 3)) == [2500]
    assert list(np.flatnonzero(f["time"].isna().to_numpy())) == [10, 2000]
    # examples from late batches are kept, in input order, with their 1-based rows
    ex = streamed.examples
    assert [e["row"] for e in ex["invalid_coordinates"]] == [8, 3000]
    assert ex["invalid_coordinates"][0]["value"].endswith(", abc")
    assert [e["value"] for e in ex["unparseable_date"]] == ["soon", "2023-02-30T00:00:00"]
    assert ex["missing_coordinates"][0]["value"].endswith(", <empty>")


def test_examples_stop_at_five_across_batches(tmp_path, monkeypatch):
    p = tmp_path / "calls.csv"
    df = calls_csv(p, 2000)
    df.loc[(df.index % 150 == 3) & (df.index > 100), "time"] = "never"
    df.to_csv(p, index=False)
    monkeypatch.setattr(_files, "CSV_BLOCK_BYTES", 4096)
    c = read_calls(p, columns=GENERIC)
    rows = [e["row"] for e in c.examples["unparseable_date"]]
    assert rows == [11, 154, 304, 454, 604]  # row 11 is the "soon" row (0-based 10)


def test_plain_parquet_is_streamed_too(tmp_path):
    p = tmp_path / "calls.csv"
    df = calls_csv(p, 500)
    pq_path = tmp_path / "calls.parquet"
    df.replace("", None).to_parquet(pq_path, index=False)  # CSV reads "" as missing
    a = read_calls(p, columns=GENERIC).frame
    b = read_calls(pq_path, columns=GENERIC).frame
    pd.testing.assert_frame_equal(a, b)


HEADER = ["id", "call_type", "agency", "time", "latitude", "longitude"]


def _empty_calls(tmp_path, kind: str):
    """A calls file with the generic columns and no data row, in format ``kind``."""
    empty = pd.DataFrame({c: pd.Series([], dtype=str) for c in HEADER})
    if kind == "csv":
        p = tmp_path / "calls.csv"
        p.write_text(",".join(HEADER) + "\n")
    elif kind == "csv-blank-lines":
        p = tmp_path / "calls.csv"
        p.write_text(",".join(HEADER) + "\n\n\n")
    elif kind == "parquet":
        p = tmp_path / "calls.parquet"
        empty.to_parquet(p)
    elif kind == "geoparquet":
        p = tmp_path / "calls.parquet"
        gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs="EPSG:4326")).to_parquet(p)
    elif kind == "geojson":
        p = tmp_path / "calls.geojson"
        p.write_text('{"type": "FeatureCollection", "features": []}')
    else:
        p = tmp_path / "calls.json"
        p.write_text("[ ]")
    return p


@pytest.mark.parametrize("kind", ["csv", "csv-blank-lines", "parquet", "geoparquet",
                                  "geojson", "json"])
def test_header_only_file_is_refused(tmp_path, kind):
    """A file with a header and no data row would analyse as '0 rows' and still rank
    areas: it is a hard error naming the file."""
    p = _empty_calls(tmp_path, kind)
    with pytest.raises(ValidationError, match="no data rows") as err:
        read_calls(p, columns=GENERIC)
    assert p.name in str(err.value) and len(err.value.problems) == 1


@pytest.mark.parametrize("values, expected", [
    (["44.9", " -93.25 ", "1e3", "+.5", "7."], [44.9, -93.25, 1000.0, 0.5, 7.0]),
    (["44.9", "abc", "", None, "inf", "nan", "1,5"],
     [44.9, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan]),
])
def test_to_float(values, expected):
    got = to_float(pd.Series(pd.array(values, dtype="str")))
    np.testing.assert_array_equal(got, np.array(expected))
    # numeric columns pass through; non-finite values are NaN there too
    assert list(np.isnan(to_float(pd.Series([1.0, np.inf, None])))) == [False, True, True]


def test_xy_columns_numeric_in_parquet(tmp_path):
    p = tmp_path / "calls.parquet"
    pd.DataFrame({"id": ["1", "2"], "call_type": ["Theft", "Theft"],
                  "x": [500_000.5, np.nan], "y": [4_980_000.25, 1.0]}).to_parquet(p, index=False)
    c = read_calls(p, columns=ColumnMap(id="id", call_type="call_type", x="x", y="y",
                                        crs="EPSG:26915"))
    assert c.frame["x"].tolist()[0] == 500_000.5
    assert c.frame["coord_fault"].tolist() == [0, 1]  # NaN in a numeric column: missing


def test_point_geoparquet_round_trip(tmp_path):
    frame = pd.DataFrame({"row": [1, 2, 3], "name": pd.array(["a", None, "c"], dtype="str")})
    x = np.array([500_000.125, np.nan, -1.5])
    y = np.array([4_980_000.5, 3.0, 2.0])
    write_points(frame, x, y, "EPSG:26915", tmp_path / "p.parquet")
    g = gpd.read_parquet(tmp_path / "p.parquet")
    assert g.crs.to_epsg() == 26915
    assert g.geometry.iloc[1] is None
    assert (g.geometry.x.iloc[0], g.geometry.y.iloc[0]) == (500_000.125, 4_980_000.5)
    assert (g.geometry.x.iloc[2], g.geometry.y.iloc[2]) == (-1.5, 2.0)
    assert g["name"].tolist()[0] == "a" and pd.isna(g["name"].iloc[1])
