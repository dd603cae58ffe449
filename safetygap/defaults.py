"""Default values of options that the core and the adapters both name.

A light module (no imports), so the command line's help can show a default without
importing the analysis. Each name says what it is a default of; tolerances of different
things have different names.
"""

DEFAULT_BOUNDARY_TOLERANCE_M = 5.0
"""Metres: calls this close to a neighborhood or ward line count as near it (quality.json's
near-boundary counts, the ``split`` boundary policy). Option ``boundary_tolerance_m``;
command line ``--boundary-tolerance``."""
