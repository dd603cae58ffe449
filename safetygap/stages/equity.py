"""Demographics matched to the areas, and the equity report of a run.

A stage of :func:`safetygap.pipeline.analyze`: the demographic table (read in the
preflight) reaches the neighborhoods by name or id (the population's name matching and
aliases) or, for tract polygons, by area-weighted or dasymetric interpolation
(:mod:`safetygap.equity.interpolate`); wards get the neighborhoods' counts by the area
crosswalk, as population does. :func:`equity_report` computes per group the city's and each
ward's totals and shares, the population-weighted mean access per family and, when the
analysis has classes of underserved areas, the disparity per family.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from safetygap import FAMILIES
from safetygap.boundaries import crosswalk, match_names
from safetygap.boundaries.names import MINNEAPOLIS_ALIASES
from safetygap.equity.areas import AreaDemographics
from safetygap.equity.disparity import DEFAULT_DRAWS, GroupDraws, disparity, mean_access
from safetygap.equity.interpolate import (
    Weights,
    apportion_with_moe,
    area_weights,
    dasymetric_weights,
)
from safetygap.equity.moe import Z90, reliability
from safetygap.inputs.demographics import DemographicsInput, FinePopulation
from safetygap.tables import measures as M

NO_ROW = {
    "name": "no row of the table matches its name (after folding case, accents and "
            "punctuation, and the alias table of renamed neighborhoods)",
    "id": "no row of the table has its id",
    "geometry": "no source polygon of the table overlaps it",
}
NO_VALUES = "its row has no usable value for {what} (missing or not a number: see bad_values)"


@dataclass(frozen=True)
class Underserved:
    """One family's classification of the neighborhoods: ``point`` (bool per area: high
    need, low access), ``classified`` (bool per area: has a class at all) and optional
    bootstrap ``replicates`` (bool, ``(R, n_areas)``)."""

    point: np.ndarray
    classified: np.ndarray
    replicates: np.ndarray | None = None
    definition: str = ""


def underserved_from_tables(table: pd.DataFrame, replicates: pd.DataFrame | None = None,
                            *, underserved_class: int = 7, definition: str = ""
                            ) -> Underserved:
    """One family's :class:`Underserved` from the need/access classes of issue 13
    (``safetygap.underserved``): ``table`` has one row per neighborhood in layer order with
    ``underserved`` (bool) and ``ranked`` (bool: has a class); ``replicates`` has one row per
    bootstrap replicate and one column per area (layer order) holding the class (0 = not
    ranked), empty or None without a bootstrap."""
    reps = None
    if replicates is not None and len(replicates):
        reps = replicates.to_numpy() == underserved_class
    return Underserved(table["underserved"].to_numpy(bool), table["ranked"].to_numpy(bool),
                       reps, definition)


def match_demographics(din: DemographicsInput, nbhd: gpd.GeoDataFrame, *,
                       fine: FinePopulation | None = None
                       ) -> tuple[AreaDemographics, dict[str, Any]]:
    """Counts and MOEs per neighborhood (rows of ``nbhd``, in its projected CRS) from the
    table, and the join's quality record: which rows matched (and how), which areas got no
    data and why."""
    spec = din.spec
    quality: dict[str, Any] = {
        "file": str(din.path), "layout": spec.name, "layout_origin": spec.origin,
        "source": spec.source, "key": {"column": spec.key_column, "by": spec.key_by},
        "groups": [g.key for g in spec.groups], "skipped_groups": din.skipped_groups,
        "rows": din.rows, "rows_kept": din.rows_kept, "bad_values": din.bad_values,
        "group_above_universe": din.group_above_universe,
    }
    names = nbhd["name"].astype(str).tolist()
    if spec.key_by == "geometry":
        src = gpd.GeoDataFrame(geometry=din.geometry, crs=din.crs).to_crs(nbhd.crs)
        if fine is not None:
            fg = gpd.GeoDataFrame(fine.frame[["population"]], geometry=fine.frame["geometry"],
                                  crs=fine.crs).to_crs(nbhd.crs)
            weights = dasymetric_weights(src, nbhd, fg, population_column="population")
        else:
            weights = area_weights(src, nbhd)
        inside = weights.inside
        quality.update({
            "method": "dasymetric" if fine is not None else "area-weighted",
            "crs": din.crs, "crs_source": din.crs_source,
            "finer_population": None if fine is None else
            {"file": str(fine.path), "column": fine.column, "features": len(fine.frame),
             "population": float(fine.frame["population"].sum()),
             "crs": fine.crs, "crs_source": fine.crs_source},
            "sources": len(src),
            "sources_outside": int((inside <= 1e-9).sum()),
            "sources_partly_outside": int(((inside > 1e-9) & (inside < 0.999)).sum()),
            "sources_without_finer_population": list(weights.fallback),
        })
    else:
        keys = din.keys or []
        if spec.key_by == "name":
            matched = match_names(keys, names, aliases=MINNEAPOLIS_ALIASES)
        else:
            ids = set(nbhd["area_id"].astype(str))
            matched = {k: (k if k in ids else None) for k in keys}
        pos = {n: i for i, n in enumerate(names if spec.key_by == "name"
                                          else nbhd["area_id"].astype(str))}
        rows = [i for i, k in enumerate(keys) if matched[k] is not None]
        frame = pd.DataFrame({"source": rows, "target": [pos[matched[keys[i]]] for i in rows],
                              "weight": 1.0})
        weights = Weights(frame, len(keys), len(nbhd), spec.key_by)
        quality.update({
            "method": f"by {spec.key_by}",
            "matched_rows": len(rows),
            "matched_by_alias_or_folding": {k: t for k, t in matched.items()
                                            if t is not None and t != k},
            "unmatched_rows": [{"key": k, "reason": f"no neighborhood has this {spec.key_by}"}
                               for k in keys if matched[k] is None],
        })
    est, moe = {}, {}
    for key in din.estimate:
        est[key], moe[key] = apportion_with_moe(din.estimate[key], din.moe[key], weights)
    demo = AreaDemographics(spec, est, moe)
    reached = np.bincount(weights.frame["target"].to_numpy(), minlength=len(nbhd)) > 0
    missing = []
    for i, name in enumerate(names):
        if not reached[i]:
            missing.append({"area_id": str(nbhd["area_id"].iat[i]), "name": name,
                            "reason": NO_ROW[spec.key_by]})
            continue
        empty = [k for k in est if not np.isfinite(est[k][i])]
        if empty:
            missing.append({"area_id": str(nbhd["area_id"].iat[i]), "name": name,
                            "reason": NO_VALUES.format(what=", ".join(empty))})
    quality["areas"] = len(nbhd)
    quality["areas_with_data"] = len(nbhd) - len(missing)
    quality["areas_without_data"] = missing
    quality["notes"] = (
        "Every official area either gets the table's counts or is listed in "
        "areas_without_data with the reason. Margins of error are the table's (90%); counts "
        "moved between areas carry them by the weighted-sum formula (docs/METHODS.md, Equity).")
    return demo, quality



NO_CLASSES_NOTE = (
    "The disparity needs the analysis's classes of underserved areas (high need, low "
    "access); this analysis has none, so only shares and mean access are reported.")


def _group_block(demo: AreaDemographics, key: str, draws: GroupDraws,
                 access: Mapping[str, np.ndarray],
                 underserved: Mapping[str, Underserved] | None, weights: np.ndarray | None,
                 *, seed: int) -> dict[str, Any]:
    total = demo.total(key, weights)
    shown: dict[str, Any] = {k: (None if not np.isfinite(v) else round(float(v), 6))
                             for k, v in total.items()}
    shown["areas"] = int(total["areas"])
    share, moe = total["share"], total["share_moe"]
    shown["share_cv"] = (round(float(moe / Z90 / share), 6)
                         if np.isfinite(moe) and np.isfinite(share) and share > 0 else None)
    shown["reliability"] = str(reliability(np.inf if share == 0 and moe > 0 else
                                           (moe / Z90 / share if share > 0 else np.nan),
                                           caution=demo.caution, unreliable=demo.unreliable)
                               .item())
    out: dict[str, Any] = {
        "total": shown,
        "mean_access": {f: mean_access(draws, access[f], weights=weights).to_dict()
                        for f in access},
        "disparity": None,
    }
    if underserved is not None:
        out["disparity"] = {
            f: disparity(draws, u.point, classified=u.classified, replicates=u.replicates,
                         weights=weights, seed=seed,
                         group_moe=demo.moe[key] if demo.spec.has_moe(key) else None
                         ).to_dict()
            for f, u in underserved.items()}
    return out


def equity_report(demo: AreaDemographics, nbhd: gpd.GeoDataFrame, wards: gpd.GeoDataFrame,
                  cw: pd.DataFrame, *, underserved: Mapping[str, Underserved] | None = None,
                  n_draws: int = DEFAULT_DRAWS, seed: int = 0) -> dict[str, Any]:
    """``equity.json``: per group, for the city and for each ward (its neighborhoods
    weighted by their share of area in it, the crosswalk ``cw``), the totals and share with
    MOEs, the population-weighted mean access per family (``access_<family>`` of ``nbhd``)
    and, with ``underserved`` classes per family, the disparity; Monte Carlo intervals with
    ``n_draws`` draws seeded by ``seed``."""
    spec = demo.spec
    access = {f: nbhd[M.column(M.ACCESS, f)].to_numpy(float) for f in FAMILIES
              if M.column(M.ACCESS, f) in nbhd.columns}
    src, tgt, w = (cw["source"].to_numpy(), cw["target"].to_numpy(),
                   cw["weight"].to_numpy(float))

    draws = {g.key: demo.draws(g.key, n_draws=n_draws, seed=seed * 1000 + k)
             for k, g in enumerate(spec.groups)}  # one set per group: city and wards agree

    def blocks(weights: np.ndarray | None) -> dict[str, Any]:
        return {g.key: _group_block(demo, g.key, draws[g.key], access, underserved, weights,
                                    seed=seed * 1000 + k)
                for k, g in enumerate(spec.groups)}

    ward_out = {}
    for j in range(len(wards)):
        weights = np.zeros(len(nbhd))
        sel = tgt == j
        np.add.at(weights, src[sel], w[sel])
        ward_out[str(wards["area_id"].iat[j])] = {"name": str(wards["name"].iat[j]),
                                                  "groups": blocks(weights)}
    return {
        "layout": {"name": spec.name, "source": spec.source, "notes": spec.notes},
        "groups": [{"key": g.key, "label": g.label, "category": g.category,
                    "universe": g.universe, "universe_label": spec.universe(g.universe).label,
                    "has_moe": spec.has_moe(g.key)} for g in spec.groups],
        "families": list(access),
        "settings": {"draws": n_draws, "seed": seed, "level": 0.9, "z": Z90,
                     "cv_caution": demo.caution, "cv_unreliable": demo.unreliable},
        "disparity_available": underserved is not None,
        "underserved_definition": None if underserved is None else
        {f: u.definition for f, u in underserved.items()},
        "notes": NO_CLASSES_NOTE if underserved is None else "",
        "city": {"groups": blocks(None)},
        "wards": ward_out,
    }


def equity_outputs(demo: AreaDemographics, nbhd: gpd.GeoDataFrame, wards: gpd.GeoDataFrame,
                   *, underserved: Mapping[str, Underserved] | None = None,
                   n_draws: int = DEFAULT_DRAWS, seed: int = 0
                   ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, Any]]:
    """The neighborhood and ward layers with the per-area group columns
    (:meth:`AreaDemographics.columns`; wards get the neighborhoods' counts by the area
    crosswalk, MOEs by the weighted-sum formula) and ``equity.json``
    (:func:`equity_report`). Refuses to overwrite an existing column."""
    cw = crosswalk(nbhd, wards)
    demo_w = demo.apportion(Weights(cw[["source", "target", "weight"]], len(nbhd),
                                    len(wards), "area crosswalk"))
    out = []
    for layer, d in ((nbhd, demo), (wards, demo_w)):
        cols = d.columns()
        clash = [c for c in cols.columns if c in layer.columns]
        if clash:
            raise ValueError(f"equity columns already in the layer: {clash[:5]}")
        frame = pd.concat([layer.drop(columns=layer.geometry.name).reset_index(drop=True),
                           cols], axis=1)
        out.append(gpd.GeoDataFrame(frame, geometry=layer.geometry.to_numpy(),
                                    crs=layer.crs))
    report = equity_report(demo, nbhd, wards, cw, underserved=underserved, n_draws=n_draws,
                           seed=seed)
    return out[0], out[1], report
