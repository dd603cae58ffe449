"""Reading a population table keyed by area name (or id)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from safetygap.errors import Problems
from safetygap.inputs.files import read_table
from safetygap.inputs.malformed import DEFAULT_MAX_MALFORMED_SHARE, kept_row_numbers

NAME_CANDIDATES = ("neighborhood", "name", "area", "NAME", "BDNAME", "area_name")
POP_CANDIDATES = ("population", "pop", "POPULATION", "total_population", "POP")


@dataclass
class PopulationInput:
    path: Path
    frame: pd.DataFrame  # columns: name (str), population (float)
    bad_rows: list[dict]  # rows whose population was not a non-negative number


def read_population(
    path: str | os.PathLike,
    *,
    name_column: str | None = None,
    population_column: str | None = None,
    max_malformed_share: float = DEFAULT_MAX_MALFORMED_SHARE,
) -> PopulationInput:
    """Read a population table: one row per area with a name and a head count.

    Columns are found by the usual names when not given. A population that is
    not a non-negative number is a row fault: the row is kept out and listed in
    ``bad_rows`` (it ends up in the quality report), never silently dropped; so is a CSV
    row with another number of fields than the header (up to ``max_malformed_share`` of
    the rows, see :mod:`safetygap.inputs.malformed`).
    """
    table = read_table(path, where="population", max_malformed_share=max_malformed_share)
    frame = table.frame
    where = f"population {table.path}"
    problems = Problems()
    cols = list(frame.columns)
    name_col = name_column or next((c for c in NAME_CANDIDATES if c in cols), None)
    pop_col = population_column or next((c for c in POP_CANDIDATES if c in cols), None)
    if name_col is None or name_col not in cols:
        problems.add(where, "no area-name column", column=name_column,
                     allowed=[*NAME_CANDIDATES, "or option `population_name_column`"])
    if pop_col is None or pop_col not in cols:
        problems.add(where, "no population column", column=population_column,
                     allowed=[*POP_CANDIDATES, "or option `population_column`"])
    problems.raise_if_any()
    assert name_col is not None and pop_col is not None
    pop = pd.to_numeric(frame[pop_col], errors="coerce").to_numpy(float, na_value=np.nan)
    names = frame[name_col].astype("string").str.strip()
    bad = ~np.isfinite(pop) | (pop < 0) | names.isna().to_numpy()
    malformed = table.malformed
    skipped = malformed.data_rows() if malformed is not None else np.zeros(0, np.int64)
    rows = kept_row_numbers(0, len(frame), skipped)
    bad_rows = [
        {"row": int(rows[i]), "column": pop_col, "value": str(frame[pop_col].iat[i]),
         "name": None if pd.isna(names.iat[i]) else str(names.iat[i])}
        for i in np.flatnonzero(bad)
    ]
    if malformed:
        bad_rows += [{"row": int(r), "line": int(r) + 1, "column": None,
                      "value": f"malformed: {f} fields, the header has {malformed.expected}",
                      "name": None}
                     for r, f in zip(np.asarray(malformed.lines) - 1, malformed.fields,
                                     strict=True)]
        bad_rows.sort(key=lambda b: b["row"])
    out = pd.DataFrame({"name": names[~bad].to_numpy(), "population": pop[~bad]})
    dups = out["name"][out["name"].duplicated()]
    for d in sorted(set(dups)):
        problems.add(where, "area listed twice", column=name_col, value=d)
    problems.raise_if_any()
    return PopulationInput(table.path, out.reset_index(drop=True), bad_rows)
