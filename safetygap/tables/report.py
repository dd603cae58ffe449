"""The typed reports of a run: :class:`Quality` (``quality.json``) and :class:`Summary`
(``summary.json``), each built once, complete, by :mod:`safetygap.stages.report`.

``to_dict()`` gives the JSON written to the workspace, key for key and in order. Each report
also reads like that dict (``quality["calls"]["input_rows"]``), so code and tests that
look values up by key keep working; new code uses the attributes
(``quality.calls.input_rows``). The API's response models derive their typed parts from
these dataclasses (:func:`safetygap.api.models.model_from`), and the field descriptions
written here are the ones the API documents.

Long file (about 500 lines): the one owner of the two reports' shapes; each part is a few
declarative lines next to the report that holds it, and splitting them would spread one
JSON file's layout over several modules.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


def describe(text: str) -> dict[str, str]:
    """The metadata of a dataclass field documented with ``text`` (shown by the API's
    schema): ``field(metadata=describe("...")))``."""
    return {"description": text}


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data: a report part as its :meth:`_AsMapping.to_dict`, in
    dicts, lists and tuples too; anything else a deep copy (as ``dataclasses.asdict``)."""
    if isinstance(value, _AsMapping):
        return value.to_dict()
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return copy.deepcopy(value)


class _AsMapping(Mapping[str, Any]):
    """Read access by key to :meth:`to_dict` (the JSON the workspace holds)."""

    OMIT_WHEN_NONE: ClassVar[tuple[str, ...]] = ()
    """Fields left out of the JSON when None (parts some runs do not have)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON: every field in order (nested parts as their own ``to_dict``), less
        the :attr:`OMIT_WHEN_NONE` fields that are None."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)  # type: ignore[arg-type]
                if not (f.name in self.OMIT_WHEN_NONE and getattr(self, f.name) is None)}

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


# ------------------------------------------------------------------ quality.json


@dataclass(eq=False)
class CallsQuality(_AsMapping):
    """What reading and checking the calls file found."""

    file: str
    input_rows: int
    flag_counts: dict[str, int]
    """Rows with each independent flag (:class:`safetygap.vocab.RowFlag`; a row may have
    several, counted under each)."""
    placed: dict[str, int]
    """Rows placed in an area of each layer (each layer joined on its own)."""
    by_source: dict[str, int]
    """Rows per call source (:class:`safetygap.vocab.CallSource`)."""
    counted_as_demand: int
    """Rows whose source the run counts as demand (``count_calls_from``)."""
    status_order: list[str]
    status_counts: dict[str, int]
    analysed_in_areas: int
    excluded_from_areas: int
    faults: dict[str, int]
    """Rows with each fault (a row may have several); ``swapped_coordinates`` last."""
    examples: dict[str, list[dict[str, Any]]]
    unknown_call_types: dict[str, Any]
    notes: str
    time: dict[str, Any]
    """The time form read and the undated calls (:func:`safetygap.inputs.times.undated_report`)."""
    time_covered: list[dict[str, Any]] | None = None
    """The time each feed's calls cover (first to last day, gaps): the rates'
    denominators (:mod:`safetygap.geo.timespan`)."""
    date_window: dict[str, Any] = field(default_factory=dict)
    """The plausible window of call dates and the rows dated outside it, by reason
    (:mod:`safetygap.inputs.date_window`)."""
    malformed_rows: dict[str, Any] = field(default_factory=dict)
    """CSV rows left out because their number of fields differs from the header's, each
    with its line (:mod:`safetygap.inputs.malformed`)."""


@dataclass(eq=False)
class PopulationQuality(_AsMapping):
    """How the population table matched the neighborhoods (built by
    :func:`safetygap.stages.places.match_population`; a run without a population file has
    ``file`` None and the areas only)."""

    file: str | None
    areas_without_population: list[str]
    areas_with_zero_population: list[str]
    rows: int | None = None
    matched_rows: int | None = None
    matched_by_alias_or_folding: dict[str, str] | None = None
    """Names of the table matched to another neighborhood name (folded or by alias)."""
    unmatched_rows: list[str] | None = None
    bad_rows: list[Any] | None = None
    notes: str | None = None
    total_population_matched: float | None = None

    OMIT_WHEN_NONE = ("rows", "matched_rows", "matched_by_alias_or_folding",
                      "unmatched_rows", "bad_rows", "notes", "total_population_matched")

    def to_dict(self) -> dict[str, Any]:
        """The JSON in the order the report has always had (file, counts, areas, notes)."""
        out = super().to_dict()
        order = ("file", "rows", "matched_rows", "matched_by_alias_or_folding",
                 "unmatched_rows", "bad_rows", "areas_without_population",
                 "areas_with_zero_population", "notes", "total_population_matched")
        return {k: out[k] for k in order if k in out}


@dataclass(eq=False)
class ProvidersQuality(_AsMapping):
    """How the providers were placed (built by
    :func:`safetygap.stages.places.place_providers`)."""

    rows: int
    by_family: dict[str, int]
    outside_boundaries: int
    outside_examples: list[dict[str, Any]]
    serving_areas: int
    """Providers that serve named areas instead of a catchment."""
    verification: dict[str, Any]
    completeness: dict[str, Any]


@dataclass(eq=False)
class CrosswalkQuality(_AsMapping):
    """How the neighborhoods fall into wards (built by
    :func:`safetygap.stages.areas.level_indices`)."""

    pairs: int
    """(neighborhood, ward) pairs that overlap."""
    neighborhoods_split_across_wards: int
    population_neighborhoods: float
    """Residents of the neighborhoods."""
    population_wards: float
    """Residents given to the wards (areal weighting of the neighborhoods' population)."""


@dataclass(eq=False)
class TravelQuality(_AsMapping):
    """How far calls and providers lie from the street network (network runs only; a
    straight-line run has the distance model alone). Built by
    :func:`safetygap.stages.travel.travel_quality`."""

    distance_model: str
    calls_snap: dict[str, Any] | None = None
    providers_snap: dict[str, Any] | None = None
    notes: str | None = None

    OMIT_WHEN_NONE = ("calls_snap", "providers_snap", "notes")


@dataclass(eq=False)
class NearBoundaryLevel(_AsMapping):
    """Calls of one layer near its lines."""

    calls_in_areas: int
    within_tolerance: int
    """Calls in areas within ``tolerance_m`` of any line of the layer (city limits too)."""
    within_tolerance_share: float | None
    shared: int
    """Of those, calls within ``tolerance_m`` of the lines of two or more areas."""
    shared_share: float | None


@dataclass(eq=False)
class NearBoundary(_AsMapping):
    """The calls near neighborhood and ward lines (built by
    :func:`safetygap.stages.areas.near_boundary_quality`)."""

    tolerance_m: float
    policy: str
    neighborhood: NearBoundaryLevel
    ward: NearBoundaryLevel
    notes: str


@dataclass(eq=False)
class BoundariesQuality(_AsMapping):
    neighborhoods: dict[str, Any]
    wards: dict[str, Any]
    crosswalk: CrosswalkQuality
    wards_cover_neighborhoods: Any
    near_boundary: NearBoundary


@dataclass(eq=False)
class Quality(_AsMapping):
    """``quality.json``: the data-quality report of a run."""

    calls: CallsQuality
    providers: ProvidersQuality
    population: PopulationQuality
    boundaries: BoundariesQuality
    travel: TravelQuality
    demographics: dict[str, Any] | None = None
    """The demographic table's matching, when the run had one (else absent)."""
    reports: dict[str, Any] | None = None
    """The records from outside 911, when the run had a reports file (else absent)."""

    OMIT_WHEN_NONE = ("demographics", "reports")


# ------------------------------------------------------------------ summary.json


@dataclass(eq=False)
class Totals(_AsMapping):
    input_rows: int = field(metadata=describe("rows in the calls file"))
    unique_calls: int = field(metadata=describe("rows less duplicate ids"))
    calls_in_areas: int = field(metadata=describe(
        "calls counted as demand placed in a neighborhood (each layer joined on its own)"))
    by_family: dict[str, int] = field(metadata=describe("calls in areas per family ('none' too)"))
    by_year: dict[str, int] = field(metadata=describe("calls in areas per year"))
    neighborhoods: int = field(metadata=describe("neighborhoods analysed"))
    wards: int = field(metadata=describe("wards analysed"))
    population: float | None = field(metadata=describe(
        "residents of the neighborhoods (null: unknown)"))
    calls_in_wards: int | None = field(default=None, metadata=describe(
        "calls counted as demand placed in a ward (absent in workspaces written before the "
        "layers were joined independently)"))


@dataclass(eq=False)
class FamilySummary(_AsMapping):
    need_calls: int = field(metadata=describe("calls in areas whose need is this family's"))
    coverable_calls: int = field(metadata=describe(
        "of them, calls some service type with a place handles (coverage's denominator)"))
    placeless_only_calls: int = field(metadata=describe(
        "need calls only services without a place (311, phone lines) handle"))
    coverage: float | None = field(metadata=describe(
        "share of the coverable calls within reach of a provider whose service type handles "
        "their category"))


@dataclass(eq=False)
class QualityCounts(_AsMapping):
    status_counts: dict[str, int] = field(metadata=describe(
        "exclusive status of every input row; adds up to input_rows"))
    areas_without_population: int = field(metadata=describe(
        "neighborhoods with no population figure"))
    areas_with_zero_population: int = field(metadata=describe(
        "neighborhoods with a population of 0"))
    providers_outside_boundaries: int = field(metadata=describe(
        "providers outside every neighborhood"))


@dataclass(eq=False)
class CallTypes(_AsMapping):
    """The calls whose type the taxonomy does not know."""

    calls: int = field(metadata=describe("unique calls counted as demand (the basis)"))
    unknown_type_calls: int = field(metadata=describe("of them, of a type the taxonomy "
                                                      "does not know"))
    unknown_type_share: float = field(metadata=describe("unknown_type_calls / calls"))
    max_share: float = field(metadata=describe(
        "above it the headline lists are uncalibrated (unknown_type_max_share)"))
    uncalibrated: bool = field(metadata=describe("the share is above max_share"))
    top_unknown_types: list[dict[str, Any]] = field(metadata=describe(
        "the most common unknown types with their calls"))
    basis: str = field(metadata=describe("what the share is a share of, in words"))
    words: str = field(metadata=describe("the share in words"))
    advice: str = field(metadata=describe("how to calibrate (empty when calibrated)"))


@dataclass(eq=False)
class Demand(_AsMapping):
    """Which calls the demand measures and the diverted share count."""

    count_calls_from: str = field(metadata=describe("the setting: public or all"))
    source_recorded: bool = field(metadata=describe(
        "the calls file says who started each call"))
    words: str = field(metadata=describe("the calls counted, in words"))
    by_source: dict[str, int] = field(metadata=describe("unique calls per call source"))
    counted_calls: int = field(metadata=describe("unique calls counted"))
    left_out_calls: int = field(metadata=describe("unique calls left out"))
    all_counted: bool = field(metadata=describe("no call left out"))
    basis: str = field(metadata=describe("the measures that count them, in words"))


@dataclass(eq=False)
class Undated(_AsMapping):
    """The calls without a usable date."""

    calls: int = field(metadata=describe("calls without a usable date"))
    share: float = field(metadata=describe("of the input rows"))
    max_share: float = field(metadata=describe("above it the run stops unless accepted"))
    rates_undated: bool = field(metadata=describe(
        "more than max_share undated and the run accepted: the rates are undated"))
    words: str = field(metadata=describe("in words"))
    form: str | None = field(metadata=describe("the time form read, in words"))


@dataclass(eq=False)
class AgencySource(_AsMapping):
    """Where each call's agency comes from."""

    column: str | None = field(metadata=describe("the agency column (null: none)"))
    default: str | None = field(metadata=describe(
        "the stated agency of every call of a file from one department"))
    words: str = field(metadata=describe("in words"))


@dataclass(eq=False)
class Caveat(_AsMapping):
    """Something every output of the analysis says before its figures."""

    kind: str = field(metadata=describe(
        "uncalibrated, rates_undated, demand_basis (calls left out of the counts) or "
        "wards_partial"))
    headline: str = field(metadata=describe("in a few words"))
    text: str = field(metadata=describe("the whole statement"))


@dataclass(eq=False)
class DiversionRulesRef(_AsMapping):
    name: str
    version: str
    source: str = field(metadata=describe("the rule file's name, or the packaged default"))
    checksum: str = field(metadata=describe("SHA-256 of the rule set's content"))


@dataclass(eq=False)
class RuleCount(_AsMapping):
    rule: str = field(metadata=describe("id of a diversion rule ('default': no rule "
                                        "matched)"))
    channel: str = field(metadata=describe("the channel the rule assigns"))
    calls: int = field(metadata=describe("unique calls this rule decided"))


@dataclass(eq=False)
class DiversionSummary(_AsMapping):
    """Who handled the calls, by the diversion rules, and what the share is a share of."""

    rules: DiversionRulesRef
    denominator: str = field(metadata=describe(
        "police_and_alternatives (fire/EMS calls left out) or all_calls"))
    denominator_words: str = field(metadata=describe("the denominator in plain words"))
    denominator_calls: int = field(metadata=describe("unique calls in the denominator"))
    diverted_calls: int = field(metadata=describe(
        "unique calls handled by a non-police alternative"))
    calls_911: dict[str, Any] = field(metadata=describe(
        "the 911 calls alone: denominator_calls, diverted_calls, diverted_share"))
    outside_911: dict[str, Any] | None = field(metadata=describe(
        "the records from outside 911 (311 / online reports), when the run had them: "
        "records, counted, channel, located_by"))
    by_channel: dict[str, int] = field(metadata=describe("unique calls per channel"))
    by_rule: list[RuleCount] = field(metadata=describe(
        "unique calls per rule, in rule order"))


@dataclass(eq=False)
class BoundarySensitivity(_AsMapping):
    """How robust the gap ranking is to calls geocoded onto boundary streets."""

    policy: str = field(metadata=describe(
        "the boundary policy of this analysis (contain or split)"))
    compared_with: str = field(metadata=describe(
        "the other policy, computed for comparison"))
    tolerance_m: float = field(metadata=describe(
        "metres: calls this close to a line are 'on' it"))
    calls_shared: dict[str, int | None] = field(metadata=describe(
        "per level, calls within tolerance_m of the lines of two or more areas"))
    areas_changing_class: dict[str, dict[str, int]] = field(metadata=describe(
        "per level and family, areas whose need/access class differs between policies"))
    areas_changing_gap_class: dict[str, dict[str, int]] = field(metadata=describe(
        "per level and family, areas whose gap class differs between policies"))
    areas_compared: dict[str, dict[str, int]] = field(metadata=describe(
        "per level and family, areas with a gap class under both policies"))
    changed_areas: dict[str, dict[str, list[dict[str, Any]]]]
    """Per level and family, the areas whose gap class differs: ``area_id``, ``name`` and
    the gap class under each policy (``gap_class_<policy>``, the run's policy first)."""
    notes: str = field(metadata=describe("what was compared, in words"))


@dataclass(eq=False)
class TravelSummary(_AsMapping):
    """The distance model and the catchments an analysis used."""

    distance_model: str = field(metadata=describe(
        "straight-line, network-walk or network-drive"))
    unit: str = field(metadata=describe("unit of the catchments: m or min"))
    catchment_column: str = field(metadata=describe(
        "the providers' column of the catchment in unit"))
    network: dict[str, Any] | None = field(default=None, metadata=describe(
        "network analyses: the street network and mode (absent straight-line)"))
    walk_speed_kph: float | None = field(default=None, metadata=describe(
        "network analyses: the speed of the walk to the nearest routable node"))
    off_network_legs: str | None = field(default=None, metadata=describe(
        "network analyses: how points off the network reach it, in words"))
    catchments: dict[str, float] = field(default_factory=dict, metadata=describe(
        "catchment per service type, in unit"))

    OMIT_WHEN_NONE = ("network", "walk_speed_kph", "off_network_legs")


@dataclass(eq=False)
class Summary(_AsMapping):
    """``summary.json``: totals, diverted shares, families, top gaps, sensitivity."""

    label: str = field(metadata=describe("what the data is, e.g. the synthetic demo city's label"))
    synthetic: bool = field(metadata=describe("true for the synthetic demo city"))
    generated: str = field(metadata=describe("when the analysis ran (UTC, ISO 8601)"))
    safetygap_version: str = field(metadata=describe("the safetygap version that ran the analysis"))
    crs: str = field(metadata=describe("projected CRS the analysis ran in"))
    years: list[int] = field(metadata=describe("the calendar years with calls in areas"))
    taxonomy: dict[str, Any] = field(metadata=describe("name and version of the call taxonomy"))
    totals: Totals = field(metadata=describe("row and call counts"))
    diverted_share: dict[str, float | None] = field(metadata=describe(
        "share of unique calls handled by a non-police alternative (channel by the "
        "diversion rules), of the denominator in diversion, 'all' and by year"))
    eligible_not_diverted_share: dict[str, float | None] = field(metadata=describe(
        "share of unique calls eligible for a non-police response that were not diverted "
        "(police, fire/EMS or an unknown agency handled them, by the diversion rules), of "
        "all unique calls, 'all' and by year"))
    diverted_by_agency: dict[str, int] = field(metadata=describe(
        "unique diverted calls per agency"))
    diversion: DiversionSummary = field(metadata=describe(
        "channels and rules of the calls and the denominator of the diverted share"))
    families: dict[str, FamilySummary] = field(metadata=describe(
        "need calls and coverage per family"))
    top_underserved: dict[str, dict[str, list[dict[str, Any]]]] = field(metadata=describe(
        "per level and family, the areas of high need and low access, most underserved "
        "first, with the bootstrap's certainty; 'status': whether the lists are calibrated"))
    top_underserved_basis: str = field(metadata=describe(
        "how the underserved areas are chosen and ordered, in words"))
    not_ranked: dict[str, list[dict[str, Any]]] = field(metadata=describe(
        "per level, the areas shown with a note rather than ranked (few residents or mostly "
        "non-resident calls)"))
    gap_index_top: dict[str, dict[str, list[dict[str, Any]]]] = field(metadata=describe(
        "secondary: per level and family, the areas with the highest rank-difference gap "
        "index"))
    methods: dict[str, Any] = field(metadata=describe(
        "every method setting of the run (docs/METHODS.md)"))
    quality: QualityCounts = field(metadata=describe("data-quality counts"))
    diverted_share_basis: str = field(metadata=describe(
        "what the diverted share is a share of, in words"))
    boundary_sensitivity: BoundarySensitivity | None = field(metadata=describe(
        "gap classes under the two boundary policies compared"))
    travel: TravelSummary = field(metadata=describe(
        "the distance model and catchments the analysis used"))
    uncertainty: dict[str, Any] = field(metadata=describe(
        "the bootstrap of the ranks and the Gi* hot spots: settings, uncertain classes and "
        "hot-spot areas per level and family"))
    placeless_services: dict[str, Any] = field(metadata=describe(
        "services without a place (311, online reporting, phone lines): a separate channel "
        "left out of coverage, reach and accessibility"))
    time_covered: list[dict[str, Any]] = field(metadata=describe(
        "per feed, the time its calls cover (first and last day, gaps, covered years)"))
    demand_points: dict[str, Any] = field(metadata=describe(
        "the demand points: model, number, cell size and population layer"))
    demand: Demand = field(metadata=describe(
        "which calls the demand measures and the diverted share count"))
    call_types: CallTypes = field(metadata=describe(
        "the calls of types the taxonomy does not know"))
    uncalibrated: bool = field(metadata=describe(
        "the headline lists are uncalibrated (too many calls of unknown types)"))
    undated: Undated = field(metadata=describe("the calls without a usable date"))
    agency: AgencySource = field(metadata=describe("where each call's agency comes from"))
    caveats: list[Caveat] = field(metadata=describe(
        "what every output says before its figures: uncalibrated lists, undated rates, "
        "calls left out of the counts, wards that miss part of the city"))


@dataclass(eq=False)
class MethodsSummary:
    """What the methods measured, for the summary (built by :func:`safetygap.pipeline.analyze`
    from the uncertainty stage, the providers, the covered time and the demand points)."""

    uncertainty: dict[str, Any]
    placeless_services: dict[str, Any]
    time_covered: list[dict[str, Any]]
    demand_points: dict[str, Any]


def described_fields(cls: type) -> dict[str, tuple[Any, str]]:
    """Each field of the dataclass ``cls``: (its type annotation, its description)."""
    return {f.name: (f.type, f.metadata.get("description", "")) for f in fields(cls)}
