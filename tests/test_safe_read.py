"""Safe file reading: the GDAL driver comes from the file's suffix, files that reference
other files or URLs (VRT, /vsi* paths) are refused before GDAL opens them, GDAL never
reaches the network, and nothing of a referenced file comes back to a client."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from typing import ClassVar

import geopandas as gpd
import pytest
from shapely.geometry import Point

from safetygap.errors import ValidationError
from safetygap.inputs import files as _files
from tests.test_write_api import make_client, upload

SECRET = "TOPSECRET-ROW-4242"


def _secret_csv(tmp_path: Path) -> Path:
    p = tmp_path / "secret.csv"
    p.write_text(f"name,latitude,longitude\n{SECRET},44.97,-93.26\n")
    return p


def _vrt(src: str) -> str:
    return (f'<OGRVRTDataSource><OGRVRTLayer name="secret"><SrcDataSource>{src}'
            '</SrcDataSource><GeometryType>wkbPoint</GeometryType>'
            '<GeometryField encoding="PointFromColumns" x="longitude" y="latitude"/>'
            '</OGRVRTLayer></OGRVRTDataSource>')


@pytest.mark.parametrize("name", ["providers.geojson", "providers.gpkg", "areas.shp",
                                  "areas.fgb", "areas.kml", "areas.gml", "areas.json"])
def test_vrt_under_another_name_is_refused(tmp_path, name):
    secret = _secret_csv(tmp_path)
    p = tmp_path / name
    p.write_text(_vrt(str(secret)))
    with pytest.raises(ValidationError) as exc:
        _files.read_table(p, where="providers")
    text = str(exc.value)
    assert SECRET not in text and "VRT" in text


def test_vsi_reference_inside_content_is_refused(tmp_path):
    p = tmp_path / "areas.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"src": "/vsicurl/http://127.0.0.1:9/x.csv"},
         "geometry": {"type": "Point", "coordinates": [0, 0]}}]}))
    with pytest.raises(ValidationError, match="/vsi"):
        _files.read_table(p, where="providers")


def test_wrong_format_for_the_suffix_is_refused(tmp_path):
    """A GeoPackage named .geojson is not read as a GeoPackage (no sniffing)."""
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    gdf.to_file(tmp_path / "real.gpkg", driver="GPKG")
    p = tmp_path / "fake.geojson"
    p.write_bytes((tmp_path / "real.gpkg").read_bytes())
    with pytest.raises(ValidationError, match="GeoJSON"):
        _files.read_table(p, where="neighborhoods")
    # and GeoJSON named .gpkg
    gdf.to_file(tmp_path / "real.geojson", driver="GeoJSON")
    q = tmp_path / "fake.gpkg"
    q.write_bytes((tmp_path / "real.geojson").read_bytes())
    with pytest.raises(ValidationError, match=r"GPKG|GeoPackage"):
        _files.read_table(q, where="neighborhoods")


def test_a_real_geojson_still_reads(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[Point(0, 0), Point(1, 1)],
                           crs="EPSG:4326")
    gdf.to_file(tmp_path / "ok.geojson", driver="GeoJSON")
    t = _files.read_table(tmp_path / "ok.geojson", where="x")
    assert t.frame["a"].tolist() == [1, 2] and len(t.geometry) == 2


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        body = b'{"type":"FeatureCollection","features":[]}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


def test_gdal_network_is_off():
    """After safe reading set GDAL up, a /vsicurl/ URL is not fetched."""
    import pyogrio

    from safetygap.vector_io import network_off

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        network_off()
        url = f"/vsicurl/http://127.0.0.1:{server.server_address[1]}/x.geojson"
        with pytest.raises(Exception):  # noqa: B017 - any GDAL error
            pyogrio.read_info(url)
        assert _Counting.hits == []
    finally:
        server.shutdown()


def test_uploaded_vrt_never_comes_back(tiny_ws, tmp_path):
    """The issue's attack: a VRT uploaded as providers.geojson reading a local file."""
    ws, _ = tiny_ws
    secret = _secret_csv(tmp_path)
    with make_client(ws) as c:
        r = upload(c, "providers", "providers.geojson", _vrt(str(secret)).encode())
        assert r.status_code == 422, r.text
        assert SECRET not in r.text and "VRT" in r.text
        for url in ("/api/providers", "/api/datasets"):
            assert SECRET not in c.get(url).text
