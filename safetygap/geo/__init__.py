"""The analysis core: pure functions on (Geo)DataFrames and arrays.

Nothing here imports FastAPI or Folium. Distances and areas are in metres in
a projected CRS.
"""

from safetygap.geo.access import e2sfca, e2sfca_from_cost_matrix
from safetygap.geo.aggregate import AreaCounts, count_calls
from safetygap.geo.coverage import within_catchment
from safetygap.geo.gap import gap_classes, gap_index, percentile_rank
from safetygap.geo.join import assign_areas

__all__ = [
    "AreaCounts",
    "assign_areas",
    "count_calls",
    "e2sfca",
    "e2sfca_from_cost_matrix",
    "gap_classes",
    "gap_index",
    "percentile_rank",
    "within_catchment",
]
