"""The embedded synthetic demo city: what safetygap analyses when given no data.

:func:`generate_city` builds, from one integer seed, a made-up city of about
400,000 people in southern Minnesota farmland (centred at 43.75 N, 94.6 W,
where no real city of that size is) in EPSG:26915 (UTM zone 15N, metres):
neighbourhoods and wards that tile it exactly, population per neighbourhood,
community-safety providers of the three families, and three years of 911
calls in the City of Minneapolis layer's format, with a few realistic faults.
:func:`write_city` writes it to files the normal input readers accept.

Everything is deterministic: the same arguments give the same frames and
byte-identical files. Nothing touches the network. See ``docs/DEMO.md``.
"""

from __future__ import annotations

import io
import itertools
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import shapely
from pyproj import Transformer

from safetygap import FAMILIES, __version__
from safetygap._io import dumps_json
from safetygap.demo import _calls, _demographics, _plan, _providers, _shapes
from safetygap.errors import Problems

CRS = _shapes.CRS
"""CRS of every layer of the demo city (UTM zone 15N, metres)."""

CENTER_LON_LAT: tuple[float, float] = (-94.6, 43.75)
"""Centre of the demo city (WGS84 longitude, latitude): farmland, no real city."""

TOTAL_POPULATION = 400_000
"""Target population (persons); kept between 1,000 and 10,000 per neighbourhood."""

INVENTORY_SOURCES: dict[str, str] = {
    "city_facilities": "city_facilities.csv",
    "organisations": "organisations.csv",
    "osm_features": "osm_features.geojson",
    "osm_tags": "osm_tags.toml",
    "address_points": "address_points.parquet",
}
"""Key -> file name of the inventory's raw sources (:mod:`safetygap.demo._inventory`)."""

FILES: dict[str, str] = {
    "neighborhoods": "neighborhoods.gpkg",
    "wards": "wards.gpkg",
    "population": "population.csv",
    "demographics": "demographics.csv",
    "providers": "providers.csv",
    "calls": "calls.csv",
    "meta": "city.json",
    **INVENTORY_SOURCES,
    "osm_providers": "osm_providers.csv",
    "geocoded": "organisations.geocoded.csv",
    "review": "organisations.review.csv",
    "duplicates": "providers.duplicates.csv",
}
"""Key -> file name written by :func:`write_city`: the city, the inventory's sources and
what building the inventory from them writes (``providers.csv`` among them)."""

PROVIDER_CSV_COLUMNS: tuple[str, ...] = (
    "provider_id", "name", "service_type", "family", "capacity", "latitude", "longitude",
)
"""The first columns of ``providers.csv`` (the inventory columns follow)."""

_FIXED_GPKG_DATE = "2000-01-01T00:00:00.000Z"  # GeoPackage timestamps, for identical bytes


@dataclass(frozen=True, eq=False)
class DemoCity:
    """A generated synthetic city. All layers are in EPSG:26915 (metres).

    ``neighborhoods``: nbhd_id ("N01"...), name, geometry (Polygon/MultiPolygon).
    ``wards``: ward_id ("1"...), name ("Ward 1"...), geometry.
    ``population``: neighborhood (name), population (int persons).
    ``providers``: provider_id ("P001"...), name, family, service_type,
    capacity (staff, full-time equivalents), geometry (Point).
    ``calls``: 911 calls, columns of the City of Minneapolis layer
    (:data:`safetygap.demo.CALL_COLUMNS`); ``Response_Date`` is epoch
    milliseconds of local wall-clock time labelled UTC, ``Latitude`` /
    ``Longitude`` WGS84 degrees (5 decimals).
    ``injected_faults``: how many faulty call rows were injected, by kind.
    ``parameters``: the arguments of :func:`generate_city`.
    """

    neighborhoods: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    population: pd.DataFrame
    providers: gpd.GeoDataFrame
    calls: pd.DataFrame
    seed: int
    label: str
    injected_faults: dict[str, int] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    demographics: pd.DataFrame | None = None
    """ACS-like group counts with 90% MOEs per neighborhood (:mod:`._demographics`)."""

    def metadata(self) -> dict[str, Any]:
        """The content of ``city.json``: label, seed, CRS, counts, injected faults."""
        diverted = diverted_share(self.calls)
        fam = self.providers["family"].value_counts()
        return {
            "synthetic": True,
            "label": self.label,
            "seed": self.seed,
            "crs": CRS,
            "generator": f"safetygap {__version__} demo city",
            "parameters": self.parameters,
            "center_wgs84": {"longitude": CENTER_LON_LAT[0], "latitude": CENTER_LON_LAT[1]},
            "counts": {
                "neighborhoods": len(self.neighborhoods),
                "wards": len(self.wards),
                "providers": len(self.providers),
                "providers_by_family": {f: int(fam.get(f, 0)) for f in FAMILIES},
                "calls": len(self.calls),
                "population": int(self.population["population"].sum()),
                "area_km2": round(float(self.neighborhoods.area.sum()) / 1e6, 3),
            },
            "agencies": list(_calls.AGENCIES),
            "diverted_share": round(diverted, 6),
            "diverted_share_basis": "the default diversion rules on the generated calls; "
                                    "of the calls handled by police or an alternative "
                                    "(fire/EMS left out)",
            "injected_faults": dict(self.injected_faults),
            "files": dict(FILES),
        }


def diverted_share(calls: pd.DataFrame) -> float:
    """Diverted share of generated calls (the city layer's columns) by the default
    diversion rules, of the calls in the rules' default denominator (0 for no calls)."""
    from safetygap.diversion import load_rules

    canonical = pd.DataFrame({
        "agency": calls["Agency_Type"], "call_type": calls["Problem__Final_"],
        "disposition": calls["Call_Disposition"],
        "priority": calls["Final_Priority"].astype("string"),
        "time": pd.to_datetime(calls["Response_Date"], unit="ms"),
    })
    out = load_rules().assign(canonical)
    base = int(out["diversion_base"].sum())
    return float(out["diverted"].sum() / base) if base else 0.0


# --------------------------------------------------------------------------- generate


def _validate(
    seed: object, n_neighborhoods: object, n_wards: object, years: object, n_calls: object
) -> tuple[int, ...]:
    problems = Problems()

    def is_int(v: object) -> bool:
        return isinstance(v, int | np.integer) and not isinstance(v, bool)

    if not is_int(seed) or int(seed) < 0:  # type: ignore[call-overload]
        problems.add("generate_city", "seed must be a non-negative integer",
                     column="seed", value=seed)
    if not is_int(n_neighborhoods) or not 10 <= int(n_neighborhoods) <= 400:  # type: ignore[call-overload]
        problems.add("generate_city", "n_neighborhoods out of range",
                     column="n_neighborhoods", value=n_neighborhoods, allowed="10..400")
    if not is_int(n_wards) or not 2 <= int(n_wards) <= 50:  # type: ignore[call-overload]
        problems.add("generate_city", "n_wards out of range",
                     column="n_wards", value=n_wards, allowed="2..50")
    elif is_int(n_neighborhoods) and int(n_wards) > int(n_neighborhoods):  # type: ignore[call-overload]
        problems.add("generate_city", "more wards than neighborhoods",
                     column="n_wards", value=n_wards, allowed=f"<= {n_neighborhoods}")
    years_t: tuple[int, ...] = ()
    if (
        isinstance(years, str | bytes)
        or not isinstance(years, Sequence)
        or not years
        or not all(is_int(y) and 1970 <= int(y) <= 2099 for y in years)
        or len(years) > 20
    ):
        problems.add("generate_city", "years must be 1..20 calendar years",
                     column="years", value=years, allowed="e.g. (2022, 2023, 2024)")
    else:
        years_t = tuple(int(y) for y in years)
        if any(b <= a for a, b in itertools.pairwise(years_t)):
            problems.add("generate_city", "years must be strictly increasing",
                         column="years", value=years)
    if not is_int(n_calls) or not 1000 <= int(n_calls) <= 20_000_000:  # type: ignore[call-overload]
        problems.add("generate_city", "n_calls out of range",
                     column="n_calls", value=n_calls, allowed="1000..20000000")
    problems.raise_if_any()
    return years_t


def generate_city(
    *,
    seed: int = 2025,
    n_neighborhoods: int = 80,
    n_wards: int = 13,
    years: tuple[int, ...] = (2022, 2023, 2024),
    n_calls: int = 650_000,
) -> DemoCity:
    """Generate the synthetic demo city (deterministic in all arguments).

    Args:
        seed: seed of :func:`numpy.random.default_rng`; every random draw
            comes from it, in a fixed order.
        n_neighborhoods: number of neighbourhoods (10..400); ids ``N01``...
        n_wards: number of wards (2..50), an independent partition with
            roughly equal population.
        years: calendar years the calls span (strictly increasing).
        n_calls: total number of call rows, injected faulty rows included.

    Returns:
        A :class:`DemoCity` in EPSG:26915 (metres).

    Raises:
        safetygap.errors.ValidationError: an argument is out of range.
    """
    years_t = _validate(seed, n_neighborhoods, n_wards, years, n_calls)
    seed, n_nb, n_wd, n_calls = int(seed), int(n_neighborhoods), int(n_wards), int(n_calls)
    rng = np.random.default_rng(seed)

    # --- outline, plan, neighbourhoods (local metres)
    outline = _shapes.make_outline(rng)
    plan = _plan.make_plan(outline, rng)
    seeds = _shapes.spread_seeds(outline, n_nb, rng, centre=plan.downtown)
    cells = _shapes.wiggly_partition(seeds, outline, rng)
    cell_arr = np.array(cells, dtype=object)
    order = _shapes.reading_order(_rep_xy(cell_arr), 1800.0)
    cell_arr = cell_arr[order]
    names = _shapes.neighborhood_names(n_nb, rng)
    downtown = int(np.argmin(shapely.distance(cell_arr, shapely.Point(*plan.downtown))))
    names[downtown] = _shapes.DOWNTOWN_NAME
    area = shapely.area(cell_arr)

    # --- population
    tri, owner, tri_area = _shapes.triangulate(cell_arr)
    density = _plan.sample_mean(plan, (tri, owner, tri_area), n_nb, rng)
    total = float(np.clip(TOTAL_POPULATION, 1_000 * n_nb, 10_000 * n_nb))
    pop = _plan.allocate_population(density, area, rng, total=total, downtown=downtown)

    # --- wards: Voronoi of population-balanced seeds, same outline
    grid, grid_nbhd = _shapes.grid_points(cell_arr, 150.0)
    spacing = float(np.sqrt(outline.area / n_wd))
    ward_seeds = _shapes.balanced_seeds(
        grid, (pop / area)[grid_nbhd], n_wd, rng, spacing=spacing
    )
    wards = np.array(
        _shapes.wiggly_partition(ward_seeds, outline, rng, amp_frac=0.06, amp_cap=420.0,
                                 step=80.0, jitter=12.0),
        dtype=object,
    )
    wards = wards[_shapes.reading_order(_rep_xy(wards), 4500.0)]
    ward_ids = [str(i + 1) for i in range(n_wd)]

    # --- sampling units, providers, calls
    units = _shapes.build_units(list(cell_arr), list(wards))
    resident_density = (pop / area)[units.nbhd]
    unit_fields = _plan.fields(plan, units.centroid)
    prov = _providers.place_providers(plan, units, unit_fields, names, rng)
    stype = np.array(prov["service_type"])
    offset = _projected_centre()
    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)

    def to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = to_wgs.transform(x + offset[0], y + offset[1])
        return np.asarray(lon), np.asarray(lat)

    calls = _calls.generate_calls(
        unit_fields=unit_fields,
        units=units,
        resident_density=resident_density,
        nbhd_names=names,
        ward_ids=ward_ids,
        precinct_xy=prov["xy"][stype == "police_station"],
        bases={"bcr_team": prov["xy"][stype == "bcr_team"]},
        years=years_t,
        n_calls=n_calls,
        to_wgs84=to_wgs84,
        rng=rng,
    )

    # --- into EPSG:26915 (one exact translation of every vertex)
    def shift(geoms: np.ndarray) -> np.ndarray:
        return shapely.transform(geoms, lambda c: c + offset)

    width = max(2, len(str(n_nb)))
    neighborhoods = gpd.GeoDataFrame(
        {
            "nbhd_id": [f"N{i + 1:0{width}d}" for i in range(n_nb)],
            "name": names,
        },
        geometry=shift(cell_arr),
        crs=CRS,
    )
    ward_gdf = gpd.GeoDataFrame(
        {"ward_id": ward_ids, "name": [f"Ward {w}" for w in ward_ids]},
        geometry=shift(wards),
        crs=CRS,
    )
    population = pd.DataFrame({"neighborhood": names, "population": pop.astype(np.int64)})
    # its own random stream: the rest of the city does not change with it
    demographics = _demographics.make_demographics(
        names, pop.astype(np.int64), _plan.fields(plan, _rep_xy(cell_arr)),
        np.random.default_rng([seed, 15]))
    providers = gpd.GeoDataFrame(
        {
            "provider_id": prov["provider_id"],
            "name": prov["name"],
            "family": prov["family"],
            "service_type": prov["service_type"],
            "capacity": prov["capacity"],
            "opening_hours": prov["opening_hours"],
        },
        geometry=shapely.points(prov["xy"] + offset),
        crs=CRS,
    )
    parameters = {
        "seed": seed,
        "n_neighborhoods": n_nb,
        "n_wards": n_wd,
        "years": list(years_t),
        "n_calls": n_calls,
    }
    return DemoCity(
        neighborhoods=neighborhoods,
        wards=ward_gdf,
        population=population,
        providers=providers,
        calls=calls.frame,
        seed=seed,
        label=f"Synthetic demo city (generated by safetygap, seed {seed}) - not real data",
        injected_faults=calls.faults.as_dict(),
        parameters=parameters,
        demographics=demographics,
    )


def _rep_xy(geoms: np.ndarray) -> np.ndarray:
    return shapely.get_coordinates(shapely.point_on_surface(geoms))


def _projected_centre() -> np.ndarray:
    """:data:`CENTER_LON_LAT` in EPSG:26915 metres, shape (2,)."""
    fwd = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    return np.array(fwd.transform(*CENTER_LON_LAT), dtype=float)


# --------------------------------------------------------------------------- write


def write_city(city: DemoCity, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``city`` into ``out_dir`` (created if needed); return key -> path.

    Files (names in :data:`FILES`): ``neighborhoods.gpkg`` and ``wards.gpkg``
    (GeoPackage, EPSG:26915), ``population.csv`` (neighborhood, population),
    ``demographics.csv`` (ACS-like group counts with 90% margins of error),
    ``calls.csv`` (the 911 layer's columns), the inventory's raw sources
    (:data:`INVENTORY_SOURCES`, :mod:`safetygap.demo._inventory`), ``providers.csv``
    built from them through OpenStreetMap mapping, geocoding and merging
    (:func:`safetygap.demo.inventory.build_inventory`, which writes the steps' files
    too; :data:`PROVIDER_CSV_COLUMNS` first, WGS84 degrees) and ``city.json``
    (:meth:`DemoCity.metadata` and what the inventory steps did). Each file is written
    to a temporary name in ``out_dir`` and moved into place with :func:`os.replace`, so
    a reader never sees half a file. The same city always gives identical bytes.
    """
    from safetygap.demo._inventory import geojson_text, inventory_sources
    from safetygap.demo.inventory import build_inventory

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {key: out / name for key, name in FILES.items()}
    _atomic(paths["neighborhoods"], lambda p: _write_gpkg(city.neighborhoods, p, "neighborhoods"))
    _atomic(paths["wards"], lambda p: _write_gpkg(city.wards, p, "wards"))
    _atomic(paths["population"], lambda p: _write_bytes(p, _frame_csv(city.population)))
    if city.demographics is not None:
        _atomic(paths["demographics"],
                lambda p: _write_bytes(p, _frame_csv(city.demographics)))
    _atomic(paths["calls"], lambda p: _write_calls_csv(city.calls, p))
    src = inventory_sources(city)
    _atomic(paths["city_facilities"], lambda p: _write_bytes(p, _frame_csv(src.city_facilities)))
    _atomic(paths["organisations"], lambda p: _write_bytes(p, _frame_csv(src.organisations)))
    _atomic(paths["osm_features"],
            lambda p: _write_bytes(p, geojson_text(src.osm_features).encode("utf-8")))
    _atomic(paths["osm_tags"], lambda p: _write_bytes(p, src.tags.encode("utf-8")))
    _atomic(paths["address_points"], lambda p: src.address_points.to_parquet(
        p, index=False, geometry_encoding="geoarrow"))
    built = build_inventory(out, files={k: FILES[k] for k in (*INVENTORY_SOURCES,
                                                                "neighborhoods")})
    meta = city.metadata()
    meta["inventory"] = {"as_of": src.as_of.isoformat(), **built.to_dict(),
                         "services_in_the_city": len(city.providers)}
    text = dumps_json(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _atomic(paths["meta"], lambda p: _write_bytes(p, text.encode("utf-8")))
    return paths


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            if leftover.exists():
                leftover.unlink()


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """GeoPackage with GDAL's timestamps pinned so the bytes are reproducible."""
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_GPKG_DATE})
    try:
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _frame_csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")
def _write_calls_csv(calls: pd.DataFrame, path: Path) -> None:
    """CSV like the city's export: plain header, no quoting, empty for missing."""
    table = pa.Table.from_pandas(calls, preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink:
        sink.write((",".join(calls.columns) + "\n").encode("utf-8"))
        pacsv.write_csv(
            table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none")
        )
