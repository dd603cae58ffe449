"""Placing an organisations list by its addresses, against a local address-point layer.

Addresses are parsed with ``usaddress`` into a house number and a street (pre-direction,
name, street type, post-direction; unit, city, state and ZIP are ignored) and normalised
(``North`` -> ``N``, ``Avenue`` -> ``AVE``, case and punctuation folded). The address-point
layer a city publishes (one point per address) is parsed the same way and indexed by
street. Each row then gets one match quality (:class:`MatchQuality`):

``exact``                 the street and house number are in the layer: the point (the
                          mean of the points when a number has several, e.g. units);
``street_interpolation``  the street is in the layer and the number lies between two of
                          its numbers: placed on the line between the nearest lower and
                          higher numbers (same side of the street, by parity, when it has
                          both), in proportion to the number;
``street_only``           the street is in the layer but the number is missing or outside
                          its numbers: placed at the nearest numbered point of the street
                          (or the street's middle point without a number), to be reviewed;
``none``                  no such street (or no parseable address): not placed.

Rows that already carry ``latitude``/``longitude`` keep them (quality ``given``). An
optional online geocoder (:mod:`safetygap.fetch.nominatim`) is asked about the rows still
unplaced; its answers get the quality their detail supports (a house number: ``exact``, a
road: ``street_only``, anything coarser: ``none``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import geopandas as gpd
import numpy as np
import pandas as pd

from safetygap.errors import Problems

__all__ = [
    "AddressPoints",
    "GeocodeResult",
    "MatchQuality",
    "ParsedAddress",
    "geocode_frame",
    "parse_address",
]


class MatchQuality(StrEnum):
    """How a provider was placed, best first."""

    GIVEN = "given"
    EXACT = "exact"
    STREET_INTERPOLATION = "street_interpolation"
    STREET_ONLY = "street_only"
    NONE = "none"


QUALITY_ORDER = tuple(MatchQuality)
REVIEW_QUALITIES = (MatchQuality.STREET_ONLY, MatchQuality.NONE)
"""Rows of these qualities are listed for review."""

_DIRECTIONS = {"NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE",
               "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW", "N": "N", "S": "S",
               "E": "E", "W": "W", "NE": "NE", "NW": "NW", "SE": "SE", "SW": "SW"}
_TYPES = {"AVENUE": "AVE", "AV": "AVE", "STREET": "ST", "STR": "ST", "BOULEVARD": "BLVD",
          "ROAD": "RD", "DRIVE": "DR", "LANE": "LN", "PLACE": "PL", "COURT": "CT",
          "PARKWAY": "PKWY", "PKY": "PKWY", "TERRACE": "TER", "CIRCLE": "CIR",
          "HIGHWAY": "HWY", "WAY": "WAY", "TRAIL": "TRL", "SQUARE": "SQ", "ALLEY": "ALY",
          "CRESCENT": "CRES", "EXPRESSWAY": "EXPY", "FREEWAY": "FWY", "MALL": "MALL"}


@dataclass(frozen=True)
class ParsedAddress:
    """A house number (None when absent) and a normalised street key."""

    number: int | None
    street: str


def _clean(text: str) -> str:
    return re.sub(r"[^A-Z0-9 ]+", "", text.upper().replace(".", "")).strip()


def parse_address(text: str) -> ParsedAddress | None:
    """Parse one US street address; None when it has no street (a PO box, nonsense)."""
    import usaddress

    text = str(text or "").strip()
    if not text:
        return None
    try:
        tags, _ = usaddress.tag(text)
    except usaddress.RepeatedLabelError as exc:
        tags = {}
        for value, label in exc.parsed_string:
            tags.setdefault(label, value)
    name = _clean(tags.get("StreetName", ""))
    if not name:
        return None
    pre = _DIRECTIONS.get(_clean(tags.get("StreetNamePreDirectional", "")), "")
    post = _DIRECTIONS.get(_clean(tags.get("StreetNamePostDirectional", "")), "")
    kind = _clean(tags.get("StreetNamePostType", ""))
    kind = _TYPES.get(kind, kind)
    street = " ".join(p for p in (pre, name, kind, post) if p)
    m = re.match(r"\d+", tags.get("AddressNumber", "").strip())
    return ParsedAddress(int(m.group()) if m else None, street)


ADDRESS_COLUMNS = ("address", "ADDRESS", "FULL_ADDRESS", "full_address", "FULLADDR",
                   "ADDR_FULL", "ADD_FULL", "Address")
"""Full-address columns looked for in an address-point layer, in order."""
COMPONENT_COLUMNS = (
    ("ANUMBER", ("ST_PRE_DIR", "ST_PRE_TYP", "ST_NAME", "ST_POS_TYP", "ST_POS_DIR")),
    ("addr:housenumber", ("addr:street",)),
    ("house_number", ("street",)),
)
"""(number column, street columns) pairs looked for when there is no full-address column:
the Minnesota address-point standard, OpenStreetMap tags, a plain pair."""


@dataclass
class AddressPoints:
    """An address-point layer indexed by street; coordinates in a projected CRS (metres)."""

    crs: str
    streets: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    """street -> (house numbers sorted, x, y); points without a number have number -1."""
    source: str = ""

    @classmethod
    def from_layer(cls, layer: gpd.GeoDataFrame, *, address_column: str | None = None,
                   source: str = "") -> AddressPoints:
        """Index a point layer. The address comes from ``address_column``, else the first
        of :data:`ADDRESS_COLUMNS`, else the first pair of :data:`COMPONENT_COLUMNS` the
        layer has; raises one ValidationError naming the layer's columns otherwise."""
        problems = Problems()
        where = f"address points {source}".strip()
        if layer.crs is None:
            problems.add(where, "the layer declares no CRS")
        cols = [str(c) for c in layer.columns]
        texts: pd.Series | None = None
        keys: list[ParsedAddress | None] | None = None
        if address_column is not None:
            if address_column not in cols:
                problems.add(where, "address column not found", column=address_column,
                             allowed=cols[:30])
            else:
                texts = layer[address_column].astype("string").fillna("")
        else:
            full = next((c for c in ADDRESS_COLUMNS if c in cols), None)
            if full is not None:
                texts = layer[full].astype("string").fillna("")
            elif {"ANUMBER", "ST_NAME"} <= set(cols):
                keys = _standard_keys(layer)
                texts = pd.Series([""] * len(layer), index=layer.index, dtype="string")
            else:
                for num, parts in COMPONENT_COLUMNS:
                    have = [p for p in parts if p in cols]
                    if num in cols and have:
                        texts = layer[num].astype("string").fillna("")
                        for p in have:
                            texts = texts + " " + layer[p].astype("string").fillna("")
                        break
        if texts is None and address_column is None:
            problems.add(where, "no address column found", allowed=(
                "a full address column (" + ", ".join(ADDRESS_COLUMNS[:4]) + "...), "
                "ANUMBER + ST_NAME (Minnesota standard), addr:housenumber + addr:street, "
                f"or --address-points-column; the layer has {', '.join(cols[:20])}"))
        problems.raise_if_any()
        assert texts is not None and layer.crs is not None
        ok = (layer.geometry.notna() & ~layer.geometry.is_empty).to_numpy()
        geo = layer[ok]
        if keys is None:
            cache: dict[str, ParsedAddress | None] = {}
            keys = [cache[t] if t in cache else cache.setdefault(t, parse_address(t))
                    for t in texts.loc[geo.index].tolist()]
        else:
            keys = [k for k, keep in zip(keys, ok, strict=True) if keep]
        crs = geo.crs if geo.crs.is_projected else geo.estimate_utm_crs()
        pts = geo.geometry.to_crs(crs)
        polys = (pts.geom_type != "Point").to_numpy()
        if polys.any():
            pts = pts.copy()
            pts[polys] = pts[polys].representative_point()
        table = pd.DataFrame({
            "street": [None if k is None else k.street for k in keys],
            "number": [-1 if k is None or k.number is None else k.number for k in keys],
            "x": pts.x.to_numpy(), "y": pts.y.to_numpy()})
        table = table[table["street"].notna()].sort_values(["street", "number", "x", "y"])
        streets = {
            str(street): (grp["number"].to_numpy(np.int64), grp["x"].to_numpy(float),
                          grp["y"].to_numpy(float))
            for street, grp in table.groupby("street", sort=False)}
        return cls(crs.to_string(), streets, source)

    def match(self, parsed: ParsedAddress | None) -> tuple[MatchQuality, float, float, str]:
        """(quality, x, y, what it matched) of one parsed address (x, y in :attr:`crs`)."""
        if parsed is None or parsed.street not in self.streets:
            return MatchQuality.NONE, np.nan, np.nan, ""
        nums, xs, ys = self.streets[parsed.street]
        numbered = nums >= 0
        n = parsed.number
        if n is None or not numbered.any():
            mid = len(xs) // 2
            return MatchQuality.STREET_ONLY, xs[mid], ys[mid], parsed.street
        hit = nums == n
        if hit.any():
            return (MatchQuality.EXACT, float(xs[hit].mean()), float(ys[hit].mean()),
                    f"{n} {parsed.street}")
        for side in (numbered & (nums % 2 == n % 2), numbered):
            lo = np.flatnonzero(side & (nums < n))
            hi = np.flatnonzero(side & (nums > n))
            if len(lo) and len(hi):
                a, b = lo[-1], hi[0]
                t = (n - nums[a]) / (nums[b] - nums[a])
                return (MatchQuality.STREET_INTERPOLATION, xs[a] + t * (xs[b] - xs[a]),
                        ys[a] + t * (ys[b] - ys[a]),
                        f"between {nums[a]} and {nums[b]} {parsed.street}")
        idx = np.flatnonzero(numbered)
        near = idx[np.argmin(np.abs(nums[idx] - n))]
        return (MatchQuality.STREET_ONLY, xs[near], ys[near],
                f"{parsed.street} (nearest number {nums[near]})")


def _standard_keys(layer: pd.DataFrame) -> list[ParsedAddress | None]:
    """Parsed addresses of a layer in the Minnesota address point standard's fields
    (``ANUMBER``, ``ST_PRE_DIR``, ``ST_NAME``, ``ST_POS_TYP``, ``ST_POS_DIR``), normalised
    as :func:`parse_address` normalises a written address (its pre-type, as there, left
    out), without parsing text: much faster on a city's hundreds of thousands of points."""
    def raw(name: str) -> np.ndarray:
        if name not in layer.columns:
            return np.full(len(layer), "", dtype=object)
        return layer[name].astype("string").fillna("").to_numpy(dtype=object)

    parts = [raw(c) for c in ("ST_PRE_DIR", "ST_NAME", "ST_POS_TYP", "ST_POS_DIR")]
    joined = parts[0] + "|" + parts[1] + "|" + parts[2] + "|" + parts[3]
    codes, uniques = pd.factorize(joined)  # a city has a few thousand street names

    def key(text: str) -> str:
        pre, name, kind, post = (_clean(t) for t in text.split("|"))
        if not name:
            return ""
        return " ".join(p for p in (_DIRECTIONS.get(pre, ""), name, _TYPES.get(kind, kind),
                                    _DIRECTIONS.get(post, "")) if p)

    streets = np.array([key(u) for u in uniques], dtype=object)[codes]
    number = pd.to_numeric(layer["ANUMBER"], errors="coerce")
    texts = ~number.notna() & layer["ANUMBER"].notna()
    if texts.any():  # "2100A", "2100 1/2": the leading number
        number[texts] = pd.to_numeric(layer.loc[texts, "ANUMBER"].astype(str).str.strip()
                                      .str.extract(r"^(\d+)", expand=False), errors="coerce")
    nums = number.to_numpy(float)
    return [ParsedAddress(int(n) if n == n else None, st) if st else None
            for st, n in zip(streets.tolist(), nums, strict=True)]


OnlineGeocoder = Callable[[str], "tuple[MatchQuality, float, float, str] | None"]
"""An online geocoder: address text -> (quality, longitude, latitude, what it matched) or
None when it knows nothing (:class:`safetygap.fetch.nominatim.NominatimGeocoder`)."""


@dataclass
class GeocodeResult:
    """The placed rows (input columns + ``latitude``, ``longitude``, ``geocode_quality``,
    ``geocoder``, ``matched_address``), the rows to review, and counts per quality."""

    placed: pd.DataFrame
    review: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)


def geocode_frame(
    frame: pd.DataFrame,
    points: AddressPoints | None,
    *,
    address_column: str = "address",
    online: OnlineGeocoder | None = None,
    min_quality: MatchQuality = MatchQuality.STREET_ONLY,
    where: str = "list",
) -> GeocodeResult:
    """Place every row of an organisations list by its address.

    Rows with ``latitude``/``longitude`` already keep them. The others are matched against
    ``points``, then (those still ``none``) asked of ``online``. Rows placed at a quality
    worse than ``min_quality`` are not placed. ``review`` lists every row of quality
    ``street_only`` or ``none`` (placed or not) with its input line (``row``: 1 = the first
    data row) and the reason; nothing is placed silently.
    """
    problems = Problems()
    if address_column not in frame.columns:
        problems.add(where, "address column not found", column=address_column,
                     allowed=[str(c) for c in frame.columns][:30])
    if points is None and online is None and not {"latitude", "longitude"} <= set(frame):
        problems.add(where, "nothing to geocode against",
                     allowed="--address-points FILE and/or --online")
    problems.raise_if_any()
    n = len(frame)
    quality = [MatchQuality.NONE] * n
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    geocoder = [""] * n
    matched = [""] * n
    if {"latitude", "longitude"} <= set(frame.columns):
        glat = pd.to_numeric(frame["latitude"], errors="coerce").to_numpy(float)
        glon = pd.to_numeric(frame["longitude"], errors="coerce").to_numpy(float)
        for i in np.flatnonzero(np.isfinite(glat) & np.isfinite(glon)):
            quality[i], lat[i], lon[i], geocoder[i] = MatchQuality.GIVEN, glat[i], glon[i], \
                "given"
    texts = frame[address_column].astype("string").fillna("").str.strip().tolist()
    if points is not None:
        from pyproj import Transformer

        back = Transformer.from_crs(points.crs, "EPSG:4326", always_xy=True)
        for i in range(n):
            if quality[i] is MatchQuality.GIVEN or not texts[i]:
                continue
            q, x, y, what = points.match(parse_address(texts[i]))
            if q is not MatchQuality.NONE:
                lon[i], lat[i] = back.transform(x, y)
                quality[i], geocoder[i], matched[i] = q, "address points", what
    if online is not None:
        for i in range(n):
            if quality[i] is not MatchQuality.NONE or not texts[i]:
                continue
            answer = online(texts[i])
            if answer is not None and answer[0] is not MatchQuality.NONE:
                quality[i], lon[i], lat[i], matched[i] = answer
                geocoder[i] = "nominatim"
    rank = {q: k for k, q in enumerate(QUALITY_ORDER)}
    ok = np.array([rank[q] <= rank[min_quality] and q is not MatchQuality.NONE
                   for q in quality])
    out = frame.copy()
    for c in ("latitude", "longitude", "geocode_quality", "geocoder", "matched_address"):
        if c in out.columns and c not in ("latitude", "longitude"):
            out = out.drop(columns=c)
    out["latitude"] = np.round(lat, 7)
    out["longitude"] = np.round(lon, 7)
    out["geocode_quality"] = [str(q) for q in quality]
    out["geocoder"] = geocoder
    out["matched_address"] = matched
    reasons = []
    for i, q in enumerate(quality):
        if q is MatchQuality.NONE:
            reasons.append("no address" if not texts[i] else
                           "street not found" if parse_address(texts[i]) is not None
                           else "address not understood")
        elif q is MatchQuality.STREET_ONLY:
            reasons.append("placed on the street only: check the house number"
                           if ok[i] else "street only: below --min-quality, not placed")
        elif not ok[i]:
            reasons.append(f"{q}: below --min-quality, not placed")
        else:
            reasons.append("")
    review_rows = [i for i, q in enumerate(quality) if q in REVIEW_QUALITIES or not ok[i]]
    review = out.iloc[review_rows].copy()
    review.insert(0, "row", [i + 1 for i in review_rows])
    review["placed"] = ok[review_rows]
    review["reason"] = [reasons[i] for i in review_rows]
    counts = {str(q): int(sum(1 for v in quality if v is q)) for q in QUALITY_ORDER}
    counts["placed"] = int(ok.sum())
    counts["not_placed"] = int((~ok).sum())
    return GeocodeResult(out[ok].reset_index(drop=True), review.reset_index(drop=True),
                         counts)


def read_address_points(path: str, *, address_column: str | None = None) -> AddressPoints:
    """Read and index an address-point layer (GeoParquet, GeoPackage, GeoJSON, or a CSV
    with ``latitude``/``longitude``); see :meth:`AddressPoints.from_layer`."""
    from safetygap.inputs.files import read_table

    table = read_table(path, where="address points")
    frame = table.frame
    if table.geometry is not None:
        layer = gpd.GeoDataFrame(frame, geometry=table.geometry, crs=table.crs)
    elif {"latitude", "longitude"} <= set(frame.columns):
        layer = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(
            pd.to_numeric(frame["longitude"], errors="coerce"),
            pd.to_numeric(frame["latitude"], errors="coerce")), crs="EPSG:4326")
    else:
        problems = Problems()
        problems.add(f"address points {table.path}", "no point geometry and no "
                     "latitude/longitude columns")
        problems.raise_if_any()
    return AddressPoints.from_layer(layer, address_column=address_column,
                                    source=str(table.path))
