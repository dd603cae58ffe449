"""Calls counted in hexagons, with small sensitive counts hidden (part of
:class:`~safetygap.readmodel.view.WorkspaceView`)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import mapping

from safetygap import FAMILIES
from safetygap.geo.hexbin import hex_polygons, hexbin_counts
from safetygap.privacy import (
    HEX_SIZES_M,
    finest_hex_size,
    hidden_cells,
    shown,
)
from safetygap.readmodel._common import (
    DEFAULT_HEX_SIZE_M,
    WGS84,
    _round_coords,
)
from safetygap.readmodel.records import HexCollection
from safetygap.tables import measures as M
from safetygap.vocab import ALL_FAMILIES


class Hexbins:
    """Hexagon counts and the privacy rules of counts; mixed into
    :class:`WorkspaceView`."""

    def hexbins(self, *, family: str | None = None, year: int | None = None,
                size_m: float = DEFAULT_HEX_SIZE_M) -> HexCollection:
        """Calls placed in areas (of ``family``, in ``year``) counted in pointy-top hexagons
        of circumradius ``size_m`` metres on a grid anchored at the projected CRS origin;
        GeoJSON polygons in EPSG:4326 with ``calls`` per hexagon; ``max_calls``.

        Privacy: the hexagons are never finer than :func:`~safetygap.privacy.finest_hex_size`
        allows (``size_m`` is the size used, ``requested_size_m`` the one asked for);
        hexagons holding a sensitive call and fewer than ``privacy_min_count`` calls have
        ``calls`` None (one more when only one would be); ``total_calls`` is None when it
        would reveal a hidden count."""
        def compute() -> HexCollection:
            keep = np.isfinite(self.call_x)
            if family is not None:
                keep &= self.call_family == family
            if year is not None:
                keep &= self.call_year == year
            x, y, sens = self.call_x[keep], self.call_y[keep], self.call_sensitive[keep]
            m = self.min_count
            finest = (HEX_SIZES_M[0] if m <= 1
                      else finest_hex_size(x, y, sens, min_count=m))
            used = max(float(size_m), finest)
            counts = hexbin_counts(x, y, size_m=used)
            s_counts = hexbin_counts(x[sens], y[sens], size_m=used)
            s_of = counts[["q", "r"]].merge(s_counts, on=["q", "r"], how="left")["count"]
            s_of = s_of.fillna(0).to_numpy(np.int64)
            n = counts["count"].to_numpy(np.int64)
            hide = hidden_cells(n, s_of, min_count=m)
            total_hidden = hide.sum() == 1 or bool(hidden_cells(
                [n.sum()], [s_of.sum()], min_count=m, total_shown=False)[0])
            polys = hex_polygons(counts["q"].to_numpy(), counts["r"].to_numpy(), size_m=used)
            geo = gpd.GeoSeries(polys, crs=self.crs).to_crs(WGS84)
            features = [
                {"type": "Feature", "geometry": mapping(_round_coords(g)),
                 "properties": {"calls": c}}
                for g, c in zip(geo.to_numpy(), shown(n, hide), strict=True)
            ]
            return {"type": "FeatureCollection", "crs": WGS84, "size_m": used,
                    "requested_size_m": float(size_m),
                    "family": family, "period": "all" if year is None else str(year),
                    "max_calls": int(n[~hide].max()) if (~hide).any() else 0,
                    "total_calls": None if total_hidden else int(n.sum()),
                    "hidden_hexagons": int(hide.sum()), "privacy": self.privacy_note,
                    "features": features}

        return self.cached(("hexbins", family, year, float(size_m)), compute)

    # ------------------------------------------------------------- privacy

    @property
    def privacy_note(self) -> str:
        """What is hidden, in words (in every answer that may hide a count)."""
        if self.min_count <= 1:
            return "every count is shown (privacy threshold off)"
        return (f"counts of fewer than {self.min_count} calls that include a sensitive call "
                "(behavioral crisis, domestic violence, sexual assault, overdose, welfare "
                "check) are hidden (null), with one more count where a total would reveal "
                "a hidden one")

    def hidden_family_counts(self, level: str, *, year: int | None = None
                             ) -> dict[str, np.ndarray]:
        """Per family (and ``total``), one boolean per area of ``level`` (layer order):
        its call count in the period holds a sensitive call and is below the threshold."""
        def compute() -> dict[str, np.ndarray]:
            counts = self.call_counts[level]
            if year is not None:
                counts = counts[counts["year"] == str(year)]
            counts = counts[counts["family"].isin(FAMILIES)]
            ids = self.areas[level][M.AREA_ID]
            out: dict[str, np.ndarray] = {}
            for fam in ALL_FAMILIES:
                sel = counts if fam == "total" else counts[counts["family"] == fam]
                per = sel.groupby("area_id")[["calls", "sensitive"]].sum().reindex(
                    ids, fill_value=0)
                out[fam] = hidden_cells(per["calls"], per["sensitive"],
                                        min_count=self.min_count, total_shown=False)
            return out

        return self.cached(("hidden", level, year), compute)
