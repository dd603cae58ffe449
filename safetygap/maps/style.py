"""How the maps look: each family's label, colour and icon; the gap classes' colours.

Shared by every drawing of a workspace: the interactive maps (:mod:`.gap_map`,
:mod:`.sites`), the index page and ward panel (:mod:`.pages`), the static report
(:mod:`.report`) and the GeoPackage's QGIS styles (:mod:`.gpkg`).
"""

from __future__ import annotations

from safetygap.readmodel import BIVARIATE_COLORS, NOT_RANKED_COLOR

__all__ = ["BIVARIATE_COLORS", "CLUSTER_UNTIL_ZOOM", "FAMILY_STYLE", "GAP_COLORS", "HEX_COLOR",
           "NOT_RANKED_COLOR", "NO_VALUE_COLOR", "class_color"]

FAMILY_STYLE: dict[str, dict[str, str]] = {
    "response": {"label": "Response", "color": "#c0392b", "icon": "fa-truck-medical",
                 "shape": "disc"},
    "prevention": {"label": "Prevention", "color": "#1f78b4", "icon": "fa-seedling",
                   "shape": "square"},
    "restoration": {"label": "Restoration", "color": "#6a3d9a",
                    "icon": "fa-hand-holding-heart", "shape": "diamond"},
}
"""Label, marker colour, marker shape and Font Awesome icon of each family (shape as well
as colour, so the families stay apart under colour-vision deficiency)."""

GAP_COLORS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
"""Gap classes 1 (best served) .. 5 (most underserved): ColorBrewer YlOrRd."""
NO_VALUE_COLOR = "#d9d9d9"
HEX_COLOR = "#253494"
CLUSTER_UNTIL_ZOOM = 15
"""Providers are clustered below this zoom (about 1:17,000) and shown one by one from it."""


def class_color(gap_class: int, n_classes: int) -> str:
    """Fill colour of a gap class when ``n_classes`` classes exist (same rule as the
    map script: the classes are spread over the whole colour ramp)."""
    if gap_class <= 0:
        return NO_VALUE_COLOR
    if n_classes <= 1:
        return GAP_COLORS[len(GAP_COLORS) // 2]
    return GAP_COLORS[round((gap_class - 1) * (len(GAP_COLORS) - 1) / (n_classes - 1))]
