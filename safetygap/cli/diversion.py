"""``safetygap diversion``: eligibility, coverage by the hour and the path to 20% on a
workspace, from the command line (the same read model as ``/api/diversion*``).

    safetygap diversion eligibility --workspace DIR [--model nicjr] [--json]
    safetygap diversion hours --workspace DIR [--model star] [--level ward --area 3] [--json]
    safetygap diversion scenario --workspace DIR --move behavioral_crisis=behavioral_crisis
                                 [--model-move star=behavioral_crisis] [--share 0.5]
                                 [--hours "Mo-Su 06:00-22:00"] [--minutes CATEGORY=MIN]
                                 [--police-minutes CATEGORY=MIN] [--team-size 2] [--json]

Counts of fewer than the privacy threshold that hold a sensitive call are hidden as on the
web pages (``SAFETYGAP_PRIVACY_MIN_COUNT``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from safetygap.cli._app import Command, Group, app, fail
from safetygap.errors import Problems, ValidationError
from safetygap.vocab import LEVELS

diversion_app = typer.Typer(
    cls=Group, help="Diverted calls: eligibility models, coverage by the hour of the week, "
                    "the path to 20%.", no_args_is_help=True)
app.add_typer(diversion_app, name="diversion")

WorkspaceOpt = Annotated[Path, typer.Option(help="workspace directory (safetygap analyze)")]
ModelOpt = Annotated[str | None, typer.Option(
    help="eligibility model: nicjr, cahoots, star, albuquerque or a model file (.toml) "
         "(default: SAFETYGAP_ELIGIBILITY_MODEL, else nicjr)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the whole answer as JSON")]


def _view(workspace: Path) -> Any:
    from safetygap.readmodel import WorkspaceView
    from safetygap.settings import get_settings
    from safetygap.workspace import Workspace

    settings = get_settings()
    return WorkspaceView(Workspace.open(workspace),
                         privacy_min_count=settings.privacy_min_count), settings


def _pct(v: Any) -> str:
    from safetygap.labels import fmt_pct

    return fmt_pct(v)


def _pairs(values: list[str] | None, flag: str, *, number: bool = False) -> list[tuple[str, Any]]:
    problems = Problems()
    out: list[tuple[str, Any]] = []
    for v in values or []:
        key, sep, val = v.partition("=")
        if not sep or not key.strip() or not val.strip():
            problems.add(flag, "expected NAME=VALUE", value=v)
            continue
        if number:
            try:
                out.append((key.strip(), float(val)))
            except ValueError:
                problems.add(flag, "the value must be a number", value=v)
        else:
            out.append((key.strip(), val.strip()))
    problems.raise_if_any()
    return out


@diversion_app.command(cls=Command)
def eligibility(workspace: WorkspaceOpt, model: ModelOpt = None,
                json_out: JsonOpt = False) -> None:
    """Eligible, diverted, and eligible but not diverted calls, city-wide and per ward.

    Eligible under an eligibility model (docs/TAXONOMY.md); shares of the calls in the
    diverted share's denominator, with their intervals in --json."""
    from safetygap.readmodel.diversion import eligibility_view

    try:
        view, settings = _view(workspace)
        e = eligibility_view(view, model=model or settings.eligibility_model)
    except ValidationError as exc:
        fail(exc)
        return
    if json_out:
        typer.echo(json.dumps(e, indent=1))
        return
    c = e["city"]
    typer.echo(f"{e['model']['title']}: {_pct(c['eligible_share']['value'])} of calls "
               f"eligible ({c['counts']['eligible']:,} of {c['counts']['base']:,}), "
               f"{_pct(c['diverted_share']['value'])} diverted, "
               f"{_pct(c['eligible_not_diverted_share']['value'])} eligible but not diverted")
    typer.echo(f"  shares of {e['denominator_words']}")
    for t in e["tiers"]:
        typer.echo(f"  {t['label']}: {t['calls']:,} ({_pct(t['share']['value'])})")
    typer.echo("ward: eligible, diverted, eligible not diverted")
    for w in e["levels"]["ward"]:
        typer.echo(f"  {w['name']}: {_pct(w['eligible_share']['value'])}, "
                   f"{_pct(w['diverted_share']['value'])}, "
                   f"{_pct(w['eligible_not_diverted_share']['value'])}"
                   + (" (few calls)" if w["small"] else ""))


@diversion_app.command(cls=Command)
def hours(
    workspace: WorkspaceOpt,
    model: ModelOpt = None,
    level: Annotated[str | None, typer.Option(help="neighborhood or ward (with --area)")]
    = None,
    area: Annotated[str | None, typer.Option(help="area id")] = None,
    unknown: Annotated[str, typer.Option(help="providers without stated hours count as "
                                              "open or closed")] = "open",
    json_out: JsonOpt = False,
) -> None:
    """Eligible calls that arrived while a responder covering them was open.

    By hour of the week (--json): with the providers' own hours, with a 24/7 team and with
    a 6 a.m.-10 p.m. one."""
    from safetygap.readmodel.diversion import hours_view

    try:
        problems = Problems()
        if (level is None) != (area is None):
            problems.add("--area", "give --level and --area together (or neither)",
                         value=area)
        if level is not None and level not in LEVELS:
            problems.add("--level", "unknown level", value=level, allowed=LEVELS)
        if unknown not in ("open", "closed"):
            problems.add("--unknown", "unknown value", value=unknown,
                         allowed=("open", "closed"))
        problems.raise_if_any()
        view, settings = _view(workspace)
        if level is not None and not view.has_area(level, area):
            problems.add("--area", f"no {level} with this id", value=area,
                         allowed=view.area_ids(level)[:20])
            problems.raise_if_any()
        h = hours_view(view, model=model or settings.eligibility_model, level=level,
                       area_id=area, unknown=unknown)
    except ValidationError as exc:
        fail(exc)
        return
    if json_out:
        typer.echo(json.dumps(h, indent=1))
        return
    where = h["name"] or "the city"
    typer.echo(f"{h['eligible_calls']:,} eligible calls in {where} ({h['model']})")
    for s in h["scenarios"]:
        typer.echo(f"  {s['scenario']}: {_pct(s['covered_share']['value'])} arrived while a "
                   f"responder covering them was open")


@diversion_app.command(cls=Command)
def scenario(
    workspace: WorkspaceOpt,
    move: Annotated[list[str] | None, typer.Option(
        help="CATEGORY=CHANNEL: move the police-answered calls of a taxonomy category to a "
             "non-police channel (repeatable)")] = None,
    model_move: Annotated[list[str] | None, typer.Option(
        help="MODEL=CHANNEL: move every call the model marks eligible (repeatable)")] = None,
    share: Annotated[float, typer.Option(help="fraction of the matching calls moved")]
    = 1.0,
    hours: Annotated[str, typer.Option(
        help="when the new responders work (opening_hours syntax): only calls arriving "
             "then move")] = "24/7",
    minutes: Annotated[list[str] | None, typer.Option(
        help="CATEGORY=MIN responder time on task ('default' for the others)")] = None,
    police_minutes: Annotated[list[str] | None, typer.Option(
        help="CATEGORY=MIN police time per call today")] = None,
    officers_per_call: Annotated[float, typer.Option(help="officers each call takes today")]
    = 1.0,
    team_size: Annotated[int, typer.Option(help="responders sent to each call")] = 2,
    shift_hours: Annotated[float, typer.Option(help="hours of one shift")] = 10.0,
    shifts_per_week: Annotated[float, typer.Option(help="shifts a full-time post works "
                                                        "a week")] = 4.0,
    available: Annotated[float, typer.Option(help="share of paid hours on duty")] = 0.75,
    target: Annotated[float, typer.Option(help="the goal for the diverted share")] = 0.20,
    model: ModelOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The path to 20%: move calls to non-police channels and see the diverted share.

    Moves chosen categories (or a whole model's eligible calls) to chosen channels; the
    diverted share before and after, per ward, the hours and staff it takes and the police
    hours it frees. The workspace is not changed."""
    from safetygap.diversion_scenario import Move, ShiftPattern, load_time_on_task
    from safetygap.readmodel.diversion import scenario_view
    from safetygap.vocab import Channel, allowed

    try:
        problems = Problems()
        moves = []
        for flag, pairs, kind in (("--move", _pairs(move, "--move"), "categories"),
                                  ("--model-move", _pairs(model_move, "--model-move"),
                                   "model")):
            for key, chan in pairs:
                if chan not in allowed(Channel):
                    problems.add(flag, "unknown channel", value=chan,
                                 allowed=[str(c) for c in Channel if c.diverted])
                    continue
                moves.append(Move(Channel(chan), share=share,
                                  **({"categories": (key,)} if kind == "categories"
                                     else {"model": key})))
        problems.raise_if_any()
        tot = load_time_on_task(responder=dict(_pairs(minutes, "--minutes", number=True)),
                                police=dict(_pairs(police_minutes, "--police-minutes",
                                                   number=True)),
                                officers_per_call=officers_per_call)
        view, settings = _view(workspace)
        r = scenario_view(view, moves, target=target, time_on_task=tot,
                          shift=ShiftPattern(hours=hours, team_size=team_size,
                                             shift_hours=shift_hours,
                                             shifts_per_week=shifts_per_week,
                                             available=available),
                          candidates_model=model or settings.eligibility_model)
    except ValidationError as exc:
        fail(exc)
        return
    if json_out:
        typer.echo(json.dumps(r, indent=1, default=float))
        return
    typer.echo(r["headline"])
    s = r["staffing"]
    if not r["changes_nothing"]:
        typer.echo(f"  responder hours a year: {s['responder_hours_per_year']:,.0f}; "
                   f"full-time staff: {s['fte']:.1f} ({s['words']})")
        typer.echo(f"  police hours freed a year: {r['police_hours_freed_per_year']:,.0f}")
    typer.echo(f"ward: diverted today -> with the change; to reach {target:.0%}, also move")
    for w in r["levels"]["ward"]:
        t = w["to_target"]
        more = ("already there" if w["reaches_target"] else
                ", ".join(t["categories"]) if t["reachable"] else "out of reach")
        typer.echo(f"  {w['name']}: {_pct(w['share_before'])} -> {_pct(w['share_after'])}; "
                   f"{more}")
