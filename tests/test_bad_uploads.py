"""Every rejected upload is a 422 naming the file and the problem (never a 500, never a
traceback), in every format the upload route accepts; decompression is bounded (413).

The property-based test makes a valid file of every accepted (kind, suffix) from the
tiny city, mutates it (bytes, text, JSON structure, GeoParquet metadata, numbers) and
uploads it: the answer is 201, 413 or 422, and a 422 names the client's file and never
comes from the upload route's last-resort handler of reader bugs.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from safetygap.api._uploads import SUFFIXES
from tests.conftest import make_tiny_areas, write_tiny_city
from tests.test_write_api import make_client, upload

EXAMPLES = int(os.environ.get("SAFETYGAP_TEST_EXAMPLES", "120"))
"""Malformed uploads tried (a longer search: SAFETYGAP_TEST_EXAMPLES=2000)."""
DERANDOMIZE = EXAMPLES <= 120
LAST_RESORT = "reader failed unexpectedly"
RULES = Path(__file__).resolve().parents[1] / "safetygap" / "data" / "diversion_minneapolis.toml"
"""What the upload route says when a reader raised something it should not have."""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny city's input files and its analysis (workspace ``ws``)."""
    from safetygap.inputs import load_preset
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions
    from safetygap.run import run_analysis

    d = tmp_path_factory.mktemp("bad-uploads")
    (d / "in").mkdir()
    files = write_tiny_city(d / "in", make_tiny_areas())
    run_analysis(AnalysisInputs(**files), d / "ws", quiet=True,
                 options=AnalysisOptions(columns=load_preset("generic"),
                                         accept_undated=True))  # 1 undated row of 11
    return d / "ws", files


@pytest.fixture(scope="module")
def client(tiny):
    with make_client(tiny[0], max_upload_mb=1.0) as c:
        yield c


def _vector_bytes(gdf: gpd.GeoDataFrame, suffix: str, tmp: Path) -> bytes:
    if suffix in (".geojson", ".json"):
        return gdf.to_json().encode()
    if suffix == ".zip":
        gdf.to_file(tmp / "layer.shp")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for part in sorted(tmp.glob("layer.*")):
                zf.write(part, part.name)
        return buf.getvalue()
    driver = {".gpkg": "GPKG", ".fgb": "FlatGeobuf"}[suffix]
    out = tmp / f"layer{suffix}"
    gdf.to_file(out, driver=driver)
    return out.read_bytes()


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def seed_files(files: dict[str, Path], tmp: Path) -> dict[tuple[str, str], bytes]:
    """A valid upload of every accepted (kind, suffix), made from the tiny city."""
    nbhd, wards = make_tiny_areas()
    calls = pd.read_csv(files["calls"], dtype=str)
    prov = gpd.read_file(files["providers"]).to_crs("EPSG:4326")
    prov_table = pd.DataFrame(prov.drop(columns="geometry")).assign(
        latitude=prov.geometry.y.round(7), longitude=prov.geometry.x.round(7))
    pop = pd.read_csv(files["population"])
    tables = {"calls": calls, "providers": prov_table, "population": pop, "reports": calls}
    seeds: dict[tuple[str, str], bytes] = {}
    for kind, suffixes in SUFFIXES.items():
        for suffix in suffixes:
            sub = tmp / f"{kind}{suffix}"
            sub.mkdir()
            if kind in ("neighborhoods", "wards"):
                layer = nbhd if kind == "neighborhoods" else wards
                seeds[kind, suffix] = (_parquet_bytes(layer) if suffix in
                                       (".parquet", ".geoparquet", ".pq")
                                       else _vector_bytes(layer, suffix, sub))
                continue
            if kind == "diversion_rules":  # the packaged rule set
                seeds[kind, suffix] = RULES.read_bytes()
                continue
            table = tables[kind]
            if suffix in (".csv", ".txt"):
                seeds[kind, suffix] = table.to_csv(index=False).encode()
            elif suffix == ".tsv":
                seeds[kind, suffix] = table.to_csv(index=False, sep="\t").encode()
            elif suffix == ".csv.gz":
                seeds[kind, suffix] = gzip.compress(table.to_csv(index=False).encode())
            elif kind == "population":  # a table without coordinates
                seeds[kind, suffix] = (table.to_json(orient="records").encode()
                                       if suffix == ".json" else _parquet_bytes(table))
            elif suffix in (".parquet", ".geoparquet", ".pq", ".geojson", ".json", ".gpkg"):
                points = gpd.GeoDataFrame(
                    table, geometry=gpd.points_from_xy(pd.to_numeric(table["longitude"]),
                                                       pd.to_numeric(table["latitude"])),
                    crs="EPSG:4326")
                if suffix in (".parquet", ".pq"):
                    seeds[kind, suffix] = _parquet_bytes(table)
                elif suffix == ".geoparquet":
                    seeds[kind, suffix] = _parquet_bytes(points)
                elif suffix == ".json":
                    seeds[kind, suffix] = table.to_json(orient="records").encode()
                else:
                    seeds[kind, suffix] = _vector_bytes(points, suffix, sub)
    return seeds


@pytest.fixture(scope="module")
def seeds(tiny, tmp_path_factory):
    return seed_files(tiny[1], tmp_path_factory.mktemp("seeds"))


HUGE = (b"1e308", b"-1e308", b"NaN", b"Infinity", b"-inf", b"1900-01-01", b"9e99")


def _json_mutation(draw, content: bytes) -> bytes:
    try:
        doc = json.loads(content)
    except ValueError:
        return content
    how = draw(st.sampled_from(["list", "scalar", "features junk", "coordinates",
                                "geometry null", "deep", "properties junk"]))
    if how == "list":
        return json.dumps(draw(st.lists(st.integers() | st.text(max_size=3), max_size=4))
                          ).encode()
    if how == "scalar":
        return draw(st.sampled_from([b"1", b'"x"', b"null", b"true", b"{}"]))
    if how == "deep":
        return b"[" * 100_000 + b"]" * 100_000
    if isinstance(doc, dict) and isinstance(doc.get("features"), list) and doc["features"]:
        feature = doc["features"][draw(st.integers(0, len(doc["features"]) - 1))]
        if how == "features junk":
            doc["features"].append(draw(st.sampled_from([1, "x", None, [], {}])))
        elif how == "coordinates":
            value = draw(st.sampled_from([float("nan"), float("inf"), 1e308, -1e308, "x"]))
            geom = feature.get("geometry") or {}
            geom["coordinates"] = draw(st.sampled_from([
                [value, value], [[[value, 0], [1, value], [0, 0]]], [], value]))
            feature["geometry"] = geom
        elif how == "geometry null":
            feature["geometry"] = draw(st.sampled_from([None, {}, {"type": "Point"}, 5]))
        else:
            feature["properties"] = draw(st.sampled_from([None, [], 5, {"": None}]))
        return json.dumps(doc).encode()  # NaN and Infinity written as JSON extensions
    if isinstance(doc, list) and doc:
        doc[draw(st.integers(0, len(doc) - 1))] = draw(st.sampled_from(
            [1, None, [], "x", {"latitude": 1e308}, {"longitude": "NaN"}]))
        return json.dumps(doc).encode()
    return content


def _text_mutation(draw, content: bytes) -> bytes:
    lines = content.split(b"\n")
    i = draw(st.integers(0, max(len(lines) - 1, 0)))
    how = draw(st.sampled_from(["extra field", "short line", "quote", "number", "line lost",
                                "junk line"]))
    sep = b"\t" if b"\t" in lines[0] else b","
    if how == "extra field":
        lines[i] += sep + b"extra" + sep + b"fields"
    elif how == "short line":
        lines[i] = lines[i].partition(sep)[0]
    elif how == "quote":
        lines[i] = b'"' + lines[i]
    elif how == "number":
        fields = lines[i].split(sep)
        fields[draw(st.integers(0, len(fields) - 1))] = draw(st.sampled_from(HUGE))
        lines[i] = sep.join(fields)
    elif how == "line lost":
        del lines[i]
    else:
        lines.insert(i, draw(st.binary(min_size=1, max_size=40)))
    return b"\n".join(lines)


def _parquet_mutation(draw, content: bytes) -> bytes:
    table = pq.read_table(io.BytesIO(content))
    meta = dict(table.schema.metadata or {})
    how = draw(st.sampled_from(["geo junk", "geo wrong column", "geo no columns",
                                "geo added", "geo crs junk", "column dropped"]))
    geo = json.loads(meta[b"geo"]) if b"geo" in meta else None
    if how == "geo junk":
        meta[b"geo"] = draw(st.binary(max_size=20))
    elif how == "geo wrong column" and geo:
        geo["primary_column"] = draw(st.sampled_from(["nope", "", 5, None]))
        meta[b"geo"] = json.dumps(geo).encode()
    elif how == "geo no columns" and geo:
        geo["columns"] = draw(st.sampled_from([{}, [], None, {"geometry": 5}]))
        meta[b"geo"] = json.dumps(geo).encode()
    elif how == "geo added":
        meta[b"geo"] = json.dumps({"version": "1.0.0", "primary_column": table.column_names[0],
                                   "columns": {table.column_names[0]: {"encoding": "WKB"}}}
                                  ).encode()
    elif how == "geo crs junk" and geo:
        for spec in geo.get("columns", {}).values():
            spec["crs"] = draw(st.sampled_from(["EPSG:999999", {"x": 1}, 5, "junk"]))
        meta[b"geo"] = json.dumps(geo).encode()
    else:
        table = table.drop_columns([table.column_names[-1]])
    buf = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(meta), buf)
    return buf.getvalue()


def _bytes_mutation(draw, content: bytes) -> bytes:
    how = draw(st.sampled_from(["truncated", "flipped", "junk", "empty", "random"]))
    if how == "truncated":
        return content[:draw(st.integers(0, max(len(content) - 1, 0)))]
    if how == "flipped":
        data = bytearray(content)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "junk":
        at = draw(st.integers(0, len(content)))
        return content[:at] + draw(st.binary(min_size=1, max_size=64)) + content[at:]
    if how == "empty":
        return b""
    return draw(st.binary(max_size=300))


@st.composite
def malformed_uploads(draw, seeds: dict[tuple[str, str], bytes]):
    """(kind, client file name, content): a seed of some accepted format, mutated in a
    way that fits the format (and sometimes at the byte level)."""
    kind, suffix = draw(st.sampled_from(sorted(seeds)))
    content = seeds[kind, suffix]
    structural = draw(st.booleans())
    if structural and suffix == ".csv.gz":
        content = gzip.compress(_text_mutation(draw, gzip.decompress(content)))
    elif structural and suffix in (".csv", ".tsv", ".txt", ".toml"):
        content = _text_mutation(draw, content)
    elif structural and suffix in (".json", ".geojson"):
        content = _json_mutation(draw, content)
    elif structural and suffix in (".parquet", ".geoparquet", ".pq"):
        content = _parquet_mutation(draw, content)
    else:
        content = _bytes_mutation(draw, content)
    return kind, f"bad-{kind}{suffix}", content


def test_malformed_uploads_of_every_format_never_answer_500(client, seeds):
    # the seeds cover every suffix the route accepts, and each is accepted as is
    assert set(seeds) == {(k, s) for k, v in SUFFIXES.items() for s in v}
    for (kind, suffix), content in seeds.items():
        r = upload(client, kind, f"seed{suffix}", content)
        assert r.status_code == 201, (kind, suffix, r.text[:500])
    seen: dict[int, int] = {}

    @given(case=malformed_uploads(seeds))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        kind, name, content = case
        r = upload(client, kind, name, content)
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
        assert r.status_code in (201, 413, 422), (kind, name, r.status_code, r.text[:800])
        if r.status_code == 422:
            message = r.json()["message"]
            assert name in message, message  # the client's file, not the server's
            assert LAST_RESORT not in message, message  # a reader bug, not a clean refusal
            assert "Traceback" not in r.text and "/tmp/" not in r.text

    check()
    assert seen.get(422, 0) > 30 and seen.get(201, 0) > 5, seen


# ------------------------------------------------------- the audit's cases, one by one


def _gpkg(gdf: gpd.GeoDataFrame, tmp: Path) -> bytes:
    gdf.to_file(tmp / "x.gpkg", driver="GPKG")
    return (tmp / "x.gpkg").read_bytes()


def test_the_audited_bad_uploads_are_422_naming_file_problem_and_row(client, tiny, tmp_path):
    import pyogrio

    nbhd, _ = make_tiny_areas()
    calls = pd.read_csv(tiny[1]["calls"], dtype=str)
    csv = calls.to_csv(index=False).encode()
    gz = gzip.compress(csv)
    no_geom = tmp_path / "nogeom.gpkg"
    pyogrio.write_dataframe(pd.DataFrame(nbhd.drop(columns="geometry")), no_geom,
                            driver="GPKG")
    huge = nbhd.copy()
    huge.loc[2, "geometry"] = Polygon([(0, 0), (1e308, 0), (1e308, 1e308), (0, 1e308)])
    broken_geo = pa.Table.from_pandas(calls).replace_schema_metadata({b"geo": b"{broken"})
    buf = io.BytesIO()
    pq.write_table(broken_geo, buf)
    feature = {"type": "Feature", "properties": {"area_id": "A", "name": "Alpha"},
               "geometry": {"type": "Polygon", "coordinates": [
                   [[-93.0, 45.0], [float("nan"), 45.0], [-93.0, float("inf")],
                    [-93.0, 45.0]]]}}
    cases = {
        "calls.json": ("calls", b"[1, 2, 3]", "not a list of records: record 1"),
        "pop.json": ("population", b"[1, 2]", "not a list of records: record 1"),
        "calls.csv.gz": ("calls", gz[: len(gz) // 2], "truncated or corrupt"),
        "calls.parquet": ("calls", buf.getvalue(), "broken GeoParquet metadata"),
        "areas.gpkg": ("neighborhoods", no_geom.read_bytes(), "no geometry"),
        "huge.gpkg": ("neighborhoods", _gpkg(huge, tmp_path), "row 3"),
        "nan.geojson": ("neighborhoods", json.dumps(
            {"type": "FeatureCollection", "features": [feature]}).encode(), "row 1"),
    }
    for name, (kind, content, words) in cases.items():
        r = upload(client, kind, name, content)
        assert r.status_code == 422, (name, r.status_code, r.text[:500])
        message = r.json()["message"]
        assert name in message and words in message, message


def test_decompression_is_bounded_while_streaming(tiny):
    """A 70 kB gzip that expands to 15 MB is refused (413) under a 1 MB decompressed
    limit; the same rows compressed to under the limit are accepted."""
    calls = pd.read_csv(tiny[1]["calls"], dtype=str)
    csv = calls.to_csv(index=False).encode()
    body = csv.split(b"\n", 1)[1]
    bomb = gzip.compress(csv + body * 20_000)
    assert len(bomb) < 100_000 and len(csv + body * 20_000) > 10_000_000
    with make_client(tiny[0], max_upload_mb=1.0) as c:
        c.app.state.settings.max_decompressed_mb = 1.0
        r = upload(c, "calls", "bomb.csv.gz", bomb)
        assert r.status_code == 413, r.text[:500]
        assert "bomb.csv.gz" in r.text and "SAFETYGAP_MAX_DECOMPRESSED_MB" in r.text
        r = upload(c, "calls", "small.csv.gz", gzip.compress(csv + body * 100))
        assert r.status_code == 201, r.text[:500]
        assert r.json()["rows"] == 11 + 11 * 100
        assert not [p for p in c.app.state.datasets.directory.iterdir()
                    if ".uploading" in p.name]  # nothing half-stored


def test_a_gzip_bomb_is_counted_in_blocks_never_held(tmp_path):
    """200 MB of zeros gzipped to about 200 kB, a 50 MB limit: refused, and the peak
    traced allocation stays a few blocks (decompressing it whole would take 200 MB)."""
    import tracemalloc
    import zlib

    from safetygap.inputs.expansion import BLOCK, ExpansionTooLarge, check_expansion

    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        for _ in range(200):
            fh.write(bytes(1 << 20))
    assert bomb.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ExpansionTooLarge, match="50 MB"):
            check_expansion(bomb, limit_bytes=50_000_000, where="bomb.csv.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * BLOCK, f"peak {peak / 1e6:.1f} MB"
    # a truncated one names its problem, not a zlib error
    bomb.write_bytes(bomb.read_bytes()[:5000])
    with pytest.raises(Exception, match="truncated or corrupt") as exc:
        check_expansion(bomb, limit_bytes=50_000_000, where="bomb.csv.gz")
    assert not isinstance(exc.value, zlib.error)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def lying_parquet(table: pa.Table, path: Path, *, groups: int) -> int:
    """``table`` written ``groups`` times (one row group each; zstd, no dictionary, so
    the pages are honest), then every size the footer declares (each column chunk's
    uncompressed size, each row group's bytes) overwritten with 1: the Thrift varint of
    the size replaced by a varint of 1 padded to the same length. Returns the bytes the
    honest footer declared."""
    with pq.ParquetWriter(path, table.schema, compression="zstd",
                          use_dictionary=False) as w:
        for _ in range(groups):
            w.write_table(table, row_group_size=table.num_rows)
    meta = pq.ParquetFile(path).metadata
    sizes = {meta.row_group(g).total_byte_size for g in range(groups)}
    sizes |= {meta.row_group(g).column(c).total_uncompressed_size
              for g in range(groups) for c in range(meta.num_columns)}
    honest = sum(meta.row_group(g).column(c).total_uncompressed_size
                 for g in range(groups) for c in range(meta.num_columns))
    data = path.read_bytes()
    length = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - length:-8]
    for size in sorted(sizes, reverse=True):
        zigzag = _varint(size << 1)
        footer = footer.replace(zigzag, bytes([0x82, *[0x80] * (len(zigzag) - 2), 0]))
    path.write_bytes(data[:-8 - length] + footer + data[-8:])
    return honest


def test_a_parquet_footer_that_under_declares_is_a_413_in_a_bounded_reader(tiny, tmp_path):
    """A calls file of 2.2 million rows whose footer declares 1 byte per column chunk
    (issue 12, item 3): the decompression check, which trusts the footer, lets it
    through (the honest footer would be refused), and reading it would take about a GB.
    The upload is read in a child process under an address-space limit
    (SAFETYGAP_MAX_UPLOAD_MEMORY_MB): 413 naming the file and the setting, nothing
    stored, the server (here: this process) did not grow, and the next upload works."""
    from safetygap.inputs.expansion import ExpansionTooLarge, check_expansion

    calls = pa.Table.from_pandas(pd.read_csv(tiny[1]["calls"], dtype=str),
                                 preserve_index=False)
    block = pa.concat_tables([calls] * 20_000).combine_chunks()  # 220,000 rows
    lying = tmp_path / "lying.parquet"
    honest = lying_parquet(block, lying, groups=10)
    assert honest > 100_000_000 and lying.stat().st_size < 5_000_000
    assert check_expansion(lying, limit_bytes=50_000_000, where="x") < 1000  # it lies
    assert pq.read_metadata(lying).num_rows == 2_200_000
    with pytest.raises(ExpansionTooLarge):  # ... where the honest footer is refused
        honest_file = tmp_path / "honest.parquet"
        pq.write_table(block, honest_file, compression="zstd", use_dictionary=False)
        check_expansion(honest_file, limit_bytes=10_000_000, where="x")

    def rss() -> int:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) * 1024 for line in fh
                        if line.startswith("VmRSS:"))

    with make_client(tiny[0], max_upload_mb=10.0) as c:
        c.app.state.settings.max_decompressed_mb = 50.0
        c.app.state.settings.max_upload_memory_mb = 300.0
        stored = set(c.app.state.datasets.directory.glob("*"))
        before = rss()
        r = upload(c, "calls", "lying.parquet", lying.read_bytes())
        grown = rss() - before
        assert r.status_code == 413, r.text[:500]
        message = r.json()["message"]
        assert "lying.parquet" in message and "SAFETYGAP_MAX_UPLOAD_MEMORY_MB" in message
        assert "300 MB" in message and "/tmp" not in r.text
        assert grown < 60_000_000, f"the server grew by {grown / 1e6:.0f} MB"
        assert set(c.app.state.datasets.directory.glob("*")) == stored  # nothing stored
        r = upload(c, "calls", "small.parquet", _parquet_bytes(calls.to_pandas()))
        assert r.status_code == 201, r.text[:500]


def test_a_zip_whose_members_are_larger_than_declared_is_a_422(tiny, tmp_path):
    """A zipped shapefile of 20,000 neighborhoods whose directory (central and local
    headers) declares 1,000 bytes per member: the decompression check, which trusts the
    declared sizes, lets it through; the reader reads at most the declared bytes of each
    member and finds the checksum wrong: 422 naming the file and the member (not the
    last-resort answer to a reader bug), nothing stored, the server answers on. (Before
    the member's read was guarded the answer was already a 422, "Bad CRC-32" from the
    reader's fallback; the message now says the directory does not match.)"""
    import struct

    import shapely

    from safetygap.inputs.expansion import check_expansion

    n = 20_000
    gdf = gpd.GeoDataFrame({"neighborhood_id": [f"N{i}" for i in range(n)]},
                           geometry=[shapely.box(0, 0, 10, 10)] * n, crs="EPSG:26915")
    gdf.to_file(tmp_path / "big.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(tmp_path.glob("big.*")):
            zf.write(part, part.name)
    data = bytearray(buf.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        honest = sum(i.file_size for i in zf.infolist())
        for info in zf.infolist():
            struct.pack_into("<I", data, info.header_offset + 22, 1000)  # local header
    at = data.find(b"PK\x01\x02")
    while at >= 0:  # every central directory entry
        struct.pack_into("<I", data, at + 24, 1000)
        at = data.find(b"PK\x01\x02", at + 4)
    lying = tmp_path / "lying.zip"
    lying.write_bytes(bytes(data))
    assert honest > 2_000_000
    assert check_expansion(lying, limit_bytes=100_000, where="x") <= 5 * 1000  # it lies
    with make_client(tiny[0], max_upload_mb=10.0) as c:
        stored = set(c.app.state.datasets.directory.glob("*"))
        r = upload(c, "neighborhoods", "lying.zip", bytes(data))
        assert r.status_code == 422, r.text[:500]
        message = r.json()["message"]
        assert "lying.zip" in message and "not a readable zip file" in message, message
        assert LAST_RESORT not in message and "/tmp" not in r.text
        assert set(c.app.state.datasets.directory.glob("*")) == stored  # nothing stored
        assert c.get("/health").status_code == 200
