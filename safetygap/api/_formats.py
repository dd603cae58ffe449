"""Downloads: the JSON answers of the area, ranking, provider and site routes as CSV or
GeoJSON files (``?format=csv`` / ``?format=geojson``).

CSV headers keep the field names of the JSON (``rate_response``, ...); each row is one
feature's properties (points add ``longitude`` and ``latitude``; polygons leave their geometry
to the GeoJSON). Numbers are written as they are in the JSON, so a spreadsheet gets the
same values the API gives.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any, Literal

from fastapi import Response

Format = Literal["json", "geojson", "csv"]
FORMATS: tuple[str, ...] = ("json", "geojson", "csv")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
GEOJSON = "application/geo+json"


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def feature_rows(features: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per feature: its scalar properties, plus ``longitude`` and ``latitude`` for
    points (nested values are left out of a CSV)."""
    rows = []
    for f in features:
        row = {k: v for k, v in f.get("properties", {}).items() if _scalar(v)}
        geom = f.get("geometry") or {}
        if geom.get("type") == "Point":
            row["longitude"], row["latitude"] = geom["coordinates"][:2]
        rows.append(row)
    return rows


def _attachment(name: str, ext: str) -> dict[str, str]:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:80] or "safetygap"
    return {"Content-Disposition": f'attachment; filename="{slug}.{ext}"'}


def csv_response(rows: list[dict[str, Any]], name: str,
                 columns: Iterable[str] = ()) -> Response:
    """``rows`` as a CSV download; ``columns`` first (so a file without rows still has its
    header), then any other in first-seen order."""
    columns = list(dict.fromkeys([*columns, *(k for r in rows for k in r)]))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if r.get(k) is None else r[k] for k in columns})
    return Response(buf.getvalue().encode("utf-8"), media_type=CSV_MEDIA_TYPE,
                    headers=_attachment(name, "csv"))


def geojson_response(collection: dict[str, Any], name: str) -> Response:
    """A FeatureCollection as a GeoJSON download."""
    body = json.dumps(collection, allow_nan=False).encode()
    return Response(body, media_type=GEOJSON, headers=_attachment(name, "geojson"))


def download(fmt: str, name: str, answer: Response) -> Response:
    """``answer`` itself for ``json``; for ``geojson`` the same body as a file download."""
    if fmt == "json":
        return answer
    answer.headers.update(_attachment(name, "geojson"))
    return answer
