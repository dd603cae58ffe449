"""What a calls file holds, and a starter diversion rule file from its own vocabulary.

:func:`profile_calls` reads a calls file with a column mapping and reports its fields
(which are mapped and found), its agencies, the most common problem types and
dispositions with counts and the taxonomy category, channel and rule each falls to, the
values the taxonomy or the rules do not match, and the date span and gaps: the way to
calibrate a taxonomy and diversion rules for a new city (``safetygap profile``).

:func:`starter_rules` writes a diversion rule file (TOML, loadable by
:func:`safetygap.diversion.load_rules`) listing the city's own types by count with a
family and channel suggested from words in the type, every suggestion marked for review.
:func:`starter_taxonomy` writes the taxonomy in use with the city's own types it does not
know added to the category a word in each suggests (every addition marked REVIEW, the
types no word places listed as UNRESOLVED): the file that takes the unknown-type share
down once reviewed (``safetygap profile --write-taxonomy``).

Long file (about 500 lines): the profile and the two starter files it writes share the
word table (:data:`_WORDS`) and the counts of the city's own types; the starters are the
profile's output in the form the analysis reads.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from safetygap.diversion import DiversionRules, rule_counts
from safetygap.inputs import ColumnMap, read_calls
from safetygap.tables import calls as C
from safetygap.taxonomy import UNKNOWN, Taxonomy, load_taxonomy, normalize_call_type
from safetygap.vocab import Channel

__all__ = ["TOP", "Suggestion", "profile_calls", "starter_rules", "starter_taxonomy",
           "suggest"]

TOP = 25
"""How many problem types, dispositions and unmatched values a profile lists."""
GAP_DAYS = 2
"""A run of at least this many days without a call inside the date span is a gap."""


@dataclass(frozen=True)
class Suggestion:
    """A family and channel suggested for a call type from a word in it (to review)."""

    family: str
    """``response``, ``prevention``, ``restoration``, ``none`` or ``?`` (no word matched)."""
    channel: Channel | None
    """A non-police channel the type itself names (parking, animal, report only, fire/EMS);
    None: the type names none (police unless the city's documents say otherwise)."""
    crisis: bool
    """A behavioral-crisis word (crisis, mental, suicide, welfare, intoxicated ...): a call
    a crisis team may answer; the channel is the city's to say."""
    word: str
    """The word that decided (empty when none matched)."""
    category: str | None = None
    """The category of the packaged taxonomy the word suggests (None: no word matched)."""


# (pattern, family, channel, crisis, category of the packaged taxonomy), tried in order;
# the first matching word decides. Each family is its category's (tests/test_profile.py).
_WORDS: tuple[tuple[str, str, Channel | None, bool, str], ...] = (
    (r"\bparking\b|\bpark(ed)? car\b|\btow\b|\babandoned (auto|vehicle)\b", "response",
     Channel.TRAFFIC_CONTROL, False, "traffic"),
    (r"\banimal|\bdogs?\b|\bcats?\b|\bwildlife\b|\bbite\b", "response", Channel.ANIMAL_CONTROL,
     False, "animal"),
    (r"report only|rpt only|\bonline\b|telephone report|phone report|theft report|"
     r"\breport\b.*\b(theft|damage)|\b(theft|damage)\b.*\breport\b|lost property",
     "response", Channel.REPORT_311_ONLINE, False, "report_only_property"),
    (r"crisis|mental|suicid|welfare|emotional|intoxicat|\bdrunk|overdose|\bslumper|"
     r"person down|\bdown outside|behavioral|psych", "response", None, True,
     "behavioral_crisis"),
    (r"\bfire\b|\bsmoke\b|\bmedical\b|\bems\b|ambulance|cardiac|\bheart\b|breath|"
     r"unconscious|seizure|stroke|bleeding|\bfall\b|hazmat|haz mat|gas leak|\bco alarm",
     "none", Channel.FIRE_EMS, False, "medical_fire"),
    (r"\balarm", "none", None, False, "alarm"),
    (r"(accident|crash|collision|\bmva\b|motor vehicle).*\binjur|"
     r"\binjur.*(accident|crash|collision|\bmva\b)|pursuit|vehicle chase",
     "response", None, False, "traffic_injury"),
    (r"accident|crash|collision|\bmva\b|hit (and|&) run|\btraffic\b|road hazard|"
     r"motor vehicle", "response", None, False, "traffic"),
    (r"\bshoot|\bshots?\b|\bgun|weapon|\bassault|\bfight|stab|robbery|homicide|murder|"
     r"\bthreat", "prevention", None, False, "violence"),
    (r"domestic", "restoration", None, False, "domestic_violence"),
    (r"burglar|theft|stolen|larceny|fraud|forgery|\bsex|\brape\b|kidnap|vandal|damage",
     "restoration", None, False, "victimization"),
    (r"noise|\bloud\b|music|\bparty\b|disturb|trespass|unwanted|panhandl|narcotic|\bdrugs?\b|"
     r"neighbor|loiter|nuisance", "prevention", None, False, "quality_of_life"),
    (r"suspicious|\bsusp\b|patrol|traffic stop|warrant|\binfo|\bassist|\bcheck\b|follow ?up|"
     r"miscellaneous|unknown", "none", None, False, "proactive_admin"),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE), f, c, k, cat) for p, f, c, k, cat in _WORDS)

# Agency names that say who the agency is.
_AGENCY_WORDS: tuple[tuple[str, Channel], ...] = (
    (r"fire|\bems\b|medic|ambulance", Channel.FIRE_EMS),
    (r"\bbcr\b|crisis|mental|behavioral|cahoots|\bstar\b", Channel.BEHAVIORAL_CRISIS),
    (r"animal", Channel.ANIMAL_CONTROL),
    (r"traffic|parking", Channel.TRAFFIC_CONTROL),
    (r"\b311\b|online", Channel.REPORT_311_ONLINE),
)


def suggest(call_type: str) -> Suggestion:
    """The family and channel suggested by the first word of :data:`_WORDS` in the type."""
    for pattern, family, channel, crisis, category in _COMPILED:
        m = pattern.search(call_type)
        if m:
            return Suggestion(family, channel, crisis, m.group(0).strip().lower(), category)
    return Suggestion("?", None, False, "")


def _agency_channel(agency: str) -> Channel | None:
    for pattern, channel in _AGENCY_WORDS:
        if re.search(pattern, agency, re.IGNORECASE):
            return channel
    return None


def profile_calls(
    path: str | os.PathLike,
    *,
    columns: ColumnMap,
    taxonomy: Taxonomy,
    rules: DiversionRules,
    encoding: str = "utf-8",
    top: int = TOP,
) -> dict[str, Any]:
    """The profile of a calls file as a JSON-serialisable dict (see module docstring).

    Shares are of the file's rows; the date span is of the rows with a parsed time.
    """
    cin = read_calls(path, columns=columns, encoding=encoding)
    calls = cin.frame
    n = len(calls)
    cls = taxonomy.classify(calls[C.CALL_TYPE])
    assigned = rules.assign(calls.assign(category=cls["category"].to_numpy()))
    mapped = {**columns.required_columns(), **columns.optional_columns()}
    header = cin.header
    fields = [{"field": f, "column": c, "found": c in header} for f, c in mapped.items()]
    used = set(mapped.values())
    type_of = calls[C.CALL_TYPE].fillna("<missing>")
    frame = pd.DataFrame({"type": type_of.astype(object), "category": cls["category"].array,
                          "family": cls["family"].array,
                          "channel": assigned["channel"].astype(str).to_numpy(),
                          "rule": assigned["diversion_rule"].astype(str).to_numpy()})
    by_type = (frame.groupby("type", sort=False)
               .agg(calls=("type", "size"), category=("category", "first"),
                    family=("family", "first"), channel=("channel", _mode),
                    rule=("rule", _mode))
               .sort_values("calls", ascending=False, kind="stable"))

    per_channel = frame.groupby(["type", "channel"], sort=False).size()

    def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
        return [{"value": str(k), "calls": int(r.calls), "share": round(r.calls / n, 6),
                 "category": r.category, "family": r.family, "channel": r.channel,
                 "rule": r.rule,
                 "channels": {str(c): int(v) for c, v in per_channel.loc[k].items()}}
                for k, r in df.iterrows()]

    unknown = by_type[by_type["category"] == "unknown"]
    out: dict[str, Any] = {
        "file": str(cin.path),
        "rows": n,
        "columns": list(header),
        "fields": fields,
        "unmapped_columns": [c for c in header if c not in used],
        "taxonomy": {"name": taxonomy.name, "version": taxonomy.version},
        "diversion_rules": {"name": rules.name, "version": rules.version,
                            "source": rules.source},
        "agencies": _counts(calls[C.AGENCY], n, top=None),
        "problem_types": {"distinct": len(by_type), "top": rows(by_type.head(top))},
        "dispositions": (_routed_counts(calls[C.DISPOSITION], assigned, n, top=top)
                         if "disposition" in calls else None),
        "priorities": (_routed_counts(calls[C.PRIORITY], assigned, n, top=top)
                       if "priority" in calls else None),
        "unmatched": {
            "types_unknown_to_taxonomy": {
                "distinct": len(unknown), "calls": int(unknown["calls"].sum()),
                "share": round(float(unknown["calls"].sum()) / n, 6),
                "top": rows(unknown.head(top))},
            "calls_no_rule_matched": int((assigned["diversion_rule"] == "default").sum()),
        },
        "channels": {str(c): int((assigned["channel"] == str(c)).sum()) for c in Channel},
        "rules": rule_counts(assigned, rules=rules),
        "diverted_share": _share(assigned),
        "dates": _dates(calls[C.TIME]) | {
            "form": None if cin.time_form is None else cin.time_form.to_dict()},
        "sources": _counts(calls[C.SOURCE].astype(str), n, top=None),
        "feeds": (_counts(calls[C.FEED], n, top=None)
                  if C.FEED in calls else None),
        "coordinates": _coordinates(calls[C.COORD_FAULT].to_numpy()),
    }
    return out


def _coordinates(fault: np.ndarray) -> dict[str, int]:
    from safetygap.inputs.calls import COORD_FAULT_NAMES, COORD_OK

    return {"ok": int((fault == COORD_OK).sum()),
            **{name: int((fault == code).sum()) for code, name in COORD_FAULT_NAMES.items()}}


def _mode(values: pd.Series) -> str:
    return str(values.value_counts().index[0])


def _counts(values: pd.Series, n: int, *, top: int | None) -> dict[str, Any]:
    vc = values.astype(object).where(values.notna(), "<missing>").value_counts()
    shown = vc if top is None else vc.head(top)
    return {"distinct": len(vc),
            "top": [{"value": str(k), "calls": int(v), "share": round(int(v) / n, 6)}
                    for k, v in shown.items()]}


def _routed_counts(values: pd.Series, assigned: pd.DataFrame, n: int, *, top: int
                   ) -> dict[str, Any]:
    """:func:`_counts` of a field, each value with the channel and rule its calls fall to:
    the most common ones (``channel``, ``rule``) and the calls per channel and per rule."""
    key = values.astype(object).where(values.notna(), "<missing>").astype(str)
    frame = pd.DataFrame({"value": key.to_numpy(),
                          "channel": assigned["channel"].astype(str).to_numpy(),
                          "rule": assigned["diversion_rule"].astype(str).to_numpy()})
    by_channel = frame.groupby(["value", "channel"], sort=False).size()
    by_rule = frame.groupby(["value", "rule"], sort=False).size()
    out = _counts(values, n, top=top)
    for row in out["top"]:
        chans = by_channel.loc[row["value"]].sort_values(ascending=False, kind="stable")
        rules = by_rule.loc[row["value"]].sort_values(ascending=False, kind="stable")
        row |= {"channel": str(chans.index[0]), "rule": str(rules.index[0]),
                "channels": {str(c): int(v) for c, v in chans.items()},
                "rules": {str(r): int(v) for r, v in rules.items()}}
    return out


def _share(assigned: pd.DataFrame) -> dict[str, Any]:
    base = int(assigned["diversion_base"].sum())
    div = int(assigned["diverted"].sum())
    return {"diverted": div, "denominator": base,
            "share": None if base == 0 else round(div / base, 6)}


def _dates(times: pd.Series) -> dict[str, Any]:
    t = pd.Series(times).dropna()
    out: dict[str, Any] = {"dated": len(t), "undated": int(pd.Series(times).isna().sum())}
    if t.empty:
        return out | {"first": None, "last": None, "days": 0, "gaps": []}
    days = t.dt.normalize().drop_duplicates().sort_values().reset_index(drop=True)
    first, last = days.iloc[0], days.iloc[-1]
    step = days.diff().dt.days.fillna(1).astype(int).to_numpy()
    gaps = []
    for i in np.flatnonzero(step > GAP_DAYS):
        start = days.iloc[i - 1] + pd.Timedelta(days=1)
        end = days.iloc[i] - pd.Timedelta(days=1)
        gaps.append({"from": start.date().isoformat(), "to": end.date().isoformat(),
                     "days": int(step[i] - 1)})
    gaps.sort(key=lambda g: (-g["days"], g["from"]))
    return out | {"first": t.min().isoformat(), "last": t.max().isoformat(),
                  "days": int((last - first).days) + 1,
                  "days_with_calls": len(days), "gaps": gaps[:10],
                  "gaps_total": len(gaps)}


# -- the starter rule file ------------------------------------------------------


def _n(calls: int) -> str:
    return f"{calls:,} call" + ("" if calls == 1 else "s")


def _toml_str(s: str) -> str:
    """``s`` as a TOML basic string (JSON's escapes are TOML's; DEL escaped too)."""
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def starter_rules(profile: dict[str, Any], *, type_counts: Iterable[tuple[str, int]],
                  agencies: Iterable[tuple[str, int]], name: str,
                  today: dt.date | None = None) -> str:
    """A starter diversion rule file (TOML text) for the file ``profile`` describes.

    ``type_counts`` are (call type, calls) for every type, most common first; ``agencies``
    (agency, calls). Active rules: agencies and types whose own words name a non-police
    channel (fire/EMS, a crisis team, animal control, traffic control / parking, 311 /
    online or report-only). Types with a behavioral-crisis word are listed in a commented
    rule to switch on if the city's crisis team answers them. Every type is listed in a
    comment with its count and the suggested family and channel. Every suggestion says
    REVIEW; nothing in it is a source until the city's documents say so.
    """
    day = (today or dt.date.today()).isoformat()
    lines = [
        f"# Starter diversion rules for {profile['file']!s}",
        f"# written by `safetygap profile --write-rules` on {day}: {profile['rows']:,} rows.",
        "#",
        "# Every suggestion below comes from WORDS IN THE NAMES only and is marked REVIEW.",
        "# Check each against the city's own documents (which calls its crisis team, traffic",
        "# or animal unit and 311 / online reporting take), put those documents in [sources]",
        "# and point each rule's `source` at them. Format: docs/TAXONOMY.md, 'Diversion rules'.",
        "# Then: safetygap profile CALLS --diversion-rules THIS_FILE, and",
        "#       safetygap analyze ... --diversion-rules THIS_FILE",
        "",
        "[meta]",
        f"name = {_toml_str(name)}",
        'version = "0"',
        'description = "Starter rules suggested from words in the call types: REVIEW"',
        'denominator = "police_and_alternatives"',
        "",
        "[sources]",
        'review = "REVIEW: suggested by safetygap profile from words in the names; not yet '
        'checked against the city\'s documents"',
        "",
        "[default]",
        'channel = "police"',
        'source = "review"',
        'note = "Calls no rule matches: police (REVIEW)"',
        "",
    ]
    agencies = list(agencies)
    by_channel: dict[Channel, list[tuple[str, int]]] = {}
    for agency, count in agencies:
        ch = _agency_channel(agency)
        if ch is not None:
            by_channel.setdefault(ch, []).append((agency, count))
    order = [Channel.FIRE_EMS, Channel.BEHAVIORAL_CRISIS, Channel.ANIMAL_CONTROL,
             Channel.TRAFFIC_CONTROL, Channel.REPORT_311_ONLINE]
    for ch in order:
        if ch not in by_channel:
            continue
        lines += ["[[rules]]", f'id = "agency_{ch}"', f'channel = "{ch}"', "agency = ["]
        lines += [f"    {_toml_str(a)},  # {_n(c)}; REVIEW" for a, c in by_channel[ch]]
        lines += ["]", 'source = "review"',
                  f'note = "Agency name suggests {ch} (REVIEW)"', ""]
    types = list(type_counts)
    sugg = [(t, c, suggest(t)) for t, c in types]
    for ch in order:
        chosen = [(t, c, s) for t, c, s in sugg if s.channel is ch]
        if not chosen:
            continue
        lines += ["[[rules]]", f'id = "type_{ch}"', f'channel = "{ch}"', "problem = ["]
        lines += [f"    {_toml_str(t)},  # {_n(c)}; word '{s.word}'; REVIEW"
                  for t, c, s in chosen]
        lines += ["]", 'source = "review"',
                  f'note = "Type names suggest {ch} (REVIEW)"', ""]
    crisis = [(t, c, s) for t, c, s in sugg if s.crisis]
    if crisis:
        lines += [
            "# Behavioral-crisis words: police answer these in most cities. Uncomment if the",
            "# city's crisis team takes them without police (and say so in [sources]).",
            "# [[rules]]", '# id = "type_behavioral_crisis"', '# channel = "behavioral_crisis"',
            "# problem = ["]
        lines += [f"#     {_toml_str(t)},  # {_n(c)}; word '{s.word}'; REVIEW"
                  for t, c, s in crisis]
        lines += ["# ]", '# source = "review"', ""]
    lines += ["# Every call type by count: suggested family / channel (word). REVIEW each.",
              "# calls | type | family | channel | word"]
    for t, c, s in sugg:
        chan = str(s.channel) if s.channel else ("behavioral_crisis?" if s.crisis else "police")
        lines.append(f"# {c:>9,} | {t} | {s.family} | {chan} | {s.word or '-'}")
    return "\n".join(lines) + "\n"


def write_starter_rules(path: str | os.PathLike, profile: dict[str, Any], *,
                        calls: pd.DataFrame, name: str) -> Path:
    """Write :func:`starter_rules` for ``calls`` (the canonical table) to ``path``."""
    types = calls[C.CALL_TYPE].dropna().astype(str).value_counts()
    agencies = calls[C.AGENCY].dropna().astype(str).value_counts()
    text = starter_rules(profile, type_counts=types.items(), agencies=agencies.items(),
                         name=name)
    p = Path(path)
    p.write_text(text, encoding="utf-8")
    return p


# -- the starter taxonomy -------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_str(key)


def _toml_value(value: Any) -> str:
    """A value of a taxonomy file as TOML: text, true/false, a number, a list or an inline
    table of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")  # pragma: no cover


def _taxonomy_doc(path: str | os.PathLike | None) -> dict[str, Any]:
    """The taxonomy file as written (``None``: the packaged one)."""
    from importlib import resources

    data = (Path(path).read_bytes() if path is not None else
            (resources.files("safetygap") / "data" / "taxonomy.toml").read_bytes())
    return tomllib.loads(data.decode("utf-8"))


def starter_taxonomy(type_counts: Iterable[tuple[str, int]], *,
                     taxonomy: str | os.PathLike | None = None, file: str = "",
                     today: dt.date | None = None) -> tuple[str, dict[str, Any]]:
    """A taxonomy file (TOML text, loadable by :func:`safetygap.taxonomy.load_taxonomy`):
    ``taxonomy`` (a file; None: the packaged one) with every call type of ``type_counts``
    ((type, calls), most common first) it does not know added to the category a word in
    the type suggests (:func:`suggest`), each marked REVIEW with its count and word; the
    types no word places are listed in a comment as UNRESOLVED. Types that normalise to
    the same name are added once. Returns the text and what was added
    (``added``: category -> [(type, calls, word)], ``unresolved``: [(type, calls)])."""
    doc = _taxonomy_doc(taxonomy)
    known = load_taxonomy(taxonomy)
    categories = doc["categories"]
    added: dict[str, list[tuple[str, int, str]]] = {}
    unresolved: list[tuple[str, int]] = []
    seen: set[str] = set()
    for call_type, count in type_counts:
        norm = normalize_call_type(call_type)
        if not norm or norm in seen or known.category_of(call_type) != UNKNOWN:
            continue
        seen.add(norm)
        s = suggest(call_type)
        if s.category in categories:
            added.setdefault(s.category, []).append((call_type, int(count), s.word))
        else:
            unresolved.append((call_type, int(count)))
    day = (today or dt.date.today()).isoformat()
    n_added = sum(len(v) for v in added.values())
    lines = [
        f"# Starter taxonomy for {file}",
        f"# written by `safetygap profile --write-taxonomy` on {day} from the taxonomy "
        f"{known.source!r} ({known.name} {known.version}).",
        f"# {n_added:,} of the city's own call types it did not know are added to the "
        "category a WORD IN THE NAME suggests,",
        "# each marked REVIEW: check each against the city's documents (what the call is,",
        "# who answers it) and move it to the right category, or delete it. The types no",
        "# word places are listed at the end as UNRESOLVED. Format: docs/TAXONOMY.md.",
        "# Then: safetygap analyze ... --taxonomy THIS_FILE (or [rules] taxonomy).",
        "",
    ]
    meta = dict(doc.get("meta", {}))
    meta["name"] = f"{meta.get('name', 'taxonomy')}+{Path(file).stem or 'city'}-starter"
    lines.append("[meta]")
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in meta.items()]
    for name, entry in categories.items():
        lines += ["", f"[categories.{_toml_key(name)}]"]
        for key, value in entry.items():
            if key != "types":
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        lines.append("types = [")
        lines += [f"    {_toml_str(t)}," for t in entry.get("types", [])]
        for t, c, word in added.get(name, []):
            lines.append(f"    {_toml_str(t)},  # REVIEW: {_n(c)}; word '{word}'")
        lines.append("]")
    for table in ("agencies", "service_types"):
        for name, entry in doc.get(table, {}).items():
            lines += ["", f"[{table}.{_toml_key(name)}]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in entry.items()]
    if unresolved:
        lines += ["", "# UNRESOLVED: no word in these names suggests a category. Add each "
                  "to the category the", "# city's documents give it (calls, type):"]
        lines += [f"#   {c:>9,}  {_toml_str(t)}" for t, c in unresolved]
    return "\n".join(lines) + "\n", {"added": added, "unresolved": unresolved}


def write_starter_taxonomy(path: str | os.PathLike, *, calls: pd.DataFrame,
                           taxonomy: str | os.PathLike | None = None, file: str = ""
                           ) -> dict[str, Any]:
    """Write :func:`starter_taxonomy` for ``calls`` (the canonical table) to ``path``;
    returns what was added and left unresolved, with ``path``."""
    types = calls[C.CALL_TYPE].dropna().astype(str).value_counts()
    text, what = starter_taxonomy(types.items(), taxonomy=taxonomy, file=file)
    p = Path(path)
    p.write_text(text, encoding="utf-8")
    return {**what, "path": str(p)}
