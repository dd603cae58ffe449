"""Words and number formats for everything a person reads: one table used by the pages,
the map scripts (handed over in their configuration, :func:`script_labels`), the report
and the labels in the API's answers.

CSV and GeoJSON downloads keep the field names (``rate_response``); pages, popups, legends,
charts and the report show :attr:`Field.label` with the value formatted by
:func:`fmt_value`: thousands separators, :attr:`Field.digits` decimals, percentages with one
decimal.

Each measure also says which way is worse for the people of an area (:attr:`Field.worse`):
ranks on pages and in the API count from the most underserved (rank 1) by that direction.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

Worse = Literal["higher", "lower"]


@dataclass(frozen=True)
class Field:
    """How one measure is shown: ``label`` (short, sentence case), ``unit`` (after the
    number; "" for none), ``digits`` (decimals), ``percent`` (a share 0..1 shown as a
    percentage), ``worse`` (which value is worse for residents: ``higher``, ``lower``,
    None when neither) and ``help`` (one sentence saying what it is)."""

    label: str
    unit: str = ""
    digits: int = 0
    percent: bool = False
    worse: Worse | None = None
    help: str = ""


PERCENT_DIGITS = 1
"""Decimals of every percentage shown."""

FIELDS: dict[str, Field] = {
    "calls": Field(
        "Need calls", "calls", 0, worse="higher",
        help="911 calls of this family of need placed in the area, all years."),
    "rate": Field(
        "Need calls per 1,000 residents a year", "per 1,000 residents a year", 1,
        worse="higher",
        help="Need calls per 1,000 residents per year: how much need there is for the "
             "number of people living here."),
    "diverted": Field(
        "Calls handled by a non-police service", "calls", 0, worse="lower",
        help="Calls a non-police service (behavioral crisis response, traffic or animal "
             "control, 311 or online reporting) handled."),
    "diverted_share": Field(
        "Share handled by a non-police service", "", 1, percent=True, worse="lower",
        help="Of the calls police or a non-police alternative handled, the share a "
             "non-police service took."),
    "eligible": Field(
        "Calls a non-police responder could take", "calls", 0, worse="higher",
        help="Calls of a kind a non-police responder can answer (crisis, traffic, animal, "
             "report-only calls)."),
    "eligible_not_diverted_share": Field(
        "Share a non-police responder could take but police or fire answered", "", 1,
        percent=True, worse="higher",
        help="Of all calls, the share that a non-police responder could have taken but "
             "police or fire answered: room for more alternative response."),
    "rate_eb": Field(
        "Need (smoothed calls per 1,000 residents a year)", "per 1,000 residents a year", 1,
        worse="higher",
        help="Need calls per 1,000 residents per year, pulled toward the city's rate the "
             "fewer residents the area has (empirical Bayes), so a small area does not swing "
             "on a few calls."),
    "coverage": Field(
        "Need calls within reach of a service that handles them", "", 1, percent=True,
        worse="lower",
        help="Share of the need calls that lie within the catchment of a provider whose "
             "service handles that kind of call (a crisis team for a crisis call); calls "
             "only 311 or online reporting take are left out."),
    "reach": Field(
        "Residents within reach of a provider", "", 1, percent=True, worse="lower",
        help="Share of the area's residents who live within the catchment of at least one "
             "provider of the family."),
    "access_need": Field(
        "Access to services per call", "per 1,000 calls a year", 2, worse="lower",
        help="Provider capacity within reach per 1,000 need calls a year, nearer providers "
             "counting more: access measured against the calls instead of the residents."),
    "class": Field(
        "Need against access", "", 0, worse="higher",
        help="The area's third for need and its third for access among the city's areas; "
             "high need with low access is underserved."),
    "underserved_rank": Field(
        "Underserved rank", "", 0, worse="lower",
        help="1 = the most underserved: high need and low access first, by need; then the "
             "other areas by how far need exceeds access."),
    "providers": Field(
        "Providers located here", "providers", 0, worse="lower",
        help="Providers of the family whose address is in the area."),
    "capacity": Field(
        "Provider capacity located here", "", 1, worse="lower",
        help="Capacity (staff, beds or places) of the family's providers in the area."),
    "access": Field(
        "Access to services", "per 1,000 residents", 2, worse="lower",
        help="Provider capacity within reach per 1,000 residents, nearer providers counting "
             "more (E2SFCA accessibility)."),
    "gap": Field(
        "Service gap score", "", 2, worse="higher",
        help="From −1 (well served) to +1 (most underserved): how much higher the area "
             "ranks on need than on access to services."),
    "gap_class": Field(
        "Service gap group", "", 0, worse="higher",
        help="1 (well served) to 5 (most underserved): areas with similar gap scores "
             "grouped together (natural breaks)."),
    "population": Field("Residents", "residents", 0,
                        help="Residents of the area (census)."),
    "area_km2": Field("Land area", "km²", 2, help="Area of the polygon, square kilometres."),
}
"""Every per-area measure (column ``<measure>_<family>``, or ``<measure>_total``)."""

FAMILY_LABELS: dict[str, str] = {
    "response": "Response",
    "prevention": "Prevention",
    "restoration": "Restoration",
    "total": "All calls",
    "none": "No service family (fire, medical, alarms, other)",
}
FAMILY_HELP: dict[str, str] = {
    "response": "responding to crises and emergencies: police, behavioral crisis response, "
                "traffic and animal control, 311",
    "prevention": "stopping harm before it happens: violence interruption, youth programs, "
                  "community centers",
    "restoration": "helping people recover: victim services, restorative justice, re-entry",
}

SERVICE_LABELS: dict[str, str] = {
    "police_station": "police station",
    "fire_station": "fire station",
    "hospital": "hospital emergency department",
    "bcr_team": "behavioral crisis response team",
    "traffic_control": "traffic control",
    "animal_control": "animal control",
    "online_311": "311 and online reporting",
    "violence_interruption": "violence interruption",
    "youth_program": "youth program",
    "community_center": "community center",
    "victim_services": "victim services",
    "restorative_justice": "restorative justice",
    "reentry": "re-entry services",
}
"""Names of the default taxonomy's service types; others: underscores read as spaces."""

DISTANCE_LABELS: dict[str, str] = {
    "straight-line": "straight-line distance",
    "network-walk": "walking time on the street network",
    "network-drive": "driving time on the street network",
}

CLASS_WORDS: dict[int, str] = {
    0: "no value", 1: "well served", 2: "served", 3: "middle", 4: "underserved",
    5: "most underserved",
}


def field(measure: str) -> Field:
    """The :class:`Field` of ``measure``; an unknown one gets its name in words."""
    return FIELDS.get(measure) or Field(measure.replace("_", " ").capitalize())


def label(measure: str) -> str:
    return field(measure).label


def family_label(family: str) -> str:
    return FAMILY_LABELS.get(family, family.replace("_", " ").capitalize())


def service_label(service_type: str) -> str:
    """A service type in words: ``bcr_team`` -> "behavioral crisis response team"."""
    return SERVICE_LABELS.get(service_type, str(service_type).replace("_", " "))


def distance_label(model: str) -> str:
    return DISTANCE_LABELS.get(model, model.replace("-", " "))


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def fmt_num(value: Any, digits: int = 0) -> str:
    """Thousands separators and ``digits`` decimals; an en dash for no value."""
    if _missing(value):
        return "–"
    text = f"{float(value):,.{digits}f}"
    if text.startswith("-") and text.strip("-0.,") == "":
        text = text[1:]  # no "-0" / "-0.0"
    return text


def fmt_pct(value: Any, digits: int = PERCENT_DIGITS) -> str:
    """A share 0..1 as a percentage with one decimal (``0.0904`` -> ``9.0%``)."""
    if _missing(value):
        return "–"
    return fmt_num(100.0 * float(value), digits) + "%"


def fmt_value(measure: str, value: Any, *, unit: bool = False) -> str:
    """``value`` of ``measure`` as people read it; with ``unit`` followed by its unit."""
    f = field(measure)
    if f.percent:
        return fmt_pct(value)
    text = fmt_num(value, f.digits)
    if not (unit and f.unit and text != "–"):
        return text
    one = text == "1" and f.unit in ("calls", "providers", "residents")
    return f"{text} {f.unit[:-1] if one else f.unit}"


def fmt_distance(value: Any, unit: str, model: str = "straight-line") -> str:
    """A catchment or distance in the analysis' unit: ``1,200 m``, ``3 km``, ``15 min
    walking``."""
    if _missing(value):
        return "–"
    v = float(value)
    if unit == "min":
        how = "driving" if model == "network-drive" else "walking"
        return f"{fmt_num(v, 0 if v == round(v) else 1)} min {how}"
    if v >= 1000:
        km = v / 1000
        return f"{fmt_num(km, 0 if km == round(km) else 1)} km"
    return f"{fmt_num(v, 0)} m"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def times(ratio: float) -> str:
    """A ratio in words: ``2.3 times``, ``about the same as``, ``half``."""
    if _missing(ratio):
        return "–"
    if 0.95 <= ratio <= 1.05:
        return "about the same as"
    return f"{fmt_num(ratio, 1)} times"


def script_labels() -> dict[str, Any]:
    """The table as the map scripts receive it (JSON in the page's configuration)."""
    return {
        "fields": {k: asdict(v) for k, v in FIELDS.items()},
        "families": FAMILY_LABELS,
        "services": SERVICE_LABELS,
        "distance": DISTANCE_LABELS,
        "classes": {str(k): v for k, v in CLASS_WORDS.items()},
        "percentDigits": PERCENT_DIGITS,
    }


_DAY_NAMES = {"Mo": "Monday", "Tu": "Tuesday", "We": "Wednesday", "Th": "Thursday",
              "Fr": "Friday", "Sa": "Saturday", "Su": "Sunday", "PH": "public holidays"}
_DAY = r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)"
_HOURS_RULE = re.compile(
    rf"^(?P<days>{_DAY}(?:-{_DAY})?(?:,{_DAY}(?:-{_DAY})?)*)?\s*"
    r"(?P<times>\d{2}:\d{2}-\d{2}:\d{2}(?:,\d{2}:\d{2}-\d{2}:\d{2})*|off|closed)?$")


def _clock(text: str) -> str:
    """``15:00`` -> ``3 pm``, ``09:30`` -> ``9:30 am``, ``00:00``/``24:00`` -> midnight."""
    h, m = (int(p) for p in text.split(":"))
    if m == 0 and h in (0, 24):
        return "midnight"
    if m == 0 and h == 12:
        return "noon"
    suffix = "am" if h % 24 < 12 else "pm"
    h12 = h % 12 or 12
    return f"{h12}{'' if m == 0 else f':{m:02d}'} {suffix}"


def _days(text: str) -> str:
    if text == "Mo-Su":
        return "every day"
    parts = []
    for chunk in text.split(","):
        a, _, b = chunk.partition("-")
        parts.append(f"{_DAY_NAMES[a]} to {_DAY_NAMES[b]}" if b else _DAY_NAMES[a])
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def hours_in_words(text: str) -> str:
    """OpenStreetMap ``opening_hours`` as people read them: ``Mo-Fr 15:00-20:00; Sa
    10:00-16:00`` -> "Monday to Friday 3 pm–8 pm; Saturday 10 am–4 pm", ``24/7`` -> "Open
    24 hours, every day". Rules this does not know (months, weeks, comments) come back as
    written; "" for no hours."""
    text = str(text or "").strip()
    if not text:
        return ""
    if text == "24/7":
        return "Open 24 hours, every day"
    out = []
    for rule in (r.strip() for r in text.split(";")):
        m = _HOURS_RULE.match(rule) if rule else None
        if not m or not (m.group("days") or m.group("times")):
            return text
        days = _days(m.group("days")) if m.group("days") else "every day"
        times = m.group("times")
        if times in ("off", "closed"):
            out.append(f"{days} closed")
        elif times:
            spans = [f"{_clock(a)}–{_clock(b)}" for a, b in
                     (span.split("-") for span in times.split(","))]
            out.append(f"{days} {' and '.join(spans)}")
        else:
            out.append(days)
    words = "; ".join(out)
    return words[0].upper() + words[1:]
