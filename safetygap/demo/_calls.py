"""Synthetic 911 calls for service in the City of Minneapolis layer's format.

Long file (about 600 lines): one generator: the call mix, locations, times, problem names,
dispositions and the injected faults draw from one seeded random stream in a fixed order,
which keeps the demo city identical from run to run; split, that order would be spread over
several modules.

One row per call, columns and value formats of the city's
``Incidents_Reported_911`` export (see :data:`CALL_COLUMNS`). The generator
is vectorised: calls are split over call-type groups by fixed city-wide
shares, each group's calls are placed over small sampling units in
proportion to a smooth intensity (residents x a group-specific multiplier
field, plus downtown and arterial activity), then each call gets a problem
name, agency, priority, time and disposition.

The agencies are the real layer's three, POLICE, FIRE and BCR, and the problem
names and disposition codes come from the real layer's vocabulary. Part of the
behavioral-crisis, traffic, animal and report-only-property calls is handled by a
non-police service, and it shows the way it does in the city's data: a crisis call
answered by Behavioral Crisis Response has agency BCR; a call handled by traffic
control, animal control or 311 / online reporting is a POLICE record whose problem
is one the diversion rules send there (a parking problem, an animal call, a theft or
damage report only; :mod:`safetygap.diversion`, the default Minneapolis rules). The
probability varies by place (higher near the crisis-team bases, along arterials, at
the edge of the city) and is calibrated so that the expected diverted share of the
calls handled by police or an alternative (fire/EMS left out, the rules' default
denominator) is :data:`DIVERTED_TARGET` (9 %, as in Minneapolis).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from safetygap.demo._shapes import Units
from safetygap.vocab import RowStatus

CALL_COLUMNS: tuple[str, ...] = (
    "Master_Incident_Number", "Agency_Type", "is_911_Call", "Is_City_Call",
    "Initial_Problem", "Problem__Final_", "Initial_Priority", "Final_Priority",
    "Division", "Jurisdiction", "Response_Date", "Call_Disposition", "Latitude",
    "Longitude", "MPD_Response", "Park_Police_Response", "U_of_M_Response",
    "Other_Agency_Response", "Ward__GIS_", "Neighborhood__GIS_", "OBJECTID",
    "geom_x", "geom_y",
)
"""Column names of the City of Minneapolis 911 layer, in its order."""

CALL_GROUPS: dict[str, tuple[str, ...]] = {
    "behavioral_crisis": (
        "Behavioral Crisis Welfare Ck", "Person In Crisis (P)", "Check the Welfare (P)",
        "Emotionally Disturb Person (P)", "Drunk/Intoxicated Person (P)",
        "Down Outside-One (PE)",
    ),
    "behavioral_crisis_high_risk": ("Attempted Suicide (P)", "Overdose (PE)"),
    "traffic": (
        # "Parking Problem" is the wording of the city's list ("parking problems"); no CAD
        # record of the name is published
        "Property Damage Accident (P)", "Parking Problem (P)", "Road Hazard (P)",
        "Hit & Run (P)",
    ),
    "traffic_injury": ("Personal Injury Accident (PE)",),
    "animal": ("Animal Call (P)", "Aggressive Dog (P)", "Animal Bite (P)"),
    "report_only_property": (
        "Theft - Report Only (P)", "Damage Property-Rpt Only (P)",
        "Burglary Dwlng - Report (P)",
    ),
    "report_only_person": ("Assault Report Only (P)", "Domestic Abuse Report Only (P)"),
    "quality_of_life": (
        "Unwanted Person (P)", "Disturbance (P)", "Music-Loud (P)", "Loud Party (P)",
        "Neighbor Trouble (P)", "Narcotics (Drug) Activity (P)",
    ),
    "violence": (
        "Shooting (P)", "Sound of Shots Fired (P)", "Fight (P)", "Assault in Progress (P)",
        "Person with a Gun (P)", "Robbery of Person (P)",
    ),
    "domestic_violence": ("Domestic (P)", "Domestic Abuse-In Progress (P)"),
    "victimization": (
        "Theft (P)", "Burglary Dwlng In Progress (P)", "Auto Theft in Progress (P)",
        "Crim Sex Conduct (P)",
    ),
    "medical_fire": ("Shortness of Breath (FE)", "Heart (FE)", "Unconscious (FE)",
                     "Outside Fire (FE)"),
    "alarm": ("Audible Business Alarm (P)", "Silent Alarm (P)"),
    "proactive_admin": (
        "Suspicious Person (P)", "Suspicious Vehicle (P)", "Unknown Trouble (P)",
        "Miscellaneous (P)", "Unknown Wireless/Cell Phone(P)", "Receive Information (P)",
    ),
}
"""Call-type group -> the problem names (``Problem__Final_``) generated for it."""

UNKNOWN_CALL_TYPES: tuple[str, ...] = (
    "Fireworks (P)", "Noise Complaint - Other (P)", "Illegal Dumping (P)",
    "Snow Emergency Tow (P)",
)
"""Problem names injected as faults: in no group of :data:`CALL_GROUPS`."""

AGENCIES: tuple[str, ...] = ("POLICE", "FIRE", "BCR")
"""The real layer's Agency_Type values."""
HANDLERS: tuple[str, ...] = ("POLICE", "FIRE", "BCR", "TRAFFIC", "ANIMAL", "311")
"""Who handled a generated call (internal): the last three are POLICE records in the
file, told apart only by their problem names (and disposition and response flags)."""
DIVERTED_HANDLERS: tuple[str, ...] = ("BCR", "TRAFFIC", "ANIMAL", "311")
DIVERTED_TARGET = 0.09
"""Expected share of the calls handled by police or an alternative (fire/EMS left out)
that a non-police service handled."""
NON_FIRE_SHARE = 0.88
"""Share of the calls not handled by fire/EMS (1 - the medical_fire group's share)."""


@dataclass(frozen=True)
class _Group:
    share: float  # city-wide share of calls
    problem_p: tuple[float, ...]  # within-group problem probabilities
    priority_p: tuple[float, float, float, float, float]  # P(priority = 1..5)
    hours: str  # hourly profile
    diverted_to: str | None = None  # handler of the diverted calls (HANDLERS)
    diverted_p: float = 0.0  # mean probability of diversion
    diverted_problems: tuple[int, ...] = ()
    """Positions (in the group's names) of the names a diverted call gets, and a call not
    diverted never gets; empty: any name (BCR is told by its agency)."""


# Diversion probabilities: the shares of 9% of all calls they gave before (BCR 0.35,
# traffic 0.26, animal 0.60, reports 0.42) scaled by NON_FIRE_SHARE, so the share of the
# non-fire calls is 9%.
_GROUPS: dict[str, _Group] = {
    "behavioral_crisis": _Group(0.080, (0.02, 0.20, 0.36, 0.11, 0.18, 0.13),
                                (0.05, 0.45, 0.40, 0.10, 0.0), "general", "BCR",
                                0.35 * NON_FIRE_SHARE),
    "behavioral_crisis_high_risk": _Group(0.010, (0.4, 0.6), (0.85, 0.15, 0, 0, 0), "general"),
    "traffic": _Group(0.100, (0.42, 0.30, 0.12, 0.16), (0.05, 0.35, 0.45, 0.15, 0.0), "day",
                      "TRAFFIC", 0.26 * NON_FIRE_SHARE, (1,)),
    "traffic_injury": _Group(0.015, (1.0,), (0.9, 0.1, 0, 0, 0), "day"),
    "animal": _Group(0.025, (0.62, 0.28, 0.10), (0.0, 0.15, 0.45, 0.40, 0.0), "day",
                     "ANIMAL", 0.60 * NON_FIRE_SHARE, (0,)),
    "report_only_property": _Group(0.050, (0.55, 0.30, 0.15), (0.0, 0.0, 0.1, 0.4, 0.5), "day",
                                   "311", 0.42 * NON_FIRE_SHARE, (0, 1)),
    "report_only_person": _Group(0.020, (0.6, 0.4), (0.0, 0.1, 0.3, 0.4, 0.2), "day"),
    "quality_of_life": _Group(0.160, (0.20, 0.30, 0.12, 0.13, 0.15, 0.10),
                              (0.0, 0.25, 0.55, 0.2, 0.0), "night"),
    "violence": _Group(0.060, (0.08, 0.22, 0.25, 0.20, 0.13, 0.12),
                       (0.85, 0.15, 0.0, 0.0, 0.0), "night"),
    "domestic_violence": _Group(0.060, (0.75, 0.25), (0.55, 0.45, 0.0, 0.0, 0.0), "night"),
    "victimization": _Group(0.070, (0.45, 0.25, 0.22, 0.08), (0.25, 0.45, 0.30, 0.0, 0.0),
                            "general"),
    "medical_fire": _Group(0.120, (0.30, 0.25, 0.30, 0.15), (0.8, 0.2, 0.0, 0.0, 0.0),
                           "general"),
    "alarm": _Group(0.050, (0.7, 0.3), (0.0, 0.6, 0.4, 0.0, 0.0), "day"),
    "proactive_admin": _Group(0.180, (0.22, 0.22, 0.12, 0.20, 0.10, 0.14),
                              (0.05, 0.25, 0.40, 0.25, 0.05), "general"),
}
GROUP_NAMES: tuple[str, ...] = tuple(_GROUPS)

# Hourly profiles (relative weight per hour 0..23), weekday form.
_HOURS: dict[str, np.ndarray] = {
    "general": np.array([0.55, 0.45, 0.38, 0.32, 0.28, 0.30, 0.42, 0.60, 0.78, 0.88, 0.95,
                         1.00, 1.02, 1.05, 1.08, 1.12, 1.15, 1.15, 1.10, 1.05, 1.00, 0.95,
                         0.85, 0.70]),
    "night": np.array([0.95, 0.85, 0.75, 0.55, 0.38, 0.28, 0.25, 0.30, 0.40, 0.50, 0.58,
                       0.65, 0.72, 0.78, 0.84, 0.90, 0.98, 1.05, 1.10, 1.15, 1.20, 1.25,
                       1.22, 1.10]),
    "day": np.array([0.20, 0.15, 0.12, 0.10, 0.10, 0.15, 0.35, 0.80, 1.15, 1.25, 1.25, 1.20,
                     1.20, 1.22, 1.25, 1.30, 1.35, 1.30, 1.05, 0.80, 0.60, 0.48, 0.38, 0.28]),
}
_WEEKDAY = np.array([0.97, 0.95, 0.96, 0.99, 1.06, 1.08, 0.99])  # Monday .. Sunday

_DISPOSITIONS: tuple[str, ...] = (
    "", "ADV-Advised", "AOK-All OK", "GOA-Gone on Arrival", "RPT-Report", "UNF-Unfounded",
    "CNL-Cancelled", "BKG-Booking", "TRN-Transport", "RFD-Refused", "TAG-Tagged",
)
# P(disposition) per handler, aligned with _DISPOSITIONS ("" = empty). The codes are the
# real layer's (call_types_notes.md); only TRN-Transport, RFD-Refused and RPT-Report are
# seen with their text in the 13 verbatim rows, the other texts read the code.
_DISPOSITION_P: dict[str, tuple[float, ...]] = {
    "POLICE": (0.22, 0.22, 0.12, 0.14, 0.14, 0.05, 0.05, 0.04, 0.02, 0.0, 0.0),
    "FIRE": (0.88, 0.0, 0.0, 0.0, 0.0, 0.0, 0.06, 0.0, 0.06, 0.0, 0.0),
    "BCR": (0.05, 0.30, 0.15, 0.10, 0.0, 0.0, 0.05, 0.0, 0.20, 0.15, 0.0),
    "TRAFFIC": (0.10, 0.25, 0.0, 0.25, 0.10, 0.0, 0.05, 0.0, 0.0, 0.0, 0.25),
    "ANIMAL": (0.10, 0.40, 0.0, 0.30, 0.15, 0.0, 0.05, 0.0, 0.0, 0.0, 0.0),
    "311": (0.05, 0.05, 0.0, 0.0, 0.90, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
}
# Initial problem names a call is often first typed as before being re-coded.
_FIRST_TYPED: tuple[str, ...] = (
    "Unknown Trouble (P)", "Suspicious Person (P)", "Disturbance (P)",
    "Check the Welfare (P)", "Unwanted Person (P)", "Silent Alarm (P)",
)

FIRE_DIVISION = "Demo Fire (EMS)"
POLICE_JURISDICTION = "Demo PD/FD/EMS"


@dataclass(frozen=True)
class Faults:
    """How many faulty rows of each kind are injected (disjoint sets of rows).

    Field names are the row statuses of the analysis pipeline, so a data
    quality report can be checked against them one to one.
    """

    duplicate_id: int  # extra rows, each an exact copy of the row before it
    missing_coordinates: int  # empty Latitude / Longitude
    zero_coordinates: int  # Latitude = Longitude = 0 (the city's missing-location marker)
    unparseable_date: int  # empty Response_Date
    unknown_call_type: int  # a problem name in no group of CALL_GROUPS

    @classmethod
    def for_size(cls, n_calls: int) -> Faults:
        """Counts for ``n_calls`` rows: 0.3 % zero and 0.05 % missing coordinates;
        36 duplicates, 48 unknown types and 7 bad dates per 650,000 rows (at least 1 each)."""

        def rnd(x: float) -> int:
            return int(np.floor(x + 0.5))

        scale = n_calls / 650_000
        return cls(
            duplicate_id=max(1, rnd(36 * scale)),
            missing_coordinates=rnd(0.0005 * n_calls),
            zero_coordinates=rnd(0.003 * n_calls),
            unparseable_date=max(1, rnd(7 * scale)),
            unknown_call_type=max(1, rnd(48 * scale)),
        )

    def as_dict(self) -> dict[str, int]:
        """Counts by pipeline status (``invalid_coordinates`` and
        ``outside_boundaries`` are always 0), plus ``off_city_rows`` = zero +
        missing coordinates: the rows with no neighbourhood or ward."""
        return {
            RowStatus.DUPLICATE_ID.value: self.duplicate_id,
            RowStatus.MISSING_COORDINATES.value: self.missing_coordinates,
            RowStatus.INVALID_COORDINATES.value: 0,
            RowStatus.ZERO_COORDINATES.value: self.zero_coordinates,
            RowStatus.OUTSIDE_BOUNDARIES.value: 0,
            RowStatus.UNPARSEABLE_DATE.value: self.unparseable_date,
            RowStatus.UNKNOWN_CALL_TYPE.value: self.unknown_call_type,
            "off_city_rows": self.zero_coordinates + self.missing_coordinates,
        }


# --------------------------------------------------------------------------- intensity


def group_intensity(
    f: dict[str, np.ndarray], units: Units, resident_density: np.ndarray
) -> dict[str, np.ndarray]:
    """Expected relative number of calls of each group in each unit.

    ``f`` holds the plan's fields at the unit centroids
    (:func:`safetygap.demo._plan.fields`); ``resident_density`` is residents
    per m^2 of each unit's neighbourhood. Intensity = residents x a
    group-specific multiplier field + non-residential activity (downtown
    workers and visitors, arterial traffic), all per unit.
    """
    residents = resident_density * units.area
    mean_density = float(residents.sum() / units.area.sum())
    # people-equivalents per m^2 at the centre of downtown / on an arterial
    downtown = f["downtown"] * units.area * 8.0 * mean_density
    corridor = f["corridor"] * units.area * 2.0 * mean_density
    hot, crisis, outer = f["hot"], f["crisis"], f["outer"]
    spec = {
        "behavioral_crisis": (0.5 + 2.2 * crisis + 0.6 * hot, 1.4, 0.05),
        "behavioral_crisis_high_risk": (0.6 + 1.8 * crisis + 0.6 * hot, 0.7, 0.0),
        "traffic": (0.45 + 0 * hot, 0.5, 3.0),
        "traffic_injury": (0.35 + 0 * hot, 0.4, 3.5),
        "animal": (0.15 + 2.2 * outer, 0.01, 0.0),
        "report_only_property": (0.7 + 0.8 * outer, 0.6, 0.2),
        "report_only_person": (0.6 + 1.6 * hot, 0.3, 0.0),
        "quality_of_life": (0.7 + 1.4 * hot + 0.3 * crisis, 0.8, 0.1),
        "violence": (0.08 + 3.0 * f["hot_a"] + 4.5 * f["hot_b"] + 2.0 * f["hot_c"], 0.35, 0.0),
        "domestic_violence": (0.5 + 2.2 * hot, 0.05, 0.0),
        "victimization": (0.8 + 0.6 * hot, 0.9, 0.3),
        "medical_fire": (1.0 + 0.4 * hot + 0.4 * crisis, 0.5, 0.2),
        "alarm": (0.25 + 0 * hot, 1.6, 1.0),
        "proactive_admin": (0.8 + 1.0 * hot, 0.8, 0.4),
    }
    return {g: residents * m + downtown * d + corridor * c for g, (m, d, c) in spec.items()}


def diversion_probability(
    f: dict[str, np.ndarray],
    units: Units,
    intensity: dict[str, np.ndarray],
    bases: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """P(a call of an eligible group is answered by its non-police service), per unit.

    Shapes: BCR falls off with distance to the nearest crisis-team base
    (``bases["bcr_team"]``, (k, 2) local m); TRAFFIC is higher along
    arterials and downtown; ANIMAL and 311 are higher toward the city edge.
    Each is scaled so its intensity-weighted mean is the group's target.
    """
    xy = units.centroid
    d_bcr = np.min(
        np.sqrt(((xy[:, None, :] - bases["bcr_team"][None, :, :]) ** 2).sum(2)), axis=1
    )
    shape = {
        "behavioral_crisis": 0.12 + np.exp(-d_bcr / 3000.0),
        "traffic": 0.6 + 0.8 * f["corridor"] + 0.6 * f["downtown"],
        "animal": 0.7 + 0.6 * f["outer"],
        "report_only_property": 0.5 + 1.0 * f["outer"],
    }
    out = {}
    for g, q in shape.items():
        w = intensity[g]
        target = _GROUPS[g].diverted_p
        p = q * target / float((w * q).sum() / w.sum())
        for _ in range(20):  # keep the weighted mean on target after clipping
            p = np.clip(p, 0.0, 0.92)
            mean = float((w * p).sum() / w.sum())
            if abs(mean - target) < 1e-9:
                break
            p = p * target / mean
        out[g] = p
    return out


# --------------------------------------------------------------------------- calls


def _pick(p: Sequence[float], u: np.ndarray) -> np.ndarray:
    """Categorical draw: index into ``p`` for uniforms ``u``."""
    cum = np.cumsum(np.asarray(p, dtype=float))
    return np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(cum) - 1)


def _strings(
    codes: np.ndarray, labels: Sequence[str], null: np.ndarray | None = None
) -> pd.Series:
    """String column from integer ``codes`` into ``labels``; ``null`` marks missing."""
    idx = pa.array(np.asarray(codes, dtype=np.int32), mask=null)
    arr = pa.DictionaryArray.from_arrays(idx, pa.array(list(labels), pa.string()))
    return arr.dictionary_decode().to_pandas()


@dataclass(frozen=True)
class CallsResult:
    """Generated calls plus the fault counts actually injected."""

    frame: pd.DataFrame
    faults: Faults


def generate_calls(
    *,
    unit_fields: dict[str, np.ndarray],
    units: Units,
    resident_density: np.ndarray,
    nbhd_names: Sequence[str],
    ward_ids: Sequence[str],
    precinct_xy: np.ndarray,
    bases: dict[str, np.ndarray],
    years: Sequence[int],
    n_calls: int,
    to_wgs84: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    rng: np.random.Generator,
) -> CallsResult:
    """``n_calls`` rows of 911 calls (faults included) in the city layer's format.

    ``unit_fields`` are the plan's fields at the unit centroids;
    ``precinct_xy`` are the police stations (local m) in precinct order;
    ``to_wgs84(x, y)`` maps local metres to (lon, lat) degrees.
    """
    faults = Faults.for_size(n_calls)
    n = n_calls - faults.duplicate_id
    n_groups = len(GROUP_NAMES)
    intensity = group_intensity(unit_fields, units, resident_density)
    p_div = diversion_probability(unit_fields, units, intensity, bases)

    # --- group and place of every call
    shares = np.array([_GROUPS[g].share for g in GROUP_NAMES])
    counts = rng.multinomial(n, shares / shares.sum())
    group = np.repeat(np.arange(n_groups, dtype=np.int16), counts)
    unit = np.empty(n, dtype=np.int64)
    start = 0
    for gi, g in enumerate(GROUP_NAMES):
        cum = np.cumsum(intensity[g])
        k = counts[gi]
        unit[start:start + k] = np.minimum(
            np.searchsorted(cum, rng.random(k) * cum[-1], side="right"), len(cum) - 1
        )
        start += k
    xy = units.sample(unit, rng)

    # --- handler, agency and problem
    handler = np.zeros(n, dtype=np.int8)  # POLICE
    problem = np.empty(n, dtype=np.int16)
    all_problems = [p for g in GROUP_NAMES for p in CALL_GROUPS[g]]
    offset = 0
    start = 0
    for gi, g in enumerate(GROUP_NAMES):
        spec = _GROUPS[g]
        k = counts[gi]
        sl = slice(start, start + k)
        u = rng.random(k)
        problem[sl] = offset + _pick(spec.problem_p, u)
        if g == "medical_fire":
            handler[sl] = HANDLERS.index("FIRE")
        if spec.diverted_to is not None:
            div = rng.random(k) < p_div[g][unit[sl]]
            handler[sl] = np.where(div, HANDLERS.index(spec.diverted_to), handler[sl])
            if spec.diverted_problems:  # the name tells a diverted call from the others
                is_div = np.isin(np.arange(len(spec.problem_p)), spec.diverted_problems)
                p = np.asarray(spec.problem_p, dtype=float)
                names_div = np.flatnonzero(is_div)
                names_pol = np.flatnonzero(~is_div)
                problem[sl] = offset + np.where(
                    div, names_div[_pick(p[is_div], u)], names_pol[_pick(p[~is_div], u)])
        offset += len(CALL_GROUPS[g])
        start += k
    # the file's agency: the three real ones; traffic, animal and 311 records are POLICE
    agency = np.where(handler <= HANDLERS.index("BCR"), handler, 0).astype(np.int8)
    bcr = agency == AGENCIES.index("BCR")  # crisis teams mostly log their own code
    relabel = bcr & (rng.random(n) < 0.6)
    problem[relabel] = all_problems.index("Behavioral Crisis Welfare Ck")
    is_fire = agency == AGENCIES.index("FIRE")

    first = problem.copy()
    retyped = rng.random(n) < 0.07
    generic = np.array([all_problems.index(p) for p in _FIRST_TYPED])
    fire_codes = np.array([all_problems.index(p) for p in CALL_GROUPS["medical_fire"]])
    first[retyped & ~is_fire] = generic[rng.integers(0, len(generic), n)][retyped & ~is_fire]
    first[retyped & is_fire] = fire_codes[rng.integers(0, len(fire_codes), n)][
        retyped & is_fire
    ]

    # --- priority (1 = most urgent .. 5)
    final_pri = np.empty(n, dtype=np.int64)
    start = 0
    for gi, g in enumerate(GROUP_NAMES):
        sl = slice(start, start + counts[gi])
        final_pri[sl] = 1 + _pick(_GROUPS[g].priority_p, rng.random(counts[gi]))
        start += counts[gi]
    shift = _pick((0.05, 0.88, 0.07), rng.random(n)) - 1
    init_pri = np.clip(final_pri + shift, 1, 5)

    # --- time: day by season x weekday x year, hour by group profile
    when = _timestamps(group, years, rng)

    # --- disposition by handler
    disp = np.empty(n, dtype=np.int16)
    u = rng.random(n)
    for hi, h in enumerate(HANDLERS):
        m = handler == hi
        disp[m] = _pick(_DISPOSITION_P[h], u[m])

    # --- precinct of the nearest police station
    d2 = ((xy[:, None, :] - precinct_xy[None, :, :]) ** 2).sum(2)
    precinct = d2.argmin(1)
    u_flags = rng.random((3, n))

    # --- order by time, number incidents per year (fire has its own series)
    order = np.argsort(when["ms"], kind="stable")
    group, unit, xy, agency, problem, first, handler = (
        group[order], unit[order], xy[order], agency[order], problem[order], first[order],
        handler[order],
    )
    final_pri, init_pri, disp, precinct = (
        final_pri[order], init_pri[order], disp[order], precinct[order]
    )
    ms, year_idx = when["ms"][order], when["year"][order]
    u_flags = u_flags[:, order]
    is_fire = agency == AGENCIES.index("FIRE")
    seq = np.zeros(n, dtype=np.int64)
    series = year_idx.astype(np.int64) * 2 + is_fire
    for s in np.unique(series):
        m = series == s
        seq[m] = np.arange(1, int(m.sum()) + 1)
    yy = np.asarray(years, dtype=np.int64)[year_idx] % 100

    # --- faults (disjoint rows; unknown types only on police rows)
    perm = rng.permutation(n)
    police_rows = perm[handler[perm] == 0]
    unknown_rows = police_rows[: faults.unknown_call_type]
    rest = perm[~np.isin(perm, unknown_rows)]
    cuts = np.cumsum([faults.zero_coordinates, faults.missing_coordinates,
                      faults.unparseable_date, faults.duplicate_id])
    zero_rows, missing_rows, date_rows, dup_rows = np.split(rest[: cuts[-1]], cuts[:-1])
    unknown_names = list(UNKNOWN_CALL_TYPES)
    unknown_code = len(all_problems) + rng.integers(0, len(unknown_names), len(unknown_rows))
    problem = problem.copy()
    problem[unknown_rows] = unknown_code
    first[unknown_rows] = unknown_code
    problem_labels = all_problems + unknown_names

    lon, lat = to_wgs84(xy[:, 0], xy[:, 1])
    lon = np.round(lon, 5)
    lat = np.round(lat, 5)
    lon[zero_rows] = 0.0
    lat[zero_rows] = 0.0
    lon[missing_rows] = np.nan
    lat[missing_rows] = np.nan
    off_city = np.zeros(n, dtype=bool)
    off_city[zero_rows] = True
    off_city[missing_rows] = True
    no_date = np.zeros(n, dtype=bool)
    no_date[date_rows] = True

    # --- assemble columns (still in base order), then duplicate rows
    police_like = ~is_fire
    incident = _incident_numbers(yy, seq, is_fire)
    pol = handler == 0  # MPD responded
    yes_no = np.where(
        handler == HANDLERS.index("311"), 1,
        np.where((group == GROUP_NAMES.index("proactive_admin")) & (u_flags[0] < 0.3), 1, 0),
    )
    cols: dict[str, pd.Series | np.ndarray] = {
        "Master_Incident_Number": incident,
        "Agency_Type": _strings(agency, AGENCIES),
        "is_911_Call": _strings(yes_no, ("Yes", "No")),
        "Is_City_Call": _strings(np.where(agency == AGENCIES.index("BCR"), 1, 0), ("Y", "N")),
        "Initial_Problem": _strings(first, problem_labels),
        "Problem__Final_": _strings(problem, problem_labels),
        "Initial_Priority": init_pri,
        "Final_Priority": final_pri,
        "Division": _strings(
            np.where(is_fire, len(precinct_xy), precinct),
            [f"Precinct {k + 1}" for k in range(len(precinct_xy))] + [FIRE_DIVISION],
        ),
        "Jurisdiction": _strings(np.where(is_fire, 1, 0), (POLICE_JURISDICTION, FIRE_DIVISION)),
        "Response_Date": pd.arrays.IntegerArray(ms, no_date),
        "Call_Disposition": _strings(
            np.maximum(disp - 1, 0), _DISPOSITIONS[1:], null=disp == 0
        ),
        "Latitude": lat,
        "Longitude": lon,
        "MPD_Response": _strings(np.where(pol, 0, 1), ("Y", "N"), null=is_fire),
        "Park_Police_Response": _strings(
            np.where(pol & (u_flags[1] < 0.02), 0, 1), ("Y", "N"), null=is_fire
        ),
        "U_of_M_Response": _strings(np.ones(n, dtype=np.int8), ("Y", "N"), null=is_fire),
        "Other_Agency_Response": _strings(
            np.where(police_like & (u_flags[2] < 0.03), 0, 1), ("Y", "N"), null=is_fire
        ),
        "Ward__GIS_": _strings(units.ward[unit], ward_ids, null=off_city),
        "Neighborhood__GIS_": _strings(units.nbhd[unit], nbhd_names, null=off_city),
        "OBJECTID": np.arange(1, n + 1, dtype=np.int64),
        "geom_x": lon,
        "geom_y": lat,
    }
    frame = pd.DataFrame(cols, columns=list(CALL_COLUMNS))
    dup = np.zeros(n, dtype=np.int64)
    dup[dup_rows] = 1
    take = np.repeat(np.arange(n), 1 + dup)
    frame = frame.take(take).reset_index(drop=True)
    return CallsResult(frame, faults)


def _incident_numbers(yy: np.ndarray, seq: np.ndarray, is_fire: np.ndarray) -> pd.Series:
    """``YY-NNNNNN`` (police series) or ``YY-NNNNNNN`` (fire series) strings."""
    y = pc.utf8_lpad(pc.cast(pa.array(yy), pa.string()), width=2, padding="0")
    s = pc.cast(pa.array(seq), pa.string())
    s = pc.if_else(
        pa.array(is_fire),
        pc.utf8_lpad(s, width=7, padding="0"),
        pc.utf8_lpad(s, width=6, padding="0"),
    )
    return pc.binary_join_element_wise(y, s, "-").to_pandas()


def _timestamps(
    group: np.ndarray, years: Sequence[int], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Epoch milliseconds (local wall-clock time labelled UTC) and year index per call."""
    n = len(group)
    days = []
    year_of_day = []
    trend = 1.0 + rng.uniform(-0.04, 0.04, len(years))
    for i, y in enumerate(years):
        d = np.arange(np.datetime64(f"{y}-01-01"), np.datetime64(f"{y + 1}-01-01"))
        days.append(d)
        year_of_day.append(np.full(len(d), i))
    day = np.concatenate(days)
    yidx = np.concatenate(year_of_day)
    dnum = day.astype(np.int64)
    doy = (day - day.astype("datetime64[Y]")).astype(np.int64)
    weekday = (dnum + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    w = (1.0 + 0.15 * np.cos(2 * np.pi * (doy - 196) / 365.25)) * _WEEKDAY[weekday]
    w = w * trend[yidx]
    pick = _pick(w, rng.random(n))
    call_day = dnum[pick]
    weekend = weekday[pick] >= 5
    profile_of_group = np.array([list(_HOURS).index(_GROUPS[g].hours) for g in GROUP_NAMES])
    prof = profile_of_group[group]
    hour = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    for pi, name in enumerate(_HOURS):
        base = _HOURS[name]
        for wk in (False, True):
            h = base.copy()
            if wk and name == "night":
                h[[0, 1, 2, 3, 22, 23]] *= 1.5
            if wk and name == "day":
                h[6:10] *= 0.6
            m = (prof == pi) & (weekend == wk)
            hour[m] = _pick(h, u[m])
    sec = rng.integers(0, 3600, n)
    ms = call_day * 86_400_000 + hour * 3_600_000 + sec * 1000
    return {"ms": ms, "year": yidx[pick]}
