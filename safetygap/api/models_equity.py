"""Response models of the equity routes (``GET /api/equity``, ``/api/equity/areas``),
derived from what :mod:`safetygap.readmodel.equity` returns (``equity.json`` of a workspace)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from safetygap.api.models import Geometry
from safetygap.vocab import Reliability


class EquityInterval(BaseModel):
    estimate: float | None = Field(description="the estimate")
    low: float | None = Field(description="lower end of its 90% interval (null: none)")
    high: float | None = Field(description="upper end of its 90% interval (null: none)")


class EquityTotal(BaseModel):
    group: float | None = Field(description="the group's count in the city or ward")
    group_moe: float | None = Field(description="its 90% margin of error (sum formula)")
    universe: float | None = Field(description="the universe's count (residents, households..)")
    universe_moe: float | None = Field(description="its 90% margin of error")
    share: float | None = Field(description="group / universe, 0-1")
    share_moe: float | None = Field(description="90% margin of error of the share "
                                                "(proportion formula)")
    share_cv: float | None = Field(description="coefficient of variation of the share "
                                               "(fraction)")
    areas: int = Field(description="neighborhoods with data counted")
    reliability: Reliability = Field(description="reliable (CV < 12%), caution (12-30%), "
                                                 "unreliable (> 30%), unknown")


class EquityMeanAccess(BaseModel):
    group: EquityInterval = Field(description="population-weighted mean access the group "
                                              "experiences")
    others: EquityInterval = Field(description="the same for everyone else in the universe")
    overall: EquityInterval = Field(description="the same for the whole universe")
    ratio: EquityInterval = Field(description="group / overall (1 = the same access)")
    sentence: str = Field(description="the comparison in words")


class EquityDisparity(BaseModel):
    group_total: float | None
    others_total: float | None
    group_in_underserved: float | None
    others_in_underserved: float | None
    share_group: EquityInterval = Field(description="the group's share living in "
                                                    "underserved areas")
    share_others: EquityInterval = Field(description="everyone else's share living there")
    difference: EquityInterval = Field(description="share_group - share_others")
    ratio: EquityInterval = Field(description="share_group / share_others (1 = no disparity)")
    share_group_moe_census: float | None = Field(
        description="the Census Bureau's proportion-formula MOE of share_group, for reference")
    n_draws: int
    replicates: int = Field(description="bootstrap replicates of the classes drawn from")
    areas: int
    underserved_areas: int
    sentence: str


class EquityGroup(BaseModel):
    key: str
    label: str
    title: str = Field(description="the label with a capital first letter")
    category: str
    universe: str
    universe_label: str
    has_moe: bool
    total: EquityTotal
    reliability: Reliability
    share_text: str = Field(description="the share with its margin and reliability in words")
    mean_access: dict[str, EquityMeanAccess] = Field(description="per family")
    disparity: dict[str, EquityDisparity] | None = Field(
        description="per family; null when the analysis has no classes of underserved areas")


class EquityScope(BaseModel):
    level: Literal["city", "ward"]
    area_id: str | None
    name: str


class EquityLayout(BaseModel):
    name: str
    source: str
    notes: str


class EquitySettings(BaseModel):
    draws: int = Field(description="Monte Carlo draws per group")
    seed: int
    level: float = Field(description="two-sided level of every interval")
    z: float = Field(description="MOE = z x standard error")
    cv_caution: float
    cv_unreliable: float


class EquityReport(BaseModel):
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


class EquityAreaProperties(BaseModel):
    area_id: str
    name: str
    share: float | None = Field(description="the group's share of its universe, 0-1")
    share_moe: float | None = Field(description="90% margin of error of the share")
    share_low: float | None
    share_high: float | None
    share_cv: float | None
    reliability: Reliability
    unreliable: bool = Field(description="true: do not read this area's share as exact "
                                         "(CV above 30%, or no margin of error)")
    count: float | None
    count_moe: float | None
    universe: float | None
    access: float | None = Field(description="the family's accessibility (E2SFCA)")
    share_tercile: int = Field(description="1 low, 2 middle, 3 high; 0 no value")
    access_tercile: int = Field(description="1 low, 2 middle, 3 high; 0 no value")
    bivariate_class: int = Field(description="3 (share tercile - 1) + access tercile, 1..9")
    label: str = Field(description='e.g. "high share, low access"')
    color: str


class EquityAreaFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: EquityAreaProperties


class EquityLegendItem(BaseModel):
    bivariate_class: int
    label: str
    color: str


class EquityAreaCollection(BaseModel):
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
