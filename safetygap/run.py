"""Jobs shared by the CLI and the API: analyse into a workspace, build the demo, re-run a
workspace into a new version and swap it in (:mod:`safetygap.versions`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path

from safetygap import versions
from safetygap._progress import Progress
from safetygap.errors import Problems, ValidationError
from safetygap.inputs import ColumnMap
from safetygap.inputs.sources import resolve_calls
from safetygap.methods import Methods
from safetygap.pipeline import (
    STEPS,
    Analysis,
    AnalysisInputs,
    AnalysisOptions,
    analyze,
    default_inputs,
)
from safetygap.vocab import TravelKind, TravelMode
from safetygap.workspace import Workspace, write_workspace

INPUT_ROLES = ("calls", "providers", "neighborhoods", "wards", "population", "taxonomy",
               "network", "diversion_rules", "reports", "demographics",
               "demographics_mapping", "fine_population", "population_layer")
"""Input files of an analysis a re-run takes from the manifest (or an override)."""


def run_analysis(
    inputs: AnalysisInputs,
    out: str | os.PathLike,
    *,
    options: AnalysisOptions | None = None,
    quiet: bool = False,
) -> Analysis:
    """Analyse ``inputs`` and write the workspace ``out``; progress on stderr."""
    progress = Progress(len(STEPS) + 1, enabled=not quiet)  # the analysis, then writing
    analysis = analyze(inputs, options=options, progress=progress)
    if inputs.calls_origin is not None:  # read from a local copy: name what was copied
        analysis.quality.calls.file = inputs.calls_origin
    with progress.step("writing workspace") as info:
        try:
            write_workspace(analysis, out)
        finally:  # the streaming engine's temporary folder, moved out of when written
            if analysis.calls_file is not None:
                shutil.rmtree(analysis.calls_file.parent, ignore_errors=True)
        info["note"] = str(out)
    analysis.timings = dict(progress.timings)
    return analysis


def run_demo(
    out: str | os.PathLike,
    *,
    seed: int = 2025,
    n_calls: int = 650_000,
    quiet: bool = False,
    travel: str = TravelKind.STRAIGHT,
    mode: str = TravelMode.WALK,
) -> tuple[Analysis, Path]:
    """Generate the demo city into ``out/data`` and analyse it into ``out/workspace``.

    The data directory also gets the city's own street network
    (``streets.graphml``), used with ``travel="network"``.
    """
    from safetygap.demo import generate_city, write_city
    from safetygap.demo.streets import write_demo_streets
    from safetygap.inputs import load_preset

    out = Path(out)
    data_dir = out / "data"
    if not quiet:
        print(f"generating the synthetic demo city (seed {seed}, {n_calls:,} calls) "
              f"into {data_dir} ...", flush=True)
    city = generate_city(seed=seed, n_calls=n_calls)
    paths = write_city(city, data_dir)
    inventory = json.loads(paths["meta"].read_text(encoding="utf-8"))["inventory"]
    if not quiet:
        print(inventory_summary(inventory), flush=True)
    streets = write_demo_streets(data_dir, seed=seed)
    options = AnalysisOptions(
        travel=travel,
        mode=mode,
        columns=load_preset("minneapolis-911"),
        preset="minneapolis-911",
        label=city.label,
        synthetic=True,
        as_of=dt.date.fromisoformat(inventory["as_of"]),
    )
    inputs = default_inputs(data_dir)
    if travel == TravelKind.NETWORK:
        inputs = dataclasses.replace(inputs, network=streets)
    analysis = run_analysis(inputs, out / "workspace", options=options, quiet=quiet)
    return analysis, out / "workspace"


def rerun_plan(root: str | os.PathLike, overrides: Mapping[str, str | os.PathLike | None]
               = {}) -> tuple[AnalysisInputs, AnalysisOptions]:
    """The inputs and options of the active analysis of ``root``, with ``overrides``.

    ``overrides`` maps an input role (:data:`INPUT_ROLES`: ``calls``, ``providers``,
    ``neighborhoods``, ``wards``, ``population``, ``diversion_rules`` ...) to a new file.
    Inputs are taken from the active manifest (absolute paths); a missing file is an error
    naming the role.
    Returns ``(AnalysisInputs, AnalysisOptions)``.
    """
    active = versions.active_dir(root)
    try:
        manifest = json.loads((active / versions.MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"workspace {root}: cannot read the active manifest: {exc}") \
            from exc
    problems = Problems()
    for role in overrides:
        if role not in INPUT_ROLES:
            problems.add("overrides", "unknown input role", value=role, allowed=INPUT_ROLES)
    problems.raise_if_any()
    paths: dict[str, Path | str | None] = {}
    for role in INPUT_ROLES:
        given = overrides.get(role)
        recorded = manifest.get("inputs", {}).get(role, {}).get("path")
        value = given if given is not None else recorded
        paths[role] = None if value is None else Path(value)
        if role == "calls" and value is not None and not Path(value).is_file():
            paths[role] = _calls_dataset(str(value), problems, root)
        elif paths[role] is not None and not paths[role].is_file():
            problems.add(f"workspace {root}", f"the {role} file of the analysis is gone",
                         value=str(paths[role]),
                         allowed="upload a new one (POST /api/datasets) or re-run "
                                 "`safetygap analyze`")
    for role in ("calls", "providers", "neighborhoods", "wards"):
        if paths[role] is None:
            problems.add(f"workspace {root}", f"no {role} file recorded in the manifest")
    problems.raise_if_any()
    recorded_opts = dict(manifest.get("options", {}))
    columns = ColumnMap(**recorded_opts.pop("columns", {}))
    recorded_opts["methods"] = Methods.from_dict(recorded_opts.get("methods"))
    known = {f.name for f in fields(AnalysisOptions)}
    options = replace(AnalysisOptions(columns=columns),
                      **{k: v for k, v in recorded_opts.items() if k in known})
    inputs = AnalysisInputs(**{role: paths[role] for role in INPUT_ROLES})
    return inputs, options


def _calls_dataset(spec: str, problems: Problems, root: str | os.PathLike) -> str | None:
    """A recorded calls dataset (a directory or glob), checked to still name calls files."""
    if resolve_calls(spec, Problems()) is None:
        problems.add(f"workspace {root}", "the calls files of the analysis are gone",
                     value=spec, allowed="upload a new one (POST /api/datasets) or re-run "
                                         "`safetygap analyze`")
        return None
    return spec


def rebuild(root: str | os.PathLike, overrides: Mapping[str, str | os.PathLike | None] = {},
            *, quiet: bool = True, keep: int = versions.KEEP,
            grace_s: float = versions.GRACE_S) -> Path:
    """Re-run the analysis of ``root`` into a new version and swap it in atomically.

    Holds the re-run lock throughout (:class:`~safetygap.versions.RerunBusy` if another re-run holds
    it); removes leftovers of killed re-runs first; refuses to swap in a
    version whose files do not match its manifest. Returns the new version
    directory. Bad inputs raise :class:`~safetygap.errors.ValidationError` and
    leave the active version as it was.
    """
    root = Path(root)
    with versions.rerun_lock(root):
        versions.prune(root, keep=keep, grace_s=grace_s)
        inputs, options = rerun_plan(root, overrides)
        version = versions.new_version_dir(root)
        try:
            run_analysis(inputs, version, options=options, quiet=quiet)
            bad = Workspace(version).verify()
            if bad:
                raise ValidationError(f"new version {version.name}: files differ from its "
                                      f"manifest: {bad}")
        except BaseException:
            versions.remove_version(version)
            raise
        versions.swap(root, version)
        versions.prune(root, keep=keep, grace_s=grace_s)
    return version


def inventory_summary(inventory: dict) -> str:
    """How the demo's provider file was built (``city.json`` ``inventory``), in lines."""
    osm, geo, merge = inventory["osm"], inventory["geocode"], inventory["merge"]
    return "\n".join([
        f"providers: the inventory as of {inventory['as_of']}, built offline from the demo's "
        "sources:",
        f"  providers osm: {osm['providers']} of {osm['features']} OpenStreetMap features "
        f"mapped ({osm['unmatched']} matched no rule)",
        f"  providers geocode: {geo['placed']} of {geo['placed'] + geo['not_placed']} listed "
        f"organisations placed ({geo['exact']} exact, {geo['street_interpolation']} "
        f"interpolated, {geo['street_only']} street only; {geo['not_placed']} not placed: "
        "see organisations.review.csv)",
        f"  providers merge: {merge['providers']} providers from {merge['rows']} rows "
        f"({merge['merged_away']} duplicates merged: see providers.duplicates.csv)",
    ])
