"""Names, labels and small helpers shared by the read model's modules."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely

from safetygap.geo.gap import CLASS_LABELS, N_CLASSES
from safetygap.labels import DISTANCE_LABELS as LABEL_DISTANCE
from safetygap.labels import field
from safetygap.tables import measures as M
from safetygap.vocab import LEVELS

Level = Literal[LEVELS]  # type: ignore[valid-type]
MEASURES: tuple[str, ...] = M.DISPLAY_MEASURES
"""Measure names an area's profile shows, in display order (``total`` has only the first
seven)."""
MEASURE_LABELS: dict[str, str] = {m: field(m).label for m in MEASURES}
"""Each measure's label (the label table, :mod:`safetygap.labels`)."""
SERVES_REACH = ("; a provider that serves named areas (or a drawn area) instead of a "
                "catchment reaches exactly the areas its own overlap (by more than 1% of the "
                "smaller), wherever its office is")
REACH_METHODS: dict[str, str] = {
    "m": "a provider outside the area reaches it when the straight-line distance to the "
         "area's nearest point is within its catchment (metres)" + SERVES_REACH,
    "min": "a provider outside the area reaches it when the travel time on the street "
           "network to the area's nearest point (a street node in it, or its "
           "representative point), including the walk from the provider to its nearest "
           "street node at 4.8 km/h, is within its catchment (minutes)" + SERVES_REACH,
}
"""How "in reach" is decided, per catchment unit (the workspace's distance model)."""
DISTANCE_LABELS: dict[str, str] = {
    m: f"{words} ({'metres' if m == 'straight-line' else 'minutes'})"
    for m, words in LABEL_DISTANCE.items()}
"""How maps, panels and the report name each distance model (the label table's words and
the unit)."""
STRAIGHT_LINE = {"distance_model": "straight-line", "unit": "m",
                 "catchment_column": "catchment_m", "catchments": {}}
"""The distance model of a workspace that does not record one (written before it did)."""
WGS84 = "EPSG:4326"
DEFAULT_SIMPLIFY_TOLERANCE_M = 20.0
"""Metres: area outlines drawn on maps and sent as GeoJSON are simplified by this much in
the projected CRS (query parameter ``tolerance``). Not the boundary tolerance of an analysis
(:data:`safetygap.defaults.DEFAULT_BOUNDARY_TOLERANCE_M`)."""
DEFAULT_HEX_SIZE_M = 400.0
UNKNOWN_YEAR = "unknown"
COUNT_DERIVED: tuple[str, ...] = M.COUNT_DERIVED
"""Measures of a family in an area hidden with its call count (they reveal it); their
intervals are hidden with them."""
BIVARIATE_COLORS: dict[int, str] = {
    1: "#e8e8e8", 2: "#ace4e4", 3: "#5ac8c8",
    4: "#dfb0d6", 5: "#a5add3", 6: "#5698b9",
    7: "#be64ac", 8: "#8c62aa", 9: "#3b4994",
}
"""Fill colour of each need/access class: a 3 x 3 bivariate scheme (Stevens 2015), need
along the pink axis, access along the blue one; 7 (high need, low access) is the
strongest pink. The read model gives it with each class (the maps' key)."""
NOT_RANKED_COLOR = "#ffffff"
"""Fill of an area that is not ranked (class 0)."""


def _size_of(value: Any) -> int:
    """Estimated bytes of a cached result: bytes and text by length, frames and arrays by
    their buffers, GeoJSON-like dicts by 1 kB per feature, anything else 1 kB."""
    if isinstance(value, bytes | str):
        return len(value)
    if isinstance(value, pd.DataFrame | pd.Series):
        return int(value.memory_usage(deep=False).sum()) if isinstance(
            value, pd.DataFrame) else int(value.memory_usage(deep=False))
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, dict) and isinstance(value.get("features"), list):
        return 1000 * (len(value["features"]) + 1)
    return 1000


def _num(v: Any) -> float | None:
    """A finite float, or None (NaN, inf, None)."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _id(v: Any) -> str | None:
    """An area id as text, or None when missing."""
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA \
        else str(v)


def _round_coords(geom: shapely.Geometry, digits: int = 6) -> shapely.Geometry:
    """Round coordinates (degrees) to ``digits`` decimals: 1e-6 deg is about 0.1 m."""
    return shapely.transform(geom, lambda c: np.round(c, digits))


def class_label(gap_class: int, n_classes: int) -> str:
    """Label of a gap class (0 = no value); names only when all five classes exist."""
    if gap_class == 0:
        return "no value"
    if n_classes == N_CLASSES:
        return CLASS_LABELS[gap_class - 1]
    return f"class {gap_class} of {n_classes}"


class UnknownArea(KeyError):
    """No area with this id at this level."""

    def __init__(self, level: str, area_id: str, examples: list[str]):
        self.level = level
        self.area_id = area_id
        self.examples = examples
        super().__init__(f"no {level} with id {area_id!r}")


INVENTORY_PROPERTIES = ("organisation", "programme", "address", "capacity_unit",
                        "opening_hours", "eligibility", "languages", "phone", "website",
                        "source", "last_verified", "serves")
"""Inventory fields of a provider shown on the maps and in the API ("" when not given;
a workspace written before they existed has none)."""


def _inventory_record(r: Any) -> dict[str, Any]:
    """A provider's inventory fields, its stale flag and months since verified."""
    out: dict[str, Any] = {k: str(getattr(r, k, "") or "") for k in INVENTORY_PROPERTIES}
    months = getattr(r, "months_since_verified", None)
    out["months_since_verified"] = _num(months) if months is not None else None
    stale = getattr(r, "stale", None)
    out["stale"] = None if stale is None else bool(stale)
    out["serves_areas"] = bool(getattr(r, "serves_wkt", ""))
    return out
