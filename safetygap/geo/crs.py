"""Strict CRS checks shared by the analysis functions."""

from __future__ import annotations

from typing import Any

from pyproj import CRS

from safetygap.errors import CRSMismatchError, Problem, Problems, ValidationError


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


def same_crs(a: Any, b: Any) -> bool:
    """True when two CRSs are the same system (an ESRI ``.prj`` and its EPSG code agree)."""
    ca, cb = CRS.from_user_input(a), CRS.from_user_input(b)
    if ca.equals(cb, ignore_axis_order=True):
        return True
    code_a, code_b = ca.to_epsg(min_confidence=70), cb.to_epsg(min_confidence=70)
    return code_a is not None and code_a == code_b


def declared_crs(own: Any, declared: str | None, *, where: str, opt: str,
                 problems: Problems) -> tuple[str | None, str]:
    """The CRS of a layer whose file holds ``own`` (None: it declares none) when the user
    declared ``declared`` (None: nothing declared) with the option ``opt``, and where it
    comes from: ``file``, ``declared`` (for a file that carries none) or ``file, as
    declared`` (both, agreeing). Adds to ``problems``: no CRS at all, a declared CRS that
    is unknown, or one that contradicts the file's own (both named)."""
    from pyproj.exceptions import CRSError

    own_crs = None if own is None else CRS.from_user_input(own)
    if declared is None:
        if own_crs is None:
            problems.add(where, "no CRS: the file declares none (a shapefile without its "
                         ".prj?)", allowed=f"declare it with {opt} EPSG:n (the CRS the "
                         "portal's metadata names), or a file with a CRS")
        return (None if own_crs is None else own_crs.to_string()), "file"
    try:
        want = CRS.from_user_input(declared)
    except CRSError:
        problems.add(where, f"{opt}: unknown CRS", value=declared,
                     allowed="e.g. EPSG:2276 or EPSG:4326")
        return None, "declared"
    if own_crs is None:
        return want.to_string(), "declared"
    if not same_crs(own_crs, want):
        problems.add(where, f"{opt} {declared} ({want.name}) contradicts the file's own CRS "
                     f"{own_crs.to_string()} ({own_crs.name})",
                     allowed=f"leave {opt} out to use the file's CRS, or fix the file")
    return own_crs.to_string(), "file, as declared"
