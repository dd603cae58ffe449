"""Who lives in the gaps: demographic groups against the underserved areas.

Pure computation (no web, map or CLI imports, no downloads):

- :mod:`~safetygap.equity.moe`: the Census Bureau's margin-of-error formulas, CV, reliability;
- :mod:`~safetygap.equity.spec`: which columns of a demographic table are which group and
  universe (TOML layouts; packaged: Minnesota Compass, the demo city);
- :mod:`~safetygap.equity.interpolate`: tracts to neighborhoods, area-weighted or
  dasymetric, margins carried;
- :mod:`~safetygap.equity.shares`: per-area group shares with MOE and reliability;
- :mod:`~safetygap.equity.disparity`: a group's share in underserved areas against everyone
  else's, and the mean access it experiences, with Monte Carlo 90% intervals.
"""

from safetygap.equity.disparity import (
    DEFAULT_DRAWS,
    Disparity,
    GroupDraws,
    Interval,
    MeanAccess,
    disparity,
    mean_access,
)
from safetygap.equity.shares import AreaShares, area_shares
from safetygap.equity.spec import DemographicsSpec, Group, Universe, load_spec, packaged_spec

__all__ = [
    "DEFAULT_DRAWS",
    "AreaShares",
    "DemographicsSpec",
    "Disparity",
    "Group",
    "GroupDraws",
    "Interval",
    "MeanAccess",
    "Universe",
    "area_shares",
    "disparity",
    "load_spec",
    "mean_access",
    "packaged_spec",
]
