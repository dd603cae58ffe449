"""Private helpers for :mod:`safetygap.taxonomy`: name normalisation and lookup.

Kept separate so the rules can be read (and tested) on their own; the public
entry point is :func:`safetygap.taxonomy.normalize_call_type`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# A trailing agency marker: "(P)", "(PE)", "(FE)", "(PFE)", "(F)", "(E)" and in
# general "(" + 1-4 capital letters + ")", with or without a space before it.
# Markers made only of the agency letters P, F, E are also recognised in lower
# case ("(p)", "(fe)") so that already lower-cased exports match too.
_PAREN_MARKER = re.compile(r"\s*\((?:[A-Z]{1,4}|[PpFfEe]{1,3})\)$")
# A trailing "~" + letters: "~PD", "~EMS" (the Initial_Problem routing tag).
_TILDE_MARKER = re.compile(r"\s*~[A-Za-z]+$")

# Guard against pathological inputs; real names need one or two passes.
_MAX_PASSES = 16


def _one_pass(text: str) -> str:
    """Collapse whitespace, strip every trailing marker, then casefold."""
    text = " ".join(text.split())
    while True:
        stripped = _TILDE_MARKER.sub("", text)
        stripped = _PAREN_MARKER.sub("", stripped).rstrip()
        if stripped == text:
            break
        text = stripped
    return " ".join(text.casefold().split())


def normalize(name: str) -> str:
    """Normalise one call-type name (see :func:`safetygap.taxonomy.normalize_call_type`).

    The single pass is repeated until it changes nothing, which makes the
    result idempotent even for odd Unicode (case folding can turn a character
    into ASCII letters that then form a marker).
    """
    text = name
    for _ in range(_MAX_PASSES):
        out = _one_pass(text)
        if out == text:
            return out
        text = out
    return text


def normalize_prefix(prefix: str) -> str:
    """Normalise a prefix pattern: drop trailing ``*`` wildcards, then :func:`normalize`."""
    return normalize(prefix.rstrip().rstrip("*"))


def lookup(
    key: str, exact: Mapping[str, str], prefixes: Mapping[str, str]
) -> str | None:
    """Category for a normalised name: exact match first, else the longest prefix."""
    found = exact.get(key)
    if found is not None or not key:
        return found
    best: str | None = None
    best_len = -1
    for prefix, category in prefixes.items():
        if len(prefix) > best_len and key.startswith(prefix):
            best, best_len = category, len(prefix)
    return best
