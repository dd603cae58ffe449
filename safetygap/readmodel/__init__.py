"""The read model: what the maps, the report, the GeoPackage and the API show of a workspace.

One entry point, :class:`WorkspaceView` (:mod:`.view`: loading, caching, lookups, values
and classes), assembled from :mod:`.layers` (area and provider GeoJSON), :mod:`.hexbins`
(hexagon counts, the privacy of small counts) and :mod:`.profiles` (an area's profile,
city values, rankings, providers in reach; :mod:`._reach` travel minutes to an area).
:mod:`.directory` is an area's asset directory (every provider serving it); :mod:`.equity`
the equity overlay (``equity.json``, the areas' group columns) as the pages and the API show it.
:mod:`.records` (with :mod:`.records_equity`, :mod:`.records_diversion`) declares every
answer's shape, the API's response models are derived from it. Read-only: nothing here
writes to a workspace.
"""

from safetygap.readmodel._common import (
    BIVARIATE_COLORS,
    DEFAULT_HEX_SIZE_M,
    DEFAULT_SIMPLIFY_TOLERANCE_M,
    DISTANCE_LABELS,
    INVENTORY_PROPERTIES,
    MEASURE_LABELS,
    MEASURES,
    NOT_RANKED_COLOR,
    WGS84,
    Level,
    UnknownArea,
    class_label,
)
from safetygap.readmodel._common import _num as finite_or_none
from safetygap.readmodel.view import WorkspaceView
from safetygap.vocab import ALL_FAMILIES, LEVELS

__all__ = [
    "ALL_FAMILIES", "BIVARIATE_COLORS", "DEFAULT_HEX_SIZE_M", "DEFAULT_SIMPLIFY_TOLERANCE_M",
    "DISTANCE_LABELS", "INVENTORY_PROPERTIES", "LEVELS", "MEASURES", "MEASURE_LABELS",
    "NOT_RANKED_COLOR", "WGS84", "Level", "UnknownArea", "WorkspaceView", "class_label",
    "finite_or_none",
]
