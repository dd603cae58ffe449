"""A GeoPackage of a workspace's published layers, styled as the web map.

:func:`export_geopackage` writes, in EPSG:4326 as the API serves them (and with the same
privacy suppression of small sensitive counts):

- the layers ``neighborhoods``, ``wards``, ``providers``, ``hexbins`` and ``sites`` (the
  default proposed sites), each a feature table of :mod:`safetygap.maps.collections`;
- ``summary``: the public summary (what ``GET /api/summary`` answers) and ``quality``: the
  counts of the data-quality report (row statuses and faults; no example rows, no call-type
  names, no file paths), flattened to attribute tables (``key`` a dotted path, ``value`` its
  JSON text);
- ``layer_styles``, the table QGIS reads styles from: per layer a QML and an SLD style with
  the map's classes and colours (the areas get one style per family, gap classes coloured as
  on the map; the response family's is the default).

Geometry columns are named ``geom``; the file is written beside ``out`` and moved into place
when complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from safetygap import FAMILIES
from safetygap.maps.collections import COLLECTIONS, collection_features
from safetygap.maps.qgis_style import Rule, Style, categorized, graduated, qml, sld
from safetygap.maps.style import (
    FAMILY_STYLE,
    HEX_COLOR,
    NO_VALUE_COLOR,
    NOT_RANKED_COLOR,
    class_color,
)
from safetygap.readmodel import WorkspaceView
from safetygap.tables import measures as M

__all__ = ["GPKG_MEDIA_TYPE", "export_geopackage", "geopackage_bytes", "layer_styles",
           "public_quality"]

GPKG_MEDIA_TYPE = "application/geopackage+sqlite3"
GEOMETRY_COLUMN = "geom"
SHAPES = {"response": "circle", "prevention": "square", "restoration": "triangle"}
"""Marker shape per family, so the families differ by shape as well as colour."""
HEX_CLASSES = 5


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, JSON text) of every leaf of nested dicts; lists stay one JSON value."""
    if isinstance(data, dict) and data:
        rows = []
        for k, v in data.items():
            rows.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return rows
    return [(prefix, json.dumps(data, allow_nan=False, default=str))]


PRIVATE_KEYS = ("examples", "unknown_call_types", "outside_examples")
"""Parts of quality.json that quote input rows or names: never exported."""


def public_quality(quality: dict[str, Any]) -> list[tuple[str, str]]:
    """The numeric leaves of quality.json outside :data:`PRIVATE_KEYS` (counts and shares:
    never a row, a name or a path)."""
    return [(k, v) for k, v in _flatten(quality)
            if not any(part in PRIVATE_KEYS for part in k.split("."))
            and isinstance(json.loads(v), int | float | bool)]


def _blend(color: str, share: float) -> str:
    """``color`` mixed with white: ``share`` 1 is the colour itself."""
    c = color.lstrip("#")
    rgb = [round(255 - (255 - int(c[i:i + 2], 16)) * share) for i in (0, 2, 4)]
    return "#" + "".join(f"{v:02x}" for v in rgb)


def _area_styles(view: WorkspaceView, level: str) -> list[tuple[str, Style, bool]]:
    """Per family: the need/access classes (the default style is the first family's),
    then the secondary gap-index classes."""
    layer = view.layer(level, family=None, year=None, tolerance_m=0.0)
    out = []
    for family in FAMILIES:
        rules = [Rule(label=f"{c['label']} ({c['areas']} area{'' if c['areas'] == 1 else 's'})",
                      color=c["color"], value=c["class"])
                 for c in layer["need_access"].get(family, []) if c["class"] > 0]
        rules.append(Rule(label="not ranked", color=NOT_RANKED_COLOR, value=0))
        out.append((f"need and access, {FAMILY_STYLE[family]['label'].lower()}",
                    categorized(M.column(M.CLASS, family), "fill", rules), family == FAMILIES[0]))
    for family in FAMILIES:
        found = layer["classes"].get(family, [])
        rules = [Rule(label=f"{c['label']} (gap {c['lower']:.2f} to {c['upper']:.2f}; "
                            f"{c['areas']} area{'' if c['areas'] == 1 else 's'})",
                      color=class_color(c["gap_class"], len(found)), value=c["gap_class"])
                 for c in found if c["gap_class"] > 0]
        rules.append(Rule(label="no value", color=NO_VALUE_COLOR, value=0))
        out.append((f"gap class (secondary), {FAMILY_STYLE[family]['label'].lower()}",
                    categorized(M.column(M.GAP_CLASS, family), "fill", rules), False))
    return out


def _family_style(shape_of: Callable[[str], str]) -> Style:
    return categorized("family", "marker", [
        Rule(label=FAMILY_STYLE[f]["label"], color=FAMILY_STYLE[f]["color"], value=f,
             shape=shape_of(f)) for f in FAMILIES])


def _hex_style(features: list[dict[str, Any]]) -> Style:
    counts = [f["properties"].get("calls") for f in features]
    top = max((c for c in counts if c is not None), default=0) or 1
    step = top / HEX_CLASSES
    rules = [Rule(label=f"{i * step:,.0f} to {(i + 1) * step:,.0f} calls",
                  color=_blend(HEX_COLOR, (i + 1) / HEX_CLASSES),
                  lower=float(i * step), upper=float((i + 1) * step))
             for i in range(HEX_CLASSES)]
    return graduated("calls", "fill", rules)


def layer_styles(view: WorkspaceView, features: dict[str, list[dict[str, Any]]]
                 ) -> pd.DataFrame:
    """The ``layer_styles`` rows (QGIS's columns) for the layers in ``features``."""
    styles: list[tuple[str, str, Style, bool]] = []
    for layer, level in (("neighborhoods", "neighborhood"), ("wards", "ward")):
        styles += [(layer, name, st, default) for name, st, default in _area_styles(view, level)]
    styles.append(("providers", "providers by family", _family_style(SHAPES.__getitem__), True))
    styles.append(("hexbins", "calls per hexagon", _hex_style(features.get("hexbins", [])),
                   True))
    styles.append(("sites", "proposed sites by family", _family_style(lambda f: "star"), True))
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    rows = [{"f_table_catalog": "", "f_table_schema": "", "f_table_name": layer,
             "f_geometry_column": GEOMETRY_COLUMN, "styleName": name,
             "styleQML": qml(st), "styleSLD": sld(layer, st), "useAsDefault": default,
             "description": f"{name}: the classes and colours of the safetygap map",
             "owner": "", "ui": "", "update_time": now}
            for layer, name, st, default in styles if features.get(layer)]
    return pd.DataFrame(rows)


def export_geopackage(view: WorkspaceView, out: str | os.PathLike, *,
                      summary: dict[str, Any],
                      sites: Callable[[], list[dict[str, Any]]] | None = None
                      ) -> dict[str, int]:
    """Write the GeoPackage to ``out``; returns the rows written per table. ``summary`` is
    the public summary (``GET /api/summary``'s body). Layers with no feature (no proposed
    site when ``sites`` is None) are left out."""
    out = Path(out)
    features = {cid: collection_features(view, cid, sites=sites) for cid in COLLECTIONS}
    fd, tmp_name = tempfile.mkstemp(suffix=".gpkg", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    written: dict[str, int] = {}
    try:
        for cid, feats in features.items():
            if not feats:
                continue
            frame = gpd.GeoDataFrame.from_features(feats, crs="EPSG:4326")
            frame.insert(0, "feature_id", [f["id"] for f in feats])
            pyogrio.write_dataframe(frame, tmp, layer=cid, driver="GPKG",
                                    layer_options={"GEOMETRY_NAME": GEOMETRY_COLUMN})
            written[cid] = len(frame)
        for name, rows in (("summary", _flatten(summary)),
                           ("quality", public_quality(view.quality))):
            table = pd.DataFrame(rows, columns=["key", "value"])
            pyogrio.write_dataframe(table, tmp, layer=name, driver="GPKG")
            written[name] = len(table)
        styles = layer_styles(view, features)
        pyogrio.write_dataframe(styles, tmp, layer="layer_styles", driver="GPKG",
                                layer_options={"FID": "id"})
        written["layer_styles"] = len(styles)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return written


def geopackage_bytes(view: WorkspaceView, *, summary: dict[str, Any],
                     sites: list[dict[str, Any]] | None = None) -> bytes:
    """The GeoPackage of :func:`export_geopackage` as bytes (built in a temporary
    directory); ``sites`` the features of the ``sites`` layer."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.gpkg"
        export_geopackage(view, path, summary=summary,
                          sites=None if sites is None else lambda: sites)
        return path.read_bytes()
