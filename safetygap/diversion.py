"""Diversion rules: which channel handled each call, and the diverted share's denominator.

Long file (about 680 lines): one rule-set format and its model: loading and validating a
rule file, the matching engine that gives every call one channel, and the counts the summary
reports share the rule model; the eligibility models reuse the engine through its public
functions.

A rule set is a TOML file (the packaged default, for Minneapolis, is
``safetygap/data/diversion_minneapolis.toml``; the format is in ``docs/TAXONOMY.md``,
"Diversion rules"). Each rule maps conditions on the responding agency, the problem
(call type), the disposition, the priority and the call date to one
:class:`~safetygap.vocab.Channel`, and names its source. Rules are tried in order; the
first whose conditions all hold decides; a call no rule matches gets the ``[default]``
channel. So every call gets exactly one channel and the id of the rule that decided it.

The diverted share is ``diverted / base``: a call is *diverted* when its channel is a
non-police alternative (:attr:`Channel.diverted`: behavioral crisis, traffic control,
animal control, 311/online, other non-police); the *base* is set by
:class:`Denominator`: ``police_and_alternatives`` (the default: calls handled by police
or an alternative, fire/EMS left out, as the city's 9% is counted) or ``all_calls``.

Typical use::

    rules = load_rules()                        # packaged Minneapolis default
    out = rules.assign(calls)                   # channel, diversion_rule, diverted, ...
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from safetygap._taxonomy_match import normalize, normalize_prefix
from safetygap.errors import Problems
from safetygap.tables import calls as C
from safetygap.vocab import CallSource, Channel, allowed

__all__ = [
    "CALLS_FROM_SOURCES",
    "CALLS_FROM_WORDS",
    "DEFAULT_RULES_SOURCE",
    "DEFAULT_RULE_ID",
    "CallsFrom",
    "Conditions",
    "Denominator",
    "DiversionRules",
    "Rule",
    "channel_in_base",
    "counted_sources",
    "denominator_words",
    "first_match",
    "load_rules",
    "normalize_disposition",
    "parse_conditions",
    "rules_from_content",
]

DEFAULT_RULES_SOURCE = "packaged default (Minneapolis)"
""":attr:`DiversionRules.source` of the rule set shipped with the package."""
DEFAULT_RULE_ID = "default"
"""Rule id recorded for calls that no rule matched (the ``[default]`` channel)."""


class Denominator(StrEnum):
    """Which calls the diverted share is a share of."""

    POLICE_AND_ALTERNATIVES = "police_and_alternatives"
    """Calls handled by police or a non-police alternative; fire/EMS calls left out (the
    city's 9% is a share of the 911 calls police and the alternatives handle)."""
    ALL_CALLS = "all_calls"
    """Every call, fire/EMS included."""


DENOMINATOR_WORDS = {
    Denominator.POLICE_AND_ALTERNATIVES: "calls handled by police or a non-police "
                                         "alternative (fire/EMS calls left out)",
    Denominator.ALL_CALLS: "all calls, fire/EMS included",
}
"""Plain words for each denominator, for summaries and pages."""


OUTSIDE_911_WORDS = "plus the diverted records from outside 911 (311 and online reports)"
"""What the denominator's words gain when records from outside 911 count in it."""


def denominator_words(denominator: Denominator | str, *, outside_911: bool = False) -> str:
    """The denominator in plain words: :data:`DENOMINATOR_WORDS`, and whether the records
    from outside 911 (:mod:`safetygap.outside911`) count in it."""
    words = DENOMINATOR_WORDS[Denominator(denominator)]
    return f"{words}, {OUTSIDE_911_WORDS}" if outside_911 else words


class CallsFrom(StrEnum):
    """Which calls the demand measures (calls and rates per area, need calls, coverage)
    and the diverted share count, by who started them (:class:`~safetygap.vocab.CallSource`).
    """

    PUBLIC = "public"
    """Calls from the public: 911, the non-emergency line, online reports, and calls whose
    source the file does not record (the study's 9% is a share of calls from the public).
    Officer-initiated and alarm-company calls are left out."""
    ALL = "all"
    """Every call, whoever started it."""


CALLS_FROM_SOURCES: dict[CallsFrom, frozenset[CallSource]] = {
    CallsFrom.PUBLIC: frozenset({CallSource.PUBLIC_911, CallSource.NON_EMERGENCY,
                                 CallSource.ONLINE, CallSource.NOT_RECORDED}),
    CallsFrom.ALL: frozenset(CallSource),
}
"""The call sources each setting counts."""

CALLS_FROM_WORDS = {
    CallsFrom.PUBLIC: "calls from the public (911, the non-emergency line, online reports); "
                      "officer-initiated and alarm-company calls left out",
    CallsFrom.ALL: "every call, officer-initiated and alarm-company calls included",
}
"""Plain words for each setting, for summaries and pages."""


def counted_sources(sources: pd.Series | np.ndarray, calls_from: CallsFrom | str
                    ) -> np.ndarray:
    """Bool per call: its source (:class:`~safetygap.vocab.CallSource` values) is counted
    under ``calls_from``."""
    keep = {str(s) for s in CALLS_FROM_SOURCES[CallsFrom(calls_from)]}
    # once per distinct value (a categorical's codes are taken as they are)
    codes, uniques = pd.factorize(pd.Series(sources), use_na_sentinel=True)
    ok = np.array([str(u) in keep for u in uniques] + [False], dtype=bool)
    return ok[codes]  # a missing value (-1) takes the last: not counted


def channel_in_base(channel: Channel, denominator: Denominator) -> bool:
    """True when a call of ``channel`` counts in the denominator of the diverted share."""
    if denominator is Denominator.ALL_CALLS:
        return True
    return channel is not Channel.FIRE_EMS


_META_KEYS = ("name", "version", "city", "description", "denominator")
_TOP_KEYS = ("meta", "sources", "default", "rules")
_CONDITIONS = ("agency", "category", "problem", "problem_prefix", "problem_contains",
               "disposition", "priority", "since", "until")
_RULE_KEYS = ("id", "channel", "source", "note", *_CONDITIONS)
_STR_DTYPE = pd.Series(["x"]).dtype


def normalize_disposition(value: str) -> tuple[str, str]:
    """(code, text) of a disposition: ``"RPT-Report"`` -> ``("rpt", "rpt-report")``.

    The code is the part before the first ``-`` or space, casefolded; the text the whole
    value with whitespace collapsed, casefolded. A rule's disposition matches either.
    """
    text = " ".join(str(value).split()).casefold()
    code = text.replace("-", " ").split(" ", 1)[0] if text else ""
    return code, text


@dataclass(frozen=True, kw_only=True)
class Conditions:
    """Conditions on a call (all must hold; an empty condition is not checked).

    The matching engine shared by the diversion rules and the eligibility models
    (:mod:`safetygap.eligibility`): :func:`first_match` finds, for every call, the first
    of a list of conditions that holds.
    """

    agency: frozenset[str] = frozenset()
    """Agency codes, stripped and upper-cased."""
    category: frozenset[str] = frozenset()
    """Taxonomy categories (casefolded): the ``category`` the call taxonomy gave the call."""
    problem: frozenset[str] = frozenset()
    """Normalised call-type names (see :func:`safetygap.taxonomy.normalize_call_type`)."""
    problem_prefix: tuple[str, ...] = ()
    problem_contains: tuple[str, ...] = ()
    disposition: frozenset[str] = frozenset()
    """Disposition codes or texts, casefolded."""
    priority: frozenset[int] = frozenset()
    since: dt.date | None = None
    until: dt.date | None = None

    def conditions(self) -> dict[str, Any]:
        """The conditions as plain values (sorted lists, ISO dates)."""
        out: dict[str, Any] = {}
        for key in _CONDITIONS:
            value = getattr(self, key)
            if isinstance(value, frozenset):
                if value:
                    out[key] = sorted(value)
            elif isinstance(value, tuple):
                if value:
                    out[key] = list(value)
            elif value is not None:
                out[key] = value.isoformat()
        return out

    def matches_type(self, name: str) -> bool:
        """Whether a normalised call-type name satisfies the problem conditions."""
        checks = []
        if self.problem:
            checks.append(name in self.problem)
        if self.problem_prefix:
            checks.append(any(name.startswith(p) for p in self.problem_prefix))
        if self.problem_contains:
            checks.append(any(w in name for w in self.problem_contains))
        # problem, problem_prefix and problem_contains are alternatives: any one matching
        return any(checks) if checks else True

    def fields_used(self) -> list[str]:
        """Call fields the conditions read (``agency``, ``category``, ``call_type``,
        ``disposition``, ``priority``, ``time``)."""
        out = []
        if self.agency:
            out.append("agency")
        if self.category:
            out.append("category")
        if self.problem or self.problem_prefix or self.problem_contains:
            out.append("call_type")
        if self.disposition:
            out.append("disposition")
        if self.priority:
            out.append("priority")
        if self.since or self.until:
            out.append("time")
        return out


@dataclass(frozen=True, kw_only=True)
class Rule(Conditions):
    """One diversion rule: conditions -> channel."""

    id: str
    channel: Channel
    source: str
    """Key of the rule set's ``[sources]`` table."""
    note: str = ""


def first_match(rules: Sequence[Conditions], calls: pd.DataFrame) -> np.ndarray:
    """Index (int32) of the first of ``rules`` whose conditions all hold, per call;
    ``len(rules)`` where none does.

    ``calls`` may have ``agency``, ``category``, ``call_type``, ``disposition``,
    ``priority`` and ``time`` (datetime64); a condition on a field the table lacks, or
    on a missing value, never holds. Values are normalised once per distinct value, so
    millions of calls with a few hundred distinct values take a fraction of a second.
    """
    n = len(calls)
    decided = np.full(n, len(rules), dtype=np.int32)
    open_ = np.ones(n, dtype=bool)
    agency = _codes(calls.get("agency"), n, lambda v: str(v).strip().upper())
    category = _codes(calls.get("category"), n, lambda v: str(v).strip().casefold())
    ctype = _codes(calls.get("call_type"), n, lambda v: normalize(str(v)))
    disp = _codes(calls.get("disposition"), n, normalize_disposition)
    prio = _priority_codes(calls.get("priority"), n)
    times = (pd.to_datetime(calls[C.TIME]).to_numpy(dtype="datetime64[D]")
             if "time" in calls else None)
    for i, rule in enumerate(rules):
        m = open_.copy()
        if rule.agency:
            m &= _lookup(agency, lambda v, r=rule: v in r.agency)
        if rule.category:
            m &= _lookup(category, lambda v, r=rule: v in r.category)
        if rule.problem or rule.problem_prefix or rule.problem_contains:
            m &= _lookup(ctype, rule.matches_type)
        if rule.disposition:
            m &= _lookup(disp, lambda v, r=rule: v[0] in r.disposition
                         or v[1] in r.disposition)
        if rule.priority:
            m &= _lookup(prio, lambda v, r=rule: v in r.priority)
        if rule.since is not None or rule.until is not None:
            if times is None:
                m &= False
            else:
                ok = ~np.isnat(times)
                if rule.since is not None:
                    ok &= times >= np.datetime64(rule.since, "D")
                if rule.until is not None:
                    ok &= times <= np.datetime64(rule.until, "D")
                m &= ok
        decided[m] = i
        open_ &= ~m
    return decided


@dataclass(frozen=True)
class DiversionRules:
    """A loaded, validated rule set. Build it with :func:`load_rules`."""

    name: str
    version: str
    city: str
    description: str
    denominator: Denominator
    sources: Mapping[str, str]
    rules: tuple[Rule, ...]
    default_channel: Channel
    default_source: str
    default_note: str = ""
    source: str = DEFAULT_RULES_SOURCE
    """Path of the file, or :data:`DEFAULT_RULES_SOURCE`."""
    needs: tuple[str, ...] = field(default=())
    """Call fields the conditions use (``agency``, ``category``, ``call_type``,
    ``disposition``, ``priority``, ``time``)."""

    def __hash__(self) -> int:
        return hash(self.checksum())

    def rule(self, rule_id: str) -> Rule | None:
        """The rule called ``rule_id`` (None for the default or an unknown id)."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def rule_ids(self) -> tuple[str, ...]:
        """Every rule id in order, then :data:`DEFAULT_RULE_ID`."""
        return (*(r.id for r in self.rules), DEFAULT_RULE_ID)

    # -- assignment -------------------------------------------------------

    def assign(self, calls: pd.DataFrame, *,
               denominator: Denominator | str | None = None) -> pd.DataFrame:
        """Channel and deciding rule of every call.

        ``calls`` needs ``agency`` and ``call_type``; ``category`` (the taxonomy's),
        ``disposition``, ``priority`` and ``time`` (datetime64) are used when present (a
        rule on a field the table lacks never matches; :func:`first_match`). Returns a
        frame with the same index and columns ``channel`` (categorical of every
        :class:`Channel`), ``diversion_rule`` (categorical of
        :meth:`rule_ids`), ``diverted`` (bool: a non-police alternative) and
        ``diversion_base`` (bool: counts in the denominator, ``denominator`` or the rule
        set's own).
        """
        denom = Denominator(denominator) if denominator is not None else self.denominator
        decided = first_match(self.rules, calls)
        channels = [r.channel for r in self.rules] + [self.default_channel]
        chan_codes = np.array([list(Channel).index(c) for c in channels], dtype=np.int8)
        code = chan_codes[decided]
        div_of = np.array([c.diverted for c in Channel], dtype=bool)
        base_of = np.array([channel_in_base(c, denom) for c in Channel], dtype=bool)
        return pd.DataFrame({
            "channel": pd.Categorical.from_codes(code, categories=allowed(Channel)),
            "diversion_rule": pd.Categorical.from_codes(decided,
                                                        categories=list(self.rule_ids())),
            "diverted": div_of[code],
            "diversion_base": base_of[code],
        }, index=calls.index)

    # -- identity ---------------------------------------------------------

    def _content(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "city": self.city,
            "description": self.description,
            "denominator": str(self.denominator),
            "sources": dict(sorted(self.sources.items())),
            "default": {"channel": str(self.default_channel), "source": self.default_source,
                        "note": self.default_note},
            "rules": [{"id": r.id, "channel": str(r.channel), "source": r.source,
                       "note": r.note, **r.conditions()} for r in self.rules],
        }

    def checksum(self) -> str:
        """SHA-256 (hex) of a canonical JSON dump of the content (rule order kept: it
        decides)."""
        text = json.dumps(self._content(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable content plus ``source`` and ``checksum`` (workspace manifest)."""
        return self._content() | {"source": self.source, "checksum": self.checksum()}

    def describe(self) -> list[dict[str, Any]]:
        """One entry per rule (and the default): id, channel, conditions, the full source
        reference and the note: what pages and ``profile`` show."""
        out = [{"id": r.id, "channel": str(r.channel), "conditions": r.conditions(),
                "source": self.sources.get(r.source, r.source), "note": r.note}
               for r in self.rules]
        out.append({"id": DEFAULT_RULE_ID, "channel": str(self.default_channel),
                    "conditions": {}, "source": self.sources.get(self.default_source,
                                                                 self.default_source),
                    "note": self.default_note})
        return out


def _codes(values: pd.Series | None, n: int, key: Any) -> tuple[np.ndarray, list[Any]]:
    """(codes per row, normalised distinct values); -1 = missing or no such column."""
    if values is None:
        return np.full(n, -1, dtype=np.int64), []
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, [key(v) for v in uniques]


def _priority_codes(values: pd.Series | None, n: int) -> tuple[np.ndarray, list[Any]]:
    if values is None:
        return np.full(n, -1, dtype=np.int64), []
    # each distinct text read as a number once, then the numbers' own codes
    raw, texts = pd.factorize(pd.Series(values), use_na_sentinel=True)
    num = pd.to_numeric(pd.Series(texts, dtype="string").str.strip(), errors="coerce")
    num_codes, uniques = pd.factorize(num, use_na_sentinel=True)
    codes = np.append(num_codes, -1)[raw]  # a missing text (-1) stays missing
    keys = [int(v) if float(v).is_integer() else None for v in uniques]
    return codes, keys


def _lookup(coded: tuple[np.ndarray, list[Any]], test: Any) -> np.ndarray:
    """Per-row result of ``test`` on each distinct value; False where missing."""
    codes, uniques = coded
    ok = np.array([bool(test(u)) if u is not None else False for u in uniques] + [False],
                  dtype=bool)
    return ok[np.where(codes < 0, len(uniques), codes)]


# -- loading ------------------------------------------------------------------


def load_rules(path: str | os.PathLike[str] | None = None) -> DiversionRules:
    """Load and validate a rule-set TOML file (``None``: the packaged Minneapolis default).

    Every problem is collected and raised in one :class:`~safetygap.errors.ValidationError`
    naming the file, the key, the bad value and what is allowed.
    """
    if path is None:
        data = (resources.files("safetygap") / "data" / "diversion_minneapolis.toml"
                ).read_bytes()
        label, fallback = DEFAULT_RULES_SOURCE, "minneapolis-default"
    else:
        label, fallback = str(path), Path(path).stem
        data = read_rule_file(path, what="diversion rules")
    return _build(parse_toml(data, where=f"diversion rules {label}"), label, fallback)


def read_rule_file(path: str | os.PathLike[str], *, what: str) -> bytes:
    """The bytes of a rule file; a missing file or a directory is an error naming it."""
    p = Path(path)
    if not p.is_file():
        problems = Problems()
        problems.add(f"{what} {p}", "file not found" if not p.exists() else "not a file",
                     value=str(p), allowed="a TOML rule file (see docs/TAXONOMY.md)")
        problems.raise_if_any()
    return p.read_bytes()


def parse_toml(data: bytes, *, where: str) -> dict[str, Any]:
    """A TOML document; bad UTF-8 or TOML syntax is one error naming ``where``, the line
    and the column."""
    problems = Problems()
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.add(where, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except tomllib.TOMLDecodeError as exc:
        problems.add(where, f"TOML syntax error: {exc}")
    problems.raise_if_any()
    raise AssertionError("unreachable")  # pragma: no cover


def rule_meta(doc: Mapping[str, Any], *, where: str, problems: Problems,
              top_keys: Sequence[str], meta_keys: Sequence[str]) -> dict[str, Any]:
    """The ``[meta]`` table of a rule file ({} when missing); unknown top-level and meta
    keys are added to ``problems``."""
    for key in doc:
        if key not in top_keys:
            problems.add(where, f"unknown top-level key {key!r}", value=key,
                         allowed=tuple(top_keys))
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        problems.add(where, "meta must be a table", value=meta)
        meta = {}
    for k in meta:
        if k not in meta_keys:
            problems.add(where, f"meta: unknown key {k!r}", value=k, allowed=tuple(meta_keys))
    return meta


def rule_tables(doc: Mapping[str, Any], *, where: str, problems: Problems, outcome: str,
                example: str) -> tuple[dict[str, Any] | None, list[Any]]:
    """The ``[default]`` table (None when missing or not a table; its keys checked:
    ``outcome``, ``source``, ``note``) and the ``[[rules]]`` array of a rule file."""
    default = doc.get("default")
    keys = (outcome, "source", "note")
    if not isinstance(default, dict):
        problems.add(where, f"missing [default] table: the {outcome} of calls no rule "
                     "matches", value=default,
                     allowed=f'[default] {outcome} = "{example}", source = "..."')
        default = None
    else:
        for k in default:
            if k not in keys:
                problems.add(where, f"default: unknown key {k!r}", value=k, allowed=keys)
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list):
        problems.add(where, "rules must be an array of tables ([[rules]])", value=raw_rules)
        raw_rules = []
    return default, raw_rules


def parse_sources(doc: Mapping[str, Any], *, where: str, problems: Problems
                  ) -> tuple[dict[str, str], Any]:
    """The ``[sources]`` table of a rule file and a ``source_of(entry, key)`` that checks a
    rule's ``source`` names one of them (every problem added to ``problems``)."""
    sources = doc.get("sources")
    if not isinstance(sources, dict) or not sources:
        problems.add(where, "missing [sources] table: every rule names a source",
                     value=sources, allowed="a [sources] table of key = \"reference\"")
        sources = {}
    for k, v in sources.items():
        if not isinstance(v, str) or not v.strip():
            problems.add(where, f"sources.{k} must be a non-empty string", value=v)

    def source_of(entry: Mapping[str, Any], key: str) -> str:
        src = entry.get("source")
        if not isinstance(src, str) or not src:
            problems.add(where, f"{key}.source: every rule needs a source", value=src,
                         allowed=sorted(sources) or "a key of [sources]")
            return ""
        if src not in sources:
            problems.add(where, f"{key}.source: not a key of [sources]", value=src,
                         allowed=sorted(sources))
        return src

    return dict(sources), source_of


def rules_from_content(content: Mapping[str, Any], *, label: str) -> DiversionRules:
    """Rebuild a rule set from :meth:`DiversionRules.to_dict` (e.g. a workspace manifest)."""
    doc: dict[str, Any] = {
        "meta": {k: content[k] for k in _META_KEYS if k in content},
        "sources": dict(content.get("sources", {})),
        "default": dict(content["default"]),
        "rules": [],
    }
    for r in content.get("rules", []):
        entry = dict(r)
        for key in ("since", "until"):
            if key in entry:
                entry[key] = dt.date.fromisoformat(entry[key])
        doc["rules"].append(entry)
    return _build(doc, label, str(content.get("name", "rules")))


def _str_list(value: Any, key: str, where: str, problems: Problems) -> list[str] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and v.strip() for v in value):
        problems.add(where, f"{key} must be a non-empty list of non-empty strings",
                     value=value)
        return None
    return value


def _channel(value: Any, key: str, where: str, problems: Problems) -> Channel | None:
    try:
        return Channel(value)
    except ValueError:
        problems.add(where, f"{key}: unknown channel", value=value, allowed=allowed(Channel))
        return None


def _build(doc: dict[str, Any], label: str, fallback: str) -> DiversionRules:
    problems = Problems()
    where = f"diversion rules {label}"
    meta = rule_meta(doc, where=where, problems=problems, top_keys=_TOP_KEYS,
                     meta_keys=_META_KEYS)
    texts = {}
    for k in ("name", "city", "description"):
        v = meta.get(k, fallback if k == "name" else "")
        if not isinstance(v, str):
            problems.add(where, f"meta.{k} must be a string", value=v)
            v = str(v)
        texts[k] = v
    version = meta.get("version", "0")
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        problems.add(where, "meta.version must be a string", value=version)
        version = "0"
    denominator = Denominator.POLICE_AND_ALTERNATIVES
    if "denominator" in meta:
        try:
            denominator = Denominator(meta["denominator"])
        except ValueError:
            problems.add(where, "meta.denominator: unknown denominator",
                         value=meta["denominator"], allowed=allowed(Denominator))

    sources, source_of = parse_sources(doc, where=where, problems=problems)

    default, raw_rules = rule_tables(doc, where=where, problems=problems,
                                     outcome="channel", example="police")
    default_channel, default_source, default_note = Channel.POLICE, "", ""
    if default is not None:
        default_channel = _channel(default.get("channel"), "default.channel", where,
                                   problems) or Channel.POLICE
        default_source = source_of(default, "default")
        default_note = str(default.get("note", ""))
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw_rules):
        rid = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(rid, str) and (rid in seen or rid == DEFAULT_RULE_ID):
            problems.add(where, f"rules[{i}].id: repeated or reserved rule id", value=rid,
                         allowed=f"a unique id other than {DEFAULT_RULE_ID!r}")
        seen.add(rid) if isinstance(rid, str) else None
        rule = _rule(entry, i, where, problems, source_of)
        if rule is not None:
            rules.append(rule)
    problems.raise_if_any()
    needs = sorted({f for r in rules for f in r.fields_used()})
    return DiversionRules(
        name=texts["name"], version=str(version), city=texts["city"],
        description=texts["description"], denominator=denominator,
        sources=dict(sources), rules=tuple(rules), default_channel=default_channel,
        default_source=default_source, default_note=default_note, source=label,
        needs=tuple(needs))


def rule_entry(entry: Any, i: int, *, where: str, problems: Problems, keys: Sequence[str],
               source_of: Any) -> tuple[str, str, str, str, dict[str, Any]] | None:
    """The parts every rule of a rule file has: ``(key, id, source, note, conditions)``.

    ``key`` names the rule in messages (``rules[3] (bcr_agency)``); ``conditions`` are the
    keyword arguments of :class:`Conditions` (:func:`parse_conditions`). Unknown keys (not
    in ``keys``), a missing id, a rule without a condition and a source that is not a key
    of ``[sources]`` (``source_of``) are added to ``problems``. None when ``entry`` is
    not a table.
    """
    key = f"rules[{i}]"
    if not isinstance(entry, dict):
        problems.add(where, f"{key} must be a table", value=entry)
        return None
    rid = entry.get("id")
    if isinstance(rid, str) and rid.strip():
        key = f"rules[{i}] ({rid})"
    else:
        problems.add(where, f"{key}.id must be a non-empty string", value=rid)
        rid = f"rule_{i}"
    for k in entry:
        if k not in keys:
            problems.add(where, f"{key}: unknown key {k!r}", value=k, allowed=tuple(keys))
    source = source_of(entry, key)
    note = entry.get("note", "")
    if not isinstance(note, str):
        problems.add(where, f"{key}.note must be a string", value=note)
        note = str(note)
    if not any(k in entry for k in _CONDITIONS):
        problems.add(where, f"{key}: a rule needs at least one condition (calls no rule "
                     "matches get [default])", value=rid, allowed=_CONDITIONS)
    return key, rid, source, note, parse_conditions(entry, key, where=where,
                                                    problems=problems)


def parse_conditions(entry: Mapping[str, Any], key: str, *, where: str,
                     problems: Problems) -> dict[str, Any]:
    """The conditions of one rule table as keyword arguments of :class:`Conditions`
    (normalised as they are matched); every bad value is added to ``problems``."""
    kw: dict[str, Any] = {}
    if "agency" in entry:
        v = _str_list(entry["agency"], f"{key}.agency", where, problems)
        kw["agency"] = frozenset(s.strip().upper() for s in v or [])
    if "category" in entry:
        v = _str_list(entry["category"], f"{key}.category", where, problems)
        kw["category"] = frozenset(s.strip().casefold() for s in v or [])
    if "problem" in entry:
        v = _str_list(entry["problem"], f"{key}.problem", where, problems)
        kw["problem"] = frozenset(normalize(s) for s in v or [])
    if "problem_prefix" in entry:
        v = _str_list(entry["problem_prefix"], f"{key}.problem_prefix", where, problems)
        kw["problem_prefix"] = tuple(normalize_prefix(s) for s in v or [])
    if "problem_contains" in entry:
        v = _str_list(entry["problem_contains"], f"{key}.problem_contains", where, problems)
        kw["problem_contains"] = tuple(" ".join(s.casefold().split()) for s in v or [])
    if "disposition" in entry:
        v = _str_list(entry["disposition"], f"{key}.disposition", where, problems)
        kw["disposition"] = frozenset(" ".join(s.split()).casefold() for s in v or [])
    if "priority" in entry:
        v = entry["priority"]
        v = [v] if isinstance(v, int) and not isinstance(v, bool) else v
        if not isinstance(v, list) or not v or not all(
                isinstance(p, int) and not isinstance(p, bool) for p in v):
            problems.add(where, f"{key}.priority must be a list of whole numbers", value=v)
        else:
            kw["priority"] = frozenset(v)
    for k in ("since", "until"):
        if k in entry:
            v = entry[k]
            if isinstance(v, dt.datetime):
                v = v.date()
            if not isinstance(v, dt.date):
                problems.add(where, f"{key}.{k} must be a TOML date (2021-06-14)", value=v)
            else:
                kw[k] = v
    if kw.get("since") and kw.get("until") and kw["since"] > kw["until"]:
        problems.add(where, f"{key}: since is after until", value=f"{kw['since']} > "
                     f"{kw['until']}")
    return kw


def _rule(entry: Any, i: int, where: str, problems: Problems, source_of: Any) -> Rule | None:
    parts = rule_entry(entry, i, where=where, problems=problems, keys=_RULE_KEYS,
                       source_of=source_of)
    if parts is None:
        return None
    key, rid, source, note, kw = parts
    channel = _channel(entry.get("channel"), f"{key}.channel", where, problems)
    if channel is None:
        return None
    return Rule(id=rid, channel=channel, source=source, note=note, **kw)


def rule_counts(assigned: pd.DataFrame, mask: np.ndarray | None = None,
                *, rules: DiversionRules, weights: np.ndarray | None = None
                ) -> list[dict[str, Any]]:
    """Calls per rule (in rule order, the default last), with each rule's channel;
    ``weights``: the calls each row of ``assigned`` stands for (default 1)."""
    col = assigned["diversion_rule"] if mask is None else assigned["diversion_rule"][mask]
    counts = _counted(col, None if weights is None
                      else weights if mask is None else weights[mask])
    chan = {r.id: str(r.channel) for r in rules.rules} | {
        DEFAULT_RULE_ID: str(rules.default_channel)}
    return [{"rule": rid, "channel": chan[rid], "calls": int(counts.get(rid, 0))}
            for rid in rules.rule_ids()]


def channel_counts(channels: Sequence[Any] | pd.Series, *,
                   weights: np.ndarray | None = None) -> dict[str, int]:
    """Calls per channel, every channel listed (0 when none); ``weights``: the calls each
    value stands for (default 1)."""
    counts = pd.Series(channels)
    if not isinstance(counts.dtype, pd.CategoricalDtype):  # a categorical counts its codes
        counts = counts.astype(object)
    counts = _counted(counts, weights)
    return {c: int(counts.get(c, 0)) for c in allowed(Channel)}


def _counted(values: pd.Series, weights: np.ndarray | None) -> pd.Series:
    """Calls per value (missing left out): ``value_counts``, or the sums of ``weights``."""
    if weights is None:
        return values.value_counts()
    return pd.Series(np.asarray(weights), index=pd.Index(np.asarray(values, dtype=object))
                     ).groupby(level=0, dropna=True).sum()
