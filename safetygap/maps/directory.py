"""The asset directory pages: every service of one neighborhood (``/neighborhoods/{id}/
directory``) or ward (``/wards/{n}/directory``), with how to reach and use it.

The entries come from :func:`safetygap.readmodel.directory.area_directory` (located in the
area, assigned to it, or reaching it); this module words them for people: the service in
words, opening hours in words (:func:`safetygap.labels.hours_in_words`), where it is and how
far (metres or kilometres straight-line, or minutes walking or driving on the street
network), phone and web as links, who may use it and in which languages, and when it was
last checked, with a warning when that is too long ago.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from safetygap import FAMILIES
from safetygap.labels import (
    FAMILY_HELP,
    family_label,
    fmt_distance,
    fmt_num,
    hours_in_words,
    service_label,
)
from safetygap.readmodel import WorkspaceView
from safetygap.readmodel.directory import area_directory

LEVEL_WORDS = {"neighborhood": ("neighborhood", "neighborhoods"), "ward": ("ward", "wards")}


def _where(e: dict[str, Any], word: str) -> str:
    """Where the service is, from the area's point of view, in words."""
    office = f" Office: {e['address']}." if e["address"] else ""
    if e["relation"] == "located":
        text = f"In this {word}" + (f", at {e['address']}." if e["address"] else ".")
        if e["serves"] and not e["serves_here"]:
            text += f" It serves other areas: {e['serves']}."
        return text
    if e["relation"] == "serves":
        return f"Assigned to this {word} (it serves: {e['serves']}).{office}"
    if e["travel_min"] is not None:
        far = fmt_distance(e["travel_min"], "min", e["distance_model"])
        return f"{far} from the {word}'s nearest point.{office}"
    return f"{fmt_distance(e['distance_m'], 'm')} from the {word} (straight line).{office}"


def _checked(e: dict[str, Any], months: float) -> tuple[str, bool]:
    """When it was last checked, in words, and whether to warn (stale)."""
    if not e["last_verified"]:
        return "Never checked: call before you go.", True
    text = f"Last checked {e['last_verified']}"
    if e["stale"]:
        age = e["months_since_verified"]
        ago = f" ({fmt_num(age, 0)} months before the analysis)" if age is not None else ""
        return f"{text}{ago}, longer ago than {fmt_num(months, 0)} months: call before you " \
               "go.", True
    return f"{text}.", False


def _phone_href(phone: str) -> str:
    main = re.sub(r"(?i)\s*(ext\.?|x)\s*\d+$", "", phone)
    return "tel:" + re.sub(r"[^0-9+]", "", main)


def entry_words(e: dict[str, Any], *, word: str, stale_months: float) -> dict[str, Any]:
    """One directory entry as the page shows it."""
    checked, warn = _checked(e, stale_months)
    who = " · ".join(p for p in (e["organisation"], e["programme"]) if p and p != e["name"])
    site = urlsplit(e["website"]).netloc if e["website"] else ""
    return {
        "name": e["name"], "service": service_label(e["service_type"]).capitalize(),
        "who": who, "where": _where(e, word),
        "hours": hours_in_words(e["opening_hours"]), "raw_hours": e["opening_hours"],
        "phone": e["phone"], "phone_href": _phone_href(e["phone"]) if e["phone"] else "",
        "website": e["website"], "site": site or e["website"],
        "eligibility": e["eligibility"], "languages": e["languages"].replace("; ", ", "),
        "checked": checked, "stale": warn, "relation": e["relation"],
    }


def directory_page(view: WorkspaceView, level: str, area_id: str) -> str:
    """The directory page of one area (HTML)."""
    from safetygap.maps.jinja import render

    d = area_directory(view, level, area_id)
    word, plural = LEVEL_WORDS[level]
    months = float((view.quality.get("providers", {}).get("verification") or {})
                   .get("stale_after_months", 18))
    quoted = quote(str(area_id), safe="")
    families = []
    for fam in FAMILIES:
        entries = [entry_words(e, word=word, stale_months=months)
                   for e in d["entries"] if e["family"] == fam]
        families.append({"family": fam, "label": family_label(fam), "help": FAMILY_HELP[fam],
                         "entries": entries, "counts": d["counts"][fam]})
    total = len(d["entries"])
    services = "1 service serves" if total == 1 else f"{fmt_num(total)} services serve"
    summary = [f"{services} {d['name']}: " + ", ".join(
        f"{fmt_num(sum(f['counts'].values()))} {f['label'].lower()}" for f in families) + "."]
    c = {r: sum(f["counts"][r] for f in families) for r in ("located", "serves", "reaches")}
    summary.append(f"{fmt_num(c['located'])} located in the {word}, {fmt_num(c['serves'])} "
                   f"assigned to it, {fmt_num(c['reaches'])} located outside it whose reach "
                   "includes it.")
    if d["stale"]:
        summary.append(f"{fmt_num(d['stale'])} of them were last checked more than "
                       f"{fmt_num(months, 0)} months before the analysis (or never): call "
                       "before you go.")
    return render(
        "directory.html", level=level, word=word, plural=plural, area_id=area_id,
        name=d["name"], families=families, summary=summary, reach=view.reach_info(),
        synthetic=view.synthetic, label=view.label, caveats=view.caveats,
        page_url=f"/{plural}/{quoted}", json_url=f"/api/{plural}/{quoted}/directory",
        csv_url=f"/api/providers?{level}={quoted}&format=csv",
    )


def directory_links(view: WorkspaceView, level: str) -> list[dict[str, str]]:
    """Every area's directory page: ``name`` and ``href``."""
    plural = LEVEL_WORDS[level][1]
    return [{"name": view.area_name(level, i),
             "href": f"/{plural}/{quote(str(i), safe='')}/directory"}
            for i in view.area_ids(level)]
