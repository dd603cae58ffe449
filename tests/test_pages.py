"""HTML pages, the static report and the serve/report commands: content, size, no external
host but the tile server, and every string from the data escaped."""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urlparse

import pytest
from conftest import HOSTILE_AREA, HOSTILE_PROVIDER, HOSTILE_TEMPLATE
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from safetygap.api.app import create_app
from safetygap.cli import app as cli
from safetygap.maps.assets import DOCS_FILES, asset_files, docs_dir
from safetygap.maps.pages import ward_panel_rows
from safetygap.readmodel import WorkspaceView
from safetygap.settings import OSM_TILES, get_settings
from safetygap.workspace import Workspace

# page -> does it show neighborhood names (D is HOSTILE_AREA)?
PAGES = {"/": True, "/maps/gaps": False, "/maps/gaps?family=restoration&level=ward": False,
         "/maps/wards/1": True, "/maps/wards/2": True, "/report": True,
         "/maps/sites?family=restoration&k=2": False, "/wards/2": True,
         "/neighborhoods/D": True}
URL_ATTR = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)


def hosts(html: str) -> set[str]:
    """Hosts named by src/href attributes and by quoted absolute URLs in scripts."""
    urls = URL_ATTR.findall(html) + re.findall(r"""["'](https?://[^"']+)["']""", html)
    return {urlparse(u).hostname for u in urls if urlparse(u).hostname}


@pytest.mark.parametrize(("page", "shows_names"), PAGES.items())
def test_pages_escape_data(client, page, shows_names):
    r = client.get(page)
    assert r.status_code == 200, r.text[:300]
    html = r.text
    assert HOSTILE_PROVIDER not in html
    assert "<b>bold</b>" not in html and "<img src=x" not in html
    assert (escape(HOSTILE_AREA) in html) == shows_names


def test_ward_page_lists_hostile_names_as_text(client):
    html = client.get("/maps/wards/2").text
    assert escape(HOSTILE_PROVIDER) in html
    # "{{7*7}}" stays literal: no template evaluation of data
    assert escape(HOSTILE_TEMPLATE) in html
    assert escape(HOSTILE_AREA) in html


def test_index_page(client, demo_client):
    html = client.get("/").text
    assert "synthetic-notice" not in html
    for ward in ("1", "2"):
        assert f'href="/maps/wards/{ward}"' in html
    for family in ("response", "prevention", "restoration"):
        assert f'href="/maps/gaps?family={family}"' in html
    # restoration, most underserved first: A, B, C, D (test_api.test_gap_ranks_by_hand),
    # each linking to its page, with its class in words; the list downloads as CSV
    restoration = html[html.index('id="top-restoration"'):]
    names = re.findall(r'href="/neighborhoods/[^"]+">([^<]+)</a>', restoration)[:4]
    assert names == ["Alpha", "Bravo", "Charlie", escape(HOSTILE_AREA)]
    assert "middle need, low access" in restoration
    assert ('href="/api/gaps?family=restoration&amp;level=neighborhood&amp;top=20&amp;'
            'format=csv" download' in restoration)
    demo = demo_client.get("/").text
    assert 'id="synthetic-notice"' in demo and "Synthetic demo data" in demo
    label = demo_client.get("/api/summary").json()["label"]
    assert label and escape(label) in demo
    n_wards = demo_client.get("/api/summary").json()["totals"]["wards"]
    assert len(re.findall(r'href="/maps/wards/[^"]+"', demo)) == n_wards


def test_gap_map_page_is_small_and_local(demo_client):
    r = demo_client.get("/maps/gaps")
    assert r.status_code == 200
    assert len(r.content) < 1_000_000
    html = r.text
    assert hosts(html) <= {urlparse(OSM_TILES).hostname}
    for url in set(URL_ATTR.findall(html)):
        if url.startswith("/static/"):
            assert demo_client.get(url).status_code == 200, url
    assert "synthetic data" in html
    assert "L.control.scale" in html and '"labels": {' in html and '"fields": {' in html
    assert "safetygap.gapMap(" in html and '"levelToggle": true' in html
    # the map's layers are fetched by URL, not embedded
    assert '"/api/neighborhoods"' in html and '"features"' not in html


def test_every_asset_is_served(client):
    for url, path in asset_files().items():
        assert path.is_file(), path
        r = client.get(url)
        assert r.status_code == 200 and r.content == path.read_bytes()
    # Font Awesome's stylesheet loads its fonts relative to itself
    assert client.get("/static/font-awesome/webfonts/fa-solid-900.woff2").status_code == 200


def test_api_docs_page_is_local(client):
    """FastAPI's default /docs loads Swagger UI and its icon from other hosts (blank on a
    closed network); the app serves its own copies. No /redoc: ReDoc's bundle always
    loads its logo from another host."""
    r = client.get("/docs")
    assert r.status_code == 200
    html = r.text
    assert hosts(html) == set()
    local = [u for u in URL_ATTR.findall(html) if u.startswith("/static/docs/")]
    assert len(local) == 3  # script, stylesheet, icon
    for url in local:
        got = client.get(url)
        assert got.status_code == 200 and got.content == (
            docs_dir() / url.removeprefix("/static/docs/")).read_bytes()
    assert "url: '/openapi.json'" in html
    # no validator badge: its image would come from validator.swagger.io
    assert '"validatorUrl": null' in html
    assert client.get("/redoc").status_code == 404


def test_swagger_ui_reads_openapi_31(client):
    """FastAPI writes OpenAPI 3.1; Swagger UI reads it from version 5 on."""
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    bundle = (docs_dir() / DOCS_FILES["swagger_js"]).read_text(encoding="utf-8")
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.(\d+)\.(\d+)"', bundle)
    assert version is not None and int(version.group(1)) >= 5


def test_ward_map_page(demo_client):
    ward = demo_client.get("/api/wards?family=response").json()["features"][0]["id"]
    r = demo_client.get(f"/maps/wards/{ward}")
    assert r.status_code == 200 and len(r.content) < 1_000_000
    assert 'id="sg-panel"' in r.text and f'"ward": "{ward}"' in r.text
    assert '"levelToggle": false' in r.text
    assert hosts(r.text) <= {urlparse(OSM_TILES).hostname}


def test_unknown_ward_page_lists_wards(client):
    r = client.get("/maps/wards/nope")
    assert r.status_code == 404 and 'href="/maps/wards/1"' in r.text


def test_no_tiles(api_workspace):
    with TestClient(create_app(api_workspace, settings=get_settings(tiles="none"))) as c:
        html = c.get("/maps/gaps").text
    assert "tileLayer" not in html and hosts(html) == set()


def test_custom_tiles(api_workspace):
    tiles = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    with TestClient(create_app(api_workspace, settings=get_settings(tiles=tiles))) as c:
        html = c.get("/maps/gaps").text
    assert tiles in html and hosts(html) == {"127.0.0.1"}


def test_ward_panel_against_city_by_hand(api_workspace):
    """Ward 1: 3 response calls (A) vs 3/2 per ward; rate 3*1000/(7000 * 1.333 covered
    years) = 0.32 vs the city's 3*1000/(10000 * 1.333) = 0.23: worse."""
    view = WorkspaceView(Workspace.open(api_workspace), privacy_min_count=1)  # all shown
    rows = {r["measure"]: r for r in ward_panel_rows(view, "1")["response"]}
    assert (rows["calls"]["value"], rows["calls"]["city"]) == ("3 calls", "2 calls")
    # with its exact Poisson 95% interval: chi2(0.025, 2k) / 2 and chi2(0.975, 2k + 2) / 2
    # calls over 7,000 x 1.333 / 1,000 thousand resident-years, k = 3: 0.066 to 0.94
    from scipy.stats import chi2

    e = 7000 * 487 / 365.25 / 1000
    low, high = chi2.ppf(0.025, 6) / 2 / e, chi2.ppf(0.975, 8) / 2 / e
    assert (round(low, 1), round(high, 1)) == (0.1, 0.9)
    assert rows["rate"]["value"] == "0.3 per 1,000 residents a year (0.1 to 0.9)"
    assert rows["rate"]["worse"]
    assert rows["calls"]["rank"] == 1 and rows["calls"]["of"] == 2


# ------------------------------------------------------------------------ report


def test_report_command(demo_workspace, tmp_path):
    out = tmp_path / "report.html"
    res = CliRunner().invoke(cli, ["report", "--workspace", str(demo_workspace),
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert hosts(html) == set()  # self-contained: opens offline
    # charts: calls, diverted share, 3 gap bars; a static map per family
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 2 + 3 + 3
    assert len(html.encode()) < 1_000_000  # under 1 MB (the charts in 256 colours)
    assert "SYNTHETIC DEMO DATA" in html and "@media print" in html
    assert HOSTILE_PROVIDER not in html


def test_report_escapes(api_workspace, tmp_path):
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["report", "--workspace", str(api_workspace), "--out",
                                   str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert escape(HOSTILE_AREA) in html and HOSTILE_AREA not in html


def test_commands_refuse_a_non_workspace(tmp_path):
    res = CliRunner().invoke(cli, ["report", "--workspace", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "directory not found" in res.output
    res = CliRunner().invoke(cli, ["serve", "--workspace", str(tmp_path)])
    assert res.exit_code == 2 and "manifest.json" in res.output
