"""OpenStreetMap features -> providers, by an editable tag -> service-type mapping.

The mapping is a TOML file of ``[[rule]]`` tables (the packaged default is
``safetygap/data/osm_tags.toml``; ``providers osm --tags FILE`` gives another): each rule
has a ``service_type`` of the taxonomy, ``tags`` (key -> a value, a list of values, or
``"*"`` for any value) and optionally ``capacity`` (default 1), ``capacity_unit`` (default
``site``) and a ``note``. The first rule all of whose tags a feature carries gives its
service type. :func:`map_features` keeps, for each provider, its OSM id
(``node/123``, ``way/45``), all its tags (JSON), its ``opening_hours``, phone, website and
address, and its ``check_date`` as ``last_verified``.

The features come from the Overpass API (:mod:`safetygap.fetch.osm_features`) or from a
file saved earlier (:func:`read_features`: an Overpass turbo / osmtogeojson GeoJSON export,
or OSMnx features written with ``to_file``), so a city can map a recorded extract offline.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from safetygap.errors import Problems
from safetygap.taxonomy import Taxonomy

__all__ = ["TagRule", "load_tag_rules", "map_features", "overpass_tags", "read_features"]

_RULE_KEYS = ("service_type", "tags", "capacity", "capacity_unit", "note")


@dataclass(frozen=True)
class TagRule:
    """One rule of the mapping: a feature whose tags all match gets ``service_type``."""

    service_type: str
    tags: dict[str, tuple[str, ...]]
    """key -> accepted values; ``("*",)`` = any value."""
    capacity: float = 1.0
    capacity_unit: str = "site"
    note: str = ""

    def matches(self, tags: dict[str, str]) -> bool:
        for key, values in self.tags.items():
            v = tags.get(key)
            if v is None or (values != ("*",) and not set(v.split(";")) & set(values)):
                return False
        return True


def load_tag_rules(path: str | os.PathLike | None, *, taxonomy: Taxonomy) -> list[TagRule]:
    """The rules of a mapping file (None: the packaged default), checked: every problem
    (unknown key, unknown service type, empty tags, bad capacity) in one error."""
    where = "osm tags " + (str(path) if path else "(packaged default)")
    text = (Path(path).read_text("utf-8") if path is not None
            else (resources.files("safetygap") / "data" / "osm_tags.toml").read_text("utf-8"))
    problems = Problems()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.add(where, f"not valid TOML ({exc})")
        problems.raise_if_any()
    rules = []
    entries = data.get("rule", [])
    if not entries:
        problems.add(where, "no [[rule]] tables")
    for k, entry in enumerate(entries):
        label = f"{where} rule {k + 1}"
        for key in entry:
            if key not in _RULE_KEYS:
                problems.add(label, "unknown key", value=key, allowed=_RULE_KEYS)
        st = entry.get("service_type")
        if st not in taxonomy.service_types:
            problems.add(label, "unknown service type", column="service_type", value=st,
                         allowed=sorted(taxonomy.service_types))
        tags = entry.get("tags") or {}
        if not isinstance(tags, dict) or not tags:
            problems.add(label, "needs tags = { key = value, ... }", column="tags")
            continue
        cap = entry.get("capacity", 1.0)
        if not isinstance(cap, int | float) or not cap > 0:
            problems.add(label, "capacity must be a number > 0", column="capacity", value=cap)
        norm = {str(key): tuple(str(v) for v in (val if isinstance(val, list) else [val]))
                for key, val in tags.items()}
        rules.append(TagRule(str(st), norm, float(cap) if isinstance(cap, int | float)
                             else 1.0, str(entry.get("capacity_unit", "site")),
                             str(entry.get("note", ""))))
    problems.raise_if_any()
    return rules


def overpass_tags(rules: list[TagRule]) -> dict[str, bool | list[str]]:
    """The ``tags`` argument of OSMnx's ``features_from_polygon``: each rule's first tag,
    values united per key (``True`` for any value)."""
    out: dict[str, set[str] | bool] = {}
    for rule in rules:
        key, values = next(iter(rule.tags.items()))
        if values == ("*",) or out.get(key) is True:
            out[key] = True
        else:
            prev = out.get(key)
            out[key] = (prev if isinstance(prev, set) else set()) | set(values)
    return {k: (v if v is True else sorted(v)) for k, v in out.items()}


def _first(tags: dict[str, str], *keys: str) -> str:
    return next((tags[k] for k in keys if tags.get(k)), "")


def map_features(features: gpd.GeoDataFrame, rules: list[TagRule]
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Providers (WGS84 latitude/longitude, the provider-file columns and the inventory
    fields, ``osm_id``, ``osm_tags``) from OSMnx features, and a report: features per
    service type, and those no rule matched (counted, with examples).

    ``features`` has OSMnx's index (element type, OSM id), one column per tag and the
    geometry in EPSG:4326; polygons are placed at a point inside them.
    """
    geo = features.to_crs("EPSG:4326") if features.crs is not None else features
    rows: list[dict[str, Any]] = []
    unmatched: list[dict[str, str]] = []
    tag_cols = [c for c in geo.columns if c != "geometry"]
    for idx, rec in zip(geo.index, geo[tag_cols].itertuples(index=False), strict=True):
        tags = {c: str(v) for c, v in zip(tag_cols, rec, strict=True)
                if v is not None and not (isinstance(v, float) and np.isnan(v))
                and not isinstance(v, list | dict)}
        element, osm_id = (idx if isinstance(idx, tuple) else ("node", idx))
        oid = f"{element}/{osm_id}"
        rule = next((r for r in rules if r.matches(tags)), None)
        if rule is None:
            unmatched.append({"osm_id": oid, "name": tags.get("name", "")})
            continue
        geom = geo.geometry.loc[idx]
        pt = geom if geom.geom_type == "Point" else geom.representative_point()
        address = " ".join(p for p in (tags.get("addr:housenumber", ""),
                                       tags.get("addr:street", "")) if p)
        if address and tags.get("addr:city"):
            address += f", {tags['addr:city']}"
        rows.append({
            "provider_id": f"osm:{oid}",
            "name": tags.get("name") or f"{rule.service_type} (OSM {oid}, no name)",
            "service_type": rule.service_type,
            "capacity": rule.capacity,
            "capacity_unit": rule.capacity_unit,
            "latitude": round(pt.y, 7),
            "longitude": round(pt.x, 7),
            "organisation": _first(tags, "operator", "brand"),
            "programme": "",
            "address": address,
            "opening_hours": tags.get("opening_hours", ""),
            "eligibility": _first(tags, "social_facility:for", "min_age"),
            "languages": "",
            "phone": _first(tags, "phone", "contact:phone"),
            "website": _first(tags, "website", "contact:website", "url"),
            "source": "osm",
            "last_verified": _first(tags, "check_date", "survey:date")[:10],
            "osm_id": oid,
            "osm_tags": json.dumps(tags, sort_keys=True, ensure_ascii=False),
        })
    frame = pd.DataFrame(rows, columns=[
        "provider_id", "name", "service_type", "capacity", "capacity_unit", "latitude",
        "longitude", "organisation", "programme", "address", "opening_hours", "eligibility",
        "languages", "phone", "website", "source", "last_verified", "osm_id", "osm_tags"])
    report = {
        "features": len(geo),
        "providers": len(frame),
        "by_service_type": {str(k): int(v) for k, v in
                            frame["service_type"].value_counts().sort_index().items()},
        "unmatched": len(unmatched),
        "unmatched_examples": unmatched[:20],
        "unnamed": int(frame["name"].str.endswith(", no name)").sum()),
    }
    return frame, report


_ELEMENT_ID = re.compile(r"^(node|way|relation)/(\d+)$")


def read_features(path: str | os.PathLike, *, boundary: gpd.GeoDataFrame | None = None
                  ) -> gpd.GeoDataFrame:
    """OSM features from a file, as OSMnx gives them: indexed by (element type, OSM id),
    one column per tag, geometry in EPSG:4326; only those inside ``boundary`` (its
    polygons united; a polygon feature by a point inside it) when given.

    The file (GeoJSON, GeoPackage or GeoParquet, read with its format's own driver) names
    each feature's element with an ``@id`` or ``id`` property ``node/123`` (Overpass turbo,
    osmtogeojson), or with ``element`` (``node``, ``way``, ``relation``) and ``id`` columns
    (OSMnx features written with ``to_file``). Raises one ValidationError naming every
    feature without an id or geometry."""
    import shapely

    from safetygap.inputs.files import read_table

    table = read_table(path, where="osm features")
    where = f"osm features {table.path}"
    frame = table.frame.reset_index(drop=True)
    problems = Problems()
    if table.geometry is None or table.crs is None:
        problems.add(where, "needs geometry with a CRS",
                     allowed="GeoJSON, GeoPackage or GeoParquet features")
        problems.raise_if_any()
    cols = set(frame.columns)
    index: list[tuple[str, int]] = []
    for i in range(len(frame)):
        key = None
        for c in ("@id", "id"):
            v = frame.at[i, c] if c in cols else None
            m = _ELEMENT_ID.match(str(v).strip()) if isinstance(v, str) else None
            if m:
                key = (m.group(1), int(m.group(2)))
                break
        if key is None and {"element", "id"} <= cols:
            el, num = str(frame.at[i, "element"]).strip(), str(frame.at[i, "id"]).strip()
            if el in ("node", "way", "relation") and re.fullmatch(r"\d+(\.0)?", num):
                key = (el, int(float(num)))
        if key is None:
            problems.add(f"{where} feature {i + 1}", "no OSM element id",
                         allowed="an @id or id property such as node/123, or element + id "
                                 "columns")
        elif table.geometry[i] is None or shapely.is_empty(table.geometry[i]):
            problems.add(f"{where} feature {i + 1}", "no geometry", value=f"{key[0]}/{key[1]}")
        index.append(key or ("node", -1))
        if len(problems.items) > 20:
            break
    problems.raise_if_any()
    tags = frame.drop(columns=[c for c in ("@id", "id", "element", "osmid") if c in cols])
    for c in tags.columns:  # tags are text: undo the types the file's driver guessed
        tags[c] = [_tag_text(v) for v in tags[c].tolist()]
    out = gpd.GeoDataFrame(tags, geometry=list(table.geometry), crs=table.crs)
    out.index = pd.MultiIndex.from_tuples(index, names=["element", "id"])
    out = out.to_crs("EPSG:4326")
    if boundary is not None:
        area = shapely.union_all(boundary.to_crs("EPSG:4326").geometry.to_numpy())
        pts = out.geometry.where(out.geom_type == "Point", out.representative_point())
        out = out[shapely.intersects(area, pts.to_numpy())]
    return out


def _tag_text(value: Any) -> str | None:
    """A tag value as OSM writes it (None when absent): dates as ``YYYY-MM-DD``, whole
    numbers without ``.0``."""
    if value is None or value is pd.NaT or value is pd.NA or (
            isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value.time() == pd.Timestamp(0).time() \
            else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
