"""Every page in Chromium at desktop (1440 x 900) and phone (390 x 844) size: axe-core finds no
serious or critical violation, and nothing scrolls sideways. /docs (Swagger UI) included: the
app gives it a language, colours with enough contrast and no deep links (links nested in
buttons)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.test_browser import LAUNCH_ARGS, _browser_or_skip, _serving

PAGES = ["/", "/maps/gaps", "/maps/gaps?family=prevention&level=ward", "/maps/wards/1",
         "/maps/sites?family=prevention", "/report", "/ogc/collections?f=html",
         "/ogc/collections/neighborhoods/items?f=html&limit=5", "/wards/1",
         "/neighborhoods/N01", "/maps/equity?group=black&family=prevention",
         "/neighborhoods/N01/directory", "/wards/1/directory"]
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def base(demo_workspace) -> Iterator[str]:
    _browser_or_skip()
    with _serving(demo_workspace, tiles="none") as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.mark.slow
@pytest.mark.parametrize("size", list(SIZES))
def test_pages_pass_axe_and_fit_the_screen(chromium, base, size):
    from axe_playwright_python.sync_playwright import Axe

    width, height = SIZES[size]
    page = chromium.new_page(viewport={"width": width, "height": height})
    axe, problems = Axe(), []
    for url in [*PAGES, "/docs"]:
        resp = page.goto(base + url, wait_until="load")
        assert resp.status == 200, url
        page.wait_for_timeout(600)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            problems.append(f"{url}: scrolls sideways ({scroll} px wide at {width})")
        assert page.evaluate("document.documentElement.lang") == "en", url
        if url != "/docs":  # Swagger UI's title is its own h2
            assert page.locator("h1").count() == 1, url
        result = axe.run(page)
        for v in result.response["violations"]:
            if v["impact"] in ("serious", "critical"):
                problems.append(f"{url}: {v['id']} ({v['impact']}, {len(v['nodes'])} nodes)")
    page.close()
    assert not problems, "\n".join(problems)


def test_map_pages_allow_pinch_zoom_and_have_a_favicon(demo_client):
    html = demo_client.get("/maps/gaps").text
    assert "user-scalable=no" not in html and "maximum-scale" not in html
    assert 'rel="icon"' in html and '<html lang="en">' in html
    assert "class='sg-skip'" in html and "<h1 class='sg-title'>" in html
    icon = demo_client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")
