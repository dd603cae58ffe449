"""Typed records: the field metadata of the core's answers declared as TypedDicts
(:mod:`safetygap.readmodel.records`, :mod:`safetygap.scenarios.records`), from which the
API's response models are derived (:func:`safetygap.api.models.model_from_record`).

A field is ``Annotated[type, Doc("what it means", default=...)]``; the default is what a
client may assume when an answer lacks the field (:data:`REQUIRED`: always present).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NotRequired, TypedDict

__all__ = ["REQUIRED", "Doc", "Geometry"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""No default: the field is always in the answer."""


@dataclasses.dataclass(frozen=True)
class Doc:
    """A field's meaning: ``text`` (its description), ``default`` (the value a client
    may assume when an answer lacks it; :data:`REQUIRED`: always present) and, for a list
    of fixed length (the 168 hours of a week), ``length``."""

    text: str | None = None
    default: Any = REQUIRED
    length: int | None = None


class Geometry(TypedDict):
    """A GeoJSON geometry (EPSG:4326); the API describes it by its standard."""

    type: str
    coordinates: NotRequired[Any]
    geometries: NotRequired[list[Geometry]]

