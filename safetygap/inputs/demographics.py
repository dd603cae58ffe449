"""Reading a demographic table (ACS-style counts with margins of error) by area.

The table is a CSV, (Geo)Parquet or GeoPackage (any format :func:`read_table` reads),
one row per area keyed by area name or id, or one polygon per source area (census tracts)
to be interpolated into the neighborhoods. Which columns are which group, universe and
margin of error is a layout (:mod:`safetygap.equity.spec`): given as a TOML file
(``--demographics-mapping``), or recognised from the header among the packaged layouts
(Minnesota Compass neighborhood profiles, the demo city's table), keeping the groups whose
columns the file has.

A value that is not a non-negative number is a value fault: it becomes "no data" for that
area and is listed in ``bad_values`` (it ends up in the quality report), never raised.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from safetygap.equity.moe import moe_sum
from safetygap.equity.spec import (
    PACKAGED_LAYOUTS,
    DemographicsSpec,
    load_spec,
    packaged_spec,
)
from safetygap.errors import Problems, option
from safetygap.geo.crs import declared_crs
from safetygap.inputs.files import columns_note, missing_columns, read_table

__all__ = ["DemographicsInput", "detect_layout", "read_demographics"]

MAX_BAD_LISTED = 50


@dataclass
class DemographicsInput:
    """A read demographic table, one entry per kept row (after the layout's filter).

    ``estimate[key]`` and ``moe[key]`` per universe and group key (a group of several
    columns summed, its MOE by the sum formula; ``moe[key]`` None when the layout has no
    MOE column). ``keys``: the area names or ids (None when the rows are polygons to
    interpolate: ``geometry`` and ``crs``; ``crs_source``: the file's own CRS, or one
    declared for a file that carries none, see :func:`safetygap.geo.crs.declared_crs`)."""

    path: Path
    spec: DemographicsSpec
    keys: list[str] | None
    estimate: dict[str, np.ndarray]
    moe: dict[str, np.ndarray | None]
    geometry: np.ndarray | None = None
    crs: str | None = None
    rows: int = 0
    rows_kept: int = 0
    bad_values: list[dict] = field(default_factory=list)
    skipped_groups: list[dict] = field(default_factory=list)
    group_above_universe: dict[str, int] = field(default_factory=dict)
    crs_source: str = "file"


def detect_layout(header: list[str], where: str) -> tuple[DemographicsSpec, list[dict]]:
    """The packaged layout whose key, filter and universe columns the header has, with the
    groups whose columns it has too; raises naming what each layout misses."""
    problems = Problems()
    misses = []
    for name in PACKAGED_LAYOUTS:
        spec = packaged_spec(name)
        needed = ([spec.key_column] if spec.key_by != "geometry" else []) + \
            ([spec.filter_column] if spec.filter_column else []) + \
            [u.count for u in spec.universes]
        missing = [c for c in needed if c not in header]
        if missing:
            misses.append(f"{name}: no {missing[0]!r}" +
                          (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
            continue
        kept = [g.key for g in spec.groups
                if all(c in header for c in (*g.count, *(g.moe or ())))
                and g.universe in {u.key for u in spec.universes}
                and (spec.universe(g.universe).moe in (None, *header))]
        skipped = [{"group": g.key, "missing": [c for c in (*g.count, *(g.moe or ()))
                                                if c not in header]}
                   for g in spec.groups if g.key not in kept]
        if kept:
            return spec.select(kept), skipped
        misses.append(f"{name}: none of its group columns")
    problems.add(where, "the columns match no packaged demographics layout ("
                 + "; ".join(misses) + ")",
                 allowed="a layout file: option `demographics_mapping` FILE.toml "
                         "(docs/METHODS.md, Equity)")
    problems.note(columns_note(where, header))
    problems.raise_if_any()
    raise AssertionError  # pragma: no cover


def read_demographics(
    path: str | os.PathLike,
    *,
    mapping: str | os.PathLike | DemographicsSpec | None = None,
    groups: Sequence[str] | None = None,
    encoding: str = "utf-8",
    crs: str | None = None,
) -> DemographicsInput:
    """Read a demographic table with its layout (``mapping``: a TOML file or a spec; None:
    recognised among the packaged layouts); ``groups`` keeps only those group keys.

    ``crs`` declares the CRS of polygons to interpolate (census tracts) for a file that
    carries none (a shapefile without its ``.prj``); for a file with a CRS it must agree
    with the file's own. Polygons without any CRS are an error naming the option."""
    table = read_table(path, where="demographics", encoding=encoding)
    where = f"demographics {table.path}"
    frame = table.frame
    header = [str(c) for c in frame.columns]
    skipped: list[dict] = []
    if mapping is None:
        spec, skipped = detect_layout(header, where)
    elif isinstance(mapping, DemographicsSpec):
        spec = mapping
    else:
        spec = load_spec(mapping)
    if groups:
        spec = spec.select(groups)
    problems = missing_columns(header, spec.columns(), where)
    if spec.key_by == "geometry" and table.geometry is None:
        problems.add(where, "the layout interpolates by geometry but the file has none",
                     allowed="a GeoPackage or GeoParquet of polygons (census tracts), or "
                             "[key] by = \"name\" or \"id\"")
    crs_used, crs_source = table.crs, "file"
    if spec.key_by == "geometry" and table.geometry is not None:
        crs_used, crs_source = declared_crs(table.crs, crs, where=where,
                                            opt=option("demographics_crs"), problems=problems)
    elif crs is not None:
        problems.add(where, f"{option('demographics_crs')} declares the CRS of polygons to "
                     f"interpolate, but the layout matches the rows by {spec.key_by}",
                     value=crs, allowed="leave it out, or a layout with [key] by = "
                                        "\"geometry\"")
    problems.raise_if_any()
    rows = len(frame)
    keep = np.ones(rows, dtype=bool)
    if spec.filter_column:
        keep = (frame[spec.filter_column].astype("string").str.strip()
                == spec.filter_value).fillna(False).to_numpy(bool)
    kept = frame[keep].reset_index(drop=True)
    row_no = np.flatnonzero(keep) + 1  # 1-based data row of the file

    bad: list[dict] = []
    parsed: dict[str, np.ndarray] = {}
    for col in spec.columns():
        if col in (spec.key_column, spec.filter_column):
            continue
        raw = kept[col]
        num = pd.to_numeric(raw, errors="coerce").to_numpy(float, na_value=np.nan)
        text = raw.astype("string").str.strip()
        given = text.notna().to_numpy() & (text.fillna("") != "").to_numpy()
        faulty = given & (~np.isfinite(num) | (num < 0))
        for i in np.flatnonzero(faulty):
            bad.append({"row": int(row_no[i]), "column": col, "value": str(raw.iat[i])[:40]})
        num[faulty] = np.nan
        parsed[col] = num

    estimate: dict[str, np.ndarray] = {}
    moe: dict[str, np.ndarray | None] = {}
    for u in spec.universes:
        estimate[u.key] = parsed[u.count]
        moe[u.key] = None if u.moe is None else parsed[u.moe]
    above: dict[str, int] = {}
    for g in spec.groups:
        ests = np.vstack([parsed[c] for c in g.count])
        estimate[g.key] = ests.sum(axis=0)  # NaN when any part is missing
        moe[g.key] = None if g.moe is None else \
            moe_sum(np.vstack([parsed[c] for c in g.moe]), ests)
        n_above = int(np.sum(estimate[g.key] > estimate[g.universe] * (1 + 1e-9) + 1e-9))
        if n_above:
            above[g.key] = n_above

    keys = None
    if spec.key_by != "geometry":
        names = kept[spec.key_column].astype("string").str.strip()
        missing_key = names.isna().to_numpy() | (names.fillna("") == "").to_numpy()
        for i in np.flatnonzero(missing_key):
            problems.add(f"{where} row {int(row_no[i])}", "no area name or id",
                         column=spec.key_column)
        keys = [str(n) for n in names.fillna("")]
        seen: set[str] = set()
        for k in keys:
            if k and k in seen:
                problems.add(where, "area listed twice", column=spec.key_column, value=k)
            seen.add(k)
        problems.raise_if_any()
    geometry = None if table.geometry is None or spec.key_by != "geometry" else \
        np.asarray(table.geometry)[keep]
    return DemographicsInput(
        path=table.path, spec=spec, keys=keys, estimate=estimate, moe=moe,
        geometry=geometry, crs=crs_used, crs_source=crs_source, rows=rows,
        rows_kept=int(keep.sum()),
        bad_values=bad[:MAX_BAD_LISTED] + ([{"more": len(bad) - MAX_BAD_LISTED}]
                                           if len(bad) > MAX_BAD_LISTED else []),
        skipped_groups=skipped, group_above_universe=above)


FINE_POPULATION_CANDIDATES = ("population", "pop", "POP", "POPULATION", "P1_001N", "POP20",
                              "total_population")


@dataclass
class FinePopulation:
    """A finer population layer for dasymetric interpolation: polygons (blocks) or points
    (address points) with a head count, in the file's CRS (or the one declared for a file
    that carries none: ``crs_source``)."""

    path: Path
    frame: pd.DataFrame  # columns: population (float), geometry (shapely)
    crs: str | None
    column: str
    crs_source: str = "file"


def read_fine_population(path: str | os.PathLike, *, column: str | None = None,
                         crs: str | None = None) -> FinePopulation:
    """Read a finer population layer (GeoPackage, GeoParquet, GeoJSON, ...): geometry and a
    non-negative head count per feature (column found by the usual names when not given).
    Rows whose count is not a non-negative number count 0 and are listed by the caller.
    ``crs`` declares the layer's CRS for a file that carries none (it must agree with the
    file's own otherwise)."""
    table = read_table(path, where="finer population")
    where = f"finer population {table.path}"
    problems = Problems()
    cols = [str(c) for c in table.frame.columns]
    col = column or next((c for c in FINE_POPULATION_CANDIDATES if c in cols), None)
    if col is None or col not in cols:
        problems.add(where, "no population column", column=column,
                     allowed=[*FINE_POPULATION_CANDIDATES, "or option `fine_population_column`"])
    if table.geometry is None:
        problems.add(where, "no geometry", allowed="polygons (blocks) or points (address "
                                                   "points) with a population column")
    crs_used, crs_source = table.crs, "file"
    if table.geometry is not None:
        crs_used, crs_source = declared_crs(table.crs, crs, where=where,
                                            opt=option("fine_population_crs"),
                                            problems=problems)
    problems.raise_if_any()
    assert col is not None
    pop = pd.to_numeric(table.frame[col], errors="coerce").to_numpy(float, na_value=np.nan)
    frame = pd.DataFrame({"population": np.where(np.isfinite(pop) & (pop >= 0), pop, 0.0),
                          "geometry": table.geometry})
    return FinePopulation(table.path, frame, crs_used, col, crs_source)
