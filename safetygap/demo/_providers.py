"""Community-safety providers of the demo city, placed unevenly on purpose.

Response services (police, fire) are spread evenly; prevention programs
cluster around hotspot A, downtown and the west; restoration services sit
downtown and to the north. The south-east district around hotspot B is
left thin on prevention and restoration and has no crisis-team base: that is
the gap the demo is meant to show.

``capacity`` is staff in full-time equivalents for every provider (one unit
for the whole file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from safetygap.demo._plan import CityPlan
from safetygap.demo._shapes import Units, reading_order

ESCAPE_TEST_NAME = "Smith & Sons Re-entry <Pilot>"
"""A provider name that must be HTML-escaped by anything that renders it."""

SERVICE_TYPES: dict[str, str] = {
    "police_station": "response",
    "fire_station": "response",
    "bcr_team": "response",
    "traffic_control": "response",
    "animal_control": "response",
    "online_311": "response",
    "violence_interruption": "prevention",
    "youth_program": "prevention",
    "community_center": "prevention",
    "victim_services": "restoration",
    "restorative_justice": "restoration",
    "reentry": "restoration",
}
"""Service type -> family for every type the demo city places."""

OPENING_HOURS: dict[str, str] = {
    "police_station": "24/7",
    "fire_station": "24/7",
    "bcr_team": "Mo-Su 07:00-23:00",
    "traffic_control": "Mo-Fr 06:00-18:00",
    "animal_control": "Mo-Su 08:00-20:00",
    "online_311": "24/7",
    "violence_interruption": "Mo-Su 16:00-02:00",
    "youth_program": "Mo-Fr 15:00-20:00; Sa 10:00-16:00",
    "community_center": "Mo-Fr 09:00-21:00; Sa,Su 10:00-18:00",
    "victim_services": "Mo-Fr 08:00-17:00",
    "restorative_justice": "Mo-Th 10:00-18:00",
    "reentry": "Mo-Fr 09:00-17:00",
}
"""Opening hours (OpenStreetMap syntax) of every provider of a type: made up like the rest
of the city, so the coverage by the hour of the week has something to show (the crisis
teams' 07:00-23:00 against 24/7, youth programs after school)."""


@dataclass(frozen=True)
class _Spec:
    service_type: str
    count: int
    placement: str
    capacity: tuple[float, float]  # FTE staff, uniform range
    names: tuple[str, ...]


_SPECS: tuple[_Spec, ...] = (
    _Spec("police_station", 5, "spread", (45.0, 140.0), ("Precinct {k} Station",)),
    _Spec("fire_station", 12, "spread", (12.0, 30.0), ("Fire Station {k}",)),
    _Spec("bcr_team", 2, "bcr", (8.0, 18.0), ("Behavioral Crisis Response - {n} Base",)),
    _Spec("traffic_control", 1, "downtown", (20.0, 30.0), ("Traffic Control Unit",)),
    _Spec("animal_control", 1, "edge", (8.0, 14.0), ("Animal Care & Control",)),
    _Spec("online_311", 1, "city_hall", (30.0, 45.0), ("311 Contact Center (City Hall)",)),
    _Spec(
        "violence_interruption", 8, "prevention", (4.0, 16.0),
        ("{n} Peacekeepers", "{n} Violence Interrupters", "Cure Violence {n}",
         "{n} Street Outreach"),
    ),
    _Spec(
        "youth_program", 15, "prevention", (3.0, 14.0),
        ("{n} Youth Center", "{n} Boys & Girls Club", "{n} Teen Tech Lab",
         "{n} Youth Sports League", "{n} After-School Program"),
    ),
    _Spec(
        "community_center", 12, "prevention_wide", (5.0, 22.0),
        ("{n} Community Center", "{n} Recreation Center", "{n} Neighborhood House"),
    ),
    _Spec(
        "victim_services", 6, "restoration", (3.0, 12.0),
        ("{n} Victim Advocacy Office", "{n} Survivor Support Center",
         "Safe Harbor Victim Services - {n}"),
    ),
    _Spec(
        "restorative_justice", 3, "restoration", (2.0, 8.0),
        ("{n} Restorative Justice Circle", "{n} Community Conferencing",
         "{n} Peace Circle Project"),
    ),
    _Spec(
        "reentry", 3, "restoration", (3.0, 10.0),
        (ESCAPE_TEST_NAME, "{n} Reentry Hub", "Second Chance Reentry - {n}"),
    ),
)


def _preference(kind: str) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """Relative placement weight per unit area for a placement ``kind``."""

    def avoid_se(f: dict[str, np.ndarray], strength: float) -> np.ndarray:
        return np.clip(1.0 - strength * f["se_wide"] / f["se_wide"].max(), 0.005, 1.0)

    prefs: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = {
        "prevention": lambda f: (
            1.0 * f["hot_a"] + 0.7 * f["downtown"] + 0.6 * f["hot_c"] + 0.08 * f["north"] + 0.005
        ) * avoid_se(f, 0.995),
        "prevention_wide": lambda f: (
            0.6 * f["hot_a"] + 0.4 * f["downtown"] + 0.3 * f["hot_c"] + 0.12 * f["north"] + 0.02
        ) * avoid_se(f, 0.98),
        "restoration": lambda f: (
            1.2 * f["downtown"] + 0.5 * f["hot_a"] + 0.1 * f["north"] + 0.002
        ) * (0.2 + f["north"]) * avoid_se(f, 0.999),
        "downtown": lambda f: f["downtown"] + 1e-6,
        "edge": lambda f: f["outer"] * (1.0 - f["north"]) * (1.0 - f["se_wide"]) + 1e-6,
        "spread": lambda f: np.ones_like(f["outer"]),
    }
    return prefs[kind]


def place_providers(
    plan: CityPlan,
    units: Units,
    unit_fields: dict[str, np.ndarray],
    nbhd_names: list[str],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Providers as columns: provider_id, name, family, service_type, capacity,
    opening_hours, xy (local m).

    Locations are drawn inside the sampling ``units`` (so inside the city,
    off every boundary). Providers of one type keep at least 400 m apart;
    police and fire stations are spread by best-candidate sampling.
    """
    f_units = unit_fields
    names: list[str] = []
    types: list[str] = []
    caps: list[float] = []
    xys: list[np.ndarray] = []
    seen: set[str] = set()
    for spec in _SPECS:
        xy, unit = _locations(spec, plan, units, f_units, rng)
        order = reading_order(xy, 2500.0)
        xy, unit = xy[order], unit[order]
        start = int(rng.integers(len(spec.names)))
        for k in range(spec.count):
            if spec.service_type == "reentry" and k == 0:
                template = ESCAPE_TEST_NAME
            else:
                template = spec.names[(start + k) % len(spec.names)]
            name = template.format(k=k + 1, n=nbhd_names[units.nbhd[unit[k]]])
            alt = 0
            while name in seen:  # try the other templates, then number it
                alt += 1
                if alt < len(spec.names):
                    template = spec.names[(start + k + alt) % len(spec.names)]
                    name = template.format(k=k + 1, n=nbhd_names[units.nbhd[unit[k]]])
                else:
                    name = f"{name} {alt - len(spec.names) + 2}"
            seen.add(name)
            names.append(name)
            types.append(spec.service_type)
            lo, hi = spec.capacity
            caps.append(float(np.round(rng.uniform(lo, hi) * 2.0) / 2.0))
            xys.append(xy[k])
    ids = [f"P{i + 1:03d}" for i in range(len(names))]
    return {
        "provider_id": ids,
        "name": names,
        "family": [SERVICE_TYPES[t] for t in types],
        "service_type": types,
        "capacity": np.array(caps, dtype=float),
        "opening_hours": [OPENING_HOURS[t] for t in types],
        "xy": np.array(xys),
    }


def _locations(
    spec: _Spec,
    plan: CityPlan,
    units: Units,
    f_units: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``spec.count`` locations (local m) and the unit each lies in."""
    n = spec.count
    if spec.placement == "city_hall":
        unit = np.array([int(np.argmin(((units.centroid - plan.downtown) ** 2).sum(1)))])
        return units.sample(unit, rng), unit
    if spec.placement == "bcr":
        # one base downtown, one by hotspot A in the north; none in the south-east
        targets = [plan.downtown, plan.hot_a][:n]
        unit = np.array(
            [int(np.argmin(((units.centroid - t) ** 2).sum(1))) for t in targets], dtype=np.int64
        )
        return units.sample(unit, rng), unit
    weight = units.area * _preference(spec.placement)(f_units)
    m = max(40 * n, 200)
    cand_unit = rng.choice(len(units.area), size=m, p=weight / weight.sum())
    cand = units.sample(cand_unit, rng)
    if spec.placement == "spread":  # best candidate: maximise distance to chosen ones
        edge = np.sqrt(((units.centroid[None, :, :] - cand[:, None, :]) ** 2).sum(2)).max(1)
        picked = [int(np.argmin(edge))]  # start near the middle of the city
        best = np.sqrt(((cand - cand[picked[0]]) ** 2).sum(1))
        while len(picked) < n:
            j = int(np.argmax(best))
            picked.append(j)
            best = np.minimum(best, np.sqrt(((cand - cand[j]) ** 2).sum(1)))
    else:  # greedy: in draw order, keep candidates at least 400 m from kept ones
        picked = []
        for j in range(m):
            if all(np.hypot(*(cand[j] - cand[p])) >= 400.0 for p in picked):
                picked.append(j)
                if len(picked) == n:
                    break
        while len(picked) < n:  # pragma: no cover - 40x oversampling is plenty
            picked.append(len(picked))
    idx = np.array(picked)
    return cand[idx], cand_unit[idx]
