"""Pydantic models of the diversion routes (``/api/diversion*``): the diverted share and the
rules, eligibility models, coverage by the hour of the week and the path-to-20% scenario.

Shares are in [0, 1] with their 95% Wilson interval (``low``, ``high``); ``null`` where a
value is undefined or hidden (a count of fewer than the privacy threshold that holds a
sensitive call, and the shares it would reveal). Hours of the week run from Monday
00:00-00:59 (index 0) to Sunday 23:00-23:59 (167), in the calls' wall-clock time.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from safetygap.diversion_scenario import TARGET
from safetygap.eligibility import MODELS
from safetygap.hours import ALWAYS
from safetygap.vocab import LEVELS, Channel

ModelName = Literal[MODELS]  # type: ignore[valid-type]
"""A packaged eligibility model."""
DivertedChannel = Literal[tuple(str(c) for c in Channel if c.diverted)]  # type: ignore[valid-type]
"""A non-police alternative a call can move to."""
Level = Literal[LEVELS]  # type: ignore[valid-type]


class Share(BaseModel):
    value: float | None = Field(description="the share, 0..1")
    low: float | None = Field(description="95% Wilson interval, lower end")
    high: float | None = Field(description="95% Wilson interval, upper end")


class EligibilityCounts(BaseModel):
    """Calls in the diverted share's denominator, by eligibility and diversion."""

    model_config = ConfigDict(extra="forbid")
    base: int | None = Field(description="calls in the denominator")
    diverted: int | None = Field(description="handled by a non-police alternative")
    eligible: int | None = Field(description="eligible under the model")
    eligible_diverted: int | None = Field(description="eligible and diverted")
    eligible_not_diverted: int | None = Field(
        description="eligible but police (or fire/EMS) answered them")
    diverted_not_eligible: int | None = Field(description="diverted though not eligible")


class EligibilityUnit(BaseModel):
    counts: EligibilityCounts
    small: bool = Field(description="fewer than 30 calls in the denominator: shares "
                                    "uncertain, never ranked")
    diverted_share: Share
    eligible_share: Share
    eligible_not_diverted_share: Share
    eligible_diverted_share: Share = Field(description="share of the eligible calls that "
                                                       "were diverted")


class EligibilityArea(EligibilityUnit):
    area_id: str
    name: str


class TierInfo(BaseModel):
    id: str
    label: str
    eligible: bool
    description: str


class TierCount(BaseModel):
    tier: str
    label: str
    eligible: bool
    calls: int = Field(description="calls in the denominator in this tier (city-wide)")
    share: Share


class ModelInfo(BaseModel):
    name: str
    title: str
    programme: str
    description: str
    hours: str = Field(description="when the programme's responders work (OpenStreetMap "
                                   "opening_hours syntax)")
    version: str
    tiers: list[TierInfo]
    rules: list[dict[str, Any]] = Field(
        description="the rules in order: id, tier, conditions, source key, reference, note")
    default: dict[str, Any] = Field(description="the tier of calls no rule matches")
    checksum: str


class EligibilityAnswer(BaseModel):
    model: ModelInfo
    denominator_words: str = Field(description="what the shares are shares of")
    city: EligibilityUnit
    tiers: list[TierCount]
    levels: dict[Level, list[EligibilityArea]]
    privacy: str


class RuleInfo(BaseModel):
    id: str
    channel: str
    conditions: dict[str, Any]
    source: str = Field(description="the reference the rule follows")
    note: str


class DiversionOverview(BaseModel):
    """The diverted share as the analysis counted it, and the rules that decided it."""

    rules: dict[str, Any] = Field(description="name, version, source and checksum of the "
                                              "rule set")
    rule_list: list[RuleInfo]
    denominator: str
    denominator_words: str
    diverted_share: Share = Field(description="all years, all locations")
    denominator_calls: int
    diverted_calls: int
    by_channel: dict[str, int]
    calls_911: dict[str, Any] | None = Field(
        description="the 911 calls alone: denominator, diverted, share")
    outside_911: dict[str, Any] | None = Field(
        description="the records from outside 911 (311 / online reports), when the analysis "
                    "has them: how many, counted or not, channel, how they were placed")
    models: list[str] = Field(description="the eligibility models to choose from")
    default_model: str
    target: float = Field(description="the city's goal for the diverted share")


class DiversionHourScenario(BaseModel):
    scenario: str = Field(description="recorded (the providers' own hours), or a what-if")
    hours: str = Field(description="the responders' hours in this scenario")
    covered_share: Share = Field(description="eligible calls that arrived while a "
                                             "responder covering them was open")
    by_hour: list[float | None] = Field(min_length=168, max_length=168,
                                        description="the share per hour of the week")


class DiversionHoursAnswer(BaseModel):
    model: str
    level: Level | None
    area_id: str | None
    name: str | None
    days: list[str]
    eligible_calls: int = Field(description="eligible 911 calls with a place and a time")
    calls_per_week: list[float | None] = Field(
        min_length=168, max_length=168,
        description="eligible calls a week in each hour of the week (average over the data)")
    scenarios: list[DiversionHourScenario]
    responders: dict[str, Any] = Field(
        description="the providers counted as responders: service types, how many, how "
                    "many state their hours, how many state hours that cannot be read "
                    "(they count as unknown; up to 5 examples), what unknown hours count as")
    privacy: str


# ----------------------------------------------------------------- the scenario


class DiversionMoveIn(BaseModel):
    """Calls police answer today that go to ``channel`` instead."""

    model_config = ConfigDict(extra="forbid")
    channel: DivertedChannel
    categories: list[str] = Field(default_factory=list, max_length=40,
                                  description="taxonomy categories")
    call_types: list[str] = Field(default_factory=list, max_length=200,
                                  description="call-type names")
    model: ModelName | None = Field(None, description="every call this model marks "
                                                      "eligible")
    share: float = Field(1.0, ge=0, le=1, allow_inf_nan=False,
                         description="fraction of the matching calls moved")


class DiversionShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hours: str = Field(ALWAYS, max_length=200,
                       description="when the new responders are on duty (opening_hours "
                                   "syntax); only calls arriving then move")
    team_size: int = Field(2, ge=1, le=20)
    shift_hours: float = Field(10.0, ge=1, le=24, allow_inf_nan=False)
    shifts_per_week: float = Field(4.0, ge=1, le=7, allow_inf_nan=False)
    available: float = Field(0.75, ge=0.05, le=1, allow_inf_nan=False,
                             description="share of paid hours on duty (ASSUMPTION 0.75)")


class DiversionScenarioRequest(BaseModel):
    """A path-to-20% scenario (see ``POST /api/diversion/scenario``)."""

    model_config = ConfigDict(extra="forbid")
    moves: list[DiversionMoveIn] = Field(default_factory=list, max_length=20)
    target: float = Field(TARGET, gt=0, le=1, allow_inf_nan=False)
    shift: DiversionShiftIn = Field(default_factory=DiversionShiftIn)
    minutes: dict[str, float] = Field(
        default_factory=dict, max_length=60,
        description="responder minutes per call by category ('default' for the others)")
    police_minutes: dict[str, float] = Field(
        default_factory=dict, max_length=60,
        description="police minutes per call by category ('default' for the others)")
    officers_per_call: float = Field(1.0, gt=0, le=10, allow_inf_nan=False)
    candidates_model: ModelName | None = Field(
        None, description="the model whose eligible calls 'to the target' may move "
                          "(default: the server's default model)")


class DiversionMoveOut(BaseModel):
    channel: str
    categories: list[str]
    call_types: list[str]
    model: str | None
    share: float
    words: str
    calls_moved: float = Field(description="expected calls moved over the data's span")
    calls_moved_per_year: float


class DiversionScenarioUnit(BaseModel):
    base: int | None = Field(description="calls in the denominator")
    diverted_before: int | None
    moved: float | None = Field(description="expected calls moved")
    diverted_after: float | None
    share_before: float | None
    interval_before: list[float] | None = Field(description="95% Wilson interval")
    share_after: float | None
    interval_after: list[float] | None
    reaches_target: bool


class DiversionToTarget(BaseModel):
    categories: list[str] = Field(description="the fewest further categories (largest "
                                              "first) that take the area to the target")
    reachable: bool
    share: float | None = Field(description="the share with them moved")
    calls_needed: int | None


class DiversionScenarioArea(DiversionScenarioUnit):
    area_id: str
    name: str
    small: bool
    moved_calls: int | None
    to_target: DiversionToTarget


class DiversionScenarioAnswer(BaseModel):
    headline: str
    synthetic: bool
    target: float
    moves: list[DiversionMoveOut]
    period: dict[str, Any] = Field(description="first and last call day, years")
    city: DiversionScenarioUnit
    by_channel: dict[str, dict[str, float]]
    hour_of_week: dict[str, Any] = Field(
        description="moved_per_week (168 values; null: hidden, a small count of sensitive "
                    "calls), busiest_hour, busiest_calls_per_week")
    staffing: dict[str, Any] = Field(
        description="shift pattern, responder hours a year and full-time staff (FTE)")
    police_hours_freed_per_year: float
    time_on_task: dict[str, Any] = Field(description="minutes per category and sources")
    candidates_model: str
    levels: dict[Level, list[DiversionScenarioArea]]
    changes_nothing: bool
    denominator_words: str
    privacy: str
