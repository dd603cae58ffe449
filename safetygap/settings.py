"""One typed settings object, built on demand (never at import time).

Every field can be set from the environment with the ``SAFETYGAP_`` prefix,
e.g. ``SAFETYGAP_WORKSPACE=/data/ws`` or ``SAFETYGAP_TILES=none``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


ENV_PREFIX = "SAFETYGAP_"
"""Prefix of the environment variables that set :class:`Settings` fields."""


class Settings(BaseSettings):
    """Run-time settings of the CLI and the web app."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    workspace: Path = Field(Path("workspace"), description="workspace directory to serve")
    host: str = Field("127.0.0.1", description="address the web app listens on")
    port: int = Field(8000, ge=1, le=65535, description="port the web app listens on")
    tiles: str = Field(
        OSM_TILES,
        description="base-map tile URL template, or 'none' for no base map",
    )
    tiles_attribution: str = Field(
        "&copy; OpenStreetMap contributors", description="attribution shown for the tiles"
    )
    api_token: str | None = Field(
        None, description="bearer token required by the write routes (POST /api/datasets, "
                          "POST /api/analyses); unset: write routes are disabled (403)")
    max_upload_mb: float = Field(200.0, gt=0, description="largest accepted upload, in MB "
                                                          "(10**6 bytes); larger: 413")
    read_timeout_s: float = Field(
        10.0, gt=0, le=3600,
        description="seconds a client may take to send a request's line and headers (from "
                    "the connection or the previous response on), and the longest pause "
                    "inside a request body; slower: the connection is closed")
    keepalive_timeout_s: float = Field(
        5.0, gt=0, le=3600, description="seconds an idle keep-alive connection stays open")
    max_connections: int = Field(
        1000, ge=1, le=1_000_000,
        description="open connections at most; a new one past it closes the oldest one "
                    "waiting for its request's headers (a slow or idle client)")
    http_parser: Literal["auto", "httptools", "h11"] = Field(
        "auto", description="HTTP/1.1 parser of `safetygap serve`: httptools (C, fast), h11 "
                            "(pure Python, slower) or auto (httptools when installed); the "
                            "read timeout and connection limit hold with either")
    compute_workers: int = Field(
        1, ge=0, le=64,
        description="processes `safetygap serve` computes new hexagon sizes, area layers, "
                    "siting and what-if answers in, so one client asking for new ones "
                    "never slows the others' cached answers; 0 computes in the server "
                    "process")
    compute_timeout_s: float = Field(
        300.0, gt=0, le=86_400,
        description="seconds a computation the client chooses (siting, what-if, new hexagon "
                    "sizes and layers, the GeoPackage export) may take in a compute worker; "
                    "longer: the workers are stopped and started again and the request "
                    "answers 503")
    max_decompressed_mb: float = Field(
        1000.0, gt=0, description="largest size an upload may decompress to (a .csv.gz, a "
                                  "zipped shapefile, a Parquet file's pages), in MB, checked "
                                  "while decompressing; larger: 413")
    max_upload_memory_mb: float = Field(
        4000.0, gt=0, le=1_000_000,
        description="memory reading and checking one upload may take, in MB: the file is "
                    "read in a child process whose address space is limited to this much "
                    "above its start, so a file whose contents expand past the sizes it "
                    "declares never grows the server; more: 413")
    max_malformed_share: float = Field(
        0.01, ge=0, le=1,
        description="share of a CSV file's rows that may be malformed (another number of "
                    "fields than the header): they are skipped and listed in quality.json; "
                    "more: the file is refused, naming the lines")
    date_from: str = Field(
        "1990-01-01", pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="first plausible call date (YYYY-MM-DD); calls dated earlier are left "
                    "out of the areas and rates and counted in quality.json")
    date_to: str | None = Field(
        None, pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="last plausible call date (YYYY-MM-DD; default: tomorrow); calls dated "
                    "later are left out of the areas and rates and counted in quality.json")
    data_dir: Path | None = Field(
        None, description="where uploaded datasets are stored (default: 'uploads' beside "
                          "the served workspace)")
    memory_budget_mb: float = Field(
        1000.0, gt=0, le=1_000_000,
        description="memory one public computation (siting, what-if, hexagons, layers, the "
                    "GeoPackage export) may take above its compute worker's footprint, in "
                    "MB (an address-space limit while it computes; siting's coverage "
                    "matrix is refused before it is built); a request that would need "
                    "more: 422 or 503 with a message naming this setting")
    precompute: bool = Field(
        True, description="compute the report and each family's default sites when an "
                          "analysis is built (analyze, demo, rerun), so every page is quick "
                          "at its first visit; false: computed at the first request")
    stale_after_months: float = Field(
        18.0, gt=0, description="months after its last_verified date a provider is flagged "
                                "stale (quality.json, the map)")
    privacy_min_count: int = Field(
        11, ge=1, le=1000,
        description="public maps and area profiles hide every count of fewer than this many "
                    "calls that holds a sensitive call (crisis, domestic, sexual assault, "
                    "overdose, welfare check); hexagon maps are never finer than it allows; "
                    "1 shows every count")
    merge_distance_m: float = Field(
        100.0, ge=0, description="`providers merge`: two providers of one service type at "
                                 "most this many metres apart may be duplicates")
    merge_name_score: float = Field(
        90.0, ge=0, le=100, description="`providers merge`: least name similarity of "
                                        "duplicates (rapidfuzz token-set ratio, 0-100)")
    eligibility_model: Literal["nicjr", "cahoots", "star", "albuquerque"] = Field(
        "nicjr", description="eligibility model of the diversion page and /api/diversion "
                            "when none is asked for: nicjr (NICJR's four tiers), cahoots, "
                            "star or albuquerque (docs/TAXONOMY.md)")
    nominatim_url: str | None = Field(
        None, description="Nominatim geocoder `network fetch` asks (default: OSMnx's, "
                          "https://nominatim.openstreetmap.org/)")
    overpass_url: str | None = Field(
        None, description="Overpass API `network fetch` downloads from (default: OSMnx's, "
                          "https://overpass-api.de/api)")


def get_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides on top (None: not
    given).

    Raises :class:`~safetygap.errors.ValidationError` naming every bad value and where it
    came from: the command-line option of an override (``--port``), else the environment
    variable (``SAFETYGAP_PORT``).
    """
    from pydantic import ValidationError as PydanticValidationError

    from safetygap.errors import Problems

    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except PydanticValidationError as exc:
        problems = Problems()
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "settings"
            source = (f"--{name.replace('_', '-')}" if name in given
                      else f"{ENV_PREFIX}{name.upper()}")
            problems.add(source, err["msg"], value=err.get("input"))
        problems.raise_if_any()
        raise  # pragma: no cover - every pydantic error has been added


def environment_help() -> str:
    """One line per setting: its environment variable, what it is and its default."""
    lines = []
    for name, f in Settings.model_fields.items():
        text = f"{ENV_PREFIX}{name.upper()}: {f.description}"
        if "default" not in str(f.description):
            text += f" (default: {'unset' if f.default is None else f.default})"
        lines.append(text)
    return "\n".join(lines)
