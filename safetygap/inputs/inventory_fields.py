"""The inventory fields of a provider: who runs it, what, where, when, for whom, how fresh.

This module owns the inventory columns of a provider table (beyond the columns the
analysis needs, :data:`safetygap.inputs.providers.PROVIDER_COLUMNS`). Every one is
optional in a provider file; a missing column is written as empty values.

===================  =========================================================================
column               meaning, and what validation checks
===================  =========================================================================
``organisation``     the organisation that runs the service (free text)
``programme``        the programme's name (free text)
``address``          street address as written (free text; ``providers geocode`` places it)
``capacity_unit``    the unit of ``capacity`` (``staff FTE``, ``beds``...): one unit per
                     service type in a file (two units for one service type is an error)
``opening_hours``    OpenStreetMap ``opening_hours`` syntax (``Mo-Fr 09:00-17:00``), kept as
                     text
``eligibility``      who may use it: ages, groups (``ages 12-24; young women``), free text
``languages``        languages offered, separated by ``;`` or ``,`` (written ``A; B``)
``phone``            7 to 15 digits, with spaces, ``+ ( ) - .`` and an extension allowed
``website``          an ``http://`` or ``https://`` address (``example.org`` gets ``https://``);
                     other schemes are refused (the address becomes a link on the pages)
``source``           where the row comes from (``osm``, ``geocoded list``, ``hand``...)
``last_verified``    date the row was last checked, ``YYYY-MM-DD`` (or ``YYYY-MM``, read as
                     the 1st); not in the future
``serves``           areas served instead of a catchment (see :mod:`safetygap.inventory.serves`)
``geocode_quality``  how ``providers geocode`` placed the row: ``given``, ``exact``,
                     ``street_interpolation`` or ``street_only`` (empty: not geocoded)
===================  =========================================================================

Stale rows: a provider not verified for more than ``stale_after_months`` months
(default :data:`STALE_AFTER_MONTHS`, the ``SAFETYGAP_STALE_AFTER_MONTHS`` setting and
``analyze --stale-after-months``), or never verified, is flagged; the flags are counted in
``quality.json`` and shown on the map.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from safetygap.errors import Problems

__all__ = [
    "INVENTORY_COLUMNS",
    "STALE_AFTER_MONTHS",
    "inventory_fields",
    "months_between",
    "stale_flags",
]

INVENTORY_COLUMNS = ("organisation", "programme", "address", "capacity_unit", "opening_hours",
                     "eligibility", "languages", "phone", "website", "source", "last_verified",
                     "serves", "geocode_quality")
"""The inventory columns, in the order they are written."""

STALE_AFTER_MONTHS = 18
"""Default: a provider last verified more than this many months ago is stale."""
GEOCODE_QUALITIES = ("given", "exact", "street_interpolation", "street_only")
"""Match qualities a placed provider can carry (see :mod:`safetygap.inventory.geocode`)."""

_PHONE_OK = re.compile(r"^[0-9+()\-.\s/]+((ext\.?|x)\s*[0-9]+)?$", re.IGNORECASE)
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(/.*)?$")
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as stripped strings ("" where absent or blank)."""
    if column not in frame.columns:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    col = frame[column]
    return pd.Series(["" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
                      else str(v).strip() for v in col], index=frame.index, dtype=object)


def parse_date(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` or ``YYYY-MM`` (the 1st) as a date; None when not such a date."""
    if not _DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text if len(text) == 10 else f"{text}-01")
    except ValueError:
        return None


def _website(text: str) -> str | None:
    """The normalised web address, or None when it is not an http(s) address."""
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme == "" and _DOMAIN.match(text):
        return f"https://{text}"
    if parts.scheme.lower() in ("http", "https") and parts.netloc and " " not in text:
        return text
    return None


def inventory_fields(
    frame: pd.DataFrame,
    service_types: pd.Series,
    *,
    where: str,
    problems: Problems,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """The inventory columns of provider rows, checked; problems added to ``problems``.

    ``frame`` is the table as read (any columns); ``service_types`` the rows' service
    types (for the one-unit-per-service-type check). Returns a frame with
    :data:`INVENTORY_COLUMNS` (strings, "" where not given; ``last_verified`` as
    ``YYYY-MM-DD``), same index as ``frame``.
    """
    today = today or dt.date.today()
    out = pd.DataFrame({c: _text(frame, c) for c in INVENTORY_COLUMNS}, index=frame.index)
    # plain lists: a row's checks are pure Python (pandas' per-cell access cost a
    # thousand candidate sites seconds); most rows of a generated table are all empty
    verified = out["last_verified"].tolist()
    phones = out["phone"].tolist()
    websites = out["website"].tolist()
    qualities = out["geocode_quality"].tolist()
    languages = out["languages"].tolist()
    for i in range(len(frame)):
        label = f"{where} row {i + 1}"
        raw = verified[i]
        if raw:
            day = parse_date(raw[:10] if len(raw) > 10 and raw[10] in "T " else raw)
            if day is None:
                problems.add(label, "last_verified is not a date", column="last_verified",
                             value=raw, allowed="YYYY-MM-DD or YYYY-MM")
            elif day > today:
                problems.add(label, f"last_verified is in the future (today is {today})",
                             column="last_verified", value=raw)
            else:
                verified[i] = day.isoformat()
        phone = phones[i]
        if phone:
            digits = sum(ch.isdigit() for ch in re.sub(r"(?i)(ext\.?|x)\s*[0-9]+$", "", phone))
            if not _PHONE_OK.match(phone) or not 7 <= digits <= 15:
                problems.add(label, "phone is not a phone number", column="phone", value=phone,
                             allowed="7 to 15 digits, spaces and + ( ) - . allowed, "
                                     "e.g. 612-555-0100 or +1 612 555 0100 x12")
        web = _website(websites[i])
        if web is None:
            problems.add(label, "website is not a web address", column="website",
                         value=websites[i], allowed="http://... or https://...")
        else:
            websites[i] = web
        gq = qualities[i]
        if gq and gq not in GEOCODE_QUALITIES:
            problems.add(label, "unknown geocode quality", column="geocode_quality", value=gq,
                         allowed=GEOCODE_QUALITIES)
        if languages[i]:
            languages[i] = "; ".join(p.strip() for p in re.split(r"[;,]", languages[i])
                                     if p.strip())
    for column, values in (("last_verified", verified), ("website", websites),
                           ("languages", languages)):
        out[column] = pd.Series(values, index=out.index, dtype=object)
    units = pd.DataFrame({"st": service_types.to_numpy(), "unit": out["capacity_unit"].to_numpy()})
    units = units[units["unit"] != ""]
    for st, group in units.groupby("st", sort=True):
        kinds = sorted(set(group["unit"].str.casefold()))
        if len(kinds) > 1:
            rows = ", ".join(str(i + 1) for i in np.flatnonzero(
                (service_types.to_numpy() == st) & (out["capacity_unit"].to_numpy() != "")))
            problems.add(f"{where} rows {rows}",
                         f"service type {st!r} has capacities in more than one unit "
                         "(capacities of a service type are added up, so they need one unit)",
                         column="capacity_unit", value=", ".join(kinds))
    return out


def months_between(earlier: dt.date, later: dt.date) -> float:
    """Calendar months from ``earlier`` to ``later`` (whole months plus the day fraction of
    a 30.4375-day month): 2024-01-15 -> 2025-07-15 is 18.0."""
    whole = (later.year - earlier.year) * 12 + (later.month - earlier.month)
    return whole + (later.day - earlier.day) / 30.4375


def stale_flags(
    last_verified: pd.Series, *, today: dt.date, months: float = STALE_AFTER_MONTHS
) -> tuple[np.ndarray, np.ndarray]:
    """(months since verified, stale) per provider.

    ``last_verified`` holds ``YYYY-MM-DD`` strings ("" or missing: never verified).
    A provider is stale when verified more than ``months`` months before ``today`` or
    never verified; its months are NaN when never verified.
    """
    age = np.full(len(last_verified), np.nan)
    for i, v in enumerate(last_verified.tolist()):
        day = parse_date(str(v)) if isinstance(v, str) and v else None
        if day is not None:
            age[i] = round(months_between(day, today), 2)
    stale = ~(age <= months)  # NaN (never verified) is stale
    return age, stale


def completeness(providers: pd.DataFrame) -> dict[str, object]:
    """How complete the inventory is: providers per family and source, stale, never
    verified, placed by street-only geocoding, serving areas, and how many give each
    inventory field (``quality.json`` providers.completeness, the directory pages)."""
    from safetygap import FAMILIES

    def col(c: str) -> pd.Series:
        return (providers[c].fillna("").astype(str) if c in providers.columns
                else pd.Series([""] * len(providers), index=providers.index))

    source = col("source").replace("", "not stated")
    fam = col("family")
    stale = (providers["stale"].to_numpy(bool) if "stale" in providers.columns
             else np.zeros(len(providers), bool))
    return {
        "providers": len(providers),
        "by_family": {f: int((fam == f).sum()) for f in FAMILIES},
        "by_family_and_source": {f: {str(k): int(v) for k, v in
                                     source[fam == f].value_counts().sort_index().items()}
                                 for f in FAMILIES},
        "stale": int(stale.sum()),
        "street_only": int((col("geocode_quality") == "street_only").sum()),
        "by_geocode_quality": {str(k): int(v) for k, v in
                               col("geocode_quality").replace("", "not geocoded")
                               .value_counts().sort_index().items()},
        "serving_areas": int((col("serves") != "").sum()),
        "with_field": {c: int((col(c) != "").sum()) for c in
                       ("address", "opening_hours", "phone", "website", "eligibility",
                        "languages", "last_verified")},
    }

