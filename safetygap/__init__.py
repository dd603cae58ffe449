"""safetygap: where a city's community-safety services fall short.

The analysis core lives in :mod:`safetygap.geo`; boundary layers in
:mod:`safetygap.boundaries`; Folium maps in :mod:`safetygap.maps`; the FastAPI
adapter in :mod:`safetygap.api`; the command line in :mod:`safetygap.cli`.
"""

__version__ = "0.1.0"

FAMILIES: tuple[str, ...] = ("response", "prevention", "restoration")
"""The three families of community-safety services, in display order."""

__all__ = ["FAMILIES", "__version__"]
