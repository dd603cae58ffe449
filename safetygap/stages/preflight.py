"""Checking every input before the calls are read: one error naming every problem.

A stage of :func:`safetygap.pipeline.analyze`. :func:`preflight` loads the
taxonomy, the diversion rules, both boundary layers, the providers, the population and the
records from outside 911 (small files, loaded once and handed on), checks the header of the
calls file (:func:`safetygap.inputs.header.check_calls_header`: columns, coordinates,
CRS, rows) and the distance-model options, and checks that the wards overlap
the neighborhoods. The problems of all of them are raised together in one
:class:`~safetygap.errors.ValidationError`, so a user fixes every file in one
pass; the heavy read of the calls comes after.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from safetygap.boundaries import BoundaryReport, load_boundaries
from safetygap.defaults import WARD_COVER_MIN
from safetygap.diversion import DiversionRules, load_rules
from safetygap.errors import Problems, ValidationError
from safetygap.inputs import (
    PopulationInput,
    ProvidersInput,
    RecordsInput,
    read_population,
    read_providers,
    read_records,
)
from safetygap.inputs.demographics import (
    DemographicsInput,
    FinePopulation,
    read_demographics,
    read_fine_population,
)
from safetygap.inputs.header import FileHeader, check_calls_header
from safetygap.stages.travel import travel_problems
from safetygap.taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from safetygap.stages.options import AnalysisInputs, AnalysisOptions

T = TypeVar("T")

WARD_COVER_WARN = WARD_COVER_MIN
"""Default of ``AnalysisOptions.ward_cover_min``: below this share of the neighborhoods'
area covered by wards, the run warns and reports the area and the calls the wards miss
(calls outside every ward keep their neighborhood but are in no ward's figures)."""


@dataclass
class Checked:
    """The inputs :func:`preflight` loaded, the boundary layers in the analysis CRS."""

    taxonomy: Taxonomy
    crs: CRS
    neighborhoods: gpd.GeoDataFrame
    nbhd_report: BoundaryReport
    wards: gpd.GeoDataFrame
    ward_report: BoundaryReport
    providers: ProvidersInput
    population: PopulationInput | None
    calls: FileHeader
    layers_overlap: dict[str, Any]
    rules: DiversionRules
    records: RecordsInput | None = None
    demographics: DemographicsInput | None = None
    fine_population: FinePopulation | None = None


def preflight(inputs: AnalysisInputs, opts: AnalysisOptions) -> Checked:
    """Load and check every input; raise one ValidationError with all their problems."""
    errors: list[ValidationError] = []

    def attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            errors.append(exc)
            return None

    taxonomy = attempt(load_taxonomy, inputs.taxonomy)
    rules = attempt(load_rules, inputs.diversion_rules)
    nb = attempt(load_boundaries, inputs.neighborhoods, layer="neighborhoods",
                 id_column=opts.neighborhood_id, name_column=opts.neighborhood_name,
                 crs=opts.neighborhoods_crs)
    wd = attempt(load_boundaries, inputs.wards, layer="wards", id_column=opts.ward_id,
                 name_column=opts.ward_name, crs=opts.wards_crs)
    crs = None
    if nb is not None or opts.crs:
        crs = attempt(analysis_crs, None if nb is None else nb[0], opts.crs)
    providers = None
    if taxonomy is not None:
        providers = attempt(read_providers, inputs.providers, taxonomy=taxonomy,
                            crs=opts.providers_crs, encoding=opts.encoding)
    population = None
    if inputs.population is not None:
        population = attempt(read_population, inputs.population,
                             name_column=opts.population_name_column,
                             population_column=opts.population_column,
                             max_malformed_share=opts.max_malformed_share)
    demographics = fine = None
    if inputs.demographics is not None:
        demographics = attempt(read_demographics, inputs.demographics,
                               mapping=inputs.demographics_mapping,
                               groups=opts.demographic_groups, encoding=opts.encoding,
                               crs=opts.demographics_crs)
    elif inputs.demographics_mapping is not None or opts.demographic_groups:
        errors.append(ValidationError("option `demographics_mapping` and option "
                                      "`demographic_groups` need option `demographics` FILE"))
    if inputs.fine_population is not None:
        fine = attempt(read_fine_population, inputs.fine_population,
                       column=opts.fine_population_column, crs=opts.fine_population_crs)
        if demographics is not None and demographics.spec.key_by != "geometry":
            errors.append(ValidationError(
                f"fine population {inputs.fine_population}: a finer population layer is "
                "used only to interpolate a table of polygons (layout [key] by = "
                f"\"geometry\"); {inputs.demographics} is keyed by "
                f"{demographics.spec.key_by}"))
    calls = attempt(check_calls_header, inputs.calls, columns=opts.columns,
                    encoding=opts.encoding)
    records = None
    if inputs.reports is not None:
        records = attempt(read_records, inputs.reports, columns=opts.reports_columns,
                          encoding=opts.encoding)
    attempt(travel_problems(opts.travel, inputs.network).raise_if_any)
    if inputs.streets is not None and not Path(inputs.streets).is_file():
        errors.append(ValidationError(
            f"streets {inputs.streets}: file not found" if not Path(inputs.streets).exists()
            else f"streets {inputs.streets}: not a file"))
    overlap: dict[str, Any] = {}
    if nb is not None and wd is not None and crs is not None:
        nbhd, wards = nb[0].to_crs(crs), wd[0].to_crs(crs)
        nb[1].measure(nbhd)  # reprojection, overlapping pairs (warned)
        wd[1].measure(wards)
        overlap = attempt(layers_overlap, nbhd, wards, nb[1].path, wd[1].path) or {}
    if errors:
        raise ValidationError.merge(errors)
    assert taxonomy is not None and nb is not None and wd is not None and crs is not None
    assert providers is not None and calls is not None and rules is not None
    return Checked(taxonomy, crs, nbhd, nb[1], wards, wd[1], providers, population, calls,
                   overlap, rules, records, demographics, fine)


def analysis_crs(areas: gpd.GeoDataFrame | None, requested: str | None) -> CRS:
    """The projected CRS the analysis runs in (metres): ``requested``, else the
    neighborhoods' own when projected in metres, else their UTM zone (a state-plane CRS in
    US feet is left for its UTM zone). With ``areas`` None only ``requested`` is checked
    (and returned when given)."""
    problems = Problems()
    if requested:
        try:
            crs = CRS.from_user_input(requested)
        except CRSError:
            problems.add("crs", "unknown CRS", value=requested,
                         allowed="e.g. EPSG:26915 or a UTM zone")
            problems.raise_if_any()
        if not _in_metres(crs):
            problems.add("crs", "the analysis CRS must be projected in metres",
                         value=requested, allowed="e.g. EPSG:26915 or a UTM zone")
        problems.raise_if_any()
        return crs
    assert areas is not None
    crs = CRS.from_user_input(areas.crs)
    if _in_metres(crs):
        return crs
    utm = areas.estimate_utm_crs()
    assert utm is not None
    return utm


def _in_metres(crs: CRS) -> bool:
    return crs.is_projected and all(a.unit_name in ("metre", "meter")
                                    for a in crs.axis_info[:2])


def layers_overlap(nbhd: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, nbhd_path: str,
                   ward_path: str) -> dict[str, Any]:
    """How much of the neighborhoods' area the wards cover (both in the same projected CRS).

    Raises when they do not overlap at all (naming both layers and their bounds).
    Returns the shares for ``quality.json`` (:func:`ward_coverage` adds the calls).
    """
    n_union = shapely.union_all(nbhd.geometry.to_numpy())
    w_union = shapely.union_all(wards.geometry.to_numpy())
    common = shapely.area(shapely.intersection(n_union, w_union))
    n_area, w_area = shapely.area(n_union), shapely.area(w_union)
    crs = nbhd.crs.to_string()
    if common <= 0:
        def box(layer: gpd.GeoDataFrame) -> str:
            x0, y0, x1, y1 = layer.total_bounds
            return f"x {x0:,.0f}..{x1:,.0f}, y {y0:,.0f}..{y1:,.0f}"
        problems = Problems()
        problems.add(f"wards {ward_path}", f"the wards do not overlap the neighborhoods "
                     f"{nbhd_path} at all: wards {box(wards)}, neighborhoods {box(nbhd)} "
                     f"(metres, {crs})",
                     allowed="ward and neighborhood layers of the same city (is the CRS "
                             "each file declares right?)")
        problems.raise_if_any()
    share = common / n_area if n_area > 0 else 0.0
    inside = shapely.area(shapely.intersection(nbhd.geometry.to_numpy(), w_union))
    outside = shapely.area(nbhd.geometry.to_numpy()) - inside
    return {
        "neighborhood_area_in_wards": round(float(share), 6),
        "ward_area_in_neighborhoods": round(float(common / w_area), 6) if w_area > 0 else 0.0,
        "neighborhood_area_outside_wards_m2": round(float(n_area - common), 1),
        "_outside_m2": outside,  # per neighborhood, for ward_coverage (dropped there)
        "files": {"neighborhoods": nbhd_path, "wards": ward_path},
    }


def ward_coverage(overlap: dict[str, Any], nbhd: gpd.GeoDataFrame, n_idx: np.ndarray,
                  w_idx: np.ndarray, *, min_share: float = WARD_COVER_WARN) -> dict[str, Any]:
    """The wards' cover of the neighborhoods for ``quality.json``: the area shares of
    :func:`layers_overlap`, the calls placed in a neighborhood but in no ward
    (``n_idx``/``w_idx``: each call's placed area row, -1 for none) and, per neighborhood
    not wholly covered, its area outside every ward (m²) and its calls there. Below
    ``min_share`` of the area (or of the calls), a warning naming both files, the area
    and the calls missed is issued and kept under ``warning``; ``words`` says the same
    without the files' paths (what the public caveat quotes)."""
    in_n = np.asarray(n_idx) >= 0
    missed = in_n & (np.asarray(w_idx) < 0)
    return ward_coverage_counts(
        overlap, nbhd, int(in_n.sum()),
        np.bincount(np.asarray(n_idx)[missed], minlength=len(nbhd)), min_share=min_share)


def ward_coverage_counts(overlap: dict[str, Any], nbhd: gpd.GeoDataFrame, n_calls: int,
                         per: np.ndarray, *, min_share: float = WARD_COVER_WARN
                         ) -> dict[str, Any]:
    """:func:`ward_coverage` from the counts: ``n_calls`` calls placed in a neighborhood,
    ``per`` those in no ward per neighborhood (what a batch-by-batch count keeps)."""
    out = {k: v for k, v in overlap.items() if not k.startswith("_") and k != "files"}
    if not overlap:
        return out
    n_missed = int(per.sum())
    outside = np.asarray(overlap["_outside_m2"], dtype=float)
    area = shapely.area(nbhd.geometry.to_numpy())
    partly = np.flatnonzero((outside > 1.0) | (per > 0))
    out |= {
        "calls_in_neighborhoods": n_calls,
        "calls_outside_wards": n_missed,
        "calls_outside_wards_share": round(n_missed / n_calls, 6) if n_calls else 0.0,
        "warn_below": min_share,
        "neighborhoods_partly_outside_wards": [
            {"area_id": str(nbhd["area_id"].iat[i]), "name": str(nbhd["name"].iat[i]),
             "area_outside_wards_m2": round(float(outside[i]), 1),
             "area_outside_wards_share": round(float(outside[i] / area[i]), 6)
             if area[i] > 0 else 0.0,
             "calls_outside_wards": int(per[i])}
            for i in partly[np.argsort(-outside[partly], kind="stable")]],
        "notes": ("Neighborhoods and wards are joined independently: a call outside every "
                  "ward keeps its neighborhood (counted there) and is in no ward's figures."),
    }
    share = overlap["neighborhood_area_in_wards"]
    if share < min_share or (n_calls and 1 - n_missed / n_calls < min_share):
        files = overlap["files"]
        missed_words = (
            f"{out['neighborhood_area_outside_wards_m2'] / 1e6:,.2f} km² and {n_missed:,} of "
            f"{n_calls:,} calls in the neighborhoods ({out['calls_outside_wards_share']:.1%}) "
            "are in no ward; those calls keep their neighborhood and are left out of every "
            "ward's figures")
        out["words"] = (f"the wards cover only {share:.1%} of the neighborhoods' area: "
                        + missed_words)
        out["warning"] = (
            f"the wards ({files['wards']}) cover only {share:.1%} of the neighborhoods' area "
            f"({files['neighborhoods']}): " + missed_words)
        warnings.warn(out["warning"], stacklevel=2)
    return out
