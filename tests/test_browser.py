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

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

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


@pytest.fixture(scope="module")
def server(demo_workspace) -> Iterator[str]:
    """uvicorn serving the demo workspace on 127.0.0.1 (default OSM tiles, which cannot be
    reached here: the data layers must draw anyway)."""
    import uvicorn

    from safetygap.api.app import create_app

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(demo_workspace), host="127.0.0.1",
                                        port=port, log_level="warning"))
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


def test_gap_map_in_chromium(browser, server, demo_client_summary, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    watch = Watch(page)
    page.goto(f"{server}/maps/gaps", wait_until="load")
    page.wait_for_selector(".leaflet-container")
    page.wait_for_function("document.querySelector('.folium-map')"
                           ".getAttribute('data-sg-areas') !== null", timeout=20_000)
    n_nbhd = demo_client_summary["totals"]["neighborhoods"]
    n_wards = demo_client_summary["totals"]["wards"]
    assert _map_attr(page, "data-sg-areas") == f"response/neighborhood/{n_nbhd}"
    assert page.locator("path.leaflet-interactive").count() >= n_nbhd
    control = page.locator(".leaflet-control-layers")
    assert control.is_visible()
    assert control.locator("input[type=radio]").count() == 3
    assert "Response gap index" in page.locator(".sg-legend").inner_text()
    assert page.locator(".leaflet-control-scale").is_visible()
    page.wait_for_function("document.querySelector('.folium-map')"
                           ".getAttribute('data-sg-providers') !== null")
    assert page.locator(".sg-provider, .sg-cluster").count() > 0
    page.screenshot(path=str(tmp_path / "gaps-response.png"))

    # family switch (layer control), level toggle, call hexagons
    control.get_by_text("Prevention gap").click()
    page.wait_for_function("document.querySelector('.folium-map')"
                           ".getAttribute('data-sg-areas').startsWith('prevention/')")
    page.locator(".sg-toggle input[value=ward]").check()
    page.wait_for_function(f"document.querySelector('.folium-map')"
                           f".getAttribute('data-sg-areas') === 'prevention/ward/{n_wards}'")
    assert "Prevention gap index" in page.locator(".sg-legend").inner_text()
    control.get_by_text("Calls of the family (hexagons)").click()
    page.wait_for_function("(document.querySelector('.folium-map')"
                           ".getAttribute('data-sg-hexbins') || '').startsWith('prevention/')")
    assert "Calls per hexagon" in page.locator(".sg-legend").inner_text()
    page.screenshot(path=str(tmp_path / "gaps-prevention-wards.png"))

    assert watch.errors == []
    assert watch.dialogs == []
    assert {urlparse(u).hostname for u in watch.external} <= {TILE_HOST}
    assert (tmp_path / "gaps-response.png").stat().st_size > 10_000
    page.close()


def test_ward_map_shows_hostile_name_as_text(browser, server, demo_client_summary, tmp_path):
    import json
    from urllib.request import urlopen

    with urlopen(f"{server}/api/providers?family=restoration") as r:
        prov = json.load(r)
    hostile = next(f for f in prov["features"] if f["properties"]["name"] == HOSTILE_PROVIDER)
    ward = hostile["properties"]["ward_id"]
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    watch = Watch(page)
    page.goto(f"{server}/maps/wards/{ward}", wait_until="load")
    page.wait_for_function("document.querySelector('.folium-map')"
                           ".getAttribute('data-sg-providers') !== null", timeout=20_000)
    page.wait_for_selector("path.leaflet-interactive")
    assert HOSTILE_PROVIDER in page.locator("#sg-panel").inner_text()
    # open the hostile provider's popup: its name must be text, not markup
    opened = page.evaluate("""(name) => {
        let hit = null;
        const scan = (layer) => {
            if (layer.options && layer.options.title === name) hit = layer;
            if (layer.getLayers) layer.getLayers().forEach(scan);
        };
        const map = window[document.querySelector('.folium-map').id];
        map.eachLayer(scan);
        if (hit) hit.openPopup();
        return hit !== null;
    }""", HOSTILE_PROVIDER)
    assert opened
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.locator("h4").inner_text() == HOSTILE_PROVIDER
    assert popup.locator("script").count() == 0
    assert page.locator("#sg-panel script").count() == 0
    page.screenshot(path=str(tmp_path / f"ward-{ward}.png"))
    assert watch.errors == [] and watch.dialogs == []
    assert {urlparse(u).hostname for u in watch.external} <= {TILE_HOST}
    page.close()


@pytest.fixture(scope="module")
def demo_client_summary(demo_workspace) -> dict:
    import json

    return json.loads((demo_workspace / "summary.json").read_text())
