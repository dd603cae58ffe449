"""The plain-language pages of a neighborhood and a ward, and the label table: headlines
worked out by hand on the tiny city (tests/conftest.py), rank 1 = the most underserved,
charts as inline SVG with their numbers in tables, 404s that list the areas."""

from __future__ import annotations

import re
from html import escape, unescape

import numpy as np
import pytest
from conftest import HOSTILE_AREA

from safetygap.labels import fmt_distance, fmt_num, fmt_pct, fmt_value, script_labels
from safetygap.maps.charts import nice_ticks


def _text(html: str) -> str:
    """The page's words: no SVG, no tags, entities decoded, spaces collapsed."""
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _headline(html: str) -> list[str]:
    block = html[html.index('class="sg-headline"'):]
    block = block[:block.index("</ul>")]
    return [re.sub(r"\s+", " ", unescape(li)).strip()
            for li in re.findall(r"<li>(.*?)</li>", block, flags=re.S)]


def test_labels_format_numbers_for_people():
    assert fmt_pct(0.0904) == "9.0%" and fmt_pct(0.09049) == "9.0%" and fmt_pct(1) == "100.0%"
    assert fmt_num(12345.678) == "12,346" and fmt_num(12345.678, 2) == "12,345.68"
    assert fmt_num(-0.0001, 2) == "0.00" and fmt_num(None) == "–"
    assert fmt_value("rate", 7.392197, unit=True) == "7.4 per 1,000 residents a year"
    assert fmt_value("coverage", 0.5448) == "54.5%"
    assert fmt_value("providers", 1, unit=True) == "1 provider"
    assert fmt_distance(10000, "m") == "10 km" and fmt_distance(1600, "m") == "1.6 km"
    assert fmt_distance(800, "m") == "800 m"
    assert fmt_distance(15, "min", "network-walk") == "15 min walking"
    assert fmt_distance(7.5, "min", "network-drive") == "7.5 min driving"
    labels = script_labels()
    assert labels["fields"]["gap"]["label"] == "Service gap score"
    assert labels["services"]["bcr_team"] == "behavioral crisis response team"


def test_nice_ticks():
    assert nice_ticks(237) == [0, 100, 200, 300]
    assert nice_ticks(0.23) == pytest.approx([0, 0.1, 0.2, 0.3])
    assert nice_ticks(0) == [0, 1]


def test_neighborhood_headline_by_hand(client):
    """A: calls 1, 2 and 11 are behavioral crisis calls (eligible for a non-police
    responder): 3 x 1,000 / (1,000 residents x 2 years) = 1.5 a year per 1,000; the city
    3 x 1,000 / (10,000 x 2) = 0.15, so 10 times. Call 1 went to BCR: 1 of 3 = 33.3%; the
    city 1 of 9 unique calls of the denominator (summary.json) = 11.1%. Response need/access
    classes (issue 13): only A has response calls, so A is in the top third of need and,
    with the nearest response provider, the top third of access (high need, high access);
    every area scores need tercile - access tercile = 0, so the underserved rank orders them
    by need: A first, then B, C, D. A is named for response, the first family."""
    r = client.get("/neighborhoods/A")
    assert r.status_code == 200
    assert _headline(r.text) == [
        "Calls here that a non-police responder could take: 10.0 times the city rate "
        "(1.5 a year per 1,000 residents; city 0.15).",
        "33.3% of calls here went to a non-police service (city 11.1%; the city's goal is "
        "20%).",
        "Response services fall shortest here (high need, high access): the most "
        "underserved of 4 neighborhoods.",
        "Calls here fell 100.0% from 2023 to 2024 (2 to 0; city −83.3%).",
    ]
    d = client.get("/neighborhoods/D")
    assert "the most underserved of 4 neighborhoods" not in _text(d.text)
    assert "No call here was of a kind a non-police responder could take" in _text(d.text)
    assert escape(HOSTILE_AREA) in d.text and "<b>bold</b>" not in d.text


def test_ranks_count_from_the_most_underserved(client):
    """Restoration access: PX (capacity 1) near D, P3 far away; access ranks A lowest, so
    A is rank 1 (most underserved) on access, as it is on the gap's other side: rank 1 is
    always the most underserved, whichever way the measure runs."""
    measures = client.get("/api/neighborhoods/A").json()["measures"]
    m = {(x["family"], x["measure"]): x for x in measures}
    access = [client.get(f"/api/neighborhoods/{a}").json() for a in "ABCD"]
    values = {p["area_id"]: next(x["value"] for x in p["measures"]
                                 if (x["family"], x["measure"]) == ("restoration", "access"))
              for p in access}
    assert min(values, key=values.get) == "A"
    assert m[("restoration", "access")]["rank"] == 1
    # higher is worse for need: A has the most response calls, rank 1
    assert m[("response", "calls")]["rank"] == 1
    page = client.get("/neighborhoods/A").text
    table = page[page.index('id="measures-restoration"'):]
    row = re.search(r"Access to services</th>.*?</tr>", table, flags=re.S).group(0)
    assert re.search(r">1 of 4<", row)


def test_ward_page(client):
    """Ward 2 (x 1,500..2,000 m) holds parts of B and D; its neighborhoods are listed
    most underserved first, each linking to its page; charts are inline SVG with a title,
    a description and a table of their numbers; downloads of the ward's tables."""
    r = client.get("/wards/2")
    assert r.status_code == 200
    html = r.text
    assert html.count("<h1>") == 1 and '<main id="sg-content">' in html
    listed = re.findall(r'<th scope="row"><a href="/neighborhoods/([^"]+)">', html)
    # response underserved rank: B 2 (need tercile 2, more need than C) before D 4
    assert listed == ["B", "D"]
    svgs = re.findall(r'<svg[^>]*role="img"[^>]*>', html)
    assert len(svgs) >= 4
    for key in re.findall(r'aria-labelledby="([^ "]+)-t ', html):
        assert f'<title id="{key}-t">' in html and f'<desc id="{key}-d">' in html
    assert html.count("<details") >= 3  # each chart's numbers
    assert 'href="/api/neighborhoods?ward=2&amp;format=csv" download' in html
    assert 'href="/api/providers?ward=2&amp;format=csv" download' in html
    assert "@media print" in client.get("/static/safetygap/safetygap-page.css").text
    assert "data-sg-print" in html


def test_unknown_area_pages_list_the_areas(client):
    r = client.get("/wards/99")
    assert r.status_code == 404 and 'href="/wards/1"' in r.text
    r = client.get("/neighborhoods/nope")
    assert r.status_code == 404 and 'href="/neighborhoods/A"' in r.text


def test_map_script_takes_its_words_from_the_label_table():
    """The map script formats and labels through the configuration (labels.py), not words
    of its own."""
    from pathlib import Path

    import safetygap.maps as maps

    js = (Path(maps.__file__).parent / "static" / "safetygap-map.js").read_text()
    assert "gap index" not in js.lower() and "toFixed(0)" not in js
    assert "LABELS.fields" in js


def test_pages_speak_the_need_access_classes_when_the_analysis_has_them(api_workspace):
    """With the need/access classes, the underserved rank, its resampled range and 95%
    intervals of the rate in the layers (issue 13's columns), the page says them in words;
    without them (the other tests) it speaks of the service gap score."""
    from safetygap.maps.area_page import AreaFacts
    from safetygap.readmodel import WorkspaceView
    from safetygap.workspace import Workspace

    view = WorkspaceView(Workspace.open(api_workspace), privacy_min_count=1)
    nb = view.areas["neighborhood"]
    for f in ("response", "prevention", "restoration"):
        nb[f"underserved_rank_{f}"] = [4.0, 3.0, 2.0, 1.0] if f == "response" else np.nan
        nb[f"class_label_{f}"] = "high need, low access" if f == "response" else ""
    nb["rank_low_response"] = [3.0, 2.0, 1.0, 1.0]
    nb["rank_high_response"] = [4.0, 4.0, 3.0, 2.0]
    nb["p_underserved_response"] = [0.1, 0.2, 0.4, 0.87]
    nb["rate_response_ci_low"] = [0.9, 0.0, 0.0, 0.0]
    nb["rate_response_ci_high"] = [4.4, 0.9, 0.6, 0.5]
    facts = AreaFacts(view, "neighborhood", "D")
    assert facts.headline()[2] == ("Response services fall shortest here (high need, low "
                                   "access): the most underserved of 4 neighborhoods.")
    words = facts.family_words("response")
    assert words.startswith("High need, low access: the most underserved of 4 neighborhoods.")
    assert ("resampling the calls, its rank runs from 1 to 2; it is high need, low access "
            "in 87% of the resamples.") in words
    a = AreaFacts(view, "neighborhood", "A")
    rate = next(r for r in a.measure_rows("response") if r["measure"] == "rate")
    # 3 calls over 1,000 residents x 1.333 covered years (tiny_options): 2.25 a year
    assert rate["value"] == "2.2 per 1,000 residents a year (0.9 to 4.4)"


def test_ranks_are_counted_one_way_when_some_areas_are_not_ranked(api_workspace):
    """By hand: D has too few residents (``small_population``), so response ranks only A,
    B and C (1, 2, 3). Every sentence and note counts the 3 ranked neighborhoods and says
    the 1 left out; need and access, which D has, are ranked among all 4 and say so."""
    from safetygap.maps.area_page import AreaFacts, area_page
    from safetygap.readmodel import WorkspaceView
    from safetygap.workspace import Workspace

    view = WorkspaceView(Workspace.open(api_workspace), privacy_min_count=1)
    nb = view.areas["neighborhood"]
    nb["small_population"] = [False, False, False, True]
    for f in ("response", "prevention", "restoration"):
        nb[f"underserved_rank_{f}"] = [1.0, 2.0, 3.0, np.nan]
        nb[f"class_label_{f}"] = ["high need, low access", "", "", ""]
    a = AreaFacts(view, "neighborhood", "A")
    left_out = "1 with too few residents is not ranked"
    assert a.headline()[2] == (
        "Response services fall shortest here (high need, low access): the most "
        f"underserved of 3 ranked neighborhoods ({left_out}).")
    words = a.family_words("response")
    assert words.startswith("High need, low access: the most underserved of 3 ranked "
                            f"neighborhoods ({left_out}).")
    need = next(m for m in view.measures("neighborhood", "A")
                if (m["family"], m["measure"]) == ("response", "rate"))
    assert need["of"] == 4 and "Among all 4 neighborhoods, need ranks" in words
    assert "of 4." not in words
    text = _text(area_page(view, "neighborhood", "A"))
    assert f"Rank 1 is the most underserved of the 3 ranked neighborhoods ({left_out})" in text
    assert "most underserved of 4 neighborhoods" not in text
    assert AreaFacts(view, "neighborhood", "D").family_words("response").startswith(
        "Too few residents here")
    ward = _text(area_page(view, "ward", "2"))
    assert f"rank among the 3 ranked neighborhoods, 1 = most underserved ({left_out})" in ward
    nb["mostly_nonresident"] = [False, False, True, False]  # C too: two reasons, each counted
    for f in ("response", "prevention", "restoration"):
        nb[f"underserved_rank_{f}"] = [1.0, 2.0, np.nan, np.nan]
    assert AreaFacts(view, "neighborhood", "A").unranked("response") == (
        "2 are not ranked: 1 with too few residents, 1 with calls mostly from non-residents")


def test_area_maps_are_shaded_by_the_need_access_class(api_workspace):
    """The small map of an area page uses the city map's key (the read model's
    need/access classes: colour and words) when the workspace has the classes; by hand,
    A class 7, B class 1, C and D not ranked. Without the class columns (a workspace
    analysed before them) it falls back to the service gap groups."""
    from safetygap.maps.area_page import AreaFacts, area_page
    from safetygap.maps.style import BIVARIATE_COLORS, GAP_COLORS, NOT_RANKED_COLOR
    from safetygap.readmodel import WorkspaceView
    from safetygap.workspace import Workspace

    view = WorkspaceView(Workspace.open(api_workspace), privacy_min_count=1)
    nb = view.areas["neighborhood"]
    nb["class_response"] = [7.0, 1.0, 0.0, np.nan]
    svg = AreaFacts(view, "ward", "1").map_svg("response")
    assert "need and access" in svg and "service gap" not in svg
    caption = _text(area_page(view, "ward", "1", family="response"))
    assert "neighborhoods shaded by response need and access class" in caption
    fills = set(re.findall(r'fill="(#[0-9a-f]{6})"', svg))
    assert {BIVARIATE_COLORS[7], BIVARIATE_COLORS[1], NOT_RANKED_COLOR} <= fills
    assert not fills & set(GAP_COLORS)
    for words in ("high need, low access", "low need, low access", "not ranked"):
        assert f">{words}<" in svg  # the key, as the city map's
    for f in ("response", "prevention", "restoration"):
        if f"class_{f}" in nb.columns:
            del nb[f"class_{f}"]
    old = AreaFacts(view, "ward", "1").map_svg("response")
    assert "service gap" in old and set(re.findall(r'fill="(#[0-9a-f]{6})"', old)) & set(
        GAP_COLORS)
    assert "neighborhoods shaded by response service gap" in _text(
        area_page(view, "ward", "1", family="response"))
