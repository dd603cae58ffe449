"""Where a point is, in the words of its streets: the nearest intersection of two named
streets, or the nearest named street, from a street network's named segments (offline).

A proposed site is then "5th Avenue & 12th Street" rather than "grid point 1611". Streets
are line segments in a projected CRS (metres) with their names (OSM ``name``; unnamed
segments are left out). An **intersection** is a point where segments of two or more
differently named streets meet (shared end points, to 0.1 m). A point within
``corner_m`` of an intersection is described by it ("5th Avenue & 12th Street", the names
sorted, at most two); otherwise by its nearest named segment ("12th Street", with
"about 150 m from 12th Street" past ``near_m``); "no named street within 1,000 m" past
``far_m``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely

CORNER_M = 60.0
"""A point this close to an intersection is described by the intersection."""
NEAR_M = 50.0
"""Past this distance from the nearest street, the description gives the distance."""
FAR_M = 1000.0
"""Past this distance no street names the point."""


@dataclass(frozen=True)
class StreetNames:
    """Named street segments and their intersections (projected CRS, metres)."""

    lines: np.ndarray
    """LineStrings of the named segments."""
    names: np.ndarray
    """The name of each segment."""
    corners: np.ndarray
    """Points where differently named streets meet."""
    corner_names: tuple[str, ...]
    """Each intersection in words: "5th Avenue & 12th Street"."""

    @classmethod
    def from_segments(cls, lines: np.ndarray, names: np.ndarray) -> StreetNames:
        """Build from segments (LineStrings) and their names; blank names are dropped."""
        lines = np.asarray(lines, dtype=object)
        names = np.array([_clean(n) for n in names], dtype=object)
        keep = np.array([bool(n) for n in names], dtype=bool) & ~shapely.is_empty(lines)
        lines, names = lines[keep], names[keep]
        meeting: dict[tuple[float, float], set[str]] = defaultdict(set)
        for line, name in zip(lines, names, strict=True):
            coords = shapely.get_coordinates(line)
            for x, y in (coords[0], coords[-1]):
                meeting[(round(float(x), 1), round(float(y), 1))].add(str(name))
        spots = [(xy, sorted(n)) for xy, n in meeting.items() if len(n) >= 2]
        spots.sort()
        corners = shapely.points(np.array([xy for xy, _ in spots], dtype=float).reshape(-1, 2))
        words = tuple(" & ".join(n[:2]) for _, n in spots)
        return cls(lines=lines, names=names, corners=np.asarray(corners, dtype=object),
                   corner_names=words)

    def describe(self, x: np.ndarray, y: np.ndarray, *, corner_m: float = CORNER_M,
                 near_m: float = NEAR_M, far_m: float = FAR_M) -> list[str | None]:
        """Each point (``x``, ``y`` in the streets' CRS) in words (see module docstring);
        None where no named street is within ``far_m``."""
        pts = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        out: list[str | None] = [None] * len(pts)
        if not len(self.lines) or not len(pts):
            return out
        line_tree = shapely.STRtree(self.lines)
        (pi, li), ld = line_tree.query_nearest(pts, return_distance=True, all_matches=False)
        nearest_line = dict(zip(pi.tolist(), zip(li.tolist(), ld.tolist(), strict=True),
                                strict=True))
        nearest_corner: dict[int, tuple[int, float]] = {}
        if len(self.corners):
            corner_tree = shapely.STRtree(self.corners)
            (cp, ci), cd = corner_tree.query_nearest(pts, return_distance=True,
                                                      all_matches=False)
            nearest_corner = dict(zip(cp.tolist(), zip(ci.tolist(), cd.tolist(), strict=True),
                                      strict=True))
        for i in range(len(pts)):
            if i in nearest_corner and nearest_corner[i][1] <= corner_m:
                out[i] = self.corner_names[nearest_corner[i][0]]
                continue
            if i not in nearest_line or nearest_line[i][1] > far_m:
                continue
            j, d = nearest_line[i]
            name = str(self.names[j])
            out[i] = name if d <= near_m else f"about {_round_m(d)} m from {name}"
        return out


def _clean(name: object) -> str:
    """A segment's name as text; OSM lists (merged ways) give their first name."""
    if isinstance(name, list | tuple):
        name = name[0] if name else ""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    return str(name).strip()


def _round_m(d: float) -> str:
    """A distance rounded to 10 m (with thousands separators)."""
    return f"{round(d / 10) * 10:,.0f}"
