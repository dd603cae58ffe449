"""Closed vocabularies of safetygap, one ``enum.StrEnum`` each.

Every member's value is the string the CLI, the API, the workspace files and the taxonomy
use, so ``Family("prevention")`` parses user input and ``str(Family.PREVENTION)`` writes it.
:func:`allowed` lists the values for error messages.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ALL_FAMILIES",
    "BOUNDARY_POLICIES",
    "ENGINES",
    "FAMILIES",
    "LEVELS",
    "ROW_STATUSES",
    "TRAVEL_KINDS",
    "TRAVEL_MODES",
    "BoundaryPolicy",
    "CallSource",
    "Channel",
    "DemandModel",
    "Engine",
    "Family",
    "Kernel",
    "Level",
    "Reliability",
    "RowFlag",
    "RowStatus",
    "TravelKind",
    "TravelMode",
    "allowed",
]


class Family(StrEnum):
    """The three families of community-safety services, in display order."""

    RESPONSE = "response"
    PREVENTION = "prevention"
    RESTORATION = "restoration"


class Level(StrEnum):
    """The two levels of areas an analysis reports on."""

    NEIGHBORHOOD = "neighborhood"
    WARD = "ward"


class Engine(StrEnum):
    """Where the join and the per-area counts run: in this process with the whole calls
    table in memory, in this process batch by batch (``stream``: the calls' text is never
    held whole), or on a dask cluster."""

    MEMORY = "memory"
    DASK = "dask"
    STREAM = "stream"


class Reliability(StrEnum):
    """How far an ACS estimate can be trusted, from its coefficient of variation (CV):
    the Census Bureau's convention (below 12% reliable, 12-30% caution, above 30%
    unreliable); unknown when there is no estimate or no margin of error."""

    RELIABLE = "reliable"
    CAUTION = "caution"
    UNRELIABLE = "unreliable"
    UNKNOWN = "unknown"


class TravelKind(StrEnum):
    """How distance to a provider is measured: straight-line metres or street-network minutes."""

    STRAIGHT = "straight"
    NETWORK = "network"


class TravelMode(StrEnum):
    """Travel mode on a street network."""

    WALK = "walk"
    DRIVE = "drive"


class BoundaryPolicy(StrEnum):
    """What happens to a call near an area boundary: kept in its polygon, or split."""

    CONTAIN = "contain"
    SPLIT = "split"


class RowFlag(StrEnum):
    """Independent flags of a call row: a row may have any number of them, each counted on
    its own (``outside_neighborhoods`` / ``outside_wards``: located, but in no area of that
    layer)."""

    DUPLICATE_ID = "duplicate_id"
    MISSING_COORDINATES = "missing_coordinates"
    INVALID_COORDINATES = "invalid_coordinates"
    ZERO_COORDINATES = "zero_coordinates"
    OUTSIDE_NEIGHBORHOODS = "outside_neighborhoods"
    OUTSIDE_WARDS = "outside_wards"
    DATE_OUTSIDE_WINDOW = "date_outside_window"
    UNPARSEABLE_DATE = "unparseable_date"
    UNKNOWN_CALL_TYPE = "unknown_call_type"


class RowStatus(StrEnum):
    """Display statuses of call rows, in priority order: a row shows the first of its flags
    (:class:`RowFlag`) that applies; ``outside_boundaries`` is outside every neighborhood and
    every ward."""

    DUPLICATE_ID = "duplicate_id"
    MISSING_COORDINATES = "missing_coordinates"
    INVALID_COORDINATES = "invalid_coordinates"
    ZERO_COORDINATES = "zero_coordinates"
    OUTSIDE_BOUNDARIES = "outside_boundaries"
    DATE_OUTSIDE_WINDOW = "date_outside_window"
    UNPARSEABLE_DATE = "unparseable_date"
    UNKNOWN_CALL_TYPE = "unknown_call_type"
    OK = "ok"


class Channel(StrEnum):
    """Who handled a call: the channel a diversion rule set assigns, exactly one per call."""

    POLICE = "police"
    FIRE_EMS = "fire_ems"
    BEHAVIORAL_CRISIS = "behavioral_crisis"
    TRAFFIC_CONTROL = "traffic_control"
    ANIMAL_CONTROL = "animal_control"
    REPORT_311_ONLINE = "report_311_online"
    OTHER_NON_POLICE = "other_non_police"

    @property
    def diverted(self) -> bool:
        """A non-police channel other than fire/EMS: counted in the diverted share."""
        return self not in (Channel.POLICE, Channel.FIRE_EMS)


class CallSource(StrEnum):
    """Who started a call (read from a column of the calls file through a value mapping,
    ``[calls.source_values]``)."""

    PUBLIC_911 = "public_911"
    """A member of the public called 911."""
    NON_EMERGENCY = "non_emergency"
    """A member of the public called the non-emergency line."""
    ONLINE = "online"
    """A report from the public online, by app or at 311."""
    OFFICER_INITIATED = "officer_initiated"
    """An officer started it (traffic stop, on-view, follow-up): not demand from residents."""
    ALARM_COMPANY = "alarm_company"
    """An alarm company called it in: not a resident's call."""
    NOT_RECORDED = "not_recorded"
    """The file does not say (no source column, or an empty value)."""


def allowed(enum: type[StrEnum]) -> tuple[str, ...]:
    """The values of ``enum`` in definition order, for messages that list what is allowed."""
    return tuple(member.value for member in enum)


class Kernel(StrEnum):
    """Distance decay of E2SFCA accessibility (docs/METHODS.md, section 3)."""

    DAI = "dai"
    """Dai (2010): a Gaussian rescaled to reach 0 at the catchment edge (the default)."""
    TRUNCATED_GAUSSIAN = "truncated_gaussian"
    """exp(-½ (d/σ)²) with σ = catchment/2, cut off at the catchment (0.135 at the edge)."""


class DemandModel(StrEnum):
    """Where an area's residents are placed for accessibility and reach."""

    GRID = "grid"
    """Spread over a regular grid of cells clipped to the area (the default)."""
    CENTROID = "centroid"
    """All at the area's centroid (the older, coarser method)."""


FAMILIES: tuple[str, ...] = allowed(Family)
"""The families' values in display order (also ``safetygap.FAMILIES``)."""
ALL_FAMILIES: tuple[str, ...] = ("total", *FAMILIES)
"""``total`` (every need call) and the three families: the columns of the per-area measures."""
LEVELS: tuple[str, ...] = allowed(Level)
BOUNDARY_POLICIES: tuple[str, ...] = allowed(BoundaryPolicy)
TRAVEL_KINDS: tuple[str, ...] = allowed(TravelKind)
TRAVEL_MODES: tuple[str, ...] = allowed(TravelMode)
ENGINES: tuple[str, ...] = allowed(Engine)
ROW_STATUSES: tuple[str, ...] = allowed(RowStatus)
"""Exclusive row statuses in priority order (a row with several faults gets the first)."""
