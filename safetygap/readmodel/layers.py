"""Area and provider layers of a workspace as GeoJSON in EPSG:4326 (part of
:class:`~safetygap.readmodel.view.WorkspaceView`)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from safetygap import FAMILIES
from safetygap.readmodel._common import (
    COUNT_DERIVED,
    DEFAULT_SIMPLIFY_TOLERANCE_M,
    WGS84,
    _id,
    _inventory_record,
    _num,
    _round_coords,
)
from safetygap.readmodel.records import AreaCollection, ProviderCollection, ProviderProperties
from safetygap.tables import measures as M
from safetygap.vocab import ALL_FAMILIES


class AreaLayers:
    """Area and provider layers; mixed into :class:`WorkspaceView`, whose state
    (``areas``, ``providers``, ``cached``, ...) the methods use."""

    # --------------------------------------------------------------- layers

    def simplified(self, level: str, tolerance_m: float) -> np.ndarray:
        """Geometries of ``level`` simplified by ``tolerance_m`` metres in the projected CRS,
        then in EPSG:4326 with coordinates rounded to 1e-6 deg (about 0.1 m).

        When the areas form a valid coverage (no overlaps), shared edges are simplified
        once for both neighbours (``shapely.coverage_simplify``), so no gaps or slivers
        open between them; otherwise each area is simplified alone (Douglas-Peucker,
        topology preserved). Either way every vertex stays within about the tolerance.
        """
        def compute() -> np.ndarray:
            geo = self.areas[level].geometry
            g = geo.to_numpy()
            if tolerance_m > 0:
                if shapely.coverage_is_valid(g):
                    g = shapely.coverage_simplify(g, tolerance_m)
                else:
                    g = shapely.simplify(g, tolerance_m, preserve_topology=True)
            out = gpd.GeoSeries(g, crs=geo.crs).to_crs(WGS84)
            return np.array([_round_coords(x) for x in out.to_numpy()], dtype=object)

        return self.cached(("simplified", level, float(tolerance_m)), compute)

    def ward_neighborhoods(self, ward_id: str, *, min_share: float = 0.01) -> list[str]:
        """Ids of the neighborhoods with at least ``min_share`` of their area in the ward
        (any overlapping one if none reaches the share), in layer order."""
        pos = self._position("ward", ward_id)

        def compute() -> list[str]:
            nb = self.areas["neighborhood"]
            ward = self.areas["ward"].geometry.iloc[pos]
            inter = shapely.area(shapely.intersection(nb.geometry.to_numpy(), ward))
            share = inter / nb.geometry.area.to_numpy()
            keep = share >= min_share
            if not keep.any():
                keep = inter > 0
            return nb[M.AREA_ID][keep].tolist()

        return self.cached(("ward_nbhd", ward_id, min_share), compute)

    def layer(
        self,
        level: str,
        *,
        family: str | None = None,
        year: int | None = None,
        tolerance_m: float = DEFAULT_SIMPLIFY_TOLERANCE_M,
        ward: str | None = None,
    ) -> AreaCollection:
        """Areas of ``level`` as a GeoJSON FeatureCollection (EPSG:4326).

        Properties: ``area_id``, ``name``, ``population``, ``area_km2`` and the
        ``<measure>_<family>`` values of ``family`` (all four families when None)
        for the period ``all`` or ``year``. ``ward`` keeps only the neighborhoods
        in that ward (``level="neighborhood"`` only). Collection members
        ``classes`` (per family, see :meth:`classes`), ``period``, ``level``.
        """
        return self.cached(("layer", level, family, year, float(tolerance_m), ward),
                           lambda: self._layer(level, family, year, tolerance_m, ward))

    def _layer(self, level: str, family: str | None, year: int | None,
               tolerance_m: float, ward: str | None) -> AreaCollection:
        frame = self.areas[level]
        fams = ALL_FAMILIES if family is None else (family,)
        vals = self.values(level, year=year)
        parsed = {c: M.split_column(c) for c in vals.columns}
        cols = [c for c, mf in parsed.items() if mf is not None and (mf[1] is None
                                                                     or mf[1] in fams)]
        geoms = self.simplified(level, tolerance_m)
        keep = np.ones(len(frame), dtype=bool)
        if ward is not None:
            keep = frame[M.AREA_ID].isin(self.ward_neighborhoods(ward)).to_numpy()
        records = vals[cols].to_dict("records")
        hidden = self.hidden_family_counts(level, year=year)
        features = []
        for i in np.flatnonzero(keep):
            row = frame.iloc[i]
            props: dict[str, Any] = {
                "area_id": str(row[M.AREA_ID]),
                "name": str(row["name"]),
                "population": _num(row[M.POPULATION]),
                "area_km2": _num(row[M.AREA_KM2]),
            }
            for col, v in records[i].items():
                measure, fam = parsed[col]  # type: ignore[misc]
                if fam is not None and M.base_measure(measure) in COUNT_DERIVED \
                        and hidden[fam][i]:
                    props[col] = None
                    continue
                if measure in M.TEXT_MEASURES:
                    props[col] = None if v is None or (isinstance(v, float) and v != v) \
                        else str(v)
                    continue
                num = _num(v)
                props[col] = int(num) if measure in M.INT_MEASURES and num is not None \
                    else num
            features.append({"type": "Feature", "id": props[M.AREA_ID],
                             "geometry": mapping(geoms[i]), "properties": props})
        return {
            "type": "FeatureCollection",
            "level": level,
            "period": "all" if year is None else str(year),
            "families": list(fams),
            "tolerance_m": float(tolerance_m),
            "crs": WGS84,
            "classes": {f: self.classes(level, f, year=year) for f in fams if f in FAMILIES},
            "need_access": {f: self.need_access_classes(level, f, year=year)
                            for f in fams if f in FAMILIES},
            "features": features,
        }

    def providers_layer(self, *, family: str | None = None, ward: str | None = None,
                        neighborhood: str | None = None) -> ProviderCollection:
        """Providers as GeoJSON points (EPSG:4326), optionally one family / in one area.
        A service without a place listed without coordinates (a phone line) is not drawn:
        the summary's ``placeless_services`` lists it."""
        def compute() -> ProviderCollection:
            p = self.providers
            geom = p.geometry
            keep = ~(geom.is_empty | geom.isna()).to_numpy() & np.isfinite(
                geom.x.to_numpy(na_value=np.nan))
            if family is not None:
                keep &= (p["family"] == family).to_numpy()
            if ward is not None:
                keep &= (p["ward_id"].map(_id) == ward).to_numpy()
            if neighborhood is not None:
                keep &= (p["neighborhood_id"].map(_id) == neighborhood).to_numpy()
            sel = p[keep]
            pts = sel.geometry.to_crs(WGS84)
            features = []
            for rec, pt in zip(self._provider_records(sel), pts, strict=True):
                features.append({
                    "type": "Feature", "id": rec["provider_id"],
                    "geometry": {"type": "Point",
                                 "coordinates": [round(pt.x, 6), round(pt.y, 6)]},
                    "properties": rec,
                })
            d = self.distance
            return {"type": "FeatureCollection", "crs": WGS84,
                    "distance_model": d["distance_model"], "catchment_unit": d["unit"],
                    "features": features}

        return self.cached(("providers", family, ward, neighborhood), compute)

    def _catchments(self, frame: pd.DataFrame) -> np.ndarray:
        """Each provider's catchment in the analysis' unit (NaN where unknown)."""
        col = self.distance["catchment_column"]
        return (frame[col].to_numpy(float) if col in frame.columns
                else np.full(len(frame), np.nan))

    def _provider_records(self, frame: pd.DataFrame) -> list[ProviderProperties]:
        """Properties of each provider; ``catchment`` in the analysis' unit."""
        d = self.distance
        catchment = self._catchments(frame)
        return [
            {"provider_id": str(r.provider_id), "name": str(r.name), "family": str(r.family),
             "service_type": str(r.service_type), "capacity": _num(r.capacity),
             "catchment": _num(c), "catchment_unit": d["unit"],
             "distance_model": d["distance_model"],
             "catchment_m": _num(r.catchment_m), "neighborhood_id": _id(r.neighborhood_id),
             "ward_id": _id(r.ward_id), **_inventory_record(r)}
            for r, c in zip(frame.itertuples(index=False), catchment, strict=True)
        ]
