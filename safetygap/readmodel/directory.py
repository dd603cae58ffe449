"""The asset directory of one neighborhood or ward: every provider that serves it.

A provider serves an area, in the analysis' own terms, when it is

``located``  in the area (its point is inside it);
``serves``   assigned to named areas (``serves``) that overlap it, wherever its office is
             (:func:`safetygap.inventory.serves.serves_area`);
``reaches``  located outside it, with a catchment that reaches it with the workspace's
             distance model (straight-line metres, or travel minutes on its street
             network; :meth:`WorkspaceView.providers_near`).

Each entry carries what a resident or a caseworker needs to use the service: who runs
it, hours, phone, web, eligibility, languages, address and how far it is, with the date
it was last checked and whether that is too long ago (stale). Entries are ordered by
family (response, prevention, restoration), then located, serving, reaching, then nearest
first and by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safetygap import FAMILIES
from safetygap.readmodel.records import AreaDirectory, DirectoryEntry, NearbyProvider

if TYPE_CHECKING:
    from safetygap.readmodel.view import WorkspaceView

__all__ = ["RELATIONS", "area_directory"]

RELATIONS = ("located", "serves", "reaches")
"""How a provider serves an area, in the order the directory lists them."""
ENTRY_FIELDS = ("provider_id", "name", "family", "service_type", "organisation",
                "programme", "address", "opening_hours", "phone", "website", "eligibility",
                "languages", "serves", "capacity", "capacity_unit", "source",
                "last_verified", "months_since_verified", "stale", "catchment",
                "catchment_unit", "distance_model")


def _entry(record: NearbyProvider, relation: str) -> DirectoryEntry:
    out = {k: record.get(k) for k in ENTRY_FIELDS}
    out["relation"] = relation
    out["distance_m"] = record.get("distance_m")
    out["travel_min"] = record.get("travel_min")
    out["serves_here"] = bool(record.get("serves_here"))
    return out


def area_directory(view: WorkspaceView, level: str, area_id: str) -> AreaDirectory:
    """The directory of one area: ``level``, ``area_id``, ``name``, the distance model
    (``distance_model``, ``catchment_unit``, ``reach``: how reaching is decided),
    ``entries`` (one per provider, see the module docstring; ``relation`` located, serves
    or reaches) and ``counts`` per family and relation. Raises
    :class:`~safetygap.readmodel.UnknownArea` for an unknown area."""
    def compute() -> AreaDirectory:
        inside, near = view.providers_near(level, area_id)
        entries = [_entry(r, "located") for r in inside]
        entries += [_entry(r, "serves" if r.get("serves_here") else "reaches")
                    for r in near]
        order = {f: i for i, f in enumerate(FAMILIES)}
        rank = {r: i for i, r in enumerate(RELATIONS)}
        entries.sort(key=lambda e: (order.get(e["family"], 9), rank[e["relation"]],
                                    e["distance_m"] or 0.0, str(e["name"]).casefold(),
                                    e["provider_id"]))
        d = view.distance
        counts = {f: {r: sum(1 for e in entries if e["family"] == f and e["relation"] == r)
                      for r in RELATIONS} for f in FAMILIES}
        stale = sum(1 for e in entries if e["stale"])
        return {
            "level": level, "area_id": area_id, "name": view.area_name(level, area_id),
            "distance_model": d["distance_model"], "catchment_unit": d["unit"],
            "reach": view.reach_info()["method"],
            "entries": entries, "counts": counts, "stale": stale,
        }

    view.area_name(level, area_id)  # UnknownArea before anything is cached
    return view.cached(("directory", level, area_id), compute)
