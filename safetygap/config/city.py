"""Loading a city configuration (TOML) into the inputs and options of an analysis.

A city configuration names a city's files and says how to read them; every section and
key is optional (the command line fills in or overrides what is missing)::

    [city]            name, description
    [calls]           file, encoding, the column mapping (id, call_type, agency, time,
                      date, time_format, latitude/longitude or x/y with crs, ...),
                      default_agency, source, default_source, [calls.source_values]
    [neighborhoods]   file, id, name, crs
    [wards]           file, id, name, crs
    [providers]       file, crs
    [population]      file, name_column, population_column
    [rules]           taxonomy, diversion_rules, diverted_denominator, count_calls_from
    [analysis]        crs, undated_max_share, accept_undated, unknown_type_max_share,
                      ward_cover_min, boundary_tolerance_m, boundary_policy, travel,
                      mode, network
    [reports]         file, columns, channel, counted (311 / online records, diverted)
    [demographics]    file, mapping, groups, crs, fine_population, fine_population_column,
                      fine_population_crs, equity_draws, equity_seed, cv_caution,
                      cv_unreliable
    [methods]         the method settings (:class:`safetygap.methods.Methods`): demand,
                      demand_cell_m, kernel, gap_days, confidence, min_population,
                      nonresident_ratio, bootstrap, ..., hotspot_permutations, fdr_alpha

Paths are relative to the configuration file. A value ``"UNRESOLVED"`` (written by
``safetygap init`` where it could not tell) is refused with the key named, as is any
unknown section or key, or a value of the wrong type. Every field is explained in
``docs/NEW-CITY.md``. The built-in column presets (``--preset minneapolis-911``) are
configuration files of the package holding ``[city]`` and ``[calls]`` only
(:func:`builtin_config_names`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from safetygap.errors import Problems, ValidationError
from safetygap.inputs.columns import ColumnMap, check_column_map, preset_names, preset_path
from safetygap.inputs.sources import is_url
from safetygap.methods import Methods

__all__ = [
    "GENERIC_COLUMNS",
    "OPTION_KEYS",
    "UNRESOLVED",
    "CityConfig",
    "analysis_setup",
    "builtin_config_names",
    "builtin_config_path",
    "load_city_config",
    "resolve_columns",
]

UNRESOLVED = "UNRESOLVED"
"""The value ``safetygap init`` writes for a field it could not tell; refused on load."""

# section -> key -> (type, where the value goes: "file:<role>", "option:<name>",
# "column:<ColumnMap field>", "method:<Methods field>" or "city:<field>")
_STR, _FLOAT, _INT, _BOOL = "text", "number", "whole number", "true or false"
_TABLE, _LIST = "table", "list of text"
_COLUMN_TYPES = {f.name: (_BOOL if f.name == "zero_is_missing" else
                          _TABLE if f.name == "source_values" else _STR)
                 for f in fields(ColumnMap) if f.name != "description"}
_METHOD_TYPES = {name: (_STR if isinstance(v, str) else _INT if isinstance(v, int)
                        else _FLOAT) for name, v in Methods().to_dict().items()}
SCHEMA: dict[str, dict[str, tuple[str, str]]] = {
    "city": {"name": (_STR, "city:name"), "description": (_STR, "city:description")},
    "calls": {"file": (_STR, "file:calls"), "encoding": (_STR, "option:encoding"),
              **{k: (t, f"column:{k}") for k, t in _COLUMN_TYPES.items()}},
    "neighborhoods": {"file": (_STR, "file:neighborhoods"),
                      "id": (_STR, "option:neighborhood_id"),
                      "name": (_STR, "option:neighborhood_name"),
                      "crs": (_STR, "option:neighborhoods_crs")},
    "wards": {"file": (_STR, "file:wards"), "id": (_STR, "option:ward_id"),
              "name": (_STR, "option:ward_name"), "crs": (_STR, "option:wards_crs")},
    "providers": {"file": (_STR, "file:providers"), "crs": (_STR, "option:providers_crs")},
    "population": {"file": (_STR, "file:population"),
                   "name_column": (_STR, "option:population_name_column"),
                   "population_column": (_STR, "option:population_column")},
    "rules": {"taxonomy": (_STR, "file:taxonomy"),
              "diversion_rules": (_STR, "file:diversion_rules"),
              "diverted_denominator": (_STR, "option:diversion_denominator"),
              "count_calls_from": (_STR, "option:count_calls_from")},
    "analysis": {"crs": (_STR, "option:crs"),
                 "undated_max_share": (_FLOAT, "option:undated_max_share"),
                 "accept_undated": (_BOOL, "option:accept_undated"),
                 "unknown_type_max_share": (_FLOAT, "option:unknown_type_max_share"),
                 "ward_cover_min": (_FLOAT, "option:ward_cover_min"),
                 "boundary_tolerance_m": (_FLOAT, "option:boundary_tolerance_m"),
                 "boundary_policy": (_STR, "option:boundary_policy"),
                 "travel": (_STR, "option:travel"), "mode": (_STR, "option:mode"),
                 "network": (_STR, "file:network")},
    "reports": {"file": (_STR, "file:reports"), "columns": (_TABLE, "option:reports_columns"),
                "channel": (_STR, "option:reports_channel"),
                "counted": (_BOOL, "option:reports_counted")},
    "demographics": {"file": (_STR, "file:demographics"),
                     "mapping": (_STR, "file:demographics_mapping"),
                     "groups": (_LIST, "option:demographic_groups"),
                     "fine_population": (_STR, "file:fine_population"),
                     "fine_population_column": (_STR, "option:fine_population_column"),
                     "crs": (_STR, "option:demographics_crs"),
                     "fine_population_crs": (_STR, "option:fine_population_crs"),
                     "equity_draws": (_INT, "option:equity_draws"),
                     "equity_seed": (_INT, "option:equity_seed"),
                     "cv_caution": (_FLOAT, "option:cv_caution"),
                     "cv_unreliable": (_FLOAT, "option:cv_unreliable")},
    "methods": {k: (t, f"method:{k}") for k, t in _METHOD_TYPES.items()},
}
"""Every section and key of a city configuration, its type and where it goes."""

OPTION_KEYS: dict[str, str] = {
    target.split(":", 1)[1]: f"[{section}] {key}"
    for section, keys in SCHEMA.items() for key, (_, target) in keys.items()
    if target.startswith("option:")}
"""Analysis option name -> the configuration key that sets it (for messages)."""


@dataclass(frozen=True)
class CityConfig:
    """A loaded city configuration: files, the calls' column map and analysis options."""

    source: str
    """Where it came from: the file's path, or ``built-in NAME``."""
    name: str = ""
    description: str = ""
    files: Mapping[str, Path] = field(default_factory=dict)
    """Input role (``calls``, ``neighborhoods``, ``wards``, ``providers``, ``population``,
    ``taxonomy``, ``diversion_rules``, ``network``, ``reports``, ``demographics``,
    ``demographics_mapping``, ``fine_population``) -> absolute path."""
    columns: ColumnMap | None = None
    """The ``[calls]`` column map (None: the section sets no column)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """:class:`safetygap.pipeline.AnalysisOptions` field -> value, for the keys given."""
    methods: Methods | None = None
    """The ``[methods]`` settings on top of the defaults (None: the file has no
    ``[methods]``); the command line's method options override them."""

    def column_map(self, base: ColumnMap | None = None) -> ColumnMap | None:
        """The configured column map (on top of ``base`` when the file sets only some
        columns)."""
        return self.columns if self.columns is not None else base


def builtin_config_names() -> list[str]:
    """Names of the city configurations shipped with the package (the column presets)."""
    return preset_names()


def builtin_config_path(name: str) -> Path:
    """The file of the built-in configuration ``name``."""
    return preset_path(name)


def load_city_config(path_or_name: str | os.PathLike[str]) -> CityConfig:
    """Load a city configuration file, or a built-in one by name (see
    :func:`builtin_config_names`); raise one ValidationError with every problem."""
    text_name = str(path_or_name)
    p = Path(path_or_name)
    builtin = (not p.suffix and not p.exists() and os.sep not in text_name
               and text_name in builtin_config_names())
    where = f"config {p}"
    if builtin:
        p, where = builtin_config_path(text_name), f"built-in config {text_name!r}"
    problems = Problems()
    if not p.is_file():
        problems.add(where, "file not found",
                     allowed=f"a TOML file (safetygap init writes one), or a built-in "
                             f"configuration: {', '.join(builtin_config_names())}")
        problems.raise_if_any()
    try:
        doc = tomllib.loads(p.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{where}: not valid TOML: {exc}") from exc
    return config_from_content(doc, where=where, base=None if builtin else p.parent,
                               source=f"built-in {text_name}" if builtin else str(p))


def config_from_content(doc: Mapping[str, Any], *, where: str, base: Path | None,
                        source: str) -> CityConfig:
    """A :class:`CityConfig` from parsed TOML (``base``: the folder relative paths are
    relative to; None for a built-in configuration, which may name no file)."""
    problems = Problems()
    city: dict[str, str] = {}
    files: dict[str, Path] = {}
    columns: dict[str, Any] = {}
    options: dict[str, Any] = {}
    methods: dict[str, Any] = {}
    for section, table in doc.items():
        if section not in SCHEMA:
            problems.add(where, "unknown section", value=f"[{section}]",
                         allowed=[f"[{s}]" for s in SCHEMA])
            continue
        if not isinstance(table, dict):
            problems.add(where, f"[{section}] must be a table", value=table)
            continue
        for key, value in table.items():
            spec = SCHEMA[section].get(key)
            if spec is None:
                problems.add(where, f"[{section}] unknown key", value=key,
                             allowed=list(SCHEMA[section]))
                continue
            kind, target = spec
            if not _check_value(value, kind, f"[{section}] {key}", where, problems):
                continue
            dest, name = target.split(":", 1)
            if dest == "file":
                if base is None:
                    problems.add(where, f"[{section}] {key}: a built-in configuration "
                                 "names no file", value=value)
                else:
                    files[name] = value if name == "calls" and is_url(value) else (
                        base / str(value)).resolve()  # a URL: copied by the command
            elif dest == "column":
                columns[name] = dict(value) if kind == _TABLE else value
            elif dest == "method":
                methods[name] = float(value) if kind == _FLOAT else value
            elif dest == "option":
                options[name] = (float(value) if kind == _FLOAT else dict(value)
                                 if kind == _TABLE else tuple(value) if kind == _LIST
                                 else value)
            else:
                city[name] = str(value)
    cmap = None
    if columns:
        cmap = ColumnMap(**columns, description=city.get("description", ""))
        check_column_map(cmap, f"{where} [calls]", problems)
    chosen = Methods(**methods) if "methods" in doc else None
    if chosen is not None:  # each bad value named by its key
        chosen.problems(problems, where=where, key="[methods] {}")
    problems.raise_if_any()
    return CityConfig(source=source, name=city.get("name", ""),
                      description=city.get("description", ""), files=files, columns=cmap,
                      options=options, methods=chosen)


def _check_value(value: Any, kind: str, key: str, where: str, problems: Problems) -> bool:
    if _unresolved(value):
        problems.add(where, f"{key} is UNRESOLVED: `safetygap init` could not tell it; set "
                     "it (its comment in the file says what was found)")
        return False
    ok = {_STR: isinstance(value, str),
          _FLOAT: isinstance(value, (int, float)) and not isinstance(value, bool),
          _INT: isinstance(value, int) and not isinstance(value, bool),
          _BOOL: isinstance(value, bool),
          _LIST: isinstance(value, list) and all(isinstance(v, str) for v in value),
          _TABLE: isinstance(value, dict) and all(isinstance(v, str)
                                                  for v in value.values())}[kind]
    if not ok:
        what = "a table of text values" if kind == _TABLE else kind
        problems.add(where, f"{key} must be {what}", value=value)
    return ok


def _unresolved(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip() == UNRESOLVED
    if isinstance(value, dict):
        return any(_unresolved(v) for v in value.values())
    return False


REQUIRED_FILES = {"calls": "--calls", "neighborhoods": "--neighborhoods", "wards": "--wards",
                  "providers": "--providers"}
"""The input files an analysis needs, and the option of each."""
FILE_KEYS = {target.split(":", 1)[1]: f"[{section}] {key}"
             for section, keys in SCHEMA.items() for key, (_, target) in keys.items()
             if target.startswith("file:")}
"""Input role -> the configuration key naming its file."""
GENERIC_COLUMNS = ColumnMap(id="id", call_type="call_type", agency="agency", time="time",
                            latitude="latitude", longitude="longitude")
"""The column map without a configuration or preset: columns named like the fields."""


def analysis_setup(
    config: CityConfig | None,
    *,
    files: Mapping[str, Path | None],
    columns: Mapping[str, Any],
    options: Mapping[str, Any],
    preset: str | None = None,
    geometry: bool = False,
    hints: Mapping[str, str] | None = None,
) -> tuple[Any, Any]:
    """The (:class:`~safetygap.pipeline.AnalysisInputs`,
    :class:`~safetygap.pipeline.AnalysisOptions`) of a run: what ``config`` says, with
    every value given (not None) in ``files``, ``columns`` (:class:`ColumnMap` fields) and
    ``options`` (:class:`~safetygap.pipeline.AnalysisOptions` fields) on top.

    The column map starts from ``preset`` when given, else the configuration's ``[calls]``,
    else :data:`GENERIC_COLUMNS`; ``x``/``y`` given drop the latitude/longitude columns,
    ``default_agency`` given without ``agency`` drops the agency column, ``geometry``
    drops every coordinate column (the file's point geometry is used). A required file
    missing everywhere is an error naming its option and configuration key (``hints``:
    more to say per role, e.g. the provider file's format).
    """
    from safetygap.stages.options import AnalysisInputs, AnalysisOptions

    problems = Problems()
    given = {k: v for k, v in files.items() if v is not None}
    merged: dict[str, Any] = dict(config.files if config else {}) | given
    for role, flag in REQUIRED_FILES.items():
        if merged.get(role) is None:
            where = f" in {config.source}" if config else ""
            problems.add(flag, f"is required (or {FILE_KEYS[role]}{where} with --config)"
                         + (f"; {hints[role]}" if hints and role in hints else ""))
    problems.raise_if_any()
    cmap = resolve_columns(config, columns, preset=preset, geometry=geometry)
    opts: dict[str, Any] = dict(config.options if config else {})
    if config and config.methods is not None:
        opts["methods"] = config.methods
    opts |= {k: v for k, v in options.items() if v is not None}
    if config and config.name and "label" not in opts:
        opts["label"] = config.name
    inputs = AnalysisInputs(**{k: v if k == "calls" and is_url(v) else Path(v)
                               for k, v in merged.items()})
    return inputs, AnalysisOptions(columns=cmap, preset=preset, **opts)


def resolve_columns(config: CityConfig | None, columns: Mapping[str, Any], *,
                    preset: str | None = None, geometry: bool = False) -> ColumnMap:
    """The calls' column map of a run (see :func:`analysis_setup`), checked."""
    from safetygap.inputs import load_preset

    base = (load_preset(preset) if preset else
            (config.columns if config and config.columns else GENERIC_COLUMNS))
    col_given = {k: v for k, v in columns.items() if v is not None}
    cmap = base.with_overrides(**col_given)
    if col_given.get("x") and col_given.get("y"):
        cmap = cmap.with_overrides(latitude="", longitude="")
    if col_given.get("default_agency") and not col_given.get("agency"):
        cmap = cmap.with_overrides(agency="")
    if geometry:
        cmap = cmap.with_overrides(latitude="", longitude="", x="", y="")
    cmap = _blank_to_none(cmap)
    problems = Problems()
    check_column_map(cmap, "calls columns", problems)
    problems.raise_if_any()
    return cmap


def _blank_to_none(cmap: ColumnMap) -> ColumnMap:
    from dataclasses import replace

    return replace(cmap, **{f.name: None for f in fields(ColumnMap)
                            if getattr(cmap, f.name) == "" and f.name not in
                            ("description", "default_agency", "default_source")})
