"""The read model's answers as typed records: what :class:`WorkspaceView` returns.

Each answer of the read model (an area layer, a provider layer, hexagon counts, an area's
profile, its directory, a ranking) is a plain ``dict`` (JSON as it is); its shape is
declared here once (the equity and diversion answers in :mod:`.records_equity` and
:mod:`.records_diversion`), as a :class:`typing.TypedDict`, with each field's meaning in a
:class:`Doc` (its description, and the default an API client may assume when it is
absent). The API's response models are derived from these declarations
(:func:`safetygap.api.models.model_from_record`), so a field added here appears in the
OpenAPI schema, and ``tests/test_records.py`` checks that every answer's keys are the
declared ones.

Keys that are Python keywords (``class``) are declared with the functional form; keys some
answers lack are ``NotRequired`` (read it from ``typing.get_type_hints(record,
include_extras=True)``: with postponed annotations ``__required_keys__`` lists every key).
Coordinates are longitude, latitude in EPSG:4326; distances in metres, travel times in
minutes; catchments in the workspace's ``catchment_unit``.
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict

from safetygap.tables.report import Caveat
from safetygap.tables.typed import REQUIRED, Doc, Geometry
from safetygap.vocab import ALL_FAMILIES, FAMILIES, LEVELS

__all__ = [
    "REQUIRED",
    "AreaCollection",
    "AreaDirectory",
    "AreaFeature",
    "AreaProfile",
    "AreaProperties",
    "CategoryCalls",
    "DirectoryEntry",
    "Doc",
    "GapClass",
    "GapRanking",
    "GapRow",
    "Geometry",
    "HexCollection",
    "HexFeature",
    "HexProperties",
    "InventoryFields",
    "MeasureValue",
    "NearbyProvider",
    "NeedAccessClass",
    "ProviderCollection",
    "ProviderFeature",
    "ProviderProperties",
]



Family = Literal[FAMILIES]  # type: ignore[valid-type]
AnyFamily = Literal[ALL_FAMILIES]  # type: ignore[valid-type]
Level = Literal[LEVELS]  # type: ignore[valid-type]
Relation = Literal["located", "serves", "reaches"]
DistanceModelName = Annotated[str, Doc("how the analysis measured reach: straight-line, "
                                       "network-walk or network-drive")]
CatchmentUnit = Annotated[Literal["m", "min"], Doc(
    "unit of catchments: m (straight-line metres) or min (travel minutes on the street "
    "network)")]


# ---------------------------------------------------------------- area layers


class AreaProperties(TypedDict):
    """Fixed fields plus one ``<measure>_<family>`` value per measure (numbers; the class
    label ``class_label_<family>`` in words; interval bounds ``<measure>_<family>_ci_low``
    and ``_ci_high``; the area flags ``small_population``, ``mostly_nonresident``,
    ``ranked`` as 0/1). docs/METHODS.md defines every measure."""

    area_id: str
    name: str
    population: float | None
    area_km2: float | None


class AreaFeature(TypedDict):
    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: AreaProperties


NeedAccessClass = TypedDict("NeedAccessClass", {
    "class": Annotated[int, Doc("3 (need tercile - 1) + access tercile, 1..9; 0 = not "
                                "ranked")],
    "label": Annotated[str, Doc("the class in words, e.g. 'high need, low access'")],
    "need_tercile": Annotated[int, Doc("1 low, 2 middle, 3 high; 0 not ranked")],
    "access_tercile": Annotated[int, Doc("1 low, 2 middle, 3 high; 0 not ranked")],
    "color": Annotated[str, Doc("fill colour on the maps")],
    "underserved": Annotated[bool, Doc("high need, low access")],
    "areas": Annotated[int, Doc("areas in the class")],
})
NeedAccessClass.__doc__ = "One cell of the 3 x 3 need/access key (the map's legend)."


class GapClass(TypedDict):
    """Secondary measure: a class of the rank-difference gap index."""

    gap_class: Annotated[int, Doc("1 (best served) .. 5 (most underserved); 0 no value")]
    label: str
    lower: Annotated[float | None, Doc("smallest gap index in the class")]
    upper: Annotated[float | None, Doc("largest gap index in the class")]
    areas: Annotated[int, Doc("areas in the class")]


class AreaCollection(TypedDict):
    type: Literal["FeatureCollection"]
    level: Level
    period: Annotated[str, Doc("'all' or the year the values are for")]
    families: list[AnyFamily]
    tolerance_m: Annotated[float, Doc("simplification tolerance used, metres")]
    crs: Literal["EPSG:4326"]
    classes: Annotated[dict[str, list[GapClass]], Doc(
        "secondary: gap-index classes per family")]
    need_access: Annotated[dict[str, list[NeedAccessClass]], Doc(
        "need/access classes (the map's key) per family, with the areas in each")]
    features: list[AreaFeature]


# ---------------------------------------------------------------- providers


class InventoryFields(TypedDict):
    """A provider's inventory fields (docs/PROVIDERS.md), "" where not given."""

    organisation: Annotated[str, Doc(default="")]
    programme: Annotated[str, Doc(default="")]
    address: Annotated[str, Doc(default="")]
    capacity_unit: Annotated[str, Doc(default="")]
    opening_hours: Annotated[str, Doc("OpenStreetMap opening_hours syntax", default="")]
    eligibility: Annotated[str, Doc(default="")]
    languages: Annotated[str, Doc("languages offered, separated by '; '", default="")]
    phone: Annotated[str, Doc(default="")]
    website: Annotated[str, Doc(default="")]
    source: Annotated[str, Doc(default="")]
    last_verified: Annotated[str, Doc("YYYY-MM-DD, '' when never verified", default="")]
    serves: Annotated[str, Doc("areas served instead of a catchment, as written",
                               default="")]
    months_since_verified: Annotated[float | None, Doc(default=None)]
    stale: Annotated[bool | None, Doc("not verified within the workspace's "
                                      "stale_after_months (or never); None: a workspace "
                                      "without verification dates", default=None)]


class ProviderProperties(InventoryFields):
    provider_id: str
    name: str
    family: Family
    service_type: str
    capacity: float | None
    catchment: Annotated[float | None, Doc("reach of the service as the analysis used it, "
                                           "in catchment_unit")]
    catchment_unit: CatchmentUnit
    distance_model: DistanceModelName
    catchment_m: Annotated[float | None, Doc("straight-line radius of the service type, "
                                             "metres (the catchment of straight-line "
                                             "analyses only)")]
    neighborhood_id: str | None
    ward_id: str | None
    serves_areas: Annotated[bool, Doc("serves exactly the areas in 'serves' (no "
                                      "catchment)", default=False)]


class ProviderFeature(TypedDict):
    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: ProviderProperties


class ProviderCollection(TypedDict):
    type: Literal["FeatureCollection"]
    crs: Literal["EPSG:4326"]
    distance_model: DistanceModelName
    catchment_unit: CatchmentUnit
    features: list[ProviderFeature]


# ---------------------------------------------------------------- hexagons


class HexProperties(TypedDict):
    calls: Annotated[int | None, Doc("calls in the hexagon; null when hidden (fewer than "
                                     "the privacy threshold, with a sensitive call)")]


class HexFeature(TypedDict):
    type: Literal["Feature"]
    geometry: Geometry
    properties: HexProperties


class HexCollection(TypedDict):
    type: Literal["FeatureCollection"]
    crs: Literal["EPSG:4326"]
    size_m: Annotated[float, Doc("hexagon circumradius used, metres (never finer than the "
                                 "privacy threshold allows)")]
    requested_size_m: Annotated[float, Doc("hexagon circumradius asked for, metres")]
    family: Family | None
    period: str
    max_calls: Annotated[int, Doc("largest count shown")]
    total_calls: Annotated[int | None, Doc("calls in all hexagons; null when it would "
                                           "reveal a hidden count")]
    hidden_hexagons: Annotated[int, Doc("hexagons whose count is hidden")]
    privacy: Annotated[str, Doc("what is hidden, in words")]
    features: list[HexFeature]


# ---------------------------------------------------------------- profiles


class MeasureValue(TypedDict):
    family: AnyFamily
    measure: str
    label: str
    value: Annotated[int | float | None, Doc("the measure's value; class, gap_class an "
                                             "integer class number (0 = no value or not "
                                             "ranked)")]
    ci_low: Annotated[float | None, Doc("lower bound of its 95% interval (rates: exact "
                                        "Poisson; shares: Wilson)", default=None)]
    ci_high: Annotated[float | None, Doc("upper bound of its 95% interval", default=None)]
    text: NotRequired[Annotated[str | None, Doc("class only: the class in words",
                                                default=None)]]
    uncertain: NotRequired[Annotated[bool | None, Doc(
        "class only: fewer than 80% of the bootstrap replicates agree with it",
        default=None)]]
    rank: Annotated[int | None, Doc("rank among the areas of the level, 1 = highest value "
                                    "(for gap: most underserved); ties share")]
    of: Annotated[int, Doc("areas with a value")]
    city: Annotated[float | None, Doc("city-wide value (None for gap and gap class)")]


class CategoryCalls(TypedDict):
    category: str
    family: str
    calls: Annotated[int | None, Doc("calls; null when hidden for privacy")]
    suppressed: Annotated[bool, Doc("this count or one of its years is hidden")]
    by_year: Annotated[dict[str, int | None], Doc("calls per year ('unknown': no valid "
                                                  "date; null: hidden)")]


class NearbyProvider(ProviderProperties):
    distance_m: Annotated[float, Doc("straight-line distance to the area's nearest point, "
                                     "metres (0 inside)")]
    travel_min: Annotated[float | None, Doc("network analyses: travel minutes to the "
                                            "area's nearest point on the street network "
                                            "(0 inside); null straight-line, and for a "
                                            "provider serving named areas")]
    serves_here: Annotated[bool, Doc("a provider that serves named areas (serves) whose "
                                     "areas overlap this one", default=False)]


class AreaProfile(TypedDict):
    level: Level
    area_id: str
    name: str
    population: float | None
    area_km2: float | None
    calls: Annotated[int | None, Doc("calls placed in the area (all families); null when "
                                     "hidden for privacy")]
    calls_by_year: dict[str, int | None]
    calls_by_category: list[CategoryCalls]
    privacy: Annotated[str, Doc("what is hidden, in words")]
    distance_model: DistanceModelName
    catchment_unit: CatchmentUnit
    reach: Annotated[str, Doc("how providers_in_reach is decided")]
    providers_inside: list[NearbyProvider]
    providers_in_reach: Annotated[list[NearbyProvider], Doc(
        "providers outside the area whose catchment reaches it with the analysis' "
        "distance model, or which serve named areas overlapping it (see reach), nearest "
        "first")]
    measures: list[MeasureValue]


class DirectoryEntry(InventoryFields):
    provider_id: str
    name: str
    family: Family
    service_type: str
    relation: Annotated[Relation, Doc(
        "how it serves the area: located in it; assigned to named areas that overlap it "
        "(serves); or located outside with a catchment that reaches it")]
    capacity: float | None
    catchment: Annotated[float | None, Doc("reach of the service in catchment_unit")]
    catchment_unit: CatchmentUnit
    distance_model: DistanceModelName
    distance_m: Annotated[float, Doc("straight-line distance to the area's nearest point, "
                                     "metres (0 inside)")]
    travel_min: Annotated[float | None, Doc("network analyses: travel minutes to the "
                                            "area's nearest point (0 inside); null "
                                            "straight-line and for relation 'serves'")]
    serves_here: Annotated[bool, Doc("serves named areas overlapping this one")]


class AreaDirectory(TypedDict):
    level: Level
    area_id: str
    name: str
    distance_model: DistanceModelName
    catchment_unit: CatchmentUnit
    reach: Annotated[str, Doc("how 'reaches' and 'serves' are decided")]
    entries: Annotated[list[DirectoryEntry], Doc(
        "every provider serving the area: by family, then located, serves, reaches, then "
        "nearest first")]
    counts: Annotated[dict[Family, dict[Relation, int]], Doc(
        "entries per family and relation")]
    stale: Annotated[int, Doc("entries not verified within stale_after_months")]


# ---------------------------------------------------------------- rankings


GapRow = TypedDict("GapRow", {
    "rank": Annotated[int, Doc("1 = most underserved (high need, low access first, by "
                               "need)")],
    "area_id": str,
    "name": str,
    "label": Annotated[str, Doc("need/access class in words")],
    "underserved": Annotated[bool, Doc("high need, low access")],
    "need": Annotated[float | None, Doc("calls per 1,000 residents per year, smoothed")],
    "rate": Annotated[float | None, Doc("calls per 1,000 residents per year")],
    "rate_ci_low": float | None,
    "rate_ci_high": float | None,
    "access": float | None,
    "access_need": Annotated[float | None, Doc("capacity per 1,000 calls a year")],
    "reach": Annotated[float | None, Doc("share of residents within reach")],
    "coverage": float | None,
    "calls": float | None,
    "providers": float | None,
    "rank_low": Annotated[int | None, Doc("bootstrap 90% interval of the rank, low end")],
    "rank_high": Annotated[int | None, Doc("... high end")],
    "p_top10": Annotated[float | None, Doc("probability of being among the 10 most "
                                           "underserved (bootstrap)")],
    "p_underserved": Annotated[float | None, Doc("share of bootstrap replicates in which "
                                                 "the area is high need, low access")],
    "class_uncertain": Annotated[int | None, Doc("1: fewer than 80% of the replicates "
                                                 "agree with the class")],
    "hotspot_need": Annotated[int | None, Doc("Gi* on need: 1 hot spot, -1 cold, 0 "
                                              "neither")],
    "class": Annotated[int, Doc("need/access class 1..9")],
    "gap": Annotated[float | None, Doc("secondary: rank-difference gap index")],
    "gap_class": int,
})
GapRow.__doc__ = "One of the most underserved areas (rank 1 = most underserved)."


class GapRanking(TypedDict):
    level: Level
    period: str
    top: int
    families: dict[str, list[GapRow]]
    status: Annotated[str, Doc("'uncalibrated' when more calls than the set share are of "
                               "types the taxonomy does not know (see caveats)",
                               default="calibrated")]
    caveats: Annotated[list[Caveat], Doc("what must be said before these figures",
                                         default=[])]

