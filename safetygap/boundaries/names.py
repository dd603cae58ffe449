"""Matching area names between tables (population tables, city labels).

Matching is exact after :func:`normalize_name` (case, accents, punctuation,
"&"/"and", whitespace), then through an alias table for renamed areas.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

# Minneapolis neighborhoods renamed since the 2015 ACS tables were published, and names
# other tables give them (Minnesota Compass qualifies Como, which St. Paul has too).
MINNEAPOLIS_ALIASES: dict[str, str] = {
    "CARAG": "South Uptown",
    "ECCO": "East Bde Maka Ska",
    "West Calhoun": "West Maka Ska",
    "Como (Minneapolis)": "Como",
}


def normalize_name(name: str) -> str:
    """Fold a place name for matching: "Willard - Hay" == "willard-hay" == "Willard Hay"."""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("&", " and ")
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return " ".join(text.split())


def match_names(
    names: Iterable[str],
    targets: Iterable[str],
    *,
    aliases: Mapping[str, str] | None = None,
) -> dict[str, str | None]:
    """Map each of ``names`` to one of ``targets`` (or None when nothing matches).

    An alias (old name -> current name) is applied before normalising.
    """
    folded_targets: dict[str, str] = {}
    for t in targets:
        folded_targets.setdefault(normalize_name(t), t)
    folded_aliases = {normalize_name(k): v for k, v in (aliases or {}).items()}
    out: dict[str, str | None] = {}
    for n in names:
        key = normalize_name(n)
        if key in folded_aliases:
            key = normalize_name(folded_aliases[key])
        out[n] = folded_targets.get(key)
    return out
