"""The diversion page (/diversion): plain-language headline, the form, SVG charts each with a
data table; in Chromium at phone and desktop size: no sideways scroll, axe-clean."""

from __future__ import annotations

import re

import pytest

from safetygap.maps.charts import goal_bars, week_columns


def test_page_on_the_tiny_city(client) -> None:
    r = client.get("/diversion")
    assert r.status_code == 200, r.text
    html = r.text
    assert html.count("<h1") == 1 and '<html lang="en">' in html
    # 1 of the 9 calls in the denominator is diverted (call 1, BCR)
    assert "Today <strong>11.1%</strong> of calls go to" in html
    assert "moves no call, so nothing changes" in html
    assert "What it takes" not in html  # nothing moved
    # every chart is an image with a title and a description, and has a table
    assert html.count('role="img"') == 2 and html.count("<title id=") == 2
    assert "<table>" in html
    # moving the crisis calls: calls 2 and 11 -> 3 of 9
    moved = client.get("/diversion?category=behavioral_crisis&channel=behavioral_crisis").text
    assert "from 11.1% to 33.3%" in moved and "What it takes" in moved
    assert 'value="behavioral_crisis" checked' in moved
    assert moved.count('role="img"') == 3
    bad = client.get("/diversion?channel=police")
    assert bad.status_code == 422
    ward = client.get("/diversion?ward=1").text
    assert "(with a place\n    and a time) in Ward 1," in ward and "by hour: Ward 1" in ward
    assert client.get("/diversion?ward=9").status_code == 422


def test_charts_by_hand() -> None:
    svg = goal_bars([("Ward <1>", 0.1, 0.25), ("Ward 2", None, None)], key="k",
                    title="T", desc="D", goal=0.2)
    assert "Ward &lt;1&gt;" in svg and "hidden or no calls" in svg and "25.0%" in svg
    values = [None] * 168
    values[3] = 2.0  # Monday 03:00
    values[24 + 12] = 1.0  # Tuesday 12:00
    heat = week_columns(values, key="h", title="T", desc="D", unit="calls a week")
    cells = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="45" height="15" fill="([^"]+)">'
                       r"<title>([^<]+)</title>", heat)
    assert len(cells) == 168
    by_text = dict((t, f) for f, t in cells)
    assert by_text["Monday 03:00: 2.0 calls a week"] == "#b10026"  # the top of the ramp
    assert by_text["Tuesday 12:00: 1.0 calls a week"] == "#fd8d3c"  # half way
    assert by_text["Sunday 23:00: hidden or no calls"] == "#d9d9d9"


@pytest.mark.slow
def test_page_in_chromium_fits_the_phone_and_passes_axe(demo_workspace) -> None:
    from tests.test_browser import LAUNCH_ARGS, _browser_or_skip, _serving

    sync_playwright = _browser_or_skip()
    from axe_playwright_python.sync_playwright import Axe

    with _serving(demo_workspace, tiles="none") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        problems = []
        for width, height in ((1440, 900), (390, 844)):
            page = browser.new_page(viewport={"width": width, "height": height})
            url = base + "/diversion?model=star&whole_model=true&hours=Mo-Su+06:00-22:00"
            assert page.goto(url, wait_until="load").status == 200
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                problems.append(f"{width}: scrolls sideways ({scroll} px)")
            for v in Axe().run(page).response["violations"]:
                if v["impact"] in ("serious", "critical"):
                    problems.append(f"{width}: {v['id']} ({v['impact']})")
            page.close()
        browser.close()
    assert not problems, problems
