"""A starter city configuration written from a city's own files (``safetygap init``).

:func:`starter_config` reads the header and a sample of rows of the calls file and the
columns, values and CRS of the boundary layers (and, when given, of the population
table), and guesses each field of a city configuration (:mod:`safetygap.config.city`):
which column is the call id, the call type, the time (and its form, detected), the
coordinates and their CRS, the agency, who started the call (the call source, with a
mapping of its values), the disposition and priority; the id and name columns and the
CRS of each boundary layer; the population columns. Every guess is written with a
comment saying what it rests on (``# GUESS: ...``); every field it cannot tell is
written as ``"UNRESOLVED"`` with a comment saying what was found, which
:func:`~safetygap.config.city.load_city_config` refuses until it is set.

Long file (about 600 lines): one guess per field of a city configuration, each with the
evidence it writes beside it; the guesses share the sampled frames and the writer of the
commented TOML, so splitting them would pass those around between modules.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pyproj import CRS

from safetygap.boundaries import read_layer
from safetygap.config.city import UNRESOLVED
from safetygap.errors import ValidationError
from safetygap.inputs import calls_sample
from safetygap.inputs.times import FORM_WORDS, detect_time_form
from safetygap.methods import DESCRIPTIONS, Methods
from safetygap.vocab import CallSource, allowed

__all__ = ["Field", "guess_source_value", "starter_config", "write_starter_config"]

SAMPLE_ROWS = 5000
"""Rows of the calls file :func:`starter_config` looks at."""


@dataclass
class Field:
    """One ``key = value`` line of the starter file and its comment."""

    key: str
    value: Any
    comment: str = ""
    guess: bool = False
    """True when the value is a guess (the comment then starts with GUESS)."""
    active: bool = True
    """False: written commented out (an optional field left unset)."""

    @property
    def unresolved(self) -> bool:
        return self.value == UNRESOLVED


@dataclass
class Section:
    name: str
    intro: list[str] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    tables: dict[str, list[Field]] = field(default_factory=dict)

    def add(self, key: str, value: Any, comment: str = "", *, guess: bool = False,
            active: bool = True) -> None:
        self.fields.append(Field(key, value, comment, guess, active))


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")


def _named(columns: Iterable[str], pattern: str) -> list[str]:
    rx = re.compile(pattern)
    return [c for c in columns if rx.search(_norm(c))]


_ID = r"(^|_)(id|no|num|nbr|number|key)$|incident|event_?n|case_?n|call_?n|master|cad"
_TYPE = (r"type|problem|nature|descr|category|offen[cs]e|complaint|call_?code|"
         r"final|initial|incident_?code")
_TIME = (r"date|time|reported|received|created|dispatch|occur|response|entered|"
         r"opened|^dt|_dt$|timestamp")
_AGENCY = r"agency|dept|department|discipline|service_?type|unit_?type|responding"
_SOURCE = (r"self_?init|officer_?init|initiat|call_?source|^source$|origin|received_?via|"
           r"how_?received|call_?method|contact_?type|reporting_?method")
_DISPOSITION = r"dispo|disposition|clearance|outcome|close"
_PRIORITY = r"priority|prio"
_LAT = r"^(lat|latitude|y_?lat|.*_lat|lat_.*|.*latitude)$"
_LON = r"^(lon|lng|long|longitude|x_?lon|.*_lon|.*_lng|lon_.*|.*longitude)$"
_X = r"^(x|xcoord|x_?coord|point_?x|easting|x_?coordinate|.*_x|x_.*)$"
_Y = r"^(y|ycoord|y_?coord|point_?y|northing|y_?coordinate|.*_y|y_.*)$"
_AREA_ID = r"(^|_)(id|no|num|nbr|number|code|key|district|ward|area)$"
_AREA_NAME = r"name|label|title"
_POP_NAME = r"neighbo|name|area|district|label"
_POP = r"pop|total|residents|people|persons"

_SOURCE_WORDS: tuple[tuple[str, CallSource], ...] = (
    (r"officer|self|on_?view|field|proactive|initiated|patrol", CallSource.OFFICER_INITIATED),
    (r"alarm", CallSource.ALARM_COMPANY),
    (r"online|web|internet|311|app|email|desk|walk_?in", CallSource.ONLINE),
    (r"non_?emerg|10_?digit|admin|phone|telephone|business", CallSource.NON_EMERGENCY),
    (r"911|e911|emergency|9_1_1|citizen|public|resident|caller", CallSource.PUBLIC_911),
)
_YES = {"y", "yes", "true", "t", "1"}
_NO = {"n", "no", "false", "f", "0"}


def guess_source_value(value: str, *, flag: bool) -> CallSource | None:
    """The call source a value of the source column names, from its words (None: cannot
    tell). With ``flag`` (an officer-initiated yes/no column) yes is officer-initiated and
    no a call from the public."""
    v = _norm(str(value))
    if flag:
        if v in _YES:
            return CallSource.OFFICER_INITIATED
        if v in _NO:
            return CallSource.PUBLIC_911
    for pattern, source in _SOURCE_WORDS:
        if re.search(pattern, v):
            return source
    return None


def _texts(frame: pd.DataFrame, col: str) -> pd.Series:
    s = frame[col].dropna().astype(str).str.strip()
    return s[s != ""]


def _numbers(frame: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(_texts(frame, col), errors="coerce").dropna()


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    s = str(value)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml(key)


def _relative(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), base.resolve())
    except ValueError:  # another drive
        return str(path.resolve())


@dataclass
class _Layer:
    role: str
    path: Path
    columns: list[str]
    frame: pd.DataFrame
    crs: CRS | None
    bounds: tuple[float, float, float, float]


def _read_layer(path: Path, role: str) -> _Layer:
    gdf = read_layer(path, role)
    cols = [str(c) for c in gdf.columns if c != "geometry"]
    crs = CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    return _Layer(role, path, cols, pd.DataFrame(gdf.drop(columns="geometry")), crs,
                  (x0, y0, x1, y1))


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Share of box ``a``'s area inside box ``b``."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = (a[2] - a[0]) * (a[3] - a[1])
    return 0.0 if w <= 0 or h <= 0 or area <= 0 else w * h / area


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_string()


def _guess_crs(bounds: tuple[float, float, float, float], others: Sequence[_Layer]
               ) -> tuple[str | None, str]:
    """A CRS for coordinates with ``bounds`` and no CRS of their own: the CRS of another
    layer whose extent they fall in (with the reason), else None and what was seen."""
    x0, y0, x1, y1 = bounds
    for other in others:
        if other.crs is not None and _overlap(bounds, other.bounds) > 0.5:
            return (_crs_name(other.crs),
                    f"the coordinates ({x0:,.0f}..{x1:,.0f}, {y0:,.0f}..{y1:,.0f}) fall in "
                    f"the extent of {other.role} {other.path.name}, which declares "
                    f"{_crs_name(other.crs)} ({other.crs.name})")
    if -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90:
        return "EPSG:4326", "the coordinates are degrees of longitude and latitude"
    return None, (f"coordinates {x0:,.0f}..{x1:,.0f}, {y0:,.0f}..{y1:,.0f} are not degrees "
                  "and fall in no other layer with a CRS: find the CRS in the portal's "
                  "metadata (often a state-plane system in US feet, e.g. EPSG:2276)")


def starter_config(
    calls: str | os.PathLike[str],
    neighborhoods: str | os.PathLike[str],
    *,
    wards: str | os.PathLike[str] | None = None,
    providers: str | os.PathLike[str] | None = None,
    population: str | os.PathLike[str] | None = None,
    demographics: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] = ".",
    name: str = "",
    encoding: str = "utf-8",
    today: dt.date | None = None,
    calls_file: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The text of a starter city configuration for these files, and what it resolved:
    ``{"guesses": [...], "unresolved": [...]}`` (``"[section] key"`` names). Paths in
    the file are relative to ``out_dir`` (where it will be written). ``calls_file``: what
    ``[calls] file`` names instead of ``calls`` (the URL a local copy came from)."""
    base = Path(out_dir)
    layers = [_read_layer(Path(neighborhoods), "neighborhoods")]
    if wards is not None:
        layers.append(_read_layer(Path(wards), "wards"))
    sample = calls_sample(calls, rows=SAMPLE_ROWS, encoding=encoding)
    sections = [
        _city_section(name or Path(neighborhoods).stem),
        _calls_section(sample, Path(calls), base, encoding, layers, file=calls_file),
    ]
    for layer in layers:
        sections.append(_boundary_section(layer, base, layers))
    if wards is None:
        s = Section("wards", ["# A second layer of areas (council wards, planning areas)."])
        s.add("file", UNRESOLVED, "no --wards given: a ward layer is required (use the "
              "neighborhoods file again to analyse neighborhoods only)")
        sections.append(s)
    sections.append(_providers_section(providers, base))
    sections.append(_population_section(population, base, encoding))
    sections.append(_demographics_section(demographics, base, encoding, layers))
    sections += [_rules_section(), _analysis_section(), _methods_section()]
    day = (today or dt.date.today()).isoformat()
    lines = [
        f"# City configuration written by `safetygap init` on {day}.",
        "# Every guessed value has a comment starting with GUESS: check it. Every value",
        f'# "{UNRESOLVED}" must be set before `safetygap analyze --config THIS_FILE` runs.',
        "# Lines starting with # are comments; uncomment an optional key to set it.",
        "# Field by field: docs/NEW-CITY.md. Paths are relative to this file.",
        "",
    ]
    report: dict[str, Any] = {"guesses": [], "unresolved": []}
    for s in sections:
        lines += s.intro
        lines.append(f"[{s.name}]")
        for f in s.fields:
            lines.append(_line(f))
            _note(report, f"[{s.name}] {f.key}", f)
        for table, entries in s.tables.items():
            lines.append(f"\n[{s.name}.{table}]")
            for f in entries:
                lines.append(_line(f))
                _note(report, f"[{s.name}.{table}] {f.key}", f)
        lines.append("")
    return "\n".join(lines), report


def _note(report: dict[str, Any], name: str, f: Field) -> None:
    if not f.active:
        return
    if f.unresolved:
        report["unresolved"].append(name)
    elif f.guess:
        report["guesses"].append(name)


def _line(f: Field) -> str:
    text = f"{_key(f.key)} = {_toml(f.value)}"
    if not f.active:
        text = "# " + text
    comment = f.comment
    if f.unresolved:
        comment = f"UNRESOLVED: {comment}"
    elif f.guess:
        comment = f"GUESS: {comment}"
    return f"{text}  # {comment}" if comment else text


def write_starter_config(path: str | os.PathLike[str], calls: str | os.PathLike[str],
                         neighborhoods: str | os.PathLike[str], **kwargs: Any
                         ) -> tuple[Path, dict[str, Any]]:
    """Write :func:`starter_config` to ``path`` (refusing to overwrite a file); returns the
    path and what was resolved."""
    p = Path(path)
    if p.exists():
        raise ValidationError(f"--out {p}: the file exists; give another name or remove it "
                              "(init never overwrites a configuration)")
    text, report = starter_config(calls, neighborhoods, out_dir=p.parent, **kwargs)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p, report


# -- sections -------------------------------------------------------------------------


def _city_section(name: str) -> Section:
    s = Section("city")
    s.add("name", name, "shown on the pages and in the closing summary")
    s.add("description", "", "free text: where the files come from, their dates")
    return s


def _calls_section(sample: Any, path: Path, base: Path, encoding: str,
                   layers: Sequence[_Layer], *, file: str | None = None) -> Section:
    frame: pd.DataFrame = sample.frame
    cols = list(frame.columns)
    n = len(frame)
    s = Section("calls", ["# The calls-for-service file and which column is which "
                          f"(columns: {', '.join(cols)})."])
    s.add("file", file if file is not None else _relative(path, base),
          "a URL: `safetygap analyze` copies its files here first" if file else "")
    if encoding != "utf-8":
        s.add("encoding", encoding)
    used: set[str] = set()

    def pick(key: str, found: str | None, why: str, *, required: bool, missing: str) -> None:
        if found is not None:
            used.add(found)
            s.add(key, found, why, guess=True)
        elif required:
            s.add(key, UNRESOLVED, missing)
        else:
            s.add(key, "", missing, active=False)

    # id: a column named like an id whose sampled values are (nearly) all different
    ids = [c for c in _named(cols, _ID)
           if n and _texts(frame, c).nunique() >= 0.95 * max(len(_texts(frame, c)), 1)]
    pick("id", ids[0] if ids else None,
         f"named like an id, {_texts(frame, ids[0]).nunique():,} different values in "
         f"{n:,} sampled rows" if ids else "",
         required=False, missing="no column looks like a call id (unique values); without "
                                 "one, repeated records cannot be found")
    # call type: named like a type, text with repeated values
    types = [c for c in _named(cols, _TYPE) if c not in used
             and _numbers(frame, c).size < 0.5 * max(len(_texts(frame, c)), 1)
             and 1 < _texts(frame, c).nunique() < max(0.5 * n, 2)]
    types.sort(key=lambda c: (not re.search(r"desc|type|problem|nature", _norm(c)),
                              -_texts(frame, c).str.contains(" ").mean()))
    pick("call_type", types[0] if types else None,
         f"text with {_texts(frame, types[0]).nunique():,} different values"
         + (f"; other candidates: {', '.join(types[1:4])}" if len(types) > 1 else "")
         if types else "",
         required=True, missing="no column looks like a call type (text with repeated "
                                f"values); columns: {', '.join(cols)}")
    _time_fields(s, frame, cols, used)
    _coordinate_fields(s, frame, cols, used, sample, layers)
    agencies = [c for c in _named(cols, _AGENCY) if c not in used]
    if agencies:
        top = _texts(frame, agencies[0]).value_counts().head(5)
        s.add("agency", agencies[0], "values " + ", ".join(f"{k} ({v:,})"
                                                           for k, v in top.items()),
              guess=True)
        used.add(agencies[0])
    else:
        s.add("default_agency", "POLICE", "no agency column: every call is counted as the "
              "police department's; set the department that published the file",
              guess=True)
    _source_fields(s, frame, cols, used)
    for key, pattern in (("disposition", _DISPOSITION), ("priority", _PRIORITY)):
        found = [c for c in _named(cols, pattern) if c not in used]
        pick(key, found[0] if found else None, "optional; the diversion rules may use it",
             required=False, missing="optional; no column found")
    return s


def _time_fields(s: Section, frame: pd.DataFrame, cols: list[str], used: set[str]) -> None:
    """``time`` (and ``date``) with the detected ``time_format``."""
    named = [c for c in _named(cols, _TIME) if c not in used]
    others = [c for c in cols if c not in used and c not in named]
    full: list[tuple[str, Any]] = []
    dates: list[tuple[str, Any]] = []
    clocks: list[str] = []
    errors: list[str] = []
    for c in named + others:
        values = _texts(frame, c)
        if values.empty:
            continue
        if values.str.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?(\s*[AaPp]\.?[Mm]\.?)?").mean() > 0.9:
            clocks.append(c)
            continue
        try:
            form = detect_time_form(values, column=c, option="time_format")
        except ValidationError as exc:
            if c in named:
                errors.append(str(exc.problems[0]))
            continue
        if form.fitting < 0.9 * form.sampled or (c not in named and
                                                   form.form.startswith("epoch")):
            continue
        has_clock = values.str.contains(":").mean() > 0.5 or form.form.startswith("epoch")
        (full if has_clock else dates).append((c, form))
    if full:
        c, form = full[0]
        used.add(c)
        s.add("time", c, f"the call time; other candidates: {', '.join(x for x, _ in full[1:])}"
              if len(full) > 1 else "the call time", guess=True)
        s.add("time_format", form.form, f"detected on {form.sampled:,} values: "
              f"{FORM_WORDS[form.form]}", guess=True)
        return
    if dates and clocks:
        (c, _), t = dates[0], clocks[0]
        used.update((c, t))
        joined = (frame[c].astype(str).str.strip() + " " + frame[t].astype(str).str.strip())
        s.add("date", c, "the date of the call (the time of day is in another column)",
              guess=True)
        s.add("time", t, "the time of day", guess=True)
        try:
            form = detect_time_form(joined, column=f"{c}+{t}", option="time_format")
            s.add("time_format", form.form, f"detected on {form.sampled:,} values of "
                  f"date + time: {FORM_WORDS[form.form]}", guess=True)
        except ValidationError as exc:
            s.add("time_format", UNRESOLVED, str(exc.problems[0]))
        return
    s.add("time", UNRESOLVED, "no column holds dates in a form safetygap reads"
          + (": " + "; ".join(errors) if errors else ""))
    s.add("time_format", "auto", "auto: detected when the analysis reads the file")


def _coordinate_fields(s: Section, frame: pd.DataFrame, cols: list[str], used: set[str],
                       sample: Any, layers: Sequence[_Layer]) -> None:
    def numeric(cands: list[str], lo: float, hi: float) -> list[str]:
        out = []
        for c in cands:
            v = _numbers(frame, c)
            v = v[v != 0]
            if len(v) and v.between(lo, hi).mean() > 0.9:
                out.append(c)
        return out

    lat = numeric([c for c in _named(cols, _LAT) if c not in used], -90, 90)
    lon = numeric([c for c in _named(cols, _LON) if c not in used], -180, 180)
    if lat and lon:
        used.update((lat[0], lon[0]))
        s.add("latitude", lat[0], "degrees", guess=True)
        s.add("longitude", lon[0], "degrees", guess=True)
        s.add("crs", "EPSG:4326", "longitude/latitude")
        s.add("zero_is_missing", True, "a location of 0, 0 means none")
        return
    xs = numeric([c for c in _named(cols, _X) if c not in used], -1e9, 1e9)
    ys = numeric([c for c in _named(cols, _Y) if c not in used], -1e9, 1e9)
    if xs and ys:
        x, y = xs[0], ys[0]
        used.update((x, y))
        vx, vy = _numbers(frame, x), _numbers(frame, y)
        keep = (vx != 0) & (vy != 0)
        bounds = (float(vx[keep].min()), float(vy[keep].min()),
                  float(vx[keep].max()), float(vy[keep].max())) if keep.any() else (0,) * 4
        s.add("x", x, "easting", guess=True)
        s.add("y", y, "northing", guess=True)
        crs, why = _guess_crs(bounds, layers)
        if crs is None:
            s.add("crs", UNRESOLVED, why)
        else:
            s.add("crs", crs, why, guess=True)
        s.add("zero_is_missing", True, "a location of 0, 0 means none")
        return
    if sample.geometry:
        s.add("crs", sample.crs or UNRESOLVED,
              "the file's point geometry is used" + ("" if sample.crs else
                                                      ": the file declares no CRS"))
        return
    s.add("latitude", UNRESOLVED, "no latitude/longitude or x/y columns found (give "
          f"latitude and longitude, or x, y and crs); columns: {', '.join(cols)}")
    s.add("longitude", UNRESOLVED, "see latitude")


def _source_fields(s: Section, frame: pd.DataFrame, cols: list[str], used: set[str]) -> None:
    found = [c for c in _named(cols, _SOURCE) if c not in used]
    if not found:
        s.add("source", "", "no column says who started each call: every call counts as "
              "demand (call source not recorded); name one if the file has it",
              active=False)
        return
    c = found[0]
    used.add(c)
    counts = _texts(frame, c).value_counts()
    flag = bool(re.search(r"init|self|officer", _norm(c)))
    s.add("source", c, "who started each call"
          + (" (an officer-initiated yes/no flag)" if flag else ""), guess=True)
    entries = []
    for value, k in counts.head(30).items():
        got = guess_source_value(str(value), flag=flag)
        if got is None:
            entries.append(Field(str(value), UNRESOLVED, f"{k:,} sampled rows; one of "
                                 f"{', '.join(allowed(CallSource))}"))
        else:
            entries.append(Field(str(value), str(got), f"{k:,} sampled rows", guess=True))
    s.tables["source_values"] = entries


def _boundary_section(layer: _Layer, base: Path, layers: Sequence[_Layer]) -> Section:
    from safetygap.boundaries.load import ID_CANDIDATES, NAME_CANDIDATES

    frame = layer.frame
    n = len(frame)
    unique = [c for c in layer.columns if frame[c].notna().all()
              and frame[c].astype(str).nunique() == n]
    intro = [f"# {layer.role.capitalize()} ({n:,} areas; columns: "
             f"{', '.join(layer.columns)})."]
    s = Section(layer.role, intro)
    s.add("file", _relative(layer.path, base))
    ids = ([c for c in ID_CANDIDATES if c in unique and c not in ("OBJECTID", "FID")]
           + [c for c in _named(unique, _AREA_ID) if c not in ("OBJECTID", "FID")])
    if ids:
        s.add("id", ids[0], "unique in every area", guess=True)
    else:
        s.add("id", UNRESOLVED, "no column with a different value in every area; name one "
              f"(unique columns: {', '.join(unique) or 'none'})")
    texts = [c for c in unique if c not in ids[:1]
             and pd.to_numeric(frame[c], errors="coerce").isna().all()]
    names = ([c for c in NAME_CANDIDATES if c in layer.columns]
             + _named(texts, _AREA_NAME) + texts)
    if names:
        s.add("name", names[0], "shown on the maps", guess=True)
    else:
        s.add("name", "", "optional; no name column found: the ids are shown", active=False)
    if layer.crs is not None:
        s.add("crs", _crs_name(layer.crs), "the file's own (declared here for the record)")
    else:
        crs, why = _guess_crs(layer.bounds, [o for o in layers if o is not layer])
        if crs is None:
            s.add("crs", UNRESOLVED, "the file declares no CRS; " + why)
        else:
            s.add("crs", crs, "the file declares no CRS; " + why, guess=True)
    return s


def _providers_section(providers: str | os.PathLike[str] | None, base: Path) -> Section:
    s = Section("providers", ["# The services (format: docs/PROVIDERS.md; template: "
                              "safetygap/data/providers_template.csv)."])
    if providers is None:
        s.add("file", UNRESOLVED, "no --providers given: a provider file is required "
              "(docs/PROVIDERS.md)")
    else:
        s.add("file", _relative(Path(providers), base))
    s.add("crs", "", "only for x/y columns", active=False)
    return s


def _population_section(population: str | os.PathLike[str] | None, base: Path,
                        encoding: str) -> Section:
    s = Section("population", ["# Residents by neighborhood (matched by name)."])
    if population is None:
        s.add("file", "", "optional: without it there are no rates or gap index",
              active=False)
        return s
    s.add("file", _relative(Path(population), base))
    frame = pd.read_csv(population, nrows=SAMPLE_ROWS, encoding=encoding, dtype=str)
    cols = list(frame.columns)
    names = [c for c in _named(cols, _POP_NAME)
             if pd.to_numeric(frame[c], errors="coerce").isna().mean() > 0.9]
    pops = [c for c in _named(cols, _POP) if c not in names
            and pd.to_numeric(frame[c], errors="coerce").notna().mean() > 0.9]
    if names:
        s.add("name_column", names[0], "neighborhood names", guess=True)
    else:
        s.add("name_column", UNRESOLVED, f"no column of names; columns: {', '.join(cols)}")
    if pops:
        s.add("population_column", pops[0], "head counts", guess=True)
    else:
        s.add("population_column", UNRESOLVED,
              f"no numeric population column; columns: {', '.join(cols)}")
    return s


def _demographics_section(demographics: str | os.PathLike[str] | None, base: Path,
                          encoding: str, layers: Sequence[_Layer]) -> Section:
    """The equity overlay's table: its file, the CRS of tract polygons (the file's own,
    or guessed from the other layers' extent), and whether a packaged layout reads it
    (else the layout is UNRESOLVED: the city writes one, docs/METHODS.md, Equity)."""
    import shapely

    from safetygap.inputs.demographics import detect_layout
    from safetygap.inputs.files import read_table

    s = Section("demographics", ["# The equity overlay: groups with ACS margins of error by "
                                 "area or census tract (docs/METHODS.md, Equity)."])
    if demographics is None:
        s.add("file", "", "optional: a demographic table by area, or tract polygons",
              active=False)
        return s
    path = Path(demographics)
    s.add("file", _relative(path, base))
    table = read_table(path, where="demographics", encoding=encoding)
    crs = None
    if table.geometry is not None and len(table.geometry):
        if table.crs is not None:
            crs = _crs_name(CRS.from_user_input(table.crs))
            s.add("crs", crs, "the file's own (declared here for the record)")
        else:
            x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(table.geometry))
            crs, why = _guess_crs((x0, y0, x1, y1), layers)
            if crs == "EPSG:4326":
                why += " (census TIGER/Line files are NAD83, EPSG:4269: about a metre apart)"
            s.add("crs", crs or UNRESOLVED, "the file declares no CRS; " + why,
                  guess=crs is not None)
    try:
        spec, _ = detect_layout([str(c) for c in table.frame.columns], f"demographics {path}")
    except ValidationError as exc:
        s.add("mapping", UNRESOLVED, "a layout file (TOML: key, universes, groups and MOE "
              f"columns; docs/METHODS.md, Equity): {exc.problems[0].message}")
    else:
        s.add("mapping", "", f"the columns match the packaged layout {spec.name!r} "
              f"(groups: {', '.join(g.key for g in spec.groups)}); a layout file "
              "replaces it", active=False)
    return s


def _rules_section() -> Section:
    s = Section("rules", ["# How calls are classified and counted (docs/TAXONOMY.md)."])
    s.add("taxonomy", "", "default: the packaged taxonomy; `safetygap profile CALLS` shows "
          "which of the city's types it knows", active=False)
    s.add("diversion_rules", "", "default: the Minneapolis rules; `safetygap profile CALLS "
          "--write-rules rules.toml` writes a starter file of the city's own types",
          active=False)
    s.add("count_calls_from", "public", "public: demand and the diverted share count "
          "calls from the public (911, non-emergency line, online); all: every call")
    s.add("diverted_denominator", "police_and_alternatives", "fire/EMS calls left out of "
          "the diverted share; all_calls keeps them", active=False)
    return s


def _analysis_section() -> Section:
    s = Section("analysis", ["# Limits and methods (defaults shown)."])
    s.add("undated_max_share", 0.05, "stop when more calls than this cannot be dated",
          active=False)
    s.add("accept_undated", False, "true: run anyway; every output says rates are undated",
          active=False)
    s.add("unknown_type_max_share", 0.10, "above this share of calls of types the taxonomy "
          "does not know, the headline lists are marked uncalibrated", active=False)
    s.add("ward_cover_min", 0.95, "warn when the wards cover less of the neighborhoods",
          active=False)
    s.add("boundary_tolerance_m", 5.0, "metres", active=False)
    s.add("boundary_policy", "contain", "or split", active=False)
    s.add("crs", "", "projected analysis CRS (default: the neighborhoods' own, or UTM)",
          active=False)
    return s




def _methods_section() -> Section:
    s = Section("methods", ["# Method choices (docs/METHODS.md), every one at its default:",
                            "# uncomment a line to change it. `safetygap analyze` options",
                            "# (--kernel, --demand, --bootstrap, --method NAME=VALUE) win."])
    for name, value in Methods().to_dict().items():
        s.add(name, value, DESCRIPTIONS[name], active=False)
    return s
