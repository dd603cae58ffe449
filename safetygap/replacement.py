"""Checking a new input file against the analysis whose input it would replace.

An uploaded file must not break the next re-run. :func:`check_replacement` runs every
check a re-run of the workspace makes before its heavy steps, with the new file in
place of its role and the analysis' other recorded inputs and options:

- the whole preflight (:func:`safetygap.stages.preflight.preflight`): taxonomy,
  boundaries (finite coordinates a CRS can place on the Earth), analysis CRS, the wards
  overlapping the neighborhoods, providers, population, the calls header;
- a new calls file is read whole as the run reads it (malformed rows within their share,
  coordinates in the analysis CRS, the swapped-coordinates check on the neighborhoods);
- a new providers or boundary file: the providers are placed on the boundaries (the
  areas each provider serves must exist);
- a diversion rule set or a reports file (records from outside 911): read as the
  preflight reads them.

When the analysis' other inputs cannot be found any more (moved or deleted), only the
new file itself is read, and a warning says what could not be checked.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from safetygap.errors import ValidationError
from safetygap.inputs.malformed import DEFAULT_MAX_MALFORMED_SHARE

ROLES = ("calls", "providers", "neighborhoods", "wards", "population", "diversion_rules",
         "reports")
"""Inputs that can be replaced."""


def check_replacement(root: str | os.PathLike, role: str, path: str | os.PathLike) -> int:
    """Rows of ``path`` as the ``role`` input of a re-run of the workspace ``root``;
    raises a ValidationError naming every problem a re-run would meet before its heavy
    steps (see module docstring)."""
    from safetygap.geo.join import assign_areas
    from safetygap.inputs import read_calls
    from safetygap.run import rerun_plan
    from safetygap.stages.places import place_providers, to_crs_xy
    from safetygap.stages.preflight import preflight
    from safetygap.stages.rows import swapped_coordinates

    if role not in ROLES:
        raise ValidationError(f"role {role!r}: not one of {', '.join(ROLES)}")
    path = Path(path)
    try:
        inputs, options = rerun_plan(root, {role: path})
    except ValidationError as exc:
        warnings.warn(f"{role} {path}: read on its own, not with the analysis' other inputs "
                      f"({exc.problems[0].message if exc.problems else exc})", stacklevel=2)
        return _read_alone(role, path, Path(root))
    checked = preflight(inputs, options)
    if role == "calls":
        cin = read_calls(path, columns=options.columns, encoding=options.encoding,
                         max_malformed_share=options.max_malformed_share)
        x, y = to_crs_xy(cin.frame["x"].to_numpy(), cin.frame["y"].to_numpy(), cin.crs,
                         checked.crs)
        n_idx = assign_areas((x, y), checked.neighborhoods, crs=checked.crs)
        swapped_coordinates(cin, n_idx, checked.neighborhoods)
        return len(cin.frame)
    if role in ("providers", "neighborhoods", "wards"):
        prov = checked.providers
        place_providers(prov.frame, prov.crs, checked.crs, checked.taxonomy,
                        checked.neighborhoods, checked.wards, mode=options.mode,
                        today=options.as_of, stale_after_months=options.stale_after_months,
                        where=f"providers {prov.path}")
    if role == "providers":
        return len(checked.providers.frame)
    if role == "population":
        assert checked.population is not None
        return len(checked.population.frame) + len(checked.population.bad_rows)
    if role == "diversion_rules":
        return len(checked.rules.rules)
    if role == "reports":
        assert checked.records is not None
        return len(checked.records.frame)
    return len(checked.neighborhoods if role == "neighborhoods" else checked.wards)


def _read_alone(role: str, path: Path, root: Path) -> int:
    """Rows of ``path`` read with the readers and recorded options of the analysis."""
    from safetygap.boundaries import load_boundaries
    from safetygap.inputs import ColumnMap, read_calls, read_population, read_providers
    from safetygap.taxonomy import taxonomy_from_content
    from safetygap.workspace import Workspace

    manifest = Workspace.open(root).manifest
    opts = manifest.get("options", {})
    encoding = opts.get("encoding", "utf-8")
    if role == "calls":
        return len(read_calls(path, columns=ColumnMap(**opts.get("columns", {})),
                              encoding=encoding,
                              max_malformed_share=opts.get("max_malformed_share",
                                                           DEFAULT_MAX_MALFORMED_SHARE)
                              ).frame)
    if role == "providers":
        taxonomy = taxonomy_from_content(manifest["taxonomy"]["content"],
                                         label="the served analysis")
        return len(read_providers(path, taxonomy=taxonomy, crs=opts.get("providers_crs"),
                                  encoding=encoding).frame)
    if role == "population":
        pin = read_population(path, name_column=opts.get("population_name_column"),
                              population_column=opts.get("population_column"))
        return len(pin.frame) + len(pin.bad_rows)
    if role == "reports":
        from safetygap.inputs import read_records

        return len(read_records(path, columns=opts.get("reports_columns"),
                                encoding=encoding).frame)
    if role == "diversion_rules":
        from safetygap.diversion import load_rules

        return len(load_rules(path).rules)
    key = "neighborhood" if role == "neighborhoods" else "ward"
    return len(load_boundaries(path, layer=role, id_column=opts.get(f"{key}_id"),
                               name_column=opts.get(f"{key}_name"))[0])
