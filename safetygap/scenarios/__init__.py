"""What-if scenarios and site recommendations on a finished workspace.

Modules: :mod:`.baseline` (the workspace rebuilt, :func:`recompute`), :mod:`.hypothetical`
(new providers checked and placed), :mod:`.whatif`, :mod:`.candidates` (candidate sites),
:mod:`.siting` (:func:`recommend_sites`). Their public functions are exported here.

Both recompute the indices with providers added, without touching the
workspace on disk, by running the pipeline's own steps
(:func:`safetygap.pipeline.coverage`, :func:`safetygap.pipeline.level_indices`;
for siting, its one-family form :func:`safetygap.stages.areas.family_layers`)
on what the workspace holds: the calls with their areas, family, flags and
coverage; the areas with their population; the providers; the taxonomy (in
the manifest); and the distance model (the street network file named in the
manifest, checked against its checksum).

* :func:`whatif` adds hypothetical providers and reports the change per area.
* :func:`recommend_sites` chooses ``k`` new sites of a family that cover the
  most need calls not yet covered (:mod:`safetygap.geo.siting`) and reports
  each site's marginal calls, the areas that gain and the change in their gap.
"""

from safetygap.scenarios.baseline import (
    COMPARED,
    LONLAT_DECIMALS,
    METRE_DECIMALS,
    Baseline,
    area_changes,
    load_baseline,
    lonlat,
    recompute,
)
from safetygap.scenarios.candidates import (
    DEFAULT_GRID_M,
    candidates_from_frame,
    default_candidates,
    read_candidates,
)
from safetygap.scenarios.hypothetical import MAX_OUTSIDE_M, new_providers
from safetygap.scenarios.reach import existing_reach, reach_region, residents
from safetygap.scenarios.siting import (
    CATCHMENT_AREAS,
    LONG_NETWORK_CATCHMENT_MIN,
    SHORT_STRAIGHT_CATCHMENT_M,
    SITING_BYTES_PER_PAIR,
    catchment_warnings,
    check_siting_options,
    coverage_budget_error,
    default_capacity,
    default_service_type,
    max_catchment,
    recommend_sites,
    site_catchments,
    stopped_reason,
)
from safetygap.scenarios.whatif import read_hypothetical, whatif

__all__ = [
    "CATCHMENT_AREAS", "COMPARED", "DEFAULT_GRID_M", "LONG_NETWORK_CATCHMENT_MIN",
    "LONLAT_DECIMALS", "MAX_OUTSIDE_M", "METRE_DECIMALS", "SHORT_STRAIGHT_CATCHMENT_M",
    "SITING_BYTES_PER_PAIR", "Baseline", "area_changes", "candidates_from_frame",
    "catchment_warnings", "check_siting_options", "coverage_budget_error",
    "default_candidates", "default_capacity", "default_service_type", "existing_reach",
    "load_baseline",
    "lonlat", "max_catchment", "new_providers", "reach_region", "read_candidates",
    "read_hypothetical", "recommend_sites", "recompute", "residents", "site_catchments",
    "stopped_reason", "whatif",
]
