"""Pydantic models of every API response (they make the OpenAPI schema at ``/docs``).

Long file (about 490 lines): the response models of the read routes belong together; each is
a few declarative lines, and one module keeps the schema's shared parts (summary, areas,
profiles, rankings) in one place.

Coordinates are longitude, latitude in EPSG:4326; distances in metres,
travel times in minutes; catchments in the workspace's ``catchment_unit``
(metres straight-line, minutes on a street network); rates per 1,000 residents
per year; shares in [0, 1]; ``null`` where a value
is undefined (no population, no calls).

Long file (about 450 lines): one response model per public answer of the core routes, each
next to the models it nests; the other route groups keep theirs in ``models_*`` modules.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from safetygap.tables import report
from safetygap.vocab import ALL_FAMILIES, FAMILIES, LEVELS

# the closed vocabularies of safetygap.vocab as the literal types of the OpenAPI schema
Family = Literal[FAMILIES]  # type: ignore[valid-type]
AnyFamily = Literal[ALL_FAMILIES]  # type: ignore[valid-type]
Level = Literal[LEVELS]  # type: ignore[valid-type]


class Health(BaseModel):
    status: Literal["ok"]
    version: str = Field(description="safetygap version serving")
    workspace: str = Field(description="name of the workspace directory served (its name "
                                       "only: no server path in a public answer)")
    manifest_sha256: str = Field(description="checksum of the served workspace's manifest")
    served_version: str | None = Field(
        None, description="the version served when it is not the newest: the newest one's "
                          "files failed their checksums (see fallback)")
    fallback: dict[str, str] | None = Field(
        None, description="set when the newest version is not served: 'served' and "
                          "'newest' (version names) and 'reason' (the files that failed "
                          "their checksums)")


# ---------------------------------------------------------------- summary


def model_from(
    source: type,
    *,
    name: str | None = None,
    exclude: tuple[str, ...] = (),
    override: dict[str, tuple[Any, Any]] | None = None,
    extra: dict[str, tuple[Any, Any]] | None = None,
) -> type[BaseModel]:
    """A response model derived from a report dataclass of :mod:`safetygap.tables.report`:
    its fields (less ``exclude``) with their types and descriptions, in order; ``override``
    replaces a field's (type, Field) in place, ``extra`` adds fields at the end. The model
    keeps the dataclass' name unless ``name`` is given."""
    hints = typing.get_type_hints(source)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(source):
        if f.name in exclude:
            continue
        if override and f.name in override:
            fields[f.name] = override[f.name]
        else:
            fields[f.name] = (hints[f.name],
                              Field(description=f.metadata.get("description") or None))
    fields.update(extra or {})
    return create_model(name or source.__name__, **fields)


_SUMMARY_DESC = {f.name: f.metadata.get("description", "")
                 for f in dataclasses.fields(report.Summary)}
Totals = model_from(report.Totals, override={
    "calls_in_wards": (int | None, Field(default=None, description=next(
        f.metadata["description"] for f in dataclasses.fields(report.Totals)
        if f.name == "calls_in_wards")))})
Caveat = model_from(report.Caveat)
CallTypes = model_from(report.CallTypes)
Demand = model_from(report.Demand)
Undated = model_from(report.Undated)
AgencySource = model_from(report.AgencySource)
FamilySummary = model_from(report.FamilySummary, override={
    "coverable_calls": (int | None, Field(None, description=(
        "need calls a service with a place handles (coverage's denominator; absent in "
        "workspaces written before service matching)"))),
    "placeless_only_calls": (int | None, Field(None, description=(
        "need calls only a service without a place (311, online) handles"))),
}, extra={"providers": (int, Field(description="providers of the family"))})
QualityCounts = model_from(report.QualityCounts, exclude=("areas_with_zero_population",),
                           extra={"input_rows": (int, Field(description="rows in the calls "
                                                                         "file")),
                                  "analysed_in_areas": (int, Field(
                                      description="rows counted in areas")),
                                  "excluded_from_areas": (int, Field(
                                      description="rows kept with no area"))})


class ChangedArea(BaseModel):
    area_id: str
    name: str
    gap_class_contain: int = Field(description="gap class when each call counts in the "
                                               "polygon containing it")
    gap_class_split: int = Field(description="gap class when calls near a line are shared")


class BoundarySensitivity(BaseModel):
    """How robust the gap ranking is to calls geocoded onto boundary streets."""

    policy: str = Field(description="the boundary policy of this analysis (contain or split)")
    compared_with: str = Field(description="the other policy, computed for comparison")
    tolerance_m: float = Field(description="metres: calls this close to a line are 'on' it")
    calls_shared: dict[str, int | None] = Field(
        description="per level, calls within tolerance_m of the lines of two or more areas")
    areas_changing_class: dict[str, dict[str, int]] | None = Field(
        default=None, description="per level and family, areas whose need/access class "
                                  "differs between policies")
    areas_changing_gap_class: dict[str, dict[str, int]] = Field(
        description="per level and family, areas whose gap class differs between policies")
    areas_compared: dict[str, dict[str, int]] = Field(
        description="per level and family, areas with a gap class under both policies")
    changed_areas: dict[str, dict[str, list[ChangedArea]]]


class DistanceModel(BaseModel):
    distance_model: str = Field(description="straight-line, network-walk or network-drive")
    unit: str = Field(description="unit of the catchments: m or min")
    catchments: dict[str, float] = Field(description="catchment per service type, in unit")


class RuleCount(BaseModel):
    rule: str = Field(description="id of a diversion rule ('default': no rule matched)")
    channel: str = Field(description="the channel the rule assigns")
    calls: int = Field(description="unique calls this rule decided")


class DiversionRulesRef(BaseModel):
    name: str
    version: str
    source: str = Field(description="the rule file's name, or the packaged default")
    checksum: str = Field(description="SHA-256 of the rule set's content")


class DiversionSummary(BaseModel):
    """Who handled the calls, by the diversion rules, and what the share is a share of."""

    rules: DiversionRulesRef
    denominator: str = Field(description="police_and_alternatives (fire/EMS calls left "
                                         "out) or all_calls")
    denominator_words: str = Field(description="the denominator in plain words")
    denominator_calls: int = Field(description="unique calls in the denominator")
    diverted_calls: int = Field(description="unique calls handled by a non-police "
                                            "alternative")
    by_channel: dict[str, int] = Field(description="unique calls per channel")
    by_rule: list[RuleCount] = Field(description="unique calls per rule, in rule order")


_METHODS_FIELDS = ("top_underserved", "not_ranked", "methods", "uncertainty",
                   "placeless_services", "time_covered", "demand_points")
"""Summary fields absent from workspaces written before issue 13's measures."""
_SUMMARY_HINTS = typing.get_type_hints(report.Summary)
Summary = model_from(
    report.Summary,
    exclude=("taxonomy", "diverted_by_agency", "diverted_share_basis", "top_underserved_basis",
             "gap_index_top"),
    override={
        **{name: (_SUMMARY_HINTS[name] | None, Field(default=None, description=text))
           for name, (_, text) in report.described_fields(report.Summary).items()
           if name in _METHODS_FIELDS},
        # per level the family lists, and "status": calibrated or uncalibrated
        "top_underserved": (dict[str, Any] | None, Field(
            default=None, description=_SUMMARY_DESC["top_underserved"])),
        "totals": (Totals, ...),
        "diversion": (DiversionSummary | None, Field(
            default=None, description="channels and rules of the calls and the denominator "
                                      "(absent in workspaces written before diversion "
                                      "rules)")),
        "families": (dict[str, FamilySummary], ...),  # type: ignore[valid-type]
        "quality": (QualityCounts, ...),
        "boundary_sensitivity": (BoundarySensitivity | None, Field(
            default=None, description="gap classes under the two boundary policies "
                                      "compared")),
        "travel": (DistanceModel | None, Field(
            default=None, description="the distance model and catchments the analysis "
                                      "used")),
        # absent in workspaces written before issue 21 (any city's files): optional here
        **{name: (kind | None, Field(default=None, description=_SUMMARY_DESC[name]))
           for name, kind in (("demand", Demand), ("call_types", CallTypes),
                              ("undated", Undated), ("agency", AgencySource))},
        "uncalibrated": (bool, Field(default=False,
                                     description=_SUMMARY_DESC["uncalibrated"])),
        "caveats": (list[Caveat], Field(  # type: ignore[valid-type]
            default_factory=list, description=_SUMMARY_DESC["caveats"])),
    })
"""GET /api/summary: summary.json's totals, shares, families and quality counts (the
fields and descriptions of :class:`safetygap.tables.report.Summary`), with typed diversion,
sensitivity and distance model."""


# ---------------------------------------------------------------- GeoJSON


class Geometry(BaseModel):
    type: Literal["Point", "Polygon", "MultiPolygon", "GeometryCollection"]
    coordinates: Any = Field(default=None, description="GeoJSON coordinates (lon, lat)")
    geometries: list[Geometry] | None = None


class AreaProperties(BaseModel):
    """Fixed fields plus one ``<measure>_<family>`` value per measure (numbers; the class
    label ``class_label_<family>`` in words; interval bounds ``<measure>_<family>_ci_low``
    and ``_ci_high``; the area flags ``small_population``, ``mostly_nonresident``,
    ``ranked`` as 0/1). docs/METHODS.md defines every measure."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float | int | str | None] = Field(init=False)

    area_id: str
    name: str
    population: float | None
    area_km2: float | None


class AreaFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: AreaProperties


class NeedAccessClass(BaseModel):
    """One cell of the 3 x 3 need/access key (the map's legend)."""

    class_: int = Field(alias="class", description="3 (need tercile - 1) + access tercile, "
                                                   "1..9; 0 = not ranked")
    label: str = Field(description="the class in words, e.g. 'high need, low access'")
    need_tercile: int = Field(description="1 low, 2 middle, 3 high; 0 not ranked")
    access_tercile: int = Field(description="1 low, 2 middle, 3 high; 0 not ranked")
    color: str = Field(description="fill colour on the maps")
    underserved: bool = Field(description="high need, low access")
    areas: int = Field(description="areas in the class")


class GapClass(BaseModel):
    """Secondary measure: a class of the rank-difference gap index."""

    gap_class: int = Field(description="1 (best served) .. 5 (most underserved); 0 no value")
    label: str
    lower: float | None = Field(description="smallest gap index in the class")
    upper: float | None = Field(description="largest gap index in the class")
    areas: int = Field(description="areas in the class")


class AreaCollection(BaseModel):
    type: Literal["FeatureCollection"]
    level: Level
    period: str = Field(description="'all' or the year the values are for")
    families: list[AnyFamily]
    tolerance_m: float = Field(description="simplification tolerance used, metres")
    crs: Literal["EPSG:4326"]
    classes: dict[str, list[GapClass]] = Field(
        description="secondary: gap-index classes per family")
    need_access: dict[str, list[NeedAccessClass]] = Field(
        description="need/access classes (the map's key) per family, with the areas in each")
    features: list[AreaFeature]


DistanceModelName = Annotated[str, Field(description="how the analysis measured reach: "
                                                    "straight-line, network-walk or "
                                                    "network-drive")]
CatchmentUnit = Annotated[Literal["m", "min"], Field(
    description="unit of catchments: m (straight-line metres) or min (travel minutes on "
                "the street network)")]


class InventoryFields(BaseModel):
    """A provider's inventory fields (docs/PROVIDERS.md), "" where not given."""

    organisation: str = ""
    programme: str = ""
    address: str = ""
    capacity_unit: str = ""
    opening_hours: str = Field("", description="OpenStreetMap opening_hours syntax")
    eligibility: str = ""
    languages: str = Field("", description="languages offered, separated by '; '")
    phone: str = ""
    website: str = ""
    source: str = ""
    last_verified: str = Field("", description="YYYY-MM-DD, '' when never verified")
    serves: str = Field("", description="areas served instead of a catchment, as written")
    months_since_verified: float | None = None
    stale: bool | None = Field(None, description="not verified within the workspace's "
                                                 "stale_after_months (or never); None: "
                                                 "a workspace without verification dates")


class ProviderProperties(InventoryFields):
    provider_id: str
    name: str
    family: Family
    service_type: str
    capacity: float | None
    catchment: float | None = Field(description="reach of the service as the analysis used "
                                                "it, in catchment_unit")
    catchment_unit: CatchmentUnit
    distance_model: DistanceModelName
    catchment_m: float | None = Field(description="straight-line radius of the service "
                                                  "type, metres (the catchment of "
                                                  "straight-line analyses only)")
    neighborhood_id: str | None
    ward_id: str | None
    serves_areas: bool = Field(False, description="serves exactly the areas in 'serves' "
                                                  "(no catchment)")


class ProviderFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: ProviderProperties


class ProviderCollection(BaseModel):
    type: Literal["FeatureCollection"]
    crs: Literal["EPSG:4326"]
    distance_model: DistanceModelName
    catchment_unit: CatchmentUnit
    features: list[ProviderFeature]


class HexProperties(BaseModel):
    calls: int | None = Field(description="calls in the hexagon; null when hidden (fewer "
                                          "than the privacy threshold, with a sensitive "
                                          "call)")


class HexFeature(BaseModel):
    type: Literal["Feature"]
    geometry: Geometry
    properties: HexProperties


class HexCollection(BaseModel):
    type: Literal["FeatureCollection"]
    crs: Literal["EPSG:4326"]
    size_m: float = Field(description="hexagon circumradius used, metres (never finer "
                                      "than the privacy threshold allows)")
    requested_size_m: float = Field(description="hexagon circumradius asked for, metres")
    family: Family | None
    period: str
    max_calls: int = Field(description="largest count shown")
    total_calls: int | None = Field(description="calls in all hexagons; null when it would "
                                                "reveal a hidden count")
    hidden_hexagons: int = Field(description="hexagons whose count is hidden")
    privacy: str = Field(description="what is hidden, in words")
    features: list[HexFeature]


# ---------------------------------------------------------------- profiles


class MeasureValue(BaseModel):
    family: AnyFamily
    measure: str
    label: str
    value: int | float | None = Field(description="the measure's value; class, gap_class "
                                                  "an integer class number (0 = no value "
                                                  "or not ranked)")
    ci_low: float | None = Field(None, description="lower bound of its 95% interval (rates: "
                                                   "exact Poisson; shares: Wilson)")
    ci_high: float | None = Field(None, description="upper bound of its 95% interval")
    text: str | None = Field(None, description="class only: the class in words")
    uncertain: bool | None = Field(None, description="class only: fewer than 80% of the "
                                                     "bootstrap replicates agree with it")
    rank: int | None = Field(description="rank among the areas of the level, 1 = highest "
                                         "value (for gap: most underserved); ties share")
    of: int = Field(description="areas with a value")
    city: float | None = Field(description="city-wide value (None for gap and gap class)")


class CategoryCalls(BaseModel):
    category: str
    family: str
    calls: int | None = Field(description="calls; null when hidden for privacy")
    suppressed: bool = Field(description="this count or one of its years is hidden")
    by_year: dict[str, int | None] = Field(description="calls per year ('unknown': no "
                                                       "valid date; null: hidden)")


class NearbyProvider(ProviderProperties):
    distance_m: float = Field(description="straight-line distance to the area's nearest "
                                          "point, metres (0 inside)")
    travel_min: float | None = Field(description="network analyses: travel minutes to the "
                                                 "area's nearest point on the street "
                                                 "network (0 inside); null straight-line, "
                                                 "and for a provider serving named areas")
    serves_here: bool = Field(False, description="a provider that serves named areas "
                                                 "(serves) whose areas overlap this one")


class AreaProfile(BaseModel):
    level: Level
    area_id: str
    name: str
    population: float | None
    area_km2: float | None
    calls: int | None = Field(description="calls placed in the area (all families); null "
                                          "when hidden for privacy")
    calls_by_year: dict[str, int | None]
    calls_by_category: list[CategoryCalls]
    privacy: str = Field(description="what is hidden, in words")
    distance_model: DistanceModelName
    catchment_unit: CatchmentUnit
    reach: str = Field(description="how providers_in_reach is decided")
    providers_inside: list[NearbyProvider]
    providers_in_reach: list[NearbyProvider] = Field(
        description="providers outside the area whose catchment reaches it with the "
                    "analysis' distance model, or which serve named areas overlapping it "
                    "(see reach), nearest first")
    measures: list[MeasureValue]


class DirectoryEntry(InventoryFields):
    provider_id: str
    name: str
    family: Family
    service_type: str
    relation: Literal["located", "serves", "reaches"] = Field(
        description="how it serves the area: located in it; assigned to named areas that "
                    "overlap it (serves); or located outside with a catchment that reaches "
                    "it")
    capacity: float | None
    catchment: float | None = Field(description="reach of the service in catchment_unit")
    catchment_unit: CatchmentUnit
    distance_model: DistanceModelName
    distance_m: float = Field(description="straight-line distance to the area's nearest "
                                          "point, metres (0 inside)")
    travel_min: float | None = Field(description="network analyses: travel minutes to the "
                                                 "area's nearest point (0 inside); null "
                                                 "straight-line and for relation 'serves'")
    serves_here: bool = Field(description="serves named areas overlapping this one")


class AreaDirectory(BaseModel):
    level: Level
    area_id: str
    name: str
    distance_model: DistanceModelName
    catchment_unit: CatchmentUnit
    reach: str = Field(description="how 'reaches' and 'serves' are decided")
    entries: list[DirectoryEntry] = Field(
        description="every provider serving the area: by family, then located, serves, "
                    "reaches, then nearest first")
    counts: dict[Family, dict[Literal["located", "serves", "reaches"], int]] = Field(
        description="entries per family and relation")
    stale: int = Field(description="entries not verified within stale_after_months")


class GapRow(BaseModel):
    """One of the most underserved areas (rank 1 = most underserved)."""

    rank: int = Field(description="1 = most underserved (high need, low access first, by "
                                  "need)")
    area_id: str
    name: str
    label: str = Field(description="need/access class in words")
    underserved: bool = Field(description="high need, low access")
    need: float | None = Field(description="calls per 1,000 residents per year, smoothed")
    rate: float | None = Field(description="calls per 1,000 residents per year")
    rate_ci_low: float | None
    rate_ci_high: float | None
    access: float | None
    access_need: float | None = Field(description="capacity per 1,000 calls a year")
    reach: float | None = Field(description="share of residents within reach")
    coverage: float | None
    calls: float | None
    providers: float | None
    rank_low: int | None = Field(description="bootstrap 90% interval of the rank, low end")
    rank_high: int | None = Field(description="... high end")
    p_top10: float | None = Field(description="probability of being among the 10 most "
                                              "underserved (bootstrap)")
    p_underserved: float | None = Field(description="share of bootstrap replicates in which "
                                                    "the area is high need, low access")
    class_uncertain: int | None = Field(description="1: fewer than 80% of the replicates "
                                                    "agree with the class")
    hotspot_need: int | None = Field(description="Gi* on need: 1 hot spot, -1 cold, 0 "
                                                 "neither")
    class_: int = Field(alias="class", description="need/access class 1..9")
    gap: float | None = Field(description="secondary: rank-difference gap index")
    gap_class: int


class GapRanking(BaseModel):
    level: Level
    period: str
    top: int
    families: dict[str, list[GapRow]]
    status: str = Field(
        "calibrated", description="'uncalibrated' when more calls than the set share are of "
                                  "types the taxonomy does not know (see caveats)")
    caveats: list[Caveat] = Field(  # type: ignore[valid-type]
        default_factory=list, description="what must be said before these figures")


# ------------------------------------------------------------------ errors


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    input: Any = None


class ErrorResponse(BaseModel):
    """422: which parameter was wrong and what is allowed; 404: what was not found."""

    message: str
    detail: list[ErrorItem] | str | dict[str, str] = Field(
        description="the parameters' problems; the message; or, from /ogc, the OGC "
                    "exception (code, description, parameter)")
