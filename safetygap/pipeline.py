"""The analysis pipeline: inputs in, an :class:`Analysis` out.

Long file (about 480 lines): the recipe of the stages in order, with the few glue functions
that pass one stage's result to the next (the measure context of the demand points and
covered time, the underserved classes the equity disparity uses, the density layer); they
read best beside the recipe that calls them.

Steps (each a pure function in :mod:`safetygap.geo` or :mod:`safetygap.boundaries`):

1. check every input before the heavy work (:mod:`safetygap.stages.preflight`): load the
   taxonomy, both boundary layers (in the projected analysis CRS, which it chooses), the
   providers and the population, check the calls file's header and that the wards
   overlap the neighborhoods; every problem of every file is raised in one error
2. match population to neighborhoods by name
3. place providers in areas
4. read calls, classify them, flag row faults, join them to neighborhoods and wards
5. calls within ``boundary_tolerance_m`` of a neighborhood or ward line
   (:mod:`safetygap.geo.boundary`), allocated under both boundary policies
6. coverage of each need call by the providers whose service types handle its category
   (straight-line metres, or travel minutes on a street network:
   ``AnalysisOptions(travel="network", mode=...)``)
7. demand points (residents spread over a grid, :mod:`safetygap.geo.demand`) and the
   time the calls cover (:mod:`safetygap.geo.timespan`)
8. counts per area, period and family under both policies; E2SFCA
   accessibility and reach from the demand points; rates with intervals, smoothed
   rates, need/access classes (the chosen policy's are the outputs, the other's
   only feed ``summary["boundary_sensitivity"]``); ward population by area-weighted
   apportioning from neighborhoods
9. the bootstrap of the ranks and the Gi* hot spots (:mod:`safetygap.stages.uncertainty`)
10. summary and data-quality report

The method choices are :class:`safetygap.methods.Methods` (``AnalysisOptions.methods``).

The stages are the public functions of :mod:`safetygap.stages` (one module each);
this module composes them. :func:`analyze` returns everything in memory;
:func:`safetygap.workspace.write_workspace` writes it to disk.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from safetygap._hashing import hash_ahead
from safetygap._progress import Progress
from safetygap._status import ANALYSED_STATUSES, STATUS_ORDER
from safetygap.boundaries import crosswalk
from safetygap.diversion import Denominator
from safetygap.errors import Problems
from safetygap.geo.bivariate import UNDERSERVED_CLASS
from safetygap.geo.demand import DemandPoints, demand_points, points_frame
from safetygap.geo.join import assign_areas
from safetygap.geo.network import StreetNetwork
from safetygap.geo.timespan import NO_DAY, Span, covered_spans, period_years
from safetygap.inputs import RecordsInput, read_calls
from safetygap.inputs.date_window import DateWindow
from safetygap.inputs.times import undated_report
from safetygap.methods import Methods
from safetygap.outside911 import place_records
from safetygap.stages.areas import (
    Demand,
    MeasureContext,
    boundary_allocations,
    coverage,
    level_indices,
    near_boundary_quality,
    ward_weights,
)
from safetygap.stages.equity import (
    Underserved,
    equity_outputs,
    match_demographics,
    underserved_from_tables,
)
from safetygap.stages.options import AnalysisInputs, AnalysisOptions
from safetygap.stages.places import match_population, place_providers, to_crs_xy
from safetygap.stages.preflight import (
    analysis_crs,
    preflight,
    ward_coverage,
    ward_coverage_counts,
)
from safetygap.stages.report import manifest_report, quality_report, summary_report
from safetygap.stages.rows import (
    call_features,
    flag_rows,
    join_note,
    swapped_coordinates,
)
from safetygap.stages.stream import stream_calls
from safetygap.stages.tally import CallTally
from safetygap.stages.travel import load_travel, travel_quality, travel_summary
from safetygap.stages.uncertainty import add_uncertainty, replicate_classes, underserved_table
from safetygap.tables import calls as C
from safetygap.tables import measures as M
from safetygap.tables.report import BoundariesQuality, MethodsSummary, Quality, Summary
from safetygap.vocab import ENGINES, FAMILIES, LEVELS, Engine, Level, RowStatus

__all__ = [
    "ANALYSED_STATUSES",
    "ENGINES",
    "STATUS_ORDER",
    "STEPS",
    "Analysis",
    "AnalysisInputs",
    "AnalysisOptions",
    "analysis_crs",
    "analyze",
    "boundary_allocations",
    "coverage",
    "default_inputs",
    "level_indices",
    "load_travel",
    "swapped_coordinates",
]

STEPS = (
    "checking inputs: taxonomy, boundaries, providers, population, calls header",
    "loading street network",
    "matching population and demographics",
    "placing providers",
    "reading and classifying calls",
    "joining calls to neighborhoods and wards ({engine} engine)",
    "flagging faults",
    "calls near neighborhood and ward lines",
    "demand points and covered time",
    "coverage, accessibility and indices",
    "bootstrap of the ranks and hot spots",
    "summary and data-quality report",
)
"""The progress steps of :func:`analyze`, in order (``{engine}`` is filled in)."""

@dataclass
class Analysis:
    """Everything one run produced, in memory."""

    neighborhoods: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    calls: pd.DataFrame | None
    """The workspace calls table; None from the streaming engine, which wrote it to
    :attr:`calls_file` batch by batch."""
    providers: gpd.GeoDataFrame
    indices: pd.DataFrame
    summary: Summary
    quality: Quality
    manifest: dict[str, Any]
    crs: str
    timings: dict[str, float] = field(default_factory=dict)
    network: StreetNetwork | None = None  # the street network of a network-travel run
    demand_points: gpd.GeoDataFrame | None = None  # the neighborhoods' demand points
    replicates: pd.DataFrame | None = None  # every bootstrap replicate's class
    streets: gpd.GeoDataFrame | None = None
    """Named street segments (``name``, LineString in the analysis CRS) that name places,
    from ``inputs.streets`` or the network (:func:`street_lines`)."""
    records: pd.DataFrame | None = None
    """Diverted records from outside 911 (:data:`safetygap.outside911.RECORD_COLUMNS`),
    when the analysis had a reports file."""
    equity: dict[str, Any] | None = None  # equity.json: groups against underserved areas
    calls_file: Path | None = None
    """The streaming engine's workspace calls table (GeoParquet, in a temporary folder
    :func:`safetygap.workspace.write_workspace` moves it out of and removes; a caller that
    never writes the workspace removes ``calls_file.parent`` itself)."""


def analyze(
    inputs: AnalysisInputs,
    *,
    options: AnalysisOptions | None = None,
    progress: Progress | None = None,
) -> Analysis:
    """Run the whole analysis and return it in memory (see module docstring). When a
    stage fails after the streaming engine wrote the calls table, its temporary folder is
    removed before the error goes on."""
    temporary: list[Path] = []
    try:
        return _analyze(inputs, options, progress, temporary)
    except BaseException:
        for folder in temporary:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _analyze(inputs: AnalysisInputs, options: AnalysisOptions | None,
             progress: Progress | None, temporary: list[Path]) -> Analysis:
    opts = options or AnalysisOptions()
    opts.validate()
    prog = progress or Progress(len(STEPS), enabled=False)
    names = iter(STEPS)

    def step(**fields: str) -> Any:
        return prog.step(next(names).format(**fields))

    with step() as info:
        checked = preflight(inputs, opts)  # raises every problem of every input at once
        # the manifest's checksum of the calls, computed on the second core meanwhile
        if checked.calls.source is not None:
            hash_ahead(list(checked.calls.source.files))
        taxonomy, crs = checked.taxonomy, checked.crs
        nbhd, wards = checked.neighborhoods, checked.wards
        info["note"] = f"{len(nbhd)} neighborhoods, {len(wards)} wards, CRS {crs.to_string()}"

    with step() as info:
        travel = load_travel(opts.travel, opts.mode, inputs.network, crs,
                             bounds=nbhd.total_bounds)
        info["note"] = (travel.name if travel.network is None else
                        f"{travel.name}, {travel.network.n_nodes:,} nodes, "
                        f"{travel.network.n_segments:,} segments")
        streets = street_lines(inputs, travel.network, crs)
        if streets is not None:
            info["note"] += f"; {len(streets):,} named street segments"

    with step() as info:
        population, pop_quality = match_population(checked.population, nbhd)
        info["note"] = f"{int(np.isfinite(population).sum())} of {len(nbhd)} areas with population"
        demo_n = demo_quality = None
        if checked.demographics is not None:
            demo_n, demo_quality = match_demographics(checked.demographics, nbhd,
                                                      fine=checked.fine_population)
            demo_n = demo_n.with_thresholds(opts.cv_caution, opts.cv_unreliable)
            info["note"] += (f"; demographics for {demo_quality['areas_with_data']} "
                             f"({len(demo_n.spec.groups)} groups)")

    with step() as info:
        prov = checked.providers
        providers, prov_quality = place_providers(
            prov.frame, prov.crs, crs, taxonomy, nbhd, wards, mode=opts.mode,
            today=opts.as_of, stale_after_months=opts.stale_after_months,
            where=f"providers {prov.path}")
        info["note"] = f"{len(providers)} providers"

    streamed = points = None
    if opts.engine in (Engine.STREAM, Engine.DASK):  # the calls stages batch by batch
        with step() as info:
            points = demand_points(nbhd, population, model=opts.methods.demand,
                                   cell_m=opts.methods.demand_cell_m, zones=wards,
                                   **_density(inputs, opts, crs, checked.fine_population))
            if opts.engine == Engine.DASK:  # the batches on a cluster's workers
                from safetygap.distributed import dask_stream_calls as run_calls
            else:
                run_calls = stream_calls
            streamed = run_calls(inputs, opts, taxonomy=taxonomy, rules=checked.rules,
                                 crs=crs, nbhd=nbhd, wards=wards, providers=providers,
                                 travel=travel, points=points, on_file=prog.detail)
            temporary.append(streamed.path.parent)
            calls, cin, window, undated = (streamed.calls, streamed.cin, streamed.window,
                                           streamed.undated)
            sources = list(calls.attrs["sources"])
            prog.timings.update({f"stream: {k}": v for k, v in streamed.timings.items()})
            info["note"] = streamed.notes["read"] + " (every calls stage to the boundary " \
                "lines: " + ", ".join(f"{k} {v:.1f} s" for k, v in streamed.timings.items()) \
                + ")"
        swapped = streamed.swapped
        examples, boundary = streamed.examples, streamed.boundary
        for key in ("join", "flags", "boundary"):
            with step(engine=opts.engine) as info:
                info["note"] = streamed.notes[key] + " (streamed with the reading)"
    else:
        calls, cin, window, undated, sources, swapped, examples, boundary = \
            _calls_in_memory(inputs, opts, step, prog, checked, crs, providers, travel)

    with step() as info:
        if streamed is None:
            years = calls_years(calls)
            points = demand_points(nbhd, population, model=opts.methods.demand,
                                   cell_m=opts.methods.demand_cell_m, zones=wards,
                                   **_density(inputs, opts, crs, checked.fine_population))
            # repeated ids and dates outside the plausible window cover no time
            no_day = calls[C.DUP].to_numpy() | calls[C.DATE_OUTSIDE].to_numpy(dtype=bool)
            spans = covered_spans(np.where(no_day, NO_DAY, calls[C.DAY]),
                                  calls[C.SOURCE_CODE].to_numpy(), sources,
                                  gap_days=opts.methods.gap_days)
        else:
            years, spans = streamed.years, streamed.spans
        assert points is not None
        context = measure_context(points, calls, wards, crosswalk(nbhd, wards), spans,
                                  years, opts.methods,
                                  need=None if streamed is None else streamed.need)
        info["note"] = (f"{len(points):,} demand points ({opts.methods.demand}); "
                        + "; ".join(f"{sp.source}: {sp.covered_years:.2f} covered years, "
                                    f"{len(sp.gaps)} gaps" for sp in spans))

    with step() as info:
        result = level_indices(calls, years, nbhd, wards, population, providers,
                               boundary, policy=opts.boundary_policy,
                               tolerance_m=opts.boundary_tolerance_m, travel=travel,
                               context=context,
                               counted=None if streamed is None else streamed.counted)
        info["note"] = f"{travel.name}; years {', '.join(map(str, years)) or 'none'}"
    _release_other_policy(boundary, opts.boundary_policy)

    with step() as info:
        nbhd_out, ward_out, tidy, cw_quality, sensitivity = result
        unc = add_uncertainty(
            calls, {lv: boundary[lv][opts.boundary_policy] for lv in LEVELS},
            {Level.NEIGHBORHOOD: nbhd_out, Level.WARD: ward_out}, methods=opts.methods,
            clusters=None if streamed is None else streamed.clusters)
        nbhd_out, ward_out = unc.neighborhoods, unc.wards
        if len(unc.tidy):
            extra = unc.tidy.assign(distance_model=travel.name)
            extra["catchment"] = extra["family"].map(
                dict(zip(tidy["family"], tidy["catchment"], strict=False))).fillna("")
            tidy = pd.concat([tidy, extra], ignore_index=True)
        info["note"] = (f"{opts.methods.bootstrap} replicates, "
                        f"{opts.methods.hotspot_permutations} Gi* permutations")

    with step() as info:
        tally = CallTally().add(calls) if streamed is None else streamed.tally
        time_covered = [sp.to_dict() for sp in spans]
        equity = None
        if demo_n is not None:
            nbhd_out, ward_out, equity = equity_outputs(
                demo_n, nbhd_out, ward_out, underserved=underserved_classes(
                    nbhd_out, unc.replicates, methods=opts.methods),
                n_draws=opts.equity_draws, seed=opts.equity_seed)
        records, records_quality = (None, None) if checked.records is None else _records(
            checked.records, nbhd, wards, crs, taxonomy, opts)
        boundaries = BoundariesQuality(
            neighborhoods=checked.nbhd_report.to_dict(), wards=checked.ward_report.to_dict(),
            crosswalk=cw_quality, wards_cover_neighborhoods=ward_coverage(
                checked.layers_overlap, nbhd, calls[C.N_IDX].to_numpy(),
                calls[C.W_IDX].to_numpy(), min_share=opts.ward_cover_min)
            if streamed is None else ward_coverage_counts(
                checked.layers_overlap, nbhd, *streamed.ward_cover,
                min_share=opts.ward_cover_min),
            near_boundary=near_boundary_quality(boundary, opts))
        quality = quality_report(tally, examples, cin, faults=calls.attrs.get("faults", {}),
                                 population=pop_quality,
                                 providers=prov_quality, boundaries=boundaries,
                                 travel=travel_quality(travel, calls, providers),
                                 swapped=swapped, time=undated, time_covered=time_covered,
                                 demographics=demo_quality, reports=records_quality,
                                 date_window=window.quality(
                                     calls[C.DATE_OUTSIDE].to_numpy(), calls[C.ROW].to_numpy(),
                                     calls[C.CALL_ID], calls[C.TIME])
                                 if streamed is None else streamed.date_window,
                                 malformed_rows=cin.malformed.to_dict(
                                     tally.rows + len(cin.malformed), opts.max_malformed_share))
        measured = MethodsSummary(
            uncertainty=unc.summary, placeless_services=placeless_services(providers),
            time_covered=time_covered,
            demand_points={"model": opts.methods.demand, "points": len(points),
                           "cell_m": points.cell_m,
                           "population_layer": next(
                               (p.name for p in (inputs.population_layer,
                                                 inputs.fine_population) if p), None)})
        summary = summary_report(tally, nbhd_out, ward_out, years, quality, opts, taxonomy, crs,
                                 rules=checked.rules, sensitivity=sensitivity,
                                 travel=travel_summary(travel, taxonomy), measured=measured,
                                 records=records, columns=cin.columns, undated=undated)
        manifest = manifest_report(inputs, opts, taxonomy, crs, cin.columns,
                                   rules=checked.rules)
        manifest["travel"] = summary.travel.to_dict()
        info["note"] = f"{quality.calls.analysed_in_areas:,} calls in areas"

    calls_out = None if streamed is not None else C.build(calls, nbhd, wards, boundary)
    return Analysis(
        neighborhoods=nbhd_out,
        wards=ward_out,
        calls=calls_out,
        providers=providers,
        indices=tidy,
        summary=summary,
        quality=quality,
        manifest=manifest,
        crs=crs.to_string(),
        timings=dict(prog.timings),
        network=travel.network,
        demand_points=points_frame(points, nbhd, wards),
        replicates=unc.replicates,
        streets=streets,
        records=records,
        equity=equity,
        calls_file=None if streamed is None else streamed.path,
    )


def _calls_in_memory(inputs: AnalysisInputs, opts: AnalysisOptions, step: Any, prog: Progress,
                     checked: Any, crs: Any, providers: gpd.GeoDataFrame, travel: Any
                     ) -> tuple[Any, ...]:
    """The calls stages of the in-memory engine, the whole calls table at once:
    reading and classifying, the join, the row flags and the boundary lines (four
    progress steps)."""
    taxonomy, nbhd, wards = checked.taxonomy, checked.neighborhoods, checked.wards
    with step() as info:
        cin = read_calls(inputs.calls, columns=opts.columns, encoding=opts.encoding,
                         max_malformed_share=opts.max_malformed_share, on_file=prog.detail)
        calls = cin.frame
        window = DateWindow.of(opts.date_from, opts.date_to, today=opts.as_of)
        calls[C.DATE_OUTSIDE] = window.classify(calls[C.TIME])
        undated = undated_report(calls[C.TIME].isna().to_numpy(), form=cin.time_form,
                                 examples=cin.examples.get(RowStatus.UNPARSEABLE_DATE, []),
                                 max_share=opts.undated_max_share, accept=opts.accept_undated,
                                 where=f"calls {cin.path}")
        calls[C.X], calls[C.Y] = to_crs_xy(calls[C.X].to_numpy(), calls[C.Y].to_numpy(),
                                             cin.crs, crs)
        denominator = (None if opts.diversion_denominator is None
                       else Denominator(opts.diversion_denominator))
        calls = call_features(calls, taxonomy, checked.rules, denominator=denominator,
                              calls_from=opts.count_calls_from)
        info["note"] = f"{len(calls):,} rows" + (
            f" from {len(cin.source.files):,} files"
            if cin.source is not None and cin.source.partitioned else "") + (
            f"; times {cin.time_form.describe()}" if cin.time_form else "")
        sources = list(calls.attrs.get("sources", [C.SINGLE_SOURCE]))

    with step(engine=opts.engine) as info:
        calls[C.COVERED] = coverage(calls, providers, travel, taxonomy)  # needs no area
        xy = (calls[C.X].to_numpy(), calls[C.Y].to_numpy())
        n_idx = assign_areas(xy, nbhd, crs=crs)
        w_idx = assign_areas(xy, wards, crs=crs)
        info["note"] = join_note(n_idx, w_idx, calls[C.DUP].to_numpy())
        swapped = swapped_coordinates(cin, n_idx, nbhd)  # raises when the file is swapped

    with step() as info:
        calls, examples = flag_rows(calls, cin.examples, n_idx, w_idx,
                                    source_xy=cin.source_xy,
                                    coordinate_label=cin.coordinate_label)
        examples = cin.locate(examples)  # a dataset's examples name their file
        flagged = ", ".join(f"{k} {v:,}" for k, v in calls.attrs["faults"].items() if v)
        info["note"] = (f"{flagged} (a call may have several flags)" if flagged
                        else "no faults")

    with step() as info:
        boundary = boundary_allocations(calls, nbhd, wards, crs, opts.boundary_tolerance_m)
        info["note"] = (f"{boundary['neighborhood']['shared']:,} calls within "
                        f"{opts.boundary_tolerance_m:g} m of a line between neighborhoods")

    return calls, cin, window, undated, sources, swapped, examples, boundary


def calls_years(calls: pd.DataFrame) -> tuple[int, ...]:
    """The years of the calls in a neighborhood or a ward (dated), ascending."""
    in_areas = (calls[C.N_IDX].to_numpy() >= 0) | (calls[C.W_IDX].to_numpy() >= 0)
    return tuple(sorted(int(y) for y in pd.unique(calls[C.YEAR].to_numpy()[in_areas])
                        if y > 0))


def _release_other_policy(boundary: dict[str, dict[str, Any]], policy: str) -> None:
    """After the indices, only the run's own policy's allocation rows are used (the
    bootstrap) and every allocation's ``k`` (the calls table's split counts): the other
    policy's (call, area, weight) rows, three arrays a call, are let go (memory)."""
    from dataclasses import replace

    from safetygap.geo.boundary import Allocation

    for entry in boundary.values():
        for key, alloc in entry.items():
            if isinstance(alloc, Allocation) and alloc.policy != policy:
                entry[key] = replace(alloc, call=np.zeros(0, dtype=alloc.call.dtype),
                                     area=np.zeros(0, dtype=alloc.area.dtype),
                                     weight=np.zeros(0, dtype=alloc.weight.dtype))


def underserved_classes(nbhd: gpd.GeoDataFrame, replicates: pd.DataFrame | None, *,
                        methods: Methods) -> dict[str, Underserved] | None:
    """Each family's underserved neighborhoods (high need, low access) and which are
    classified at all, from the layer's need/access classes, with every bootstrap
    replicate's classification: what the equity disparity compares groups across
    (:func:`safetygap.stages.equity.equity_report`). None when the layer has no classes."""
    if not all(M.column(M.CLASS, f) in nbhd.columns for f in FAMILIES):
        return None
    ids = nbhd[M.AREA_ID].astype(str).tolist()
    reps = f"{methods.bootstrap} bootstrap replicates" if methods.bootstrap else \
        "no bootstrap"
    out = {}
    for family in FAMILIES:
        out[family] = underserved_from_tables(
            underserved_table(nbhd, family),
            replicate_classes(replicates, ids, level=Level.NEIGHBORHOOD, family=family),
            underserved_class=UNDERSERVED_CLASS,
            definition=(f"high need, low access for {family}: top third of need "
                        "(empirical-Bayes smoothed calls per 1,000 residents per covered "
                        "year) and bottom third of access among the ranked neighborhoods "
                        f"(class {UNDERSERVED_CLASS}); {reps}"))
    return out


def placeless_services(providers: gpd.GeoDataFrame) -> dict[str, Any]:
    """The services without a place (311, online reporting, phone lines): left out of
    coverage, reach and accessibility; their calls reach them through the diversion
    channels."""
    pl = providers[providers["placeless"].to_numpy(dtype=bool)]
    return {
        "providers": [{"provider_id": str(r.provider_id), "name": str(r.name),
                       "family": str(r.family), "service_type": str(r.service_type),
                       "capacity": float(r.capacity)} for r in pl.itertuples()],
        "notes": "Services without a place are a separate channel: counted in the diversion "
                 "channels (summary.diversion.by_channel), left out of spatial coverage, "
                 "reach and accessibility.",
    }


def measure_context(points: DemandPoints, calls: pd.DataFrame, wards: gpd.GeoDataFrame,
                    cw: pd.DataFrame, spans: list[Span], years: tuple[int, ...],
                    methods: Methods, *, need: Any = None) -> MeasureContext:
    """The demand points with the wards' weights and each call's demand point and weight
    (1 / its source's covered years), and each source's covered years per period.
    ``need`` (the streaming engine's :meth:`~safetygap.stages.stream.Streamed.need`):
    the need per family and demand point from the sources' weights, no call's point or
    weight."""
    source_years = period_years(spans, ("all", *(str(y) for y in years)))
    if need is not None:
        per_source = source_years[:, 0]
        weights = np.divide(1.0, per_source, out=np.zeros(len(per_source)),
                            where=per_source > 0)
        none = np.zeros(0, dtype=np.int64)
        demand = Demand(points, ward_weights(points, wards, cw), none, none.astype(float),
                        need=need(weights, len(points)))
        return MeasureContext(demand, methods, source_years)
    per_call = source_years[calls[C.SOURCE_CODE].to_numpy(), 0]
    weight = np.divide(1.0, per_call, out=np.zeros(len(per_call)), where=per_call > 0)
    point = points.locate(calls[C.X].to_numpy(), calls[C.Y].to_numpy(),
                          calls[C.N_IDX].to_numpy(), calls[C.W_IDX].to_numpy())
    demand = Demand(points, ward_weights(points, wards, cw), point, weight)
    return MeasureContext(demand, methods, source_years)


def _density(inputs: AnalysisInputs, opts: AnalysisOptions, crs: Any,
             fine: Any = None) -> dict[str, Any]:
    """The population layer (in the analysis CRS) and its column, as keyword arguments of
    :func:`safetygap.geo.demand.demand_points` (none when no layer is given): the
    ``population_layer``, else the equity section's finer population layer (``fine``, as
    preflight read it: its head counts in ``population``)."""
    path, col = inputs.population_layer, opts.population_layer_column
    if path is None and fine is not None:
        layer = gpd.GeoDataFrame(fine.frame[["population"]], geometry=fine.frame["geometry"],
                                 crs=fine.crs).to_crs(crs)
        return {"density": layer, "density_column": "population"}
    if path is None:
        return {}
    from safetygap.inputs.files import read_table

    table = read_table(path, where="population layer")
    where = f"population layer {table.path}"
    problems = Problems()
    if table.geometry is None or table.crs is None:
        problems.add(where, "needs point or polygon geometry with a CRS",
                     allowed="GeoPackage, GeoJSON or GeoParquet of blocks, address points "
                             "or building footprints")
        problems.raise_if_any()
    if col is not None and col not in table.frame.columns:
        problems.add(where, "population column not found", column=col,
                     allowed=sorted(map(str, table.frame.columns)))
        problems.raise_if_any()
    layer = gpd.GeoDataFrame(table.frame, geometry=table.geometry, crs=table.crs).to_crs(crs)
    if col is not None:
        layer[col] = pd.to_numeric(layer[col], errors="coerce")
    return {"density": layer, "density_column": col}


def _records(rin: RecordsInput, nbhd: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, crs: Any,
             taxonomy: Any, opts: AnalysisOptions) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The records from outside 911 placed in areas (:mod:`safetygap.outside911`)."""
    frame = rin.frame.copy()
    frame["x"], frame["y"] = to_crs_xy(frame["x"].to_numpy(), frame["y"].to_numpy(),
                                       rin.crs, crs)
    table, quality = place_records(frame, nbhd, wards, crs=crs, taxonomy=taxonomy,
                                   channel=opts.reports_channel,
                                   counted=opts.reports_counted)
    return table, {"file": str(rin.path), "time_form": rin.time_form, **quality}


def street_lines(inputs: AnalysisInputs, network: StreetNetwork | None, crs: Any
                 ) -> gpd.GeoDataFrame | None:
    """The named street segments that name places: from ``inputs.streets`` (read here)
    or the run's own network; None without names."""
    from safetygap.inputs.network import load_network

    source = network
    if inputs.streets is not None and (network is None or inputs.network is None or
                                       Path(inputs.streets).resolve()
                                       != Path(inputs.network).resolve()):
        source = load_network(inputs.streets, crs=crs)
    if source is None:
        return None
    lines, names = source.street_lines()
    if not len(lines):
        return None
    return gpd.GeoDataFrame({"name": names.astype(str)}, geometry=lines, crs=source.crs)


def default_inputs(directory: str | os.PathLike) -> AnalysisInputs:
    """The input paths the demo city writes into ``directory`` (its street names in
    ``streets.graphml`` when there)."""
    d = Path(directory)
    return AnalysisInputs(
        calls=d / "calls.csv",
        providers=d / "providers.csv",
        neighborhoods=d / "neighborhoods.gpkg",
        wards=d / "wards.gpkg",
        population=d / "population.csv",
        demographics=d / "demographics.csv" if (d / "demographics.csv").is_file() else None,
        streets=d / "streets.graphml" if (d / "streets.graphml").is_file() else None,
    )
