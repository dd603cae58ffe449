"""Diverted records from outside 911: 311 and online police reports.

A city's 911 layer does not hold the reports people make to 311 or online instead of
calling 911 (Minneapolis sends report-only calls there since 2021-06-14), yet the city
counts them among its diverted calls. ``safetygap analyze --reports FILE`` reads such a
file as a second calls input: every record is a diverted call of one channel (by default
``report_311_online``; ``--reports-channel``), placed in a neighborhood and a ward

1. by its coordinates when it has them (and they fall in an area), else
2. by the neighborhood and ward *names* it carries, matched to the boundary layers'
   names after folding case, accents and punctuation
   (:func:`safetygap.boundaries.names.match_names`; a ward also matches its id, so
   ``3`` and ``Ward 3`` both find ward 3), else
3. nowhere: it still counts city-wide.

The records count in the diverted share, numerator and denominator, unless the analysis
says otherwise (``--reports-not-counted``); ``summary.json`` names the denominator in
words either way. They are written to ``outside_911.parquet`` (this module owns its
columns, :data:`RECORD_COLUMNS`) and never enter the 911 call counts, rates or gap indices.

The reader and which column is which: :mod:`safetygap.inputs.records`
(``--reports-column FIELD=COLUMN``).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from safetygap.boundaries.names import match_names, normalize_name
from safetygap.vocab import Channel, allowed

__all__ = [
    "LOCATED_BY",
    "RECORD_COLUMNS",
    "RULE_ID",
    "place_records",
]

RULE_ID = "outside_911"
"""The ``diversion_rule`` of every record (no 911 rule decided it: the file did)."""
LOCATED_BY = ("coordinates", "names", "unplaced")
"""How a record was placed (in this order of preference)."""
RECORD_COLUMNS = ("row", "record_id", "call_type", "category", "family", "time", "year",
                  "channel", "diversion_rule", "diverted", "diversion_base",
                  "neighborhood_id", "ward_id", "located_by", "x", "y")
"""Columns of the records table (``outside_911.parquet``; x/y in the analysis CRS)."""


def _by_name(values: pd.Series, areas: gpd.GeoDataFrame, *, ids_too: bool) -> np.ndarray:
    """Positional index of the area each name matches (-1: none or missing)."""
    names = [str(v) for v in pd.unique(values.dropna())]
    targets = areas["name"].astype(str).tolist()
    hit = match_names(names, targets)
    pos_of_name = {t: i for i, t in enumerate(targets)}
    pos_of_id = {normalize_name(str(a)): i for i, a in enumerate(areas["area_id"])}
    found: dict[str, int] = {}
    for name in names:
        if hit[name] is not None:
            found[name] = pos_of_name[hit[name]]
        elif ids_too:
            key = normalize_name(name)
            bare = key.removeprefix("ward ").strip()
            found[name] = pos_of_id.get(key, pos_of_id.get(bare, -1))
        else:
            found[name] = -1
    return np.array([found.get(str(v), -1) if not pd.isna(v) else -1 for v in values],
                    dtype=np.int64)


def place_records(
    records: pd.DataFrame,
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    *,
    crs: Any,
    taxonomy: Any,
    channel: Channel | str = Channel.REPORT_311_ONLINE,
    counted: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The records table (:data:`RECORD_COLUMNS`) and its quality record.

    ``records`` is :attr:`safetygap.inputs.records.RecordsInput.frame` with ``x``/``y``
    already in the analysis CRS ``crs`` (metres) of ``nbhd`` and ``wards``. A record is
    placed by its point when the point falls in a neighborhood (its ward by the point
    too, or by name when the point is outside every ward), else by its names;
    ``located_by`` says which.
    ``counted``: the records count in the diverted share (``diversion_base``).
    """
    from safetygap.geo.join import assign_areas

    chan = Channel(channel)
    n = len(records)
    x = records["x"].to_numpy(float)
    y = records["y"].to_numpy(float)
    n_pt = assign_areas((x, y), nbhd, crs=crs)
    w_pt = assign_areas((x, y), wards, crs=crs)
    n_nm = _by_name(records["neighborhood_name"], nbhd, ids_too=False)
    w_nm = _by_name(records["ward_name"], wards, ids_too=True)
    by_point = n_pt >= 0
    n_idx = np.where(by_point, n_pt, n_nm)
    w_idx = np.where(by_point & (w_pt >= 0), w_pt, w_nm)
    located = np.where(by_point, 0, np.where((n_nm >= 0) | (w_nm >= 0), 1, 2))
    cls = taxonomy.classify(records["call_type"])
    times = pd.to_datetime(records["time"])
    out = pd.DataFrame({
        "row": records["row"].to_numpy(),
        "record_id": records["record_id"].array,
        "call_type": records["call_type"].array,
        "category": pd.Categorical(cls["category"].array),
        "family": pd.Categorical(cls["family"].array),
        "time": times.to_numpy(),
        "year": times.dt.year.fillna(-1).astype(np.int32).to_numpy(),
        "channel": pd.Categorical([str(chan)] * n, categories=allowed(Channel)),
        "diversion_rule": pd.Categorical([RULE_ID] * n, categories=[RULE_ID]),
        "diverted": np.ones(n, dtype=bool),
        "diversion_base": np.full(n, bool(counted)),
        "neighborhood_id": pd.Categorical.from_codes(
            n_idx, categories=pd.Index(nbhd["area_id"].astype(str))),
        "ward_id": pd.Categorical.from_codes(
            w_idx, categories=pd.Index(wards["area_id"].astype(str))),
        "located_by": pd.Categorical.from_codes(located.astype(np.int8),
                                                categories=list(LOCATED_BY)),
        "x": np.where(by_point, x, np.nan),
        "y": np.where(by_point, y, np.nan),
    })
    unmatched = {
        "neighborhood_names": sorted({str(v) for v, i, p in zip(
            records["neighborhood_name"], n_nm, by_point, strict=True)
            if not pd.isna(v) and i < 0 and not p})[:20],
        "ward_names": sorted({str(v) for v, i, p in zip(
            records["ward_name"], w_nm, by_point, strict=True)
            if not pd.isna(v) and i < 0 and not p})[:20],
    }
    quality = {
        "records": n,
        "channel": str(chan),
        "counted_in_diverted_share": bool(counted),
        "located_by": {k: int((located == i).sum()) for i, k in enumerate(LOCATED_BY)},
        "with_coordinates_outside_areas": int((np.isfinite(x) & ~by_point).sum()),
        "in_a_neighborhood": int((n_idx >= 0).sum()),
        "in_a_ward": int((w_idx >= 0).sum()),
        "unparseable_times": int(times.isna().sum()),
        "unmatched_names": unmatched,
        "notes": ("Records are placed by their coordinates when these fall in a "
                  "neighborhood, else by the neighborhood and ward names they carry "
                  "(matched after folding case, accents and punctuation; a ward also "
                  "matches its id); unplaced records still count city-wide."),
    }
    return out, quality
