"""The demo city's demographic table: ACS-like estimates with 90% margins of error.

Shares of each group follow the city plan's smooth fields (more Black and low-income
residents around the south-east hotspot the demo's services underserve, more Hispanic
residents in the west, children and older adults toward the edge, households without a
car downtown), so the equity overlay has something to find. Each "published" estimate is
the true count plus sampling noise of an ACS-like design (standard error
``sqrt(N p (1 - p) deff (1/f - 1))`` with a 5% sample over five years, design effect 2),
rounded like the Bureau's tables; the MOE is ``1.645 x`` that standard error (at least
the Bureau's floor for small counts). Synthetic: no real person or place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SAMPLE_FRACTION = 0.05
DESIGN_EFFECT = 2.0
MIN_MOE = 12.0
"""Smallest MOE given to a count (the ACS gives small and zero counts a fixed margin)."""

COLUMNS = (
    "neighborhood", "total_population", "total_population_moe",
    "white_nh", "white_nh_moe", "black", "black_moe", "hispanic", "hispanic_moe",
    "asian", "asian_moe", "other_race", "other_race_moe",
    "poverty_universe", "poverty_universe_moe", "below_poverty", "below_poverty_moe",
    "age_17_under", "age_17_under_moe", "age_65_over", "age_65_over_moe",
    "households", "households_moe", "no_vehicle", "no_vehicle_moe",
    "age_5_over", "age_5_over_moe", "limited_english", "limited_english_moe",
)


def _estimate(true: np.ndarray, universe: np.ndarray, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
    p = np.clip(np.divide(true, universe, out=np.zeros_like(true), where=universe > 0),
                0.0, 1.0)
    se = np.sqrt(universe * p * (1 - p) * DESIGN_EFFECT * (1 / SAMPLE_FRACTION - 1))
    est = np.clip(np.round(true + rng.standard_normal(len(true)) * se), 0, None)
    moe = np.maximum(np.round(1.645 * se), MIN_MOE)
    return est, moe


def make_demographics(names: list[str], population: np.ndarray,
                      fields: dict[str, np.ndarray], rng: np.random.Generator
                      ) -> pd.DataFrame:
    """One row per neighborhood: the columns of :data:`COLUMNS` (counts and MOEs)."""
    n = len(names)
    pop = np.asarray(population, dtype=float)

    def noisy(base: np.ndarray, sd: float = 0.015) -> np.ndarray:
        return np.clip(base + rng.normal(0.0, sd, n), 0.002, 0.95)

    black = noisy(0.05 + 0.42 * fields["hot_b"] + 0.12 * fields["hot_a"])
    hispanic = noisy(0.04 + 0.25 * fields["hot_c"] + 0.08 * fields["se_wide"])
    asian = noisy(0.03 + 0.08 * fields["north"] * (1 - fields["outer"]))
    other = noisy(np.full(n, 0.03), 0.01)
    total_minority = black + hispanic + asian + other
    scale = np.where(total_minority > 0.92, 0.92 / total_minority, 1.0)
    black, hispanic, asian, other = (s * scale for s in (black, hispanic, asian, other))
    white = 1.0 - (black + hispanic + asian + other)
    poverty = noisy(0.07 + 0.22 * fields["hot"] + 0.12 * fields["downtown"])
    children = noisy(0.20 + 0.06 * fields["outer"] - 0.12 * fields["core"], 0.02)
    older = noisy(0.11 + 0.07 * fields["outer"], 0.015)
    no_car = noisy(0.05 + 0.30 * fields["downtown"] + 0.10 * fields["hot"])
    limited = noisy(0.02 + 0.35 * hispanic + 0.25 * asian, 0.01)

    pop_se = 0.035 * pop / 1.645
    out: dict[str, object] = {"neighborhood": list(names)}
    out["total_population"] = np.round(pop + rng.standard_normal(n) * pop_se)
    out["total_population_moe"] = np.maximum(np.round(1.645 * pop_se), MIN_MOE)
    for col, share in (("white_nh", white), ("black", black), ("hispanic", hispanic),
                       ("asian", asian), ("other_race", other), ("age_17_under", children),
                       ("age_65_over", older)):
        out[col], out[f"{col}_moe"] = _estimate(share * pop, pop, rng)
    universes = {"poverty_universe": 0.97 * pop, "households": pop / 2.3,
                 "age_5_over": 0.94 * pop}
    for col, size in universes.items():
        se = 0.03 * size / 1.645
        out[col] = np.round(size + rng.standard_normal(n) * se)
        out[f"{col}_moe"] = np.maximum(np.round(1.645 * se), MIN_MOE)
    for col, share, uni in (("below_poverty", poverty, "poverty_universe"),
                            ("no_vehicle", no_car, "households"),
                            ("limited_english", limited, "age_5_over")):
        size = universes[uni]
        est, moe = _estimate(share * size, size, rng)
        out[col], out[f"{col}_moe"] = np.minimum(est, out[uni]), moe
    frame = pd.DataFrame(out)
    for c in COLUMNS[1:]:
        frame[c] = frame[c].astype(np.int64)
    return frame[list(COLUMNS)]
