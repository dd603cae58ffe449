"""Strict CRS checks shared by the analysis functions."""

from __future__ import annotations

from typing import Any

from pyproj import CRS

from safetygap.errors import CRSMismatchError, Problem, ValidationError


def _crs_of(obj: Any) -> CRS | None:
    crs = getattr(obj, "crs", obj)
    if crs is None:
        return None
    return CRS.from_user_input(crs)


def require_same_crs(a: Any, b: Any, name_a: str, name_b: str) -> None:
    """Raise :class:`CRSMismatchError` showing both CRSs when they differ."""
    ca, cb = _crs_of(a), _crs_of(b)
    if ca is None or cb is None:
        missing = name_a if ca is None else name_b
        raise ValidationError(Problem(missing, "has no CRS", allowed="a projected CRS"))
    if ca != cb:
        raise CRSMismatchError(Problem(
            f"{name_a} / {name_b}", "CRS mismatch",
            value=f"{name_a}: {ca.to_string()} vs {name_b}: {cb.to_string()}",
            allowed="both layers in the same CRS (reproject one with .to_crs)",
        ))


def require_projected(obj: Any, name: str) -> None:
    """Distances and areas are only computed in a projected CRS (metres)."""
    crs = _crs_of(obj)
    if crs is None or not crs.is_projected:
        raise ValidationError(Problem(
            name, "needs a projected CRS for distances and areas",
            value=None if crs is None else crs.to_string(),
            allowed="a projected CRS in metres, e.g. a UTM zone (EPSG:326xx / EPSG:269xx)",
        ))
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter"):
        raise ValidationError(Problem(name, "projected CRS must be in metres",
                                      value=f"{crs.to_string()} ({unit})"))
