"""The three users' tasks in Chromium at desktop (1440 x 900) and phone (390 x 844) size, and
what makes the map pages usable on a phone: one server and one browser for the module.

- a planner finds the most underserved neighborhoods and downloads them as CSV;
- a council member opens ward 6, reads its headline and prints the brief (1-2 PDF pages);
- a contractor proposes two crisis-response sites, sees their addresses and the residents
  newly reached, and downloads them;
- the map's view lives in the address (a link reproduces it, the back button steps back);
- on a phone the controls fold into one button and take at most a quarter of the screen
  open, every touch target is at least 44 px; hexagons lie under the areas and let clicks
  through; each family has its own marker shape; providers cluster at low zoom; a notice
  says when the base map cannot load.

Screenshots go to the test's tmp_path, or to $SAFETYGAP_SCREENSHOTS (docs/screenshots is
made that way: see docs/SCREENSHOTS.md).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from urllib.request import urlopen

import pytest

from tests.test_browser import LAUNCH_ARGS, TILE_HOST, Watch, _browser_or_skip, _serving

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
WARD = "6"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(demo_workspace) -> Iterator[str]:
    """The demo city served with the default (OpenStreetMap) tiles, which cannot be
    reached here: the pages must work without them."""
    _browser_or_skip()
    with _serving(demo_workspace) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    out = Path(os.environ.get("SAFETYGAP_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _shot(page, path: Path) -> None:
    """A JPEG screenshot of what the screen shows."""
    page.screenshot(path=str(path.with_suffix(".jpg")), type="jpeg", quality=80)


def _page(chromium, size: str, **kw):
    width, height = SIZES[size]
    page = chromium.new_page(viewport={"width": width, "height": height},
                             accept_downloads=True, **kw)
    return page, Watch(page)


def _wait_map(page, name: str, value: str = "", *, how: str = "^=", timeout: int = 30_000
              ) -> None:
    sel = f"[{name}{how}'{value}']" if value else f"[{name}]"
    page.wait_for_selector(f".folium-map{sel}", state="attached", timeout=timeout)


def _clean(watch: Watch) -> None:
    assert watch.errors == [] and watch.dialogs == []
    assert {urlparse(u).hostname for u in watch.external} <= {TILE_HOST}


def _download(page, link) -> str:
    with page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_text(encoding="utf-8")


def _json(base: str, path: str):
    with urlopen(base + path, timeout=120) as r:
        return json.load(r)


# --------------------------------------------------------------------------- tasks


@pytest.mark.parametrize("size", list(SIZES))
def test_planner_finds_the_most_underserved_and_downloads_them(chromium, base, size, shots):
    page, watch = _page(chromium, size)
    page.goto(base + "/", wait_until="load")
    section = page.locator("#underserved")
    section.scroll_into_view_if_needed()
    want = _json(base, "/api/gaps?family=response&level=neighborhood&top=20")
    rows = want["families"]["response"]
    first = section.locator("#top-response tbody tr").first
    assert first.locator("td").nth(1).inner_text() == rows[0]["name"]
    _shot(page, shots / f"planner-{size}")
    text = _download(page, section.get_by_role(
        "link", name="Download the 20 most underserved (CSV)").first)
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in table] == [r["name"] for r in rows]
    assert [float(r["gap"]) for r in table] == pytest.approx([r["gap"] for r in rows])
    # and reads about the first one
    first.get_by_role("link").click()
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == rows[0]["name"]
    assert page.locator(".sg-headline li").count() >= 3
    _clean(watch)
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_council_member_reads_ward_6_and_prints_the_brief(chromium, base, size, shots):
    page, watch = _page(chromium, size)
    page.goto(base + "/", wait_until="load")
    page.get_by_role("link", name=f"Ward {WARD}", exact=True).click()
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == f"Ward {WARD}"
    headline = page.locator(".sg-headline li").all_inner_texts()
    assert len(headline) >= 3
    assert re.match(r"Calls here that a non-police responder could take: ", headline[0])
    assert re.search(r"of calls here went to a non-police service \(city \d+\.\d%",
                     headline[1])
    assert re.search(r"(most underserved|compare well)", headline[2])
    _shot(page, shots / f"council-{size}")
    pdf = page.pdf(format="Letter", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert 1 <= pages <= 2, pages
    _clean(watch)
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_contractor_proposes_two_crisis_response_sites(chromium, base, size, shots):
    page, watch = _page(chromium, size)
    page.goto(base + "/maps/sites", wait_until="load")
    _wait_map(page, "data-sg-sites", timeout=120_000)
    form = page.locator("#sg-siting-form")
    form.locator("select[name=family]").select_option("response")
    form.locator("select[name=service_type]").select_option("bcr_team")
    form.locator("input[name=k]").fill("2")
    assert form.locator("input[name=existing]").is_checked()  # existing providers kept
    form.get_by_role("button", name="Propose sites").click()
    page.wait_for_url(re.compile(r"service_type=bcr_team"))
    _wait_map(page, "data-sg-sites", "2", how="=", timeout=120_000)
    q = parse_qs(urlparse(page.url).query)
    assert q["family"] == ["response"] and q["k"] == ["2"] and "existing" not in q
    want = _json(base, "/api/sites?family=response&k=2&service_type=bcr_team")
    assert want["residents_newly_reached"] > 0
    items = page.locator("#sg-sites-list li")
    assert items.count() == 2
    for item, site in zip(items.all(), want["sites"], strict=True):
        text = item.inner_text()
        assert site["address"] and site["address"] in text
        assert f"{round(site['residents_newly_reached']):,} residents" in text
    summary = page.locator("#sg-sites-summary").inner_text()
    assert "2 new behavioral crisis response team sites would reach" in summary
    assert f"{round(want['residents_newly_reached']):,} more residents" in summary
    assert "Existing providers stay where they are" in summary
    assert page.locator("h1").inner_text() == "2 new response sites"  # was 5 before
    items.first.get_by_role("button").click()  # show it on the map
    page.locator(".leaflet-popup-content").wait_for()
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert want["sites"][0]["address"] in popup
    _shot(page, shots / f"contractor-{size}")
    text = _download(page, page.locator("#sg-sites-downloads a[data-format=csv]"))
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["address"] for r in table] == [s["address"] for s in want["sites"]]
    assert [float(r["residents_newly_reached"]) for r in table] == pytest.approx(
        [s["residents_newly_reached"] for s in want["sites"]])
    # as if no provider existed: the areas' share within reach still counts the existing
    # ones, and the popup says so
    form.locator("input[name=existing]").uncheck()
    form.get_by_role("button", name="Propose sites").click()
    page.wait_for_url(re.compile(r"existing=ignore"))
    _wait_map(page, "data-sg-sites", "2", how="=", timeout=120_000)
    assert "Existing providers were left out" in page.locator("#sg-sites-summary").inner_text()
    items.first.get_by_role("button").click()
    page.locator(".leaflet-popup-content",
                 has_text="within reach (existing providers counted)").wait_for()
    _clean(watch)
    page.close()


# -------------------------------------------------------------- the map's view in the URL


def test_map_view_is_in_the_address_and_the_back_button_works(chromium, base):
    page, watch = _page(chromium, "desktop")
    page.goto(base + "/maps/gaps", wait_until="load")
    _wait_map(page, "data-sg-areas")
    opts = page.locator(".sg-options")
    opts.locator("label", has_text="Prevention").first.click()
    _wait_map(page, "data-sg-areas", "prevention/")
    opts.locator("select[name=year]").select_option("2023")
    _wait_map(page, "data-sg-year", "2023", how="=")
    assert "— 2023" in page.locator("h1").inner_text()
    href = page.locator(".sg-download a[data-format=csv]").get_attribute("href")
    assert parse_qs(urlparse(href).query) == {"family": ["prevention"], "year": ["2023"],
                                              "format": ["csv"]}
    # open a neighborhood's popup: its id goes into the address
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
    page.locator(".leaflet-popup-content").wait_for()
    page.wait_for_url(re.compile(r"area="))
    q = parse_qs(urlparse(page.url).query)
    assert q["family"] == ["prevention"] and q["year"] == ["2023"] and "z" in q
    shared = page.url
    name = page.locator(".leaflet-popup-content h2").inner_text()
    # back: the popup closes; back: all years; back: response
    page.go_back()
    page.wait_for_url(lambda u: "area=" not in u)
    page.locator(".leaflet-popup-content").wait_for(state="detached")
    page.go_back()
    _wait_map(page, "data-sg-year", "all", how="=")
    page.go_back()
    _wait_map(page, "data-sg-areas", "response/")
    assert page.locator("input[name=sg-family][value=response]").is_checked()
    # the shared link reproduces the view: family, year, the open area, zoom and centre
    other, watch2 = _page(chromium, "desktop")
    other.goto(shared, wait_until="load")
    _wait_map(other, "data-sg-areas", "prevention/")
    _wait_map(other, "data-sg-year", "2023", how="=")
    other.locator(".leaflet-popup-content").wait_for()
    assert other.locator(".leaflet-popup-content h2").inner_text() == name
    assert parse_qs(urlparse(other.url).query)["z"] == q["z"]
    _clean(watch)
    _clean(watch2)
    page.close()
    other.close()


# ------------------------------------------------------------------- readable maps, phone


def _rects(page, selector: str) -> list[dict]:
    return page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel))
        .filter(e => e.offsetParent !== null || getComputedStyle(e).position === 'fixed')
        .map(e => { const r = e.getBoundingClientRect();
                    return {x: r.x, y: r.y, w: r.width, h: r.height,
                            what: e.className + ' ' + (e.textContent || '').slice(0, 30)}; })
        .filter(r => r.w > 0 && r.h > 0)""", selector)


def _covered(rects: list[dict], width: int, height: int) -> float:
    """Share of the screen covered by the union of the rectangles (counted per pixel
    on a 2 px grid)."""
    import numpy as np

    grid = np.zeros((height // 2, width // 2), dtype=bool)
    for r in rects:
        x0, y0 = max(int(r["x"] // 2), 0), max(int(r["y"] // 2), 0)
        x1, y1 = min(int((r["x"] + r["w"]) // 2) + 1, grid.shape[1]), \
            min(int((r["y"] + r["h"]) // 2) + 1, grid.shape[0])
        grid[y0:y1, x0:x1] = True
    return float(grid.mean())


CONTROLS = ".leaflet-control-container .leaflet-control"
TARGETS = ("header a, header button, .leaflet-control-container a, "
           ".leaflet-control-container button, .leaflet-control-container select, "
           ".leaflet-control-container label, .leaflet-marker-icon.leaflet-interactive")


def _small_targets(page, width: int, height: int) -> list[str]:
    out = []
    for r in _rects(page, TARGETS):
        inside = r["x"] >= 0 and r["y"] >= 0 and r["x"] < width and r["y"] < height
        if inside and (r["w"] < 44 or r["h"] < 44):
            out.append(f"{r['what'].strip()[:50]} {r['w']:.0f}x{r['h']:.0f}")
    return out


@pytest.mark.parametrize("url", ["/maps/gaps", "/maps/sites"])  # the ward map: the same code
def test_phone_controls_fold_into_one_button(chromium, base, url, shots):
    width, height = SIZES["phone"]
    page, watch = _page(chromium, "phone")
    page.goto(base + url, wait_until="load")
    _wait_map(page, "data-sg-areas")
    _wait_map(page, "data-sg-providers")
    page.wait_for_timeout(300)
    toggle = page.locator("#sg-options-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.locator(".sg-options-body").is_hidden()
    assert page.locator(".sg-legend").is_hidden()  # inside the folded options
    rects = _rects(page, CONTROLS)
    closed = _covered(rects, width, height)
    assert closed < 0.15, (closed, rects)  # the button, zoom, scale, attribution, notice
    assert _small_targets(page, width, height) == []
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.locator(".sg-legend").is_visible()
    opened = _covered(_rects(page, CONTROLS), width, height)
    assert opened <= 0.25, opened
    print(f"{url}: controls cover {closed:.1%} of the phone's screen folded, {opened:.1%} open")
    assert _small_targets(page, width, height) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    name = url.strip("/").replace("/", "-")
    _shot(page, shots / f"phone-{name}-options")
    _clean(watch)
    page.close()


def test_maps_stay_readable(chromium, base):
    """Hexagons under the areas, letting clicks through; a shape per family; clusters at
    the city's zoom and single markers from zoom 15; the tile notice (OpenStreetMap cannot
    be reached here) while the areas still draw."""
    page, watch = _page(chromium, "desktop")
    page.goto(base + "/maps/gaps?hex=1", wait_until="load")
    _wait_map(page, "data-sg-hexbins")
    _wait_map(page, "data-sg-areas")
    _wait_map(page, "data-sg-providers")
    panes = page.evaluate("""() => ['sg-hex', 'overlay'].map(n => {
        const s = getComputedStyle(document.querySelector('.leaflet-' + n + '-pane'));
        return [Number(s.zIndex), s.pointerEvents]; })""")
    assert panes[0][0] < panes[1][0] and panes[0][1] == "none"
    # a click in the middle of the city opens an area's popup, not a hexagon's
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
    page.locator(".leaflet-popup-content h2").wait_for()
    assert "services" in page.locator(".leaflet-popup-content .sg-popup-sub").inner_text()
    shapes = set(page.evaluate("""() => Array.from(document.querySelectorAll(
        '.sg-provider .sg-pin, .sg-cluster span')).map(e => Array.from(e.classList)
        .find(c => c.startsWith('sg-shape-')))"""))
    assert shapes == {"sg-shape-disc", "sg-shape-square", "sg-shape-diamond"}
    assert page.locator(".sg-cluster").count() > 0
    page.locator(".sg-tile-notice").wait_for()
    assert "base map could not be loaded" in page.locator(".sg-tile-notice").inner_text()
    assert page.locator("path.leaflet-interactive").count() > 0
    # zoomed in to 15, providers are single markers
    from safetygap.demo import CENTER_LON_LAT

    lon, lat = CENTER_LON_LAT
    page.goto(base + f"/maps/gaps?z=15&lat={lat}&lng={lon}", wait_until="load")
    _wait_map(page, "data-sg-providers")
    page.wait_for_timeout(500)
    assert page.locator(".sg-cluster").count() == 0
    _clean(watch)
    page.close()


def test_what_if_a_service_opened_here(chromium, base):
    """The what-if panel: choose a service type and capacity, place it by clicking the map,
    and read the residents and calls it would newly reach (the same as POST
    /api/scenarios)."""
    page, watch = _page(chromium, "desktop")
    page.goto(base + "/maps/sites?family=prevention", wait_until="load")
    _wait_map(page, "data-sg-areas")
    form = page.locator("#sg-whatif-form")
    form.locator("select[name=service_type]").select_option("youth_program")
    form.locator("input[name=capacity]").fill("12")
    page.locator("#sg-whatif-place").click()
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.55)
    _wait_map(page, "data-sg-placed", "1", how="=")
    assert page.locator(".leaflet-popup-content").count() == 0  # placing opens no popup
    form.get_by_role("button", name="Compute the change").click()
    _wait_map(page, "data-sg-whatif", "done", how="=", timeout=120_000)
    text = page.locator("#sg-whatif-result").inner_text()
    assert re.match(r"Prevention: the new service would reach [\d,]+ more residents? and "
                    r"[\d,]+ more need calls? \([\d,]+ of them calls a non-police responder "
                    r"could take\): need calls within reach \d+\.\d% → \d+\.\d%", text), text
    # the change per area downloads as CSV: every neighborhood and ward, prevention
    table = list(csv.DictReader(io.StringIO(_download(
        page, page.locator("#sg-whatif-downloads").get_by_role("button", name="CSV")))))
    n_areas = {level: len(_json(base, f"/api/{level}s?family=prevention")["features"])
               for level in ("neighborhood", "ward")}
    assert [r["level"] for r in table] == (["neighborhood"] * n_areas["neighborhood"]
                                           + ["ward"] * n_areas["ward"])
    assert {r["family"] for r in table} == {"prevention"}
    assert any(r["coverage_change"] and float(r["coverage_change"]) > 0 for r in table)
    _clean(watch)
    page.close()


def test_keyboard_reaches_the_map_at_once(chromium, base):
    """The skip link first, then the header's few links, then the map (its controls and
    markers come after it, not before)."""
    page, watch = _page(chromium, "desktop")
    page.goto(base + "/maps/gaps", wait_until="load")
    _wait_map(page, "data-sg-providers")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "sg-skip"
    stops = 0
    while not page.evaluate("document.activeElement.closest('.folium-map') !== null"):
        stops += 1
        assert stops <= 4, "more than 4 tab stops between the skip link and the map"
        page.keyboard.press("Tab")
    _clean(watch)
    page.close()
