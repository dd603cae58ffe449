"""Pydantic models of the siting and what-if routes: the requests, declared here, and the
answers, derived from their records (:mod:`safetygap.scenarios.records`).

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

from safetygap.api.models import Family, model_from_record
from safetygap.inputs.providers import MAX_CAPACITY
from safetygap.maps.sites import MAX_SITES
from safetygap.scenarios import records

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


# derived from the records of the answers (safetygap.scenarios.records)
IndexChange = model_from_record(records.IndexChange)
AreaGain = model_from_record(records.AreaGain)
Site = model_from_record(records.Site)
Candidates = model_from_record(records.Candidates)
SiteRecommendation = model_from_record(records.SiteRecommendation)
"""GET/POST /api/sites: :func:`safetygap.api._scenarios.sites_response`."""
PlacedProvider = model_from_record(records.PlacedProvider)
FamilyTotals = model_from_record(records.FamilyTotals)
AreaChange = model_from_record(records.AreaChange)
ScenarioResult = model_from_record(records.ScenarioResult)
"""POST /api/scenarios: :func:`safetygap.api._scenarios.scenario_response`."""
