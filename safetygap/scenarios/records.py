"""The answers of siting and what-if as typed records (see :mod:`safetygap.tables.typed`):
what ``GET``/``POST /api/sites`` (:func:`~safetygap.scenarios.recommend_sites` with each
site's catchment area) and ``POST /api/scenarios`` (:func:`~safetygap.scenarios.whatif`)
answer; the API's response models are derived from them.

Coordinates are longitude, latitude in EPSG:4326. Catchments are in the workspace's unit
(``catchment_unit``): minutes of travel on a street network, metres straight-line. Index
values as in the layers: coverage a share in [0, 1], access per 1,000 residents, gap
-1..1, gap class 0..5; ``None`` where undefined.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from safetygap.tables.typed import Doc, Geometry
from safetygap.vocab import FAMILIES

Family = Literal[FAMILIES]  # type: ignore[valid-type]
Existing = Literal["keep", "ignore"]
"""Whether the existing providers of the family stay or the sites are placed as if there
were none."""


class IndexChange(TypedDict):
    """One area's indices of one family before and after, and the change (after - before)."""

    coverage_before: float | None
    coverage_after: float | None
    coverage_change: float | None
    reach_before: Annotated[float | None, Doc('share of residents within reach')]
    reach_after: float | None
    reach_change: float | None
    access_before: float | None
    access_after: float | None
    access_change: float | None
    gap_before: float | None
    gap_after: float | None
    gap_change: float | None
    gap_class_before: int | None
    gap_class_after: int | None
    gap_class_change: int | None
    class_before: Annotated[int | None, Doc(
        "need/access class 1..9 (7 = high need, low access; 0 = not ranked)")]
    class_after: int | None
    class_label_before: Annotated[str, Doc('the class in words')]
    class_label_after: str


class AreaIds(TypedDict):
    area_id: str
    name: str


class AreaGain(AreaIds, IndexChange):
    """An area whose calls a site newly covers; indices before and after adding the site
    to the sites ranked above it."""

    calls_newly_covered: int


class Site(TypedDict):
    rank: Annotated[int, Doc('1 = chosen first; each adds the most to those above')]
    site_id: str
    name: str
    longitude: float
    latitude: float
    neighborhood_id: Annotated[str | None, Doc('null: outside every neighborhood')]
    ward_id: str | None
    address: Annotated[str | None, Doc(
        "the nearest intersection or street, from the workspace's street names (offline); "
        "null without street names")]
    marginal_calls: Annotated[int, Doc(
        "need calls it newly covers, beyond the existing providers and the sites ranked above")]
    eligible_newly_covered: Annotated[int, Doc('of them, calls a non-police responder could take')]
    residents_newly_reached: Annotated[float, Doc(
        "residents within its catchment area and not within that of the existing providers "
        "(when kept) or of the sites ranked above (areal weighting of the neighborhoods' "
        "population), whole residents")]
    cumulative_calls: Annotated[int, Doc('need calls newly covered by sites 1..rank')]
    neighborhoods: Annotated[list[AreaGain], Doc('neighborhoods that gain, most calls first')]
    wards: Annotated[list[AreaGain], Doc('wards that gain, most calls first')]
    catchment_area: Annotated[Geometry, Doc(
        "what the site covers (GeoJSON, EPSG:4326, simplified by 2 m); see "
        "catchment_area_method")]


class Candidates(TypedDict):
    count: int
    source: Annotated[str, Doc(
        "'network nodes in the city', '200 m grid in the city' or 'request body' (POST "
        "/api/sites)")]


class SiteRecommendation(TypedDict):
    """K new sites chosen to cover the most need calls not yet covered (maximal covering
    location problem, existing providers fixed)."""

    crs: Literal["EPSG:4326"]
    manifest_sha256: Annotated[str, Doc('the workspace version the sites are for')]
    family: Family
    k: int
    service_type: str
    capacity: float
    distance_model: Annotated[str, Doc('straight-line, network-walk or network-drive')]
    catchment: Annotated[float, Doc('in catchment_unit')]
    catchment_unit: Annotated[Literal["m", "min"], Doc(
        "m: straight-line metres; min: travel minutes on the street network (see "
        "distance_model)")]
    warnings: Annotated[list[str], Doc(
        "e.g. a straight-line catchment under 100 m, usually minutes meant")]
    catchment_area_method: Annotated[str, Doc('how catchment_area is drawn')]
    candidates: Candidates
    need_calls: Annotated[int, Doc('need calls of the family placed in areas')]
    existing: Annotated[Existing, Doc('whether the existing providers were kept')]
    residents_newly_reached: Annotated[float, Doc("the sites' residents_newly_reached added up")]
    eligible_newly_covered: Annotated[int, Doc("the sites' eligible_newly_covered added up")]
    covered_before: int
    covered_after: int
    coverage_before: float | None
    coverage_after: float | None
    stopped_early: Annotated[bool, Doc('true when fewer than k sites were chosen')]
    stopped_reason: Annotated[str | None, Doc(
        "why fewer than k: 'all N candidates used', 'no candidate covers any remaining call' "
        "('no further candidate ...' after some sites), or 'every <family> need call is "
        "already covered'; null when k were chosen")]
    method: str
    sites: list[Site]
    timings_s: Annotated[dict[str, float], Doc('when computed (results are cached)')]


class PlacedProvider(TypedDict):
    provider_id: str
    name: str
    family: Family
    service_type: str
    capacity: float
    catchment: Annotated[float, Doc('in catchment_unit')]
    neighborhood_id: Annotated[str | None, Doc('null: outside every neighborhood')]
    ward_id: str | None
    longitude: float
    latitude: float


class FamilyTotals(TypedDict):
    need_calls: int
    coverage_before: float | None
    coverage_after: float | None
    calls_newly_covered: int
    eligible_newly_covered: Annotated[int, Doc('of them, calls a non-police responder could take')]
    residents_newly_reached: Annotated[float, Doc(
        "residents within the new providers' catchment areas and not within the existing "
        "providers' (areal weighting), whole residents")]


class AreaChange(AreaIds, IndexChange):
    family: Family


class ScenarioResult(TypedDict):
    """Indices recomputed with hypothetical providers (the stored workspace is unchanged),
    per area of both levels for the families of the new providers."""

    manifest_sha256: str
    distance_model: str
    catchment_unit: Literal["m", "min"]
    providers: list[PlacedProvider]
    families: list[Family]
    totals: dict[str, FamilyTotals]
    neighborhoods: list[AreaChange]
    wards: list[AreaChange]
    elapsed_s: float
