"""Building the demo city's provider file from its raw sources, as a city builds its own.

:func:`build_inventory` runs, on the files :func:`safetygap.demo.write_city` writes, what
docs/PROVIDERS.md tells a city to run, through the same functions as the commands:

1. ``safetygap providers osm --features osm_features.geojson --boundary
   neighborhoods.gpkg --tags osm_tags.toml --out osm_providers.csv``;
2. ``safetygap providers geocode organisations.csv --address-points
   address_points.parquet --out organisations.geocoded.csv`` (the rows to review in
   ``organisations.review.csv``);
3. ``safetygap providers merge "city facilities=city_facilities.csv" "organisations
   list=organisations.geocoded.csv" osm=osm_providers.csv --out providers.csv`` (the
   duplicates in ``providers.duplicates.csv``).

Offline: the OpenStreetMap extract is a file and nothing asks an online geocoder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from safetygap._io import atomic_write

STEP_FILES: dict[str, str] = {
    "osm_providers": "osm_providers.csv",
    "geocoded": "organisations.geocoded.csv",
    "review": "organisations.review.csv",
    "providers": "providers.csv",
    "duplicates": "providers.duplicates.csv",
}
"""Files :func:`build_inventory` writes into the data directory."""
SOURCE_LABELS = ("city facilities", "organisations list", "osm")
"""The merge's sources, most trusted first (the kept row of duplicates is the first's)."""


@dataclass
class InventoryReport:
    """What each step did (the numbers ``city.json`` and ``safetygap demo`` report)."""

    osm: dict[str, Any] = field(default_factory=dict)
    geocode: dict[str, int] = field(default_factory=dict)
    merge: dict[str, Any] = field(default_factory=dict)
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"osm": self.osm, "geocode": self.geocode, "merge": self.merge,
                "rule": self.rule}


def _csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda p: frame.to_csv(p, index=False, lineterminator="\n"))


def build_inventory(data_dir: str | os.PathLike, *, files: dict[str, str]) -> InventoryReport:
    """Build ``providers.csv`` in ``data_dir`` from the sources named in ``files`` (key ->
    file name: ``osm_features``, ``osm_tags``, ``organisations``, ``address_points``,
    ``city_facilities``, ``neighborhoods``); see the module docstring."""
    import geopandas as gpd

    from safetygap.inputs import providers_from_frame
    from safetygap.inputs.files import read_table
    from safetygap.inventory.geocode import geocode_frame, read_address_points
    from safetygap.inventory.merge import MergeRule, merge_sources, read_source
    from safetygap.inventory.osm import load_tag_rules, map_features, read_features
    from safetygap.taxonomy import load_taxonomy

    d = Path(data_dir)
    tax = load_taxonomy(None)
    report = InventoryReport()
    # 1. OpenStreetMap features -> providers
    rules = load_tag_rules(d / files["osm_tags"], taxonomy=tax)
    boundary = gpd.read_file(d / files["neighborhoods"])
    osm, report.osm = map_features(read_features(d / files["osm_features"],
                                                 boundary=boundary), rules)
    providers_from_frame(osm, taxonomy=tax, where="OpenStreetMap features")
    _csv(osm, d / STEP_FILES["osm_providers"])
    # 2. the organisations list placed by its addresses
    points = read_address_points(str(d / files["address_points"]))
    table = read_table(d / files["organisations"], where="list")
    placed = geocode_frame(table.frame, points, where=f"list {table.path.name}")
    report.geocode = placed.counts
    _csv(placed.placed, d / STEP_FILES["geocoded"])
    _csv(placed.review, d / STEP_FILES["review"])
    # 3. one inventory, duplicates resolved by the rule (the defaults, not the settings:
    # the demo is the same everywhere)
    rule = MergeRule()
    sources = [read_source(d / name, taxonomy=tax, label=label) for label, name in
               zip(SOURCE_LABELS, (files["city_facilities"], STEP_FILES["geocoded"],
                                   STEP_FILES["osm_providers"]), strict=True)]
    merged = merge_sources(sources, rule=rule)
    providers_from_frame(merged.merged, taxonomy=tax, where="merged inventory")
    report.merge, report.rule = merged.counts, rule.describe()
    _csv(merged.merged, d / STEP_FILES["providers"])
    _csv(merged.review, d / STEP_FILES["duplicates"])
    return report
