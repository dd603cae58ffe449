"""``safetygap fetch minneapolis``: the city's boundaries and 911 calls, ready to analyse.

Layers (City of Minneapolis ArcGIS REST services, ``../shared/data/README.md``):

=================  ===========================  ==========================================
file               service                      use
=================  ===========================  ==========================================
neighborhoods      Minneapolis_Neighborhoods    ``--neighborhoods`` (``BDNUM``, ``BDNAME``)
wards              CityCouncilWards_WebEOC      ``--wards`` (current, post-2022 wards)
communities        Minneapolis_Communities      reference (``CommName``)
precincts          Police_Precincts             reference (``PRECINCT``)
calls_911          Incidents_Reported_911       ``--calls`` with preset ``minneapolis-911``
address_points     Address_Points               ``providers geocode --address-points``
                                                (only when named in ``--layers``)
=================  ===========================  ==========================================

``address_points`` is the city's address-point layer (one point per address, fields of the
Minnesota address point standard), which ``safetygap providers geocode`` places an
organisations list against. It is large and not needed for the analysis, so it is fetched
only when asked for (``--layers address_points``). Its service name was not checked against
the live services from where this was written; if the city publishes it under another name,
``--service-name address_points=OTHER`` (any layer can be renamed so) fetches that.

The 911 layer is filtered to whole calendar years on ``Response_Date``. Its
dates are local wall-clock times labelled UTC, so the ``TIMESTAMP`` bounds of
the where clause, compared with the labelled values, select local calendar
years; the reader keeps the wall-clock values (preset ``minneapolis-911``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetygap import __version__
from safetygap._io import write_json
from safetygap.errors import Problems
from safetygap.fetch._state import MANIFEST_FILE, read_manifest
from safetygap.fetch.arcgis import (
    MAX_PAGE_SIZE,
    MINNEAPOLIS_BASE_URL,
    ArcGISClient,
    RetryPolicy,
)
from safetygap.fetch.download import LayerRequest, PageHook, download_layer

CALLS_PRESET = "minneapolis-911"
FIRST_YEAR = 2010


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the city: output name, ArcGIS service, role, likely id/name columns."""

    name: str
    layer: str
    role: str
    id_columns: tuple[str, ...] = ()
    name_columns: tuple[str, ...] = ()
    date_field: str | None = None
    on_request: bool = False
    """Fetched only when named in ``layers`` (not needed for the analysis)."""


LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("neighborhoods", "Minneapolis_Neighborhoods", "neighborhoods",
              ("BDNUM",), ("BDNAME",)),
    LayerSpec("wards", "CityCouncilWards_WebEOC", "wards",
              ("BDNUM", "WARD", "Ward", "WARD_NUM", "WARDNUM"), ("BDNAME", "WARD_NAME", "NAME")),
    LayerSpec("communities", "Minneapolis_Communities", "communities",
              ("CommID", "COMMID", "FID"), ("CommName", "COMMNAME")),
    LayerSpec("precincts", "Police_Precincts", "precincts", ("PRECINCT",), ("PRECINCT",)),
    LayerSpec("calls_911", "Incidents_Reported_911", "calls", date_field="Response_Date"),
    LayerSpec("address_points", "Address_Points", "address_points", on_request=True),
)


def parse_years(text: str | None, *, today: dt.date | None = None) -> tuple[int, ...]:
    """``"2022-2024"`` -> (2022, 2023, 2024); ``"2023"`` -> (2023,).

    None gives the last complete calendar year. Years run from 2010 to the
    current year; anything else raises one ValidationError.
    """
    today = today or dt.date.today()
    if text is None:
        return (today.year - 1,)
    m = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", text)
    problems = Problems()
    if not m:
        problems.add("--years", "expected a year or a range of years", value=text,
                     allowed="e.g. 2023 or 2022-2024")
        problems.raise_if_any()
    assert m is not None
    first = int(m.group(1))
    last = int(m.group(2) or first)
    if first > last:
        problems.add("--years", "the range runs backwards", value=text)
    for y in sorted({first, last}):
        if not FIRST_YEAR <= y <= today.year:
            problems.add("--years", "year out of range", value=y,
                         allowed=f"{FIRST_YEAR}..{today.year}")
    problems.raise_if_any()
    return tuple(range(first, last + 1))


def years_where(field: str, years: tuple[int, ...]) -> str:
    """A where clause selecting whole calendar years of ``field`` (a date field)."""
    first, last = min(years), max(years)
    return (f"{field} >= TIMESTAMP '{first}-01-01 00:00:00' AND "
            f"{field} < TIMESTAMP '{last + 1}-01-01 00:00:00'")


def _first_present(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    return next((c for c in candidates if c in columns), None)


def _columns_line(spec: LayerSpec, entry: dict[str, Any]) -> str:
    """Which id and name columns a boundary layer will be analysed with (the first of the
    spec's candidates present in the download), for the log."""
    parts = []
    for what, col, candidates in (("id", entry["id_column"], spec.id_columns),
                                  ("name", entry["name_column"], spec.name_columns)):
        parts.append(f"{what} column {col!r}" if col else
                     f"no {what} column among {', '.join(candidates)}")
    line = f"{spec.name}: " + ", ".join(parts)
    if entry["id_column"] is None and spec.role in ("neighborhoods", "wards"):
        flag = "--ward-id" if spec.role == "wards" else "--neighborhood-id"
        line += (f" (columns: {', '.join(entry['columns'][:20])}; give the id column to "
                 f"`safetygap analyze` with {flag})")
    return line


def fetch_minneapolis(
    out: str | os.PathLike,
    *,
    years: tuple[int, ...],
    base_url: str = MINNEAPOLIS_BASE_URL,
    page_size: int = MAX_PAGE_SIZE,
    retry: RetryPolicy | None = None,
    layers: tuple[str, ...] | None = None,
    services: dict[str, str] | None = None,
    force: bool = False,
    quiet: bool = False,
    sleep: Callable[[float], None] | None = None,
    on_page: PageHook | None = None,
) -> dict[str, Any]:
    """Download the Minneapolis layers into ``out``; returns the manifest written there.

    A layer already fetched with the same query is skipped unless ``force``;
    an interrupted download resumes where it stopped. ``layers`` picks some of
    :data:`LAYERS` by name (default: all but those fetched only on request, such as
    ``address_points``); ``services`` renames a layer's ArcGIS service (layer name ->
    service name). ``sleep`` and ``on_page`` are for tests.
    """
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(out_dir)

    def say(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    kwargs: dict[str, Any] = {"retry": retry, "log": say}
    if sleep is not None:
        kwargs["sleep"] = sleep
    client = ArcGISClient(base_url, **kwargs)
    chosen = [s for s in LAYERS
              if (layers is None and not s.on_request) or (layers and s.name in layers)]
    names = [s.name for s in LAYERS]
    problems = Problems()
    unknown = sorted(set(layers or ()) - set(names))
    if unknown:
        problems.add("--layers", "unknown layer", value=", ".join(unknown), allowed=names)
    for name, service in (services or {}).items():
        if name not in names:
            problems.add("--service-name", "unknown layer", value=name, allowed=names)
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", service):
            problems.add("--service-name", "not an ArcGIS service name", value=service,
                         allowed="letters, digits, _ and -")
    problems.raise_if_any()
    chosen = [dataclasses.replace(s, layer=(services or {}).get(s.name, s.layer))
              for s in chosen]
    manifest.update({
        "source": "City of Minneapolis open data, ArcGIS REST services",
        "base_url": client.base_url,
        "years": list(years),
        "calls_preset": CALLS_PRESET,
        "safetygap_version": __version__,
        "notes": ("calls_911: Response_Date is epoch milliseconds of local wall-clock time "
                  "labelled UTC; missing locations are 0,0; Agency_Type BCR = behavioral "
                  "crisis response. Read with preset minneapolis-911."),
    })
    for spec in chosen:
        where = years_where(spec.date_field, years) if spec.date_field else "1=1"
        previous = manifest["layers"].get(spec.name)
        if (not force and previous and previous.get("query", {}).get("where") == where
                and previous.get("url") == client.query_url(spec.layer)
                and (out_dir / previous["file"]).is_file()):
            say(f"{spec.name}: already fetched ({previous['records']:,} records, "
                f"{previous['fetched']}); --force downloads it again")
            continue
        entry = download_layer(client, LayerRequest(spec.name, spec.layer, where), out_dir,
                               page_size=page_size, log=say, on_page=on_page)
        entry["role"] = spec.role
        if spec.date_field:
            entry["years"] = list(years)
        elif spec.id_columns or spec.name_columns:
            entry["id_column"] = _first_present(entry["columns"], spec.id_columns)
            entry["name_column"] = _first_present(entry["columns"], spec.name_columns)
            say(_columns_line(spec, entry))
        manifest["layers"][spec.name] = entry
        manifest["updated"] = entry["fetched"]
        write_json(out_dir / MANIFEST_FILE, manifest)
    write_json(out_dir / MANIFEST_FILE, manifest)
    counts = ", ".join(f"{k} {v['records']:,}" for k, v in manifest["layers"].items())
    say(f"done: {counts} records in {out_dir}")
    return manifest


@dataclass(frozen=True)
class FetchedInputs:
    """The analysis inputs found in a directory written by :func:`fetch_minneapolis`."""

    calls: Path
    neighborhoods: Path
    wards: Path
    preset: str
    neighborhood_id: str | None
    neighborhood_name: str | None
    ward_id: str | None
    ward_name: str | None
    years: tuple[int, ...]


def fetched_inputs(directory: str | os.PathLike) -> FetchedInputs:
    """Calls, neighborhoods and wards of a fetched directory, from its manifest.

    Raises one ValidationError naming the directory when it holds no fetch
    manifest or a layer or file is missing.
    """
    d = Path(directory)
    problems = Problems()
    if not (d / MANIFEST_FILE).is_file():
        problems.add(f"--data {d}", f"no {MANIFEST_FILE}: not a directory written by "
                     "`safetygap fetch`", allowed="safetygap fetch minneapolis --out DIR")
        problems.raise_if_any()
    manifest = read_manifest(d)
    layers = manifest["layers"]
    for name in ("calls_911", "neighborhoods", "wards"):
        if name not in layers:
            problems.add(f"--data {d}", "layer not fetched", value=name,
                         allowed=f"safetygap fetch minneapolis --out {d}")
        elif not (d / layers[name]["file"]).is_file():
            problems.add(f"--data {d}", "file listed in the manifest is missing",
                         value=layers[name]["file"])
    problems.raise_if_any()
    n, w, c = layers["neighborhoods"], layers["wards"], layers["calls_911"]
    return FetchedInputs(
        calls=d / c["file"],
        neighborhoods=d / n["file"],
        wards=d / w["file"],
        preset=manifest.get("calls_preset", CALLS_PRESET),
        neighborhood_id=n.get("id_column"),
        neighborhood_name=n.get("name_column"),
        ward_id=w.get("id_column"),
        ward_name=w.get("name_column"),
        years=tuple(c.get("years", ())),
    )
