"""The diversion answers of the read model as typed records (see :mod:`.records`): what
:mod:`safetygap.readmodel.diversion` returns (eligibility per area and city, coverage by
the hour of the week, the path-to-20% scenario) and the overview ``GET /api/diversion``
assembles from the summary.

Shares are in [0, 1] with their 95% Wilson interval (``low``, ``high``); ``None`` where a
value is undefined or hidden. Hours of the week run from Monday 00:00-00:59 (index 0) to
Sunday 23:00-23:59 (167), in the calls' wall-clock time.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

from safetygap.hours import HOURS_OF_WEEK
from safetygap.readmodel.records import Doc
from safetygap.vocab import LEVELS

Level = Literal[LEVELS]  # type: ignore[valid-type]


class Share(TypedDict):
    value: Annotated[float | None, Doc('the share, 0..1')]
    low: Annotated[float | None, Doc('95% Wilson interval, lower end')]
    high: Annotated[float | None, Doc('95% Wilson interval, upper end')]


class EligibilityCounts(TypedDict):
    """Calls in the diverted share's denominator, by eligibility and diversion."""

    base: Annotated[int | None, Doc('calls in the denominator')]
    diverted: Annotated[int | None, Doc('handled by a non-police alternative')]
    eligible: Annotated[int | None, Doc('eligible under the model')]
    eligible_diverted: Annotated[int | None, Doc('eligible and diverted')]
    eligible_not_diverted: Annotated[int | None, Doc(
        "eligible but police (or fire/EMS) answered them")]
    diverted_not_eligible: Annotated[int | None, Doc('diverted though not eligible')]


class EligibilityUnit(TypedDict):
    counts: EligibilityCounts
    small: Annotated[bool, Doc(
        "fewer than 30 calls in the denominator: shares uncertain, never ranked")]
    diverted_share: Share
    eligible_share: Share
    eligible_not_diverted_share: Share
    eligible_diverted_share: Annotated[Share, Doc('share of the eligible calls that were diverted')]


class EligibilityArea(EligibilityUnit):
    area_id: str
    name: str


class TierInfo(TypedDict):
    id: str
    label: str
    eligible: bool
    description: str


class TierCount(TypedDict):
    tier: str
    label: str
    eligible: bool
    calls: Annotated[int, Doc('calls in the denominator in this tier (city-wide)')]
    share: Share


class ModelInfo(TypedDict):
    name: str
    title: str
    programme: str
    description: str
    hours: Annotated[str, Doc(
        "when the programme's responders work (OpenStreetMap opening_hours syntax)")]
    version: str
    tiers: list[TierInfo]
    rules: Annotated[list[dict[str, Any]], Doc(
        "the rules in order: id, tier, conditions, source key, reference, note")]
    default: Annotated[dict[str, Any], Doc('the tier of calls no rule matches')]
    checksum: str


class EligibilityAnswer(TypedDict):
    model: ModelInfo
    denominator_words: Annotated[str, Doc('what the shares are shares of')]
    city: EligibilityUnit
    tiers: list[TierCount]
    levels: dict[Level, list[EligibilityArea]]
    privacy: str


class RuleInfo(TypedDict):
    id: str
    channel: str
    conditions: dict[str, Any]
    source: Annotated[str, Doc('the reference the rule follows')]
    note: str


class DiversionOverview(TypedDict):
    """The diverted share as the analysis counted it, and the rules that decided it."""

    rules: Annotated[dict[str, Any], Doc('name, version, source and checksum of the rule set')]
    rule_list: list[RuleInfo]
    denominator: str
    denominator_words: str
    diverted_share: Annotated[Share, Doc('all years, all locations')]
    denominator_calls: int
    diverted_calls: int
    by_channel: dict[str, int]
    calls_911: Annotated[dict[str, Any] | None, Doc(
        "the 911 calls alone: denominator, diverted, share")]
    outside_911: Annotated[dict[str, Any] | None, Doc(
        "the records from outside 911 (311 / online reports), when the analysis has them: how"
        " many, counted or not, channel, how they were placed")]
    models: Annotated[list[str], Doc('the eligibility models to choose from')]
    default_model: str
    target: Annotated[float, Doc("the city's goal for the diverted share")]


class DiversionHourScenario(TypedDict):
    scenario: Annotated[str, Doc("recorded (the providers' own hours), or a what-if")]
    hours: Annotated[str, Doc("the responders' hours in this scenario")]
    covered_share: Annotated[Share, Doc(
        "eligible calls that arrived while a responder covering them was open")]
    by_hour: Annotated[list[float | None], Doc("the share per hour of the week",
                                               length=HOURS_OF_WEEK)]


class DiversionHoursAnswer(TypedDict):
    model: str
    level: Level | None
    area_id: str | None
    name: str | None
    days: list[str]
    eligible_calls: Annotated[int, Doc('eligible 911 calls with a place and a time')]
    calls_per_week: Annotated[list[float | None], Doc(
        "eligible calls a week in each hour of the week (average over the data)",
        length=HOURS_OF_WEEK)]
    scenarios: list[DiversionHourScenario]
    responders: Annotated[dict[str, Any], Doc(
        "the providers counted as responders: service types, how many, how many state their "
        "hours, how many state hours that cannot be read (they count as unknown; up to 5 "
        "examples), what unknown hours count as")]
    privacy: str


class DiversionMoveOut(TypedDict):
    channel: str
    categories: list[str]
    call_types: list[str]
    model: str | None
    share: float
    words: str
    calls_moved: Annotated[float, Doc("expected calls moved over the data's span")]
    calls_moved_per_year: float


class DiversionScenarioUnit(TypedDict):
    base: Annotated[int | None, Doc('calls in the denominator')]
    diverted_before: int | None
    moved: Annotated[float | None, Doc('expected calls moved')]
    diverted_after: float | None
    share_before: float | None
    interval_before: Annotated[list[float] | None, Doc('95% Wilson interval')]
    share_after: float | None
    interval_after: list[float] | None
    reaches_target: bool


class DiversionToTarget(TypedDict):
    categories: Annotated[list[str], Doc(
        "the fewest further categories (largest first) that take the area to the target")]
    reachable: bool
    share: Annotated[float | None, Doc('the share with them moved')]
    calls_needed: int | None


class DiversionScenarioArea(DiversionScenarioUnit):
    area_id: str
    name: str
    small: bool
    moved_calls: int | None
    to_target: DiversionToTarget


class DiversionScenarioAnswer(TypedDict):
    headline: str
    synthetic: bool
    target: float
    moves: list[DiversionMoveOut]
    period: Annotated[dict[str, Any], Doc('first and last call day, years')]
    city: DiversionScenarioUnit
    by_channel: dict[str, dict[str, float]]
    hour_of_week: Annotated[dict[str, Any], Doc(
        "moved_per_week (168 values; null: hidden, a small count of sensitive calls), "
        "busiest_hour, busiest_calls_per_week")]
    staffing: Annotated[dict[str, Any], Doc(
        "shift pattern, responder hours a year and full-time staff (FTE)")]
    police_hours_freed_per_year: float
    time_on_task: Annotated[dict[str, Any], Doc('minutes per category and sources')]
    candidates_model: str
    levels: dict[Level, list[DiversionScenarioArea]]
    changes_nothing: bool
    denominator_words: str
    privacy: str
