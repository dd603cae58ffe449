"""Workspaces: what an analysis writes and what the API and maps read.

A workspace directory holds

``neighborhoods.parquet``, ``wards.parquet``
    GeoParquet, one row per area, indices as ``<measure>_<family>`` columns,
    geometry in the analysis CRS (projected, metres)
``calls.parquet``
    GeoParquet, one row per input call row with its status, neighborhood,
    ward, category, family, eligible/diverted/covered flags
``providers.parquet``
    GeoParquet of the providers with family, capacity and catchment
``indices.parquet``
    every measure per level, area, period (``all`` or a year) and family, long form
``demand_points.parquet``
    GeoParquet of the neighborhoods' demand points (area id, residents, land m²)
``bootstrap.parquet``
    every bootstrap replicate's need/access class per level, family and area
``streets.parquet``
    GeoParquet of named street segments that name places (proposed sites), when the
    analysis had street names
``outside_911.parquet``
    GeoParquet of the diverted records from outside 911 (311 / online reports), only
    when the analysis had a reports file
``summary.json``, ``quality.json``
    totals and top gaps; the data-quality report
``equity.json``
    only with a demographic table: per group, for the city and each ward, totals and
    shares with margins of error, mean access and disparity (:mod:`safetygap.equity`)
``manifest.json``
    input checksums, options, taxonomy, package version and the checksum of
    every file above. Written last: a directory without it is incomplete.

Every file is written to a temporary name in the same directory and renamed
into place (atomic on POSIX), and the old manifest is removed before any file
is replaced, so a crash never leaves a workspace that looks complete but is
half-written. A served workspace is re-run into a new version directory and
swapped in atomically instead (:mod:`safetygap.versions`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from safetygap._geoparquet import write_points
from safetygap._hashing import sha256_file
from safetygap._io import atomic_write as _atomic_write
from safetygap._io import write_json
from safetygap.errors import Problems, ValidationError
from safetygap.geo.network import StreetNetwork
from safetygap.geo.streetnames import StreetNames
from safetygap.geo.travel import Travel
from safetygap.inputs.network import read_saved_network, save_network
from safetygap.pipeline import Analysis
from safetygap.tables import calls as C
from safetygap.versions import active_dir, clear_pointer
from safetygap.vocab import TravelKind, TravelMode

LAYER_FILES = ("neighborhoods.parquet", "wards.parquet", C.FILE,
               "providers.parquet", "indices.parquet")
JSON_FILES = ("summary.json", "quality.json")
DEMAND_FILE = "demand_points.parquet"
"""The neighborhoods' demand points (GeoParquet): what what-if and siting reuse."""
REPLICATES_FILE = "bootstrap.parquet"
"""Every bootstrap replicate's class per level, family and area."""
NETWORK_FILE = "network.npz"
"""The street network of a network-travel run, so what-if and siting reuse it exactly."""
STREETS_FILE = "streets.parquet"
"""GeoParquet of the named street segments that name places (``name``, LineString in the
analysis CRS), when the analysis had street names."""
RECORDS_FILE = "outside_911.parquet"
"""GeoParquet of the diverted records from outside 911 (311 / online reports), when the
analysis had them (:data:`safetygap.outside911.RECORD_COLUMNS`)."""
EQUITY_FILE = "equity.json"
"""Groups against underserved areas; written only when the analysis had demographics."""
MANIFEST = "manifest.json"


calls_geoframe = C.geoframe
"""The calls table with point geometry (:func:`safetygap.tables.calls.geoframe`)."""


def write_workspace(analysis: Analysis, out_dir: str | os.PathLike) -> Path:
    """Write ``analysis`` into ``out_dir`` (created if needed); returns the directory."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # incomplete from here until the end
    layers: dict[str, pd.DataFrame] = {
        "neighborhoods.parquet": analysis.neighborhoods,
        "wards.parquet": analysis.wards,
        "providers.parquet": analysis.providers,
        "indices.parquet": analysis.indices,
    }
    for name, frame in layers.items():
        _atomic_write(out / name, lambda p, f=frame: f.to_parquet(p, index=False))
    calls = analysis.calls
    if calls is not None:
        _atomic_write(out / C.FILE, lambda p: C.write(calls, analysis.crs, p))
    elif analysis.calls_file is not None:  # the streaming engine wrote it batch by batch
        streamed = analysis.calls_file
        _atomic_write(out / C.FILE, lambda p: shutil.move(streamed, p))
        shutil.rmtree(streamed.parent, ignore_errors=True)
    written = [*LAYER_FILES, *JSON_FILES]
    for name, frame in ((DEMAND_FILE, analysis.demand_points),
                        (REPLICATES_FILE, analysis.replicates)):
        if frame is None:
            (out / name).unlink(missing_ok=True)
            continue
        _atomic_write(out / name, lambda p, f=frame: f.to_parquet(p, index=False))
        written.append(name)
    if analysis.network is not None:
        _atomic_write(out / NETWORK_FILE, lambda p: save_network(analysis.network, p))
        written.append(NETWORK_FILE)
    else:
        (out / NETWORK_FILE).unlink(missing_ok=True)
    if analysis.streets is not None:
        _atomic_write(out / STREETS_FILE,
                      lambda p: analysis.streets.to_parquet(p, index=False))
        written.append(STREETS_FILE)
    else:
        (out / STREETS_FILE).unlink(missing_ok=True)
    records = analysis.records
    if records is not None:
        _atomic_write(out / RECORDS_FILE, lambda p: write_points(
            records.drop(columns=["x", "y"]), records["x"].to_numpy(),
            records["y"].to_numpy(), analysis.crs, p))
        written.append(RECORDS_FILE)
    else:
        (out / RECORDS_FILE).unlink(missing_ok=True)
    if analysis.equity is not None:
        write_json(out / EQUITY_FILE, analysis.equity)
        written.append(EQUITY_FILE)
    else:
        (out / EQUITY_FILE).unlink(missing_ok=True)
    write_json(out / "summary.json", analysis.summary.to_dict())
    write_json(out / "quality.json", analysis.quality.to_dict())
    manifest = dict(analysis.manifest)
    manifest["files"] = {
        name: {"bytes": (out / name).stat().st_size, "sha256": sha256_file(out / name)}
        for name in written
    }
    manifest["timings_s"] = analysis.timings
    write_json(out / MANIFEST, manifest)
    clear_pointer(out)  # a re-run workspace: this analysis is the active one again
    return out


@dataclass
class Workspace:
    """A complete workspace on disk, read lazily (the API only reads these)."""

    path: Path

    @classmethod
    def open(cls, path: str | os.PathLike) -> Workspace:
        """Open ``path``; raises ValidationError when it is not a complete workspace.

        A re-run workspace (:mod:`safetygap.versions`) opens its active version:
        ``path`` is then that version's directory.
        """
        p = Path(path)
        if not p.is_dir():
            raise ValidationError(f"workspace {p}: directory not found")
        p = active_dir(p)
        if not (p / MANIFEST).is_file():
            inner = p / "workspace"
            if inner.is_dir() and (active_dir(inner) / MANIFEST).is_file():
                raise ValidationError(
                    f"workspace {p}: no {MANIFEST} here, but {inner} is a workspace "
                    f"(the demo writes its workspace there, with option `out` {p}): give "
                    f"option `workspace` {inner}")
            raise ValidationError(
                f"workspace {p}: no {MANIFEST} (not a workspace, or an analysis is still "
                "being written or was interrupted; analyse it again into option `out`)")
        try:
            listed = list(json.loads((p / MANIFEST).read_text(encoding="utf-8"))
                          .get("files", {}))
        except (ValueError, AttributeError) as exc:
            raise ValidationError(f"workspace {p}: {MANIFEST} is not a JSON object ({exc}); "
                                  "analyse it again into option `out`") from exc
        # every file the manifest lists (a network run's network.npz too) must be there
        wanted = dict.fromkeys((*LAYER_FILES, *JSON_FILES, *listed))
        missing = [f for f in wanted if not (p / f).is_file()]
        if missing:
            raise ValidationError(f"workspace {p}: missing files {missing}")
        return cls(p)

    def _json(self, name: str) -> dict[str, Any]:
        return json.loads((self.path / name).read_text(encoding="utf-8"))

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return self._json(MANIFEST)

    @cached_property
    def summary(self) -> dict[str, Any]:
        return self._json("summary.json")

    @cached_property
    def quality(self) -> dict[str, Any]:
        return self._json("quality.json")

    @cached_property
    def equity(self) -> dict[str, Any] | None:
        """``equity.json``, or None when the analysis had no demographic table."""
        p = self.path / EQUITY_FILE
        return self._json(EQUITY_FILE) if p.is_file() else None

    @cached_property
    def neighborhoods(self) -> gpd.GeoDataFrame:
        return gpd.read_parquet(self.path / "neighborhoods.parquet")

    @cached_property
    def wards(self) -> gpd.GeoDataFrame:
        return gpd.read_parquet(self.path / "wards.parquet")

    @cached_property
    def providers(self) -> gpd.GeoDataFrame:
        return gpd.read_parquet(self.path / "providers.parquet")

    @cached_property
    def indices(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "indices.parquet")

    def demand_points(self) -> gpd.GeoDataFrame | None:
        """The demand points (None for a workspace written before they existed)."""
        p = self.path / DEMAND_FILE
        return gpd.read_parquet(p) if p.is_file() else None

    def replicates(self) -> pd.DataFrame | None:
        """Every bootstrap replicate's class (None: no bootstrap in this workspace)."""
        p = self.path / REPLICATES_FILE
        return pd.read_parquet(p) if p.is_file() else None

    def network(self) -> StreetNetwork | None:
        """The street network the analysis used (network-travel runs), else None."""
        p = self.path / NETWORK_FILE
        return read_saved_network(p) if p.is_file() else None

    def travel(self) -> Travel:
        """The distance model the analysis used (from the manifest's options), with its
        saved street network for a network-travel run (read from disk on each call).

        Raises :class:`~safetygap.errors.ValidationError` when a network-travel
        workspace has no saved network.
        """
        opts = self.manifest.get("options", {})
        kind = opts.get("travel", TravelKind.STRAIGHT.value)
        mode = opts.get("mode", TravelMode.WALK.value)
        if kind != TravelKind.NETWORK:
            return Travel(kind)
        net = self.network()
        if net is None:
            problems = Problems()
            problems.add(f"workspace {self.path}", "network-travel workspace without its "
                         "saved street network", value=NETWORK_FILE,
                         allowed="a workspace written by this version (analyse again)")
            problems.raise_if_any()
        return Travel(TravelKind.NETWORK, mode, net)

    def street_names(self) -> StreetNames | None:
        """The street names that name places (:data:`STREETS_FILE`), or None when the
        analysis had none."""
        p = self.path / STREETS_FILE
        if STREETS_FILE not in self.manifest.get("files", {}) or not p.is_file():
            return None
        frame = gpd.read_parquet(p)
        return StreetNames.from_segments(frame.geometry.to_numpy(),
                                         frame["name"].to_numpy(object))

    def records(self, columns: list[str] | None = None) -> pd.DataFrame | None:
        """The diverted records from outside 911 (without geometry unless ``columns``
        asks for it), or None when the analysis had none."""
        p = self.path / RECORDS_FILE
        if RECORDS_FILE not in self.manifest.get("files", {}) or not p.is_file():
            return None
        if columns is not None and "geometry" not in columns:
            return pd.read_parquet(p, columns=columns)
        return gpd.read_parquet(p, columns=columns)

    def calls(self, columns: list[str] | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
        """The calls table (large: read only the columns you need)."""
        return C.read(self.path / C.FILE, columns=columns)

    def verify(self) -> list[str]:
        """Names of files whose checksum differs from the manifest."""
        files = self.manifest.get("files", {})
        return [n for n, meta in files.items()
                if not (self.path / n).is_file() or sha256_file(self.path / n) != meta["sha256"]]
