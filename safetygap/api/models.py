"""Pydantic models of every API response (they make the OpenAPI schema at ``/docs``),
derived from the core's types: the summary's from the report dataclasses of
:mod:`safetygap.tables.report` (:func:`model_from`), the read routes' from the records of
:mod:`safetygap.readmodel.records` (:func:`model_from_record`); a field added in the core
is in the schema. Only the health check, the GeoJSON geometry (a standard), the
summary's renamed changed areas and the error bodies are declared here.

Coordinates are longitude, latitude in EPSG:4326; distances in metres,
travel times in minutes; catchments in the workspace's ``catchment_unit``
(metres straight-line, minutes on a street network); rates per 1,000 residents
per year; shares in [0, 1]; ``null`` where a value
is undefined (no population, no calls). The other route groups keep theirs in
``models_*`` modules.
"""

from __future__ import annotations

import dataclasses
import functools
import keyword
import operator
import types
import typing
from typing import Annotated, Any, Literal, NotRequired, Required

from pydantic import BaseModel, ConfigDict, Field, create_model

from safetygap.readmodel import records
from safetygap.readmodel.records import REQUIRED, Doc
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


_DERIVED: dict[Any, Any] = {}
"""The response model of each record type of the core already derived (one model per
type, so the schema names each once)."""


def _unwrap(hint: Any) -> tuple[Any, Doc]:
    """A TypedDict field's type without ``NotRequired``/``Annotated``, and its
    :class:`~safetygap.readmodel.records.Doc` (empty when none)."""
    doc = Doc()
    while typing.get_origin(hint) in (NotRequired, Required, Annotated):
        if typing.get_origin(hint) is Annotated:
            doc = next((m for m in hint.__metadata__ if isinstance(m, Doc)), doc)
        hint = typing.get_args(hint)[0]
    return hint, doc


def _swap(hint: Any) -> Any:
    """``hint`` with every record type of the core (TypedDict, report dataclass) replaced
    by its response model, inside lists, dicts and unions too."""
    hint, _ = _unwrap(hint)
    if hint in _DERIVED:
        return _DERIVED[hint]
    if typing.is_typeddict(hint):
        return model_from_record(hint)
    if dataclasses.is_dataclass(hint):
        return _DERIVED.setdefault(hint, model_from(hint))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, dict):
        return origin[tuple(_swap(a) for a in args)]
    if origin in (typing.Union, types.UnionType):
        swapped = [_swap(a) for a in args]
        return hint if swapped == list(args) else functools.reduce(operator.or_, swapped)
    return hint


def model_from(
    source: type,
    *,
    name: str | None = None,
    exclude: tuple[str, ...] = (),
    override: dict[str, tuple[Any, Any]] | None = None,
    extra: dict[str, tuple[Any, Any]] | None = None,
    doc: str | None = None,
) -> type[BaseModel]:
    """A response model derived from a report dataclass of :mod:`safetygap.tables.report`:
    its fields (less ``exclude``) with their types (nested report parts as their own
    models) and descriptions, in order; ``override`` replaces a field's (type, Field) in
    place, ``extra`` adds fields at the end. The model keeps the dataclass' name unless
    ``name`` is given; ``doc`` is its description."""
    hints = typing.get_type_hints(source)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(source):
        if f.name in exclude:
            continue
        if override and f.name in override:
            fields[f.name] = override[f.name]
        else:
            fields[f.name] = (_swap(hints[f.name]),
                              Field(description=f.metadata.get("description") or None))
    fields.update(extra or {})
    model = create_model(name or source.__name__, __doc__=doc, **fields)
    _DERIVED.setdefault(source, model)
    return model


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


BoundarySensitivity = model_from(
    report.BoundarySensitivity, exclude=("notes",), doc=report.BoundarySensitivity.__doc__,
    override={
        "areas_changing_class": (dict[str, dict[str, int]] | None, Field(
            default=None, description=report.described_fields(
                report.BoundarySensitivity)["areas_changing_class"][1])),
        # the route names each area's two classes alike, whichever policy ran
        "changed_areas": (dict[str, dict[str, list[ChangedArea]]], Field()),
    })
DistanceModel = model_from(report.TravelSummary, name="DistanceModel", exclude=(
    "catchment_column", "network", "walk_speed_kph", "off_network_legs"))
RuleCount = model_from(report.RuleCount)
DiversionRulesRef = model_from(report.DiversionRulesRef)
DiversionSummary = model_from(report.DiversionSummary, exclude=("calls_911", "outside_911"),
                              doc=report.DiversionSummary.__doc__)


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


# ---------------------------------------------------------------- read model answers


def model_from_record(source: type, *, base: type[BaseModel] | None = None
                      ) -> type[BaseModel]:
    """The response model of a read-model answer declared in
    :mod:`safetygap.readmodel.records` (a TypedDict): its fields in order with their
    types (nested records as their own models), descriptions and defaults (a
    :class:`~safetygap.readmodel.records.Doc`), and its docstring; a key that is a Python
    keyword (``class``) becomes the field ``class_`` with that alias. ``base``: a model
    whose fields the record extends (the record's own fields are added after them), or
    that sets the model's configuration. Derived once per record."""
    if source in _DERIVED:
        return _DERIVED[source]
    inherited = set(base.model_fields) if base is not None else set()
    fields: dict[str, Any] = {}
    for key, hint in typing.get_type_hints(source, include_extras=True).items():
        if key in inherited:
            continue
        kind, doc = _unwrap(hint)
        info: dict[str, Any] = {"description": doc.text}
        if isinstance(doc.default, list):
            info["default_factory"] = list
        elif doc.default is not REQUIRED:
            info["default"] = doc.default
        if doc.length is not None:
            info["min_length"] = info["max_length"] = doc.length
        if keyword.iskeyword(key):
            info["alias"] = key
            key += "_"
        fields[key] = (_swap(kind), Field(**info))
    model = create_model(source.__name__, __base__=base, __doc__=source.__doc__,
                         __module__=__name__, **fields)
    _DERIVED[source] = model
    return model


class Geometry(BaseModel):
    type: Literal["Point", "Polygon", "MultiPolygon", "GeometryCollection"]
    coordinates: Any = Field(default=None, description="GeoJSON coordinates (lon, lat)")
    geometries: list[Geometry] | None = None


_DERIVED[records.Geometry] = Geometry


class _MeasureProperties(BaseModel):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float | int | str | None] = Field(init=False)


AreaProperties = model_from_record(records.AreaProperties, base=_MeasureProperties)
AreaFeature = model_from_record(records.AreaFeature)
NeedAccessClass = model_from_record(records.NeedAccessClass)
GapClass = model_from_record(records.GapClass)
AreaCollection = model_from_record(records.AreaCollection)
"""GET /api/neighborhoods, /api/wards: :meth:`WorkspaceView.layer`."""

DistanceModelName = records.DistanceModelName
CatchmentUnit = records.CatchmentUnit
InventoryFields = model_from_record(records.InventoryFields)
ProviderProperties = model_from_record(records.ProviderProperties, base=InventoryFields)
ProviderFeature = model_from_record(records.ProviderFeature)
ProviderCollection = model_from_record(records.ProviderCollection)
"""GET /api/providers: :meth:`WorkspaceView.providers_layer`."""

HexProperties = model_from_record(records.HexProperties)
HexFeature = model_from_record(records.HexFeature)
HexCollection = model_from_record(records.HexCollection)
"""GET /api/hexbins: :meth:`WorkspaceView.hexbins`."""

MeasureValue = model_from_record(records.MeasureValue)
CategoryCalls = model_from_record(records.CategoryCalls)
NearbyProvider = model_from_record(records.NearbyProvider, base=ProviderProperties)
AreaProfile = model_from_record(records.AreaProfile)
"""GET /api/neighborhoods/{id}, /api/wards/{id}: :meth:`WorkspaceView.profile`."""
DirectoryEntry = model_from_record(records.DirectoryEntry, base=InventoryFields)
AreaDirectory = model_from_record(records.AreaDirectory)
"""GET /api/.../{id}/directory: :func:`safetygap.readmodel.directory.area_directory`."""
GapRow = model_from_record(records.GapRow)
GapRanking = model_from_record(records.GapRanking)
"""GET /api/gaps: :meth:`WorkspaceView.ranking` per family."""


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
