"""safetygap: where a city's community-safety services fall short.

The analysis core lives in :mod:`safetygap.geo`; boundary layers in
:mod:`safetygap.boundaries`; the stages of an analysis in :mod:`safetygap.stages`, composed
by :mod:`safetygap.pipeline`; the read model of a workspace in :mod:`safetygap.readmodel`;
Folium maps in :mod:`safetygap.maps`; the FastAPI adapter in :mod:`safetygap.api`; the
command line in :mod:`safetygap.cli`. docs/ARCHITECTURE.md draws the whole.
"""

from safetygap.vocab import FAMILIES  # the three families, in display order (vocab.Family)

__version__ = "0.1.0"

__all__ = ["FAMILIES", "__version__"]
