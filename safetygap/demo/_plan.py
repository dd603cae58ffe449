"""The demo city's plan: key places and the smooth spatial fields built on them.

Everything is in local metres (x east, y north, origin at the city centre).
The plan fixes *where* things are - downtown and city hall, three violence
hotspots, a behavioral-crisis cluster, two arterial corridors - and the
fields derived from them drive population density, the call-type mix and
where providers go:

* hotspot A (north) is busy but well served by prevention/restoration
  programs;
* hotspot B (south-east) and the crisis cluster next to it are the planned
  *gap*: high need, few providers, no crisis-team base nearby;
* hotspot C (west) is a smaller one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from safetygap.demo._shapes import sample_in_triangles


@dataclass(frozen=True)
class CityPlan:
    """Key places of the synthetic city (local metres)."""

    outline: Polygon
    downtown: np.ndarray  # (2,) city hall
    hot_a: np.ndarray  # north hotspot, well served
    hot_b: np.ndarray  # south-east hotspot, the gap
    hot_c: np.ndarray  # west hotspot, smaller
    crisis: np.ndarray  # behavioral-crisis cluster (south-east, beside B)
    corridors: tuple[LineString, ...]


def _toward(outline: Polygon, origin: np.ndarray, angle: float, frac: float) -> np.ndarray:
    """Point ``frac`` of the way from ``origin`` to the outline along ``angle`` (radians)."""
    direction = np.array([np.cos(angle), np.sin(angle)])
    ray = LineString([origin, origin + 60_000.0 * direction])
    hits = shapely.get_coordinates(shapely.intersection(ray, outline.boundary))
    reach = float(np.min(np.hypot(*(hits - origin).T))) if len(hits) else 5000.0
    return origin + frac * reach * direction


def make_plan(outline: Polygon, rng: np.random.Generator) -> CityPlan:
    """Place downtown, the hotspots, the crisis cluster and two arterials."""
    dt = np.array([0.0, 0.0]) + rng.uniform(-500.0, 500.0, 2)
    while not shapely.contains_xy(outline, *dt):  # pragma: no cover - centre is deep inside
        dt = dt * 0.5
    deg = np.pi / 180.0
    hot_a = _toward(outline, dt, (90 + rng.uniform(-20, 20)) * deg, rng.uniform(0.40, 0.50))
    hot_b = _toward(outline, dt, (-40 + rng.uniform(-12, 12)) * deg, rng.uniform(0.48, 0.58))
    hot_c = _toward(outline, dt, (185 + rng.uniform(-20, 20)) * deg, rng.uniform(0.45, 0.58))
    crisis = hot_b + (dt - hot_b) * rng.uniform(0.25, 0.4) + rng.normal(0, 300.0, 2)
    xs = np.linspace(-16_000.0, 16_000.0, 161)
    ph = rng.uniform(0, 2 * np.pi, 2)
    east_west = LineString(
        np.column_stack([xs, dt[1] - 1200.0 + 700.0 * np.sin(xs / 4500.0 + ph[0])])
    )
    north_south = LineString(
        np.column_stack([dt[0] + 2600.0 + 600.0 * np.sin(xs / 3500.0 + ph[1]), xs])
    )
    return CityPlan(outline, dt, hot_a, hot_b, hot_c, crisis, (east_west, north_south))


def _bump(xy: np.ndarray, centre: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-((xy - centre) ** 2).sum(1) / (2.0 * sigma**2))


def fields(plan: CityPlan, xy: np.ndarray) -> dict[str, np.ndarray]:
    """Smooth fields in [0, 1] at points ``xy`` (shape (n, 2), local metres).

    Keys: ``downtown``, ``core`` (the commercial centre), ``hot_a``,
    ``hot_b``, ``hot_c``, ``hot`` (all three), ``crisis``, ``corridor``
    (within ~350 m of an arterial), ``outer`` (near the city edge), ``north``
    (0 south .. 1 north), ``se_wide`` (broad south-east district).
    """
    pts = shapely.points(xy)
    d_corr = np.min([shapely.distance(line, pts) for line in plan.corridors], axis=0)
    d_edge = shapely.distance(plan.outline.boundary, pts)
    out = {
        "downtown": _bump(xy, plan.downtown, 1300.0),
        "core": _bump(xy, plan.downtown, 700.0),
        "hot_a": _bump(xy, plan.hot_a, 1100.0),
        "hot_b": _bump(xy, plan.hot_b, 1300.0),
        "hot_c": _bump(xy, plan.hot_c, 800.0),
        "crisis": _bump(xy, plan.crisis, 1200.0),
        "corridor": np.exp(-(d_corr**2) / (2.0 * 350.0**2)),
        "outer": np.exp(-d_edge / 1500.0),
        "north": 1.0 / (1.0 + np.exp(-(xy[:, 1] - plan.downtown[1]) / 1500.0)),
        "se_wide": _bump(xy, plan.hot_b, 3000.0),
        "residential": _bump(xy, plan.downtown, 3500.0),
    }
    out["hot"] = np.clip(out["hot_a"] + out["hot_b"] + 0.6 * out["hot_c"], 0.0, 1.0)
    return out


def population_density(f: dict[str, np.ndarray]) -> np.ndarray:
    """Relative residential density (arbitrary units) from :func:`fields`.

    A dense ring around a commercial core that few people live in, dense
    blocks at hotspots A and B, thinning suburbs toward the edge.
    """
    dens = (
        0.35
        + 1.6 * f["residential"]
        + 0.9 * f["hot_a"]
        + 1.1 * f["hot_b"]
        + 0.4 * f["hot_c"]
        - 1.4 * f["core"]
    )
    return np.clip(dens, 0.12, None)


def allocate_population(
    density: np.ndarray,
    area_m2: np.ndarray,
    rng: np.random.Generator,
    *,
    total: float,
    low: int = 300,
    high: int = 15_000,
    downtown: int | None = None,
) -> np.ndarray:
    """Integer population per neighbourhood, in ``[low, high]``, summing to ~``total``.

    ``density`` is the mean relative density of each neighbourhood and
    ``area_m2`` its area; a lognormal factor adds neighbourhood-to-
    neighbourhood variety. The ``downtown`` neighbourhood (index) is mostly
    offices: its population is cut to a fifth.
    """
    raw = density * area_m2 * rng.lognormal(0.0, 0.3, len(area_m2))
    if downtown is not None:
        raw[downtown] *= 0.2
    pop = raw * total / raw.sum()
    for _ in range(50):
        pop = np.clip(pop, low, high)
        free = (pop > low) & (pop < high)
        gap = total - pop.sum()
        if abs(gap) < 0.5 or not free.any():
            break
        pop[free] += gap * pop[free] / pop[free].sum()
    return np.clip(np.round(pop), low, high).astype(np.int64)


def sample_mean(
    plan: CityPlan,
    tri: tuple[np.ndarray, np.ndarray, np.ndarray],
    n_polys: int,
    rng: np.random.Generator,
    per_poly: int = 32,
) -> np.ndarray:
    """Mean :func:`population_density` over ``per_poly`` random points of each polygon.

    ``tri`` is the ``(tri, owner, area)`` triangulation of the polygons
    (:func:`safetygap.demo._shapes.triangulate`).
    """
    which = np.repeat(np.arange(n_polys), per_poly)
    xy = sample_in_triangles(*tri, n_polys, which, rng)
    dens = population_density(fields(plan, xy))
    return dens.reshape(n_polys, per_poly).mean(1)
