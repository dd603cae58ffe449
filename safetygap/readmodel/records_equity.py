"""The equity answers of the read model as typed records (see :mod:`.records`):
what :func:`safetygap.readmodel.equity.equity_report` (``GET /api/equity``) and
:func:`~safetygap.readmodel.equity.equity_layer` (``GET /api/equity/areas``) return, from
a workspace's ``equity.json`` and the areas' group columns. Intervals are 90%; shares in
[0, 1]."""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from safetygap.readmodel.records import Doc, Geometry
from safetygap.vocab import Reliability

__all__ = [
    "EquityAreaCollection", "EquityAreaFeature", "EquityAreaProperties", "EquityDisparity",
    "EquityGroup", "EquityInterval", "EquityLayout", "EquityLegendItem", "EquityMeanAccess",
    "EquityReport", "EquityScope", "EquitySettings", "EquityTotal",
]


class EquityInterval(TypedDict):
    estimate: Annotated[float | None, Doc('the estimate')]
    low: Annotated[float | None, Doc('lower end of its 90% interval (null: none)')]
    high: Annotated[float | None, Doc('upper end of its 90% interval (null: none)')]


class EquityTotal(TypedDict):
    group: Annotated[float | None, Doc("the group's count in the city or ward")]
    group_moe: Annotated[float | None, Doc('its 90% margin of error (sum formula)')]
    universe: Annotated[float | None, Doc("the universe's count (residents, households..)")]
    universe_moe: Annotated[float | None, Doc('its 90% margin of error')]
    share: Annotated[float | None, Doc('group / universe, 0-1')]
    share_moe: Annotated[float | None, Doc('90% margin of error of the share (proportion formula)')]
    share_cv: Annotated[float | None, Doc('coefficient of variation of the share (fraction)')]
    areas: Annotated[int, Doc('neighborhoods with data counted')]
    reliability: Annotated[Reliability, Doc(
        "reliable (CV < 12%), caution (12-30%), unreliable (> 30%), unknown")]


class EquityMeanAccess(TypedDict):
    group: Annotated[EquityInterval, Doc('population-weighted mean access the group experiences')]
    others: Annotated[EquityInterval, Doc('the same for everyone else in the universe')]
    overall: Annotated[EquityInterval, Doc('the same for the whole universe')]
    ratio: Annotated[EquityInterval, Doc('group / overall (1 = the same access)')]
    sentence: Annotated[str, Doc('the comparison in words')]


class EquityDisparity(TypedDict):
    group_total: float | None
    others_total: float | None
    group_in_underserved: float | None
    others_in_underserved: float | None
    share_group: Annotated[EquityInterval, Doc("the group's share living in underserved areas")]
    share_others: Annotated[EquityInterval, Doc("everyone else's share living there")]
    difference: Annotated[EquityInterval, Doc('share_group - share_others')]
    ratio: Annotated[EquityInterval, Doc('share_group / share_others (1 = no disparity)')]
    share_group_moe_census: Annotated[float | None, Doc(
        "the Census Bureau's proportion-formula MOE of share_group, for reference")]
    n_draws: int
    replicates: Annotated[int, Doc('bootstrap replicates of the classes drawn from')]
    areas: int
    underserved_areas: int
    sentence: str


class EquityGroup(TypedDict):
    key: str
    label: str
    title: Annotated[str, Doc('the label with a capital first letter')]
    category: str
    universe: str
    universe_label: str
    has_moe: bool
    total: EquityTotal
    reliability: Reliability
    share_text: Annotated[str, Doc('the share with its margin and reliability in words')]
    mean_access: Annotated[dict[str, EquityMeanAccess], Doc('per family')]
    disparity: Annotated[dict[str, EquityDisparity] | None, Doc(
        "per family; null when the analysis has no classes of underserved areas")]


class EquityScope(TypedDict):
    level: Literal["city", "ward"]
    area_id: str | None
    name: str


class EquityLayout(TypedDict):
    name: str
    source: str
    notes: str


class EquitySettings(TypedDict):
    draws: Annotated[int, Doc('Monte Carlo draws per group')]
    seed: int
    level: Annotated[float, Doc('two-sided level of every interval')]
    z: Annotated[float, Doc('MOE = z x standard error')]
    cv_caution: float
    cv_unreliable: float


class EquityReport(TypedDict):
    """Who lives in the gaps: per demographic group, its share with a 90% interval and
    reliability, the mean access it experiences per family and, when the analysis has
    classes of underserved areas, the disparity; for the city or one ward."""

    synthetic: bool
    label: str
    scope: EquityScope
    layout: EquityLayout
    settings: EquitySettings
    families: list[str]
    disparity_available: bool
    underserved_definition: dict[str, str] | None
    notes: str
    groups: list[EquityGroup]


class EquityAreaProperties(TypedDict):
    area_id: str
    name: str
    share: Annotated[float | None, Doc("the group's share of its universe, 0-1")]
    share_moe: Annotated[float | None, Doc('90% margin of error of the share')]
    share_low: float | None
    share_high: float | None
    share_cv: float | None
    reliability: Reliability
    unreliable: Annotated[bool, Doc(
        "true: do not read this area's share as exact (CV above 30%, or no margin of error)")]
    count: float | None
    count_moe: float | None
    universe: float | None
    access: Annotated[float | None, Doc("the family's accessibility (E2SFCA)")]
    share_tercile: Annotated[int, Doc('1 low, 2 middle, 3 high; 0 no value')]
    access_tercile: Annotated[int, Doc('1 low, 2 middle, 3 high; 0 no value')]
    bivariate_class: Annotated[int, Doc('3 (share tercile - 1) + access tercile, 1..9')]
    label: Annotated[str, Doc('e.g. "high share, low access"')]
    color: str


class EquityAreaFeature(TypedDict):
    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: EquityAreaProperties


class EquityLegendItem(TypedDict):
    bivariate_class: int
    label: str
    color: str


class EquityAreaCollection(TypedDict):
    """One group's share against one family's access, per area (GeoJSON, EPSG:4326)."""

    type: Literal["FeatureCollection"]
    level: str
    group: str
    group_label: str
    family: str
    crs: str
    tolerance_m: float
    legend: list[EquityLegendItem]
    features: list[EquityAreaFeature]
