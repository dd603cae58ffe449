"""The call taxonomy: which calls signal which community-safety need.

Long file (about 600 lines): one file format and its model: loading, validating every
problem of a taxonomy at once, and the lookups the stages call share the taxonomy's internal
tables.

A taxonomy is a TOML file (the packaged default is
``safetygap/data/taxonomy.toml``; the format is described in
``docs/TAXONOMY.md``). It has four parts:

``[meta]``            name, version and the sources the names come from;
``[categories.*]``    categories of need, each with a family (``response``,
                      ``prevention``, ``restoration`` or ``none``), whether the
                      calls are eligible for a non-police response, and the
                      call-type names that belong to it;
``[agencies.*]``      responding agencies and whether each is a diverted
                      (non-police) responder;
``[service_types.*]`` the services a provider can offer, with their family,
                      straight-line catchment radius in metres and, for the
                      street network, catchment travel times in minutes per
                      mode (``walk``, ``drive``); the categories of calls each
                      handles (``handles``; default every category of its
                      family), and whether it is ``placeless`` (311, online
                      reporting, phone lines: no place, so no catchment).

Call-type names are compared after :func:`normalize_call_type`, so agency
suffixes such as ``(P)`` or ``~PD``, case and extra whitespace do not matter.

Typical use::

    tax = load_taxonomy()                 # packaged default
    cls = tax.classify(calls["call_type"])
    div = tax.diverted(calls["agency"])
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from safetygap import FAMILIES
from safetygap._taxonomy_match import lookup, normalize, normalize_prefix
from safetygap.errors import Problems
from safetygap.vocab import TRAVEL_MODES, TravelMode

__all__ = [
    "CATEGORY_FAMILIES",
    "DEFAULT_SOURCE",
    "UNKNOWN",
    "Agency",
    "Category",
    "ServiceType",
    "Taxonomy",
    "load_taxonomy",
    "normalize_call_type",
]

UNKNOWN = "unknown"
"""Category given to call types the taxonomy does not list (and to missing values)."""

CATEGORY_FAMILIES: tuple[str, ...] = (*FAMILIES, "none")
"""Families a category may have; ``none`` = no community-safety service need."""

DEFAULT_SOURCE = "packaged default"
""":attr:`Taxonomy.source` of the taxonomy shipped with the package."""

_CATEGORY_KEYS = ("family", "eligible", "description", "types", "prefixes")
_AGENCY_KEYS = ("diverted", "service")
_SERVICE_KEYS = ("family", "catchment_m", "catchment_min", "description", "handles",
                 "placeless")
DERIVED_SPEED_M_PER_MIN = {TravelMode.WALK.value: 80.0, TravelMode.DRIVE.value: 500.0}
"""Speeds that derive a missing ``catchment_min`` from ``catchment_m``
(walk 4.8 km/h, drive 30 km/h)."""
_META_KEYS = ("name", "version", "sources")
_TOP_KEYS = ("meta", "categories", "agencies", "service_types")
# The default dtype pandas gives a column of Python strings ("str" in pandas 3,
# object before).
_STR_DTYPE = pd.Series(["x"]).dtype


def normalize_call_type(name: str) -> str:
    """Normalise a call-type name for matching.

    Steps: strip surrounding whitespace and collapse internal runs of
    whitespace to one space; repeatedly strip a trailing agency marker, that
    is ``"("`` + 1-4 capital letters + ``")"`` (``(P)``, ``(PE)``, ``(FE)``,
    ``(PFE)``, ``(F)``, ``(E)``, also the agency letters P/F/E in lower case),
    with or without a space before it, or ``"~"`` + letters (``~PD``,
    ``~EMS``); finally casefold. The result is idempotent.

    >>> normalize_call_type("Narcotics (Drug) Activity (P)")
    'narcotics (drug) activity'
    >>> normalize_call_type("Theft (P)~PD")
    'theft'
    >>> normalize_call_type("Unknown Wireless/Cell Phone(P)")
    'unknown wireless/cell phone'
    >>> normalize_call_type("AUTOMOBILE THEFT              ")
    'automobile theft'
    """
    return normalize(name)


@dataclass(frozen=True)
class Category:
    """A category of need that call types are grouped into."""

    name: str
    family: str
    """``response``, ``prevention``, ``restoration`` or ``none``."""
    eligible: bool
    """True when the calls are eligible for a non-police response."""
    description: str


@dataclass(frozen=True)
class Agency:
    """A responding agency as written in the calls' agency column."""

    code: str
    """Upper-cased, stripped code (``POLICE``, ``BCR``, ``311`` ...)."""
    diverted: bool
    """True for a non-police responder a call was diverted to."""
    service: str


@dataclass(frozen=True)
class ServiceType:
    """A kind of service a provider offers."""

    name: str
    family: str
    """``response``, ``prevention`` or ``restoration``."""
    catchment_m: float
    """Straight-line catchment radius in metres (accessibility and coverage)."""
    description: str
    catchment_min: Mapping[str, float] = field(default_factory=dict)
    """Network catchment in minutes of travel, per mode (``walk``, ``drive``)."""
    handles: tuple[str, ...] = ()
    """Categories of calls this service handles (a call is covered only by providers of a
    service type that handles its category)."""
    placeless: bool = False
    """A service without a place (311, online reporting, a phone line): counted in the
    diversion channels, left out of spatial coverage, reach and accessibility."""

    def catchment_for(self, mode: str) -> float:
        """Catchment in minutes for travel ``mode`` (``walk`` or ``drive``)."""
        if mode in self.catchment_min:
            return float(self.catchment_min[mode])
        return self.catchment_m / DERIVED_SPEED_M_PER_MIN[mode]


@dataclass(frozen=True)
class Taxonomy:
    """A loaded, validated taxonomy. Build it with :func:`load_taxonomy`."""

    name: str
    version: str
    sources: tuple[str, ...]
    categories: Mapping[str, Category]
    type_to_category: Mapping[str, str]
    """Normalised call-type name -> category name."""
    agencies: Mapping[str, Agency]
    """Keyed by upper-cased, stripped code."""
    service_types: Mapping[str, ServiceType]
    source: str
    """Path of the file, or ``"packaged default"``."""
    type_prefixes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Normalised name prefix -> category, tried (longest first) when no exact name matches."""

    def __hash__(self) -> int:
        # The mapping fields are not hashable; the content checksum identifies
        # a taxonomy (so it can key caches).
        return hash(self.checksum())

    # -- classification -------------------------------------------------

    def category_of(self, call_type: object) -> str:
        """Category of one call type (``"unknown"`` when not matched or missing)."""
        if not isinstance(call_type, str):
            try:
                missing = call_type is None or bool(pd.isna(call_type))
            except (TypeError, ValueError):
                missing = False
            if missing:
                return UNKNOWN
        found = lookup(normalize(str(call_type)), self.type_to_category, self.type_prefixes)
        return UNKNOWN if found is None else found

    def classify(self, call_types: pd.Series) -> pd.DataFrame:
        """Classify a column of call types.

        Only the distinct values are normalised and looked up, so millions of
        rows with a few hundred distinct names take a fraction of a second.

        Returns a frame with the same index and columns ``category`` (str,
        ``"unknown"`` when not matched or missing), ``family`` (str, ``"none"``
        for unknown), ``eligible`` (bool, False for unknown), ``known``
        (bool) and ``coverable`` (bool: some service type with a place handles
        the category, see :meth:`coverable`).
        """
        codes, uniques = pd.factorize(call_types, use_na_sentinel=True)
        n = len(uniques)
        cats = [self.category_of(value) for value in uniques]
        cats.append(UNKNOWN)
        fam_of = {name: c.family for name, c in self.categories.items()}
        elig_of = {name: c.eligible for name, c in self.categories.items()}
        fams = [fam_of.get(c, "none") for c in cats]
        eligs = np.array([elig_of.get(c, False) for c in cats], dtype=bool)
        knowns = np.array([c != UNKNOWN for c in cats], dtype=bool)
        coverables = np.array([c in self.categories and self.categories[c].family != "none"
                               and self.coverable(c) for c in cats], dtype=bool)
        idx = np.where(codes < 0, n, codes)
        # Take from small per-distinct-value arrays of the default string dtype:
        # far faster than building millions of Python strings.
        return pd.DataFrame(
            {
                "category": pd.array(cats, dtype=_STR_DTYPE).take(idx),
                "family": pd.array(fams, dtype=_STR_DTYPE).take(idx),
                "eligible": eligs.take(idx),
                "known": knowns.take(idx),
                "coverable": coverables.take(idx),
            },
            index=call_types.index,
            copy=False,
        )

    def diverted(self, agencies: pd.Series) -> pd.DataFrame:
        """Flag calls answered by a diverted (non-police) agency.

        Agency values are matched after strip + upper-case. Returns a frame
        with the same index and columns ``diverted`` (bool, False when the
        agency is unknown or missing) and ``agency_known`` (bool).
        """
        codes, uniques = pd.factorize(agencies, use_na_sentinel=True)
        n = len(uniques)
        div = np.zeros(n + 1, dtype=bool)
        known = np.zeros(n + 1, dtype=bool)
        for i, value in enumerate(uniques):
            agency = self.agencies.get(str(value).strip().upper())
            if agency is not None:
                known[i] = True
                div[i] = agency.diverted
        idx = np.where(codes < 0, n, codes)
        return pd.DataFrame(
            {"diverted": div.take(idx), "agency_known": known.take(idx)},
            index=agencies.index,
            copy=False,
        )

    # -- service matching -------------------------------------------------

    def handlers(self, category: str, *, placeless: bool = False) -> tuple[str, ...]:
        """Service types handling ``category``: those with a place (default), or the
        placeless ones (``placeless=True``); sorted names."""
        return tuple(sorted(name for name, s in self.service_types.items()
                            if category in s.handles and s.placeless == placeless))

    def coverable(self, category: str) -> bool:
        """Whether a call of ``category`` can be covered in space: some service type with a
        place handles it (calls only placeless services handle are left out of the
        coverage denominator)."""
        return bool(self.handlers(category))

    # -- identity -------------------------------------------------------

    def _content(self) -> dict[str, Any]:
        by_cat: dict[str, list[str]] = {name: [] for name in self.categories}
        for type_name, cat in self.type_to_category.items():
            by_cat[cat].append(type_name)
        pre_cat: dict[str, list[str]] = {name: [] for name in self.categories}
        for prefix, cat in self.type_prefixes.items():
            pre_cat[cat].append(prefix)
        return {
            "name": self.name,
            "version": self.version,
            "sources": list(self.sources),
            "categories": {
                name: {
                    "family": c.family,
                    "eligible": c.eligible,
                    "description": c.description,
                    "types": sorted(by_cat[name]),
                    "prefixes": sorted(pre_cat[name]),
                }
                for name, c in sorted(self.categories.items())
            },
            "agencies": {
                code: {"diverted": a.diverted, "service": a.service}
                for code, a in sorted(self.agencies.items())
            },
            "service_types": {
                name: {
                    "family": s.family,
                    "catchment_m": float(s.catchment_m),
                    "catchment_min": ({} if s.placeless else
                                      {m: s.catchment_for(m) for m in TRAVEL_MODES}),
                    "description": s.description,
                    "handles": sorted(s.handles),
                    "placeless": s.placeless,
                }
                for name, s in sorted(self.service_types.items())
            },
        }

    def checksum(self) -> str:
        """SHA-256 (hex) of a canonical JSON dump of the content.

        Stable across runs and independent of where the file lives, the order
        of its entries and how names are spelled (names are normalised).
        """
        text = json.dumps(self._content(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description for the workspace manifest.

        The content used by :meth:`checksum` plus ``source`` and ``checksum``.
        """
        out = self._content()
        out["source"] = self.source
        out["checksum"] = self.checksum()
        return out


# -- loading ----------------------------------------------------------------


def load_taxonomy(path: str | os.PathLike[str] | None = None) -> Taxonomy:
    """Load and validate a taxonomy TOML file (``None``: the packaged default).

    Every problem found is collected and reported in one
    :class:`~safetygap.errors.ValidationError` naming the file, the key, the
    bad value and what is allowed.
    """
    if path is None:
        resource = resources.files("safetygap") / "data" / "taxonomy.toml"
        label = DEFAULT_SOURCE
        data = resource.read_bytes()
        fallback_name = "safetygap-default"
    else:
        p = Path(path)
        label = str(p)
        fallback_name = p.stem
        if not p.is_file():
            problems = Problems()
            problems.add(f"taxonomy {label}", "file not found" if not p.exists()
                         else "not a file", value=label,
                         allowed="a TOML taxonomy file (see docs/TAXONOMY.md)")
            problems.raise_if_any()
        data = p.read_bytes()
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems = Problems()
        problems.add(f"taxonomy {label}", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        problems.raise_if_any()
        raise  # pragma: no cover - raise_if_any always raises here
    except tomllib.TOMLDecodeError as exc:
        problems = Problems()
        problems.add(f"taxonomy {label}", f"TOML syntax error: {exc}")
        problems.raise_if_any()
        raise  # pragma: no cover
    return _build(doc, label, fallback_name)


def taxonomy_from_content(content: Mapping[str, Any], *, label: str) -> Taxonomy:
    """Rebuild a taxonomy from :meth:`Taxonomy.to_dict` (e.g. a workspace manifest)."""
    doc = {
        "meta": {"name": content["name"], "version": content["version"],
                 "sources": list(content.get("sources", []))},
        "categories": {name: {k: v for k, v in c.items() if k != "prefixes" or v}
                       for name, c in content["categories"].items()},
        "agencies": dict(content["agencies"]),
        "service_types": dict(content["service_types"]),
    }
    return _build(doc, label, str(content["name"]))


def _build(doc: dict[str, Any], label: str, fallback_name: str) -> Taxonomy:
    problems = Problems()
    where = f"taxonomy {label}"

    for key in doc:
        if key not in _TOP_KEYS:
            problems.add(where, f"unknown top-level key {key!r}", value=key, allowed=_TOP_KEYS)

    name, version, sources = _meta(doc.get("meta"), where, fallback_name, problems)
    categories, type_map, prefix_map = _categories(doc, where, problems)
    agencies = _agencies(doc, where, problems)
    service_types = _service_types(doc, where, problems, categories)

    problems.raise_if_any()
    return Taxonomy(
        name=name,
        version=version,
        sources=sources,
        categories=MappingProxyType(categories),
        type_to_category=MappingProxyType(type_map),
        agencies=MappingProxyType(agencies),
        service_types=MappingProxyType(service_types),
        source=label,
        type_prefixes=MappingProxyType(prefix_map),
    )


def _table(doc: dict[str, Any], key: str, where: str, problems: Problems) -> dict[str, Any]:
    """The required top-level table ``key`` (empty dict after reporting a problem)."""
    value = doc.get(key)
    if value is None:
        problems.add(where, f"missing [{key}] table", value=None,
                     allowed=f"a [{key}.<name>] table for each entry")
        return {}
    if not isinstance(value, dict):
        problems.add(where, f"{key} must be a table of tables", value=value)
        return {}
    if not value:
        problems.add(where, f"[{key}] table is empty", allowed=f"at least one [{key}.<name>]")
    return value


def _unknown_keys(entry: dict[str, Any], allowed: tuple[str, ...], key: str, where: str,
                  problems: Problems) -> None:
    for k in entry:
        if k not in allowed:
            problems.add(where, f"{key}: unknown key {k!r}", value=k, allowed=allowed)


def _meta(meta: Any, where: str, fallback_name: str,
          problems: Problems) -> tuple[str, str, tuple[str, ...]]:
    if meta is None:
        return fallback_name, "0", ()
    if not isinstance(meta, dict):
        problems.add(where, "meta must be a table", value=meta)
        return fallback_name, "0", ()
    _unknown_keys(meta, _META_KEYS, "meta", where, problems)
    name = meta.get("name", fallback_name)
    if not isinstance(name, str) or not name.strip():
        problems.add(where, "meta.name must be a non-empty string", value=name)
        name = fallback_name
    version = meta.get("version", "0")
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        problems.add(where, "meta.version must be a string", value=version)
        version = "0"
    sources = meta.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        problems.add(where, "meta.sources must be a list of strings", value=sources)
        sources = []
    return name, str(version), tuple(sources)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _categories(
    doc: dict[str, Any], where: str, problems: Problems
) -> tuple[dict[str, Category], dict[str, str], dict[str, str]]:
    categories: dict[str, Category] = {}
    type_map: dict[str, str] = {}
    prefix_map: dict[str, str] = {}
    for cname, entry in _table(doc, "categories", where, problems).items():
        key = f"categories.{cname}"
        if not isinstance(entry, dict):
            problems.add(where, f"{key} must be a table", value=entry)
            continue
        if cname == UNKNOWN:
            problems.add(where, f"{key}: the category name {UNKNOWN!r} is reserved for "
                         "unmatched calls", value=cname)
        _unknown_keys(entry, _CATEGORY_KEYS, key, where, problems)
        ok = True
        family = entry.get("family")
        if family not in CATEGORY_FAMILIES:
            problems.add(where, f"{key}.family: unknown family", value=family,
                         allowed=CATEGORY_FAMILIES)
            ok = False
        eligible = entry.get("eligible")
        if not _is_bool(eligible):
            problems.add(where, f"{key}.eligible must be true or false", value=eligible,
                         allowed="true, false")
            ok = False
        description = entry.get("description", "")
        if not isinstance(description, str):
            problems.add(where, f"{key}.description must be a string", value=description)
            description = str(description)
        types = entry.get("types")
        if not isinstance(types, list) or not types:
            problems.add(where, f"{key}.types: a category needs at least one call type",
                         value=types, allowed="a non-empty list of call-type names")
            types = types if isinstance(types, list) else []
        for t in types:
            if not isinstance(t, str):
                problems.add(where, f"{key}.types: call types must be strings", value=t)
                continue
            norm = normalize(t)
            if not norm:
                problems.add(where, f"{key}.types: empty call-type name", value=t)
                continue
            other = type_map.get(norm)
            if other is not None and other != cname:
                problems.add(where, f"{key}.types: call type {t!r} (normalised {norm!r}) is "
                             f"also listed in categories.{other}; a type may be in only one "
                             "category", value=t, allowed=f"one of categories.{other}, {key}")
                continue
            type_map[norm] = cname
        prefixes = entry.get("prefixes", [])
        if not isinstance(prefixes, list):
            problems.add(where, f"{key}.prefixes must be a list of strings", value=prefixes)
            prefixes = []
        for pre in prefixes:
            if not isinstance(pre, str) or not normalize_prefix(pre):
                problems.add(where, f"{key}.prefixes: prefixes must be non-empty strings",
                             value=pre)
                continue
            norm = normalize_prefix(pre)
            other = prefix_map.get(norm)
            if other is not None and other != cname:
                problems.add(where, f"{key}.prefixes: prefix {pre!r} is also listed in "
                             f"categories.{other}", value=pre,
                             allowed=f"one of categories.{other}, {key}")
                continue
            prefix_map[norm] = cname
        if ok:
            categories[cname] = Category(cname, family, eligible, description)
    return categories, type_map, prefix_map


def _agencies(doc: dict[str, Any], where: str, problems: Problems) -> dict[str, Agency]:
    agencies: dict[str, Agency] = {}
    for code, entry in _table(doc, "agencies", where, problems).items():
        key = f"agencies.{code}"
        if not isinstance(entry, dict):
            problems.add(where, f"{key} must be a table", value=entry)
            continue
        _unknown_keys(entry, _AGENCY_KEYS, key, where, problems)
        norm = code.strip().upper()
        if not norm:
            problems.add(where, f"{key}: empty agency code", value=code)
            continue
        if norm in agencies:
            problems.add(where, f"{key}: agency code {code!r} repeats {norm!r} "
                         "(codes match after strip + upper-case)", value=code)
            continue
        diverted = entry.get("diverted")
        service = entry.get("service", "")
        ok = True
        if not _is_bool(diverted):
            problems.add(where, f"{key}.diverted must be true or false", value=diverted,
                         allowed="true, false")
            ok = False
        if not isinstance(service, str):
            problems.add(where, f"{key}.service must be a string", value=service)
            ok = False
        if ok:
            agencies[norm] = Agency(norm, diverted, service)
    return agencies


def _service_types(
    doc: dict[str, Any], where: str, problems: Problems, categories: Mapping[str, Category]
) -> dict[str, ServiceType]:
    services: dict[str, ServiceType] = {}
    for sname, entry in _table(doc, "service_types", where, problems).items():
        key = f"service_types.{sname}"
        if not isinstance(entry, dict):
            problems.add(where, f"{key} must be a table", value=entry)
            continue
        _unknown_keys(entry, _SERVICE_KEYS, key, where, problems)
        ok = True
        family = entry.get("family")
        if family not in FAMILIES:
            problems.add(where, f"{key}.family: unknown family", value=family,
                         allowed=FAMILIES)
            ok = False
        placeless = entry.get("placeless", False)
        if not _is_bool(placeless):
            problems.add(where, f"{key}.placeless must be true or false", value=placeless,
                         allowed="true, false")
            ok, placeless = False, False
        catchment = entry.get("catchment_m", 0.0 if placeless else None)
        if (
            isinstance(catchment, bool)
            or not isinstance(catchment, int | float)
            or not math.isfinite(catchment)
            or (catchment <= 0 and not (placeless and catchment == 0))
        ):
            problems.add(where, f"{key}.catchment_m must be a positive number of metres",
                         value=catchment, allowed="a number > 0 (a placeless service "
                                                  "needs none)")
            ok = False
        minutes = _catchment_min(entry.get("catchment_min", {}), key, where, problems)
        description = entry.get("description", "")
        if not isinstance(description, str):
            problems.add(where, f"{key}.description must be a string", value=description)
            ok = False
        handles = _handles(entry, family, key, where, problems, categories)
        if ok and minutes is not None and handles is not None:
            services[sname] = ServiceType(sname, family, float(catchment), description,
                                          MappingProxyType(minutes), handles, placeless)
    return services


def _handles(entry: dict[str, Any], family: Any, key: str, where: str, problems: Problems,
             categories: Mapping[str, Category]) -> tuple[str, ...] | None:
    """``handles = ["behavioral_crisis", ...]``: categories of the service type's family;
    absent: every category of the family."""
    if "handles" not in entry:
        return tuple(sorted(n for n, c in categories.items() if c.family == family))
    value = entry["handles"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(where, f"{key}.handles must be a list of category names", value=value)
        return None
    same = sorted(n for n, c in categories.items() if c.family == family)
    bad = [v for v in value if v not in same]
    for v in bad:
        problems.add(where, f"{key}.handles: not a category of family {family!r}", value=v,
                     allowed=same)
    return None if bad else tuple(sorted(set(value)))


def _positive(value: Any) -> bool:
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value) and value > 0)


def _catchment_min(
    entry: Any, key: str, where: str, problems: Problems
) -> dict[str, float] | None:
    """``catchment_min = { walk = 20, drive = 5 }``: positive minutes per known mode."""
    if not isinstance(entry, dict):
        problems.add(where, f"{key}.catchment_min must be a table of minutes per mode",
                     value=entry, allowed="e.g. { walk = 20.0, drive = 5.0 }")
        return None
    out: dict[str, float] = {}
    ok = True
    for mode, minutes in entry.items():
        if mode not in TRAVEL_MODES:
            problems.add(where, f"{key}.catchment_min: unknown travel mode", value=mode,
                         allowed=TRAVEL_MODES)
            ok = False
        elif not _positive(minutes):
            problems.add(where, f"{key}.catchment_min.{mode} must be a positive number of "
                         "minutes", value=minutes, allowed="a number > 0")
            ok = False
        else:
            out[mode] = float(minutes)
    return out if ok else None
