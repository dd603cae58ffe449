"""Reading a service-provider file.

Provider file format (CSV, GeoJSON, GeoPackage or GeoParquet; see
``docs/PROVIDERS.md`` and the template ``safetygap/data/providers_template.csv``):

``provider_id``   optional unique id (row number when absent)
``name``          display name
``service_type``  a service type of the taxonomy (e.g. ``bcr_team``, ``youth_program``)
``family``        optional; when given it must equal the service type's family
``capacity``      positive number (staff, beds, weekly client slots... one unit per file)
``latitude``/``longitude`` (WGS84), or ``x``/``y`` with a declared CRS, or point geometry;
                  a row with ``serves`` (areas served) may leave them empty.
Optional inventory columns (organisation, programme, address, capacity_unit,
opening_hours, eligibility, languages, phone, website, source, last_verified,
serves): :mod:`safetygap.inputs.inventory_fields`.

Providers are a small curated list, so a bad row is a hard error naming the
row, column and value (unlike calls, where row faults are only counted).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from safetygap.errors import option
from safetygap.inputs.files import missing_columns, points_xy, read_table
from safetygap.inputs.inventory_fields import INVENTORY_COLUMNS, inventory_fields
from safetygap.taxonomy import Taxonomy

MAX_CAPACITY = 1_000_000.0
"""Largest capacity of one provider (in the file's unit, e.g. staff FTE)."""
PROVIDER_COLUMNS = ("provider_id", "name", "family", "service_type", "capacity", "x", "y",
                    *INVENTORY_COLUMNS)
"""Columns of a validated provider table: the analysis' own, then the inventory fields
(strings, "" where not given)."""


@dataclass
class ProvidersInput:
    path: Path
    frame: pd.DataFrame  # PROVIDER_COLUMNS; x, y in ``crs``
    crs: str


def read_providers(
    path: str | os.PathLike,
    *,
    taxonomy: Taxonomy,
    crs: str | None = None,
    encoding: str = "utf-8",
    crs_option: str = "providers_crs",
) -> ProvidersInput:
    """Read and validate a provider file; every bad row is reported at once.

    ``crs_option`` is the option that declares ``crs``, named in the messages.
    """
    table = read_table(path, where="providers", encoding=encoding,
                       max_malformed_share=0.0)  # a curated list: every row counts
    frame, src_crs = providers_from_frame(
        table.frame, taxonomy=taxonomy, crs=crs, where=f"providers {table.path}",
        geometry=table.geometry, geometry_crs=table.crs, crs_option=crs_option)
    return ProvidersInput(table.path, frame, src_crs)


def providers_from_frame(
    frame: pd.DataFrame,
    *,
    taxonomy: Taxonomy,
    crs: str | None = None,
    where: str = "providers",
    geometry: object | None = None,
    geometry_crs: str | None = None,
    crs_option: str = "providers_crs",
    today: dt.date | None = None,
) -> tuple[pd.DataFrame, str]:
    """Validate provider rows (a table already read, or rows sent to the API).

    Returns (frame with ``PROVIDER_COLUMNS``, CRS of its x/y). ``where``
    names the source in error messages, ``crs_option`` the option that gives ``crs``
    (``--providers-crs`` of ``analyze`` and ``whatif``, ``--candidates-crs`` of ``site``).
    ``today`` is the date ``last_verified`` may not pass (default: today).
    """
    cols = set(frame.columns)
    named = "name" in cols or bool({"organisation", "programme"} & cols)
    problems = missing_columns([str(c) for c in frame.columns],
                               ["service_type", "capacity"] + ([] if named else ["name"]),
                               where)
    if {"latitude", "longitude"} <= cols:
        x = pd.to_numeric(frame["longitude"], errors="coerce").to_numpy(float, na_value=np.nan)
        y = pd.to_numeric(frame["latitude"], errors="coerce").to_numpy(float, na_value=np.nan)
        src_crs = crs or "EPSG:4326"
        coord_col = "latitude/longitude"
    elif {"x", "y"} <= cols:
        x = pd.to_numeric(frame["x"], errors="coerce").to_numpy(float, na_value=np.nan)
        y = pd.to_numeric(frame["y"], errors="coerce").to_numpy(float, na_value=np.nan)
        src_crs = crs
        coord_col = "x/y"
        if crs is None:
            problems.add(where, "x/y columns need a declared CRS", column="x/y",
                         allowed=f"{option(crs_option)} EPSG:n")
    elif geometry is not None:
        x, y, _ = points_xy(geometry)
        src_crs = crs or geometry_crs
        coord_col = "geometry"
        if src_crs is None:
            problems.add(where, "no CRS: the file declares none and none was given",
                         allowed=f"{option(crs_option)} EPSG:n")
    elif "serves" in cols:  # every row must then serve areas (checked per row)
        x = y = np.full(len(frame), np.nan)
        src_crs = crs or "EPSG:4326"
        coord_col = "latitude/longitude"
    else:
        problems.add(where, "no coordinates", allowed="latitude/longitude, x/y, or point geometry")
    problems.raise_if_any()

    n = len(frame)
    if n == 0:
        problems.add(where, "no providers in the file (header only)")
    # the row number where no id is given (no column, or a blank cell)
    ids = pd.Series([f"P{i + 1:04d}" for i in range(n)], dtype="string", index=frame.index)
    if "provider_id" in cols:
        given = frame["provider_id"].astype("string").str.strip()
        ids = given.where(given.notna() & (given != ""), ids)
    dup = ids[ids.duplicated(keep=False) & ids.notna()]
    for v in sorted(set(dup.dropna()))[:10]:
        problems.add(where, "duplicate provider_id", column="provider_id", value=v)
    names = _names(frame)
    stypes = frame["service_type"].astype("string").str.strip()
    cap = pd.to_numeric(frame["capacity"], errors="coerce")
    fam = frame["family"].astype("string").str.strip() if "family" in cols else None
    allowed_types = sorted(taxonomy.service_types)
    inventory = inventory_fields(frame, stypes, where=where, problems=problems, today=today)
    serving = (inventory["serves"] != "").to_numpy()
    # plain lists and arrays: per-cell pandas access cost seconds on thousands of
    # candidate sites
    st_list = stypes.tolist()
    fam_list = fam.tolist() if fam is not None else None
    cap_values = cap.to_numpy(dtype=float, na_value=np.nan)
    raw_caps = frame["capacity"].tolist()
    name_list = names.tolist()
    for i in range(n):
        rowlabel = f"{where} row {i + 1}"
        st = st_list[i]
        if pd.isna(st) or st not in taxonomy.service_types:
            problems.add(rowlabel, "unknown service type", column="service_type",
                         value=None if pd.isna(st) else str(st), allowed=allowed_types)
        elif fam_list is not None and not pd.isna(fam_list[i]) and fam_list[i] != "":
            want = taxonomy.service_types[str(st)].family
            if fam_list[i] != want:
                problems.add(rowlabel, f"family does not match service type {st!r}",
                             column="family", value=str(fam_list[i]), allowed=[want])
        c = cap_values[i]
        if not np.isfinite(c) or c <= 0 or c > MAX_CAPACITY:
            raw = raw_caps[i]
            problems.add(rowlabel, f"capacity must be a positive number up to "
                                   f"{MAX_CAPACITY:,.0f}", column="capacity",
                         value=None if raw is None or raw is pd.NA
                         or (isinstance(raw, float) and np.isnan(raw)) else str(raw))
        if pd.isna(name_list[i]) or str(name_list[i]).strip() == "":
            problems.add(rowlabel, "name is empty", column="name")
        placeless = (not pd.isna(st) and st in taxonomy.service_types
                     and taxonomy.service_types[str(st)].placeless)
        if not (np.isfinite(x[i]) and np.isfinite(y[i])) and (serving[i] or placeless):
            pass  # placed inside the areas it serves (safetygap.stages.places), or no place
        elif not (np.isfinite(x[i]) and np.isfinite(y[i])):
            problems.add(rowlabel, "missing or unreadable coordinates", column=coord_col)
        elif src_crs and src_crs.upper() == "EPSG:4326" and (abs(y[i]) > 90 or abs(x[i]) > 180):
            swapped = abs(x[i]) <= 90 and abs(y[i]) <= 180
            problems.add(rowlabel, "coordinates out of range for longitude/latitude"
                         + (" (latitude and longitude exchanged?)" if swapped else ""),
                         column=coord_col, value=f"latitude {y[i]}, longitude {x[i]}")
        if len(problems.items) > 50:
            break
    problems.raise_if_any()
    out = pd.DataFrame({
        "provider_id": ids.to_numpy(),
        "name": names.str.strip().to_numpy(),
        "family": [taxonomy.service_types[str(s)].family for s in stypes],
        "service_type": stypes.to_numpy(),
        "capacity": cap.to_numpy(dtype=float),
        "x": x,
        "y": y,
    })
    for c in INVENTORY_COLUMNS:
        out[c] = inventory[c].to_numpy()
    assert src_crs is not None
    return out, src_crs


def _names(frame: pd.DataFrame) -> pd.Series:
    """The display name: ``name``, else ``programme (organisation)``, else either one."""
    def col(c: str) -> pd.Series:
        if c not in frame.columns:
            return pd.Series([pd.NA] * len(frame), index=frame.index, dtype="string")
        s = frame[c].astype("string").str.strip()
        return s.where(s != "", pd.NA)

    name, prog, org = col("name"), col("programme"), col("organisation")
    both = prog + " (" + org + ")"
    return name.fillna(both).fillna(prog).fillna(org)
