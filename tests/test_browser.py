"""A real browser: headless Chromium (Debian's ``chromium``, driven by Playwright) opens the
maps served by uvicorn on 127.0.0.1 with no network beyond it.

Checks that the Leaflet map draws the neighborhood polygons, the layer control and the
legend; that switching family, level and the call hexagons works; that a provider named
``<script>alert(1)</script>`` shows as text; that the page raised no JavaScript error
(failed base-tile loads aside) and asked no host but 127.0.0.1 (and the tile server).
Screenshots are saved under the test's tmp_path.

Skips when Chromium or Playwright is missing, unless SAFETYGAP_REQUIRE_BROWSER is set
(CI sets it), in which case it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import urlopen

import pytest
from conftest import HOSTILE_PROVIDER

from safetygap.settings import OSM_TILES

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
TILE_HOST = urlparse(OSM_TILES).hostname
HOW_TO = ("install it with `apt-get install -y chromium` (Debian) and `pip install playwright` "
          "(the project's test extra); Playwright's own browser downloads are not used")


def _browser_or_skip():
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright package is not installed"
        sync_playwright = None
    if problem is None and not (CHROMIUM.exists() or shutil.which("chromium")):
        problem = f"Chromium not found at {CHROMIUM}"
    if problem:
        if os.environ.get("SAFETYGAP_REQUIRE_BROWSER"):
            pytest.fail(f"{problem} and SAFETYGAP_REQUIRE_BROWSER is set: {HOW_TO}")
        pytest.skip(f"{problem}: {HOW_TO}")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serving(workspace: Path, **settings: str) -> Iterator[str]:
    """uvicorn serving ``workspace`` on 127.0.0.1 (default OSM tiles, which cannot be
    reached here: the data layers must draw anyway; ``settings`` override)."""
    import uvicorn

    from safetygap.api.app import create_app
    from safetygap.settings import get_settings

    port = _free_port()
    app = create_app(workspace, settings=get_settings(**settings))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(demo_workspace) -> Iterator[str]:
    """The small demo city (straight-line distances) served on 127.0.0.1."""
    with _serving(demo_workspace) as url:
        yield url


@pytest.fixture(scope="module")
def network_server(tmp_path_factory) -> Iterator[str]:
    """A small demo city analysed on its walking network, served on 127.0.0.1."""
    _browser_or_skip()
    from safetygap.run import run_demo

    _, ws = run_demo(tmp_path_factory.mktemp("browser-network"), seed=7, n_calls=20_000,
                     quiet=True, travel="network", mode="walk")
    with _serving(ws) as url:
        yield url


class Watch:
    """Records JavaScript errors, dialogs and requests to other hosts; blocks the latter."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.external: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)
        page.route("**/*", self._route)

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        if urlparse(url).hostname == TILE_HOST or "ERR_FAILED" in msg.text:
            return  # base-map tiles cannot be reached on a closed network: allowed
        self.errors.append(f"console: {msg.text} ({url})")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route) -> None:
        host = urlparse(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        exe = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
        b = p.chromium.launch(executable_path=exe, args=LAUNCH_ARGS)
        yield b
        b.close()


def _map_attr(page, name: str) -> str | None:
    return page.get_attribute(".folium-map", name)


def _ward_page(browser, base: str, ward: str, query: str = ""):
    """A ward's map opened and its providers drawn: (page, watch)."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    watch = Watch(page)
    page.goto(f"{base}/maps/wards/{ward}{query}", wait_until="load")
    _wait_map(page, "data-sg-providers")
    return page, watch


def _marker_popup(page, title: str, *, open_it: bool = False) -> str | None:
    """The popup content of the first marker titled ``title`` (None when there is none),
    opened on the map when ``open_it``."""
    return page.evaluate("""([title, openIt]) => {
        let hit = null;
        const scan = (layer) => {
            if (layer.options && layer.options.title === title && !hit) hit = layer;
            if (layer.getLayers) layer.getLayers().forEach(scan);
        };
        window[document.querySelector('.folium-map').id].eachLayer(scan);
        if (!hit) return null;
        if (openIt) hit.openPopup();
        return hit.getPopup().getContent();
    }""", [title, open_it])


def _wait_map(page, name: str, value: str = "", *, how: str = "^=", timeout: int = 20_000
              ) -> None:
    """Wait until the map's ``data-<name>`` attribute starts with (``^=``) or equals
    (``=``) ``value``: a selector wait, which the pages' CSP (no 'unsafe-eval') allows,
    unlike a JavaScript predicate."""
    sel = f"[{name}{how}'{value}']" if value else f"[{name}]"  # ^='' matches nothing
    page.wait_for_selector(f".folium-map{sel}", state="attached", timeout=timeout)


def test_gap_map_in_chromium(browser, server, demo_client_summary, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    watch = Watch(page)
    page.goto(f"{server}/maps/gaps", wait_until="load")
    page.wait_for_selector(".leaflet-container")
    _wait_map(page, "data-sg-areas")
    n_nbhd = demo_client_summary["totals"]["neighborhoods"]
    n_wards = demo_client_summary["totals"]["wards"]
    assert _map_attr(page, "data-sg-areas") == f"response/neighborhood/{n_nbhd}"
    assert page.locator("path.leaflet-interactive").count() >= n_nbhd
    options = page.locator(".sg-options")
    assert options.is_visible() and options.locator(".sg-options-body").is_visible()
    assert options.locator("input[name=sg-family]").count() == 3
    assert "Response: need against access" in page.locator(".sg-legend").inner_text()
    assert page.locator(".leaflet-control-scale").is_visible()
    _wait_map(page, "data-sg-providers")
    _wait_map(page, "data-sg-wards")
    assert page.locator(".sg-provider, .sg-cluster").count() > 0
    assert page.locator(".sg-ward-label").count() == n_wards
    page.screenshot(path=str(tmp_path / "gaps-response.png"))

    # family, level and the call hexagons from the options panel
    options.locator("label", has_text="Prevention").first.click()
    _wait_map(page, "data-sg-areas", "prevention/")
    options.locator("input[name=sg-level][value=ward]").check()
    _wait_map(page, "data-sg-areas", f"prevention/ward/{n_wards}", how="=")
    assert "Prevention: need against access" in page.locator(".sg-legend").inner_text()
    options.get_by_text("Calls (hexagons)").click()
    _wait_map(page, "data-sg-hexbins", "prevention/")
    assert "Calls per hexagon" in page.locator(".sg-legend").inner_text()
    page.screenshot(path=str(tmp_path / "gaps-prevention-wards.png"))

    assert watch.errors == []
    assert watch.dialogs == []
    assert {urlparse(u).hostname for u in watch.external} <= {TILE_HOST}
    assert (tmp_path / "gaps-response.png").stat().st_size > 10_000
    page.close()


def test_ward_map_shows_hostile_name_as_text(browser, server, demo_client_summary, tmp_path):
    with urlopen(f"{server}/api/providers?family=restoration") as r:
        prov = json.load(r)
    hostile = next(f for f in prov["features"] if f["properties"]["name"] == HOSTILE_PROVIDER)
    ward = hostile["properties"]["ward_id"]
    page, watch = _ward_page(browser, server, ward)
    page.wait_for_selector("path.leaflet-interactive")
    assert HOSTILE_PROVIDER in page.locator("#sg-panel").inner_text()
    # open the hostile provider's popup: its name must be text, not markup
    assert _marker_popup(page, HOSTILE_PROVIDER, open_it=True) is not None
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.locator("h2").inner_text() == HOSTILE_PROVIDER
    assert popup.locator("script").count() == 0
    assert page.locator("#sg-panel script").count() == 0
    page.screenshot(path=str(tmp_path / f"ward-{ward}.png"))
    assert watch.errors == [] and watch.dialogs == []
    assert {urlparse(u).hostname for u in watch.external} <= {TILE_HOST}
    page.close()


@pytest.fixture(scope="module")
def demo_client_summary(demo_workspace) -> dict:
    return json.loads((demo_workspace / "summary.json").read_text())


@pytest.mark.parametrize(("which", "legend"), [
    ("server", "a circle of"), ("network_server", "walking on the street network")])
def test_sites_map_in_chromium(browser, request, which, legend, tmp_path):
    """The recommended sites draw as numbered markers with their catchments (a circle
    straight-line, the reachable area on the network, as the legend says); a popup per
    site; the panel lists them; no JavaScript error, no host but 127.0.0.1."""
    base = request.getfixturevalue(which)
    with urlopen(f"{base}/api/sites?family=prevention&k=3", timeout=120) as r:
        api = json.load(r)
    n = len(api["sites"])
    assert n == 3
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    watch = Watch(page)
    page.goto(f"{base}/maps/sites?family=prevention&k=3", wait_until="load")
    _wait_map(page, "data-sg-sites", str(n), how="=", timeout=60_000)
    _wait_map(page, "data-sg-areas")
    assert page.locator(".sg-site").count() == n
    assert [page.locator(".sg-site").nth(i).inner_text() for i in range(n)] == ["1", "2", "3"]
    sizes = page.evaluate("""() => Array.from(document.querySelectorAll(
        '.leaflet-sg-catchments-pane path')).map(p => {
            const b = p.getBBox(); return [b.width, b.height]; })""")
    assert len(sizes) == n and all(w > 5 and h > 5 for w, h in sizes)
    assert legend in page.locator(".sg-legend").inner_text()
    assert "Prevention: need against access" in page.locator(".sg-legend").inner_text()
    assert page.locator("#sg-sites-list li").count() == n
    assert "within reach" in page.locator("#sg-sites-summary").inner_text()
    page.locator(".sg-site").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert text.startswith("Site 1: ") and "need calls newly reached" in text
    assert f"{api['sites'][0]['marginal_calls']:,}" in text
    assert api["sites"][0]["neighborhoods"][0]["name"] in text
    page.wait_for_timeout(400)  # the popup's fade-in and the pan to it
    page.screenshot(path=str(tmp_path / f"sites-{which}.png"))
    assert watch.errors == [] and watch.dialogs == []
    assert {urlparse(u).hostname for u in watch.external} <= {TILE_HOST}
    page.close()


def test_api_docs_in_chromium(browser, server, tmp_path):
    """/docs (Swagger UI) draws one block per operation of the schema from the app's own
    files: no request leaves 127.0.0.1 (FastAPI's default page would load its script from
    a CDN and stay blank on a closed network)."""
    with urlopen(f"{server}/openapi.json") as r:
        schema = json.load(r)
    n_ops = sum(1 for item in schema["paths"].values() for m in item
                if m in ("get", "post", "put", "patch", "delete"))
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    watch = Watch(page)
    page.goto(f"{server}/docs", wait_until="load")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() == n_ops
    assert page.locator(".opblock-summary-path",
                        has_text=re.compile(r"/api/neighborhoods/\{area_id\}$")).count() == 1
    # the directory: two pages and their two JSON forms
    assert page.locator(".opblock-summary-path", has_text="/directory").count() == 4
    page.locator(".opblock-summary-path", has_text="/api/summary").first.click()
    page.wait_for_selector(".opblock.is-open")  # an operation opens: its parameters, models
    page.screenshot(path=str(tmp_path / "docs.png"))
    assert watch.errors == [] and watch.dialogs == []
    assert watch.external == []
    page.close()


@pytest.mark.parametrize(("which", "label", "reach"), [
    ("server", "straight-line distance (metres)", " straight-line"),
    ("network_server", "walking time on the street network (minutes)",
     " on the street network")])
def test_gap_map_names_the_distance_model(browser, request, which, label, reach, tmp_path):
    """The legend names the distance model and the family's catchments; a provider's
    popup gives its reach in the model's unit; the ward panel says the same."""
    from safetygap.labels import fmt_distance

    base = request.getfixturevalue(which)
    with urlopen(f"{base}/api/providers?family=prevention") as r:
        first = json.load(r)["features"][0]["properties"]
    page, watch = _ward_page(browser, base, first["ward_id"], "?family=prevention")
    page.wait_for_selector(".sg-legend .sg-reach", state="attached")
    legend = page.locator(".sg-legend .sg-reach").inner_text()
    assert label in legend and "Prevention catchments: " in legend
    content = _marker_popup(page, first["name"])
    assert content is not None
    want = fmt_distance(first["catchment"], first["catchment_unit"],
                        first["distance_model"]) + reach
    assert want in content
    assert label in page.locator("#sg-reach").inner_text()
    page.screenshot(path=str(tmp_path / f"ward-reach-{which}.png"))
    assert watch.errors == [] and watch.dialogs == []
    assert {urlparse(u).hostname for u in watch.external} <= {TILE_HOST}
    page.close()


def test_gap_map_without_tiles_in_chromium(browser, demo_workspace, tmp_path):
    """SAFETYGAP_TILES=none (a closed network without a tile server): the map has no tile
    layer to set its maximum zoom, yet the clustered providers and the areas must draw."""
    with _serving(demo_workspace, tiles="none") as base:
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        watch = Watch(page)
        page.goto(f"{base}/maps/gaps", wait_until="load")
        _wait_map(page, "data-sg-providers")
        _wait_map(page, "data-sg-areas")
        assert page.locator(".sg-cluster").count() > 0  # clustered at the city's zoom
        assert page.locator("path.leaflet-interactive").count() > 0
        assert page.locator(".leaflet-tile").count() == 0
        page.screenshot(path=str(tmp_path / "gaps-no-tiles.png"))
        assert watch.errors == [] and watch.dialogs == [] and watch.external == []
        page.close()
