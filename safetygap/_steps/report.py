"""The data-quality report, the summary and the manifest of a run.

Private step of :func:`safetygap.pipeline.analyze`.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from safetygap import FAMILIES, __version__
from safetygap._hashing import sha256_file
from safetygap._status import (
    ANALYSED_STATUSES,
    STATUS_ORDER,
)
from safetygap.diversion import (
    Denominator,
    DiversionRules,
    channel_counts,
    denominator_words,
    rule_counts,
)
from safetygap.geo.aggregate import NONE_CODE
from safetygap.inputs import ColumnMap
from safetygap.taxonomy import Taxonomy

if TYPE_CHECKING:
    from safetygap.pipeline import AnalysisInputs, AnalysisOptions


def quality_report(
    calls: pd.DataFrame,
    examples: dict[str, list[dict]],
    cin: Any,
    pop_quality: dict[str, Any],
    prov_quality: dict[str, Any],
    nbhd_report: Any,
    ward_report: Any,
    cw_quality: dict[str, Any],
) -> dict[str, Any]:
    counts = calls["status"].value_counts()
    status_counts = {s: int(counts.get(s, 0)) for s in STATUS_ORDER}
    analysed = sum(status_counts[s] for s in ANALYSED_STATUSES)
    return {
        "calls": {
            "file": str(cin.path),
            "input_rows": len(calls),
            "status_order": list(STATUS_ORDER),
            "status_counts": status_counts,
            "analysed_in_areas": analysed,
            "excluded_from_areas": len(calls) - analysed,
            "faults": calls.attrs.get("faults", {}),
            "examples": examples,
            "unknown_call_types": calls.attrs.get("unknown_types", {}),
            "notes": (
                "status_counts are exclusive (each row has the first status in status_order "
                "that applies) and add up to input_rows; faults count every row with the fault."
                " Calls with status ok, unparseable_date or unknown_call_type are counted in "
                "areas (unparseable dates only in period 'all'); the others are kept in "
                "calls.parquet with no area."
            ),
        },
        "providers": prov_quality,
        "population": pop_quality,
        "boundaries": {
            "neighborhoods": nbhd_report.to_dict(),
            "wards": ward_report.to_dict(),
            "crosswalk": cw_quality,
        },
    }


def _top(layer: gpd.GeoDataFrame, family: str, n: int = 10) -> list[dict[str, Any]]:
    cols = ["area_id", "name", f"gap_{family}", f"gap_class_{family}", f"rate_{family}",
            f"access_{family}", f"coverage_{family}", f"calls_{family}"]
    top = layer[cols].dropna(subset=[f"gap_{family}"])
    top = top.sort_values([f"gap_{family}", "area_id"], ascending=[False, True]).head(n)
    return [
        {"area_id": r[0], "name": r[1], "gap": _num(r[2]), "gap_class": int(r[3]),
         "rate": _num(r[4]), "access": _num(r[5]), "coverage": _num(r[6]), "calls": _num(r[7])}
        for r in top.itertuples(index=False)
    ]


def _num(v: Any) -> float | None:
    v = float(v)
    return None if not np.isfinite(v) else round(v, 6)


def summary_report(
    calls: pd.DataFrame,
    nbhd: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    years: tuple[int, ...],
    quality: dict[str, Any],
    opts: AnalysisOptions,
    taxonomy: Taxonomy,
    crs: CRS,
    *,
    rules: DiversionRules,
    records: pd.DataFrame | None = None,
) -> dict[str, Any]:
    uniq = calls["status"].cat.codes.to_numpy() != STATUS_ORDER.index("duplicate_id")
    base = calls["diversion_base"].to_numpy()
    placed_rows = calls["n_idx"].to_numpy() >= 0
    year = calls["year"].to_numpy()
    fam = calls["family_code"].to_numpy()
    diverted = calls["diverted"].to_numpy()
    covered = calls["covered"].to_numpy()
    end = calls["eligible"].to_numpy() & ~diverted

    def share(mask: np.ndarray, values: np.ndarray) -> float | None:
        n = int(mask.sum())
        return None if n == 0 else round(float(values[mask].sum() / n), 6)

    denominator = Denominator(opts.diversion_denominator or rules.denominator)
    # records from outside 911 (311 / online reports): diverted; in the share when counted
    rec_base = (np.zeros(0, dtype=bool) if records is None
                else records["diversion_base"].to_numpy(bool))
    rec_year = np.zeros(0, dtype=np.int32) if records is None else records["year"].to_numpy()
    counted = bool(rec_base.any())

    def diverted_share(mask: np.ndarray, rec: np.ndarray) -> float | None:
        n = int((mask & base).sum()) + int((rec & rec_base).sum())
        k = int((mask & base & diverted).sum()) + int((rec & rec_base).sum())
        return None if n == 0 else round(k / n, 6)

    everyone = np.ones(len(rec_base), dtype=bool)
    by_year = {str(y): uniq & (year == y) for y in years}
    fam_counts = np.bincount(fam[placed_rows], minlength=NONE_CODE + 1)
    return {
        "label": opts.label or "",
        "synthetic": opts.synthetic,
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "safetygap_version": __version__,
        "crs": crs.to_string(),
        "years": list(years),
        "taxonomy": {"name": taxonomy.name, "version": taxonomy.version},
        "totals": {
            "input_rows": len(calls),
            "unique_calls": int(uniq.sum()),
            "calls_in_areas": int(placed_rows.sum()),
            "by_family": {f: int(fam_counts[i]) for i, f in enumerate((*FAMILIES, "none"))},
            "by_year": {str(y): int((placed_rows & (year == y)).sum()) for y in years},
            "neighborhoods": len(nbhd),
            "wards": len(wards),
            "population": _num(np.nansum(nbhd["population"].to_numpy(float))),
        },
        "diverted_share": {"all": diverted_share(uniq, everyone),
                           **{y: diverted_share(m, rec_year == int(y))
                              for y, m in by_year.items()}},
        "eligible_not_diverted_share": {"all": share(uniq, end),
                                        **{y: share(m, end) for y, m in by_year.items()}},
        "diverted_by_agency": {str(k): int(v) for k, v in
                               calls["agency"][uniq & diverted].value_counts().items()},
        "diversion": {
            "rules": {"name": rules.name, "version": rules.version, "source": rules.source,
                      "checksum": rules.checksum()},
            "denominator": str(denominator),
            "denominator_words": denominator_words(denominator, outside_911=counted),
            "denominator_calls": int((uniq & base).sum()) + int(rec_base.sum()),
            "diverted_calls": int((uniq & diverted).sum()) + int(rec_base.sum()),
            "calls_911": {"denominator_calls": int((uniq & base).sum()),
                          "diverted_calls": int((uniq & base & diverted).sum()),
                          "diverted_share": share(uniq & base, diverted)},
            "outside_911": None if records is None else {
                "records": len(records), "counted": counted,
                "channel": str(records["channel"].iloc[0]) if len(records) else None,
                "located_by": {str(k): int(v) for k, v in
                               records["located_by"].value_counts(sort=False).items()}},
            "by_channel": channel_counts(pd.concat([
                calls["channel"][uniq].astype(object),
                pd.Series(dtype=object) if records is None
                else records["channel"][rec_base].astype(object)], ignore_index=True)),
            "by_rule": rule_counts(calls, uniq, rules=rules),
        },
        "families": {
            f: {
                "need_calls": int(fam_counts[i]),
                "coverage": share(placed_rows & (fam == i), covered),
            }
            for i, f in enumerate(FAMILIES)
        },
        "top_underserved": {
            "neighborhood": {f: _top(nbhd, f) for f in FAMILIES},
            "ward": {f: _top(wards, f, n=5) for f in FAMILIES},
        },
        "quality": {
            "status_counts": quality["calls"]["status_counts"],
            "areas_without_population": len(quality["population"]["areas_without_population"]),
            "areas_with_zero_population": len(
                quality["population"]["areas_with_zero_population"]),
            "providers_outside_boundaries": quality["providers"]["outside_boundaries"],
        },
        "diverted_share_basis": "unique calls (duplicate ids excluded), all locations, of "
                                + denominator_words(denominator, outside_911=counted),
    }


def manifest_report(
    inputs: AnalysisInputs,
    opts: AnalysisOptions,
    taxonomy: Taxonomy,
    crs: CRS,
    columns: ColumnMap,
    *,
    rules: DiversionRules,
) -> dict[str, Any]:
    files = {}
    for role in ("calls", "providers", "neighborhoods", "wards", "population", "taxonomy",
                 "network", "diversion_rules", "reports", "demographics",
                 "demographics_mapping", "fine_population"):
        p = getattr(inputs, role)
        if p is None:
            continue
        p = Path(p)
        files[role] = {"path": str(p.resolve()), "bytes": p.stat().st_size,
                       "sha256": sha256_file(p)}
    return {
        "safetygap_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": files,
        "options": opts.to_dict() | {"columns": columns.to_dict()},
        "crs": crs.to_string(),
        "taxonomy": {
            "name": taxonomy.name,
            "version": taxonomy.version,
            "source": taxonomy.source,
            "checksum": taxonomy.checksum(),
            "content": taxonomy.to_dict(),
        },
        "diversion_rules": rules.to_dict(),
        "synthetic": opts.synthetic,
        "label": opts.label or "",
        "host": os.uname().nodename if hasattr(os, "uname") else "",
    }
