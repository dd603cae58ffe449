"""Jobs shared by the CLI and the API: analyse into a workspace, build the demo."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path

from safetygap._progress import Progress
from safetygap.pipeline import (
    STEPS,
    Analysis,
    AnalysisInputs,
    AnalysisOptions,
    analyze,
    default_inputs,
)
from safetygap.workspace import write_workspace


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
    with progress.step("writing workspace") as info:
        write_workspace(analysis, out)
        info["note"] = str(out)
    analysis.timings = dict(progress.timings)
    return analysis


def run_demo(
    out: str | os.PathLike,
    *,
    seed: int = 2025,
    n_calls: int = 650_000,
    quiet: bool = False,
    travel: str = "straight",
    mode: str = "walk",
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
    if travel == "network":
        inputs = dataclasses.replace(inputs, network=streets)
    analysis = run_analysis(inputs, out / "workspace", options=options, quiet=quiet)
    return analysis, out / "workspace"


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
