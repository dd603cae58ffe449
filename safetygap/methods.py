"""The method choices of an analysis, each a setting with a documented default.

:class:`Methods` is one field of :class:`safetygap.pipeline.AnalysisOptions`
(``AnalysisOptions(methods=Methods(kernel="truncated_gaussian"))``) and is written to
the workspace manifest. docs/METHODS.md explains every choice; the command line sets the
most used ones (``safetygap analyze --kernel --demand --demand-cell-m --bootstrap
--min-population``) and the rest with ``--method NAME=VALUE``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from safetygap.errors import Problems
from safetygap.geo.bootstrap import DEFAULT_CELL_M as BOOTSTRAP_CELL_M
from safetygap.geo.bootstrap import DEFAULT_REPLICATES, DEFAULT_TOP
from safetygap.geo.bootstrap import DEFAULT_SEED as BOOTSTRAP_SEED
from safetygap.geo.demand import DEFAULT_CELL_M
from safetygap.geo.hotspots import DEFAULT_ALPHA, DEFAULT_PERMUTATIONS
from safetygap.geo.hotspots import DEFAULT_SEED as HOTSPOT_SEED
from safetygap.geo.timespan import DEFAULT_GAP_DAYS
from safetygap.geo.uncertainty import DEFAULT_LEVEL
from safetygap.vocab import DemandModel, Kernel, allowed

MIN_POPULATION = 500.0
"""Areas with fewer residents are flagged and not ranked."""
NONRESIDENT_RATIO = 2.5
"""Areas whose calls per resident (all calls) exceed this multiple of the city's are
flagged as mostly non-resident and not ranked."""
UNCERTAIN_BELOW = 0.8
"""An area's class is uncertain when fewer than this share of bootstrap replicates agree
with it."""

DESCRIPTIONS: dict[str, str] = {
    "demand": "where residents are placed: 'grid' (cells clipped to each area) or "
              "'centroid' (one point per area)",
    "demand_cell_m": "side of the demand grid's cells, metres",
    "kernel": "distance decay of accessibility: 'dai' (Dai 2010, 0 at the catchment edge) "
              "or 'truncated_gaussian' (exp(-(d/σ)²/2), σ = catchment/2)",
    "gap_days": "days without a call after which the calls' time has a gap (left out of "
                "the years rates are divided by)",
    "confidence": "level of every interval of a rate or share",
    "min_population": "areas with fewer residents are flagged and not ranked",
    "nonresident_ratio": "areas whose calls per resident exceed this multiple of the "
                         "city's are flagged as mostly non-resident and not ranked",
    "bootstrap": "bootstrap replicates of the ranks (0: none)",
    "bootstrap_seed": "seed of the bootstrap draws",
    "bootstrap_cell_m": "side of the grid cells that, with the day, cluster calls in the "
                        "bootstrap, metres",
    "top": "size of the 'most underserved' list the bootstrap gives probabilities for",
    "uncertain_below": "a class is marked uncertain when fewer replicates than this share "
                       "agree with it",
    "hotspot_permutations": "permutations of the Gi* hot-spot test (0: no hot spots)",
    "hotspot_seed": "seed of the Gi* permutations",
    "fdr_alpha": "false-discovery rate of the hot-spot test (Benjamini-Hochberg)",
}
"""What each field means (messages, ``--help`` and the manifest)."""


@dataclass(frozen=True)
class Methods:
    """The method settings of a run (see :data:`DESCRIPTIONS` and docs/METHODS.md)."""

    demand: str = DemandModel.GRID.value
    demand_cell_m: float = DEFAULT_CELL_M
    kernel: str = Kernel.DAI.value
    gap_days: int = DEFAULT_GAP_DAYS
    confidence: float = DEFAULT_LEVEL
    min_population: float = MIN_POPULATION
    nonresident_ratio: float = NONRESIDENT_RATIO
    bootstrap: int = DEFAULT_REPLICATES
    bootstrap_seed: int = BOOTSTRAP_SEED
    bootstrap_cell_m: float = BOOTSTRAP_CELL_M
    top: int = DEFAULT_TOP
    uncertain_below: float = UNCERTAIN_BELOW
    hotspot_permutations: int = DEFAULT_PERMUTATIONS
    hotspot_seed: int = HOTSPOT_SEED
    fdr_alpha: float = DEFAULT_ALPHA

    def problems(self, problems: Problems | None = None, *, where: str | None = None,
                 key: str = "{}") -> Problems:
        """Every bad value, added to ``problems`` (a new collection by default). Each
        problem is placed at the setting's name, or at ``where`` (e.g. a configuration
        file) with the setting named as ``key`` formats it (e.g. ``"[methods] {}"``)."""
        p = problems if problems is not None else Problems()

        def add(name: str, message: str, **kw: Any) -> None:
            if where is None:
                p.add(name, message, **kw)
            else:
                p.add(where, f"{key.format(name)}: {message}", **kw)

        if self.demand not in allowed(DemandModel):
            add("demand", "unknown demand model", value=self.demand,
                allowed=allowed(DemandModel))
        if self.kernel not in allowed(Kernel):
            add("kernel", "unknown distance-decay kernel", value=self.kernel,
                allowed=allowed(Kernel))

        def number(name: str, lo: float, hi: float = np.inf, *, lo_open: bool = True,
                   integer: bool = False) -> None:
            v = getattr(self, name)
            ok = (isinstance(v, int | float) and not isinstance(v, bool)
                  and np.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
                  and (not integer or float(v).is_integer()))
            if not ok:
                rng = f"{'>' if lo_open else '>='} {lo:g}" + (
                    f" and <= {hi:g}" if np.isfinite(hi) else "")
                add(name, f"must be {'a whole number' if integer else 'a number'} {rng}",
                    value=v, allowed=DESCRIPTIONS[name])

        number("demand_cell_m", 0)
        number("gap_days", 0, lo_open=False, integer=True)
        number("confidence", 0, 1 - 1e-12)
        number("min_population", 0, lo_open=False)
        number("nonresident_ratio", 1, lo_open=False)
        number("bootstrap", 0, 100_000, lo_open=False, integer=True)
        number("bootstrap_seed", 0, lo_open=False, integer=True)
        number("bootstrap_cell_m", 0)
        number("top", 1, lo_open=False, integer=True)
        number("uncertain_below", 0, 1, lo_open=False)
        number("hotspot_permutations", 0, 100_000, lo_open=False, integer=True)
        number("hotspot_seed", 0, lo_open=False, integer=True)
        number("fdr_alpha", 0, 1 - 1e-12)
        return p

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Methods:
        """From :meth:`to_dict` (a manifest); unknown keys ignored, missing ones default."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})

    def with_pairs(self, pairs: list[str], *, flag: str = "--method") -> Methods:
        """A copy with ``NAME=VALUE`` pairs applied (numbers parsed); one error naming
        every bad pair."""
        problems = Problems()
        names = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for pair in pairs:
            name, sep, raw = pair.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in names:
                problems.add(flag, "expected NAME=VALUE with a known method setting",
                             value=pair, allowed=sorted(names))
                continue
            default = getattr(Methods(), name)
            try:
                changes[name] = (raw.strip() if isinstance(default, str) else
                                 int(raw) if isinstance(default, int) else float(raw))
            except ValueError:
                problems.add(flag, f"{name} needs a number", value=raw,
                             allowed=DESCRIPTIONS[name])
        problems.raise_if_any()
        out = replace(self, **changes)
        out.problems().raise_if_any()
        return out
