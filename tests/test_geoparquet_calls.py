"""GeoParquet calls are streamed in batches, geometry decoded batch by batch: rows, faults,
examples, coordinates and CRS identical to one read of the file with geopandas."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from safetygap.errors import ValidationError
from safetygap.inputs import ColumnMap, read_calls
from safetygap.inputs import files as _files
from safetygap.inputs.calls import _canonical

GEOM = ColumnMap(id="id", call_type="call_type", agency="agency", time="time",
                 time_format="iso")


def calls_gdf(n: int, seed: int = 3, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """n calls with faults at known rows (for n = 3000, 0-based):
    no geometry 7 and 2999, empty point 1500, a line 40, a polygon 2200 (not points),
    longitude out of range 95 and 2801 (EPSG:4326 only), (0, 0) at 2500,
    bad dates 10 and 2000, a missing id 33."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-93.3, -93.2, n)
    y = rng.uniform(44.9, 45.0, n)
    geoms = shapely.points(x, y)
    geoms[[7, n - 1]] = None
    geoms[n // 2] = shapely.Point()
    geoms[40] = shapely.LineString([(-93.25, 44.95), (-93.24, 44.96)])
    geoms[2200 * n // 3000] = shapely.box(-93.25, 44.95, -93.24, 44.96)
    geoms[95] = shapely.Point(-193.25, 44.95)
    geoms[2801 * n // 3000] = shapely.Point(-93.25, 144.95)
    geoms[5 * n // 6] = shapely.Point(0, 0)
    times = [f"2023-01-{1 + i % 28:02d}T10:00:00" for i in range(n)]
    times[10], times[2 * n // 3] = "soon", "2023-02-30T00:00:00"
    ids = [f"C{i}" for i in range(n)]
    ids[33] = None
    gdf = gpd.GeoDataFrame({
        "id": ids,
        "call_type": rng.choice(["Theft (P)", "Person In Crisis (P)", "Nonsense"], n),
        "agency": rng.choice(["POLICE", "BCR", None], n),
        "time": times,
        "extra": rng.uniform(0, 1, n),  # not mapped: never read
    }, geometry=geoms, crs="EPSG:4326")
    return gdf if crs == "EPSG:4326" else gdf.to_crs(crs)


def one_read(path, cmap: ColumnMap):
    """The reference: the whole file read by geopandas, converted in one batch."""
    table = _files.read_table(path, where="calls",
                              columns=sorted(set(cmap.required_columns().values())))
    crs = cmap.source_crs if cmap.coordinate_columns else (cmap.crs or table.crs)
    examples: dict = {}
    sources: list = []
    frame = _canonical(table.frame, table.geometry, cmap, crs,
                       np.arange(1, len(table.frame) + 1), examples, sources)
    return frame, examples, sources[0], crs


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:26915"])
def test_geoparquet_batches_equal_one_read(tmp_path, monkeypatch, crs):
    p = tmp_path / "calls.parquet"
    calls_gdf(3000, crs=crs).to_parquet(p, row_group_size=700)
    frame, examples, (sx, sy), want_crs = one_read(p, GEOM)
    monkeypatch.setattr(_files, "PARQUET_BATCH_ROWS", 60)  # 50 batches
    batches, got_crs = _files.open_geoparquet_batches(p, "calls", ["id", "time"])
    sizes = [b.num_rows for b, _ in batches]
    assert len(sizes) >= 50 and sum(sizes) == 3000 and got_crs == want_crs
    streamed = read_calls(p, columns=GEOM)
    assert streamed.crs == want_crs == crs and streamed.coordinate_label == "geometry"
    pd.testing.assert_frame_equal(streamed.frame, frame, check_exact=True)
    assert streamed.examples == examples
    np.testing.assert_array_equal(streamed.source_xy[0], sx)
    np.testing.assert_array_equal(streamed.source_xy[1], sy)
    # the faults, worked out from how the file was made
    f = streamed.frame
    fault = f["coord_fault"].to_numpy()
    assert list(f["row"]) == list(range(1, 3001))
    assert list(np.flatnonzero(fault == 1)) == [7, 1500, 2999]  # missing: None, empty
    invalid = [40, 95, 2200, 2801] if crs == "EPSG:4326" else [40, 2200]
    assert list(np.flatnonzero(fault == 2)) == invalid
    assert list(np.flatnonzero(fault == 3)) == ([2500] if crs == "EPSG:4326" else [])
    assert list(np.flatnonzero(f["time"].isna().to_numpy())) == [10, 2000]
    assert f["call_id"].isna().tolist().index(True) == 33
    ex = streamed.examples
    assert [e["row"] for e in ex["missing_coordinates"]] == [8, 1501, 3000]
    assert [e["value"] for e in ex["unparseable_date"]] == ["soon", "2023-02-30T00:00:00"]


def test_geoparquet_examples_stop_at_five_across_batches(tmp_path, monkeypatch):
    gdf = calls_gdf(2000)
    gdf.loc[(gdf.index % 150 == 3) & (gdf.index > 100), "time"] = "never"
    p = tmp_path / "calls.parquet"
    gdf.to_parquet(p)
    monkeypatch.setattr(_files, "PARQUET_BATCH_ROWS", 64)
    rows = [e["row"] for e in read_calls(p, columns=GEOM).examples["unparseable_date"]]
    assert rows == [11, 154, 304, 454, 604]  # row 11 is the "soon" row (0-based 10)


def test_geoparquet_with_coordinate_columns_skips_the_geometry(tmp_path, monkeypatch):
    gdf = calls_gdf(500)
    rng = np.random.default_rng(5)
    gdf["lat"] = rng.uniform(44.9, 45.0, len(gdf)).round(6).astype(str)
    gdf["lon"] = rng.uniform(-93.3, -93.2, len(gdf)).round(6).astype(str)
    gdf.loc[[3, 400], "lat"] = ["abc", None]
    p = tmp_path / "calls.parquet"
    gdf.to_parquet(p)
    csv = tmp_path / "calls.csv"
    pd.DataFrame(gdf.drop(columns="geometry")).to_csv(csv, index=False)
    cmap = GEOM.with_overrides(latitude="lat", longitude="lon", crs="EPSG:4326")
    decoded = []
    real = shapely.from_wkb
    monkeypatch.setattr(_files.shapely, "from_wkb",
                        lambda *a, **k: decoded.append(1) or real(*a, **k))
    monkeypatch.setattr(_files, "PARQUET_BATCH_ROWS", 64)
    got = read_calls(p, columns=cmap)
    assert decoded == [] and got.coordinate_label == "lon/lat"
    want = read_calls(csv, columns=cmap)
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert got.examples == want.examples
    assert list(np.flatnonzero(got.frame["coord_fault"].to_numpy())) == [3, 400]


def _rewrite_geo_metadata(path, change) -> None:
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    geo = json.loads(meta[b"geo"])
    change(geo["columns"]["geometry"])
    meta[b"geo"] = json.dumps(geo).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def test_geoparquet_crs_as_the_specification_says(tmp_path):
    p = tmp_path / "calls.parquet"
    calls_gdf(200).to_parquet(p)  # 8 rows with faulty geometry (see calls_gdf)
    _rewrite_geo_metadata(p, lambda col: col.pop("crs"))  # no crs: OGC:CRS84
    got = read_calls(p, columns=GEOM)
    assert got.crs == one_read(p, GEOM)[3] == "OGC:CRS84"
    assert (got.frame["coord_fault"] == 0).sum() == 192  # longitude/latitude ranges checked
    _rewrite_geo_metadata(p, lambda col: col.update(crs=None))  # null: unknown
    with pytest.raises(ValidationError, match="no CRS"):
        read_calls(p, columns=GEOM)
    got = read_calls(p, columns=GEOM.with_overrides(crs="EPSG:4326"))
    assert got.crs == "EPSG:4326" and (got.frame["coord_fault"] == 0).sum() == 192
    _rewrite_geo_metadata(p, lambda col: col.update(crs="EPSG:999999"))  # unknown to PROJ
    with pytest.raises(ValidationError, match="unknown CRS") as err:
        read_calls(p, columns=GEOM)
    assert "EPSG:999999" in str(err.value)


def test_geoparquet_not_wkb_names_file_column_and_row(tmp_path, monkeypatch):
    p = tmp_path / "calls.parquet"
    calls_gdf(300).to_parquet(p)
    table = pq.read_table(p)
    wkb = table.column("geometry").to_pylist()
    wkb[250] = b"\x01\x07garbage"
    import pyarrow as pa

    table = table.set_column(table.schema.get_field_index("geometry"), "geometry",
                             pa.array(wkb, type=pa.binary()))
    pq.write_table(table, p)
    monkeypatch.setattr(_files, "PARQUET_BATCH_ROWS", 100)
    with pytest.raises(ValidationError) as err:
        read_calls(p, columns=GEOM)
    text = str(err.value)
    assert str(p) in text and "row 251" in text and "geometry" in text and "WKB" in text


def test_geoarrow_encoded_geoparquet_is_read_whole_with_the_same_result(tmp_path):
    gdf = calls_gdf(400)
    gdf = gdf[shapely.get_type_id(gdf.geometry.values) <= 0]  # geoarrow "point": points only
    wkb, arrow = tmp_path / "wkb.parquet", tmp_path / "geoarrow.parquet"
    gdf.to_parquet(wkb)
    gdf.to_parquet(arrow, geometry_encoding="geoarrow")
    assert _files.open_geoparquet_batches(arrow, "calls", ["id"]) is None
    a, b = read_calls(wkb, columns=GEOM), read_calls(arrow, columns=GEOM)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.examples == b.examples and a.crs == b.crs
