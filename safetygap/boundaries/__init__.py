"""Boundary layers: loading, validation, repair, name matching and crosswalks."""

from safetygap.boundaries.crosswalk import apportion, crosswalk
from safetygap.boundaries.load import (
    BoundaryReport,
    load_boundaries,
    overlap_area,
    overlap_pairs,
    read_layer,
)
from safetygap.boundaries.names import MINNEAPOLIS_ALIASES, match_names, normalize_name

__all__ = [
    "MINNEAPOLIS_ALIASES",
    "BoundaryReport",
    "apportion",
    "crosswalk",
    "load_boundaries",
    "match_names",
    "normalize_name",
    "overlap_area",
    "overlap_pairs",
    "read_layer",
]
