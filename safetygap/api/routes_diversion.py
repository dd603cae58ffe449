"""Diversion routes: the diverted share and its rules, eligibility models, coverage by the
hour of the week and the path-to-20% scenario. Thin: the work is done by
:mod:`safetygap.readmodel.diversion`; answers are validated against
:mod:`safetygap.api.models_diversion` and cached per workspace (the scenario per request
body). Read-only and public, like every read route: nothing here changes the workspace.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from safetygap.api._errors import ERROR_RESPONSES, param_error
from safetygap.api._scenarios import problems_422
from safetygap.api.models_diversion import (
    DiversionHoursAnswer,
    DiversionOverview,
    DiversionScenarioAnswer,
    DiversionScenarioRequest,
    EligibilityAnswer,
    Level,
    ModelInfo,
    ModelName,
)
from safetygap.api.routes_api import View, cached_json, checked_area
from safetygap.api.routes_sites import BODY_RESPONSES
from safetygap.diversion import rules_from_content
from safetygap.diversion_scenario import (
    TARGET,
    Move,
    ShiftPattern,
    load_time_on_task,
    wilson_interval,
)
from safetygap.eligibility import MODELS
from safetygap.errors import ValidationError
from safetygap.hours import UNKNOWN_HOURS
from safetygap.readmodel.diversion import (
    eligibility_view,
    hours_view,
    model_info,
    scenario_view,
)

router = APIRouter(tags=["diversion"])
ModelQ = Annotated[ModelName | None, Query(
    description="eligibility model (default: the server's SAFETYGAP_ELIGIBILITY_MODEL, "
                "else nicjr)")]


def _model(request: Request, model: str | None) -> str:
    return model or request.app.state.settings.eligibility_model


@router.get("/api/diversion", response_model=DiversionOverview, responses=ERROR_RESPONSES)
def diversion(request: Request, view: View) -> Response:
    """The diverted share as the analysis counted it (with its 95% interval and its
    denominator in words), the calls per channel, the rules that decided each call's
    channel (with their sources) and the records from outside 911, if any."""
    def build() -> dict:
        d = view.summary.get("diversion", {})
        content = view.manifest.get("diversion_rules")
        rules = rules_from_content(content, label="the served analysis") if content else None
        k, n = d.get("diverted_calls", 0), d.get("denominator_calls", 0)
        lo, hi = wilson_interval(k, n)
        return {
            "rules": d.get("rules", {}),
            "rule_list": rules.describe() if rules else [],
            "denominator": d.get("denominator", ""),
            "denominator_words": d.get("denominator_words", ""),
            "diverted_share": {"value": view.summary.get("diverted_share", {}).get("all"),
                               "low": None if n == 0 else round(float(lo), 6),
                               "high": None if n == 0 else round(float(hi), 6)},
            "denominator_calls": n, "diverted_calls": k,
            "by_channel": d.get("by_channel", {}),
            "calls_911": d.get("calls_911"), "outside_911": d.get("outside_911"),
            "models": list(MODELS),
            "default_model": request.app.state.settings.eligibility_model,
            "target": TARGET,
        }

    return cached_json(view, ("diversion",), DiversionOverview, build)


@router.get("/api/diversion/models", response_model=list[ModelInfo])
def models() -> list[ModelInfo]:
    """The eligibility models to choose from, each with its tiers and its rules, every
    rule with its source."""
    return [ModelInfo.model_validate(model_info(m)) for m in MODELS]


@router.get("/api/diversion/eligibility", response_model=EligibilityAnswer,
            responses=ERROR_RESPONSES)
def eligibility(request: Request, view: View, model: ModelQ = None) -> Response:
    """Under an eligibility model, city-wide and per ward and neighborhood: eligible,
    diverted, eligible and diverted, eligible but not diverted (police still answer them),
    among the calls in the diverted share's denominator, with shares and intervals."""
    name = _model(request, model)
    return cached_json(view, ("eligibility", name), EligibilityAnswer,
                       lambda: eligibility_view(view, model=name))


@router.get("/api/diversion/hours", response_model=DiversionHoursAnswer, responses=ERROR_RESPONSES)
def hours(
    request: Request,
    view: View,
    model: ModelQ = None,
    level: Annotated[Level | None, Query(description="with area: one area's hours")] = None,
    area: Annotated[str | None, Query(max_length=100, description="area id")] = None,
    unknown: Annotated[str, Query(description="what providers without stated hours count "
                                              "as: open or closed")] = "open",
) -> Response:
    """Coverage by the hour of the week of the calls eligible under a model: per hour,
    the eligible calls a week and the share that arrived while a responder covering them
    was open, with the providers' own hours, and with a 24/7 team and a 6 a.m.-10 p.m. one
    instead. City-wide, or one area (``level`` and ``area``)."""
    if unknown not in UNKNOWN_HOURS:
        raise param_error("unknown", f"allowed: {', '.join(UNKNOWN_HOURS)}", unknown)
    if (level is None) != (area is None):
        raise param_error("area", "give level and area together (or neither)", area)
    if level is not None:
        checked_area(view, level, "area", area)
    name = _model(request, model)
    return cached_json(view, ("hours", name, level, area, unknown), DiversionHoursAnswer,
                       lambda: hours_view(view, model=name, level=level, area_id=area,
                                          unknown=unknown))


def _scenario_args(body: DiversionScenarioRequest) -> dict:
    """The core's arguments from a request body; :class:`ValidationError` -> 422."""
    try:
        moves = [Move(m.channel, categories=tuple(m.categories),
                      call_types=tuple(m.call_types), model=m.model, share=m.share)
                 for m in body.moves]
        shift = ShiftPattern(**body.shift.model_dump())
        tot = load_time_on_task(responder=body.minutes, police=body.police_minutes,
                                officers_per_call=body.officers_per_call)
    except ValidationError as exc:
        raise problems_422(exc, source="body") from exc
    return {"moves": moves, "shift": shift, "time_on_task": tot, "target": body.target}


@router.post("/api/diversion/scenario", response_model=DiversionScenarioAnswer,
             responses=BODY_RESPONSES)
def scenario(request: Request, view: View, body: DiversionScenarioRequest) -> Response:
    """The path to 20%: move chosen categories, call types or a whole eligibility model's
    calls to chosen channels, and see the diverted share before and after (city-wide, per
    ward and neighborhood, with intervals), the calls moved per hour of the week, the
    responder hours and full-time staff needed at the stated shift pattern, the police
    hours freed, and per area the fewest further categories to the target. Computed on the
    served workspace; nothing is stored."""
    args = _scenario_args(body)
    cand = body.candidates_model or request.app.state.settings.eligibility_model

    def build() -> dict:
        try:
            return scenario_view(view, args["moves"], target=args["target"],
                                 shift=args["shift"], time_on_task=args["time_on_task"],
                                 candidates_model=cand)
        except ValidationError as exc:
            raise problems_422(exc, source="body") from exc

    key = json.dumps(body.model_dump(mode="json"), sort_keys=True) + cand
    return cached_json(view, ("scenario", key), DiversionScenarioAnswer, build)
