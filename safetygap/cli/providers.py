"""`safetygap providers ...`: provider files from city facilities, lists, OpenStreetMap."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetygap.errors import Problems, ValidationError

if TYPE_CHECKING:

    pass
from safetygap.cli._app import Command, Group, app, fail

providers_app = typer.Typer(
    cls=Group, help="Build provider files: from a city's facilities, an organisations "
                     "list with addresses, OpenStreetMap; merge them.",
    no_args_is_help=True)
app.add_typer(providers_app, name="providers")


@providers_app.command("minneapolis", cls=Command)
def providers_minneapolis(
    facilities: Annotated[Path, typer.Option(
        help="directory with Fire_Stations.csv, Police_Stations.geojson, Hospitals_MN_HIFLD.csv")],
    city: Annotated[Path, typer.Option(help="city limits polygon (e.g. "
                                       "Minneapolis_City_Boundary.geojson)")],
    out: Annotated[Path, typer.Option(help="provider CSV to write")],
    near: Annotated[float, typer.Option(help="keep hospitals within this many metres of "
                                        "the city limits")] = 2000.0,
) -> None:
    """Response providers from Minneapolis fire/police stations and nearby hospitals."""
    from safetygap.sources.minneapolis import providers_from_facilities

    try:
        built = providers_from_facilities(facilities, city, near_m=near)
    except ValidationError as exc:
        fail(exc)
        return
    built.write(out)
    counts = built.frame["service_type"].value_counts()
    typer.echo(f"wrote {len(built.frame)} providers to {out} ("
               + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")")
    for e in built.excluded:
        typer.echo(f"  left out: {e['name']} ({e['source']}): {e['reason']}")


@providers_app.command("geocode", cls=Command)
def providers_geocode(
    source: Annotated[Path, typer.Argument(help="organisations list (CSV, GeoJSON, GeoPackage, "
                                           "Parquet) with an address column")],
    out: Annotated[Path, typer.Option(help="provider CSV to write (the placed rows)")],
    address_points: Annotated[Path | None, typer.Option(
        help="the city's address-point layer (e.g. from `safetygap fetch minneapolis "
             "--layers address_points`)")] = None,
    address_column: Annotated[str, typer.Option(help="address column of the list")]
    = "address",
    address_points_column: Annotated[str | None, typer.Option(
        help="full-address column of --address-points (default: found by its usual "
             "names, or the Minnesota standard's ANUMBER + ST_NAME columns)")] = None,
    review: Annotated[Path | None, typer.Option(
        help="CSV of the rows to review: street-only and unmatched (default: OUT with "
             "'.review.csv')")] = None,
    min_quality: Annotated[str, typer.Option(
        help="worst match quality placed: exact, street_interpolation or street_only "
             "(rows below it are listed for review, not placed)")] = "street_only",
    online: Annotated[bool, typer.Option(
        "--online", help="ask Nominatim (OpenStreetMap's geocoder) about the rows the "
        "address points cannot place: one request a second, answers cached on disk; "
        "off by default")] = False,
    nominatim_url: Annotated[str | None, typer.Option(
        help="Nominatim server for --online (default: SAFETYGAP_NOMINATIM_URL, else "
             "https://nominatim.openstreetmap.org/)")] = None,
    user_agent: Annotated[str | None, typer.Option(
        help="user agent sent with --online (the usage policy asks for one naming you)")]
    = None,
    cache: Annotated[Path | None, typer.Option(
        help="cache file of --online answers (default: OUT with '.geocache.json')")] = None,
    city: Annotated[str, typer.Option(
        help="appended to each address asked online, e.g. 'Minneapolis, MN'")] = "",
    encoding: Annotated[str, typer.Option(help="text encoding of a CSV list")] = "utf-8",
) -> None:
    """Place an organisations list by its addresses; street-only and unmatched rows listed.

    Addresses are matched against the local address points, then (with --online) asked of
    Nominatim; every row gets a match quality.
    """
    from safetygap.inputs.files import read_table
    from safetygap.inventory.geocode import MatchQuality, geocode_frame, read_address_points
    from safetygap.settings import get_settings

    try:
        allowed = ("exact", "street_interpolation", "street_only")
        if min_quality not in allowed:
            bad = Problems()
            bad.add("--min-quality", "unknown match quality", value=min_quality,
                    allowed=allowed)
            bad.raise_if_any()
        table = read_table(source, where="list", encoding=encoding)
        points = (None if address_points is None else
                  read_address_points(str(address_points), address_column=address_points_column))
        geocoder = None
        if online:
            from safetygap.fetch.nominatim import USER_AGENT, NominatimGeocoder

            geocoder = NominatimGeocoder(
                url=nominatim_url or get_settings().nominatim_url, user_agent=user_agent
                or USER_AGENT, cache=cache or out.with_suffix(".geocache.json"), suffix=city)
        result = geocode_frame(table.frame, points, address_column=address_column,
                               online=geocoder, min_quality=MatchQuality(min_quality),
                               where=f"list {table.path}")
    except ValidationError as exc:
        fail(exc)
        return
    result.placed.to_csv(out, index=False)
    review_path = review or out.with_name(out.stem + ".review.csv")
    result.review.to_csv(review_path, index=False)
    c = result.counts
    typer.echo(f"placed {c['placed']} of {len(table.frame)} rows in {out}: "
               + ", ".join(f"{k.replace('_', ' ')} {c[k]}" for k in
                           ("given", "exact", "street_interpolation", "street_only")))
    typer.echo(f"{len(result.review)} rows to review in {review_path} (street only "
               f"{c['street_only']}, unmatched {c['none']}, not placed {c['not_placed']})")
    for r in result.review.head(10).itertuples():
        typer.echo(f"  row {r.row}: {getattr(r, address_column, '')!s}: {r.reason}")


@providers_app.command("osm", cls=Command)
def providers_osm(
    out: Annotated[Path, typer.Option(help="provider CSV to write")],
    boundary: Annotated[Path | None, typer.Option(
        help="study area polygons (e.g. the city limits or the neighborhoods), any CRS; "
             "needed to ask Overpass")] = None,
    features: Annotated[Path | None, typer.Option(
        help="OSM features saved earlier (GeoJSON export of Overpass turbo or "
             "osmtogeojson, or OSMnx features written to a file) instead of asking "
             "Overpass: works offline")] = None,
    tags: Annotated[Path | None, typer.Option(
        help="tag -> service type mapping (TOML; default: the packaged "
             "safetygap/data/osm_tags.toml, copy it to edit)")] = None,
    overpass_url: Annotated[str | None, typer.Option(
        help="Overpass API to ask (default: SAFETYGAP_OVERPASS_URL, else OSMnx's "
             "https://overpass-api.de/api)")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="taxonomy with the service types "
                                                  "(default: the packaged one)")] = None,
) -> None:
    """Prevention and restoration providers from OpenStreetMap inside a boundary.

    Asks Overpass (needs the internet or a local server), or maps a saved --features
    file offline; each provider keeps its OSM id, tags and opening_hours.
    """
    from safetygap.inputs import providers_from_frame
    from safetygap.inputs.files import read_table
    from safetygap.inventory.osm import (
        load_tag_rules,
        map_features,
        overpass_tags,
        read_features,
    )
    from safetygap.settings import get_settings
    from safetygap.taxonomy import load_taxonomy

    try:
        tax = load_taxonomy(taxonomy)
        rules = load_tag_rules(tags, taxonomy=tax)
        bad = Problems()
        if boundary is None and features is None:
            bad.add("providers osm", "nothing to map", allowed="--boundary FILE (asks "
                    "Overpass) or --features FILE (a saved extract), or both")
        bad.raise_if_any()
        import geopandas as gpd

        area = None
        if boundary is not None:
            table = read_table(boundary, where="boundary")
            if table.geometry is None or table.crs is None:
                bad.add(f"--boundary {table.path}", "needs polygons with a CRS",
                        allowed="GeoJSON, GeoPackage or GeoParquet polygons")
                bad.raise_if_any()
            area = gpd.GeoDataFrame(geometry=table.geometry, crs=table.crs)
        if features is not None:
            found = read_features(features, boundary=area)
        else:
            from safetygap.fetch.osm_features import features_in_boundary

            assert area is not None
            found = features_in_boundary(area, overpass_tags(rules), overpass_url=overpass_url
                                         or get_settings().overpass_url)
        frame, report = map_features(found, rules)
        if len(frame):
            providers_from_frame(frame, taxonomy=tax, where="OpenStreetMap features")
    except ValidationError as exc:
        fail(exc)
        return
    frame.to_csv(out, index=False)
    typer.echo(f"wrote {report['providers']} providers from {report['features']} OSM "
               f"features to {out} (" + ", ".join(f"{k} {v}" for k, v in
                                                 report["by_service_type"].items()) + ")")
    if report["unmatched"]:
        typer.echo(f"  {report['unmatched']} features matched no rule of the mapping (left "
                   "out), e.g. " + ", ".join(e["osm_id"] for e in
                                            report["unmatched_examples"][:5]))
    if report["unnamed"]:
        typer.echo(f"  {report['unnamed']} providers have no name in OSM: check them")


@providers_app.command("merge", cls=Command)
def providers_merge(
    sources: Annotated[list[str], typer.Argument(
        help="provider files to merge, most trusted first (FILE or LABEL=FILE; the label, "
             "default the file name, fills empty `source` cells)")],
    out: Annotated[Path, typer.Option(help="merged provider CSV to write")],
    review: Annotated[Path | None, typer.Option(
        help="CSV of the duplicates found and the near misses (default: OUT with "
             "'.duplicates.csv')")] = None,
    distance: Annotated[float | None, typer.Option(
        help="metres within which two providers of one service type may be duplicates "
             "(default: SAFETYGAP_MERGE_DISTANCE_M, else 100)")] = None,
    name_score: Annotated[float | None, typer.Option(
        help="least name similarity of duplicates, 0-100 (rapidfuzz token-set ratio; "
             "default: SAFETYGAP_MERGE_NAME_SCORE, else 90)")] = None,
    keep: Annotated[str, typer.Option(
        help="which duplicate stays: first (the source listed first), newest (verified "
             "most recently) or none (report only)")] = "first",
    taxonomy: Annotated[Path | None, typer.Option(help="taxonomy with the service types "
                                                  "(default: the packaged one)")] = None,
    encoding: Annotated[str, typer.Option(help="text encoding of CSV sources")] = "utf-8",
) -> None:
    """Merge OpenStreetMap, geocoded and hand-made provider files into one inventory.

    Duplicates (same service type, close together, similar names) are listed for review
    and resolved by the rule printed at the start.
    """
    from safetygap.inputs.providers import providers_from_frame
    from safetygap.inventory.merge import MergeRule, merge_sources, read_source
    from safetygap.settings import get_settings
    from safetygap.taxonomy import load_taxonomy

    try:
        settings = get_settings(merge_distance_m=distance, merge_name_score=name_score)
        rule = MergeRule(distance_m=settings.merge_distance_m,
                         name_score=settings.merge_name_score, keep=keep)
        rule.check()
        tax = load_taxonomy(taxonomy)
        read = []
        for item in sources:
            label, eq, path = item.partition("=")
            if not eq or Path(item).exists():
                label, path = "", item
            read.append(read_source(path, taxonomy=tax, label=label.strip() or None,
                                    encoding=encoding))
        result = merge_sources(read, rule=rule)
        providers_from_frame(result.merged, taxonomy=tax, where=f"merged inventory {out}")
    except ValidationError as exc:
        fail(exc)
        return
    typer.echo(f"rule: {rule.describe()}")
    for label, c in result.counts["sources"].items():
        typer.echo(f"  {label}: {c['rows']} rows: {c['kept']} kept, "
                   f"{c['merged_away']} merged into a duplicate")
    review_path = review or out.with_name(out.stem + ".duplicates.csv")
    result.merged.to_csv(out, index=False)
    result.review.to_csv(review_path, index=False)
    c = result.counts
    typer.echo(f"wrote {c['providers']} providers from {c['rows']} rows to {out}: "
               f"{c['duplicate_groups']} groups of duplicates ({c['merged_away']} rows merged "
               f"away), {c['near_misses']} near misses to check")
    typer.echo(f"review them in {review_path}")
