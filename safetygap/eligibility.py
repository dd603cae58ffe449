"""Eligibility models: which calls a published non-police programme would answer.

An eligibility model is a rule file like the diversion rules (:mod:`safetygap.diversion`,
the same conditions and the same matching engine, :func:`~safetygap.diversion.first_match`)
whose rules give each call a *tier* instead of a channel. A tier says whether its calls
are *eligible* for a non-police response. The packaged models
(``safetygap/data/eligibility/*.toml``, every rule with its source; format in
``docs/TAXONOMY.md``, "Eligibility models"):

``nicjr``        NICJR's four-tier classification (tiers 1 and 2 eligible); the default
``cahoots``      Eugene CAHOOTS (24/7)
``star``         Denver STAR (6 a.m. to 10 p.m.)
``albuquerque``  Albuquerque Community Safety (24/7)

A model names calls by the taxonomy's ``category`` and by call-type names, so it works
for any city whose taxonomy sorts its names into the default categories. Calls the
diversion rules give to fire/EMS are outside every model (tier ``out_of_scope``, never
eligible): the models describe calls police would otherwise answer.

Typical use::

    model = load_model("star")
    out = model.assess(calls)   # eligibility_tier, eligibility_rule, eligible
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from safetygap.diversion import (
    DEFAULT_RULE_ID,
    Conditions,
    first_match,
    parse_sources,
    parse_toml,
    read_rule_file,
    rule_entry,
    rule_meta,
    rule_tables,
)
from safetygap.errors import Problems
from safetygap.tables import calls as C
from safetygap.vocab import Channel

__all__ = [
    "COUNTS",
    "DEFAULT_MODEL",
    "MODELS",
    "OUT_OF_SCOPE",
    "EligibilityModel",
    "EligibilityRule",
    "Tier",
    "eligibility_counts",
    "load_model",
]

MODELS: tuple[str, ...] = ("nicjr", "cahoots", "star", "albuquerque")
"""The packaged models, by name."""
DEFAULT_MODEL = "nicjr"
"""The model used when none is chosen: NICJR's classification is the only packaged one
that places every call (the programme models describe one team's remit each)."""
OUT_OF_SCOPE = "out_of_scope"
"""Tier (and rule id) of calls the diversion rules give to fire/EMS."""

COUNTS: tuple[str, ...] = ("base", "diverted", "eligible", "eligible_diverted",
                           "eligible_not_diverted", "diverted_not_eligible")
"""What :func:`eligibility_counts` counts, all among the calls in the diverted share's
denominator (``diversion_base``)."""

_META_KEYS = ("name", "title", "programme", "version", "description", "hours")
_TOP_KEYS = ("meta", "sources", "tiers", "default", "rules")
_TIER_KEYS = ("label", "eligible", "description")
_RULE_KEYS = ("id", "tier", "source", "note", "agency", "category", "problem",
              "problem_prefix", "problem_contains", "disposition", "priority", "since",
              "until")


@dataclass(frozen=True)
class Tier:
    """One outcome of a model."""

    id: str
    label: str
    eligible: bool
    """Calls of this tier could go to a non-police responder."""
    description: str = ""


_OUT = Tier(OUT_OF_SCOPE, "Fire/EMS calls (outside the model)", False,
            "Calls the diversion rules give to fire/EMS: not calls police would answer.")


@dataclass(frozen=True, kw_only=True)
class EligibilityRule(Conditions):
    """One rule of a model: conditions -> tier."""

    id: str
    tier: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class EligibilityModel:
    """A loaded, validated model. Build it with :func:`load_model`."""

    name: str
    title: str
    programme: str
    version: str
    description: str
    hours: str
    """When the programme's responders work, OpenStreetMap ``opening_hours`` syntax
    (empty: not stated)."""
    sources: Mapping[str, str]
    tiers: tuple[Tier, ...]
    rules: tuple[EligibilityRule, ...]
    default_tier: str
    default_source: str
    default_note: str = ""
    source: str = ""
    """``packaged`` or the path of the file."""

    def __hash__(self) -> int:
        return hash(self.checksum())

    def tier(self, tier_id: str) -> Tier:
        return next(t for t in (*self.tiers, _OUT) if t.id == tier_id)

    def tier_ids(self) -> tuple[str, ...]:
        """The model's tiers in order, then :data:`OUT_OF_SCOPE`."""
        return (*(t.id for t in self.tiers), OUT_OF_SCOPE)

    def eligible_tiers(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tiers if t.eligible)

    def assess(self, calls: pd.DataFrame) -> pd.DataFrame:
        """Tier, deciding rule and eligibility of every call.

        ``calls`` needs ``call_type`` and, for the packaged models, ``category`` (the
        taxonomy's); ``agency``, ``disposition``, ``priority`` and ``time`` are used when
        present (:func:`~safetygap.diversion.first_match`). A ``channel`` column (the
        diversion rules') puts fire/EMS calls out of scope. Returns a frame with the same
        index: ``eligibility_tier`` and ``eligibility_rule`` (categoricals) and
        ``eligible`` (bool).
        """
        decided = first_match(self.rules, calls)
        rule_ids = [r.id for r in self.rules] + [DEFAULT_RULE_ID, OUT_OF_SCOPE]
        tier_of_rule = [r.tier for r in self.rules] + [self.default_tier, OUT_OF_SCOPE]
        if "channel" in calls:
            fire = (calls[C.CHANNEL].astype(object) == str(Channel.FIRE_EMS)).to_numpy(bool)
            decided = np.where(fire, len(self.rules) + 1, decided).astype(np.int32)
        tiers = list(self.tier_ids())
        tier_code = np.array([tiers.index(t) for t in tier_of_rule], dtype=np.int16)[decided]
        eligible_of = np.array([self.tier(t).eligible for t in tiers], dtype=bool)
        return pd.DataFrame({
            "eligibility_tier": pd.Categorical.from_codes(tier_code, categories=tiers),
            "eligibility_rule": pd.Categorical.from_codes(decided, categories=rule_ids),
            "eligible": eligible_of[tier_code],
        }, index=calls.index)

    # -- identity ---------------------------------------------------------

    def _content(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "programme": self.programme,
            "version": self.version, "description": self.description, "hours": self.hours,
            "sources": dict(sorted(self.sources.items())),
            "tiers": [{"id": t.id, "label": t.label, "eligible": t.eligible,
                       "description": t.description} for t in self.tiers],
            "default": {"tier": self.default_tier, "source": self.default_source,
                        "note": self.default_note},
            "rules": [{"id": r.id, "tier": r.tier, "source": r.source, "note": r.note,
                       **r.conditions()} for r in self.rules],
        }

    def checksum(self) -> str:
        """SHA-256 (hex) of a canonical JSON dump of the content."""
        text = json.dumps(self._content(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Content plus ``source`` and ``checksum``, with each rule's source written out
        (what the API and pages show)."""
        out = self._content() | {"source": self.source, "checksum": self.checksum()}
        for r in out["rules"]:
            r["reference"] = self.sources.get(r["source"], r["source"])
        out["default"]["reference"] = self.sources.get(self.default_source,
                                                       self.default_source)
        return out


# -- loading ------------------------------------------------------------------


def load_model(model: str | os.PathLike[str] | None = None) -> EligibilityModel:
    """A packaged model by name (:data:`MODELS`; None: :data:`DEFAULT_MODEL`) or a model
    file (TOML). Every problem of the file is raised in one
    :class:`~safetygap.errors.ValidationError` naming the file, key, value and what is
    allowed; an unknown name lists the packaged models."""
    name = DEFAULT_MODEL if model is None else model
    if isinstance(name, str) and name in MODELS:
        data = (resources.files("safetygap") / "data" / "eligibility" / f"{name}.toml"
                ).read_bytes()
        label, fallback = "packaged", name
    elif isinstance(name, str) and not (name.endswith(".toml") or os.sep in name):
        problems = Problems()
        problems.add("eligibility model", "unknown model", value=name,
                     allowed=(*MODELS, "or a model file (.toml)"))
        problems.raise_if_any()
        raise AssertionError("unreachable")  # pragma: no cover
    else:
        label, fallback = str(name), Path(name).stem
        data = read_rule_file(name, what="eligibility model")
    where = f"eligibility model {label}"
    return _build(parse_toml(data, where=where), label, fallback, where)


def _build(doc: dict[str, Any], label: str, fallback: str, where: str) -> EligibilityModel:
    problems = Problems()
    meta = rule_meta(doc, where=where, problems=problems, top_keys=_TOP_KEYS,
                     meta_keys=_META_KEYS)
    texts: dict[str, str] = {}
    for k in _META_KEYS:
        v = meta.get(k, fallback if k == "name" else "")
        if isinstance(v, int | float) and not isinstance(v, bool) and k == "version":
            v = str(v)
        if not isinstance(v, str):
            problems.add(where, f"meta.{k} must be a string", value=v)
            v = str(v)
        texts[k] = v
    if texts["hours"]:
        from safetygap.hours import parse_hours

        parse_hours(texts["hours"], where=f"{where} meta.hours", problems=problems)
    sources, source_of = parse_sources(doc, where=where, problems=problems)

    raw_tiers = doc.get("tiers")
    tiers: list[Tier] = []
    if not isinstance(raw_tiers, dict) or not raw_tiers:
        problems.add(where, "missing [tiers] table: the outcomes rules give calls",
                     value=raw_tiers, allowed="[tiers.<id>] label = \"...\", eligible = true")
        raw_tiers = {}
    for tid, t in raw_tiers.items():
        key = f"tiers.{tid}"
        if not isinstance(t, dict):
            problems.add(where, f"{key} must be a table", value=t)
            continue
        for k in t:
            if k not in _TIER_KEYS:
                problems.add(where, f"{key}: unknown key {k!r}", value=k, allowed=_TIER_KEYS)
        if tid == OUT_OF_SCOPE:
            problems.add(where, f"{key}: reserved tier id", value=tid)
        if not isinstance(t.get("eligible"), bool):
            problems.add(where, f"{key}.eligible must be true or false",
                         value=t.get("eligible"), allowed="true | false")
        lab = t.get("label", tid)
        if not isinstance(lab, str) or not lab.strip():
            problems.add(where, f"{key}.label must be a non-empty string", value=lab)
        tiers.append(Tier(str(tid), str(lab), bool(t.get("eligible")),
                          str(t.get("description", ""))))
    tier_ids = [t.id for t in tiers]

    def tier_of(entry: Mapping[str, Any], key: str) -> str:
        v = entry.get("tier")
        if v not in tier_ids:
            problems.add(where, f"{key}.tier: not a tier of [tiers]", value=v,
                         allowed=tier_ids or "a key of [tiers]")
        return str(v)

    default, raw_rules = rule_tables(doc, where=where, problems=problems, outcome="tier",
                                     example="...")
    default_tier, default_source, default_note = "", "", ""
    if default is not None:
        default_tier = tier_of(default, "default")
        default_source = source_of(default, "default")
        default_note = str(default.get("note", ""))
    rules: list[EligibilityRule] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw_rules):
        parts = rule_entry(entry, i, where=where, problems=problems, keys=_RULE_KEYS,
                           source_of=source_of)
        if parts is None:
            continue
        key, rid, source, note, kw = parts
        if rid in seen or rid in (DEFAULT_RULE_ID, OUT_OF_SCOPE):
            problems.add(where, f"{key}.id: repeated or reserved rule id", value=rid,
                         allowed=f"a unique id other than {DEFAULT_RULE_ID!r} and "
                                 f"{OUT_OF_SCOPE!r}")
        seen.add(rid)
        rules.append(EligibilityRule(id=rid, tier=tier_of(entry, key), source=source,
                                     note=note, **kw))
    problems.raise_if_any()
    return EligibilityModel(
        name=texts["name"], title=texts["title"] or texts["name"],
        programme=texts["programme"], version=texts["version"] or "0",
        description=texts["description"], hours=texts["hours"], sources=sources,
        tiers=tuple(tiers), rules=tuple(rules), default_tier=default_tier,
        default_source=default_source, default_note=default_note, source=label)


def eligibility_counts(calls: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Calls per :data:`COUNTS` (int64), per value of column ``by`` (an area id; rows
    with a missing value are left out), or one row ``city`` when ``by`` is None.

    ``calls`` needs ``diversion_base``, ``diverted`` and ``eligible`` (bools); only calls
    in the denominator are counted: ``eligible_not_diverted`` is what a model says police
    still answer that a non-police responder could.
    """
    base = calls[C.DIVERSION_BASE].to_numpy(bool)
    div = calls[C.DIVERTED].to_numpy(bool) & base
    elig = calls[C.ELIGIBLE].to_numpy(bool) & base
    parts = pd.DataFrame({
        "base": base, "diverted": div, "eligible": elig, "eligible_diverted": elig & div,
        "eligible_not_diverted": elig & ~div, "diverted_not_eligible": div & ~elig,
    }).astype(np.int64)
    if by is None:
        return parts.sum().to_frame("city").T
    key = calls[by]
    out = parts.groupby(key.to_numpy() if not isinstance(key.dtype, pd.CategoricalDtype)
                        else key, observed=False, dropna=True).sum()
    out.index = out.index.astype(str)
    return out
