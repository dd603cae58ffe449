"""Pydantic models of the diversion routes (``/api/diversion*``): the diverted share and the
rules, eligibility models, coverage by the hour of the week and the path-to-20% scenario.
The answers' models are derived from their records
(:mod:`safetygap.readmodel.records_diversion`); the scenario's request is declared here.

Shares are in [0, 1] with their 95% Wilson interval (``low``, ``high``); ``null`` where a
value is undefined or hidden (a count of fewer than the privacy threshold that holds a
sensitive call, and the shares it would reveal). Hours of the week run from Monday
00:00-00:59 (index 0) to Sunday 23:00-23:59 (167), in the calls' wall-clock time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from safetygap.api.models import model_from_record
from safetygap.diversion_scenario import TARGET
from safetygap.eligibility import MODELS
from safetygap.hours import ALWAYS
from safetygap.readmodel import records_diversion as records
from safetygap.vocab import LEVELS, Channel

ModelName = Literal[MODELS]  # type: ignore[valid-type]
"""A packaged eligibility model."""
DivertedChannel = Literal[tuple(str(c) for c in Channel if c.diverted)]  # type: ignore[valid-type]
"""A non-police alternative a call can move to."""
Level = Literal[LEVELS]  # type: ignore[valid-type]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


Share = model_from_record(records.Share)
EligibilityCounts = model_from_record(records.EligibilityCounts, base=_Closed)
EligibilityUnit = model_from_record(records.EligibilityUnit)
EligibilityArea = model_from_record(records.EligibilityArea, base=EligibilityUnit)
TierInfo = model_from_record(records.TierInfo)
TierCount = model_from_record(records.TierCount)
ModelInfo = model_from_record(records.ModelInfo)
"""GET /api/diversion/models: :func:`safetygap.readmodel.diversion.model_info` each."""
EligibilityAnswer = model_from_record(records.EligibilityAnswer)
"""GET /api/diversion/eligibility: :func:`safetygap.readmodel.diversion.eligibility_view`."""
RuleInfo = model_from_record(records.RuleInfo)
DiversionOverview = model_from_record(records.DiversionOverview)
"""GET /api/diversion."""
DiversionHourScenario = model_from_record(records.DiversionHourScenario)
DiversionHoursAnswer = model_from_record(records.DiversionHoursAnswer)
"""GET /api/diversion/hours: :func:`safetygap.readmodel.diversion.hours_view`."""


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


DiversionMoveOut = model_from_record(records.DiversionMoveOut)
DiversionScenarioUnit = model_from_record(records.DiversionScenarioUnit)
DiversionToTarget = model_from_record(records.DiversionToTarget)
DiversionScenarioArea = model_from_record(records.DiversionScenarioArea,
                                          base=DiversionScenarioUnit)
DiversionScenarioAnswer = model_from_record(records.DiversionScenarioAnswer)
"""POST /api/diversion/scenario: :func:`safetygap.readmodel.diversion.scenario_view`."""
