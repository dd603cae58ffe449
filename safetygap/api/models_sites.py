"""Pydantic models of the siting and what-if routes (requests and responses).

Coordinates are longitude, latitude in EPSG:4326. Catchments are in the
workspace's unit (``catchment_unit``): minutes of travel on a street network,
metres straight-line. Index values as in the layers: coverage a share in
[0, 1], access per 1,000 residents, gap -1..1, gap class 0..5; ``null``
where undefined.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from safetygap.api.models import Family, Geometry
from safetygap.inputs.providers import MAX_CAPACITY
from safetygap.maps.sites import MAX_SITES

Existing = Literal["keep", "ignore"]
"""Whether the existing providers of the family stay (the calls they reach count as
served) or the sites are placed as if there were none."""
MAX_CANDIDATES = 5000
"""Most candidate sites one request may send."""
MAX_PROVIDERS = 100
"""Most hypothetical providers one scenario may add."""


# ------------------------------------------------------------------ requests


def _as_cell(value: Any) -> Any:
    """A JSON value as a cell of a provider file: true/false, arrays and objects become
    their JSON text, so the project's validation reports them like any bad cell."""
    if isinstance(value, (bool, list, dict)):
        return json.dumps(value)
    return value


def _cell(json_type: str, description: str) -> Any:
    """A row field taken as sent (any JSON value; missing: null) and checked by the
    project's validation (:func:`safetygap.inputs.providers.providers_from_frame`) with
    every other problem of every row, so one 422 lists them all. The schema documents
    the type expected."""
    return Annotated[str | int | float | None, BeforeValidator(_as_cell),
                     WithJsonSchema({"type": json_type, "description": description}),
                     Field(None, description=description)]


Name = _cell("string", "display name")
ServiceType = _cell("string", "a service type of the taxonomy, e.g. youth_program")
Capacity = _cell("number", "positive number, in the unit of the workspace's providers of "
                           "the same service type")
Latitude = _cell("number", "EPSG:4326")
Longitude = _cell("number", "EPSG:4326")
ProviderId = _cell("string", "optional id (row number when absent)")
FamilyCell = _cell("string", "optional; must match the service type's")
CandidateName = _cell("string", "default 'candidate <n>'")


def _required(*names: str) -> Any:
    """``json_schema_extra`` of a model of row cells: ``names`` are required (checked by
    the project's validation, not by pydantic, so they have no default to show)."""
    def extra(schema: dict[str, Any]) -> None:
        schema["required"] = list(names)
        for name in names:
            schema["properties"][name].pop("default", None)
    return extra


class HypotheticalProvider(BaseModel):
    """A provider that does not exist (yet): validated like a row of a provider file
    (docs/PROVIDERS.md). Values are checked with every other row's, so one 422 names
    every problem (row and field)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_required(
        "name", "service_type", "capacity", "latitude", "longitude"))

    name: Name
    service_type: ServiceType
    capacity: Capacity
    latitude: Latitude
    longitude: Longitude
    provider_id: ProviderId
    family: FamilyCell


class ScenarioRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: list[HypotheticalProvider] = Field(
        min_length=1, max_length=MAX_PROVIDERS, description="the providers to add")


class CandidateSite(BaseModel):
    """A place where a new site could go; blank fields take the request's. Values are
    checked with every other candidate's, so one 422 names every problem."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra=_required("latitude", "longitude"))

    latitude: Latitude
    longitude: Longitude
    name: CandidateName
    provider_id: ProviderId


class SiteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    family: Family
    k: int = Field(5, ge=1, le=MAX_SITES, description="number of new sites")
    candidates: list[CandidateSite] = Field(
        min_length=1, max_length=MAX_CANDIDATES, description="where new sites may go")
    service_type: str | None = Field(None, description="default: the family's most common "
                                                       "among existing providers")
    catchment: float | None = Field(None, gt=0, le=100_000, allow_inf_nan=False,
                                    description="catchment of the new sites, in the "
                                                "workspace's unit (metres straight-line, "
                                                "minutes on a street network; see "
                                                "GET /api/sites); default: the service "
                                                "type's")
    capacity: float | None = Field(None, gt=0, le=MAX_CAPACITY, allow_inf_nan=False,
                                   description="capacity of each new site, at most "
                                               f"{MAX_CAPACITY:,.0f}; default: median of "
                                               "the service type's providers")
    existing: Existing = Field("keep", description="keep: existing providers stay (the "
                                                   "calls they reach count as served); "
                                                   "ignore: sites placed as if there were "
                                                   "none")


# ----------------------------------------------------------------- responses


class IndexChange(BaseModel):
    """One area's indices of one family before and after, and the change (after - before)."""

    coverage_before: float | None
    coverage_after: float | None
    coverage_change: float | None
    reach_before: float | None = Field(description="share of residents within reach")
    reach_after: float | None
    reach_change: float | None
    access_before: float | None
    access_after: float | None
    access_change: float | None
    gap_before: float | None
    gap_after: float | None
    gap_change: float | None
    gap_class_before: int | None
    gap_class_after: int | None
    gap_class_change: int | None
    class_before: int | None = Field(description="need/access class 1..9 (7 = high need, "
                                                 "low access; 0 = not ranked)")
    class_after: int | None
    class_label_before: str = Field(description="the class in words")
    class_label_after: str


class _AreaIds(BaseModel):
    area_id: str
    name: str


class AreaGain(IndexChange, _AreaIds):
    """An area whose calls a site newly covers; indices before and after adding the site
    to the sites ranked above it."""

    calls_newly_covered: int


class Site(BaseModel):
    rank: int = Field(description="1 = chosen first; each adds the most to those above")
    site_id: str
    name: str
    longitude: float
    latitude: float
    neighborhood_id: str | None = Field(description="null: outside every neighborhood")
    ward_id: str | None
    address: str | None = Field(description="the nearest intersection or street, from the "
                                            "workspace's street names (offline); null "
                                            "without street names")
    marginal_calls: int = Field(description="need calls it newly covers, beyond the existing "
                                            "providers and the sites ranked above")
    eligible_newly_covered: int = Field(description="of them, calls a non-police responder "
                                                    "could take")
    residents_newly_reached: float = Field(
        description="residents within its catchment area and not within that of the "
                    "existing providers (when kept) or of the sites ranked above (areal "
                    "weighting of the neighborhoods' population), whole residents")
    cumulative_calls: int = Field(description="need calls newly covered by sites 1..rank")
    neighborhoods: list[AreaGain] = Field(description="neighborhoods that gain, most calls "
                                                      "first")
    wards: list[AreaGain] = Field(description="wards that gain, most calls first")
    catchment_area: Geometry = Field(description="what the site covers (GeoJSON, EPSG:4326, "
                                                 "simplified by 2 m); see catchment_area_method")


class Candidates(BaseModel):
    count: int
    source: str = Field(description="'network nodes in the city', '200 m grid in the city' "
                                    "or 'request body' (POST /api/sites)")


class SiteRecommendation(BaseModel):
    """K new sites chosen to cover the most need calls not yet covered (maximal covering
    location problem, existing providers fixed)."""

    crs: Literal["EPSG:4326"]
    manifest_sha256: str = Field(description="the workspace version the sites are for")
    family: Family
    k: int
    service_type: str
    capacity: float
    distance_model: str = Field(description="straight-line, network-walk or network-drive")
    catchment: float = Field(description="in catchment_unit")
    catchment_unit: Literal["m", "min"] = Field(
        description="m: straight-line metres; min: travel minutes on the street network "
                    "(see distance_model)")
    warnings: list[str] = Field(
        description="e.g. a straight-line catchment under 100 m, usually minutes meant")
    catchment_area_method: str = Field(description="how catchment_area is drawn")
    candidates: Candidates
    need_calls: int = Field(description="need calls of the family placed in areas")
    existing: Existing = Field(description="whether the existing providers were kept")
    residents_newly_reached: float = Field(description="the sites' residents_newly_reached "
                                                       "added up")
    eligible_newly_covered: int = Field(description="the sites' eligible_newly_covered "
                                                    "added up")
    covered_before: int
    covered_after: int
    coverage_before: float | None
    coverage_after: float | None
    stopped_early: bool = Field(description="true when fewer than k sites were chosen")
    stopped_reason: str | None = Field(
        description="why fewer than k: 'all N candidates used', 'no candidate covers any "
                    "remaining call' ('no further candidate ...' after some sites), or "
                    "'every <family> need call is already covered'; null when k were chosen")
    method: str
    sites: list[Site]
    timings_s: dict[str, float] = Field(description="when computed (results are cached)")


class PlacedProvider(BaseModel):
    provider_id: str
    name: str
    family: Family
    service_type: str
    capacity: float
    catchment: float = Field(description="in catchment_unit")
    neighborhood_id: str | None = Field(description="null: outside every neighborhood")
    ward_id: str | None
    longitude: float
    latitude: float


class FamilyTotals(BaseModel):
    need_calls: int
    coverage_before: float | None
    coverage_after: float | None
    calls_newly_covered: int
    eligible_newly_covered: int = Field(description="of them, calls a non-police responder "
                                                    "could take")
    residents_newly_reached: float = Field(
        description="residents within the new providers' catchment areas and not within "
                    "the existing providers' (areal weighting), whole residents")


class AreaChange(IndexChange, _AreaIds):
    family: Family


class ScenarioResult(BaseModel):
    """Indices recomputed with hypothetical providers (the stored workspace is unchanged),
    per area of both levels for the families of the new providers."""

    manifest_sha256: str
    distance_model: str
    catchment_unit: Literal["m", "min"]
    providers: list[PlacedProvider]
    families: list[Family]
    totals: dict[str, FamilyTotals]
    neighborhoods: list[AreaChange]
    wards: list[AreaChange]
    elapsed_s: float
